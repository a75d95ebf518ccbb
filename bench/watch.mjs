// npm run bench:watch (and the second half of npm run bench): watch event delivery on the
// local 3-member etcdo and a local 3-member etcd, started one after the other, driven with
// the same watchers and the same writes. Prints a table and appends it to bench/RESULTS.md.
//
// Transport: etcd's gateway WebSocket on /v3/watch for both systems (each text frame sent is
// one WatchRequest, each frame received one {"result": WatchResponse}), 100 watches per
// socket, through bench/ws.mjs, a client that offers no extension, so both send the same
// uncompressed frames; etcd's sockets are spread over its 3 member URLs, etcdo's go to its
// one URL (the front door spreads them over the members). Two more etcdo rows per cell use
// Node's WebSocket, which offers permessage-deflate as browsers do (workerd accepts it, etcd
// does not): on /v3/watch, and on etcdo's multiplexed socket /v3/etcdo/stream (docs/watch.md),
// the browser transport. Their ratio is against etcd's /v3/watch row.
// Writes: POST /v3/kv/put (to etcd's first member), either one writer putting sequentially
// or BENCH_WATCH_WRITERS writers in parallel; each put's value is its number.
// Measured per cell: deliveries (events received, summed over watchers) against those
// expected (every watcher of the written key, every put — a shortfall is printed loudly and
// the run exits non-zero), deliveries/s (all deliveries / time from the first put sent to
// the last event received) and the delivery latency p50/p99 (put sent → event received by
// the watcher, over every delivery). Also the CPU used by the servers (workerd, or the 3 etcd
// processes, from /proc) and by the receiver (this one Node process), to tell which is the
// limit: etcdo runs on one thread, so 100% server CPU is its ceiling.
// Options: BENCH_WATCH_PUTS (puts per cell for the two scenarios, default "200,1000"),
// BENCH_WATCH_WRITERS (default 8), BENCH_NO_RECORD.
import { appendFileSync, readFileSync, readdirSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { onEtcd, onEtcdo } from "./systems.mjs";
import { RawWebSocket } from "./ws.mjs";

const [putsOneKey, putsPrefixes] = (process.env.BENCH_WATCH_PUTS ?? "200,1000").split(",").map(Number);
const WRITERS = Number(process.env.BENCH_WATCH_WRITERS ?? 8);
const PER_SOCKET = 100;
const b64 = (s) => Buffer.from(s).toString("base64");
const pad = (p) => String(p).padStart(2, "0");

// Watcher i is watch i % 100 + 1 of socket i / 100. On the prefix scenario every socket holds
// one watcher of each prefix, so every put reaches all 100 sockets (100 frames).
const scenarios = [
  {
    name: "1,000 watchers on one key",
    sockets: 10,
    puts: putsOneKey,
    watch: (run) => ({ key: `bench/${run}/one` }),
    key: (run) => `bench/${run}/one`,
    /** Events watcher i must receive from `puts` puts. */
    expectedFor: (i, puts) => puts,
  },
  {
    name: "10,000 watchers over 100 prefixes",
    sockets: 100,
    puts: putsPrefixes,
    watch: (run, i) => ({ key: `bench/${run}/p${pad(i % 100)}/`, range_end: `bench/${run}/p${pad(i % 100)}0` }),
    key: (run, n) => `bench/${run}/p${pad(n % 100)}/k${n}`,
    expectedFor: (i, puts) => (i % 100 < puts ? Math.floor((puts - 1 - (i % 100)) / 100) + 1 : 0),
  },
];

const gateway = { path: "/v3/watch", create: (req) => ({ create_request: req }), response: (m) => m.result };
const mux = { path: "/v3/etcdo/stream", create: (req) => ({ watch: { create_request: req } }), response: (m) => m.watch };
const transports = {
  // No extension offered: both systems send the same uncompressed frames.
  gateway: { ...gateway, Client: RawWebSocket },
  // Node's WebSocket offers permessage-deflate, as browsers do; etcdo (workerd) accepts it.
  "gateway, Node WebSocket": { ...gateway, Client: WebSocket },
  "mux, Node WebSocket": { ...mux, Client: WebSocket },
};

/**
 * CPU seconds (user + system) of every process this one started (workerd, or the etcd
 * members), from /proc: the servers' CPU, apart from the receiver's. NaN off Linux.
 */
function serverCpuSeconds() {
  const parent = new Map();
  const ticks = new Map();
  try {
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const f = readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1].split(" ");
        parent.set(Number(d), Number(f[1]));
        ticks.set(Number(d), Number(f[11]) + Number(f[12]));
      } catch {}
    }
  } catch {
    return NaN;
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p = parent.get(pid), hops = 0; p && hops < 6; p = parent.get(p), hops++) {
      if (p === process.pid) {
        total += t;
        break;
      }
    }
  }
  return total / 100; // USER_HZ
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** One put on a keep-alive connection; resolves when the answer is read. */
function put(agent, url, key, value) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ key: b64(key), value: b64(value) });
    const req = http.request(
      new URL("/v3/kv/put", url),
      { method: "POST", agent, timeout: 10_000, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`put: HTTP ${res.statusCode} ${text}`))));
      },
    );
    req.on("timeout", () => req.destroy(new Error("put: no answer in 10 s")));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * One cell: opens the scenario's watchers on `transport`, writes `puts` puts with `writers`
 * writers, waits for every expected event (or 15 s without progress), closes everything.
 */
async function measureCell({ writeUrl, watchUrls, transport, scenario, writers, run, puts = scenario.puts }) {
  const t = transports[transport];
  const watchers = scenario.sockets * PER_SOCKET;
  const got = new Uint32Array(watchers);
  let expected = 0;
  for (let i = 0; i < watchers; i++) expected += scenario.expectedFor(i, puts);
  const sentAt = new Float64Array(puts);
  const latencies = new Float64Array(expected * 2);
  let delivered = 0;
  let lastEventAt = 0;
  let failure;
  let extensions = "";
  const sockets = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: writers });
  try {
    const opened = [];
    for (let s = 0; s < scenario.sockets; s++) {
      const ws = new t.Client(watchUrls[s % watchUrls.length].replace(/^http/, "ws") + t.path);
      sockets.push(ws);
      let created = 0;
      let onCreated;
      const allCreated = new Promise((resolve, reject) => (onCreated = { resolve, reject }));
      allCreated.catch(() => undefined); // awaited below once the socket is open
      ws.onmessage = (e) => {
        const now = performance.now();
        if (e.data === "pong") return;
        const m = JSON.parse(e.data);
        const r = t.response(m);
        if (!r) {
          failure ??= new Error(`socket ${s}: unexpected frame ${String(e.data).slice(0, 300)}`);
          return onCreated.reject(failure);
        }
        if (r.created || r.canceled) {
          if (r.canceled) {
            failure ??= new Error(`socket ${s}: watch ${r.watch_id} canceled: ${r.cancel_reason ?? r.compact_revision}`);
            return onCreated.reject(failure);
          }
          if (++created === PER_SOCKET) onCreated.resolve();
          return;
        }
        const i = s * PER_SOCKET + Number(r.watch_id ?? 0) - 1;
        for (const ev of r.events ?? []) {
          const n = Number(Buffer.from(ev.kv.value, "base64").toString());
          if (delivered < latencies.length) latencies[delivered] = now - sentAt[n];
          delivered++;
          got[i]++;
        }
        lastEventAt = now;
      };
      ws.onclose = () => {
        if (!failure && sockets.length) failure = new Error(`socket ${s} closed by the server`);
        onCreated.reject(failure ?? new Error(`socket ${s} closed`));
      };
      await withTimeout(
        new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = () => reject(new Error(`socket ${s}: WebSocket failed to open`));
        }),
        10_000,
        `socket ${s} open`,
      );
      for (let j = 0; j < PER_SOCKET; j++) {
        const w = scenario.watch(run, s * PER_SOCKET + j);
        const req = { key: b64(w.key), watch_id: String(j + 1) };
        if (w.range_end) req.range_end = b64(w.range_end);
        ws.send(JSON.stringify(t.create(req)));
      }
      opened.push(allCreated);
    }
    await withTimeout(Promise.all(opened), 30_000, "watch creation");
    extensions = sockets[0].extensions;

    const cpu0 = process.cpuUsage();
    const serverCpu0 = serverCpuSeconds();
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (next < puts && !failure) {
          const n = next++;
          sentAt[n] = performance.now();
          await put(agent, writeUrl, scenario.key(run, n), String(n));
        }
      }),
    );
    // Wait for every expected event; give up after 15 s without one, or 120 s in all.
    const writesDone = performance.now();
    while (delivered < expected && !failure) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const now = performance.now();
      if (now - Math.max(lastEventAt, writesDone) > 15_000 || now - writesDone > 120_000) break;
    }
    const elapsed = (Math.max(lastEventAt, start) - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu = serverCpuSeconds() - serverCpu0;
    const wall = (performance.now() - start) / 1000;
    let wrongWatchers = 0;
    for (let i = 0; i < watchers; i++) if (got[i] !== scenario.expectedFor(i, puts)) wrongWatchers++;
    const lat = latencies.subarray(0, Math.min(delivered, latencies.length)).sort();
    const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
    return {
      delivered,
      expected,
      wrongWatchers,
      error: failure?.message,
      perSecond: elapsed > 0 ? delivered / elapsed : 0,
      p50: q(0.5),
      p99: q(0.99),
      clientCpu: (cpu.user + cpu.system) / 1e6 / wall,
      serverCpu: serverCpu / wall,
      deflate: extensions.includes("permessage-deflate"),
    };
  } catch (err) {
    return { delivered, expected, wrongWatchers: NaN, error: (failure ?? err).message, perSecond: 0, p50: NaN, p99: NaN, clientCpu: NaN, serverCpu: NaN, deflate: false };
  } finally {
    const all = sockets.splice(0);
    for (const ws of all) ws.close();
    agent.destroy();
  }
}

const patterns = [
  { label: "1", writers: 1 },
  { label: String(WRITERS), writers: WRITERS },
];

/** Every cell of one system, on each of the given transports (etcd: the gateway one). */
async function measure(system, writeUrl, watchUrls, transportsToRun) {
  const rows = [];
  let run = 0;
  // Warm-up, not recorded: a few puts to a few watchers.
  const warm = await measureCell({ writeUrl, watchUrls, transport: "gateway", scenario: { ...scenarios[0], sockets: 1 }, writers: 1, run: "warm", puts: 20 });
  if (warm.delivered !== warm.expected || warm.error) console.error(`${system} warm-up: ${warm.delivered} of ${warm.expected} delivered${warm.error ? `, ${warm.error}` : ""}`);
  for (const scenario of scenarios) {
    for (const pattern of patterns) {
      for (const transport of transportsToRun) {
        const r = await measureCell({ writeUrl, watchUrls, transport, scenario, writers: pattern.writers, run: `${system}${run++}` });
        rows.push({ system, scenario: scenario.name, writers: pattern.label, transport, ...r });
        const ok = r.delivered === r.expected && r.wrongWatchers === 0 && !r.error;
        console.log(
          `${system.padEnd(6)} ${scenario.name.padEnd(34)} writers=${pattern.label.padEnd(2)} ${transport.padEnd(23)} ${r.deflate ? "deflate" : "       "} ` +
            `${r.delivered}/${r.expected} delivered  ${r.perSecond.toFixed(0).padStart(7)} /s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  CPU server ${(r.serverCpu * 100).toFixed(0)}% receiver ${(r.clientCpu * 100).toFixed(0)}%` +
            (ok ? "" : `  <<< SHORTFALL: ${r.expected - r.delivered} events missing, ${r.wrongWatchers} watchers wrong${r.error ? `, ${r.error}` : ""} >>>`),
        );
      }
    }
  }
  return rows;
}

export async function runWatchBench() {
  const etcdoRows = await onEtcdo((etcdo) => measure("etcdo", etcdo.url, [etcdo.url], Object.keys(transports)));
  const etcdRows = await onEtcd((etcd) => measure("etcd", etcd.urls[0], etcd.urls, ["gateway"]));

  const cell = (r) => {
    const n = r.expected.toLocaleString("en-US");
    return r.delivered === r.expected && r.wrongWatchers === 0 && !r.error ? n : `**${r.delivered.toLocaleString("en-US")} of ${n}**`;
  };
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const lines = [
    `## ${new Date().toISOString().slice(0, 10)} — watch delivery — ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    "",
    `${putsOneKey} puts to the one key, ${putsPrefixes} over the prefixes (one key each, round robin); 1 sequential writer or ${WRITERS} in parallel; 100 watches per WebSocket; ` +
      "etcdo: 3 members in one local workerd (Miniflare), SQLite on disk; etcd: Debian etcd-server, 3 members on loopback, sockets spread over them. " +
      "\"gateway\": /v3/watch on both through a minimal client that offers no WebSocket extension (the same uncompressed frames from both); " +
      "\"Node WebSocket\": Node's WebSocket, which offers permessage-deflate as browsers do, on etcdo's /v3/watch or its multiplexed /v3/etcdo/stream, compared with etcd's row above (its etcd cells are —). " +
      "CPU: CPU time over the cell's wall time (100% = one core busy), of the server processes (workerd; the 3 etcd) and of the receiver (this Node process, which also writes).",
    "",
    "| scenario | writers | etcdo socket | deliveries etcdo / etcd | etcdo deliveries/s | etcdo p50 / p99 ms | etcd deliveries/s | etcd p50 / p99 ms | etcdo / etcd | server CPU etcdo / etcd | receiver CPU etcdo / etcd |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const a of etcdoRows) {
    const b = etcdRows.find((r) => r.scenario === a.scenario && r.writers === a.writers);
    const same = a.transport === "gateway";
    lines.push(
      `| ${a.scenario} | ${a.writers} | ${a.transport}${a.deflate ? ", deflate" : ""} | ${cell(a)} / ${same ? cell(b) : "—"} | ${a.perSecond.toFixed(0)} | ${a.p50.toFixed(1)} / ${a.p99.toFixed(1)} | ` +
        `${same ? b.perSecond.toFixed(0) : "—"} | ${same ? `${b.p50.toFixed(1)} / ${b.p99.toFixed(1)}` : "—"} | ${(a.perSecond / b.perSecond).toFixed(2)} | ${pct(a.serverCpu)} / ${same ? pct(b.serverCpu) : "—"} | ${pct(a.clientCpu)} / ${same ? pct(b.clientCpu) : "—"} |`,
    );
  }
  const table = lines.join("\n") + "\n\n";
  console.log("\n" + table);
  const bad = [...etcdoRows, ...etcdRows].filter((r) => r.delivered !== r.expected || r.wrongWatchers !== 0 || r.error);
  for (const r of bad) console.error(`SHORTFALL ${r.system} ${r.scenario} writers=${r.writers} ${r.transport}: ${r.delivered} of ${r.expected} delivered, ${r.wrongWatchers} watchers wrong${r.error ? `, ${r.error}` : ""}`);
  if (bad.length) process.exitCode = 1;
  if (!process.env.BENCH_NO_RECORD) appendFileSync(new URL("./RESULTS.md", import.meta.url), table);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runWatchBench();
