// Seeded pseudo-random numbers for the fuzz tests: any case can be replayed
// from its seed and stream. No bun:test import (the fuzz cases also run in Workers).

/** A seeded random source. */
export type Rnd = {
  /** An integer in [0, n). */
  (n: number): number;
  /** true with probability 1/n. */
  one(n: number): boolean;
  /** A uniformly chosen element of xs (which must not be empty). */
  pick<T>(xs: readonly T[]): T;
};

/** mulberry32 seeded from (seed, stream): each stream is independent and reproducible. */
export function prng(seed: number, stream: number): Rnd {
  let a = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35)) >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = ((n: number) => Math.floor(next() * n)) as Rnd;
  r.one = (n) => r(n) === 0;
  r.pick = (xs) => xs[r(xs.length)]!;
  return r;
}
