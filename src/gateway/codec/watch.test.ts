import { describe, expect, it } from "vitest";
import { fragmentResponse } from "../../server/watch/fragment.ts";
import { emptyResponse } from "../../server/watch/types.ts";
import { decodeWatchStream, encodeWatchResult, watchResponseSizer } from "./watch.ts";

const enc = new TextEncoder();
const h = { clusterId: 11n, memberId: 22n, raftTerm: 2 };
const kv = (key: string, rev: number, value = "v") => ({
  key: enc.encode(key), value: enc.encode(value), createRevision: rev, modRevision: rev, version: 1, lease: 0n,
});

describe("watch codec", () => {
  it("decodes every request form, camelCase, enum names and numbers, and an empty union", () => {
    const d = decodeWatchStream(
      '{"create_request":{"key":"YQ==","rangeEnd":"Yg==","start_revision":"3","filters":["NOPUT",1,7],"prevKv":true,"watch_id":9,"fragment":true,"progress_notify":true}}' +
        '\n{"cancelRequest":{"watchId":"9"}} {"progress_request":{}} {}',
    );
    expect(d.error).toBeUndefined();
    expect(d.requests).toEqual([
      {
        createRequest: {
          key: enc.encode("a"), rangeEnd: enc.encode("b"), startRevision: 3, progressNotify: true,
          filters: [0, 1, 7], prevKv: true, watchId: 9, fragment: true,
        },
      },
      { cancelRequest: { watchId: 9 } },
      { progressRequest: {} },
      { empty: true },
    ]);
  });

  it("keeps an unfinished value for the next frame and reports Go's errors", () => {
    expect(decodeWatchStream('{"progress_request":{}}{"create_req')).toMatchObject({ requests: [{ progressRequest: {} }], rest: '{"create_req' });
    expect(decodeWatchStream('{"create_request":{"key":"Zg"}}').error?.message).toBe("illegal base64 data at input byte 0");
    expect(decodeWatchStream('{"create_request":{"filters":["NOTHING"]}}').error?.message).toBe(
      'unknown value "NOTHING" for enum etcdserverpb.WatchCreateRequest_FilterType',
    );
  });

  it("encodes responses as etcd's gateway: field order, defaults left out, DELETE by name, watch_id -1", () => {
    const r = emptyResponse(5, -1);
    r.created = true;
    r.canceled = true;
    r.cancelReason = "mvcc: watcher range is empty";
    expect(encodeWatchResult(r, h)).toBe(
      '{"result":{"header":{"cluster_id":"11","member_id":"22","revision":"5","raft_term":"2"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: watcher range is empty"}}',
    );
    const e = emptyResponse(7, 0);
    e.events = [
      { type: "PUT", kv: kv("a", 7), prevKv: kv("a", 6, "old") },
      { type: "DELETE", kv: { ...kv("b", 7, ""), createRevision: 0, version: 0 } },
    ];
    expect(encodeWatchResult(e, h)).toBe(
      '{"result":{"header":{"cluster_id":"11","member_id":"22","revision":"7","raft_term":"2"},"events":[' +
        '{"kv":{"key":"YQ==","create_revision":"7","mod_revision":"7","version":"1","value":"dg=="},"prev_kv":{"key":"YQ==","create_revision":"6","mod_revision":"6","version":"1","value":"b2xk"}},' +
        '{"type":"DELETE","kv":{"key":"Yg==","mod_revision":"7"}}]}}',
    );
    const c = emptyResponse(0, 3);
    c.canceled = true;
    c.compactRevision = 4;
    expect(encodeWatchResult(c, h)).toBe('{"result":{"header":{"cluster_id":"11","member_id":"22","raft_term":"2"},"watch_id":"3","canceled":true,"compact_revision":"4"}}');
  });

  it("fragments by protobuf size, at least one event per fragment, the last unmarked", () => {
    const r = emptyResponse(9, 1);
    r.events = [1, 2, 3].map((i) => ({ type: "PUT" as const, kv: kv(`k${i}`, 9, "x".repeat(100)) }));
    const sizer = watchResponseSizer(h);
    const one = sizer.event(r.events[0]!);
    expect(fragmentResponse(r, 10_000, sizer)).toEqual([r]);
    const parts = fragmentResponse(r, sizer.base({ ...r, fragment: true }) + 2 * one, sizer);
    expect(parts.map((p) => [p.events.length, p.fragment])).toEqual([[1, true], [1, true], [1, false]]);
    const tiny = fragmentResponse(r, 1, sizer);
    expect(tiny.map((p) => p.events.length)).toEqual([1, 1, 1]);
  });
});
