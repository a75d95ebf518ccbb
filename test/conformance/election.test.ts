// Election service (v3election) side by side with etcd 3.4: campaign, leader, proclaim,
// resign, their refusals, and the first messages of an observe stream. Lease IDs are
// explicit, so the leader keys (`<name>/<lease hex>`) are the same on both servers.
import { expect, it } from "vitest";
import { b64, describeConformance, useSession } from "./harness.ts";

describeConformance("conformance: Election", () => {
  const s = useSession();
  const leader = (name: string, key: string, rev: number, lease: number) => ({ name: b64(name), key: b64(key), rev: String(rev), lease: String(lease) });

  it("campaign, leader, proclaim (same and other value), resign", async () => {
    await s.post("/v3/lease/grant", { ID: 0xe1, TTL: 60 }, { expectStatus: 200 });
    await s.post("/v3/election/leader", { name: b64("el1") }, { expectStatus: 500 });
    const c = await s.post("/v3/election/campaign", { name: b64("el1"), lease: 0xe1, value: b64("a") }, { expectStatus: 200 });
    const rev = Number(c.json.leader.rev);
    await s.post("/v3/election/leader", { name: b64("el1") }, { expectStatus: 200 });
    // Campaigning again with the same lease and another value proclaims it.
    await s.post("/v3/election/campaign", { name: b64("el1"), lease: 0xe1, value: b64("b") }, { expectStatus: 200 });
    await s.post("/v3/election/leader", { name: b64("el1") }, { expectStatus: 200 });
    await s.post("/v3/election/proclaim", { leader: leader("el1", "el1/e1", rev, 0xe1), value: b64("c") }, { expectStatus: 200 });
    await s.post("/v3/election/proclaim", { leader: leader("el1", "el1/e1", rev + 100, 0xe1), value: b64("d") }, { expectStatus: 500 });
    await s.post("/v3/election/leader", { name: b64("el1") }, { expectStatus: 200 });
    await s.post("/v3/election/resign", { leader: leader("el1", "el1/e1", rev + 100, 0xe1) }, { expectStatus: 200 });
    await s.post("/v3/election/resign", { leader: leader("el1", "el1/e1", rev, 0xe1) }, { expectStatus: 200 });
    await s.post("/v3/election/leader", { name: b64("el1") }, { expectStatus: 500 });
  });

  it("refusals: unknown lease, missing leader key, bad bodies", async () => {
    await s.post("/v3/election/campaign", { name: b64("el2"), lease: 4040, value: b64("x") }, { expectStatus: 500 });
    await s.post("/v3/election/proclaim", { value: b64("x") }, { expectStatus: 500 });
    await s.post("/v3/election/resign", {}, { expectStatus: 500 });
    await s.post("/v3/election/leader", '{"name":', { expectStatus: 400 });
    await s.post("/v3/election/campaign", '{"lease":"x"}', { expectStatus: 400 });
    await s.post("/v3/election/proclaim", '{"leader":{"rev":true}}', { expectStatus: 400 });
  });

  it("observe streams the current leader first", async () => {
    await s.post("/v3/lease/grant", { ID: 0xe3, TTL: 60 }, { expectStatus: 200 });
    await s.post("/v3/election/campaign", { name: b64("el3"), lease: 0xe3, value: b64("v") }, { expectStatus: 200 });
    const firsts: string[] = [];
    for (const t of s.targets) {
      const ac = new AbortController();
      const r = await fetch(`${t.url}/v3/election/observe`, { method: "POST", body: JSON.stringify({ name: b64("el3") }), signal: ac.signal });
      expect(r.status).toBe(200);
      const reader = r.body!.getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      ac.abort();
      firsts.push(text.replace(/"cluster_id":"\d+","member_id":"\d+"/, "").replace(/"raft_term":"\d+"/, ""));
    }
    expect(firsts.length).toBe(s.targets.length);
    for (const f of firsts) expect(f).toBe(firsts[0]);
  });
});
