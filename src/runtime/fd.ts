// FD: one non-blocking descriptor in the loop: its registration, references,
// close and release. Its two directions (direction.ts) run the I/O
// operations (io_op.ts), Go's loop shape: attempt, EAGAIN parks, retry.
//
// References: every operation holds a reference while in flight (queued on a
// direction lock, parked, or in a syscall). close() marks the FD closing and
// wakes every parked task with the closed error; the poller deregistration
// and close(2) run only when the last reference drops, so the kernel cannot
// hand the number to a new descriptor while an old task still uses it (Go
// issue 7970). Operations of one direction are served one at a time in FIFO
// order; a read never blocks a write.
//
// Arguments are checked (bytes.ts) before any lock or reference is taken.
import { fstatSync } from "node:fs";
import { pollNow, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { ClosedError, DeadlineExceededError, type ErrorContext, sysError } from "../errors.ts";
import type { BufferPool } from "./buffer_pool.ts";
import { bytesListArg, ioArgs, signalArg } from "./bytes.ts";
import { type Deadline, type Timeout, timeoutToMono, toMono } from "./deadline.ts";
import { Direction, type DirectionHost } from "./direction.ts";
import { AHEAD_OFF, type Attempt, type ChunkSink, dropAhead, type Op, opName } from "./io_op.ts";
import { getLoop } from "./loop.ts";
import { CLOSED, type Dir, type Half, PollDesc, type PollOwner, TIMEOUT } from "./poll_desc.ts";

export type { Attempt, ChunkSink } from "./io_op.ts";

export type { Dir } from "./poll_desc.ts";

/** Live FDs (opened and not yet released), for leak checks. */
let liveFds = 0;
export function openFdCount(): number {
  return liveFds;
}

export interface FDOptions {
  /** Use send(MSG_NOSIGNAL) for writes: a closed peer is EPIPE, never SIGPIPE. */
  readonly socket: boolean;
  /**
   * close(2) the descriptor on release. false for pollFd: the caller owns
   * it, and its identity (device, inode) is remembered so that release never
   * deregisters a descriptor that reused the number after the caller closed it.
   */
  readonly owned: boolean;
  readonly ctx: ErrorContext;
}

/** The identity of an open file: what the number named at registration. */
interface FileId {
  readonly dev: number;
  readonly ino: number;
}

function fileId(fd: number): FileId | null {
  try {
    const st = fstatSync(fd);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

/** FD.#refs once released (no reference is taken after close, so it never counts again). */
const RELEASED = -1;

export class FD implements PollOwner, DirectionHost {
  readonly sysfd: number;
  readonly pd: PollDesc;
  readonly socket: boolean;
  readonly owned: boolean;
  /** Error context (network and address); the net layer fills it in. */
  ctx: ErrorContext;
  /** Read-ahead (io_op.ts): AHEAD_OFF unless the net layer turns it on for a TCP conn. */
  readAhead = AHEAD_OFF;
  /** Bytes read ahead and not yet handed out (a view into a chunkPool buffer), or null. */
  ahead: Uint8Array | null = null;
  /** For caller-owned descriptors: what sysfd named at registration. */
  #file: FileId | null;
  /** In-flight references; RELEASED once the descriptor is released. */
  #refs = 0;
  /** close() waiting for the last in-flight operation. */
  #closeWait: PromiseWithResolvers<void> | null = null;

  /** Registers sysfd with this thread's poller. Throws NetError (op "register") on failure. */
  constructor(sysfd: number, opts: FDOptions) {
    this.sysfd = sysfd;
    this.socket = opts.socket;
    this.owned = opts.owned;
    this.ctx = opts.ctx;
    this.#file = opts.owned ? null : fileId(sysfd);
    // The directions are the pollDesc's halves: pd.r, and pd.w made (a
    // Direction too) on the first write.
    this.pd = new PollDesc(sysfd, new Direction());
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
  error(reason: unknown, op: string | object): unknown {
    if (reason !== CLOSED && reason !== TIMEOUT) return reason;
    const name = typeof op === "string" ? op : opName(op as Op);
    return reason === CLOSED ? new ClosedError(name, this.ctx) : new DeadlineExceededError(name, this.ctx);
  }

  /** Takes an in-flight reference, or throws the closed error. */
  incref(op: string): void {
    if (this.pd.closing) throw new ClosedError(op, this.ctx);
    this.#refs++;
  }

  /** @internal Takes a reference after the caller saw the FD open (no check). */
  addRef(): void {
    this.#refs++;
  }

  decref(): void {
    if (--this.#refs === 0 && this.pd.closing) this.#release();
  }

  #half(d: Dir): Half {
    return d === "r" ? this.pd.r : this.pd.w;
  }

  /**
   * Sets the deadline of `which` direction(s): epoch ms, a Date, or null for
   * none. Throws ClosedError (naming op) once the FD is closing.
   */
  setDeadline(which: Dir | "rw", t: Deadline, op: string): void {
    this.setMonoDeadline(which, toMono(t, op), op);
  }

  /**
   * Sets the deadline of `which` direction(s) to ms from now (null or 0:
   * none; negative: expired). Throws TypeError for a bad ms, ClosedError
   * once the FD is closing.
   */
  setTimeout(which: Dir | "rw", ms: Timeout, op: string): void {
    this.setMonoDeadline(which, timeoutToMono(op, ms), op);
  }

  /** setDeadline with a monotonic time (performance.now() ms; 0 = none). */
  setMonoDeadline(which: Dir | "rw", mono: number, op: string): void {
    if (this.pd.closing) throw new ClosedError(op, this.ctx);
    if (which !== "w") this.pd.setDeadline(this.pd.r, mono);
    if (which !== "r") this.pd.setWriteDeadline(mono);
  }

  /** Wakes a parked reader to try its syscall again (after shutdown(SHUT_RD), which raises no edge). */
  kickRead(): void {
    this.pd.ready(this.pd.r);
  }

  /** Throws the closed / timeout error if h must fail before a syscall. */
  takeSocketError(): number {
    return this.pd.takeSocketError();
  }

  check(h: Half, op: string): void {
    const reason = this.pd.check(h);
    if (reason !== null) throw this.error(reason, op);
  }

  /**
   * Reads into buf (a stream; any ArrayBufferView, by its bytes). Resolves
   * the byte count, null at EOF, or 0 at once for an empty buf. Rejects with
   * TypeError for anything else (and changes nothing).
   */
  read(buf: ArrayBufferView, signal?: AbortSignal): Promise<number | null> {
    const b = ioArgs("read", buf, signal);
    if (b instanceof TypeError) return Promise.reject(b);
    return (this.pd.r as Direction).run({ kind: "read", buf: b }, signal) as Promise<number | null>;
  }

  /**
   * Reads into a buffer borrowed from pool only once data is there: while
   * parked, nothing is held. Resolves a view of the bytes read (the caller
   * gives it back), or null at EOF. With no pooled buffer free, reads into
   * the pool's scratch and resolves an exact-size copy.
   */
  readPooled(pool: BufferPool, signal?: AbortSignal): Promise<Uint8Array | null> {
    return (this.pd.r as Direction).run({ kind: "pooled", pool }, signal) as Promise<Uint8Array | null>;
  }

  /**
   * readPooled for an async iterator: resolves the iterator result itself
   * (no wrapper promise per step) and records the pooled buffer in
   * sink.lent, for the iterator to give back on its next step.
   */
  readChunk(sink: ChunkSink): Promise<IteratorResult<Uint8Array, undefined>> {
    return (this.pd.r as Direction).run(sink, undefined) as Promise<IteratorResult<Uint8Array, undefined>>;
  }

  /**
   * Writes all of buf (any ArrayBufferView, by its bytes); resolves its
   * byte length. A failure's error has bytesWritten set; a bad argument
   * rejects with TypeError and changes nothing.
   */
  write(buf: ArrayBufferView, signal?: AbortSignal): Promise<number> {
    const b = ioArgs("write", buf, signal);
    if (b instanceof TypeError) return Promise.reject(b);
    return (this.pd.w as Direction).run({ kind: "write", buf: b, off: 0 }, signal) as Promise<number>;
  }

  /** Writes the concatenation of bufs with writev/sendmsg, IOV_MAX at a time; resolves the total. */
  writev(bufs: readonly ArrayBufferView[], signal?: AbortSignal): Promise<number> {
    let list: readonly Uint8Array[];
    try {
      list = bytesListArg("writev", "bufs", bufs);
      signalArg("writev", signal);
    } catch (err) {
      return Promise.reject(err);
    }
    let total = 0;
    for (const b of list) total += b.length;
    return (this.pd.w as Direction).run({ kind: "writev", bufs: list, total, idx: 0, off: 0, written: 0 }, signal) as Promise<number>;
  }

  /**
   * Runs a non-blocking attempt on direction d until it succeeds: attempt
   * returns its result, or -errno on failure (EAGAIN parks, EINTR retries).
   * For accept, recvfrom, sendto, connect and friends; holds the direction's
   * lock. Anything the attempt decodes from shared scratch must be decoded
   * inside it and returned.
   */
  io<T>(d: Dir, op: string, syscall: string, attempt: Attempt<T>, signal?: AbortSignal): Promise<T> {
    return ((d === "r" ? this.pd.r : this.pd.w) as Direction).run({ kind: "io", op, syscall, attempt }, signal) as Promise<T>;
  }

  /**
   * Runs fn with a reference and direction d's lock held (after every
   * operation queued before it); rejects with ClosedError if the FD is or
   * becomes closing first, or `signal.reason` on abort while queued. Lock
   * and reference are released in a finally on every path.
   */
  async exclusive<T>(d: Dir, op: string, fn: (h: Half) => T | Promise<T>, signal?: AbortSignal): Promise<T> {
    const h = this.#half(d);
    this.incref(op);
    try {
      const wait = h.acquire(signal);
      if (wait !== null) await wait.catch((reason: unknown) => Promise.reject(this.error(reason, op)));
      try {
        if (this.pd.closing) throw new ClosedError(op, this.ctx);
        return await fn(h);
      } finally {
        h.release();
      }
    } finally {
      this.decref();
    }
  }

  /**
   * One readiness wait on direction d, serialised with its other waiters:
   * resolves at once if readiness is latched, else parks. For pollFd's edge
   * mode. Follows a replaced descriptor first (followFile).
   */
  waitOnce(d: Dir, op: string, signal?: AbortSignal): Promise<void> {
    // A Direction operation like a read: with the lock free it runs at once
    // and parks directly, so a wakeup settles the caller's one promise.
    return ((d === "r" ? this.pd.r : this.pd.w) as Direction).run({ kind: "wait", op, fresh: true }, signal) as Promise<void>;
  }

  /**
   * A level-triggered readiness wait on direction d, for pollFd's level
   * mode: resolves at once while the descriptor is readable (POLLIN) or
   * writable (POLLOUT), hung up or in error, asking the kernel with a
   * zero-timeout poll(2) on this one descriptor; otherwise parks on the
   * edge-triggered registration and asks again after every wakeup. No
   * readiness is stored between waits, so there is nothing to clear and
   * nothing stale to report. Follows a replaced descriptor first
   * (followFile). Rejects like waitOnce, or with NetError (syscall "poll")
   * if poll fails or reports the number closed (EBADF).
   */
  waitLevel(d: Dir, op: string, signal?: AbortSignal): Promise<void> {
    const want = d === "r" ? C.POLLIN : C.POLLOUT;
    return this.exclusive(
      d,
      op,
      async (h) => {
        for (;;) {
          this.check(h, op);
          this.followFile(op);
          // A latched edge says less than the question asked next: drop it.
          this.pd.consume(h);
          const rev = pollNow(this.sysfd, want);
          if (rev < 0) throw sysError(op, "poll", -rev, this.ctx);
          if (rev & C.POLLNVAL) throw sysError(op, "poll", E.EBADF, this.ctx);
          if (rev & (want | C.POLLHUP | C.POLLERR)) return;
          // Not ready now: any change from here on is an edge the poller
          // delivers (nothing runs between the poll and the park).
          await this.pd.park(h, signal, op);
        }
      },
      signal,
    );
  }

  /**
   * For a caller-owned descriptor: makes sure its number still names the
   * file registered. When the owner closed it and a new descriptor took the
   * number (a C library reconnecting to its next address), the poller's
   * registration went with the old file; the new file is registered in its
   * place under a fresh cookie, latched readiness is dropped, and its
   * identity becomes the one remembered. Throws NetError: EBADF (syscall
   * "fstat") when the number is closed, EEXIST when another descriptor of
   * this loop holds the number now, or the poller's registration error.
   */
  followFile(op: string): void {
    const was = this.#file;
    if (was === null) return;
    const now = fileId(this.sysfd);
    if (now === null) throw sysError(op, "fstat", E.EBADF, this.ctx);
    if (now.dev === was.dev && now.ino === was.ino) return;
    const loop = getLoop();
    const err = loop.reregister(this.pd);
    if (err !== 0) throw sysError(op, err === E.EEXIST ? "" : loop.poller.registerSyscall, err, this.ctx);
    this.#file = now;
    this.pd.hup = false;
    this.pd.takeSocketError();
    for (const h of [this.pd.r, this.pd.w]) this.pd.consume(h);
  }

  /** @internal Readiness for the parked operation on h (PollOwner). */
  resume(h: Half): void {
    (h as Direction).resume();
  }

  /** @internal The parked operation on h failed (PollOwner). */
  abandon(h: Half, err: unknown): void {
    (h as Direction).abandon(err);
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
    // Parked operations are settled (and their references dropped) right
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
    return this.#refs === RELEASED ? Promise.resolve() : (this.#closeWait?.promise ?? Promise.resolve());
  }

  get isReleased(): boolean {
    return this.#refs === RELEASED;
  }

  #release(): void {
    if (this.#refs === RELEASED) return;
    this.#refs = RELEASED;
    liveFds--;
    // A caller-owned descriptor may have been closed already, and its number
    // reused by someone else's file: deregistering by number would remove
    // that file's registration. Deregister only if the number still names
    // the file registered (its own close already took it out of the poller).
    if (this.#file !== null) {
      const now = fileId(this.sysfd);
      if (now === null || now.dev !== this.#file.dev || now.ino !== this.#file.ino) this.pd.fd = -1;
    }
    getLoop().deregister(this.pd);
    dropAhead(this);
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
