// Channels, as in Go (runtime/chan.go; select is in select.ts): a task
// that cannot proceed parks as a waiter on the channel's send or receive
// queue and is resumed by the task that completes the exchange.
//
// Invariants (a channel is in exactly one of these at a time):
// - the buffer is non-empty  ⇒ no receiver is parked;
// - a receiver is parked     ⇒ the buffer is empty and no sender is parked;
// - a sender is parked       ⇒ the buffer is full (for unbuffered: always).
import { optionsError, SIGNAL_ONLY, type SignalOptions } from "../options.ts";
import { type Linked, WaitList } from "./_queue.ts";

/** What a receive yields: `ok` is false once the channel is closed and drained. */
export interface Received<T> {
  readonly value: T | undefined;
  readonly ok: boolean;
}

/** Thrown by send on a closed channel, close of a closed channel, and similar misuse. */
export class ChannelError extends Error {
  override name = "ChannelError";
}

/** @internal A parked receive (a plain recv or a select case), linked into the channel's receive queue. */
export interface RecvWaiter<T> extends Linked {
  /**
   * Called with the value (ok) or with closed (!ok), after the waiter left
   * the queue. Also settles a select. `later`: settle the caller's promise a
   * microtask later (see settle()).
   */
  deliver(value: T | undefined, ok: boolean, later: boolean): void;
}

/** @internal A parked send (a plain send or a select case), linked into the channel's send queue. */
export interface SendWaiter<T> extends Linked {
  readonly value: T;
  /** The value was taken (the waiter has left the queue). */
  taken(later: boolean): void;
  /** The channel was closed while waiting. */
  closed(): void;
}

/** Options of send and recv: cancellation only. */
export type ChanOptions = SignalOptions;

const CLOSED_RESULT: Received<never> = Object.freeze({ value: undefined, ok: false });
const SENT: Promise<void> = Promise.resolve();

// Waking a parked task on a buffered channel: the hand-over is done at once
// (the value is the waiter's, the queues are updated), but its promise is
// settled one microtask later, after the task that woke it has gone on to
// its next step. As in Go, where the woken goroutine becomes runnable while
// the waker keeps running, a producer then runs ahead into the buffer instead
// of handing every value to a consumer that parks again right after. On an
// unbuffered channel each side must wait for the other anyway: settled at once.
let wakeFns: ((v: unknown) => void)[] = [];
let wakeVals: unknown[] = [];
let wakeQueued = false;

/** @internal Settles a parked task's promise: at once, or (later) a microtask from now, in order. */
export function settle(fn: (v: never) => void, v: unknown, later: boolean): void {
  if (!later) {
    (fn as (v: unknown) => void)(v);
    return;
  }
  wakeFns.push(fn as (v: unknown) => void);
  wakeVals.push(v);
  if (!wakeQueued) {
    wakeQueued = true;
    queueMicrotask(runWakes);
  }
}

function runWakes(): void {
  const fns = wakeFns;
  const vals = wakeVals;
  wakeFns = [];
  wakeVals = [];
  wakeQueued = false;
  for (let i = 0; i < fns.length; i++) fns[i]!(vals[i]);
}

// A parked operation's promise is made with one shared executor that hands
// its resolving functions over through these (no closure per park).
let nextResolve: ((v: never) => void) | null = null;
let nextReject: ((err: unknown) => void) | null = null;
function capture(resolve: (v: never) => void, reject: (err: unknown) => void): void {
  nextResolve = resolve;
  nextReject = reject;
}

/** A plain recv() parked on a channel. It is its own abort listener. */
class RecvOp<T> implements RecvWaiter<T> {
  prev: Linked | null = null;
  next: Linked | null = null;
  list: WaitList<Linked> | null = null;
  readonly resolve: (r: Received<T>) => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;

  constructor(resolve: (r: Received<T>) => void, reject: (err: unknown) => void, signal: AbortSignal | undefined) {
    this.resolve = resolve;
    this.reject = reject;
    this.signal = signal;
  }

  deliver(value: T | undefined, ok: boolean, later: boolean): void {
    if (this.signal !== undefined) this.signal.removeEventListener("abort", this);
    settle(this.resolve, ok ? { value, ok } : CLOSED_RESULT, later);
  }

  /** The abort listener. */
  handleEvent(): void {
    if (this.list === null) return;
    this.list.remove(this);
    this.reject(this.signal!.reason);
  }
}

/** A plain send() parked on a channel. It is its own abort listener. */
class SendOp<T> implements SendWaiter<T> {
  prev: Linked | null = null;
  next: Linked | null = null;
  list: WaitList<Linked> | null = null;
  readonly value: T;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;

  constructor(value: T, resolve: () => void, reject: (err: unknown) => void, signal: AbortSignal | undefined) {
    this.value = value;
    this.resolve = resolve;
    this.reject = reject;
    this.signal = signal;
  }

  taken(later: boolean): void {
    if (this.signal !== undefined) this.signal.removeEventListener("abort", this);
    settle(this.resolve, undefined, later);
  }

  closed(): void {
    if (this.signal !== undefined) this.signal.removeEventListener("abort", this);
    this.reject(new ChannelError("send on closed channel"));
  }

  handleEvent(): void {
    if (this.list === null) return;
    this.list.remove(this);
    this.reject(this.signal!.reason);
  }
}

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
  readonly #recvq = new WaitList<RecvWaiter<T>>();
  readonly #sendq = new WaitList<SendWaiter<T>>();

  /** @throws {RangeError} capacity is not a non-negative integer */
  constructor(capacity = 0) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`channel capacity must be a non-negative integer, got ${capacity}`);
    this.#cap = capacity;
    this.#buf = new Array(capacity);
  }

  /** The ring index i places after the head (i <= cap: no division needed). */
  #slot(i: number): number {
    const j = this.#head + i;
    return j >= this.#cap ? j - this.#cap : j;
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
      if (this.trySend(v)) return SENT;
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const p = new Promise<void>(capture);
    const w = new SendOp<T>(v, nextResolve as () => void, nextReject!, signal);
    nextResolve = nextReject = null;
    if (signal !== undefined) signal.addEventListener("abort", w, { once: true });
    this.#sendq.push(w);
    return p;
  }

  /**
   * Sends v only if that completes at once.
   *
   * @throws {ChannelError} the channel is closed
   */
  trySend(v: T): boolean {
    if (this.#closed) throw new ChannelError("send on closed channel");
    const r = this.#recvq.shift();
    if (r !== null) {
      r.deliver(v, true, this.#cap > 0);
      return true;
    }
    if (this.#len < this.#cap) {
      this.#buf[this.#slot(this.#len)] = v;
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
    const p = new Promise<Received<T>>(capture);
    const w = new RecvOp<T>(nextResolve as (r: Received<T>) => void, nextReject!, signal);
    nextResolve = nextReject = null;
    if (signal !== undefined) signal.addEventListener("abort", w, { once: true });
    this.#recvq.push(w);
    return p;
  }

  /** Receives only if a value (or the closed state) is there at once; else null. */
  tryRecv(): Received<T> | null {
    if (this.#len > 0) {
      const value = this.#buf[this.#head] as T;
      this.#buf[this.#head] = undefined;
      this.#head = this.#slot(1);
      this.#len--;
      // A parked sender's value moves into the freed slot, keeping FIFO order.
      const s = this.#sendq.shift();
      if (s !== null) {
        this.#buf[this.#slot(this.#len)] = s.value;
        this.#len++;
        s.taken(true);
      }
      return { value, ok: true };
    }
    const s = this.#sendq.shift();
    if (s !== null) {
      s.taken(false);
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
    for (let r = this.#recvq.shift(); r !== null; r = this.#recvq.shift()) r.deliver(undefined, false, false);
    for (let s = this.#sendq.shift(); s !== null; s = this.#sendq.shift()) s.closed();
  }

  /** Receives until the channel is closed and drained (Go's `range ch`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const r = this.tryRecv() ?? (await this.recv());
      if (!r.ok) return;
      yield r.value as T;
    }
  }

  /** @internal select: a receive would complete at once (a value, a parked sender, or closed). */
  _canRecv(): boolean {
    return this.#len > 0 || this.#closed || !this.#sendq.empty;
  }

  /** @internal select: a send would complete at once, or throw (closed). */
  _canSend(): boolean {
    return this.#closed || !this.#recvq.empty || this.#len < this.#cap;
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
