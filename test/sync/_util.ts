// Helpers for the sync tests (channels, select, locks): scheduling flushes,
// promise-state tracking and a guard against errors escaping go() tasks.
import { setTaskErrorHandler } from "../../src/index.ts";

/** Lets every pending promise continuation run (n microtask turns, then one macrotask hop). */
export async function flush(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/** Resolves after ms (a ref'd timer, independent of the code under test). */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Tracks a promise's state without awaiting it. */
export function track<T>(p: Promise<T>): { readonly settled: boolean; readonly value: T | undefined; readonly error: unknown; readonly rejected: boolean } {
  const s = { settled: false, rejected: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => {
      s.settled = true;
      s.value = v;
    },
    (e) => {
      s.settled = true;
      s.rejected = true;
      s.error = e;
    },
  );
  return s;
}

/** The first n primes by trial division (the reference for the sieve tests). */
export function primes(n: number): number[] {
  const out: number[] = [];
  for (let k = 2; out.length < n; k++) if (out.every((p) => k % p !== 0)) out.push(k);
  return out;
}

/**
 * Runs fn with a task error handler installed: the first error escaping a
 * go() task fails the test at once (instead of surfacing later as an
 * uncaught exception in another test, or as a deadlock when the task that
 * died was needed). The previous handler is restored afterwards.
 */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const prev = setTaskErrorHandler((err) => fail(err));
  let ok = false;
  try {
    const v = await Promise.race([fn(), failed]);
    ok = true;
    return v;
  } finally {
    // After a failure the failed test's tasks may still be running and
    // throwing: log those instead of letting them fail the tests after it.
    setTaskErrorHandler(ok ? prev : (err) => console.error("task error after a failed test:", err));
  }
}
