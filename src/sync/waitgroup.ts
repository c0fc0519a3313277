// WaitGroup: wait for a collection of tasks to finish (Go's sync.WaitGroup).
import { optionsError, SIGNAL_ONLY, type SignalOptions } from "../options.ts";

/**
 * ```ts
 * const wg = new WaitGroup();
 * for (const url of urls) { wg.add(1); go(async () => { try { await fetchOne(url); } finally { wg.done(); } }); }
 * await wg.wait();
 * ```
 */
export class WaitGroup {
  #count = 0;
  #waiters: (() => void)[] = [];

  /**
   * Adds delta (may be negative) to the counter; throws RangeError if it goes below zero.
   *
   * @throws {RangeError} delta is not an integer, or the counter would go below zero
   */
  add(delta: number): void {
    if (!Number.isInteger(delta)) throw new RangeError(`WaitGroup.add: delta must be an integer, got ${delta}`);
    const next = this.#count + delta;
    if (next < 0) throw new RangeError("sync: negative WaitGroup counter");
    this.#count = next;
    if (next === 0) {
      const ws = this.#waiters;
      this.#waiters = [];
      for (const w of ws) w();
    }
  }

  /**
   * add(-1).
   *
   * @throws {RangeError} the counter is already zero
   */
  done(): void {
    this.add(-1);
  }

  /** The counter now. */
  get count(): number {
    return this.#count;
  }

  /**
   * Resolves when the counter is zero (at once if it already is).
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  wait(opts?: SignalOptions): Promise<void> {
    if (opts !== undefined) {
      const bad = optionsError("wait", opts, SIGNAL_ONLY);
      if (bad !== null) return Promise.reject(bad);
    }
    if (this.#count === 0) return Promise.resolve();
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const w = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(w);
    });
  }
}
