// The reference answer for the prime-sieve channel tests.

/** The first n primes by trial division. */
export function primes(n: number): number[] {
  const out: number[] = [];
  for (let k = 2; out.length < n; k++) if (out.every((p) => k % p !== 0)) out.push(k);
  return out;
}
