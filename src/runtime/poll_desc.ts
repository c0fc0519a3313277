// pollDesc: the per-fd parking spot (Go: runtime/netpoll.go).
//
// Each direction (read, write) is a Half holding exactly one latch state:
//
//   NIL ──ready()──► READY            an edge arrived with nobody waiting
//   READY ──consume()──► NIL          the caller retries its syscall at once
//   NIL ──park()──► WAITING           a task awaits; its resolver is stored
//   WAITING ──ready()──► NIL          the poller resumes the task (it retries)
//   WAITING ──expire()/close()──► NIL the task is rejected with TIMEOUT/CLOSED
//   WAITING ──abort──► NIL            the task is rejected with signal.reason
//
// Who moves it: the loop's drain calls ready(); the I/O path (fd.ts, pollfd.ts)
// calls check(), consume() and park(); deadline timers call expire; close()
// comes from the owner. Rules:
// - A timeout or close never plants READY (a later op must not skip its wait
//   on a readiness that never happened).
// - park() while WAITING is a bug in the caller's serialisation: it throws
//   "double wait".
// - Wakeups may be spurious: callers always retry the syscall and park again
//   on EAGAIN.
// - check() runs before each syscall attempt: closing and an expired deadline
//   fail the operation even if data is buffered.
//
// Deadlines are monotonic milliseconds (performance.now()); 0 = none,
// -1 = expired. Each Half has one timer at most; every deadline change bumps
// `seq`, so a stale timer callback finds a different seq and does nothing.

import { hooks } from "./hooks.ts";

export const NIL = 0;
export const READY = 1;
export const WAITING = 2;

/** Rejection reasons for a parked task; the owner turns them into errors. */
export const CLOSED: unique symbol = Symbol("closed");
export const TIMEOUT: unique symbol = Symbol("timeout");
export type Reason = typeof CLOSED | typeof TIMEOUT;

const NO_DEADLINE = 0;
const EXPIRED = -1;
/** setTimeout's ceiling (2^31-1 ms); longer deadlines re-arm when it fires. */
const MAX_TIMER_MS = 0x7fffffff;

export class Half {
  state = NIL;
  resolve: (() => void) | null = null;
  reject: ((reason: unknown) => void) | null = null;
  /** Monotonic ms, NO_DEADLINE or EXPIRED. */
  deadline = NO_DEADLINE;
  seq = 0;
  timer: ReturnType<typeof setTimeout> | null = null;
  timerAt = 0;
  abortSignal: AbortSignal | null = null;
  abortListener: (() => void) | null = null;
  /** The operation parked here, for the error the owner builds. */
  op = "";
}

/** Builds the error a parked task rejects with, from a reason and the operation. */
export interface ErrorFactory {
  error(reason: Reason, op: string): unknown;
}

export class PollDesc {
  /** The descriptor, for the poller; -1 once released. */
  fd: number;
  slot = -1;
  gen = 0;
  closing = false;
  /** The poller reported a hang-up or error: sticky, no later edge will repeat it. */
  hup = false;
  readonly r = new Half();
  readonly w = new Half();
  /**
   * The owner's error factory: parked tasks reject with its result, so the
   * I/O path needs no wrapper frame to convert reasons. Without one they
   * reject with the bare CLOSED / TIMEOUT reasons.
   */
  errorFor: ErrorFactory | null = null;

  constructor(fd: number) {
    this.fd = fd;
  }

  #reason(reason: unknown, op: string): unknown {
    return this.errorFor !== null && (reason === CLOSED || reason === TIMEOUT) ? this.errorFor.error(reason, op) : reason;
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
      const resolve = h.resolve!;
      this.#unpark(h);
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
    h.state = WAITING;
    h.resolve = resolve;
    h.reject = reject;
    h.op = op;
    if (h.deadline > 0 && h.timerAt !== h.deadline) this.#armTimer(h);
    if (signal) {
      const listener = () => this.#fail(h, signal.reason);
      h.abortSignal = signal;
      h.abortListener = listener;
      signal.addEventListener("abort", listener, { once: true });
    }
    hooks.parked(1);
    return promise;
  }

  /** Sets a deadline (monotonic ms; 0 = none; <= now = already expired). */
  setDeadline(h: Half, mono: number): void {
    h.seq++;
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
      h.seq++;
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
    const reject = h.reject!;
    const op = h.op;
    this.#unpark(h);
    reject(this.#reason(reason, op));
  }

  #unpark(h: Half): void {
    h.state = NIL;
    h.resolve = null;
    h.reject = null;
    if (h.abortSignal !== null) {
      h.abortSignal.removeEventListener("abort", h.abortListener!);
      h.abortSignal = null;
      h.abortListener = null;
    }
    hooks.parked(-1);
  }

  #armTimer(h: Half): void {
    this.#clearTimer(h);
    const seq = h.seq;
    const at = h.deadline;
    const delay = Math.min(Math.max(0, Math.ceil(at - performance.now())), MAX_TIMER_MS);
    h.timerAt = at;
    h.timer = setTimeout(() => this.#onTimer(h, seq), delay);
    // Deadline timers never keep the process alive on their own: a parked
    // task does (hooks.parked), and a deadline with nobody parked has no one to wake.
    h.timer.unref();
    hooks.timers(1);
  }

  #onTimer(h: Half, seq: number): void {
    h.timer = null;
    h.timerAt = 0;
    hooks.timers(-1);
    if (seq !== h.seq || h.deadline <= 0) return; // stale: the deadline moved
    if (performance.now() < h.deadline) {
      // Fired early (timer granularity) or the deadline was beyond one timer's reach.
      if (h.state === WAITING) this.#armTimer(h);
      return;
    }
    h.deadline = EXPIRED;
    this.#fail(h, TIMEOUT);
  }

  #clearTimer(h: Half): void {
    if (h.timer !== null) {
      clearTimeout(h.timer);
      h.timer = null;
      hooks.timers(-1);
    }
    h.timerAt = 0;
  }
}
