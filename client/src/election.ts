// Leader election over etcd's Election service (/v3/election/*): campaign waits until this
// client leads, proclaim changes the leader's value, resign steps down, leader and observe
// read the current leader. A campaign's lease is kept alive; its loss ends the leadership.

import { type Bytes, concatBytes, toBase64, toBytes } from "./bytes.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import type { Conn } from "./kv.ts";
import { LeaseKeeper, lease as grantKept } from "./keepalive.ts";
import type { CallOptions } from "./transport.ts";
import { type KeyValue, type LeaseIdLike, type RawHeader, type RawKv, type ResponseHeader, decodeHeader, decodeKv, leaseIdString, num } from "./types.ts";
import { lines } from "./lines.ts";

type RawLeaderKey = { name?: string; key?: string; rev?: string; lease?: string };

export interface CampaignOptions extends CallOptions {
  /** TTL in seconds of the lease granted for the campaign (default 60). */
  ttl?: number;
  /** Campaign with this lease instead (kept alive by the caller). */
  lease?: LeaseIdLike;
}

export interface Leadership {
  header: ResponseHeader;
  /** The leader key (namespace removed) and its create revision. */
  key: Uint8Array;
  revision: number;
  lease: LeaseKeeper | undefined;
  /** Aborted when the campaign's lease is lost. */
  lost: AbortSignal;
  /** Sets a new value for observers without a new election. */
  proclaim(value: Bytes, o?: CallOptions): Promise<void>;
  /** Gives up leadership (and revokes the campaign's lease). */
  resign(o?: CallOptions): Promise<void>;
}

const NO_LEADER = "election: no leader";

/** Waits until this client leads the election `name`, announcing `value`. */
export async function campaign(c: Conn, name: Bytes, value: Bytes, o: CampaignOptions = {}): Promise<Leadership> {
  const keeper = o.lease === undefined ? await grantKept(c, o.ttl ?? 60) : undefined;
  const leaseId = o.lease === undefined ? keeper!.id : leaseIdString(o.lease);
  const fullName = toBase64(concatBytes(c.prefix, toBytes(name)));
  try {
    const r = await c.transport.request<{ header?: RawHeader; leader?: RawLeaderKey }>(
      "/v3/election/campaign",
      { name: fullName, lease: leaseId, value: toBase64(toBytes(value)) },
      { signal: o.signal, timeout: o.timeout ?? 0 },
    );
    const leader = r.leader ?? {};
    if (!leader.key) throw new EtcdError("election: no leader key in the answer", { code: GrpcCode.Internal });
    const key = decodeKv({ key: leader.key }, c.prefix).key;
    return {
      header: decodeHeader(r.header),
      key,
      revision: num(leader.rev),
      lease: keeper,
      lost: keeper ? keeper.lost : new AbortController().signal,
      proclaim: async (v, po = {}) => {
        await c.transport.request("/v3/election/proclaim", { leader, value: toBase64(toBytes(v)) }, po);
      },
      resign: async (ro = {}) => {
        await c.transport.request("/v3/election/resign", { leader }, ro);
        await keeper?.revoke(ro);
      },
    };
  } catch (e) {
    await keeper?.revoke().catch(() => {});
    throw e;
  }
}

/** The current leader's key and value, or null when there is none. */
export async function leader(c: Conn, name: Bytes, o: CallOptions = {}): Promise<KeyValue | null> {
  try {
    const r = await c.transport.request<{ kv?: RawKv }>("/v3/election/leader", { name: toBase64(concatBytes(c.prefix, toBytes(name))) }, { ...o, idempotent: true });
    return r.kv ? decodeKv(r.kv, c.prefix) : null;
  } catch (e) {
    if (e instanceof EtcdError && e.message === NO_LEADER) return null;
    throw e;
  }
}

/** Every leader of the election `name` from now on (the current one first), until `signal` aborts. */
export async function* observe(c: Conn, name: Bytes, o: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue> {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const ep = c.transport.endpoints[0]!;
    const res = await c.transport.rawFetch(`${ep}/v3/election/observe`, {
      method: "POST",
      body: JSON.stringify({ name: toBase64(concatBytes(c.prefix, toBytes(name))) }),
      headers: { "content-type": "application/json" },
      signal: abort.signal,
    });
    if (!res.ok || !res.body) throw new EtcdError(`observe: HTTP ${res.status} ${await res.text()}`, { code: GrpcCode.Unavailable, httpStatus: res.status });
    for await (const raw of lines(res.body)) {
      const line = raw.trim();
      if (!line) continue;
      const m = JSON.parse(line) as { result?: { header?: RawHeader; kv?: RawKv }; error?: { message?: string; grpc_code?: number; code?: number } };
      if (m.error) throw new EtcdError(m.error.message ?? "observe failed", { code: m.error.grpc_code ?? m.error.code ?? GrpcCode.Unknown });
      if (m.result?.kv) yield decodeKv(m.result.kv, c.prefix);
    }
  } catch (e) {
    if (abort.signal.aborted) return;
    throw e;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    abort.abort();
  }
}
