// A compaction applied in the same batch as the writes before it: the member hands new
// revisions to its watchers only after the whole batch, and compaction deletes history
// (a tombstone at or below the compaction revision is removed). The synced watchers must
// still get every event of the batch, with prev_kv, and no compaction error.
import { describe, expect, it } from "vitest";
import { encodeInternalRequest, type InternalRequest } from "../../src/server/internal_request.ts";
import { WatchHub } from "../../src/server/watch/hub.ts";
import type { WatchResponse } from "../../src/server/watch/types.ts";
import { TestMember, b, delReq, putReq, str } from "./kv_helpers.ts";

function watchKey(key: string, watchId: number, prevKv = false) {
  return {
    createRequest: {
      key: b(key), rangeEnd: new Uint8Array(0), startRevision: 0, progressNotify: false, filters: [], prevKv, watchId, fragment: false,
    },
  };
}

function show(r: WatchResponse): string {
  const parts = [`id=${r.watchId}`];
  if (r.created) parts.push("created");
  if (r.canceled) parts.push(`canceled compact=${r.compactRevision}`);
  for (const e of r.events) {
    let ev = `${e.type === "PUT" ? "put" : "del"}@${e.kv.modRevision}`;
    if (e.prevKv) ev += `(prev ${str(e.prevKv.value)})`;
    parts.push(ev);
  }
  return parts.join(" ");
}

/** Applies the requests as one raft batch (one transaction), as a member does. */
function applyBatch(m: TestMember, requests: Array<Omit<InternalRequest, "id">>): void {
  const entries = requests.map((r) => {
    m.index++;
    return { index: m.index, term: 1, data: encodeInternalRequest({ ...r, id: m.index } as InternalRequest) };
  });
  for (const res of m.applier.applyBatch(entries)) if (res?.error) throw res.error;
}

function setup() {
  const m = new TestMember();
  const hub = new WatchHub(m.applier.mvcc);
  const s = hub.openStream();
  const run = () => {
    hub.onApplied();
    while (hub.step());
    return s.take().map((q) => show(q.response));
  };
  return { m, hub, s, run };
}

describe("watch: compaction in the same apply batch as the revisions before it", () => {
  it("a delete compacted in its own batch still reaches the synced watchers, with prev_kv", () => {
    const { m, hub, s, run } = setup();
    m.put("k", "v1"); // 2
    hub.handle(s, watchKey("k", 1));
    hub.handle(s, watchKey("k", 2, true));
    expect(run()).toEqual(["id=1 created", "id=2 created"]);
    applyBatch(m, [
      { op: "put", request: putReq("k", "v2") }, // 3
      { op: "deleteRange", request: delReq("k") }, // 4
      { op: "compaction", request: { revision: 4, physical: false } },
    ]);
    // the tombstone at 4 is gone from storage now
    expect(m.applier.mvcc.eventsBetween(4, 4, 10).events).toEqual([]);
    expect(run()).toEqual(["id=1 put@3", "id=2 put@3(prev v1)", "id=1 del@4", "id=2 del@4(prev v2)"]);
  });

  it("a compaction past revisions the watchers were not handed yet does not cancel them", () => {
    const { m, hub, s, run } = setup();
    hub.handle(s, watchKey("k", 1));
    expect(run()).toEqual(["id=1 created"]);
    applyBatch(m, [
      { op: "put", request: putReq("k", "a") }, // 2
      { op: "put", request: putReq("other", "x") }, // 3
      { op: "put", request: putReq("k", "b") }, // 4
      { op: "deleteRange", request: delReq("k") }, // 5
      { op: "put", request: putReq("other", "y") }, // 6
      { op: "compaction", request: { revision: 6, physical: false } },
      { op: "put", request: putReq("k", "c") }, // 7
    ]);
    expect(run()).toEqual(["id=1 put@2", "id=1 put@4", "id=1 del@5", "id=1 put@7"]);
  });

  it("a watcher created after the compaction from an older revision is told it was compacted", () => {
    const { m, hub, s, run } = setup();
    applyBatch(m, [
      { op: "put", request: putReq("k", "a") }, // 2
      { op: "deleteRange", request: delReq("k") }, // 3
      { op: "compaction", request: { revision: 3, physical: false } },
    ]);
    hub.handle(s, { createRequest: { ...watchKey("k", 1).createRequest, startRevision: 2 } });
    expect(run()).toEqual(["id=1 created", "id=1 canceled compact=3"]);
  });
});
