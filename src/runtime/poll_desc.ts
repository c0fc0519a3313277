// pollDesc: the per-fd parking spot (Go: runtime/netpoll.go).
//
// Each direction (read, write) is a Half holding exactly one latch state:
//
//   NIL ──ready()──► READY             an edge arrived with nobody waiting
//   READY ──consume() / park()──► NIL  the caller retries its syscall at once
//   NIL ──park()──► WAITING            a task awaits a promise (resolve/reject stored)
//   NIL ──parkDirect()──► WAITING      the owner's operation waits, no promise
//   WAITING ──ready()──► NIL           promise park: unpark(), resolve(); the
//                                      task retries its syscall
//   WAITING ──ready()──► WAITING       direct park: owner.resume(h) retries at
//                                      once; it unpark()s on completion, or
//                                      stays WAITING on EAGAIN (spurious wakeup)
//   WAITING ──deadline timer / setDeadline(past) / close() / abort──► NIL
//                                      #fail(): unpark(), then reject with the
//                                      owner's error (TIMEOUT / CLOSED mapped by
//                                      owner.error) or signal.reason; a direct
//                                      park gets owner.abandon(h, err) instead
//
// Who moves it: the loop's drain calls ready(); the I/O path (direction.ts,
// io_op.ts, pollfd.ts) calls check(), consume(), park(), parkDirect() and
// unpark(); the Half's own deadline timer and abort listener call #fail();
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
// -1 = expired. Each Half has one timer at most, armed only while a task is
// parked; every deadline change bumps its `seq`, so a stale timer callback
// finds a different seq and does nothing. A deadline beyond setTimeout's
// reach re-arms when the timer fires early.

import { hooks } from "./hooks.ts";
import { FifoLock } from "./lock.ts";
// setTimeout's ceiling: a longer deadline re-arms when its timer fires.
import { MAX_TIMER_MS } from "./timer.ts";

export const NIL = 0;
export const READY = 1;
export const WAITING = 2;
/** A direction: "r" (read side, PollDesc.r) or "w" (write side, PollDesc.w). */
export type Dir = "r" | "w";

/** A Half's latch state. */
export type Latch = typeof NIL | typeof READY | typeof WAITING;

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
export class Half extends FifoLock {
  /** The latch. Written by the PollDesc methods only (ready, consume, park*, unpark, #fail, close). */
  state: Latch = NIL;
  /** The promise park's settlers: set by park(), cleared by unpark(); null for a direct park. */
  resolve: (() => void) | null = null;
  reject: ((reason: unknown) => void) | null = null;
  /** Monotonic ms, NO_DEADLINE or EXPIRED. Written by setDeadline(), and by check() / the timer when it passes. */
  deadline = NO_DEADLINE;
  /** The operation parked here, for the error the owner builds. Set by #wait(). */
  op = "";
  /** Parked with parkDirect: ready() calls owner.resume(h) instead of resolving. Set by #wait(), cleared by unpark(). */
  direct = false;
  /** Timer and abort state, made on first use: most halves never need it. Owned by #armTimer / #clearTimer / #wait / unpark. */
  x: HalfTimers | null = null;

  /** The abort signal of the parked task, if it gave one. */
  get abortSignal(): AbortSignal | null {
    return this.x?.abortSignal ?? null;
  }
}

/** A Half's deadline timer and abort listener. */
class HalfTimers {
  /** Bumped by every deadline change: a timer armed before it is stale. */
  seq = 0;
  timer: ReturnType<typeof setTimeout> | null = null;
  timerAt = 0;
  abortSignal: AbortSignal | null = null;
  abortListener: (() => void) | null = null;
}

/**
 * The pollDesc's owner (the FD): builds the error a parked task fails with,
 * and takes readiness for direct parks.
 */
export interface PollOwner {
  /** The error for CLOSED / TIMEOUT in operation op. */
  error(reason: Reason, op: string): unknown;
  /**
   * Readiness for a direct park on h (still WAITING): the owner retries its
   * syscall at once and either finishes (unpark(h), then settle its
   * operation) or leaves h parked (a spurious wakeup).
   */
  resume(h: Half): void;
  /** A direct park on h ended in err (close, deadline, abort); h is already unparked. */
  abandon(h: Half, err: unknown): void;
}

export class PollDesc {
  /** The descriptor, for the poller; -1 once released (written by the owner). */
  fd: number;
  /** The table slot and generation of this pd's kernel cookie (written by Table.add / remove). */
  slot = -1;
  gen = 0;
  /** Set once by close(): every later check() fails with CLOSED. */
  closing = false;
  /** The poller reported a hang-up or error: sticky, no later edge will repeat it (written by the loop's drain). */
  hup = false;
  /**
   * A socket error the poller reported with the event (kqueue's fflags), 0 if
   * none. The syscall may no longer see it (libkqueue clears SO_ERROR reading
   * it): the I/O path takes it with takeSocketError() when its syscall says
   * EOF or EAGAIN, or dial when SO_ERROR says 0.
   */
  socketError = 0;
  /**
   * Tasks parked here do not keep the process alive (an unref'd listener).
   * Whoever flips it moves the tasks parked at that moment with hooks.reweigh.
   */
  unref = false;
  readonly r = new Half();
  readonly w = new Half();
  /**
   * The owner: parked tasks reject with its errors, so the I/O path needs no
   * wrapper frame to convert reasons, and direct parks call it back. Without
   * one, parked tasks reject with the bare CLOSED / TIMEOUT reasons.
   */
  owner: PollOwner | null = null;

  constructor(fd: number) {
    this.fd = fd;
  }

  #reason(reason: unknown, op: string): unknown {
    return this.owner !== null && (reason === CLOSED || reason === TIMEOUT) ? this.owner.error(reason, op) : reason;
  }

  /** Records the socket error an event carried (0: none; never clears one). */
  noteSocketError(errno: number): void {
    if (errno !== 0) this.socketError = errno;
  }

  /** The recorded socket error, cleared (0 if none). */
  takeSocketError(): number {
    const e = this.socketError;
    this.socketError = 0;
    return e;
  }

  /** CLOSED / TIMEOUT if an operation in this direction must fail now, else null. */
  check(h: Half): Reason | null {
    if (this.closing) return CLOSED;
    const d = h.deadline;
    if (d === NO_DEADLINE) return null;
    if (d === EXPIRED) return TIMEOUT;
    if (performance.now() >= d) {
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
      this.unpark(h);
      resolve();
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
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    h.resolve = resolve;
    h.reject = reject;
    this.#wait(h, signal, op, false);
    return promise;
  }

  /**
   * Parks the owner's operation on h without a promise: readiness calls
   * owner.resume(h), a failure owner.abandon(h, err). The caller has just
   * seen EAGAIN after check() and consume(). Returns the error to fail with
   * instead (the signal was already aborted).
   */
  parkDirect(h: Half, signal: AbortSignal | undefined, op: string): unknown {
    if (h.state === WAITING) throw new Error("double wait");
    if (signal?.aborted) return signal.reason;
    this.#wait(h, signal, op, true);
    return null;
  }

  #wait(h: Half, signal: AbortSignal | undefined, op: string, direct: boolean): void {
    h.state = WAITING;
    h.direct = direct;
    h.op = op;
    if (h.deadline > 0 && (h.x === null || h.x.timerAt !== h.deadline)) this.#armTimer(h);
    if (signal) {
      const listener = () => this.#fail(h, signal.reason);
      const x = (h.x ??= new HalfTimers());
      x.abortSignal = signal;
      x.abortListener = listener;
      signal.addEventListener("abort", listener, { once: true });
    }
    hooks.parked(1, this.unref);
  }

  /** Sets a deadline (monotonic ms; 0 = none; <= now = already expired). */
  setDeadline(h: Half, mono: number): void {
    this.#clearTimer(h);
    if (mono === 0 || !Number.isFinite(mono)) {
      h.deadline = NO_DEADLINE;
      return;
    }
    if (mono <= performance.now()) {
      h.deadline = EXPIRED;
      if (h.state === WAITING) this.#fail(h, TIMEOUT);
      return;
    }
    h.deadline = mono;
    if (h.state === WAITING) this.#armTimer(h);
  }

  /** Marks closing and wakes every parked task with CLOSED. Idempotent. */
  close(): void {
    this.closing = true;
    for (const h of [this.r, this.w]) {
      this.#clearTimer(h);
      if (h.state === WAITING) this.#fail(h, CLOSED);
      else h.state = NIL;
    }
  }

  get waiting(): number {
    return (this.r.state === WAITING ? 1 : 0) + (this.w.state === WAITING ? 1 : 0);
  }

  #fail(h: Half, reason: unknown): void {
    if (h.state !== WAITING) return;
    const reject = h.reject;
    const op = h.op;
    const direct = h.direct;
    this.unpark(h);
    if (direct) this.owner!.abandon(h, this.#reason(reason, op));
    else reject!(this.#reason(reason, op));
  }

  /** Ends a wait on h (WAITING → NIL) without waking anyone: the owner finishing a direct park. */
  unpark(h: Half): void {
    h.state = NIL;
    h.direct = false;
    h.resolve = null;
    h.reject = null;
    const x = h.x;
    if (x !== null && x.abortSignal !== null) {
      x.abortSignal.removeEventListener("abort", x.abortListener!);
      x.abortSignal = null;
      x.abortListener = null;
    }
    hooks.parked(-1, this.unref);
  }

  #armTimer(h: Half): void {
    this.#clearTimer(h);
    const x = (h.x ??= new HalfTimers());
    const seq = x.seq;
    const at = h.deadline;
    const delay = Math.min(Math.max(0, Math.ceil(at - performance.now())), MAX_TIMER_MS);
    x.timerAt = at;
    x.timer = setTimeout(() => this.#onTimer(h, seq), delay);
    // Deadline timers never keep the process alive on their own: a parked
    // task does (hooks.parked), and a deadline with nobody parked has no one to wake.
    x.timer.unref();
    hooks.timers(1);
  }

  #onTimer(h: Half, seq: number): void {
    const x = h.x!;
    x.timer = null;
    x.timerAt = 0;
    hooks.timers(-1);
    if (seq !== x.seq || h.deadline <= 0) return; // stale: the deadline moved
    if (performance.now() < h.deadline) {
      // Fired early (timer granularity) or the deadline was beyond one timer's reach.
      if (h.state === WAITING) this.#armTimer(h);
      return;
    }
    h.deadline = EXPIRED;
    this.#fail(h, TIMEOUT);
  }

  // Clears h's timer and makes any timer callback already queued stale.
  #clearTimer(h: Half): void {
    const x = h.x;
    if (x === null) return; // never had a timer
    x.seq++;
    if (x.timer !== null) {
      clearTimeout(x.timer);
      x.timer = null;
      hooks.timers(-1);
    }
    x.timerAt = 0;
  }
}
