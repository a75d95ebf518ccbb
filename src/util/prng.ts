// A small seeded PRNG (xoshiro128**, seeded through splitmix32). The raft core and the
// simulator take randomness only from an instance of this (or any () => number), never
// from Math.random, so one seed replays a whole run.

export interface Prng {
  /** Next 32-bit unsigned integer. */
  next(): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n); n must be a positive integer. */
  int(n: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new generator seeded from this one (independent stream, deterministic). */
  fork(): Prng;
}

function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [s, z >>> 0];
}

class Xoshiro128 implements Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(words: [number, number, number, number]) {
    [this.#a, this.#b, this.#c, this.#d] = words;
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#d = 1;
  }

  next(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  float(): number {
    return this.next() / 4294967296;
  }

  int(n: number): number {
    if (!(n > 0)) throw new Error(`prng: int(${n}) needs a positive bound`);
    return Math.floor(this.float() * n);
  }

  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("prng: pick from an empty array");
    return items[this.int(items.length)]!;
  }

  fork(): Prng {
    return new Xoshiro128([this.next(), this.next(), this.next(), this.next()]);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Builds a generator from a seed: a safe integer (0 … 2^53-1) or a string (hashed).
 * The same seed always gives the same sequence on every platform.
 */
export function prng(seed: number | string): Prng {
  let lo: number;
  let hi: number;
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`prng: bad seed ${seed}`);
    lo = seed >>> 0;
    hi = Math.floor(seed / 4294967296) >>> 0;
  } else {
    // FNV-1a over the UTF-16 code units, twice with different offsets.
    lo = 0x811c9dc5;
    hi = 0x01000193;
    for (let i = 0; i < seed.length; i++) {
      lo = Math.imul(lo ^ seed.charCodeAt(i), 0x01000193);
      hi = Math.imul(hi ^ seed.charCodeAt(i), 0x811c9dc5);
    }
  }
  let s = lo ^ Math.imul(hi, 0x27d4eb2d);
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    let z: number;
    [s, z] = splitmix32(s ^ (i === 2 ? hi : 0));
    words.push(z);
  }
  return new Xoshiro128(words as [number, number, number, number]);
}
