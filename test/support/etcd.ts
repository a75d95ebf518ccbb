// Starts a real single-member etcd (Debian's etcd-server, /usr/bin/etcd) on loopback, with
// free random client and peer ports and a temporary data directory, for the conformance
// suite. The oracle for etcdo's behaviour is this process.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ETCD_BINARY = process.env.ETCD_BINARY ?? "/usr/bin/etcd";

export interface EtcdServer {
  /** Client URL without trailing slash, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Recent output of the process (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface EtcdOptions {
  name?: string;
  /** Extra command-line flags, e.g. ["--max-txn-ops=16"]. */
  args?: string[];
  /** Give up waiting for /health after this long. */
  startTimeoutMs?: number;
}

/** Whether the etcd binary is installed. */
export function etcdAvailable(): boolean {
  return existsSync(ETCD_BINARY);
}

/**
 * Why the conformance tests cannot run, or null when they can. With CI=true a missing binary
 * is an error the caller must turn into a failing test; elsewhere tests may skip.
 */
export function etcdMissingReason(): string | null {
  if (etcdAvailable()) return null;
  return `etcd not found at ${ETCD_BINARY} (install Debian's etcd-server package, or set ETCD_BINARY)`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const missing = etcdMissingReason();
  if (missing) throw new Error(missing);
  const name = options.name ?? "conformance";
  const dataDir = mkdtempSync(join(tmpdir(), "etcdo-etcd-"));
  const [clientPort, peerPort] = await distinctPorts();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${name}=${peer}`,
    "--initial-cluster-state=new",
    ...(options.args ?? []),
  ];
  const proc = spawn(ETCD_BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-32_768);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    proc.on("exit", () => {
      exited = true;
      resolve();
    });
  });

  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  const stop = async () => {
    if (!exited) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(timer);
    }
    cleanup();
  };

  try {
    await waitHealthy(client, proc, options.startTimeoutMs ?? 15_000, () => exited);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- etcd output ---\n${output}`);
  }
  return { url: client, log: () => output, stop };
}

async function distinctPorts(): Promise<[number, number]> {
  for (;;) {
    const a = await freePort();
    const b = await freePort();
    if (a !== b) return [a, b];
  }
}

async function waitHealthy(url: string, proc: ChildProcess, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`etcd exited early (code ${proc.exitCode})`);
    try {
      const r = await fetch(`${url}/health`);
      const body = await r.text();
      if (r.ok && body.includes('"health":"true"')) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${url} not healthy after ${timeoutMs} ms`);
}
