// FD: one non-blocking descriptor in the loop, with Go's I/O loop shape
// (internal/poll/fd_unix.go): check errors, try the syscall, on EAGAIN park on
// the pollDesc, retry. EINTR is retried here and nowhere else.
//
// References: every operation holds a reference while in flight (queued on a
// direction lock, parked, or in a syscall). close() marks the FD closing and
// wakes every parked task with the closed error; epoll_ctl(DEL) and close(2)
// run only when the last reference drops, so the kernel cannot hand the number
// to a new descriptor while an old task still uses it (Go issue 7970).
// Reads are served one at a time in FIFO order, writes too; a read never
// blocks a write.
//
// Read-side operations (read, pooled reads, accept and recvfrom via io())
// park directly: the drain calls resume(), which retries the syscall and
// settles the caller's promise, so there is no async frame in between.
// Writes, which rarely wait, are async functions parked on a promise.
import { ptr } from "bun:ffi";
import { IOVEC } from "../../ffi/layout.ts";
import { errno, sys } from "../../ffi/libc.ts";
import { C, E, platform } from "../../ffi/platform.ts";
import { ClosedError, DeadlineExceededError, type ErrorContext, NetError, sysError } from "../errors.ts";
import type { BufferPool } from "./buffer_pool.ts";
import { type Deadline, toMono } from "./deadline.ts";
import type { FifoLock } from "./lock.ts";
import { getLoop } from "./loop.ts";
import { CLOSED, type Half, PollDesc, type PollOwner, TIMEOUT } from "./poll_desc.ts";

const EAGAIN = E.EAGAIN!;
const EINTR = E.EINTR!;
// Writes to a closed peer are EPIPE, never SIGPIPE: MSG_NOSIGNAL where it
// exists, SO_NOSIGPIPE on the socket elsewhere (see net/sys.ts).
const MSG_NOSIGNAL = C.MSG_NOSIGNAL > 0 ? C.MSG_NOSIGNAL : 0;
const IOV_MAX = C.IOV_MAX;
const MSGHDR = platform.msghdr;
const TWO_32 = 0x1_0000_0000;

/** A failed write's error says how many bytes the kernel had accepted. */
function withBytesWritten(err: unknown, n: number): unknown {
  if (err instanceof NetError) err.bytesWritten = n;
  return err;
}

/** Read modes: into the caller's buffer, a pooled chunk, an iterator result. */
const R_BUF = 0;
const R_POOL = 1;
const R_ITER = 2;
/** io() on the read side: an attempt function (accept, recvfrom, …). */
const R_IO = 3;
/** A read attempt that found nothing (EAGAIN). */
const AGAIN: unique symbol = Symbol("again");

/**
 * Where readChunk() records what it lends (an async iterator's state): the
 * pooled buffer behind the chunk, for the iterator to give back whole on its
 * next step (null when the chunk is a copy).
 */
export interface ChunkSink {
  readonly pool: BufferPool;
  lent: Uint8Array | null;
}

// Settled promises for byte counts, shared by every FD: awaiting one is the
// same as awaiting a fresh one, and request/response traffic repeats the
// same few sizes, so most reads and writes that finish at once allocate no
// promise. One entry per direction, so reads and writes do not evict each other.
let readDoneN: unknown = Symbol("none");
let readDone: Promise<unknown> = Promise.resolve(undefined);
let wroteN = -1;
let wrote: Promise<number> = Promise.resolve(0);

function readDoneFor(v: unknown): Promise<unknown> {
  if (typeof v !== "number" && v !== null) return Promise.resolve(v);
  if (v !== readDoneN) {
    readDoneN = v;
    readDone = Promise.resolve(v);
  }
  return readDone;
}

function wroteFor(n: number): Promise<number> {
  if (n !== wroteN) {
    wroteN = n;
    wrote = Promise.resolve(n);
  }
  return wrote;
}

// A parked read's promise is made with a shared executor that hands its
// resolving functions over through these two (no result object per park).
let nextResolve: ((v: unknown) => void) | null = null;
let nextReject: ((err: unknown) => void) | null = null;
function capture(resolve: (v: unknown) => void, reject: (err: unknown) => void): void {
  nextResolve = resolve;
  nextReject = reject;
}

/** Live FDs (opened and not yet released), for leak checks. */
let liveFds = 0;
export function openFdCount(): number {
  return liveFds;
}

export interface FDOptions {
  /** Use send(MSG_NOSIGNAL) for writes: a closed peer is EPIPE, never SIGPIPE. */
  readonly socket: boolean;
  /** close(2) the descriptor on release (false for pollFd: the caller owns it). */
  readonly owned: boolean;
  readonly ctx: ErrorContext;
}

// Scratch for vectored writes: filled right before sendmsg/writev, used in
// the same synchronous block, never across an await.
const iovecs = new Uint8Array(new ArrayBuffer(IOVEC.size * IOV_MAX));
const iovView = new DataView(iovecs.buffer);
const msghdr = new Uint8Array(new ArrayBuffer(MSGHDR.size));
const msgView = new DataView(msghdr.buffer);

export class FD implements PollOwner {
  readonly sysfd: number;
  readonly pd: PollDesc;
  readonly socket: boolean;
  readonly owned: boolean;
  /** Error context (network and address); the net layer fills it in. */
  ctx: ErrorContext;
  /** The read direction's lock (the pollDesc's read half). */
  get rlock(): FifoLock {
    return this.pd.r;
  }
  /** The write direction's lock (the pollDesc's write half). */
  get wlock(): FifoLock {
    return this.pd.w;
  }
  #refs = 0;
  /**
   * The last read came back short: the receive queue was empty right after
   * it, so any later data makes a new edge. The next read parks first
   * instead of trying a read that would only say EAGAIN (one syscall saved
   * per message in request/response traffic). Not after a hang-up or error
   * was reported: an EOF already pending raises no new edge.
   */
  #drained = false;
  #released = false;
  // The read parked directly on the pollDesc (see #read), if any.
  #rmode = R_BUF;
  /** By mode: the caller's buffer, the pool, the sink, or the io() attempt. */
  #rarg: unknown = null;
  #rop = "read";
  #rsyscall = "read";
  #rresolve: ((v: unknown) => void) | null = null;
  #rreject: ((err: unknown) => void) | null = null;
  /** close() waiting for the last in-flight operation. */
  #closeWait: PromiseWithResolvers<void> | null = null;

  /** Registers sysfd with this thread's loop. Throws NetError (op "register") on failure. */
  constructor(sysfd: number, opts: FDOptions) {
    this.sysfd = sysfd;
    this.socket = opts.socket;
    this.owned = opts.owned;
    this.ctx = opts.ctx;
    this.pd = new PollDesc(sysfd);
    this.pd.owner = this;
    const loop = getLoop();
    const err = loop.register(this.pd);
    if (err !== 0) throw sysError("register", loop.poller.registerSyscall, err, opts.ctx);
    liveFds++;
  }

  get closing(): boolean {
    return this.pd.closing;
  }

  /** The error for a rejection reason from the pollDesc or a lock. */
  error(reason: unknown, op: string): unknown {
    if (reason === CLOSED) return new ClosedError(op, this.ctx);
    if (reason === TIMEOUT) return new DeadlineExceededError(op, this.ctx);
    return reason;
  }

  /** Takes an in-flight reference, or throws the closed error. */
  incref(op: string): void {
    if (this.pd.closing) throw new ClosedError(op, this.ctx);
    this.#refs++;
  }

  decref(): void {
    if (--this.#refs === 0 && this.pd.closing) this.#release();
  }

  /**
   * Sets the deadline of `which` direction(s): epoch ms, a Date, or null for
   * none. Throws ClosedError (naming op) once the FD is closing.
   */
  setDeadline(which: "r" | "w" | "rw", t: Deadline, op: string): void {
    if (this.pd.closing) throw new ClosedError(op, this.ctx);
    const mono = toMono(t);
    if (which !== "w") this.pd.setDeadline(this.pd.r, mono);
    if (which !== "r") this.pd.setDeadline(this.pd.w, mono);
  }

  /** Makes the next read try its syscall at once, waking a parked reader (after shutdown(SHUT_RD)). */
  kickRead(): void {
    this.#drained = false;
    this.pd.ready(this.pd.r);
  }

  /** Throws the closed / timeout error if h must fail before a syscall. */
  check(h: Half, op: string): void {
    const reason = this.pd.check(h);
    if (reason !== null) throw this.error(reason, op);
  }

  /**
   * Starts an operation: takes a reference, then the direction's lock.
   * Returns null when the lock was free (the common case, no promise), else a
   * promise that resolves once it is ours. On failure the reference is dropped
   * and the error thrown (closed, or the abort reason).
   */
  #enter(lock: FifoLock, op: string, signal?: AbortSignal): Promise<void> | null {
    this.incref(op);
    const wait = lock.acquire(signal);
    if (wait === null) return null;
    return wait.then(undefined, (reason) => {
      this.decref();
      throw this.error(reason, op);
    });
  }

  /**
   * Waits for readiness on h after EAGAIN: undefined at once if readiness is
   * latched (retry now), else the parking promise. Rejections are already
   * the closed / timeout errors (the pollDesc's owner). For writes, dial
   * and io() on the write side; reads park directly (see #read).
   */
  wait(h: Half, op: string, signal?: AbortSignal): Promise<void> | undefined {
    if (this.pd.consume(h)) return undefined;
    return this.pd.park(h, signal, op);
  }

  /**
   * Reads into buf (a stream). Resolves the byte count, null at EOF, or 0 at
   * once for an empty buf.
   */
  read(buf: Uint8Array, signal?: AbortSignal): Promise<number | null> {
    return this.#read(R_BUF, buf, "read", "read", signal) as Promise<number | null>;
  }

  /**
   * Reads into a buffer borrowed from pool only once data is there: while
   * parked, nothing is held. Resolves a view of the bytes read (the caller
   * gives it back), or null at EOF. With no pooled buffer free, reads into
   * the pool's scratch and resolves an exact-size copy.
   */
  readPooled(pool: BufferPool, signal?: AbortSignal): Promise<Uint8Array | null> {
    return this.#read(R_POOL, pool, "read", "read", signal) as Promise<Uint8Array | null>;
  }

  /**
   * readPooled for an async iterator: resolves the iterator result itself
   * (no wrapper promise per step) and records the pooled buffer in
   * sink.lent, for the iterator to give back on its next step.
   */
  readChunk(sink: ChunkSink): Promise<IteratorResult<Uint8Array, undefined>> {
    return this.#read(R_ITER, sink, "read", "read", undefined) as Promise<IteratorResult<Uint8Array, undefined>>;
  }

  // Reads are not async functions: with the lock free (the common case) the
  // attempt runs at once, and a read that must wait parks directly on the
  // pollDesc, which calls resume() from the loop's drain to retry it. So a
  // message costs one promise (the caller's), an idle connection holds that
  // promise and nothing else of the read, and close() settles a parked read
  // (and releases the descriptor) before it returns.
  #read(mode: number, arg: unknown, op: string, syscall: string, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.pd.closing || !this.pd.r.tryAcquire()) return this.#readQueued(mode, arg, op, syscall, signal);
    this.#refs++;
    return this.#readStart(mode, arg, op, syscall, signal);
  }

  async #readQueued(mode: number, arg: unknown, op: string, syscall: string, signal: AbortSignal | undefined): Promise<unknown> {
    const entered = this.#enter(this.pd.r, op, signal);
    if (entered !== null) await entered;
    return this.#readStart(mode, arg, op, syscall, signal);
  }

  // With the lock and a reference held: record the operation, then attempt,
  // park on EAGAIN, or settle.
  #readStart(mode: number, arg: unknown, op: string, syscall: string, signal: AbortSignal | undefined): Promise<unknown> {
    this.#rmode = mode;
    this.#rarg = arg;
    this.#rop = op;
    this.#rsyscall = syscall;
    const r = this.pd.r;
    try {
      // After a short read the queue was empty: wait for the next edge (or
      // take one already latched) instead of a read that says EAGAIN.
      let attempt = !this.#drained || this.#rmode === R_IO;
      this.#drained = false;
      for (;;) {
        let v: unknown = AGAIN;
        if (attempt) {
          v = this.#readOnce();
        } else {
          this.check(r, this.#rop);
          if (this.#rmode === R_BUF && (this.#rarg as Uint8Array).length === 0) v = 0;
        }
        if (v !== AGAIN) {
          this.#readEnd();
          return readDoneFor(v);
        }
        attempt = true;
        if (this.pd.consume(r)) continue;
        const err = this.pd.parkDirect(r, signal, this.#rop);
        if (err !== null) throw err;
        const promise = new Promise<unknown>(capture);
        this.#rresolve = nextResolve;
        this.#rreject = nextReject;
        nextResolve = nextReject = null;
        return promise;
      }
    } catch (err) {
      this.#readEnd();
      return Promise.reject(err);
    }
  }

  // One attempt of the current read-side operation (EINTR retried): the
  // value to resolve, or AGAIN. Throws the closed / timeout / system error.
  #readOnce(): unknown {
    const r = this.pd.r;
    const mode = this.#rmode;
    for (;;) {
      this.check(r, this.#rop);
      let n: number;
      if (mode === R_BUF) {
        const buf = this.#rarg as Uint8Array;
        const len = buf.length;
        if (len === 0) return 0;
        n = sys.read(this.sysfd, buf, len);
        if (n > 0) {
          this.#drained = n < len && !this.pd.hup;
          return n;
        }
        if (n === 0) return this.#socketError() ?? null;
      } else if (mode === R_IO) {
        const res = (this.#rarg as () => unknown)();
        if (typeof res !== "number" || res >= 0) return res;
        const e = -res;
        if (e === EAGAIN) return this.#socketError() ?? AGAIN;
        if (e === EINTR) continue;
        throw sysError(this.#rop, this.#rsyscall, e, this.ctx);
      } else {
        const sink = mode === R_ITER ? (this.#rarg as ChunkSink) : null;
        const pool = sink !== null ? sink.pool : (this.#rarg as BufferPool);
        const pooled = pool.takeFree();
        const b = pooled ?? pool.scratch;
        n = sys.read(this.sysfd, b, b.length);
        if (n > 0) {
          this.#drained = n < b.length && !this.pd.hup;
          const chunk = pooled !== null ? pooled.subarray(0, n) : b.slice(0, n);
          if (sink === null) return chunk;
          sink.lent = pooled;
          return { value: chunk, done: false };
        }
        if (pooled !== null) pool.giveWhole(pooled);
        if (n === 0) return this.#socketError() ?? (sink === null ? null : { value: undefined, done: true });
      }
      const e = errno();
      if (e === EAGAIN) return this.#socketError() ?? AGAIN;
      if (e !== EINTR) throw sysError("read", "read", e, this.ctx);
    }
  }

  // A socket error the poller reported that the syscall (EOF or EAGAIN) no
  // longer shows: throws it, once. Returns undefined when there is none.
  #socketError(): undefined {
    const e = this.pd.takeSocketError();
    if (e !== 0) throw sysError(this.#rop, this.#rsyscall, e, this.ctx);
    return undefined;
  }

  // The read-side operation has settled: drop its fields, lock and reference.
  #readEnd(): void {
    this.#rarg = null;
    this.#rresolve = null;
    this.#rreject = null;
    this.pd.r.release();
    this.decref();
  }

  /** @internal Readiness for the parked read-side operation (PollOwner). */
  resume(h: Half): void {
    let v: unknown;
    try {
      v = this.#readOnce();
    } catch (err) {
      this.pd.unpark(h);
      this.abandon(h, err);
      return;
    }
    if (v === AGAIN) return; // spurious: stay parked
    this.pd.unpark(h);
    const resolve = this.#rresolve!;
    this.#readEnd();
    resolve(v);
  }

  /** @internal The parked read-side operation failed (PollOwner). */
  abandon(_h: Half, err: unknown): void {
    const reject = this.#rreject!;
    this.#readEnd();
    reject(err);
  }

  /** Writes all of buf; rejects with bytesWritten set on the error. */
  write(buf: Uint8Array, signal?: AbortSignal): Promise<number> {
    // Fast path, with no async frame: the direction is free and the kernel
    // takes the whole buffer at once (the common case in request/response
    // traffic). Anything else continues in #writeSlow with what was learnt.
    if (this.pd.closing || !this.pd.w.tryAcquire()) return this.#writeSlow(buf, signal, false, 0, false);
    this.#refs++;
    const len = buf.length;
    if (len > 0 && this.pd.check(this.pd.w) === null) {
      const n = this.socket ? sys.send(this.sysfd, buf, len, MSG_NOSIGNAL) : sys.write(this.sysfd, buf, len);
      if (n === len) {
        this.pd.w.release();
        this.decref();
        return wroteFor(len);
      }
      if (n >= 0) return this.#writeSlow(buf, signal, true, n, false);
      const e = errno();
      if (e === EAGAIN) return this.#writeSlow(buf, signal, true, 0, true);
      if (e !== EINTR) {
        const err = sysError("write", this.socket ? "send" : "write", e, this.ctx);
        this.pd.w.release();
        this.decref();
        return Promise.reject(err);
      }
    }
    return this.#writeSlow(buf, signal, true, 0, false);
  }

  // The general write loop. `locked`: the caller already holds the lock and a
  // reference; `off`: bytes already written; `parkFirst`: the last attempt
  // said EAGAIN.
  async #writeSlow(buf: Uint8Array, signal: AbortSignal | undefined, locked: boolean, off: number, parkFirst: boolean): Promise<number> {
    if (!locked) {
      const entered = this.#enter(this.pd.w, "write", signal);
      if (entered !== null) await entered;
    }
    const w = this.pd.w;
    const len = buf.length;
    try {
      if (parkFirst) await this.wait(w, "write", signal);
      for (;;) {
        this.check(w, "write");
        if (off === len) return len;
        const view = off === 0 ? buf : buf.subarray(off);
        const n = this.socket
          ? sys.send(this.sysfd, view, len - off, MSG_NOSIGNAL)
          : sys.write(this.sysfd, view, len - off);
        if (n >= 0) {
          off += n;
          if (off === len) return len;
          continue;
        }
        const e = errno();
        if (e === EAGAIN) await this.wait(w, "write", signal);
        else if (e !== EINTR) throw sysError("write", this.socket ? "send" : "write", e, this.ctx);
      }
    } catch (err) {
      throw withBytesWritten(err, off);
    } finally {
      this.pd.w.release();
      this.decref();
    }
  }

  /** Writes the concatenation of bufs with writev/sendmsg, IOV_MAX at a time. */
  async writev(bufs: readonly Uint8Array[], signal?: AbortSignal): Promise<number> {
    const entered = this.#enter(this.pd.w, "write", signal);
    if (entered !== null) await entered;
    const w = this.pd.w;
    let total = 0;
    for (const b of bufs) total += b.length;
    let written = 0;
    let idx = 0; // first buffer not fully written
    let off = 0; // bytes of bufs[idx] already written
    try {
      for (;;) {
        this.check(w, "write");
        while (idx < bufs.length && off === bufs[idx]!.length) {
          idx++;
          off = 0;
        }
        if (idx >= bufs.length) return total;
        const n = this.#writevOnce(bufs, idx, off);
        if (n >= 0) {
          written += n;
          let left = n;
          while (left > 0) {
            const room = bufs[idx]!.length - off;
            if (left < room) {
              off += left;
              left = 0;
            } else {
              left -= room;
              idx++;
              off = 0;
            }
          }
          if (written === total) return total;
          continue;
        }
        const e = -n;
        if (e === EAGAIN) await this.wait(w, "write", signal);
        else if (e !== EINTR) throw sysError("write", this.socket ? "sendmsg" : "writev", e, this.ctx);
      }
    } catch (err) {
      throw withBytesWritten(err, written);
    } finally {
      this.pd.w.release();
      this.decref();
    }
  }

  // One writev/sendmsg over bufs[idx..] (from off into bufs[idx]); returns
  // bytes written or -errno. Pointers are taken here and used at once: a
  // `.buffer` access first pins small typed arrays, which could otherwise move.
  #writevOnce(bufs: readonly Uint8Array[], idx: number, off: number): number {
    let count = 0;
    for (let i = idx; i < bufs.length && count < IOV_MAX; i++) {
      const b = bufs[i]!;
      const start = i === idx ? off : 0;
      const len = b.length - start;
      if (len === 0) continue;
      void b.buffer;
      const p = ptr(b) + start;
      const at = count * IOVEC.size;
      iovView.setUint32(at + IOVEC.base, p % TWO_32, true);
      iovView.setUint32(at + IOVEC.base + 4, Math.floor(p / TWO_32), true);
      iovView.setUint32(at + IOVEC.len, len, true);
      iovView.setUint32(at + IOVEC.len + 4, 0, true);
      count++;
    }
    let n: number;
    if (this.socket) {
      const m = msgView;
      const ip = ptr(iovecs);
      for (let i = 0; i < MSGHDR.size; i += 4) m.setUint32(i, 0, true);
      m.setUint32(MSGHDR.iov, ip % TWO_32, true);
      m.setUint32(MSGHDR.iov + 4, Math.floor(ip / TWO_32), true);
      m.setUint32(MSGHDR.iovlen, count, true);
      n = sys.sendmsg(this.sysfd, msghdr, MSG_NOSIGNAL);
    } else {
      n = sys.writev(this.sysfd, iovecs, count);
    }
    return n >= 0 ? n : -errno();
  }

  /**
   * Runs a non-blocking attempt until it succeeds: attempt returns its result,
   * or a negative number (-errno) on failure. EAGAIN parks on h; EINTR
   * retries. For accept, recvfrom, sendto and friends; holds the direction's
   * lock. Anything the attempt decodes from shared scratch must be decoded
   * inside it and returned.
   */
  io<T>(h: Half, op: string, syscall: string, attempt: () => T | number, signal?: AbortSignal): Promise<T> {
    if (h === this.pd.r) return this.#read(R_IO, attempt, op, syscall, signal) as Promise<T>;
    return this.#ioWrite(op, syscall, attempt, signal);
  }

  async #ioWrite<T>(op: string, syscall: string, attempt: () => T | number, signal?: AbortSignal): Promise<T> {
    const h = this.pd.w;
    const entered = this.#enter(h, op, signal);
    if (entered !== null) await entered;
    try {
      for (;;) {
        this.check(h, op);
        const res = attempt();
        if (typeof res !== "number" || res >= 0) return res as T;
        const e = -res;
        if (e === EAGAIN) await this.wait(h, op, signal);
        else if (e !== EINTR) throw sysError(op, syscall, e, this.ctx);
      }
    } finally {
      h.release();
      this.decref();
    }
  }

  /**
   * One readiness wait on h, serialised with the direction's other waiters:
   * resolves at once if readiness is latched, else parks. For pollFd.
   */
  async waitOnce(h: Half, op: string, signal?: AbortSignal): Promise<void> {
    const entered = this.#enter(h, op, signal);
    if (entered !== null) await entered;
    try {
      this.check(h, op);
      await this.wait(h, op, signal);
    } finally {
      h.release();
      this.decref();
    }
  }

  /**
   * Closes: new operations fail, parked ones are woken with the closed error.
   * The descriptor is released when the last in-flight operation finishes;
   * the promise resolves then. Throws ClosedError if already closing.
   */
  close(op = "close"): Promise<void> {
    if (this.pd.closing) throw new ClosedError(op, this.ctx);
    const busy = this.#refs > 0;
    this.#closeWait = busy ? Promise.withResolvers<void>() : null;
    // Parked direct reads are settled (and their references dropped) right
    // here; the API calls wrapping them settle a few microtasks later, so
    // close() still resolves a macrotask later (see #release).
    this.pd.close();
    if (!busy) {
      this.#release();
      return Promise.resolve();
    }
    return this.#closeWait!.promise;
  }

  /** Resolves once the descriptor has been released (after close). */
  get released(): Promise<void> {
    return this.#released ? Promise.resolve() : (this.#closeWait?.promise ?? Promise.resolve());
  }

  get isReleased(): boolean {
    return this.#released;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    liveFds--;
    getLoop().deregister(this.pd);
    // close(2) is never retried: on Linux the fd is gone even on EINTR.
    if (this.owned) sys.close(this.sysfd);
    this.pd.fd = -1;
    // Resolve close() a macrotask later: #release runs inside the finally of
    // the last in-flight operation, whose promise (and the promises of the
    // API calls wrapping it, such as accept's retry loop) settle only after
    // it; all of those must settle before close() does.
    const wait = this.#closeWait;
    if (wait !== null) setImmediate(wait.resolve);
  }
}
