// Timers as Go has them: sleep, after (a channel that receives once), and
// Ticker (a channel that receives on every tick, dropping ticks a slow
// reader misses).
//
// Durations are milliseconds and may be as long as any finite number: a
// delay beyond setTimeout's 2^31-1 ms ceiling is chained (runtime/timer.ts)
// rather than clamped to 1 ms. A non-number is a TypeError; NaN and
// ±Infinity are RangeError (to wait for ever, wait on a signal or a channel).
import { checkOptions, SIGNAL_ONLY, type SignalOptions } from "../options.ts";
import { durationArg, LongTimer } from "../runtime/timer.ts";
import { Chan } from "./chan.ts";

/**
 * Resolves after ms (a negative ms is 0). An abort rejects with
 * `signal.reason` and clears the timer. While pending it keeps the process
 * alive. Rejects with TypeError for a non-number ms and RangeError for NaN
 * or ±Infinity.
 *
 * Errors are rejections of the returned promise.
 * @throws {TypeError} ms is not a number, or an unknown option
 * @throws {RangeError} ms is NaN or ±Infinity
 * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
 */
export function sleep(ms: number, opts?: SignalOptions): Promise<void> {
  try {
    durationArg("sleep", ms);
    checkOptions("sleep", opts, SIGNAL_ONLY);
  } catch (err) {
    return Promise.reject(err);
  }
  const signal = opts?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      t.cancel();
      reject(signal!.reason);
    };
    const t = new LongTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A channel that receives the current Date once, after ms (Go's time.After;
 * a negative ms is 0), for use in select. The timer is unref'd: it does not
 * keep the process alive. An abort of `signal` cancels the timer (the
 * channel then never receives). Throws TypeError for a non-number ms and
 * RangeError for NaN or ±Infinity.
 *
 * @throws {TypeError} ms is not a number, or an unknown option
 * @throws {RangeError} ms is NaN or ±Infinity
 */
export function after(ms: number, opts?: SignalOptions): Chan<Date> {
  durationArg("after", ms);
  checkOptions("after", opts, SIGNAL_ONLY);
  const signal = opts?.signal;
  const ch = new Chan<Date>(1);
  if (signal?.aborted) return ch;
  const onAbort = () => t.cancel();
  const t = new LongTimer(
    ms,
    () => {
      signal?.removeEventListener("abort", onAbort);
      offer(ch, new Date());
    },
    { ref: false },
  );
  signal?.addEventListener("abort", onAbort, { once: true });
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

function periodArg(op: string, ms: unknown): number {
  if (typeof ms === "number" && !Number.isNaN(ms) && !(ms > 0)) throw new RangeError(`${op}: interval must be positive, got ${ms}`);
  return durationArg(op, ms);
}

/**
 * Delivers the time on `c` every `ms` milliseconds, at fixed times from its
 * start (no drift), for any finite period. The channel has a one-value
 * buffer: a reader that falls behind gets the latest pending tick, not a
 * backlog. Keeps the process alive until stop(). Throws TypeError for a
 * non-number period, RangeError for one that is not positive and finite.
 *
 * @throws {TypeError} (constructor, reset) ms is not a number
 * @throws {RangeError} (constructor, reset) ms is not positive and finite
 */
export class Ticker {
  readonly c = new Chan<Date>(1);
  #timer: LongTimer | null = null;
  #period = 0;

  constructor(ms: number) {
    this.#start(periodArg("Ticker", ms));
  }

  /** Stops the ticks. The channel is not closed (as in Go). Idempotent. */
  stop(): void {
    if (this.#timer !== null) {
      this.#timer.cancel();
      this.#timer = null;
    }
  }

  /**
   * Restarts the ticks with a new period (same checks as the constructor).
   *
   * @throws {TypeError} ms is not a number
   * @throws {RangeError} ms is not positive and finite
   */
  reset(ms: number): void {
    periodArg("Ticker.reset", ms);
    this.stop();
    this.#start(ms);
  }

  #start(ms: number): void {
    this.#period = ms;
    this.#timer = new LongTimer(ms, () => this.#tick());
  }

  #tick(): void {
    const prev = this.#timer!;
    const period = this.#period;
    offer(this.c, new Date());
    // The next multiple of the period after now: ticks missed while the
    // loop was busy are dropped, not delivered in a burst.
    const now = performance.now();
    const behind = Math.max(0, now - prev.due);
    const next = prev.due + period * (Math.floor(behind / period) + 1);
    if (this.#timer === prev) this.#timer = new LongTimer(next - now, () => this.#tick());
  }
}
