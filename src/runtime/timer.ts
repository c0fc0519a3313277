// Timers for any finite delay. setTimeout and setInterval take a 32-bit
// signed delay: anything above 2^31-1 ms (about 24.8 days) is clamped to
// 1 ms, so `setTimeout(fn, 2 ** 31)` fires at once. A LongTimer chains
// one-shot timers of at most that length until its due time, measured on the
// monotonic clock; a chunk that fires early (timer granularity) re-arms too.

/** setTimeout's ceiling (2^31-1 ms); a longer delay must be chained. */
export const MAX_TIMER_MS = 0x7fffffff;

/** What a host timer handle offers (Bun's Timer). */
export interface TimerHandle {
  ref(): unknown;
  unref(): unknown;
}

/** The clock and one-shot timers a LongTimer runs on: the real ones, or a test's. */
export interface TimerHost {
  /** Monotonic ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

const realHost: TimerHost = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface LongTimerOptions {
  /** Keeps the process alive while pending (default true, as setTimeout). */
  readonly ref?: boolean;
  /** The clock and timers to use (tests); default performance.now() and setTimeout. */
  readonly host?: TimerHost;
  /** The longest single timer (tests); default MAX_TIMER_MS. */
  readonly maxChunk?: number;
}

let pending = 0;

/** LongTimers armed and not yet fired or cancelled (for leak checks). */
export function pendingLongTimers(): number {
  return pending;
}

/**
 * Calls fn once, `ms` milliseconds from now (a negative delay is 0). `ms`
 * must be finite: check it first (see durationArg). Exactly one host timer
 * is armed at any time until it fires or cancel() is called.
 */
export class LongTimer {
  readonly #fn: () => void;
  readonly #host: TimerHost;
  readonly #max: number;
  /** Due time on the host clock. */
  readonly due: number;
  #handle: TimerHandle | null = null;
  #ref: boolean;

  constructor(ms: number, fn: () => void, opts: LongTimerOptions = {}) {
    this.#fn = fn;
    this.#host = opts.host ?? realHost;
    this.#max = opts.maxChunk ?? MAX_TIMER_MS;
    this.#ref = opts.ref ?? true;
    this.due = this.#host.now() + Math.max(0, ms);
    pending++;
    this.#arm();
  }

  /** Whether it has neither fired nor been cancelled. */
  get pending(): boolean {
    return this.#handle !== null;
  }

  /** Stops it; fn will not be called. Idempotent. */
  cancel(): void {
    if (this.#handle === null) return;
    this.#host.clearTimeout(this.#handle);
    this.#handle = null;
    pending--;
  }

  /** Lets the process exit while it is pending; kept across the chain. */
  unref(): this {
    this.#ref = false;
    this.#handle?.unref();
    return this;
  }

  /** Keeps the process alive while it is pending (the default). */
  ref(): this {
    this.#ref = true;
    this.#handle?.ref();
    return this;
  }

  #arm(): void {
    const delay = Math.min(Math.max(0, Math.ceil(this.due - this.#host.now())), this.#max);
    const h = this.#host.setTimeout(() => this.#fire(h), delay);
    if (!this.#ref) h.unref();
    this.#handle = h;
  }

  #fire(h: TimerHandle): void {
    if (this.#handle !== h) return; // cancelled after the callback was queued
    if (this.#host.now() < this.due) {
      this.#arm();
      return;
    }
    this.#handle = null;
    pending--;
    this.#fn();
  }
}

/**
 * Checks a duration argument: TypeError for a non-number, RangeError for NaN
 * or ±Infinity (a timer that never fires is a channel nobody sends on, or an
 * AbortSignal). Returns it unchanged.
 */
export function durationArg(op: string, ms: unknown): number {
  if (typeof ms !== "number") throw new TypeError(`${op}: duration must be a number of ms, got ${ms === null ? "null" : typeof ms}`);
  if (!Number.isFinite(ms)) throw new RangeError(`${op}: duration must be a finite number of ms, got ${ms}`);
  return ms;
}
