// Lease service over the JSON gateway: grant, revoke, time-to-live, list, and one keepalive
// round trip. Automatic keepalive (a handle with a `lost` signal) builds on keepAliveOnce.

import { EtcdError, ErrorMessage, GrpcCode } from "./errors.ts";
import type { Conn } from "./kv.ts";
import type { CallOptions } from "./transport.ts";
import { type LeaseId, type LeaseIdLike, type RawHeader, type ResponseHeader, decodeHeader, fromBase64Key, id64, leaseIdString, num } from "./types.ts";

export interface GrantResult {
  header: ResponseHeader;
  id: LeaseId;
  /** The TTL the server chose, in seconds (at least the cluster's minimum TTL). */
  ttl: number;
}

export interface GrantOptions {
  /** Ask for this lease ID instead of letting the server pick one. */
  id?: LeaseIdLike;
}

export async function grant(c: Conn, ttl: number, o: GrantOptions & CallOptions = {}): Promise<GrantResult> {
  const req: Record<string, unknown> = { TTL: String(Math.trunc(ttl)) };
  if (o.id !== undefined && leaseIdString(o.id) !== "0") req.ID = leaseIdString(o.id);
  const raw = await c.transport.request<{ header?: RawHeader; ID?: string; TTL?: string; error?: string }>("/v3/lease/grant", req, o);
  if (raw.error) throw new EtcdError(raw.error, { code: GrpcCode.Unknown, httpStatus: 200 });
  return { header: decodeHeader(raw.header), id: id64(raw.ID), ttl: num(raw.TTL) };
}

export async function revoke(c: Conn, id: LeaseIdLike, o: CallOptions = {}): Promise<{ header: ResponseHeader }> {
  const raw = await c.transport.request<{ header?: RawHeader }>("/v3/lease/revoke", { ID: leaseIdString(id) }, o);
  return { header: decodeHeader(raw.header) };
}

export interface TimeToLiveResult {
  header: ResponseHeader;
  id: LeaseId;
  /** Remaining seconds; -1 when the lease does not exist (or has expired). */
  ttl: number;
  grantedTtl: number;
  /** Attached keys (namespace removed), when asked for with `keys: true`. */
  keys: Uint8Array[];
}

export async function timeToLive(c: Conn, id: LeaseIdLike, o: { keys?: boolean } & CallOptions = {}): Promise<TimeToLiveResult> {
  const req: Record<string, unknown> = { ID: leaseIdString(id) };
  if (o.keys) req.keys = true;
  const raw = await c.transport.request<{ header?: RawHeader; ID?: string; TTL?: string; grantedTTL?: string; keys?: string[] }>("/v3/lease/timetolive", req, {
    ...o,
    idempotent: true,
  });
  return {
    header: decodeHeader(raw.header),
    id: id64(raw.ID),
    ttl: num(raw.TTL),
    grantedTtl: num(raw.grantedTTL),
    keys: (raw.keys ?? []).map((k) => fromBase64Key(k, c.prefix)),
  };
}

export interface LeasesResult {
  header: ResponseHeader;
  leases: LeaseId[];
}

export async function leases(c: Conn, o: CallOptions = {}): Promise<LeasesResult> {
  const raw = await c.transport.request<{ header?: RawHeader; leases?: { ID?: string }[] }>("/v3/lease/leases", {}, { ...o, idempotent: true });
  return { header: decodeHeader(raw.header), leases: (raw.leases ?? []).map((l) => id64(l.ID)) };
}

export interface KeepAliveResult {
  header: ResponseHeader;
  id: LeaseId;
  /** The renewed TTL in seconds. */
  ttl: number;
}

/**
 * Renews a lease once. Like clientv3's KeepAliveOnce, an expired or unknown lease (the server
 * answers TTL 0) is reported as `etcdserver: requested lease not found`.
 */
export async function keepAliveOnce(c: Conn, id: LeaseIdLike, o: CallOptions = {}): Promise<KeepAliveResult> {
  const raw = await c.transport.request<{ header?: RawHeader; ID?: string; TTL?: string }>("/v3/lease/keepalive", { ID: leaseIdString(id) }, {
    ...o,
    idempotent: true,
    firstStreamMessage: true,
  });
  const ttl = num(raw.TTL);
  if (ttl <= 0) throw new EtcdError(ErrorMessage.LeaseNotFound, { code: GrpcCode.NotFound, httpStatus: 200 });
  return { header: decodeHeader(raw.header), id: id64(raw.ID), ttl };
}
