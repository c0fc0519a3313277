// Timers as Go has them: sleep, after (a channel that receives once), and
// Ticker (a channel that receives on every tick, dropping ticks a slow
// reader misses).
import { Chan } from "./chan.ts";

/** Resolves after ms; an abort rejects with `signal.reason` and clears the timer. */
export function sleep(ms: number, opts?: { signal?: AbortSignal }): Promise<void> {
  const signal = opts?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A channel that receives the current Date once, after ms (Go's time.After),
 * for use in select. The timer is unref'd: it does not keep the process alive.
 */
export function after(ms: number): Chan<Date> {
  const ch = new Chan<Date>(1);
  const t = setTimeout(() => offer(ch, new Date()), Math.max(0, ms));
  t.unref();
  return ch;
}

// Puts v in a one-slot timer channel, replacing a value nobody took yet, so
// a slow reader sees the latest time. A channel the user closed is left alone.
function offer(ch: Chan<Date>, v: Date): void {
  if (ch.closed) return;
  if (!ch.trySend(v)) {
    ch.tryRecv();
    ch.trySend(v);
  }
}

/**
 * Delivers the time on `c` every `ms` milliseconds. The channel has a
 * one-value buffer: a reader that falls behind gets the latest pending tick,
 * not a backlog. Call stop() when done.
 */
export class Ticker {
  readonly c = new Chan<Date>(1);
  #timer: ReturnType<typeof setInterval> | null;

  constructor(ms: number) {
    if (!(ms > 0)) throw new RangeError(`non-positive interval for Ticker: ${ms}`);
    this.#timer = setInterval(() => offer(this.c, new Date()), ms);
  }

  /** Stops the ticks. The channel is not closed (as in Go). */
  stop(): void {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Restarts the ticks with a new period. */
  reset(ms: number): void {
    if (!(ms > 0)) throw new RangeError(`non-positive interval for Ticker: ${ms}`);
    this.stop();
    this.#timer = setInterval(() => offer(this.c, new Date()), ms);
  }
}
