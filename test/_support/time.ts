// Waiting in tests on plain Bun timers, independent of the runtime under test.

/** Resolves after ms (a ref'd timer). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Lets pending promise continuations and one macrotask run. */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Lets every pending promise continuation run (n microtask turns, then one macrotask hop). */
export async function flush(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
  for (let i = 0; i < n; i++) await Promise.resolve();
}
