// One direction (read or write) of an FD: the lock, the operation in flight,
// and Go's loop shape around it: attempt the syscall; on EAGAIN park on the
// pollDesc; on readiness attempt again (see io_op.ts for the attempt).
//
// Operations are not async functions: with the lock free (the common case)
// the attempt runs at once, and one that must wait parks directly on the
// pollDesc, which calls resume() from the loop's drain to attempt it again
// and settle the caller's promise. So a message costs one promise (the
// caller's), an idle connection holds that promise and nothing else, and
// close() settles a parked operation (and releases the descriptor) before
// it returns.
import type { ErrorContext } from "../errors.ts";
import { AGAIN, attempt, type IoTarget, type Op, opName, withProgress } from "./io_op.ts";
import { Half, parkedPromise, type PollDesc, Rejection } from "./poll_desc.ts";

/** What a Direction needs from its FD (besides the attempt's IoTarget). */
export interface DirectionHost extends IoTarget {
  readonly pd: PollDesc;
  readonly ctx: ErrorContext;
  /** Takes a reference; the caller has checked that the FD is not closing. */
  addRef(): void;
  /** Takes a reference, or throws the closed error. */
  incref(op: string): void;
  decref(): void;
  /** The error for a lock's rejection reason. */
  error(reason: unknown, op: string): unknown;
}

/**
 * Settled promises for results, shared by every FD: awaiting one is the same
 * as awaiting a fresh one, and request/response traffic repeats the same few
 * sizes, so most operations that finish at once allocate no promise. One
 * cache per direction, so reads and writes do not evict each other.
 */
class Settled {
  #v: unknown = Symbol("none");
  #p: Promise<unknown> = Promise.resolve(undefined);

  for(v: unknown): Promise<unknown> {
    if (typeof v !== "number" && v !== null) return Promise.resolve(v);
    if (v !== this.#v) {
      this.#v = v;
      this.#p = Promise.resolve(v);
    }
    return this.#p;
  }
}

const settledReads = new Settled();
const settledWrites = new Settled();

/**
 * A direction is also its pollDesc Half (and so its FIFO lock): an FD is one
 * PollDesc and two of these, the fewest objects an idle connection can hold.
 */
export class Direction extends Half {
  // No fields of its own: a parked operation lives in the Half's op (the
  // Op) and resolve (its promise's resolve; it fails with a Rejection).

  /** The FD (this direction's pollDesc owner). */
  get #host(): DirectionHost {
    return this.pd!.owner as unknown as DirectionHost;
  }

  get #settled(): Settled {
    return this === this.pd!.r ? settledReads : settledWrites;
  }

  /** Runs op to completion: its value, or the closed / timeout / system error or abort reason. */
  run(op: Op, signal: AbortSignal | undefined): Promise<unknown> {
    const host = this.#host;
    if (host.pd.closing || !this.tryAcquire()) return this.#queued(op, signal);
    host.addRef();
    return this.#start(op, signal);
  }

  async #queued(op: Op, signal: AbortSignal | undefined): Promise<unknown> {
    const host = this.#host;
    const name = opName(op);
    host.incref(name);
    let locked = false;
    try {
      const wait = this.acquire(signal);
      if (wait !== null) await wait;
      locked = true;
    } catch (reason) {
      throw host.error(reason, name);
    } finally {
      if (!locked) host.decref();
    }
    return this.#start(op, signal);
  }

  // With the lock and a reference held: attempt, park on EAGAIN, or settle.
  // The lock and reference are released in the finally unless a park took
  // them over (then resume() or abandon() releases them).
  #start(op: Op, signal: AbortSignal | undefined): Promise<unknown> {
    const pd = this.#host.pd;
    const h: Half = this;
    let parked = false;
    try {
      for (;;) {
        const v = attempt(this.#host, h, op);
        if (v !== AGAIN) return this.#settled.for(v);
        if (pd.consume(h)) continue;
        const err = pd.parkDirect(h, signal, op);
        if (err !== null) throw err;
        parked = true;
        // A read parks: the connection may be going idle; let it hold no write half.
        if (h === pd.r) pd.dropIdleWrite();
        return parkedPromise(this);
      }
    } catch (err) {
      return Promise.reject(withProgress(op, err));
    } finally {
      if (!parked) this.#end();
    }
  }

  /** Readiness for the parked operation: attempt it again; settle it, or stay parked (a spurious wakeup). */
  resume(): void {
    const op = this.op as Op;
    let v: unknown;
    try {
      v = attempt(this.#host, this, op);
    } catch (err) {
      this.#host.pd.unpark(this);
      this.abandon(err);
      return;
    }
    if (v === AGAIN) return;
    this.#host.pd.unpark(this);
    const resolve = this.resolve!;
    this.#end();
    resolve(v);
  }

  /** The parked operation failed (close, deadline, abort, or its syscall); h is already unparked. */
  abandon(err: unknown): void {
    const resolve = this.resolve!;
    const op = this.op as Op;
    this.#end();
    resolve(new Rejection(withProgress(op, err)));
  }

  // The operation has settled: drop it, then the lock and the reference.
  #end(): void {
    this.op = "";
    this.resolve = null;
    try {
      this.release();
    } finally {
      this.#host.decref();
    }
  }
}
