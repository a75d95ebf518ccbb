// ReadOnly: the leader's queue of ReadIndex requests waiting for a quorum to confirm that it
// is still the leader. Reads are numbered by their position in the queue; a heartbeat carries
// the position of the newest unconfirmed read, and an acknowledgement of that heartbeat from
// a quorum confirms every read up to that position (the heartbeat was sent after they were
// queued, so the leader was still the leader when they arrived).

import { jointCommittedIndex, type JointConfig } from "./quorum.ts";
import type { Message, NodeId } from "./types.ts";

export type ReadOnlyOption = "safe" | "leaseBased";

export interface ReadIndexRequest {
  req: Message;
  /** The leader's commit index when the request arrived: the read index. */
  index: number;
}

export class ReadOnly {
  readonly option: ReadOnlyOption;
  /** Highest read position acknowledged by each node. */
  #acks = new Map<NodeId, number>();
  #unconfirmed: ReadIndexRequest[] = [];
  /** Number of reads confirmed so far (removed from the front of #unconfirmed). */
  #confirmed = 0;

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  addRequest(commitIndex: number, req: Message): void {
    this.#unconfirmed.push({ req, index: commitIndex });
  }

  recvAck(from: NodeId, ctx: Uint8Array | null): void {
    const pos = decodePosition(ctx);
    if (pos > 0) this.#acks.set(from, Math.max(this.#acks.get(from) ?? 0, pos));
  }

  /** Confirms and returns the reads that a quorum of `voters` has now acknowledged. */
  maybeAdvance(voters: JointConfig): ReadIndexRequest[] {
    const n = jointCommittedIndex(voters, (id) => this.#acks.get(id));
    if (n <= this.#confirmed) return [];
    const count = Math.min(n, this.#confirmed + this.#unconfirmed.length) - this.#confirmed;
    const done = this.#unconfirmed.splice(0, count);
    this.#confirmed += count;
    return done;
  }

  /** The context a heartbeat must carry to confirm every queued read (null if none). */
  heartbeatCtx(): Uint8Array | null {
    if (this.#unconfirmed.length === 0) return null;
    return encodePosition(this.#confirmed + this.#unconfirmed.length);
  }

  pendingCount(): number {
    return this.#unconfirmed.length;
  }
}

function encodePosition(pos: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, pos % 4294967296, true);
  v.setUint32(4, Math.floor(pos / 4294967296), true);
  return b;
}

function decodePosition(ctx: Uint8Array | null): number {
  if (!ctx || ctx.length !== 8) return 0;
  const v = new DataView(ctx.buffer, ctx.byteOffset, 8);
  return v.getUint32(0, true) + v.getUint32(4, true) * 4294967296;
}
