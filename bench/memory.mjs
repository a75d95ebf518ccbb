// npm run bench:memory: writes 1,000,000 keys through the JSON API of a local 3-member
// etcdo (batched: PUTS_PER_TXN puts per txn) and samples the memory of the workerd process
// that runs the Worker and all members (VmRSS) and the members' database size on disk.
// A member's memory must stay flat while the keyspace grows; its database may not.
// Loopback only, bounded in time. Prints the samples and the peaks; appends a summary to
// bench/RESULTS.md unless BENCH_NO_RECORD is set.
// Options: MEMORY_KEYS (default 1000000), MEMORY_PUTS_PER_TXN (100), MEMORY_CONNS (8),
// MEMORY_MAX_SECONDS (900), MEMORY_VALUE_BYTES (100).
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import { startLocalCluster } from "../scripts/lib/local-cluster.mjs";

const KEYS = Number(process.env.MEMORY_KEYS ?? 1_000_000);
const PER_TXN = Number(process.env.MEMORY_PUTS_PER_TXN ?? 100);
const CONNS = Number(process.env.MEMORY_CONNS ?? 8);
const MAX_SECONDS = Number(process.env.MEMORY_MAX_SECONDS ?? 900);
const VALUE_BYTES = Number(process.env.MEMORY_VALUE_BYTES ?? 100);
const b64 = (s) => Buffer.from(s).toString("base64");
const MiB = 2 ** 20;

/** The workerd process Miniflare started for this cluster (a descendant of this process). */
function findWorkerd() {
  const parentOf = (pid) => {
    try {
      return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
    } catch {
      return 0;
    }
  };
  const isOurs = (pid) => {
    for (let p = parentOf(pid), hops = 0; p > 1 && hops < 5; p = parentOf(p), hops++) if (p === process.pid) return true;
    return false;
  };
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes("workerd") && isOurs(Number(d))) return Number(d);
    } catch {}
  }
  throw new Error("workerd process not found (is this Linux?)");
}

/** VmRSS, and its anonymous part (heaps) apart from file-backed pages (mapped files). */
function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field) => {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") + kb("RssShmem") };
}

/** Bytes of every file under dir (the members' SQLite databases and their WAL files). */
function dirBytes(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += statSync(p).size;
  }
  return total;
}

function post(agent, url, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, url), { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const dataDir = mkdtempSync(join(os.tmpdir(), "etcdo-memory-"));
const cluster = await startLocalCluster({ port: 0, persistDir: dataDir });
const pid = findWorkerd();
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNS });
for (let i = 0; i < 100; i++) {
  const r = await post(agent, cluster.url, "/v3/kv/put", '{"key":"d2FybQ==","value":"MQ=="}').catch(() => undefined);
  if (r?.status === 200) break;
  await new Promise((r) => setTimeout(r, 100));
}

const value = b64("v".repeat(VALUE_BYTES));
const txns = Math.ceil(KEYS / PER_TXN);
const started = performance.now();
const deadline = started + MAX_SECONDS * 1000;
const samples = [];
let written = 0;
let errors = 0;
let nextTxn = 0;
let lastReport = 0;

function sample() {
  const s = { seconds: (performance.now() - started) / 1000, keys: written, ...rssBytes(pid), db: dirBytes(dataDir) };
  samples.push(s);
  return s;
}
const fmt = (s) =>
  `${s.seconds.toFixed(0).padStart(5)} s  ${String(s.keys).padStart(8)} keys  RSS ${(s.rss / MiB).toFixed(0).padStart(5)} MiB (anon ${(s.anon / MiB).toFixed(0).padStart(5)}, file ${(s.file / MiB).toFixed(0).padStart(4)})  DB ${(s.db / MiB).toFixed(0).padStart(5)} MiB`;
console.log(fmt(sample()));
const sampler = setInterval(() => {
  const s = sample();
  if (s.keys - lastReport >= KEYS / 20) {
    lastReport = s.keys;
    console.log(fmt(s));
  }
}, 1000);

await Promise.all(
  Array.from({ length: CONNS }, async () => {
    while (performance.now() < deadline) {
      const t = nextTxn++;
      if (t >= txns) return;
      const success = [];
      for (let k = t * PER_TXN; k < Math.min(KEYS, (t + 1) * PER_TXN); k++) {
        success.push({ request_put: { key: b64(`mem/${String(k).padStart(7, "0")}`), value } });
      }
      const r = await post(agent, cluster.url, "/v3/kv/txn", JSON.stringify({ success }));
      if (r.status === 200) written += success.length;
      else if (errors++ < 5) console.error(`txn ${t}: ${r.status} ${r.body}`);
    }
  }),
);
clearInterval(sampler);
const end = sample();
console.log(fmt(end));

// Each member's own account of its database (etcd's Status.dbSize / dbSizeInUse).
const statuses = [];
for (const m of (process.env.ETCDO_MEMBERS ?? "m1,m2,m3").split(",")) {
  const r = await fetch(`${cluster.url}/v3/maintenance/status`, { method: "POST", body: "{}", headers: { "x-etcdo-member": m } }).catch(() => undefined);
  const j = r?.ok ? await r.json() : {};
  statuses.push({ member: m, dbSize: Number(j.dbSize ?? NaN), dbSizeInUse: Number(j.dbSizeInUse ?? NaN) });
}
agent.destroy();
await cluster.dispose();
rmSync(dataDir, { recursive: true, force: true });

const peak = samples.reduce((a, s) => (s.rss > a.rss ? s : a));
// "Flat": the peak compared with the memory once a tenth of the keys were in.
const early = samples.find((s) => s.keys >= KEYS / 10) ?? samples[0];
const seconds = end.seconds;
const lines = [
  `## ${new Date().toISOString().slice(0, 10)} — memory while writing ${written.toLocaleString("en-US")} keys — ${os.cpus().length} cores, Node ${process.version}`,
  "",
  `${PER_TXN} puts per txn, ${VALUE_BYTES}-byte values, ${CONNS} connections, ${seconds.toFixed(0)} s (${(written / seconds).toFixed(0)} keys/s), errors ${errors}; one workerd runs the Worker and all 3 members.`,
  "",
  "| | workerd RSS | of which anonymous | DB on disk (3 members) |",
  "|---|---:|---:|---:|",
  `| start | ${(samples[0].rss / MiB).toFixed(0)} MiB | ${(samples[0].anon / MiB).toFixed(0)} MiB | ${(samples[0].db / MiB).toFixed(1)} MiB |`,
  `| at ${early.keys.toLocaleString("en-US")} keys | ${(early.rss / MiB).toFixed(0)} MiB | ${(early.anon / MiB).toFixed(0)} MiB | ${(early.db / MiB).toFixed(0)} MiB |`,
  `| peak (at ${peak.keys.toLocaleString("en-US")} keys) | ${(peak.rss / MiB).toFixed(0)} MiB | ${(peak.anon / MiB).toFixed(0)} MiB | |`,
  `| end, ${written.toLocaleString("en-US")} keys | ${(end.rss / MiB).toFixed(0)} MiB | ${(end.anon / MiB).toFixed(0)} MiB | ${(end.db / MiB).toFixed(0)} MiB |`,
  "",
  `Members' dbSize (status): ${statuses.map((s) => `${s.member} ${(s.dbSize / MiB).toFixed(0)} MiB`).join(", ")}.`,
  "",
];
const table = lines.join("\n") + "\n";
console.log("\n" + table);
if (!process.env.BENCH_NO_RECORD) appendFileSync(new URL("./RESULTS.md", import.meta.url), table);
