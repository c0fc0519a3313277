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

/** An interval ticking every `ms` to show the main thread stays responsive: how often it ran, and its longest gap. */
export interface TickMonitor {
  readonly ticks: number;
  readonly maxGap: number;
  /** Stops the interval (idempotent). */
  stop(): void;
}

/** Starts a TickMonitor (a plain Bun interval, independent of the runtime under test). */
export function tickMonitor(ms = 5): TickMonitor {
  let ticks = 0;
  let last = performance.now();
  let maxGap = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, ms);
  return {
    get ticks() {
      return ticks;
    },
    get maxGap() {
      return maxGap;
    },
    stop: () => clearInterval(iv),
  };
}
