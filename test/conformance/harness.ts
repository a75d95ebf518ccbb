// Side-by-side driver for the conformance suite: the same HTTP requests go to a real etcd
// and to etcdo (Miniflare running the bundled Worker), in the same order, and the answers
// must be equal after normalising only what is legitimately different between two clusters.
//
// Environment:
//   CONFORMANCE_TARGETS=etcd   run against etcd alone (develop tests before etcdo can answer)
//   CONFORMANCE_TARGETS=both   (default) compare etcd with etcdo
//   CONFORMANCE_TARGETS=etcd2  compare etcd with a second etcd: checks that the suite itself
//                              only normalises what really differs between two clusters
//   CI=true                    a missing etcd binary fails the suite instead of skipping it
//   SEED=<n>                   replay one seed of the randomized test
//   CONFORMANCE_SOFT=1         report every mismatch of a test instead of stopping at the first

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { type EtcdServer, etcdMissingReason, startEtcd } from "../support/etcd.ts";

export type TargetName = "etcd" | "etcdo";

export interface Target {
  name: TargetName;
  url: string;
  stop(): Promise<void>;
}

export interface Reply {
  status: number;
  contentType: string;
  /** The headers a client can act on (see COMPARED_HEADERS), lower-cased names. */
  headers: Record<string, string>;
  body: string;
  /** Parsed body (undefined when it is not JSON). */
  json: any;
}

const localClusterPath = fileURLToPath(new URL("../../scripts/lib/local-cluster.mjs", import.meta.url));

export function wantedTargets(): TargetName[] {
  const v = (process.env.CONFORMANCE_TARGETS ?? "both").trim();
  return v === "etcd" ? ["etcd"] : ["etcd", "etcdo"];
}

const secondEtcd = () => (process.env.CONFORMANCE_TARGETS ?? "").trim() === "etcd2";

/**
 * describe() for a conformance file: skipped (with the reason) when etcd is not installed,
 * unless CI=true, where the missing binary makes the suite fail.
 */
export function describeConformance(name: string, fn: () => void): void {
  const missing = etcdMissingReason();
  if (missing && process.env.CI !== "true") {
    describe.skip(`${name} (skipped: ${missing})`, fn);
    return;
  }
  describe(name, fn);
}

/**
 * A session over fresh targets for the enclosing describe block: started before its first
 * test, stopped after its last. `setup` runs once the targets are up.
 */
export function useSession(setup?: (s: Session) => Promise<void>): Session {
  const s = new Session([]);
  beforeAll(async () => {
    s.attach(await startTargets());
    await setup?.(s);
  });
  afterAll(() => stopTargets(s.targets));
  return s;
}

export async function startTargets(etcdArgs: string[] = []): Promise<Target[]> {
  const missing = etcdMissingReason();
  if (missing) throw new Error(`conformance needs a real etcd: ${missing}`);
  const targets: Target[] = [];
  const etcd: EtcdServer = await startEtcd({ args: etcdArgs });
  targets.push({ name: "etcd", url: etcd.url, stop: () => etcd.stop() });
  if (secondEtcd()) {
    const other = await startEtcd({ args: etcdArgs, name: "other" });
    targets.push({ name: "etcdo", url: other.url, stop: () => other.stop() });
  } else if (wantedTargets().includes("etcdo")) {
    if (!existsSync(localClusterPath)) {
      await etcd.stop();
      throw new Error(
        "etcdo target wanted but scripts/lib/local-cluster.mjs does not exist; " +
          "run with CONFORMANCE_TARGETS=etcd to check the tests against etcd alone",
      );
    }
    try {
      const mod = (await import(localClusterPath)) as {
        startLocalCluster(o: object): Promise<{ url: string; dispose(): Promise<void> }>;
      };
      const c = await mod.startLocalCluster({ port: 0, host: "127.0.0.1", persistDir: undefined, members: ["m1"] });
      targets.push({ name: "etcdo", url: c.url.replace(/\/$/, ""), stop: () => c.dispose() });
    } catch (e) {
      await etcd.stop();
      throw e;
    }
  }
  return targets;
}

export async function stopTargets(targets: Target[] | undefined): Promise<void> {
  if (!targets) return;
  await Promise.allSettled(targets.map((t) => t.stop()));
}

export async function send(t: Target, method: string, path: string, body?: string): Promise<Reply> {
  const init: RequestInit = { method };
  if (body !== undefined && method !== "GET" && method !== "HEAD") init.body = body;
  init.redirect = "manual";
  const r = await fetch(t.url + path, init);
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const headers: Record<string, string> = {};
  for (const h of COMPARED_HEADERS) {
    const v = r.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  return { status: r.status, contentType: r.headers.get("content-type") ?? "", headers, body: text, json };
}

// Compared besides the body. Not compared: Date, Content-Length (etcd streams its error
// bodies chunked, with the gRPC trailer Grpc-Trailer-Content-Type), Transfer-Encoding.
const COMPARED_HEADERS = [
  "content-type",
  "grpc-metadata-content-type",
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "x-content-type-options",
  "allow",
  "location",
];

/** Per-target context for requests whose bodies differ between targets (server-chosen IDs). */
export interface TargetCtx {
  name: TargetName;
  /** The ID this target chose for the lease registered under `alias`. */
  lease(alias: string): string;
}

export interface StepOptions {
  /** Allow the named integer fields to differ by at most 1 (remaining TTLs tick). */
  slackFields?: string[];
  /** Compare arrays under these keys as sets (etcd returns them in Go map order). */
  unorderedArrays?: string[];
  /** Extra check on etcd's reply (runs in etcd-only mode too). */
  expectStatus?: number;
  /** The reply grants a lease whose ID the server chose: remember it under this alias. */
  registerLease?: string;
}

/**
 * One conformance session: a sequence of requests sent to every target in the same order.
 * Each step compares status, Content-Type and normalised body with etcd's.
 */
export class Session {
  targets: Target[] = [];
  private readonly leaseIds = new Map<TargetName, Map<string, string>>();
  readonly log: string[] = [];

  constructor(targets: Target[]) {
    this.attach(targets);
  }

  /** Points the session at freshly started targets. */
  attach(targets: Target[]): void {
    this.targets = targets;
    for (const t of targets) this.leaseIds.set(t.name, new Map());
  }

  /** Remembers a lease ID that each target chose (from each target's grant reply). */
  registerLease(alias: string, replies: Map<TargetName, Reply>): void {
    for (const [name, r] of replies) {
      const id = r.json?.ID;
      if (typeof id !== "string") throw new Error(`no lease ID in ${name}'s reply: ${r.body}`);
      this.leaseIds.get(name)!.set(alias, id);
    }
  }

  ctx(name: TargetName): TargetCtx {
    const ids = this.leaseIds.get(name)!;
    return {
      name,
      lease: (alias) => {
        const id = ids.get(alias);
        if (id === undefined) throw new Error(`unknown lease alias ${alias}`);
        return id;
      },
    };
  }

  /** Sends to all targets, compares, returns every reply (etcd's first). */
  async stepAll(
    method: string,
    path: string,
    body?: string | ((c: TargetCtx) => string),
    opts: StepOptions = {},
  ): Promise<Map<TargetName, Reply>> {
    const replies = new Map<TargetName, Reply>();
    for (const t of this.targets) {
      const b = typeof body === "function" ? body(this.ctx(t.name)) : body;
      replies.set(t.name, await send(t, method, path, b));
    }
    const what = `${method} ${path} ${typeof body === "function" ? body(this.ctx("etcd")) : (body ?? "")}`;
    this.log.push(what.length > 300 ? what.slice(0, 300) + "…" : what);
    const etcd = replies.get("etcd")!;
    if (opts.registerLease) this.registerLease(opts.registerLease, replies);
    if (opts.expectStatus !== undefined) {
      expect(etcd.status, `etcd status for ${what}\n${etcd.body}`).toBe(opts.expectStatus);
    }
    const other = replies.get("etcdo");
    if (other) {
      const a = this.normalise("etcd", etcd, opts);
      const b = this.normalise("etcdo", other, opts);
      reconcileSlack(a, b, opts.slackFields ?? []);
      (process.env.CONFORMANCE_SOFT && expect.getState().currentTestName ? expect.soft : expect)(
        { status: b.status, headers: other.headers, body: b.body },
        `etcdo differs from etcd for: ${what.slice(0, 500)}`,
      ).toEqual({ status: a.status, headers: etcd.headers, body: a.body });
    }
    return replies;
  }

  /** Sends to all targets, compares, returns etcd's reply. */
  async step(
    method: string,
    path: string,
    body?: string | ((c: TargetCtx) => string),
    opts: StepOptions = {},
  ): Promise<Reply> {
    return (await this.stepAll(method, path, body, opts)).get("etcd")!;
  }

  post(path: string, body?: string | object | ((c: TargetCtx) => string), opts?: StepOptions): Promise<Reply> {
    const b = typeof body === "object" ? JSON.stringify(body) : body;
    return this.step("POST", path, b, opts);
  }

  private normalise(name: TargetName, r: Reply, opts: StepOptions): Normalised {
    const aliases = new Map<string, string>();
    for (const [alias, id] of this.leaseIds.get(name)!) aliases.set(id, `<lease:${alias}>`);
    // Byte-exact comparison of everything but the cluster fields and server-chosen lease
    // IDs: substitute those in the text, keep escaping, key order and number forms as sent.
    let text = r.body.replace(/"(cluster_id|member_id|raft_term)":"\d+"/g, '"$1":"<cluster>"');
    text = text.replace(/"(ID|lease)":"(-?\d+)"/g, (m, k: string, id: string) =>
      aliases.has(id) ? `"${k}":"${aliases.get(id)}"` : m,
    );
    if (!opts.slackFields?.length && !opts.unorderedArrays?.length) {
      return { status: r.status, contentType: r.contentType, body: text, values: [] };
    }
    // Order-insensitive or tolerant comparisons need the values (newline-delimited JSON).
    const values: unknown[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        values.push(sortArrays(JSON.parse(line), opts.unorderedArrays ?? []));
      } catch {
        return { status: r.status, contentType: r.contentType, body: text, values: [] };
      }
    }
    return { status: r.status, contentType: r.contentType, body: render(values, text), values };
  }
}

function render(values: unknown[], original: string): string {
  return values.map((v) => JSON.stringify(v)).join("\n") + (original.endsWith("\n") ? "\n" : "");
}

function sortArrays(v: any, keys: string[]): any {
  if (Array.isArray(v)) return v.map((x) => sortArrays(x, keys));
  if (v && typeof v === "object") {
    for (const k of Object.keys(v)) {
      v[k] = sortArrays(v[k], keys);
      if (keys.includes(k) && Array.isArray(v[k])) {
        v[k].sort((a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      }
    }
  }
  return v;
}

interface Normalised {
  status: number;
  contentType: string;
  body: string;
  values: unknown[];
}

// Normalised: cluster_id and member_id (random per cluster), raft_term (depends on
// elections) and lease IDs the servers chose themselves (random). Nothing else: revisions
// must match exactly because both servers start empty and get the same requests in order.

/**
 * Where both sides hold integers within 1 of each other under a slack field, use etcd's.
 * An absent field is 0 (jsonpb leaves zeros out), so "TTL":"1" against no TTL also matches.
 */
function reconcileSlack(a: Normalised, b: Normalised, fields: string[]): void {
  if (fields.length === 0 || a.values.length !== b.values.length) return;
  const walk = (x: any, y: any): any => {
    if (!x || !y || typeof x !== "object" || typeof y !== "object") return y;
    if (Array.isArray(x) || Array.isArray(y)) {
      return Array.isArray(x) && Array.isArray(y) ? y.map((v, i) => walk(x[i], v)) : y;
    }
    const out: Record<string, unknown> = {};
    const close = (k: string) => {
      const d = Number(x[k] ?? "0") - Number(y[k] ?? "0");
      return Number.isFinite(d) && Math.abs(d) <= 1;
    };
    // Follow etcd's key order so that the rest of the comparison stays byte-exact.
    for (const k of Object.keys(x)) {
      if (fields.includes(k) && close(k)) out[k] = x[k];
      else if (k in y) out[k] = walk(x[k], y[k]);
    }
    for (const k of Object.keys(y)) {
      if (k in out || (fields.includes(k) && !(k in x) && close(k))) continue;
      out[k] = y[k];
    }
    return out;
  };
  b.values = a.values.map((v, i) => walk(v, b.values[i]));
  b.body = render(b.values, b.body);
}

// ---- request builders -----------------------------------------------------------------

/** Base64 of a byte string (a JS string is taken as Latin-1: one char per byte). */
export const b64 = (s: string | Uint8Array): string =>
  (typeof s === "string" ? Buffer.from(s, "latin1") : Buffer.from(s)).toString("base64");
export const unb64 = (s: string): string => Buffer.from(s, "base64").toString("latin1");

/** The smallest key after every key with this prefix (clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, "latin1");
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i] = b[i]! + 1;
      return b.subarray(0, i + 1).toString("latin1");
    }
  }
  return "\0";
}
