// npm run bench: the local 3-member etcdo and a local 3-member etcd, the same HTTP load on
// the JSON API, side by side; then the watch benchmark (bench/watch.mjs) on fresh clusters.
// Prints the tables and appends them to bench/RESULTS.md.
// Options: BENCH_SECONDS (per KV cell, default 5), BENCH_CONNS (default "1,16,64"),
// BENCH_ONLY ("kv" or "watch": run one part), BENCH_NO_RECORD (print only); the watch
// part's own options are in bench/watch.mjs.
import { appendFileSync } from "node:fs";
import os from "node:os";
import { runLoad } from "./load.mjs";
import { onEtcd, onEtcdo } from "./systems.mjs";
import { runWatchBench } from "./watch.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const conns = (process.env.BENCH_CONNS ?? "1,16,64").split(",").map(Number);
const b64 = (s) => Buffer.from(s).toString("base64");
const KEYS = 1000;

const workloads = {
  put: { path: "/v3/kv/put", body: (i, n) => JSON.stringify({ key: b64(`bench/${(i * 7919 + n) % KEYS}`), value: b64("x".repeat(64)) }) },
  "range (linearizable)": { path: "/v3/kv/range", body: (i, n) => JSON.stringify({ key: b64(`bench/${(i + n) % KEYS}`) }) },
  "range (serializable)": { path: "/v3/kv/range", body: (i, n) => JSON.stringify({ key: b64(`bench/${(i + n) % KEYS}`), serializable: true }) },
  "txn (CAS)": {
    path: "/v3/kv/txn",
    body: (i, n) => {
      const key = b64(`cas/${i}`);
      return JSON.stringify({
        compare: [{ target: "MOD", key, mod_revision: "0", result: "GREATER" }],
        success: [{ request_put: { key, value: b64(String(n)) } }],
        failure: [{ request_put: { key, value: b64(String(n)) } }],
      });
    },
  },
};

async function measure(name, urls) {
  const rows = [];
  // Seed the keys the reads use.
  await runLoad({ urls, ...workloads.put, connections: 16, durationMs: 1000 });
  for (const [wl, spec] of Object.entries(workloads)) {
    for (const c of conns) {
      const r = await runLoad({ urls, path: spec.path, body: spec.body, connections: c, durationMs: seconds * 1000 });
      rows.push({ system: name, workload: wl, conns: c, ...r });
      console.log(`${name.padEnd(6)} ${wl.padEnd(22)} c=${String(c).padEnd(3)} ${r.qps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  errors ${r.errors}`);
    }
  }
  return rows;
}

async function runKvBench() {
  const etcdoRows = await onEtcdo((etcdo) => measure("etcdo", [etcdo.url]));
  const etcdRows = await onEtcd((etcd) => measure("etcd", etcd.urls));

  const lines = [
    `## ${new Date().toISOString().slice(0, 10)} — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    "",
    `${seconds} s per cell; etcdo: 3 members in one local workerd (Miniflare), SQLite on disk; etcd: Debian etcd-server, 3 members on loopback; same load generator (keep-alive HTTP, JSON gateway).`,
    "",
    "| workload | conns | etcdo req/s | etcdo p50 / p99 ms | etcd req/s | etcd p50 / p99 ms | etcdo / etcd |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const a of etcdoRows) {
    const b = etcdRows.find((r) => r.workload === a.workload && r.conns === a.conns);
    lines.push(
      `| ${a.workload} | ${a.conns} | ${a.qps.toFixed(0)} | ${a.p50.toFixed(1)} / ${a.p99.toFixed(1)} | ${b.qps.toFixed(0)} | ${b.p50.toFixed(1)} / ${b.p99.toFixed(1)} | ${(a.qps / b.qps).toFixed(2)} |`,
    );
  }
  const table = lines.join("\n") + "\n\n";
  console.log("\n" + table);
  if (!process.env.BENCH_NO_RECORD) appendFileSync(new URL("./RESULTS.md", import.meta.url), table);
}

const only = process.env.BENCH_ONLY;
if (only && only !== "kv" && only !== "watch") throw new Error(`BENCH_ONLY must be "kv" or "watch", not ${JSON.stringify(only)}`);
if (only !== "watch") await runKvBench();
if (only !== "kv") await runWatchBench();
