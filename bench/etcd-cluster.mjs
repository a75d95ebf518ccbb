// Starts a real 3-member etcd (Debian's etcd-server) on loopback for the benchmark.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function startEtcdCluster(size = 3, bin = process.env.ETCD_BIN ?? "/usr/bin/etcd") {
  const dir = mkdtempSync(join(tmpdir(), "etcd-bench-"));
  const members = [];
  for (let i = 1; i <= size; i++) members.push({ name: `e${i}`, client: await freePort(), peer: await freePort() });
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const children = members.map((m) =>
    spawn(
      bin,
      [
        `--name=${m.name}`,
        `--data-dir=${join(dir, m.name)}`,
        `--listen-client-urls=http://127.0.0.1:${m.client}`,
        `--advertise-client-urls=http://127.0.0.1:${m.client}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        "--log-level=error",
        "--logger=zap",
      ],
      { stdio: "ignore" },
    ),
  );
  const urls = members.map((m) => `http://127.0.0.1:${m.client}`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${urls[0]}/v3/kv/put`, { method: "POST", body: '{"key":"d2FybQ==","value":"MQ=="}' });
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("etcd cluster did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    urls,
    async stop() {
      for (const c of children) c.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
