// etcdctl 3.4's printers (simple, json, table) over the client's decoded results. The JSON
// printer reproduces Go's json.Marshal of the structs etcdctl prints: the proto structs'
// snake_case tags with omitempty, int64s as numbers, bytes as base64, and clientv3's own
// lease structs with their header fields inlined.

import { toBase64 } from "../src/bytes.ts";
import type { DeleteResult, PutResult, RangeResult, ResponseOp, TxnResult } from "../src/kv.ts";
import type { GrantResult, KeepAliveResult, LeasesResult, TimeToLiveResult } from "../src/lease.ts";
import type { Alarm, Member, StatusResult } from "../src/maintenance.ts";
import type { WatchResponse } from "../src/watch.ts";
import { type KeyValue, type ResponseHeader, leaseIdToHex } from "../src/types.ts";
import { Raw, goJson, goQuote, goQuoteBytes, goStringSlice, humanizeBytes, renderTable } from "./gofmt.ts";

export type Format = "simple" | "json" | "table" | "fields" | "protobuf";

export class UnsupportedFormat extends Error {}

export interface Out {
  /** Bytes are written as they are (keys and values need not be UTF-8). */
  out(s: string | Uint8Array): void;
  err(s: string): void;
}

// ---------------------------------------------------------------- JSON shapes

const big = (id: string) => (id === "0" ? undefined : new Raw(id));
const nz = (n: number) => (n === 0 ? undefined : n);
const nzb = (b: boolean) => (b ? true : undefined);
const nzBytes = (b: Uint8Array) => (b.length === 0 ? undefined : toBase64(b));

function headerFields(h: ResponseHeader) {
  return { cluster_id: big(h.clusterId), member_id: big(h.memberId), revision: nz(h.revision), raft_term: nz(h.raftTerm) };
}

function kvJson(kv: KeyValue) {
  return {
    key: nzBytes(kv.key),
    create_revision: nz(kv.createRevision),
    mod_revision: nz(kv.modRevision),
    version: nz(kv.version),
    value: nzBytes(kv.value),
    lease: big(kv.lease),
  };
}

/** Go's %16x: hex, space-padded to 16. */
const hex16 = (id: string) => BigInt.asUintN(64, BigInt(id)).toString(16).padStart(16, " ");
const memberJson = (m: Member) => ({
  ID: big(m.id),
  name: m.name || undefined,
  peerURLs: m.peerURLs.length ? m.peerURLs : undefined,
  clientURLs: m.clientURLs.length ? m.clientURLs : undefined,
  isLearner: nzb(m.isLearner),
});

const kvsJson = (kvs: KeyValue[]) => (kvs.length === 0 ? undefined : kvs.map(kvJson));

export function rangeJson(r: RangeResult) {
  return { header: headerFields(r.header), kvs: kvsJson(r.kvs), more: nzb(r.more), count: nz(r.count) };
}
export function putJson(r: PutResult) {
  return { header: headerFields(r.header), prev_kv: r.prevKv ? kvJson(r.prevKv) : undefined };
}
export function deleteJson(r: DeleteResult) {
  return { header: headerFields(r.header), deleted: nz(r.deleted), prev_kvs: kvsJson(r.prevKvs) };
}
function responseOpJson(r: ResponseOp): unknown {
  switch (r.type) {
    case "range":
      return { Response: { ResponseRange: rangeJson(r.range) } };
    case "put":
      return { Response: { ResponsePut: putJson(r.put) } };
    case "delete":
      return { Response: { ResponseDeleteRange: deleteJson(r.delete) } };
    case "txn":
      return { Response: { ResponseTxn: txnJson(r.txn) } };
  }
}
export function txnJson(r: TxnResult): unknown {
  return { header: headerFields(r.header), succeeded: nzb(r.succeeded), responses: r.responses.length ? r.responses.map(responseOpJson) : undefined };
}

// ---------------------------------------------------------------- simple

function hexEscape(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += `\\x${x.toString(16).padStart(2, "0")}`;
  return s;
}

export interface SimpleOpts {
  hex: boolean;
  valueOnly: boolean;
}

function withNewline(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  out[b.length] = 10;
  return out;
}

function latin(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

export class Printer {
  readonly format: Format;
  private readonly o: Out;
  readonly simple: SimpleOpts;

  constructor(format: Format, o: Out, simple: SimpleOpts) {
    this.format = format;
    this.o = o;
    this.simple = simple;
  }

  private line(s: string): void {
    this.o.out(`${s}\n`);
  }

  private json(v: unknown): void {
    this.line(goJson(v));
  }

  /** The formats etcdctl's printerRPC handles for the KV and lease verbs. */
  private rpc(v: () => unknown, fields?: () => void): boolean {
    if (this.format === "json") {
      this.json(v());
      return true;
    }
    if (this.format === "fields" && fields) {
      fields();
      return true;
    }
    if (this.format === "simple") return false;
    throw new UnsupportedFormat(`${this.format} not supported as output format`);
  }

  // etcdctl's "fields" printer: one `"Name" : value` line per field.
  private f(name: string, v: string | number | boolean): void {
    this.line(`"${name}" : ${v}`);
  }
  private fHdr(h: ResponseHeader): void {
    this.f("ClusterID", h.clusterId);
    this.f("MemberID", h.memberId);
    this.f("Revision", h.revision);
    this.f("RaftTerm", h.raftTerm);
  }
  private fKv(pfx: string, kv: KeyValue): void {
    this.f(`${pfx}Key`, goQuoteBytes(kv.key));
    this.f(`${pfx}CreateRevision`, kv.createRevision);
    this.f(`${pfx}ModRevision`, kv.modRevision);
    this.f(`${pfx}Version`, kv.version);
    this.f(`${pfx}Value`, goQuoteBytes(kv.value));
    this.f(`${pfx}Lease`, kv.lease);
  }
  private fGet(r: RangeResult): void {
    this.fHdr(r.header);
    for (const kv of r.kvs) this.fKv("", kv);
    this.f("More", r.more);
    this.f("Count", r.count);
  }
  private fPut(r: PutResult): void {
    this.fHdr(r.header);
    if (r.prevKv) this.fKv("Prev", r.prevKv);
  }
  private fDel(r: DeleteResult): void {
    this.fHdr(r.header);
    this.f("Deleted", r.deleted);
    for (const kv of r.prevKvs) this.fKv("Prev", kv);
  }
  private fTxn(r: TxnResult): void {
    this.fHdr(r.header);
    this.f("Succeeded", r.succeeded);
    for (const op of r.responses) {
      if (op.type === "range") this.fGet(op.range);
      else if (op.type === "put") this.fPut(op.put);
      else if (op.type === "delete") this.fDel(op.delete);
      else this.fTxn(op.txn);
    }
  }

  private kv(kv: KeyValue): void {
    const show = (b: Uint8Array) => (this.simple.hex ? this.line(hexEscape(b)) : this.o.out(withNewline(b)));
    if (!this.simple.valueOnly) show(kv.key);
    show(kv.value);
  }

  get(r: RangeResult): void {
    if (this.rpc(() => rangeJson(r), () => this.fGet(r))) return;
    for (const kv of r.kvs) this.kv(kv);
  }

  put(r: PutResult): void {
    if (this.rpc(() => putJson(r), () => this.fPut(r))) return;
    this.line("OK");
    if (r.prevKv) this.kv(r.prevKv);
  }

  del(r: DeleteResult): void {
    if (this.rpc(() => deleteJson(r), () => this.fDel(r))) return;
    this.line(String(r.deleted));
    for (const kv of r.prevKvs) this.kv(kv);
  }

  txn(r: TxnResult): void {
    if (this.rpc(() => txnJson(r), () => this.fTxn(r))) return;
    this.line(r.succeeded ? "SUCCESS" : "FAILURE");
    for (const op of r.responses) {
      this.line("");
      if (op.type === "range") this.get(op.range);
      else if (op.type === "put") this.put(op.put);
      else if (op.type === "delete") this.del(op.delete);
      else this.txn(op.txn);
    }
  }

  grant(r: GrantResult): void {
    const fields = () => {
      this.fHdr(r.header);
      this.f("ID", r.id);
      this.f("TTL", r.ttl);
    };
    if (this.rpc(() => ({ ...headerFields(r.header), ID: new Raw(r.id), TTL: r.ttl, Error: "" }), fields)) return;
    this.line(`lease ${leaseIdToHex(r.id)} granted with TTL(${r.ttl}s)`);
  }

  revoke(id: string, r: { header: ResponseHeader }): void {
    if (this.rpc(() => ({ header: headerFields(r.header) }), () => this.fHdr(r.header))) return;
    this.line(`lease ${leaseIdToHex(id)} revoked`);
  }

  keepAlive(r: KeepAliveResult): void {
    const fields = () => {
      this.fHdr(r.header);
      this.f("ID", r.id);
      this.f("TTL", r.ttl);
    };
    if (this.rpc(() => ({ ...headerFields(r.header), ID: new Raw(r.id), TTL: r.ttl }), fields)) return;
    this.line(`lease ${leaseIdToHex(r.id)} keepalived with TTL(${r.ttl})`);
  }

  timeToLive(r: TimeToLiveResult, keys: boolean): void {
    const json = () => ({
      ...headerFields(r.header),
      id: new Raw(r.id),
      ttl: r.ttl,
      "granted-ttl": r.grantedTtl,
      keys: r.keys.length ? r.keys.map(toBase64) : null,
    });
    const fields = () => {
      this.fHdr(r.header);
      this.f("ID", r.id);
      this.f("TTL", r.ttl);
      this.f("GrantedTTL", r.grantedTtl);
      for (const k of r.keys) this.f("Key", goQuoteBytes(k));
    };
    if (this.rpc(json, fields)) return;
    if (r.grantedTtl === 0 && r.ttl === -1) {
      this.line(`lease ${leaseIdToHex(r.id)} already expired`);
      return;
    }
    let txt = `lease ${leaseIdToHex(r.id)} granted with TTL(${r.grantedTtl}s), remaining(${r.ttl}s)`;
    if (keys) txt += `, attached keys(${goStringSlice(r.keys.map(latin))})`;
    this.line(txt);
  }

  leases(r: LeasesResult): void {
    const fields = () => {
      this.fHdr(r.header);
      for (const id of r.leases) this.f("ID", id);
    };
    if (this.rpc(() => ({ ...headerFields(r.header), leases: r.leases.map((id) => ({ id: new Raw(id) })) }), fields)) return;
    this.line(`found ${r.leases.length} leases`);
    for (const id of r.leases) this.line(leaseIdToHex(id));
  }

  memberList(r: { header: ResponseHeader; members: Member[] }): void {
    const hdr = ["ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"];
    const rows = r.members.map((m) => [
      BigInt(m.id).toString(16),
      m.name.length === 0 ? "unstarted" : "started",
      m.name,
      m.peerURLs.join(","),
      m.clientURLs.join(","),
      String(m.isLearner),
    ]);
    if (this.format === "table") {
      this.o.out(renderTable(hdr, rows));
      return;
    }
    const json = () => ({
      header: headerFields(r.header),
      members: r.members.length
        ? r.members.map((m) => ({
            ID: big(m.id),
            name: m.name || undefined,
            peerURLs: m.peerURLs.length ? m.peerURLs : undefined,
            clientURLs: m.clientURLs.length ? m.clientURLs : undefined,
            isLearner: nzb(m.isLearner),
          }))
        : undefined,
    });
    const fields = () => {
      this.fHdr(r.header);
      for (const m of r.members) {
        this.f("ID", m.id);
        this.f("Name", goQuoteBytes(new TextEncoder().encode(m.name)));
        for (const u of m.peerURLs) this.f("PeerURL", goQuoteBytes(new TextEncoder().encode(u)));
        for (const u of m.clientURLs) this.f("ClientURL", goQuoteBytes(new TextEncoder().encode(u)));
        this.f("IsLearner", m.isLearner);
        this.line("");
      }
    };
    if (this.rpc(json, fields)) return;
    for (const row of rows) this.line(row.join(", "));
  }

  /** One watch response: etcdctl's printWatchCh through its printer. */
  watch(r: WatchResponse, compactRevision = 0): void {
    if (this.format === "json") {
      const events = r.events.map((e) => ({ type: e.type === "delete" ? 1 : undefined, kv: kvJson(e.kv), prev_kv: e.prevKv ? kvJson(e.prevKv) : undefined }));
      // Canceled and progress responses have an empty (not nil) event list.
      const canceled = compactRevision > 0;
      this.json({ Header: headerFields(r.header), Events: events.length || canceled || r.progress ? events : null, CompactRevision: compactRevision, Canceled: canceled, Created: false });
      return;
    }
    if (this.format === "fields") {
      this.fHdr(r.header);
      for (const e of r.events) {
        this.line(`"Type" : ${e.type === "delete" ? "DELETE" : "PUT"}`);
        if (e.prevKv) this.fKv("Prev", e.prevKv);
        this.fKv("", e.kv);
      }
      return;
    }
    if (this.format !== "simple") throw new UnsupportedFormat(`${this.format} not supported as output format`);
    for (const e of r.events) {
      this.line(e.type === "delete" ? "DELETE" : "PUT");
      if (e.prevKv) this.kv(e.prevKv);
      this.kv(e.kv);
    }
  }

  /** A key and value as `get` prints them (lock and elect show their key this way). */
  keyValue(kv: KeyValue): void {
    this.kv(kv);
  }

  memberChange(verb: "removed from" | "promoted in", id: string, r: { header: ResponseHeader; members: Member[] }): void {
    if (this.rpc(() => ({ header: headerFields(r.header), members: r.members.length ? r.members.map(memberJson) : undefined }))) return;
    this.line(`Member ${hex16(id)} ${verb} cluster ${hex16(r.header.clusterId)}`);
  }

  memberAdd(name: string, peerURLs: string[], r: { header: ResponseHeader; member: Member; members: Member[] }): void {
    const json = () => ({ header: headerFields(r.header), member: memberJson(r.member), members: r.members.length ? r.members.map(memberJson) : undefined });
    if (this.rpc(json)) return;
    this.line(`Member ${hex16(r.member.id)} added to cluster ${hex16(r.header.clusterId)}`);
    const conf: string[] = [];
    for (const m of r.members) for (const u of m.peerURLs) conf.push(`${m.id === r.member.id ? name : m.name}=${u}`);
    this.line("");
    this.line(`ETCD_NAME=${goQuote(name)}`);
    this.line(`ETCD_INITIAL_CLUSTER=${goQuote(conf.join(","))}`);
    this.line(`ETCD_INITIAL_ADVERTISE_PEER_URLS=${goQuote(peerURLs.join(","))}`);
    this.line(`ETCD_INITIAL_CLUSTER_STATE="existing"`);
  }

  alarms(r: { header: ResponseHeader; alarms: Alarm[] }): void {
    // etcdctl 3.4 prints an alarm answer without its header.
    const json = () => ({ alarms: r.alarms.length ? r.alarms.map((a) => ({ memberID: big(a.memberId), alarm: a.alarm === "NOSPACE" ? 1 : a.alarm === "CORRUPT" ? 2 : undefined })) : undefined });
    if (this.rpc(json)) return;
    for (const a of r.alarms) this.line(`memberID:${a.memberId} alarm:${a.alarm} `);
  }

  endpointStatus(list: { ep: string; resp: StatusResult }[]): void {
    const hdr = ["endpoint", "ID", "version", "db size", "is leader", "is learner", "raft term", "raft index", "raft applied index", "errors"];
    const rows = list.map(({ ep, resp: s }) => [
      ep,
      BigInt(s.header.memberId).toString(16),
      s.version,
      humanizeBytes(s.dbSize),
      String(s.leader === s.header.memberId),
      String(s.isLearner),
      String(s.raftTerm),
      String(s.raftIndex),
      String(s.raftAppliedIndex),
      s.errors.join(", "),
    ]);
    if (this.format === "table") return this.o.out(renderTable(hdr, rows));
    if (this.format === "json") {
      return this.json(
        list.map(({ ep, resp: s }) => ({
          Endpoint: ep,
          Status: {
            header: headerFields(s.header),
            version: s.version || undefined,
            dbSize: nz(s.dbSize),
            leader: big(s.leader),
            raftIndex: nz(s.raftIndex),
            raftTerm: nz(s.raftTerm),
            raftAppliedIndex: nz(s.raftAppliedIndex),
            errors: s.errors.length ? s.errors : undefined,
            dbSizeInUse: nz(s.dbSizeInUse),
            isLearner: nzb(s.isLearner),
          },
        })),
      );
    }
    if (this.format === "fields") {
      for (const { ep, resp: st } of list) {
        this.fHdr(st.header);
        this.f("Version", goQuote(st.version));
        this.f("DBSize", st.dbSize);
        this.f("Leader", st.leader);
        this.f("IsLearner", st.isLearner);
        this.f("RaftIndex", st.raftIndex);
        this.f("RaftTerm", st.raftTerm);
        this.f("RaftAppliedIndex", st.raftAppliedIndex);
        this.f("Errors", goStringSlice(st.errors));
        this.f("Endpoint", goQuote(ep));
        this.line("");
      }
      return;
    }
    if (this.format !== "simple") throw new UnsupportedFormat(`${this.format} not supported as output format`);
    for (const row of rows) this.line(row.join(", "));
  }

  endpointHealth(list: { ep: string; health: boolean; took: string; error: string }[]): void {
    if (this.format === "table") {
      return this.o.out(renderTable(["endpoint", "health", "took", "error"], list.map((h) => [h.ep, String(h.health), h.took, h.error])));
    }
    if (this.format === "json") return this.json(list.map((h) => ({ endpoint: h.ep, health: h.health, took: h.took, error: h.error || undefined })));
    if (this.format === "fields") {
      for (const h of list) {
        this.f("Endpoint", goQuote(h.ep));
        this.f("Health", h.health);
        this.f("Took", h.took);
        this.f("Error", h.error);
        this.line("");
      }
      return;
    }
    if (this.format !== "simple") throw new UnsupportedFormat(`${this.format} not supported as output format`);
    for (const h of list) {
      if (h.error === "") this.o.err(`${h.ep} is healthy: successfully committed proposal: took = ${h.took}\n`);
      else this.o.err(`${h.ep} is unhealthy: failed to commit proposal: ${h.error}\n`);
    }
  }
}
