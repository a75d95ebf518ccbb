// Watch streams opened side by side on every target of a conformance session: the same
// requests on the same transport (HTTP stream or WebSocket), messages collected per target,
// then compared after normalising only the cluster fields. Messages are compared per watch
// id (etcd interleaves different watches of one stream in Go map / select order).
import { expect } from "vitest";
import { lines } from "../../client/src/lines.ts";
import type { Session, TargetName } from "./harness.ts";

export type Transport = "http" | "ws";

interface Collector {
  name: TargetName;
  messages: string[];
  status: number;
  headers: Record<string, string>;
  protocol: string;
  closed: boolean;
  close(): void;
  send(frame: string): void;
}

const normalise = (m: string) => m.replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"<c>"');

async function openHttp(name: TargetName, url: string, body: string): Promise<Collector> {
  const ac = new AbortController();
  const c: Collector = {
    name,
    messages: [],
    status: 0,
    headers: {},
    protocol: "",
    closed: false,
    close: () => ac.abort(),
    send: () => {
      throw new Error("an HTTP watch takes its requests in the body");
    },
  };
  const headersArrived = new Promise<void>((resolve) => {
    void (async () => {
      try {
        const r = await fetch(url + "/v3/watch", { method: "POST", body, signal: ac.signal });
        c.status = r.status;
        for (const h of ["content-type", "grpc-metadata-content-type"]) {
          const v = r.headers.get(h);
          if (v !== null) c.headers[h] = v;
        }
        resolve();
        for await (const line of lines(r.body!, { unterminated: true })) c.messages.push(normalise(line));
      } catch {
        // aborted by close()
      } finally {
        c.closed = true;
        resolve();
      }
    })();
  });
  // etcd writes no header before its first message; a stream with none yet is still fine.
  await Promise.race([headersArrived, new Promise((r) => setTimeout(r, 2000))]);
  return c;
}

async function openWs(name: TargetName, url: string, protocols?: string[]): Promise<Collector> {
  const ws = new WebSocket(url.replace(/^http/, "ws") + "/v3/watch", protocols);
  const c: Collector = {
    name,
    messages: [],
    status: 101,
    headers: {},
    protocol: "",
    closed: false,
    close: () => ws.close(),
    send: (f) => ws.send(f),
  };
  ws.onmessage = (e) => c.messages.push(normalise(String(e.data)));
  ws.onclose = () => {
    c.closed = true;
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`${name}: WebSocket failed to open`));
  });
  c.protocol = ws.protocol;
  return c;
}

/** The same watch stream on every target of the session. */
export class WatchPair {
  readonly collectors: Collector[];

  private constructor(collectors: Collector[]) {
    this.collectors = collectors;
  }

  /** POST /v3/watch with this body on every target. */
  static async http(s: Session, body: string | object[]): Promise<WatchPair> {
    const text = typeof body === "string" ? body : body.map((b) => JSON.stringify(b)).join("");
    return new WatchPair(await Promise.all(s.targets.map((t) => openHttp(t.name, t.url, text))));
  }

  /** A WebSocket on /v3/watch on every target. */
  static async ws(s: Session, protocols?: string[]): Promise<WatchPair> {
    return new WatchPair(await Promise.all(s.targets.map((t) => openWs(t.name, t.url, protocols))));
  }

  send(frame: string | object): void {
    const f = typeof frame === "string" ? frame : JSON.stringify(frame);
    for (const c of this.collectors) c.send(f);
  }

  private get etcd(): Collector {
    return this.collectors.find((c) => c.name === "etcd")!;
  }

  /**
   * Waits until etcd has sent at least `count` messages in all and has been quiet for a
   * moment, and every other target has as many; then compares (per watch id).
   */
  async expectSame(count: number, what: string): Promise<string[]> {
    const deadline = Date.now() + 15_000;
    let stableSince = Date.now();
    let last = -1;
    for (;;) {
      const n = this.etcd.messages.length;
      if (n !== last) {
        last = n;
        stableSince = Date.now();
      }
      const othersCaughtUp = this.collectors.every((c) => c.messages.length >= n);
      if (n >= count && othersCaughtUp && Date.now() - stableSince >= 150) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(this.etcd.messages.length, `etcd's messages for ${what}:\n${this.etcd.messages.join("\n")}`).toBeGreaterThanOrEqual(count);
    for (const c of this.collectors) {
      if (c === this.etcd) continue;
      expect({ status: c.status, headers: c.headers, byWatch: byWatch(c.messages) }, `${c.name} differs from etcd: ${what}`).toEqual({
        status: this.etcd.status,
        headers: this.etcd.headers,
        byWatch: byWatch(this.etcd.messages),
      });
    }
    return this.etcd.messages;
  }

  protocols(): Record<string, string> {
    return Object.fromEntries(this.collectors.map((c) => [c.name, c.protocol]));
  }

  close(): void {
    for (const c of this.collectors) c.close();
  }
}

/** Messages grouped by watch id, in order within each id. */
function byWatch(messages: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of messages) {
    let id = "error";
    try {
      const v = JSON.parse(m);
      id = v.result ? String(v.result.watch_id ?? "0") : "error";
    } catch {
      id = "unparsable";
    }
    (out[id] ??= []).push(m);
  }
  return out;
}
