// Inflights: the bounded window of MsgApp messages sent to one follower and not yet
// acknowledged (pipelining). Each element is the last index carried by a message.

import { assert } from "./errors.ts";

export class Inflights {
  /** Ring buffer: buffer[(start + i) % size] for i < count. */
  #start = 0;
  #count = 0;
  #bytes = 0;
  readonly size: number;
  readonly maxBytes: number;
  #index: number[] = [];
  #sizes: number[] = [];

  /** size: max messages in flight; maxBytes: max bytes in flight (0 = no byte limit; the
   * limit is soft: one message may take it from below to above). */
  constructor(size: number, maxBytes: number) {
    this.size = size;
    this.maxBytes = maxBytes;
  }

  /** Records a message whose last entry is index. Indexes must be added in increasing order. */
  add(index: number, bytes: number): void {
    assert(!this.full(), "cannot add into a full inflights");
    let next = this.#start + this.#count;
    if (next >= this.size) next -= this.size;
    this.#index[next] = index;
    this.#sizes[next] = bytes;
    this.#count++;
    this.#bytes += bytes;
  }

  /** Frees every message whose last index is <= to. */
  freeLE(to: number): void {
    if (this.#count === 0 || to < this.#index[this.#start]!) return;
    let idx = this.#start;
    let i = 0;
    let bytes = 0;
    for (; i < this.#count; i++) {
      if (to < this.#index[idx]!) break;
      bytes += this.#sizes[idx]!;
      if (++idx >= this.size) idx -= this.size;
    }
    this.#count -= i;
    this.#bytes -= bytes;
    this.#start = this.#count === 0 ? 0 : idx;
  }

  full(): boolean {
    return this.#count === this.size || (this.maxBytes !== 0 && this.#bytes >= this.maxBytes);
  }

  count(): number {
    return this.#count;
  }

  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
