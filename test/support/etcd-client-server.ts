// A server for client and CLI tests. By default: a real etcd (Debian's /usr/bin/etcd or
// $ETCD_BIN) on loopback, random free ports, a temporary data dir. With
// ETCDO_TEST_ENDPOINTS=http://127.0.0.1:2379[,...] the tests target that server instead
// (etcdo started elsewhere); then `stop` leaves it running.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { freePort } from "./etcd.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestServer {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** "127.0.0.1:PORT", the form etcdctl prints. */
  hostPort: string;
  kind: "etcd" | "etcdo" | "external";
  stop(): Promise<void>;
}

export { freePort };
export const ETCD_BIN = process.env.ETCD_BIN ?? "/usr/bin/etcd";

/** Starts a fresh single-member etcd; waits until /health says true. */
export async function startEtcd(name = "etcd-test"): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "etcdo-client-"));
  for (let attempt = 0; ; attempt++) {
    const [cport, pport] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${cport}`;
    const peer = `http://127.0.0.1:${pport}`;
    const child = spawn(
      ETCD_BIN,
      [
        `--name=${name}`,
        `--data-dir=${join(dir, `data${attempt}`)}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=${name}=${peer}`,
        "--log-level=error",
        "--logger=zap",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const ok = await waitHealthy(url, child, 15_000);
    if (ok) {
      return {
        url,
        hostPort: `127.0.0.1:${cport}`,
        kind: "etcd",
        stop: async () => {
          await kill(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await kill(child);
    if (attempt >= 2) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`etcd did not become healthy:\n${stderr}`);
    }
  }
}

async function waitHealthy(url: string, child: ChildProcess, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok && ((await r.json()) as { health?: string }).health === "true") return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** A fresh local etcdo (3 members, in memory) on a free loopback port. */
export async function startEtcdo(members?: string[]): Promise<TestServer> {
  const { startLocalCluster } = (await import("../../scripts/lib/local-cluster.mjs")) as {
    startLocalCluster(o: object): Promise<{ url: string; dispose(): Promise<void> }>;
  };
  const cluster = await startLocalCluster({ port: 0, members, outDir: mkdtempSync(join(tmpdir(), "etcdo-bundle-")) });
  const deadline = Date.now() + 30_000;
  // The first request waits out the first election; make sure the cluster answers writes.
  for (;;) {
    const r = await fetch(`${cluster.url}/v3/kv/range`, { method: "POST", body: '{"key":"AA=="}' }).catch(() => undefined);
    if (r?.ok) break;
    if (Date.now() > deadline) throw new Error("etcdo did not become ready");
    await new Promise((res) => setTimeout(res, 100));
  }
  return { url: cluster.url, hostPort: cluster.url.replace(/^https?:\/\//, ""), kind: "etcdo", stop: () => cluster.dispose() };
}

/**
 * The server the client tests talk to: $ETCDO_TEST_ENDPOINTS if set; a fresh local etcdo
 * when ETCDO_TEST_TARGET=etcdo; else a fresh etcd.
 */
export async function startTestServer(options: { members?: string[] } = {}): Promise<TestServer> {
  if (process.env.ETCDO_TEST_TARGET === "etcdo") return startEtcdo(options.members);
  const ext = process.env.ETCDO_TEST_ENDPOINTS;
  if (ext) {
    const url = ext.split(",")[0]!.trim().replace(/\/+$/, "");
    return { url, hostPort: url.replace(/^https?:\/\//, ""), kind: "external", stop: async () => {} };
  }
  return startEtcd();
}
