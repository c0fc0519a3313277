// Conn: a connected stream socket (TCP or unix) on the netpoller.
import { errno, sys } from "../../ffi/libc.ts";
import { LINGER } from "../../ffi/layout.ts";
import { C } from "../../ffi/platform.ts";
import { ClosedError, sysError } from "../errors.ts";
import { type BufferPool, chunkPool } from "../runtime/buffer_pool.ts";
import type { Deadline } from "../runtime/deadline.ts";
import type { ChunkSink, FD } from "../runtime/fd.ts";
import { type Addr, toAddr } from "./addr.ts";
import { localName, setIntOpt } from "./sys.ts";

export interface IoOptions {
  /** Cancels the operation; it rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

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
export class Conn implements AsyncDisposable, AsyncIterable<Uint8Array> {
  readonly #fd: FD;
  #local: Addr | null;
  readonly #remote: Addr;
  /** The readable and writable, made on first use (one field: most conns never make them). */
  #streams: Streams | null = null;

  /** @internal Built by connect() and Listener.accept(). */
  constructor(fd: FD, transport: "tcp" | "unix", remote: Addr, local: Addr | null = null) {
    this.#fd = fd;
    // The transport is remote.transport's (the callers build remote with it).
    if (remote.transport !== transport) throw new TypeError(`Conn: remote address is ${remote.transport}, not ${transport}`);
    this.#remote = remote;
    this.#local = local;
  }

  /** "tcp" or "unix" (the remote address says which). */
  get #transportName(): "tcp" | "unix" {
    return this.#remote.transport as "tcp" | "unix";
  }

  /** The descriptor number (owned by this Conn). */
  get fd(): number {
    return this.#fd.sysfd;
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
   */
  read(buf: ArrayBufferView, opts?: IoOptions): Promise<number | null> {
    return this.#fd.read(buf, opts?.signal);
  }

  /**
   * Writes all of buf (any ArrayBufferView, by its bytes: a Uint16Array(3)
   * is 6 bytes; a bare ArrayBuffer or anything else rejects with TypeError
   * and changes nothing), parking while the send buffer is full; resolves
   * its byte length. On failure the error's `bytesWritten` says how much was
   * accepted. A closed peer is `EPIPE` (no SIGPIPE).
   */
  write(buf: ArrayBufferView, opts?: IoOptions): Promise<number> {
    return this.#fd.write(buf, opts?.signal);
  }

  /** Writes several buffers in order with vectored writes; resolves the total. */
  writev(bufs: readonly ArrayBufferView[], opts?: IoOptions): Promise<number> {
    return this.#fd.writev(bufs, opts?.signal);
  }

  /**
   * Shuts down the write side (the peer reads EOF) after every write queued
   * before it has finished. Reading still works.
   */
  async closeWrite(): Promise<void> {
    await this.#shutdown(C.SHUT_WR, "closeWrite", true);
  }

  /** Shuts down the read side: later reads return EOF at once. */
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

  /** Sets the read and write deadlines (epoch ms, a Date, or null for none). */
  setDeadline(t: Deadline): void {
    this.#fd.setDeadline("rw", t, "setDeadline");
  }

  /**
   * Sets the read deadline: a read parked or started after it passes rejects
   * with DeadlineExceededError. A past time fails reads at once (even with
   * data buffered); null clears it. Moving it while a read is parked
   * re-times that read.
   */
  setReadDeadline(t: Deadline): void {
    this.#fd.setDeadline("r", t, "setReadDeadline");
  }

  /** Sets the write deadline; see setReadDeadline. */
  setWriteDeadline(t: Deadline): void {
    this.#fd.setDeadline("w", t, "setWriteDeadline");
  }

  /** TCP_NODELAY (on by default for TCP, as in Go). */
  setNoDelay(noDelay = true): void {
    this.#opt("setNoDelay", C.IPPROTO_TCP, C.TCP_NODELAY, noDelay ? 1 : 0);
  }

  /** SO_KEEPALIVE, with the idle time and probe interval (ms, whole seconds used). */
  setKeepAlive(enable: boolean, initialDelayMs = 15_000): void {
    this.#opt("setKeepAlive", C.SOL_SOCKET, C.SO_KEEPALIVE, enable ? 1 : 0);
    if (enable) {
      const secs = Math.max(1, Math.ceil(initialDelayMs / 1000));
      this.#opt("setKeepAlive", C.IPPROTO_TCP, C.TCP_KEEPIDLE, secs);
      this.#opt("setKeepAlive", C.IPPROTO_TCP, C.TCP_KEEPINTVL, secs);
    }
  }

  /** SO_LINGER: 0 makes close() send RST and drop unsent data; null restores the default. */
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

  /** A dup(2) of the descriptor, owned by the caller (Go's File()). */
  dup(): number {
    const fd = this.#fd;
    fd.incref("dup");
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
