// Conn: a connected stream socket (TCP or unix) on the netpoller.
import { errno, sys } from "../../ffi/libc.ts";
import { LINGER } from "../../ffi/layout.ts";
import { C } from "../../ffi/platform.ts";
import { ClosedError, sysError } from "../errors.ts";
import { IO_HINTS, optionsError, SIGNAL_ONLY, type SignalOptions } from "../options.ts";
import { type BufferPool, chunkPool } from "../runtime/buffer_pool.ts";
import type { ChunkSink, FD } from "../runtime/fd.ts";
import { AHEAD_OFF, AHEAD_ON } from "../runtime/io_op.ts";
import { type Addr, toAddr } from "./addr.ts";
import { localName, setIntOpt } from "./sys.ts";
import { connFromFd } from "./adopt.ts";
import { type FdMessage, notUnix, peerCredentials, type PeerCredentials, type ReadFdsOptions, readWithFds, sendWithFds } from "./fdpass.ts";
import { DeadlineSetters } from "../deadlines.ts";

/**
 * Options of one read or write. Any other key rejects with TypeError; a
 * time limit is set per direction beforehand (setReadTimeout(ms),
 * setReadDeadline(t), …), as in Go.
 */
/** Options of read, write and writev: cancellation only. */
export type IoOptions = SignalOptions;

/**
 * A stream connection. Reads and writes park the calling task on the
 * netpoller when the socket is not ready; concurrent reads are served one at
 * a time in order, and so are writes; a read never blocks a write.
 *
 * Errors: ClosedError after close(), DeadlineExceededError when a deadline
 * passes, NetError with the errno name otherwise (`ECONNRESET`, `EPIPE`, …).
 *
 * ```ts
 * const c = await connect({ hostname: "127.0.0.1", port: 8080 });
 * await c.write(new TextEncoder().encode("ping\n"));
 * const buf = new Uint8Array(1024);
 * const n = await c.read(buf); // null at EOF
 * await c.close();
 * ```
 */
export class Conn extends DeadlineSetters implements AsyncDisposable, AsyncIterable<Uint8Array> {
  readonly #fd: FD;
  #local: Addr | null;
  readonly #remote: Addr;
  /** The readable and writable, made on first use (one field: most conns never make them). */
  #streams: Streams | null = null;

  /** @internal Built by connect() and Listener.accept(). */
  constructor(fd: FD, transport: "tcp" | "unix", remote: Addr, local: Addr | null = null) {
    super();
    this.#fd = fd;
    // The transport is remote.transport's (the callers build remote with it).
    if (remote.transport !== transport) throw new TypeError(`Conn: remote address is ${remote.transport}, not ${transport}`);
    this.#remote = remote;
    this.#local = local;
    if (transport === "tcp") fd.readAhead = AHEAD_ON;
  }

  /** @internal */
  protected override get deadlineFd(): FD {
    return this.#fd;
  }

  /**
   * Wraps a connected stream socket (TCP or unix) this process did not open
   * through connect() or accept(): inherited from a parent, or received
   * with readWithFds(). Makes it non-blocking and close-on-exec. On success
   * the Conn owns the descriptor; on failure it stays the caller's, open.
   * Throws TypeError for a non-integer, NetError EBADF (not open), ENOTSOCK,
   * EPROTOTYPE (not a stream socket), EINVAL (a listening socket: use
   * listen({ fd })) or ENOTCONN (not connected).
   *
   * @throws {TypeError} fd is not a non-negative integer
   * @throws {NetError} EBADF, ENOTSOCK, EPROTOTYPE, EAFNOSUPPORT, EINVAL, ENOTCONN, or a failed getsockname/getpeername/register (code, syscall)
   * @throws {Error} FdFlagError (code, fd, flag) when O_NONBLOCK or FD_CLOEXEC does not stick
   */
  static fromFd(fd: number): Conn {
    return connFromFd(fd);
  }

  /** "tcp" or "unix" (the remote address says which). */
  get #transportName(): "tcp" | "unix" {
    return this.#remote.transport as "tcp" | "unix";
  }

  /**
   * The descriptor number (owned by this Conn). Once it is taken the Conn
   * reads no further ahead, so what the descriptor yields is what follows
   * the bytes the Conn holds (`buffered`).
   */
  get fd(): number {
    this.#fd.readAhead = AHEAD_OFF;
    return this.#fd.sysfd;
  }

  /**
   * Bytes this Conn has read ahead from the socket and not yet handed out
   * (TCP): the next read() or chunk step returns them without a syscall.
   * They are no longer in the descriptor, so read them before handing
   * `fd` or a `dup()` to other code.
   */
  get buffered(): number {
    return this.#fd.ahead?.length ?? 0;
  }

  get remoteAddr(): Addr {
    return this.#remote;
  }

  get localAddr(): Addr {
    if (this.#local === null) {
      const sa = this.#fd.isReleased ? null : localName(this.#fd.sysfd);
      this.#local =
        sa === null
          ? this.#transportName === "unix"
            ? { transport: "unix", path: "" }
            : { transport: "tcp", family: "IPv4", hostname: "", port: 0 }
          : toAddr(sa, this.#transportName);
    }
    return this.#local;
  }

  /**
   * Reads into buf (any ArrayBufferView, filled by its bytes; a bare
   * ArrayBuffer or anything else rejects with TypeError). Resolves the number of bytes read, `null` at EOF (and on
   * every read after it), or 0 at once when buf is empty. A reset by the peer
   * rejects with code `ECONNRESET`, never EOF.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} buf is not an ArrayBufferView, or a bad or unknown option
   * @throws {ClosedError} after close(), or close() while the read waits
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {NetError} ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  read(buf: ArrayBufferView, opts?: IoOptions): Promise<number | null> {
    if (opts !== undefined) {
      const bad = optionsError("read", opts, SIGNAL_ONLY, IO_HINTS);
      if (bad !== null) return Promise.reject(bad);
    }
    return this.#fd.read(buf, opts?.signal);
  }

  /**
   * Writes all of buf (any ArrayBufferView, by its bytes: a Uint16Array(3)
   * is 6 bytes; a bare ArrayBuffer or anything else rejects with TypeError
   * and changes nothing), parking while the send buffer is full; resolves
   * its byte length. On failure the error's `bytesWritten` says how much was
   * accepted. A closed peer is `EPIPE` (no SIGPIPE).
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} buf is not an ArrayBufferView, or a bad or unknown option
   * @throws {ClosedError} after close(), or close() while the write waits (bytesWritten)
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true; bytesWritten)
   * @throws {NetError} EPIPE, ECONNRESET and other socket errors (code, syscall, bytesWritten)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  write(buf: ArrayBufferView, opts?: IoOptions): Promise<number> {
    if (opts !== undefined) {
      const bad = optionsError("write", opts, SIGNAL_ONLY, IO_HINTS);
      if (bad !== null) return Promise.reject(bad);
    }
    return this.#fd.write(buf, opts?.signal);
  }

  /**
   * Writes several buffers in order with vectored writes; resolves the total.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} bufs is not an array of ArrayBufferViews, or a bad or unknown option
   * @throws {ClosedError} after close(), or close() while the write waits (bytesWritten)
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true; bytesWritten)
   * @throws {NetError} EPIPE, ECONNRESET and other socket errors (code, syscall, bytesWritten)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  writev(bufs: readonly ArrayBufferView[], opts?: IoOptions): Promise<number> {
    if (opts !== undefined) {
      const bad = optionsError("writev", opts, SIGNAL_ONLY, IO_HINTS);
      if (bad !== null) return Promise.reject(bad);
    }
    return this.#fd.writev(bufs, opts?.signal);
  }

  /**
   * Shuts down the write side (the peer reads EOF) after every write queued
   * before it has finished. Reading still works.
   *
   * Errors are rejections of the returned promise.
   * @throws {ClosedError} after close(), or close() while earlier writes are queued
   * @throws {NetError} shutdown(2) failed, e.g. ENOTCONN (code, syscall)
   */
  async closeWrite(): Promise<void> {
    await this.#shutdown(C.SHUT_WR, "closeWrite", true);
  }

  /**
   * Shuts down the read side: later reads return EOF at once.
   *
   * Errors are rejections of the returned promise.
   * @throws {ClosedError} after close()
   * @throws {NetError} shutdown(2) failed, e.g. ENOTCONN (code, syscall)
   */
  async closeRead(): Promise<void> {
    await this.#shutdown(C.SHUT_RD, "closeRead", false);
  }

  async #shutdown(how: number, op: string, afterWrites: boolean): Promise<void> {
    const fd = this.#fd;
    const shut = () => {
      if (sys.shutdown(fd.sysfd, how) < 0) throw sysError(op, "shutdown", errno(), fd.ctx);
      if (how === C.SHUT_RD) fd.kickRead();
    };
    if (afterWrites) return fd.exclusive("w", op, shut);
    fd.incref(op);
    try {
      if (fd.closing) throw new ClosedError(op, fd.ctx);
      shut();
    } finally {
      fd.decref();
    }
  }

  /**
   * TCP_NODELAY (on by default for TCP, as in Go). A no-op on a unix connection.
   *
   * @throws {ClosedError} after close() (TCP)
   * @throws {NetError} setsockopt failed (code, syscall)
   */
  setNoDelay(noDelay = true): void {
    this.#opt("setNoDelay", C.IPPROTO_TCP, C.TCP_NODELAY, noDelay ? 1 : 0);
  }

  /**
   * SO_KEEPALIVE, with the idle time and probe interval (ms, whole seconds used).
   *
   * @throws {ClosedError} after close()
   * @throws {NetError} setsockopt failed (code, syscall)
   */
  setKeepAlive(enable: boolean, initialDelayMs = 15_000): void {
    this.#opt("setKeepAlive", C.SOL_SOCKET, C.SO_KEEPALIVE, enable ? 1 : 0);
    if (enable) {
      const secs = Math.max(1, Math.ceil(initialDelayMs / 1000));
      this.#opt("setKeepAlive", C.IPPROTO_TCP, C.TCP_KEEPIDLE, secs);
      this.#opt("setKeepAlive", C.IPPROTO_TCP, C.TCP_KEEPINTVL, secs);
    }
  }

  /**
   * SO_LINGER: 0 makes close() send RST and drop unsent data; null restores the default.
   *
   * @throws {ClosedError} after close()
   * @throws {NetError} setsockopt failed (code, syscall)
   */
  setLinger(seconds: number | null): void {
    const fd = this.#fd;
    fd.incref("setLinger");
    try {
      const v = new DataView(new ArrayBuffer(LINGER.size));
      v.setInt32(LINGER.onoff, seconds === null ? 0 : 1, true);
      v.setInt32(LINGER.linger, seconds ?? 0, true);
      if (sys.setsockopt(fd.sysfd, C.SOL_SOCKET, C.SO_LINGER_SECONDS, new Uint8Array(v.buffer), LINGER.size) < 0) {
        throw sysError("setLinger", "setsockopt", errno(), fd.ctx);
      }
    } finally {
      fd.decref();
    }
  }

  #opt(op: string, level: number, name: number, value: number): void {
    if (this.#transportName !== "tcp" && level === C.IPPROTO_TCP) return;
    const fd = this.#fd;
    fd.incref(op);
    try {
      const e = setIntOpt(fd.sysfd, level, name, value);
      if (e !== 0) throw sysError(op, "setsockopt", e, fd.ctx);
    } finally {
      fd.decref();
    }
  }

  /**
   * Unix connections only: writes all of data (at least one byte) with the
   * descriptors in fds attached (SCM_RIGHTS); resolves data's byte length.
   * The descriptors stay the caller's: close them whenever convenient, the
   * kernel holds its own reference while the message is in flight. Queued
   * with the other writes, in order. Rejects TypeError for bad arguments,
   * NetError EOPNOTSUPP on TCP, EBADF for a descriptor that is not open, and
   * the errors of write().
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} data is not an ArrayBufferView or is empty, fds is not an array of non-negative integers, or a bad or unknown option
   * @throws {NetError} EOPNOTSUPP on TCP, EBADF for a descriptor that is not open, and other sendmsg errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the write waits
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  writeWithFds(data: ArrayBufferView, fds: readonly number[], opts?: IoOptions): Promise<number> {
    const bad = optionsError("writeWithFds", opts, SIGNAL_ONLY, IO_HINTS);
    if (bad !== null) return Promise.reject(bad);
    if (this.#transportName !== "unix") return Promise.reject(notUnix("writeWithFds", this.#fd.ctx));
    return sendWithFds(this.#fd, "writeWithFds", data, fds, null, true, opts?.signal);
  }

  /**
   * Unix connections only: reads into buf (not empty) like read(), and
   * resolves `{ n, fds }`: the bytes read (null at EOF) and the descriptors
   * that came with them, in order. Received descriptors belong to the
   * caller, close-on-exec; wrap them with Conn.fromFd(), listen({ fd }),
   * listenDatagram({ fd }) or pollFd(), or close them. A read ends where a
   * message with descriptors begins or ends (the bytes behind are read by
   * the next call). A message with more than `maxFds` descriptors rejects
   * with ControlTruncatedError after closing those that arrived.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} buf is not an ArrayBufferView or is empty, maxFds is not an integer from 1 to 1024, or a bad or unknown option
   * @throws {ControlTruncatedError} the message carried more than maxFds descriptors (bytesRead, closedFds)
   * @throws {NetError} EOPNOTSUPP on TCP, ECONNRESET and other recvmsg errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the read waits
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  readWithFds(buf: ArrayBufferView, opts?: ReadFdsOptions): Promise<FdMessage> {
    if (this.#transportName !== "unix") return Promise.reject(notUnix("readWithFds", this.#fd.ctx));
    return readWithFds(this.#fd, "readWithFds", buf, opts);
  }

  /**
   * Unix connections only: the peer process's pid, uid and gid as the kernel
   * recorded them at connect time (SO_PEERCRED; LOCAL_PEERCRED and
   * LOCAL_PEERPID on macOS and FreeBSD). Throws NetError (EOPNOTSUPP on TCP)
   * or ClosedError.
   *
   * @throws {NetError} EOPNOTSUPP on TCP, or getsockopt failed, e.g. ENOTCONN (code, syscall)
   * @throws {ClosedError} after close()
   */
  peerCredentials(): PeerCredentials {
    if (this.#transportName !== "unix") throw notUnix("peerCredentials", this.#fd.ctx);
    return peerCredentials(this.#fd, "peerCredentials");
  }

  /**
   * A dup(2) of the descriptor, owned by the caller (Go's File()).
   *
   * @throws {ClosedError} after close()
   * @throws {NetError} dup failed, e.g. EMFILE (code, syscall)
   */
  dup(): number {
    const fd = this.#fd;
    fd.incref("dup");
    fd.readAhead = AHEAD_OFF;
    try {
      const d = sys.dup(fd.sysfd);
      if (d < 0) throw sysError("dup", "dup", errno(), fd.ctx);
      return d;
    } finally {
      fd.decref();
    }
  }

  get closed(): boolean {
    return this.#fd.closing;
  }

  /**
   * Closes the connection. Parked and queued operations reject with
   * ClosedError; the descriptor is released when the last of them has
   * settled, and the promise resolves then. A second close() throws ClosedError.
   *
   * @throws {ClosedError} on a second close() (thrown at the call, not a rejection)
   */
  close(): Promise<void> {
    return this.#fd.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#fd.closing) await this.#fd.close();
    else await this.#fd.released;
  }

  /**
   * Iterates over incoming chunks until EOF. While waiting it holds no
   * buffer; each chunk is a view into a pooled 64 KiB buffer that is valid
   * until the next iteration step (copy it with `.slice()` to keep it).
   * Breaking out of the loop does not close the connection.
   *
   * Each step's promise rejects with read()'s errors.
   * @throws {ClosedError} after close(), or close() while a step waits
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {NetError} ECONNRESET and other socket errors (code, syscall)
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array, undefined, undefined> {
    return new ChunkIterator(this.#fd);
  }

  /** A byte stream of incoming data (each chunk is a fresh copy). */
  get readable(): ReadableStream<Uint8Array> {
    const st = (this.#streams ??= new Streams());
    st.readable ??= new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.#fd.readPooled(chunkPool);
          if (chunk === null) {
            controller.close();
            return;
          }
          controller.enqueue(chunk.slice());
          chunkPool.give(chunk);
        },
        cancel: async () => {
          if (!this.#fd.closing) await this.closeRead().catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
    return st.readable;
  }

  /** A sink for outgoing data; closing it shuts down the write side. */
  get writable(): WritableStream<Uint8Array> {
    const st = (this.#streams ??= new Streams());
    st.writable ??= new WritableStream<Uint8Array>(
      {
        write: async (chunk) => {
          await this.write(chunk);
        },
        close: async () => {
          await this.closeWrite();
        },
        abort: async () => {
          if (!this.#fd.closing) await this.close();
        },
      },
      { highWaterMark: 1 },
    );
    return st.writable;
  }
}

class Streams {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
}

// The chunk iterator: each step gives the previous chunk back to the pool and
// reads the next. A plain object rather than an async generator: next()
// returns the read's own promise, already resolving to the iterator result.
class ChunkIterator implements AsyncIterableIterator<Uint8Array, undefined, undefined>, ChunkSink {
  lent: Uint8Array | null = null;
  readonly #fd: FD;
  #done = false;

  constructor(fd: FD) {
    this.#fd = fd;
  }

  get pool(): BufferPool {
    return chunkPool;
  }

  /** The iterator is its own read operation (ChunkSink). */
  get kind(): "chunk" {
    return "chunk";
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.#giveBack();
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return this.#fd.readChunk(this);
  }

  /** Called when a for-await loop is left early: gives the chunk back. The connection stays open. */
  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.#giveBack();
    this.#done = true;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #giveBack(): void {
    if (this.lent !== null) {
      chunkPool.giveWhole(this.lent);
      this.lent = null;
    }
  }
}
