// etcd's v3lock and v3election messages (v3lockpb, v3electionpb) as etcdo's internal values.
import type { KeyValue, ResponseHeader } from "../types.ts";

export interface LockRequest {
  name: Uint8Array;
  lease: bigint;
}
export interface LockResponse {
  header?: ResponseHeader;
  key: Uint8Array;
}
export interface UnlockRequest {
  key: Uint8Array;
}
export interface UnlockResponse {
  header?: ResponseHeader;
}

export interface LeaderKey {
  name: Uint8Array;
  key: Uint8Array;
  rev: number;
  lease: bigint;
}
export interface CampaignRequest {
  name: Uint8Array;
  lease: bigint;
  value: Uint8Array;
}
export interface CampaignResponse {
  header?: ResponseHeader;
  leader?: LeaderKey;
}
export interface ProclaimRequest {
  leader?: LeaderKey;
  value: Uint8Array;
}
export interface ProclaimResponse {
  header?: ResponseHeader;
}
export interface LeaderRequest {
  name: Uint8Array;
}
export interface LeaderResponse {
  header?: ResponseHeader;
  kv?: KeyValue;
}
export interface ResignRequest {
  leader?: LeaderKey;
}
export interface ResignResponse {
  header?: ResponseHeader;
}

export type ConcurrencyRpc = "Lock" | "Unlock" | "Campaign" | "Proclaim" | "Leader" | "Resign";
