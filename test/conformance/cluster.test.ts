// Cluster and Maintenance JSON side by side with a real single-member etcd 3.4: member
// list/add/remove/promote/update, status, hash, alarm, defragment, transfer-leadership, and
// their decoding errors. Byte-exact after normalising only what two clusters legitimately
// differ in:
// - member IDs (etcd hashes peer URLs and the time; etcdo hashes the member's name), replaced
//   by role aliases (<self>, <new>); cluster_id/member_id/raft_term as in the harness;
// - member names and URLs (etcd: http://host:port; etcdo: etcdo://<cluster>/<member> and the
//   front door's origin);
// - dbSize/dbSizeInUse (bbolt file vs SQLite file), raftIndex/raftAppliedIndex (etcd's log
//   also carries its publish and cluster-version entries), the hash value (etcd hashes its
//   bbolt file; etcdo its KV state).
import { afterAll, beforeAll, expect, it } from "vitest";
import { b64, describeConformance, send, startTargets, stopTargets, type Reply, type Target, type TargetName } from "./harness.ts";

describeConformance("conformance: Cluster and Maintenance", () => {
  let targets: Target[] = [];
  const aliases = new Map<TargetName, Map<string, string>>();
  /** Per target: the new member's peer URL (each server accepts only its own kind). */
  const newPeerUrl = (t: Target) => (t.name === "etcd" ? "http://127.0.0.1:1" : "etcdo://default/m4");

  beforeAll(async () => {
    targets = await startTargets();
    for (const t of targets) {
      const list = (await send(t, "POST", "/v3/cluster/member/list", "{}")).json;
      aliases.set(t.name, new Map([[list.members[0].ID as string, "<self>"]]));
    }
  });
  afterAll(() => stopTargets(targets));

  function normalise(name: TargetName, body: string): string {
    const ids = aliases.get(name)!;
    const text = body
      .replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"<cluster>"')
      .replace(/"(ID|leader|memberID)":"(\d+)"/g, (m, k: string, id: string) => (ids.has(id) ? `"${k}":"${ids.get(id)}"` : m))
      .replace(/memberID:(\d+) /g, (m, id: string) => (ids.has(id) ? `memberID:${ids.get(id)} ` : m))
      .replace(/"name":"[^"]*"/g, '"name":"<name>"')
      .replace(/"(peerURLs|clientURLs)":\[[^\]]*\]/g, '"$1":["<url>"]')
      .replace(/"(dbSize|dbSizeInUse)":"\d+"/g, '"$1":"<size>"')
      .replace(/"(raftIndex|raftAppliedIndex)":"\d+"/g, '"$1":"<index>"')
      .replace(/"hash":\d+/g, '"hash":"<hash>"');
    // Members come ordered by ID, and IDs differ between the two: order them by alias.
    if (!text.includes('"members":[')) return text;
    const v = JSON.parse(text);
    v.members.sort((a: { ID: string }, b: { ID: string }) => (a.ID < b.ID ? -1 : 1));
    return JSON.stringify(v);
  }

  /** Sends to every target (the body may depend on it) and compares with etcd. */
  async function post(
    path: string,
    body: string | ((t: Target) => string),
    expectStatus: number,
    register?: (name: TargetName, r: Reply) => void,
  ): Promise<Map<TargetName, Reply>> {
    const replies = new Map<TargetName, Reply>();
    for (const t of targets) replies.set(t.name, await send(t, "POST", path, typeof body === "function" ? body(t) : body));
    if (register) for (const [name, r] of replies) register(name, r);
    const etcd = replies.get("etcd")!;
    expect(etcd.status, `etcd: ${path} ${etcd.body}`).toBe(expectStatus);
    const other = replies.get("etcdo");
    if (other) {
      expect(
        { status: other.status, headers: other.headers, body: normalise("etcdo", other.body) },
        `etcdo differs from etcd for ${path} ${typeof body === "string" ? body : body(targets[0]!)}`,
      ).toEqual({ status: etcd.status, headers: etcd.headers, body: normalise("etcd", etcd.body) });
    }
    return replies;
  }

  it("lists members and reports status, hash, defragment, alarms like etcd", async () => {
    await post("/v3/cluster/member/list", "{}", 200);
    await post("/v3/cluster/member/list", '{"linearizable":true}', 200);
    await post("/v3/cluster/member/list", "", 200);
    await post("/v3/kv/put", JSON.stringify({ key: b64("a"), value: b64("1") }), 200);
    await post("/v3/maintenance/status", "{}", 200);
    await post("/v3/maintenance/hash", "{}", 200);
    await post("/v3/maintenance/hash", '{"revision":"x"}', 200);
    await post("/v3/maintenance/defragment", "{}", 200);
    await post("/v3/maintenance/alarm", "{}", 200);
    await post("/v3/maintenance/alarm", '{"action":"GET","alarm":"NOSPACE"}', 200);
    const self = (t: Target) => [...aliases.get(t.name)!].find(([, a]) => a === "<self>")![0];
    const nospace = (action: string) => (t: Target) => JSON.stringify({ action, memberID: self(t), alarm: "NOSPACE" });
    await post("/v3/maintenance/alarm", nospace("ACTIVATE"), 200);
    await post("/v3/maintenance/alarm", nospace("ACTIVATE"), 200);
    await post("/v3/maintenance/alarm", '{"action":"GET"}', 200);
    await post("/v3/kv/put", JSON.stringify({ key: b64("a"), value: b64("2") }), 429);
    await post("/v3/lease/grant", '{"TTL":30}', 429);
    await post("/v3/kv/range", JSON.stringify({ key: b64("a") }), 200);
    await post("/v3/maintenance/status", "{}", 200);
    await post("/v3/maintenance/alarm", nospace("DEACTIVATE"), 200);
    await post("/v3/maintenance/alarm", nospace("DEACTIVATE"), 200);
    await post("/v3/maintenance/alarm", "{}", 200);
    await post("/v3/kv/put", JSON.stringify({ key: b64("a"), value: b64("3") }), 200);
    await post("/v3/maintenance/alarm", '{"action":"ACTIVATE","memberID":"7","alarm":"CORRUPT"}', 200);
    await post("/v3/kv/put", JSON.stringify({ key: b64("a"), value: b64("4") }), 500);
    await post("/v3/kv/range", JSON.stringify({ key: b64("a") }), 200);
    await post("/v3/maintenance/alarm", '{"action":"DEACTIVATE","memberID":"7","alarm":"CORRUPT"}', 200);
  });

  it("adds, refuses, promotes and removes members like etcd", async () => {
    await post("/v3/cluster/member/add", (t) => JSON.stringify({ peerURLs: [newPeerUrl(t)], isLearner: true }), 200, (name, r) =>
      aliases.get(name)!.set(r.json.member.ID, "<new>"),
    );
    const learner = (t: Target) => [...aliases.get(t.name)!].find(([, a]) => a === "<new>")![0];
    const self = (t: Target) => [...aliases.get(t.name)!].find(([, a]) => a === "<self>")![0];
    const secondLearner = (t: Target) => (t.name === "etcd" ? "http://127.0.0.1:2" : "etcdo://default/m5");
    await post("/v3/cluster/member/add", (t) => JSON.stringify({ peerURLs: [secondLearner(t)], isLearner: true }), 412);
    await post("/v3/cluster/member/add", '{"peerURLs":[]}', 400);
    await post("/v3/cluster/member/add", "{}", 400);
    await post("/v3/cluster/member/add", '{"peerURLs":["127.0.0.1:2"]}', 400);
    await post("/v3/cluster/member/add", '{"peerURLs":[null]}', 400);
    await post("/v3/cluster/member/add", '{"peerURLs":"a"}', 400);
    await post("/v3/cluster/member/add", '{"peerURLs":[1]}', 400);
    await post("/v3/cluster/member/list", "{}", 200);
    await post("/v3/cluster/member/promote", (t) => JSON.stringify({ ID: self(t) }), 412);
    await post("/v3/cluster/member/promote", '{"ID":"5"}', 404);
    await post("/v3/cluster/member/promote", "{}", 404);
    await post("/v3/cluster/member/update", '{"ID":"5","peerURLs":["http://127.0.0.1:9"]}', 404);
    await post("/v3/cluster/member/remove", '{"ID":"5"}', 404);
    await post("/v3/cluster/member/remove", '{"ID":"x"}', 400);
    await post("/v3/cluster/member/remove", '{"ID":-1}', 400);
    await post("/v3/cluster/member/remove", (t) => JSON.stringify({ ID: learner(t) }), 200);
    await post("/v3/cluster/member/remove", (t) => JSON.stringify({ ID: learner(t) }), 404);
    await post("/v3/cluster/member/promote", (t) => JSON.stringify({ ID: learner(t) }), 404);
    await post("/v3/cluster/member/list", "{}", 200);
  });

  it("transfers leadership and decodes like etcd", async () => {
    await post("/v3/maintenance/transfer-leadership", "{}", 412);
    await post("/v3/maintenance/transfer-leadership", '{"targetID":"5"}', 412);
    await post("/v3/maintenance/status", "x", 400);
    await post("/v3/maintenance/alarm", '{"action":"BAD"}', 400);
    await post("/v3/maintenance/alarm", '{"memberID":"x"}', 400);
    await post("/v3/maintenance/defragment", "x", 400);
  });
});
