// The convenience client: one object with etcd's KV, lease, cluster and maintenance calls.
// Each method is a thin wrapper over the tree-shakeable functions in kv.ts, lease.ts and
// maintenance.ts, which can also be used directly with a Conn.

import { type Bytes, EMPTY, concatBytes, toBytes } from "./bytes.ts";
import * as kv from "./kv.ts";
import * as lease from "./lease.ts";
import * as mt from "./maintenance.ts";
import * as ka from "./keepalive.ts";
import * as lk from "./lock.ts";
import * as el from "./election.ts";
import * as sm from "./stm.ts";
import { type StreamHub, closeHub } from "./stream.ts";
import * as w from "./watch.ts";
import { type CallOptions, type RequestOptions, Transport, type TransportOptions } from "./transport.ts";
import type { KeyValue, LeaseIdLike } from "./types.ts";

export interface EtcdOptions extends TransportOptions {
  /** Key prefix applied to every key (clientv3's namespace.NewKV). */
  namespace?: Bytes;
  /** Authenticate with these credentials and send the token on every request. */
  auth?: { username: string; password: string };
}

type GetOptions = Omit<kv.RangeOptions, "countOnly"> & CallOptions;
type EndpointOptions = Pick<RequestOptions, "signal" | "timeout" | "endpoint">;

export class Etcd {
  readonly conn: kv.Conn;

  constructor(opts: EtcdOptions | kv.Conn = {}) {
    if ("transport" in opts && opts.transport instanceof Transport) {
      this.conn = opts;
      return;
    }
    const o = opts as EtcdOptions;
    let token = o.token;
    let onInvalidToken = o.onInvalidToken;
    if (o.auth) {
      const { username, password } = o.auth;
      const plain = new Transport({ ...o, token: undefined });
      let cached: Promise<string> | undefined;
      const fetchToken = () => (cached ??= mt.authenticate({ transport: plain, prefix: EMPTY }, username, password).then((r) => r.token));
      token = async () => {
        try {
          return await fetchToken();
        } catch (e) {
          cached = undefined;
          throw e;
        }
      };
      onInvalidToken = async () => {
        cached = undefined;
        return true;
      };
    }
    this.conn = { transport: new Transport({ ...o, token, onInvalidToken }), prefix: o.namespace === undefined ? EMPTY : toBytes(o.namespace) };
  }

  /** A client whose keys all live under `prefix` (nested namespaces concatenate). */
  namespace(prefix: Bytes): Etcd {
    return new Etcd({ transport: this.conn.transport, prefix: concatBytes(this.conn.prefix, toBytes(prefix)) });
  }

  // ------------------------------------------------------------------ KV

  /** The key's current (or `revision`'s) KeyValue, or null. */
  async get(key: Bytes, o: GetOptions = {}): Promise<KeyValue | null> {
    const r = await kv.range(this.conn, key, o);
    return r.kvs[0] ?? null;
  }

  async getString(key: Bytes, o: GetOptions = {}): Promise<string | null> {
    return (await this.get(key, o))?.valueString ?? null;
  }

  async getBytes(key: Bytes, o: GetOptions = {}): Promise<Uint8Array | null> {
    return (await this.get(key, o))?.value ?? null;
  }

  async getJson<T = unknown>(key: Bytes, o: GetOptions = {}): Promise<T | null> {
    const r = await this.get(key, o);
    return r ? r.json<T>() : null;
  }

  /** Every key with this prefix ("" = the whole keyspace or namespace). */
  getPrefix(prefix: Bytes, o: Omit<kv.RangeOptions, "prefix" | "fromKey" | "rangeEnd"> & CallOptions = {}): Promise<kv.RangeResult> {
    return kv.range(this.conn, prefix, { ...o, prefix: true });
  }

  /** The full Range call: key, range options, sorting, limits, revision filters. */
  range(key: Bytes, o: kv.RangeOptions & CallOptions = {}): Promise<kv.RangeResult> {
    return kv.range(this.conn, key, o);
  }

  async count(key: Bytes, o: kv.KeyRangeOptions & { revision?: number; serializable?: boolean } & CallOptions = {}): Promise<number> {
    return (await kv.range(this.conn, key, { ...o, countOnly: true })).count;
  }

  put(key: Bytes, value: Bytes, o: kv.PutOptions & CallOptions = {}): Promise<kv.PutResult> {
    return kv.put(this.conn, key, value, o);
  }

  putJson(key: Bytes, value: unknown, o: kv.PutOptions & CallOptions = {}): Promise<kv.PutResult> {
    return kv.put(this.conn, key, JSON.stringify(value), o);
  }

  delete(key: Bytes, o: kv.DeleteOptions & CallOptions = {}): Promise<kv.DeleteResult> {
    return kv.deleteRange(this.conn, key, o);
  }

  deletePrefix(prefix: Bytes, o: { prevKv?: boolean } & CallOptions = {}): Promise<kv.DeleteResult> {
    return kv.deleteRange(this.conn, prefix, { ...o, prefix: true });
  }

  /** `client.txn().if(compare...).then(op...).else(op...).commit()`. */
  txn(): kv.TxnBuilder {
    return new kv.TxnBuilder(this.conn);
  }

  compact(revision: number, o: kv.CompactOptions & CallOptions = {}): Promise<{ header: kv.RangeResult["header"] }> {
    return kv.compact(this.conn, revision, o);
  }

  // ------------------------------------------------------------------ watch

  /**
   * Watches a key, a prefix or a range. Iterate it (`for await (const r of watch)`), or pass
   * `onEvents` / `onProgress` / `onError`. All watches of a client share one stream, which
   * reconnects by itself and resumes every watch after the last revision it delivered.
   */
  watch(key: Bytes, o: w.WatchOptions = {}): w.Watch {
    return w.watch(this.conn, key, o);
  }

  /** The shared stream under watches and keepalives: state, kind, reconnects. */
  get stream(): StreamHub {
    return w.watchStream(this.conn);
  }

  // ------------------------------------------------------------------ leases

  grant(ttlSeconds: number, o: lease.GrantOptions & CallOptions = {}): Promise<lease.GrantResult> {
    return lease.grant(this.conn, ttlSeconds, o);
  }

  revoke(id: LeaseIdLike, o: CallOptions = {}): Promise<{ header: kv.RangeResult["header"] }> {
    return lease.revoke(this.conn, id, o);
  }

  timeToLive(id: LeaseIdLike, o: { keys?: boolean } & CallOptions = {}): Promise<lease.TimeToLiveResult> {
    return lease.timeToLive(this.conn, id, o);
  }

  leases(o: CallOptions = {}): Promise<lease.LeasesResult> {
    return lease.leases(this.conn, o);
  }

  keepAliveOnce(id: LeaseIdLike, o: CallOptions = {}): Promise<lease.KeepAliveResult> {
    return lease.keepAliveOnce(this.conn, id, o);
  }

  /** Grants a lease and keeps it alive until `close()` / `revoke()`; `lost` aborts if it is lost. */
  lease(ttlSeconds: number, o: ka.KeepAliveOptions & CallOptions & { id?: LeaseIdLike } = {}): Promise<ka.LeaseKeeper> {
    return ka.lease(this.conn, ttlSeconds, o);
  }

  /** Keeps an existing lease alive (over the multiplexed socket on etcdo). */
  keepAlive(id: LeaseIdLike, o: ka.KeepAliveOptions = {}): ka.LeaseKeeper {
    return ka.keepAlive(this.conn, id, o);
  }

  // ------------------------------------------------------------------ concurrency

  /** Waits for the lock `name`; the held lock has its key, fencing revision, `lost` and `unlock()`. */
  lock(name: Bytes, o: lk.LockOptions = {}): Promise<lk.HeldLock> {
    return lk.lock(this.conn, name, o);
  }

  /** Waits until this client leads the election `name` with `value`. */
  campaign(name: Bytes, value: Bytes, o: el.CampaignOptions = {}): Promise<el.Leadership> {
    return el.campaign(this.conn, name, value, o);
  }

  /** The election's current leader (key and value), or null. */
  leader(name: Bytes, o: CallOptions = {}): Promise<KeyValue | null> {
    return el.leader(this.conn, name, o);
  }

  /** The election's leaders as they change, the current one first. */
  observe(name: Bytes, o: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue> {
    return el.observe(this.conn, name, o);
  }

  /** Runs `apply` as a software transaction (clientv3/concurrency STM) until it commits. */
  stm(apply: (s: sm.Stm) => Promise<void> | void, o: sm.StmOptions = {}): Promise<kv.TxnResult> {
    return sm.stm(this.conn, apply, o);
  }

  // ------------------------------------------------------------------ cluster / maintenance

  status(o: EndpointOptions = {}): Promise<mt.StatusResult> {
    return mt.status(this.conn, o);
  }

  health(o: EndpointOptions = {}): Promise<mt.HealthResult> {
    return mt.health(this.conn, o);
  }

  memberList(o: EndpointOptions = {}): Promise<{ header: kv.RangeResult["header"]; members: mt.Member[] }> {
    return mt.memberList(this.conn, o);
  }

  version(o: EndpointOptions = {}): Promise<{ etcdserver: string; etcdcluster: string }> {
    return mt.version(this.conn, o);
  }

  authenticate(name: string, password: string, o: EndpointOptions = {}): Promise<{ header: kv.RangeResult["header"]; token: string }> {
    return mt.authenticate(this.conn, name, password, o);
  }

  get endpoints(): readonly string[] {
    return this.conn.transport.endpoints;
  }

  /** Closes the client's stream: watches and keepalives stop (unary calls hold nothing). */
  close(): void {
    closeHub(this.conn.transport);
  }
}
