// Watch delivery benchmark (not a test): event delivery latency p50/p99 and deliveries per
// second, for 1,000 watchers on one key and 10,000 watchers over prefixes, on multiplexed
// sockets of a local etcdo (workerd through Miniflare). Run: node test/watch/bench.ts
// [--url http://…] to measure a running server instead. Prints one JSON line per scenario.
import { startLocalCluster } from "../../scripts/lib/local-cluster.mjs";

interface Scenario {
  name: string;
  sockets: number;
  watchersPerSocket: number;
  /** The key and range of watcher i. */
  watch(i: number): { key: string; range_end?: string };
  /** The key written by put n. */
  key(n: number): string;
  /** Deliveries one put causes. */
  fanout(n: number): number;
  puts: number;
}

const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(url: string, s: Scenario): Promise<object> {
  const sent = new Map<string, number>();
  const latencies: number[] = [];
  let delivered = 0;
  let expected = 0;
  let done: () => void = () => undefined;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < s.sockets; i++) {
    const ws = new WebSocket(url.replace(/^http/, "ws") + "/v3/etcdo/stream");
    let created = 0;
    const allCreated = new Promise<void>((resolve, reject) => {
      ws.onmessage = (e) => {
        const m = JSON.parse(String(e.data));
        if (m.error) return reject(new Error(JSON.stringify(m.error)));
        const r = m.watch;
        if (r.created) {
          if (r.canceled) return reject(new Error(r.cancel_reason));
          if (++created === s.watchersPerSocket) resolve();
          return;
        }
        const now = performance.now();
        for (const ev of r.events ?? []) {
          const t = sent.get(Buffer.from(ev.kv.value, "base64").toString());
          if (t !== undefined) latencies.push(now - t);
          delivered++;
        }
        if (delivered >= expected) done();
      };
    });
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("socket failed"));
    });
    for (let j = 0; j < s.watchersPerSocket; j++) {
      const w = s.watch(i * s.watchersPerSocket + j);
      const req: Record<string, string> = { key: b64(w.key), watch_id: String(j + 1) };
      if (w.range_end) req.range_end = b64(w.range_end);
      ws.send(JSON.stringify({ watch: { create_request: req } }));
    }
    await allCreated;
    sockets.push(ws);
  }
  for (let n = 0; n < s.puts; n++) expected += s.fanout(n);
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const start = performance.now();
  for (let n = 0; n < s.puts; n++) {
    const value = `v${n}`;
    sent.set(value, performance.now());
    const r = await fetch(url + "/v3/kv/put", { method: "POST", body: JSON.stringify({ key: b64(s.key(n)), value: b64(value) }) });
    if (r.status !== 200) throw new Error(`put: ${r.status} ${await r.text()}`);
  }
  await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
  const seconds = (performance.now() - start) / 1000;
  for (const ws of sockets) ws.close();
  latencies.sort((a, b) => a - b);
  return {
    scenario: s.name,
    watchers: s.sockets * s.watchersPerSocket,
    puts: s.puts,
    delivered,
    expected,
    deliveriesPerSecond: Math.round(delivered / seconds),
    latencyMs: { p50: +percentile(latencies, 50).toFixed(2), p99: +percentile(latencies, 99).toFixed(2) },
  };
}

const scenarios: Scenario[] = [
  {
    name: "1,000 watchers on one key",
    sockets: 10,
    watchersPerSocket: 100,
    watch: () => ({ key: "bench/one" }),
    key: () => "bench/one",
    fanout: () => 1000,
    puts: 200,
  },
  {
    name: "10,000 watchers over 100 prefixes",
    sockets: 100,
    watchersPerSocket: 100,
    watch: (i) => ({ key: `bench/p${String(i % 100).padStart(2, "0")}/`, range_end: `bench/p${String(i % 100).padStart(2, "0")}0` }),
    key: (n) => `bench/p${String(n % 100).padStart(2, "0")}/k${n}`,
    fanout: () => 100,
    puts: 500,
  },
];

const urlArg = process.argv.indexOf("--url");
const cluster = urlArg > 0 ? null : await startLocalCluster({ port: 0, members: ["m1"] });
const url = urlArg > 0 ? process.argv[urlArg + 1]! : cluster!.url;
try {
  for (const s of scenarios) console.log(JSON.stringify({ date: new Date().toISOString(), ...(await run(url, s)) }));
} finally {
  await cluster?.dispose();
}
