// pollDesc: the per-fd parking spot (Go: runtime/netpoll.go).
//
// Each direction (read, write) is a Half holding exactly one latch state:
//
//   NIL ──ready()──► READY             an edge arrived with nobody waiting
//   READY ──consume() / park()──► NIL  the caller retries its syscall at once
//   NIL ──park()──► WAITING            a task awaits a promise (its resolve and
//                                      the op name stored)
//   NIL ──parkDirect()──► WAITING      the owner's operation waits (the operation
//                                      stored; the owner settles its own promise)
//   WAITING ──ready()──► NIL           promise park: unpark(), resolve(); the
//                                      task retries its syscall
//   WAITING ──ready()──► WAITING       direct park: owner.resume(h) retries at
//                                      once; it unpark()s on completion, or
//                                      stays WAITING on EAGAIN (spurious wakeup)
//   WAITING ──deadline timer / setDeadline(past) / close() / abort──► NIL
//                                      #fail(): unpark(), then fail with the
//                                      owner's error (TIMEOUT / CLOSED mapped by
//                                      owner.error) or signal.reason (a promise
//                                      park resolves with a Rejection of it); a
//                                      direct park gets owner.abandon(h, err)
//
// Who moves it: the loop's drain calls ready(); the I/O path (direction.ts,
// io_op.ts, pollfd.ts) calls check(), consume(), park(), parkDirect() and
// unpark(); the deadline heap's timer and the abort listener call #fail();
// close() comes from the owner. Rules:
// - A timeout or close never plants READY (a later op must not skip its wait
//   on a readiness that never happened).
// - park() while WAITING is a bug in the caller's serialisation: it throws
//   "double wait" (each direction's FIFO lock makes it impossible).
// - Wakeups may be spurious: callers always retry the syscall and park again
//   on EAGAIN.
// - check() runs before each syscall attempt: closing and an expired deadline
//   fail the operation even if data is buffered.
//
// Deadlines are monotonic milliseconds (performance.now()); 0 = none,
// -1 = expired. A Half is in the thread's deadline heap (deadline_heap.ts:
// one setTimeout for the earliest of all) at most once, put there only while
// a task is parked with a deadline, and taken out by every deadline change,
// by close() and when it fires. An op that completes leaves it in, so the
// next park under the same deadline costs nothing.
//
// Memory: an idle connection is one PollDesc (8 fields) and one Half (8
// fields). The write half is made on first use and dropped again
// (dropIdleWrite) when the read parks and nothing holds the write side; its
// latch and deadline wait in the PollDesc meanwhile.

import { DeadlineHeap, type HeapEntry } from "./deadline_heap.ts";
import { hooks } from "./hooks.ts";
import { FifoLock } from "./lock.ts";

export const NIL = 0;
export const READY = 1;
export const WAITING = 2;
/** A direction: "r" (read side, PollDesc.r) or "w" (write side, PollDesc.w). */
export type Dir = "r" | "w";

/** A Half's latch state. */
export type Latch = typeof NIL | typeof READY | typeof WAITING;

// A parked task's promise is made with one shared executor that hands its
// resolve over through this variable: no { promise, resolve, reject } object
// per park (a parked operation keeps only resolve; it fails with a Rejection).
let nextResolve: ((v: unknown) => void) | null = null;
function capture(resolve: (v: unknown) => void): void {
  nextResolve = resolve;
}

/** A new pending promise whose resolve is stored in h.resolve. */
export function parkedPromise(h: Half): Promise<unknown> {
  const promise = new Promise<unknown>(capture);
  h.resolve = nextResolve;
  nextResolve = null;
  return promise;
}

/** Rejection reasons for a parked task; the owner turns them into errors. */
export const CLOSED: unique symbol = Symbol("closed");
export const TIMEOUT: unique symbol = Symbol("timeout");
export type Reason = typeof CLOSED | typeof TIMEOUT;

const NO_DEADLINE = 0;
const EXPIRED = -1;

/**
 * One direction of a pollDesc. It is also the direction's FIFO lock (the FD
 * serialises each direction's operations on it): one object per direction.
 */
export class Half extends FifoLock implements HeapEntry {
  /** The latch. Written by the PollDesc methods only (ready, consume, park*, unpark, #fail, close). */
  state: Latch = NIL;
  /**
   * The parked task's resolve: set by park() (cleared when it settles) or by
   * the owner of a direct park (cleared by the owner). It is the only settler
   * kept: a failure resolves with a Rejection.
   */
  resolve: ((v: unknown) => void) | null = null;
  /** Monotonic ms, NO_DEADLINE or EXPIRED. Written by setDeadline(), and by check() / the timer when it passes. */
  deadline = NO_DEADLINE;
  /**
   * What is parked here, for the error the owner builds: the operation's
   * name (park), or the owner's operation object (parkDirect, cleared by the
   * owner). Set by #wait().
   */
  op: string | object = "";
  /** The parked task's abort listener, made on first use: most halves never need it. Owned by #wait / unpark. */
  x: HalfAbort | null = null;
  /** Index in the deadline heap, -1 when not in it (written by the heap). */
  hi = -1;
  /** The PollDesc this half belongs to: the heap's expiry fails the parked task through it. */
  pd: PollDesc | null = null;

  /** Parked with parkDirect: ready() calls owner.resume(h) instead of resolving. */
  get direct(): boolean {
    return this.state === WAITING && typeof this.op !== "string";
  }

  /** No operation holds or waits for this half (its lock is free, no abort listener, nothing parked). */
  get idle(): boolean {
    return this.state !== WAITING && !this.held && (this.x === null || this.x.abortSignal === null);
  }

  /** The abort signal of the parked task, if it gave one. */
  get abortSignal(): AbortSignal | null {
    return this.x?.abortSignal ?? null;
  }
}

/** A Half's abort listener. */
class HalfAbort {
  abortSignal: AbortSignal | null = null;
  abortListener: (() => void) | null = null;
}

// A parked deadline has passed: fail the task parked on h (if any still is).
function expire(h: Half): void {
  if (h.deadline <= 0) return;
  h.deadline = EXPIRED;
  h.pd!.timedOut(h);
}

/** Every parked deadline of this thread. */
const deadlines = new DeadlineHeap<Half>(expire);

/**
 * The pollDesc's owner (the FD): builds the error a parked task fails with,
 * and takes readiness for direct parks.
 */
export interface PollOwner {
  /** The error for CLOSED / TIMEOUT in operation op (a Half's op: a name or the owner's operation). */
  error(reason: Reason, op: string | object): unknown;
  /**
   * Readiness for a direct park on h (still WAITING): the owner retries its
   * syscall at once and either finishes (unpark(h), then settle its
   * operation) or leaves h parked (a spurious wakeup).
   */
  resume(h: Half): void;
  /** A direct park on h ended in err (close, deadline, abort); h is already unparked (its resolve and op still set). */
  abandon(h: Half, err: unknown): void;
}

/**
 * A thenable that rejects with err: resolving a parked task's promise with it
 * rejects that promise with err (a tick later), so a parked task needs no
 * reject function kept.
 */
export class Rejection {
  readonly #err: unknown;
  constructor(err: unknown) {
    this.#err = err;
  }
  then(_: unknown, reject: (err: unknown) => void): void {
    reject(this.#err);
  }
}

const F_CLOSING = 1;
const F_HUP = 2;
const F_UNREF = 4;
const F_WREADY = 8;
const FLAG_MASK = 0xff;
const ERR_SHIFT = 8;

export class PollDesc {
  /** The descriptor, for the poller; -1 once released (written by the owner). */
  fd: number;
  /** The table slot and generation of this pd's kernel cookie (written by Table.add / remove). */
  slot = -1;
  gen = 0;
  /**
   * closing, hup, unref and a write readiness latched before w exists, one
   * bit each, and the socket error above them (one field: an idle connection
   * holds one PollDesc).
   */
  #flags = 0;
  /** Set once by close(): every later check() fails with CLOSED. */
  get closing(): boolean {
    return (this.#flags & F_CLOSING) !== 0;
  }
  /** The poller reported a hang-up or error: sticky, no later edge will repeat it (written by the loop's drain). */
  get hup(): boolean {
    return (this.#flags & F_HUP) !== 0;
  }
  set hup(v: boolean) {
    this.#flags = v ? this.#flags | F_HUP : this.#flags & ~F_HUP;
  }
  /**
   * A socket error the poller reported with the event (kqueue's fflags), 0 if
   * none. The syscall may no longer see it (libkqueue clears SO_ERROR reading
   * it): the I/O path takes it with takeSocketError() when its syscall says
   * EOF or EAGAIN, or dial when SO_ERROR says 0.
   */
  get socketError(): number {
    return this.#flags >>> ERR_SHIFT;
  }
  /**
   * Tasks parked here do not keep the process alive (an unref'd listener).
   * Whoever flips it moves the tasks parked at that moment with hooks.reweigh.
   */
  get unref(): boolean {
    return (this.#flags & F_UNREF) !== 0;
  }
  set unref(v: boolean) {
    this.#flags = v ? this.#flags | F_UNREF : this.#flags & ~F_UNREF;
  }
  readonly r: Half;
  /** The write half, made on first use (an idle connection never writes): see w. */
  #w: Half | null = null;
  /** The write deadline while the write half does not exist yet (as Half.deadline). */
  #wDeadline = NO_DEADLINE;
  /**
   * The owner: parked tasks reject with its errors, so the I/O path needs no
   * wrapper frame to convert reasons, and direct parks call it back. Without
   * one, parked tasks reject with the bare CLOSED / TIMEOUT reasons.
   */
  owner: PollOwner | null = null;

  /**
   * r may be given (a subclass of Half that carries the owner's per-direction
   * state); the write half is made on first use, of r's class. w may be given
   * too.
   */
  constructor(fd: number, r: Half = new Half(), w: Half | null = null) {
    this.fd = fd;
    this.r = r;
    r.pd = this;
    if (w !== null) {
      w.pd = this;
      this.#w = w;
    }
  }

  /** The write half (made now if this is its first use). */
  get w(): Half {
    return this.#w ?? this.#makeW();
  }

  #makeW(): Half {
    const w = new (this.r.constructor as new () => Half)();
    w.pd = this;
    w.deadline = this.#wDeadline;
    if ((this.#flags & F_WREADY) !== 0) {
      w.state = READY;
      this.#flags &= ~F_WREADY;
    }
    this.#w = w;
    return w;
  }

  /**
   * Drops the write half if nothing depends on its identity (no task parked
   * or queued on it, its lock free, no abort listener), keeping its latch and
   * deadline here until the next write makes a new one: an idle connection
   * then holds no write half. The owner calls it when its read parks.
   */
  dropIdleWrite(): void {
    const w = this.#w;
    if (w === null || w.state === WAITING || !w.idle) return;
    if (w.state === READY) this.#flags |= F_WREADY;
    deadlines.delete(w);
    this.#wDeadline = w.deadline;
    w.pd = null;
    this.#w = null;
  }

  /** Write readiness from the poller: latched in a bit while the write half does not exist. */
  readyWrite(): void {
    if (this.#w !== null) this.ready(this.#w);
    else if (!this.closing) this.#flags |= F_WREADY;
  }

  /** setDeadline for the write half, without making it. */
  setWriteDeadline(mono: number): void {
    if (this.#w !== null) {
      this.setDeadline(this.#w, mono);
      return;
    }
    this.#wDeadline = mono === 0 || !Number.isFinite(mono) ? NO_DEADLINE : mono <= performance.now() ? EXPIRED : mono;
  }

  #reason(reason: unknown, op: string | object): unknown {
    return this.owner !== null && (reason === CLOSED || reason === TIMEOUT) ? this.owner.error(reason, op) : reason;
  }

  /** Records the socket error an event carried (0: none; never clears one). */
  noteSocketError(errno: number): void {
    if (errno !== 0) this.#flags = (this.#flags & FLAG_MASK) | (errno << ERR_SHIFT);
  }

  /** The recorded socket error, cleared (0 if none). */
  takeSocketError(): number {
    const e = this.#flags >>> ERR_SHIFT;
    this.#flags &= FLAG_MASK;
    return e;
  }

  /** CLOSED / TIMEOUT if an operation in this direction must fail now, else null. */
  check(h: Half): Reason | null {
    if (this.closing) return CLOSED;
    const d = h.deadline;
    if (d === NO_DEADLINE) return null;
    if (d === EXPIRED) return TIMEOUT;
    if (performance.now() >= d) {
      deadlines.delete(h);
      h.deadline = EXPIRED;
      return TIMEOUT;
    }
    return null;
  }

  /** Readiness from the poller. */
  ready(h: Half): void {
    if (h.state === WAITING) {
      if (h.direct) {
        this.owner!.resume(h);
        return;
      }
      const resolve = h.resolve!;
      h.resolve = null;
      this.unpark(h);
      resolve(undefined);
    } else {
      h.state = READY;
    }
  }

  /** Takes a latched readiness; true means "retry the syscall now". */
  consume(h: Half): boolean {
    if (h.state !== READY) return false;
    h.state = NIL;
    return true;
  }

  /** Parks the caller until readiness, deadline, close or abort. `op` names it in errors. */
  park(h: Half, signal?: AbortSignal, op = ""): Promise<void> {
    if (h.state === WAITING) throw new Error("double wait");
    if (h.state === READY) {
      h.state = NIL;
      return Promise.resolve();
    }
    const reason = this.check(h);
    if (reason !== null) return Promise.reject(this.#reason(reason, op));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const promise = parkedPromise(h) as Promise<void>;
    this.#wait(h, signal, op);
    return promise;
  }

  /**
   * Parks the owner's operation (an object: it tells a direct park from a
   * named promise park) on h: readiness calls owner.resume(h), a failure
   * owner.abandon(h, err). The caller has just seen EAGAIN after check() and
   * consume(); it may keep its promise's resolve in h.resolve, and clears
   * h.resolve and h.op when the operation ends. Returns the error to fail
   * with instead (the signal was already aborted).
   */
  parkDirect(h: Half, signal: AbortSignal | undefined, op: object): unknown {
    if (h.state === WAITING) throw new Error("double wait");
    if (signal?.aborted) return signal.reason;
    this.#wait(h, signal, op);
    return null;
  }

  #wait(h: Half, signal: AbortSignal | undefined, op: string | object): void {
    h.state = WAITING;
    h.op = op;
    if (h.deadline > 0 && h.hi < 0) deadlines.set(h);
    if (signal) {
      const listener = () => this.#fail(h, signal.reason);
      const x = (h.x ??= new HalfAbort());
      x.abortSignal = signal;
      x.abortListener = listener;
      signal.addEventListener("abort", listener, { once: true });
    }
    hooks.parked(1, this.unref);
  }

  /** Sets a deadline (monotonic ms; 0 = none; <= now = already expired). */
  setDeadline(h: Half, mono: number): void {
    if (mono === 0 || !Number.isFinite(mono)) {
      deadlines.delete(h);
      h.deadline = NO_DEADLINE;
      return;
    }
    if (mono <= performance.now()) {
      deadlines.delete(h);
      h.deadline = EXPIRED;
      if (h.state === WAITING) this.#fail(h, TIMEOUT);
      return;
    }
    // Parked: move its heap entry (or make one). Not parked: the next park makes one.
    if (h.state !== WAITING) deadlines.delete(h);
    h.deadline = mono;
    if (h.state === WAITING) deadlines.set(h);
  }

  /** Marks closing and wakes every parked task with CLOSED. Idempotent. */
  close(): void {
    this.#flags |= F_CLOSING;
    this.#flags &= ~F_WREADY;
    this.#closeHalf(this.r);
    if (this.#w !== null) this.#closeHalf(this.#w);
  }

  #closeHalf(h: Half): void {
    deadlines.delete(h);
    if (h.state === WAITING) this.#fail(h, CLOSED);
    else h.state = NIL;
  }

  /** @internal The deadline heap: h's deadline has passed (h.deadline is EXPIRED now). */
  timedOut(h: Half): void {
    this.#fail(h, TIMEOUT);
  }

  get waiting(): number {
    return (this.r.state === WAITING ? 1 : 0) + (this.#w?.state === WAITING ? 1 : 0);
  }

  #fail(h: Half, reason: unknown): void {
    if (h.state !== WAITING) return;
    const op = h.op;
    if (typeof op !== "string") {
      this.unpark(h);
      this.owner!.abandon(h, this.#reason(reason, op));
      return;
    }
    const resolve = h.resolve!;
    h.resolve = null;
    this.unpark(h);
    resolve(new Rejection(this.#reason(reason, op)));
  }

  /** Ends a wait on h (WAITING → NIL) without waking anyone: the owner finishing a direct park. */
  unpark(h: Half): void {
    h.state = NIL;
    const x = h.x;
    if (x !== null && x.abortSignal !== null) {
      x.abortSignal.removeEventListener("abort", x.abortListener!);
      x.abortSignal = null;
      x.abortListener = null;
    }
    hooks.parked(-1, this.unref);
  }
}
