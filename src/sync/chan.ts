// Channels, as in Go (runtime/chan.go; select is in select.ts): a task
// that cannot proceed parks as a waiter on the channel's send or receive
// queue and is resumed by the task that completes the exchange.
//
// Invariants (a channel is in exactly one of these at a time):
// - the buffer is non-empty  ⇒ no receiver is parked;
// - a receiver is parked     ⇒ the buffer is empty and no sender is parked;
// - a sender is parked       ⇒ the buffer is full (for unbuffered: always).
import { optionsError, SIGNAL_ONLY, type SignalOptions } from "../options.ts";
import { type Waiter, WaiterQueue } from "./_queue.ts";

/** What a receive yields: `ok` is false once the channel is closed and drained. */
export interface Received<T> {
  readonly value: T | undefined;
  readonly ok: boolean;
}

/** Thrown by send on a closed channel, close of a closed channel, and similar misuse. */
export class ChannelError extends Error {
  override name = "ChannelError";
}

/** @internal A parked receive (a plain recv or a select case). */
export interface RecvWaiter<T> extends Waiter {
  /** Called with the value (ok) or with closed (!ok). Also settles a select. */
  deliver(value: T | undefined, ok: boolean): void;
}

/** @internal A parked send (a plain send or a select case). */
export interface SendWaiter<T> extends Waiter {
  readonly value: T;
  /** The value was taken. */
  taken(): void;
  /** The channel was closed while waiting. */
  closed(): void;
}

/** Options of send and recv: cancellation only. */
export type ChanOptions = SignalOptions;

const CLOSED_RESULT: Received<never> = Object.freeze({ value: undefined, ok: false });

/**
 * A Go channel. `new Chan<T>()` is unbuffered (a send waits for a receiver);
 * `new Chan<T>(n)` buffers n values.
 *
 * ```ts
 * const ch = new Chan<number>();
 * go(async () => { for (let i = 0; i < 3; i++) await ch.send(i); ch.close(); });
 * for await (const v of ch) console.log(v); // 0 1 2
 * ```
 */
export class Chan<T> implements AsyncIterable<T> {
  readonly #cap: number;
  readonly #buf: (T | undefined)[];
  #head = 0;
  #len = 0;
  #closed = false;
  readonly #recvq = new WaiterQueue<RecvWaiter<T>>();
  readonly #sendq = new WaiterQueue<SendWaiter<T>>();

  /** @throws {RangeError} capacity is not a non-negative integer */
  constructor(capacity = 0) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`channel capacity must be a non-negative integer, got ${capacity}`);
    this.#cap = capacity;
    this.#buf = new Array(capacity);
  }

  /** Values buffered now. */
  get len(): number {
    return this.#len;
  }

  /** Buffer capacity (0 for unbuffered). */
  get cap(): number {
    return this.#cap;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends v, waiting until a receiver takes it (unbuffered) or there is room
   * (buffered). Throws ChannelError if the channel is closed, now or while waiting.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {ChannelError} the channel is closed, or closed while the send waits
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  send(v: T, opts?: ChanOptions): Promise<void> {
    if (opts !== undefined) {
      const bad = optionsError("send", opts, SIGNAL_ONLY);
      if (bad !== null) return Promise.reject(bad);
    }
    try {
      if (this.trySend(v)) return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const w: SendWaiter<T> = {
        done: false,
        value: v,
        taken: () => {
          w.done = true;
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        closed: () => {
          w.done = true;
          signal?.removeEventListener("abort", onAbort);
          reject(new ChannelError("send on closed channel"));
        },
      };
      const onAbort = () => {
        if (w.done) return;
        w.done = true;
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sendq.push(w);
    });
  }

  /**
   * Sends v only if that completes at once; throws ChannelError if closed.
   *
   * @throws {ChannelError} the channel is closed
   */
  trySend(v: T): boolean {
    if (this.#closed) throw new ChannelError("send on closed channel");
    const r = this.#recvq.shift();
    if (r !== undefined) {
      r.deliver(v, true);
      return true;
    }
    if (this.#len < this.#cap) {
      this.#buf[(this.#head + this.#len) % this.#cap] = v;
      this.#len++;
      return true;
    }
    return false;
  }

  /**
   * Receives a value, waiting until one is available. Resolves `{ value, ok: true }`,
   * or `{ value: undefined, ok: false }` once the channel is closed and drained.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  recv(opts?: ChanOptions): Promise<Received<T>> {
    if (opts !== undefined) {
      const bad = optionsError("recv", opts, SIGNAL_ONLY);
      if (bad !== null) return Promise.reject(bad);
    }
    const got = this.tryRecv();
    if (got !== null) return Promise.resolve(got);
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Received<T>>((resolve, reject) => {
      const w: RecvWaiter<T> = {
        done: false,
        deliver: (value, ok) => {
          w.done = true;
          signal?.removeEventListener("abort", onAbort);
          resolve(ok ? { value, ok } : CLOSED_RESULT);
        },
      };
      const onAbort = () => {
        if (w.done) return;
        w.done = true;
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#recvq.push(w);
    });
  }

  /** Receives only if a value (or the closed state) is there at once; else null. */
  tryRecv(): Received<T> | null {
    if (this.#len > 0) {
      const value = this.#buf[this.#head] as T;
      this.#buf[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.#cap;
      this.#len--;
      // A parked sender's value moves into the freed slot, keeping FIFO order.
      const s = this.#sendq.shift();
      if (s !== undefined) {
        this.#buf[(this.#head + this.#len) % this.#cap] = s.value;
        this.#len++;
        s.taken();
      }
      return { value, ok: true };
    }
    const s = this.#sendq.shift();
    if (s !== undefined) {
      s.taken();
      return { value: s.value, ok: true };
    }
    if (this.#closed) return CLOSED_RESULT;
    return null;
  }

  /**
   * Closes the channel: parked receivers get `ok: false`, parked senders throw.
   * Buffered values can still be received. Closing twice throws ChannelError.
   *
   * @throws {ChannelError} the channel is already closed
   */
  close(): void {
    if (this.#closed) throw new ChannelError("close of closed channel");
    this.#closed = true;
    for (const r of this.#recvq.drain()) r.deliver(undefined, false);
    for (const s of this.#sendq.drain()) s.closed();
  }

  /** Receives until the channel is closed and drained (Go's `range ch`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const r = this.tryRecv() ?? (await this.recv());
      if (!r.ok) return;
      yield r.value as T;
    }
  }

  /** @internal select: parks a receive waiter. */
  _parkRecv(w: RecvWaiter<T>): void {
    this.#recvq.push(w);
  }

  /** @internal select: parks a send waiter. */
  _parkSend(w: SendWaiter<T>): void {
    this.#sendq.push(w);
  }
}
