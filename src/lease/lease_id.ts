// Lease IDs chosen by the member before proposing a grant, like etcd's idutil.Generator:
// | 2 bytes: low 16 bits of the member ID | 5 bytes: milliseconds at start | 1 byte: counter |
// incremented per ID (the counter may carry into the timestamp, as in etcd), then masked
// to a positive int63. Never returns 0.
const SUFFIX_BITS = 48n;
const SUFFIX_MASK = (1n << SUFFIX_BITS) - 1n;
const TS_MASK = (1n << 40n) - 1n;
const INT63_MASK = (1n << 63n) - 1n;

export class LeaseIdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  /** memberId: this member's ID; startMs: the injected wall clock at start, in ms. */
  constructor(memberId: bigint, startMs: number) {
    this.prefix = (memberId & 0xffffn) << SUFFIX_BITS;
    this.suffix = (BigInt(Math.floor(startMs)) & TS_MASK) << 8n;
  }

  /** The next ID (etcd's reqIDGen.Next() & (1<<63 - 1), skipping 0). */
  next(): bigint {
    for (;;) {
      this.suffix = (this.suffix + 1n) & SUFFIX_MASK;
      const id = (this.prefix | this.suffix) & INT63_MASK;
      if (id !== 0n) return id;
    }
  }
}
