// A watch socket's attachment across hibernation: the watchers saved from one hub come back
// in a new hub (the member woke up) and resume where they were.
import { describe, expect, it } from "vitest";
import { toSaved, type SocketState } from "../../src/member/watch_attachment.ts";
import { HistoryModel, enc } from "../../src/server/watch/history_model.ts";
import { WatchHub } from "../../src/server/watch/hub.ts";

function watch(key: string, watchId: number, startRevision: number) {
  return {
    createRequest: { key: enc(key), rangeEnd: new Uint8Array(0), startRevision, progressNotify: false, filters: [], prevKv: false, watchId, fragment: false },
  };
}

/** The attachment the member writes for a stream (synced watchers as 0). */
function attachment(hub: WatchHub, s: ReturnType<WatchHub["openStream"]>): SocketState {
  return { v: 1, kind: "gateway", nextId: s.nextAutoId, rest: "", watchers: hub.save(s).map((w) => [w.spec, w.synced ? 0 : w.nextRev]) };
}

describe("watch attachment", () => {
  it("a watcher waiting for a future start revision still waits for it after a restore", () => {
    const h = new HistoryModel();
    h.put("k", "0"); // 2
    const hub = new WatchHub(h);
    const s = hub.openStream();
    hub.handle(s, watch("k", 1, 6));
    hub.handle(s, watch("k", 2, 0));
    hub.onApplied();
    s.take();
    const state = attachment(hub, s);
    expect(state.watchers.map(([spec, next]) => [spec.id, next])).toEqual([[1, 0], [2, 0]]);

    const woke = new WatchHub(h);
    const s2 = woke.openStream();
    for (const saved of toSaved(state, h.rev())) woke.restore(s2, saved);
    for (let i = 1; i <= 6; i++) h.put("k", String(i)); // 3..8
    woke.onApplied();
    while (woke.step());
    const got = s2.take().map((q) => [q.response.watchId, q.response.events.map((e) => e.kv.modRevision)]);
    expect(got.filter(([id]) => id === 1).flatMap(([, revs]) => revs)).toEqual([6, 7, 8]);
    expect(got.filter(([id]) => id === 2).flatMap(([, revs]) => revs)).toEqual([3, 4, 5, 6, 7, 8]);
  });
});
