// A local etcdo cluster (workerd via Miniflare, the `local` configuration with the fault API)
// for black-box tests over HTTP, with fast raft timing so faults resolve in test time.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalCluster } from "../../scripts/lib/local-cluster.mjs";

export interface TestCluster {
  url: string;
  post(path: string, body: unknown, opts?: { member?: string; timeoutMs?: number }): Promise<{ status: number; json: any }>;
  fault(body: unknown): Promise<void>;
  status(): Promise<{ members: any[]; leader: string }>;
  /** Waits until one leader is known to every member (bounded). */
  waitForLeader(maxMs?: number): Promise<string>;
  dispose(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
export { b64 };

export async function startTestCluster(vars: Record<string, string> = {}): Promise<TestCluster> {
  const cluster = await startLocalCluster({
    port: 0,
    outDir: mkdtempSync(join(tmpdir(), "etcdo-cluster-")),
    vars: { ETCDO_TICK_MS: "20", ETCDO_REQUEST_TIMEOUT_MS: "2000", ...vars },
  });
  const url = cluster.url;
  const post: TestCluster["post"] = async (path, body, opts = {}) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (opts.member) headers["x-etcdo-member"] = opts.member;
    const r = await fetch(url + path, {
      method: "POST",
      body: JSON.stringify(body),
      headers,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  const status = async () => (await (await fetch(url + "/_fault/status")).json()) as { members: any[]; leader: string };
  return {
    url,
    post,
    status,
    async fault(body) {
      const r = await fetch(url + "/_fault", { method: "POST", body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`fault ${JSON.stringify(body)}: ${r.status} ${await r.text()}`);
    },
    async waitForLeader(maxMs = 20_000) {
      const deadline = Date.now() + maxMs;
      for (;;) {
        // A linearizable read wakes the member it reaches (members tick only once started,
        // and an idle cluster stops ticking until a request needs raft).
        await post("/v3/kv/range", { key: b64("wake") }, { timeoutMs: 1000 }).catch(() => undefined);
        const s = await status();
        const ok = s.members.every((m) => m.leader === s.leader);
        if (s.leader && ok) return s.leader;
        if (Date.now() > deadline) throw new Error(`no leader within ${maxMs} ms: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    dispose: () => cluster.dispose(),
  };
}
