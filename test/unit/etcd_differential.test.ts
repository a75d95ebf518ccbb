// Differential run against a real etcd (opt-in: ETCD_DIFF=1, etcd binary at $ETCD_BIN or
// /usr/bin/etcd). The same random requests as the model test go to a fresh single-member
// etcd through its JSON gateway and to the Applier; responses must be identical apart from
// the header fields the member fills in. Rerun one seed with ETCD_DIFF_SEED=<seed>.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Applier } from "../../src/server/applier.ts";
import { encodeInternalRequest, type InternalRequest } from "../../src/server/internal_request.ts";
import type { Compare, KeyValue, RangeRequest, RequestOp, ResponseOp, TxnRequest } from "../../src/server/types.ts";
import { fromBase64, toBase64 } from "../../src/util/bytes.ts";
import { openMemoryDb } from "../support/node-sqlite.ts";
import { randStep, Rng, type GenState } from "./kv_random.ts";

const enabled = process.env.ETCD_DIFF === "1";
const BIN = process.env.ETCD_BIN ?? "/usr/bin/etcd";

// ---- JSON gateway encoding (proto names, base64 bytes, int64 as strings)
const b64 = (u: Uint8Array) => toBase64(u);
const rangeJson = (r: RangeRequest) => ({
  key: b64(r.key),
  range_end: b64(r.rangeEnd),
  limit: String(r.limit),
  revision: String(r.revision),
  sort_order: r.sortOrder,
  sort_target: r.sortTarget,
  keys_only: r.keysOnly,
  count_only: r.countOnly,
  min_mod_revision: String(r.minModRevision),
  max_mod_revision: String(r.maxModRevision),
  min_create_revision: String(r.minCreateRevision),
  max_create_revision: String(r.maxCreateRevision),
});
const compareJson = (c: Compare) => {
  const tu = c.targetUnion as Record<string, unknown>;
  const out: Record<string, unknown> = { result: c.result, target: c.target, key: b64(c.key), range_end: b64(c.rangeEnd) };
  if ("version" in tu) out.version = String(tu.version);
  if ("createRevision" in tu) out.create_revision = String(tu.createRevision);
  if ("modRevision" in tu) out.mod_revision = String(tu.modRevision);
  if ("value" in tu) out.value = b64(tu.value as Uint8Array);
  if ("lease" in tu) out.lease = String(tu.lease);
  return out;
};
const opJson = (op: RequestOp): unknown => {
  if ("requestRange" in op) return { request_range: rangeJson(op.requestRange) };
  if ("requestPut" in op) {
    const p = op.requestPut;
    return { request_put: { key: b64(p.key), value: b64(p.value), lease: String(p.lease), prev_kv: p.prevKv, ignore_value: p.ignoreValue, ignore_lease: p.ignoreLease } };
  }
  if ("requestDeleteRange" in op) {
    const d = op.requestDeleteRange;
    return { request_delete_range: { key: b64(d.key), range_end: b64(d.rangeEnd), prev_kv: d.prevKv } };
  }
  if ("requestTxn" in op) return { request_txn: txnJson(op.requestTxn) };
  return {};
};
const txnJson = (t: TxnRequest) => ({ compare: t.compare.map(compareJson), success: t.success.map(opJson), failure: t.failure.map(opJson) });

// ---- decoding etcd's answers into etcdo's values
type J = Record<string, any>;
const n = (s: unknown) => (s === undefined ? 0 : Number(s));
const hdr = (h: J | undefined) => ({ clusterId: 0n, memberId: 0n, revision: n(h?.revision), raftTerm: 0 });
const kv = (k: J): KeyValue => ({
  key: fromBase64(k.key ?? ""),
  createRevision: n(k.create_revision),
  modRevision: n(k.mod_revision),
  version: n(k.version),
  value: fromBase64(k.value ?? ""),
  lease: BigInt(k.lease ?? 0),
});
const rangeResp = (r: J) => ({ header: hdr(r.header), kvs: (r.kvs ?? []).map(kv), more: r.more ?? false, count: n(r.count) });
const putResp = (r: J) => (r.prev_kv ? { header: hdr(r.header), prevKv: kv(r.prev_kv) } : { header: hdr(r.header) });
const delResp = (r: J) => ({ header: hdr(r.header), deleted: n(r.deleted), prevKvs: (r.prev_kvs ?? []).map(kv) });
const txnResp = (r: J): unknown => ({
  header: hdr(r.header),
  succeeded: r.succeeded ?? false,
  responses: (r.responses ?? []).map((o: J): ResponseOp => {
    if (o.response_range) return { responseRange: rangeResp(o.response_range) };
    if (o.response_put) return { responsePut: putResp(o.response_put) as never };
    if (o.response_delete_range) return { responseDeleteRange: delResp(o.response_delete_range) };
    return { responseTxn: txnResp(o.response_txn) as never };
  }),
});

/** Strips what the member fills in; nested results keep their revisions. */
function normalise(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `b:${b64(v)}` : v)));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function startEtcd(): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "etcdo-diff-"));
  const [c, p] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${c}`;
  const peer = `http://127.0.0.1:${p}`;
  const child: ChildProcess = spawn(BIN, [
    "--name=d1", `--data-dir=${join(dir, "data")}`, `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=d1=${peer}`, "--log-level=error", "--logger=zap",
  ], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok && (await r.json()).health === "true") break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: () => { child.kill("SIGKILL"); rmSync(dir, { recursive: true, force: true }); } };
}

async function call(url: string, path: string, body: unknown): Promise<{ ok?: J; error?: string }> {
  const res = await fetch(url + path, { method: "POST", body: JSON.stringify(body) });
  const j = (await res.json()) as J;
  if (j.error !== undefined) return { error: j.message };
  return { ok: j };
}

async function etcdApply(url: string, r: InternalRequest): Promise<{ response?: unknown; error?: string }> {
  switch (r.op) {
    case "put": {
      const p = r.request;
      const a = await call(url, "/v3/kv/put", { key: b64(p.key), value: b64(p.value), lease: String(p.lease), prev_kv: p.prevKv, ignore_value: p.ignoreValue, ignore_lease: p.ignoreLease });
      return a.error ? { error: a.error } : { response: putResp(a.ok!) };
    }
    case "deleteRange": {
      const d = r.request;
      const a = await call(url, "/v3/kv/deleterange", { key: b64(d.key), range_end: b64(d.rangeEnd), prev_kv: d.prevKv });
      return a.error ? { error: a.error } : { response: delResp(a.ok!) };
    }
    case "txn": {
      const a = await call(url, "/v3/kv/txn", txnJson(r.request));
      return a.error ? { error: a.error } : { response: txnResp(a.ok!) };
    }
    case "compaction": {
      const a = await call(url, "/v3/kv/compaction", { revision: String(r.request.revision), physical: true });
      return a.error ? { error: a.error } : { response: { header: hdr(a.ok!.header) } };
    }
    case "leaseGrant": {
      const a = await call(url, "/v3/lease/grant", { ID: String(r.request.ID), TTL: String(r.request.TTL) });
      return a.error ? { error: a.error } : { response: { header: hdr(a.ok!.header), ID: BigInt(a.ok!.ID), TTL: n(a.ok!.TTL), error: a.ok!.error ?? "" } };
    }
    case "leaseRevoke": {
      const a = await call(url, "/v3/lease/revoke", { ID: String(r.request.ID) });
      return a.error ? { error: a.error } : { response: { header: hdr(a.ok!.header) } };
    }
    default:
      throw new Error(r.op);
  }
}

describe.skipIf(!enabled)("Applier vs a real etcd 3.4 (JSON gateway)", () => {
  const seeds = process.env.ETCD_DIFF_SEED ? [Number(process.env.ETCD_DIFF_SEED)] : [1, 2, 3, 4, 5, 6];
  for (const seed of seeds) {
    let etcd: { url: string; stop: () => void };
    beforeAll(async () => (etcd = await startEtcd()), 20_000);
    afterAll(() => etcd?.stop());
    it(`seed ${seed}`, async () => {
      const g = new Rng(seed);
      const state: GenState = { rev: 1, leases: new Map() };
      const applier = new Applier(openMemoryDb(), { minLeaseTtlSeconds: 2 });
      let index = 0;
      for (let i = 0; i < 300; i++) {
        // leases long enough not to expire during the run
        const step = randStep(g, state, i + 1, 600);
        if (step.kind === "restart") continue;
        const where = `seed ${seed} step ${i} ${JSON.stringify(normalise(step))}`;
        if (step.kind === "range") {
          const a = await call(etcd.url, "/v3/kv/range", rangeJson(step.req));
          const want = a.error ? { error: a.error } : { response: rangeResp(a.ok!) };
          let got: unknown;
          try {
            got = { response: applier.range(step.req) };
          } catch (e) {
            got = { error: (e as Error).message };
          }
          expect(normalise(got), where).toEqual(normalise(want));
          continue;
        }
        const want = await etcdApply(etcd.url, step.req);
        const res = applier.apply({ index: ++index, term: 1, data: encodeInternalRequest(step.req) })!;
        const got = res.error ? { error: res.error.message } : { response: res.response };
        expect(normalise(got), where).toEqual(normalise(want));
        state.rev = applier.revision();
        if (step.req.op === "leaseGrant" && !res.error) state.leases.set(step.req.request.ID, 1);
        if (step.req.op === "leaseRevoke" && !res.error) state.leases.delete(step.req.request.ID);
      }
    }, 120_000);
  }
});
