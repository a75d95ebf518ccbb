// etcd's sendFragments: a response of a watcher that asked for fragment=true, whose size
// reaches the limit and that holds at least two events, goes out as several responses
// carrying the events in order, every one but the last marked fragment=true. A fragment
// takes events while it stays under the limit, and always at least one event.
import type { Event } from "../types.ts";
import type { WatchResponse } from "./types.ts";

export interface ResponseSizer {
  /** Protobuf size of the response without its events. */
  base(r: WatchResponse): number;
  /** Protobuf size one event adds to a response (tag, length and message). */
  event(e: Event): number;
}

export function fragmentResponse(r: WatchResponse, maxBytes: number, size: ResponseSizer): WatchResponse[] {
  if (r.events.length < 2) return [r];
  const eventSizes = r.events.map((e) => size.event(e));
  const total = size.base(r) + eventSizes.reduce((a, b) => a + b, 0);
  if (total < maxBytes) return [r];
  const base = size.base({ ...r, events: [], fragment: true });
  const out: WatchResponse[] = [];
  let idx = 0;
  for (;;) {
    const cur: WatchResponse = { ...r, events: [], fragment: true };
    let bytes = base;
    while (idx < r.events.length) {
      cur.events.push(r.events[idx]!);
      bytes += eventSizes[idx]!;
      if (cur.events.length > 1 && bytes >= maxBytes) {
        cur.events.pop();
        break;
      }
      idx++;
    }
    if (idx === r.events.length) cur.fragment = false;
    out.push(cur);
    if (!cur.fragment) return out;
  }
}
