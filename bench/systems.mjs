// The two systems a benchmark compares, each started for one measurement and stopped after
// it (also when the measurement fails): the local 3-member etcdo on a fresh data directory,
// and a local 3-member etcd (Debian's etcd-server).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { startLocalCluster } from "../scripts/lib/local-cluster.mjs";
import { startEtcdCluster } from "./etcd-cluster.mjs";

/** Runs measure({ url }) on a local etcdo once it has a leader. */
export async function onEtcdo(measure) {
  const dataDir = mkdtempSync(join(os.tmpdir(), "etcdo-bench-"));
  try {
    const etcdo = await startLocalCluster({ port: 0, persistDir: dataDir });
    try {
      await waitForLeader(etcdo.url);
      return await measure(etcdo);
    } finally {
      await etcdo.dispose();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs measure({ urls }) on a local 3-member etcd. */
export async function onEtcd(measure) {
  const etcd = await startEtcdCluster(3);
  try {
    return await measure(etcd);
  } finally {
    await etcd.stop();
  }
}

async function waitForLeader(url) {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/v3/kv/put`, { method: "POST", body: '{"key":"d2FybQ==","value":"MQ=="}' }).catch(() => undefined);
    if (r?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}: no leader after 10 s`);
}
