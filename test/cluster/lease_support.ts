// Helpers for the lease, lock and election tests on the local cluster.
import { lines } from "../../client/src/lines.ts";
import type { TestCluster } from "./support.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads a newline-delimited JSON stream, handing each message to onMessage until aborted. */
export async function readStream(url: string, path: string, body: unknown, onMessage: (m: any) => void, signal: AbortSignal, member?: string): Promise<void> {
  const headers: Record<string, string> = member ? { "x-etcdo-member": member } : {};
  const r = await fetch(url + path, { method: "POST", body: JSON.stringify(body), signal, headers });
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  try {
    for await (const raw of lines(r.body!)) {
      const line = raw.trim();
      if (line) onMessage(JSON.parse(line));
    }
  } catch (e) {
    if (!signal.aborted) throw e;
  }
}

/** Keeps a lease alive every intervalMs until stopped; failed renewals are counted, not fatal. */
export function keepAlive(c: TestCluster, id: string, intervalMs: number): { stop(): void; failures: number; lastTtl: number } {
  const state = { stopped: false, failures: 0, lastTtl: -1, stop: () => { state.stopped = true; } };
  void (async () => {
    while (!state.stopped) {
      try {
        const r = await c.post("/v3/lease/keepalive", { ID: id }, { timeoutMs: 1500 });
        if (r.status === 200) state.lastTtl = Number(r.json?.result?.TTL ?? 0);
        else state.failures++;
      } catch {
        state.failures++;
      }
      await sleep(intervalMs);
    }
  })();
  return state;
}

/** A request that is retried on transport errors and 5xx until it answers 200 or the deadline. */
export async function until200(c: TestCluster, path: string, body: unknown, deadlineMs = 10_000): Promise<any> {
  const end = Date.now() + deadlineMs;
  let last = "";
  while (Date.now() < end) {
    try {
      const r = await c.post(path, body, { timeoutMs: 3000 });
      if (r.status === 200) return r.json;
      last = `${r.status} ${JSON.stringify(r.json)}`;
    } catch (e) {
      last = String(e);
    }
    await sleep(50);
  }
  throw new Error(`${path} did not succeed: ${last}`);
}
