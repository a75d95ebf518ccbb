// /v3/lease/keepalive as a WebSocket (the gateway's bidi-stream form): the same frames to a
// real etcd and to etcdo give the same answers, and a keepalive renews the lease.
import { expect, it } from "vitest";
import { describeConformance, useSession } from "./harness.ts";

async function exchange(url: string, frames: string[]): Promise<string[]> {
  const ws = new WebSocket(url.replace(/^http/, "ws") + "/v3/lease/keepalive");
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`websocket to ${url} failed`));
  });
  const done = new Promise<void>((resolve) => {
    ws.onmessage = (e) => {
      got.push(String(e.data));
      if (got.length === frames.length) resolve();
    };
  });
  for (const f of frames) ws.send(f);
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  ws.close();
  return got;
}

/** Only what differs between two clusters: ids, term, and the lease ID the server chose. */
function normalize(frame: string, leaseId: string): string {
  return frame
    .replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"N"')
    .replaceAll(`"${leaseId}"`, '"LEASE"');
}

describeConformance("conformance: lease keepalive over WebSocket", () => {
  const s = useSession();

  it("answers each keepalive frame with one result frame, TTL 0 for unknown leases", async () => {
    const answers: string[][] = [];
    for (const t of s.targets) {
      const grant = await (await fetch(`${t.url}/v3/lease/grant`, { method: "POST", body: '{"TTL":30}' })).json();
      const id = String(grant.ID);
      const frames = [JSON.stringify({ ID: id }), JSON.stringify({ ID: "1234" }), JSON.stringify({ ID: id })];
      const got = await exchange(t.url, frames);
      expect(got, t.name).toHaveLength(3);
      expect(JSON.parse(got[0]!).result.TTL, t.name).toBe("30");
      answers.push(got.map((f) => normalize(f, id)));
    }
    for (const a of answers.slice(1)) expect(a).toEqual(answers[0]);
  });
});
