// TLS over bun-netpoll connections: node:tls's TLSSocket runs the protocol
// over a Duplex bridge to a Conn, and TlsConn puts Go's read/write/deadline/
// close semantics back on top.
//
//   TlsConn.read(buf) ── decrypted bytes ◄── TLSSocket ◄── ConnStream ◄── Conn.read
//   TlsConn.write(buf) ──────────────────► TLSSocket ──► ConnStream ──► Conn.write
//
// Deadlines live on the TlsConn, not on the Conn underneath: a read that
// times out leaves the TLS session intact (extend the deadline and read
// again), as in Go. A write that times out may have left a record half
// sent, so, as in Go's crypto/tls, every later write fails with the same
// error.
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { ClosedError, DeadlineExceededError, type ErrorContext } from "./errors.ts";
import { type Addr, formatAddr } from "./net/addr.ts";
import type { Conn, IoOptions } from "./net/conn.ts";
import { connect, type ConnectTcpOptions } from "./net/dial.ts";
import { type AcceptOptions, listen, type Listener, type ListenTcpOptions } from "./net/listener.ts";
import { checkOptions, IO_HINTS, optionKeys, optionsError, type OptionHints, rejectOptions, SIGNAL_ONLY, type SignalOptions } from "./options.ts";
import { checkDeadline, type Deadline, type Timeout, timeoutToMono, toMono } from "./runtime/deadline.ts";
import { MAX_TIMER_MS } from "./runtime/timer.ts";

/** Client options, as node:tls takes them (`ca`, `servername`, `ALPNProtocols`, `cert`/`key` for client auth, …). */
export type TlsClientOptions = Omit<tls.ConnectionOptions, "socket" | "host" | "port" | "path" | "timeout" | "lookup" | "allowHalfOpen">;

/** Server options, as node:tls takes them (`key`, `cert`, `ca`, `requestCert`, `ALPNProtocols`, `SNICallback`, …). */
export type TlsServerOptions = Omit<tls.TlsOptions, "handshakeTimeout" | "allowHalfOpen" | "pauseOnConnect">;

/** How upgradeTls wraps a Conn: as the client (default), or as the server with `isServer: true`. */
export type UpgradeTlsOptions = (TlsClientOptions & { readonly isServer?: false }) | (TlsServerOptions & { readonly isServer: true });

/** Options of the operations that wait for the handshake: cancellation (the connection is closed). */
export type HandshakeOptions = SignalOptions;

/** connectTls: where to connect (as connect()), and the TLS client options. */
export type ConnectTlsOptions = ConnectTcpOptions & { readonly tls?: TlsClientOptions };

/** listenTls: where to listen (as listen()), and the TLS server options (`key` and `cert` at least). */
export type ListenTlsOptions = ListenTcpOptions & { readonly tls: TlsServerOptions };

const CONNECT_TLS_KEYS = optionKeys<ConnectTlsOptions>({ port: true, hostname: true, network: true, signal: true, timeout: true, deadline: true, lookup: true, tls: true });
const LISTEN_TLS_KEYS = optionKeys<ListenTlsOptions>({ port: true, hostname: true, network: true, backlog: true, reusePort: true, tls: true });
// node:tls options that TlsClientOptions / TlsServerOptions leave out, because
// the connection is made (and timed) by this library: passing one is a mistake.
const ALREADY_CONNECTED = "the TLS session runs over a connection that is already open";
const CLIENT_BANNED: OptionHints = {
  socket: ALREADY_CONNECTED,
  host: `${ALREADY_CONNECTED}: give connectTls a hostname, and servername for SNI`,
  port: `${ALREADY_CONNECTED}: give connectTls a port`,
  path: ALREADY_CONNECTED,
  lookup: ALREADY_CONNECTED,
  timeout: "give connectTls a timeout, or set deadlines on the TlsConn",
  allowHalfOpen: "a TlsConn is always half-open, as a Conn",
};
const SERVER_BANNED: OptionHints = {
  handshakeTimeout: "set a read deadline on the TlsConn before handshake()",
  allowHalfOpen: "a TlsConn is always half-open, as a Conn",
  pauseOnConnect: "a TlsConn reads only when asked",
};

/** Bytes read from the Conn per call by the bridge (a TLS record is at most 16 KiB + overhead). */
const BRIDGE_READ = 64 * 1024;
/** How long close() gives the close_notify alert to leave before it closes anyway. */
const CLOSE_NOTIFY_MS = 5_000;

// The Duplex that node:tls reads ciphertext from and writes ciphertext to:
// reads go into one reused buffer and are pushed as copies; _final shuts
// down the Conn's write side; _destroy closes the Conn.
class ConnStream extends Duplex {
  readonly #conn: Conn;
  readonly #buf = new Uint8Array(new ArrayBuffer(BRIDGE_READ));
  #reading = false;
  /** The Conn's read error (ECONNRESET, …), kept so a TLS read reports it rather than EOF. */
  failure: Error | null = null;
  /** Called whenever ciphertext has reached the Conn (and at finish). */
  onProgress: () => void = () => {};
  /** Resolves once the Conn is closed and its descriptor released. */
  readonly released: Promise<void>;
  #release!: () => void;

  constructor(conn: Conn) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
    this.released = new Promise((r) => (this.#release = r));
    this.on("finish", () => this.onProgress());
  }

  /** True when every byte written to this stream has been written to the Conn. */
  get idle(): boolean {
    return this.writableLength === 0;
  }

  override _read(): void {
    if (!this.#reading) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#reading = true;
    try {
      for (;;) {
        const n = await this.#conn.read(this.#buf);
        if (n === null) {
          this.push(null);
          return;
        }
        if (!this.push(Buffer.from(this.#buf.subarray(0, n)))) return;
      }
    } catch (e) {
      if (!(e instanceof ClosedError)) this.failure ??= e as Error;
      this.onProgress();
      if (!this.destroyed) this.destroy(e as Error);
    } finally {
      this.#reading = false;
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.#conn.write(chunk).then(
      () => this.#wrote(cb),
      (e: Error) => this.#wrote(cb, e),
    );
  }

  #wrote(cb: (e?: Error | null) => void, e?: Error): void {
    cb(e);
    this.onProgress();
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.#conn.writev(chunks.map((c) => c.chunk)).then(
      () => this.#wrote(cb),
      (e: Error) => this.#wrote(cb, e),
    );
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.#conn.closed) cb();
    else this.#conn.closeWrite().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const c = this.#conn;
    const done = (): void => {
      this.#release();
      cb(err);
    };
    if (c.closed) c[Symbol.asyncDispose]().then(done, done);
    else c.close().then(done, done);
  }
}

/** Runs async operations one after another in call order; a failure does not stop the next. */
class InOrder {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(op: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(op);
    this.#tail = p.catch(() => {});
    return p;
  }

  /** Settles once every operation queued so far has. */
  idle(): Promise<unknown> {
    return this.#tail;
  }
}

/**
 * A TLS connection over a Conn, with the Conn's semantics: `read(buf)`
 * resolves the bytes read or null at EOF (the peer's close_notify or FIN),
 * `write(buf)` writes everything, deadlines are absolute times, `close()`
 * wakes every waiting call with ClosedError. Reads and writes wait for the
 * handshake first; handshake failures (a certificate the peer does not
 * accept, a protocol mismatch) reject them with node:tls's error (its
 * `code`, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_SSL_…`).
 *
 * Errors: ClosedError after close(), DeadlineExceededError (`timeout`,
 * `i/o timeout`) when a deadline passes, the Conn's NetError (ECONNRESET, …)
 * when the connection underneath fails, node:tls errors for TLS failures.
 * Satisfies ByteReader / ByteWriter, so BufferedReader and BufferedWriter
 * work over it.
 */
export class TlsConn implements AsyncDisposable {
  readonly #conn: Conn;
  readonly #bridge: ConnStream;
  readonly #sock: tls.TLSSocket;
  readonly #ctx: ErrorContext;
  readonly #handshake: Promise<void>;
  #secure = false;
  #eof = false;
  #error: unknown = null;
  #writeError: unknown = null;
  #closing = false;
  #released: Promise<void> | null = null;
  /** Decrypted bytes taken from the socket but not yet read. */
  #pending: Buffer | null = null;
  #readDeadline = 0;
  #writeDeadline = 0;
  /** Parked callers; every socket event and deadline change wakes them all to re-check. */
  readonly #wakers = new Set<() => void>();
  readonly #reads = new InOrder();
  readonly #writes = new InOrder();

  /** @internal Built by upgradeTls(), connectTls() and TlsListener. */
  constructor(conn: Conn, opts: UpgradeTlsOptions) {
    this.#conn = conn;
    this.#ctx = { net: conn.remoteAddr.transport === "unix" ? "unix" : "tcp", address: formatAddr(conn.remoteAddr) };
    this.#bridge = new ConnStream(conn);
    if (opts.isServer === true) {
      const { isServer: _server, ...rest } = opts;
      const server = rest as tls.TlsOptions;
      const serverOpts: tls.TLSSocketOptions & { allowHalfOpen: boolean } = {
        isServer: true,
        // Reading EOF leaves the write side open (half-close), as on a Conn.
        allowHalfOpen: true,
        secureContext: server.secureContext ?? tls.createSecureContext(server),
        ...(server.requestCert === undefined ? {} : { requestCert: server.requestCert }),
        ...(server.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: server.rejectUnauthorized }),
        ...(server.ALPNProtocols === undefined ? {} : { ALPNProtocols: server.ALPNProtocols }),
        ...(server.SNICallback === undefined ? {} : { SNICallback: server.SNICallback }),
      };
      this.#sock = new tls.TLSSocket(this.#bridge, serverOpts);
    } else {
      const { isServer: _client, ...rest } = opts;
      const clientOpts: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
        ...(rest as tls.ConnectionOptions),
        socket: this.#bridge,
        allowHalfOpen: true,
      };
      this.#sock = tls.connect(clientOpts);
    }
    this.#bridge.onProgress = () => this.#wake();
    const sock = this.#sock;
    this.#handshake = new Promise<void>((resolve, reject) => {
      const ok = (): void => {
        this.#secure = true;
        resolve();
        this.#wake();
      };
      sock.once(opts.isServer === true ? "secure" : "secureConnect", ok);
      sock.once("error", reject);
      sock.once("close", () => reject(this.#error ?? new ClosedError("handshake", this.#ctx)));
    });
    this.#handshake.catch(() => {}); // awaited by read/write/handshake(); never unhandled
    sock.on("readable", () => this.#wake());
    sock.on("end", () => {
      this.#eof = true;
      this.#wake();
    });
    sock.on("error", (e) => {
      this.#error ??= e;
      this.#wake();
    });
    sock.on("close", () => this.#wake());
  }

  /** The Conn underneath (its deadlines are not the TLS conn's: use this object's). */
  get conn(): Conn {
    return this.#conn;
  }

  /** The node:tls socket (certificates, session, keying material). */
  get socket(): tls.TLSSocket {
    return this.#sock;
  }

  get remoteAddr(): Addr {
    return this.#conn.remoteAddr;
  }

  get localAddr(): Addr {
    return this.#conn.localAddr;
  }

  /** The negotiated ALPN protocol, or false (valid after the handshake). */
  get alpnProtocol(): string | false | null {
    return this.#sock.alpnProtocol ?? null;
  }

  /** The negotiated TLS version, e.g. "TLSv1.3" (null before the handshake). */
  get protocol(): string | null {
    return this.#sock.getProtocol();
  }

  /** Whether the peer's certificate was verified against the trusted CAs. */
  get authorized(): boolean {
    return this.#sock.authorized;
  }

  get closed(): boolean {
    return this.#closing;
  }

  /**
   * Resolves once the handshake has completed. Waits under the read
   * deadline; rejects with the handshake's error, DeadlineExceededError,
   * ClosedError, or `signal.reason`.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} a bad or unknown option
   * @throws {Error} node:tls's error for a failed handshake or TLS failure (its `code`, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_SSL_…)
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {ClosedError} after close(), or the connection closed during the handshake
   * @throws {NetError} ECONNRESET and other errors of the Conn underneath (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async handshake(opts?: HandshakeOptions): Promise<void> {
    checkOptions("handshake", opts, SIGNAL_ONLY);
    while (!this.#secure) {
      this.#check("handshake", this.#readDeadline);
      if (this.#error !== null) throw this.#error;
      await Promise.race([this.#handshake, this.#park(this.#readDeadline, opts?.signal)]);
    }
  }

  /**
   * Reads decrypted bytes into buf: resolves the count, null at EOF, or 0
   * at once for an empty buf. Reads are served one at a time in order.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} a bad or unknown option
   * @throws {ClosedError} after close(), or close() while the read waits
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true); the session stays usable
   * @throws {NetError} ECONNRESET and other errors of the Conn underneath (code, syscall)
   * @throws {Error} node:tls's error for a failed handshake or TLS failure (its `code`, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_SSL_…)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  read(buf: Uint8Array, opts?: IoOptions): Promise<number | null> {
    const bad = opts === undefined ? null : optionsError("read", opts, SIGNAL_ONLY, IO_HINTS);
    return bad !== null ? Promise.reject(bad) : this.#reads.run(() => this.#read(buf, opts?.signal));
  }

  async #read(buf: Uint8Array, signal: AbortSignal | undefined): Promise<number | null> {
    if (!this.#secure) await this.handshake(signal === undefined ? undefined : { signal });
    for (;;) {
      this.#check("read", this.#readDeadline);
      if (buf.length === 0) return 0;
      const chunk = this.#pending ?? (this.#sock.read() as Buffer | null);
      this.#pending = null;
      if (chunk !== null) {
        const n = Math.min(buf.length, chunk.length);
        buf.set(chunk.subarray(0, n));
        if (n < chunk.length) this.#pending = chunk.subarray(n);
        return n;
      }
      // A reset underneath is the Conn's error, never EOF.
      if (this.#bridge.failure !== null) throw this.#bridge.failure;
      if (this.#error !== null) throw this.#error;
      if (this.#eof) return null;
      if (this.#sock.destroyed) return null;
      await this.#park(this.#readDeadline, signal);
    }
  }

  /**
   * Writes all of buf (encrypted) and resolves buf.length once the Conn
   * underneath has taken it. After a failed or timed-out write every later
   * write rejects with the same error. Writes are served in order.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} a bad or unknown option
   * @throws {ClosedError} after close(), or close() while the write waits
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true); later writes fail the same
   * @throws {NetError} ECONNRESET and other errors of the Conn underneath (code, syscall)
   * @throws {Error} node:tls's error for a failed handshake or TLS failure (its `code`, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_SSL_…)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  write(buf: Uint8Array, opts?: IoOptions): Promise<number> {
    const bad = opts === undefined ? null : optionsError("write", opts, SIGNAL_ONLY, IO_HINTS);
    return bad !== null ? Promise.reject(bad) : this.#writes.run(() => this.#write(buf, opts?.signal));
  }

  async #write(buf: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
    if (!this.#secure) await this.handshake(signal === undefined ? undefined : { signal });
    this.#check("write", this.#writeDeadline);
    if (this.#writeError !== null) throw this.#writeError;
    if (this.#error !== null) throw this.#error;
    if (buf.length === 0) return 0;
    let done = false;
    let failed: Error | null = null;
    this.#sock.write(buf, (e) => {
      done = true;
      failed = e ?? null;
      this.#wake();
    });
    try {
      // Done when node:tls has taken buf and its ciphertext has reached the Conn.
      while (!done || !this.#bridge.idle) {
        this.#check("write", this.#writeDeadline);
        if (this.#error !== null) throw this.#error;
        await this.#park(this.#writeDeadline, signal);
      }
    } catch (e) {
      if (!(e instanceof ClosedError)) this.#writeError = e;
      throw e;
    }
    if (failed !== null) {
      this.#writeError = this.#error ?? failed;
      throw this.#writeError;
    }
    return buf.length;
  }

  /**
   * Sends close_notify and shuts down the write side once earlier writes
   * are done; the peer reads EOF. Unlike a Conn's, the read side does not
   * stay open for long: Bun's node:tls ends the session in both directions
   * once close_notify is sent, so read what you expect before calling it.
   *
   * Errors are rejections of the returned promise.
   * @throws {ClosedError} after close()
   * @throws {DeadlineExceededError} an earlier write timed out (the same error)
   * @throws {NetError} ECONNRESET and other errors of the Conn underneath (code, syscall)
   * @throws {Error} node:tls's error for a failed handshake or TLS failure (its `code`, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_SSL_…)
   */
  async closeWrite(): Promise<void> {
    await this.#writes.idle();
    if (this.#closing) throw new ClosedError("closeWrite", this.#ctx);
    if (this.#writeError !== null) throw this.#writeError;
    if (this.#error !== null) throw this.#error;
    const sock = this.#sock;
    if (sock.destroyed || sock.writableFinished) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        sock.off("close", done);
        resolve();
      };
      sock.once("close", done);
      sock.end(done);
    });
  }

  /**
   * Sets the read and write deadlines (absolute: epoch ms, a Date, or null for none).
   *
   * @throws {TypeError} t is not a number, a Date or null, or is NaN or an invalid Date
   * @throws {RangeError} a number before 1971, taken for a misplaced duration
   * @throws {ClosedError} after close()
   */
  setDeadline(t: Deadline): void {
    checkDeadline("setDeadline", t);
    this.setReadDeadline(t);
    this.setWriteDeadline(t);
  }

  /**
   * Read deadline, an absolute time (epoch ms or a Date; null clears it): a
   * read (or handshake) waiting when it passes rejects with
   * DeadlineExceededError; the session stays usable. A number before 1971
   * throws RangeError: for a duration use setReadTimeout(ms).
   *
   * @throws {TypeError} t is not a number, a Date or null, or is NaN or an invalid Date
   * @throws {RangeError} a number before 1971, taken for a misplaced duration
   * @throws {ClosedError} after close()
   */
  setReadDeadline(t: Deadline): void {
    if (this.#closing) throw new ClosedError("setReadDeadline", this.#ctx);
    this.#readDeadline = toMono(t, "setReadDeadline");
    this.#wake();
  }

  /**
   * Write deadline (absolute): a write waiting when it passes rejects with DeadlineExceededError, and so does every later write.
   *
   * @throws {TypeError} t is not a number, a Date or null, or is NaN or an invalid Date
   * @throws {RangeError} a number before 1971, taken for a misplaced duration
   * @throws {ClosedError} after close()
   */
  setWriteDeadline(t: Deadline): void {
    if (this.#closing) throw new ClosedError("setWriteDeadline", this.#ctx);
    this.#writeDeadline = toMono(t, "setWriteDeadline");
    this.#wake();
  }

  /**
   * Sets the read deadline to ms from now (null or 0 clears it; negative: expired); see Conn.setReadTimeout.
   *
   * @throws {TypeError} ms is not a number or null, or is NaN
   * @throws {ClosedError} after close()
   */
  setReadTimeout(ms: Timeout): void {
    if (this.#closing) throw new ClosedError("setReadTimeout", this.#ctx);
    this.#readDeadline = timeoutToMono("setReadTimeout", ms);
    this.#wake();
  }

  /**
   * Sets the write deadline to ms from now (null or 0 clears it).
   *
   * @throws {TypeError} ms is not a number or null, or is NaN
   * @throws {ClosedError} after close()
   */
  setWriteTimeout(ms: Timeout): void {
    if (this.#closing) throw new ClosedError("setWriteTimeout", this.#ctx);
    this.#writeDeadline = timeoutToMono("setWriteTimeout", ms);
    this.#wake();
  }

  /**
   * Sets both deadlines to ms from now (null or 0 clears them).
   *
   * @throws {TypeError} ms is not a number or null, or is NaN
   * @throws {ClosedError} after close()
   */
  setTimeout(ms: Timeout): void {
    if (this.#closing) throw new ClosedError("setTimeout", this.#ctx);
    const mono = timeoutToMono("setTimeout", ms);
    this.#readDeadline = mono;
    this.#writeDeadline = mono;
    this.#wake();
  }

  /**
   * Closes the connection: waiting reads and writes reject with
   * ClosedError, close_notify is sent (for at most 5 s) when the session is
   * up, and the Conn underneath is closed; resolves once its descriptor is
   * released. A second close() throws ClosedError.
   *
   * Errors are rejections of the returned promise.
   * @throws {ClosedError} on a second close()
   */
  close(): Promise<void> {
    if (this.#closing) return Promise.reject(new ClosedError("close", this.#ctx));
    this.#closing = true;
    this.#wake();
    this.#released = this.#shutdown();
    return this.#released;
  }

  async #shutdown(): Promise<void> {
    const sock = this.#sock;
    const bridge = this.#bridge;
    if (this.#secure && this.#error === null && this.#writeError === null && !sock.destroyed && !bridge.writableFinished) {
      // close_notify (and whatever is still queued) out to the Conn, then FIN.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          bridge.off("finish", done);
          bridge.off("close", done);
          resolve();
        };
        const timer = setTimeout(done, CLOSE_NOTIFY_MS);
        bridge.once("finish", done);
        bridge.once("close", done);
        if (!sock.writableEnded) sock.end();
      });
    }
    sock.destroy();
    if (!this.#bridge.destroyed) this.#bridge.destroy();
    await this.#bridge.released;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closing) await this.close();
    else await this.#released;
  }

  // Throws ClosedError or DeadlineExceededError when they apply to op.
  #check(op: string, deadline: number): void {
    if (this.#closing) throw new ClosedError(op, this.#ctx);
    if (deadline !== 0 && performance.now() >= deadline) throw new DeadlineExceededError(op, this.#ctx);
  }

  // Waits for the next wake (socket event, deadline change, close), the
  // deadline, or an abort (rejects with its reason).
  #park(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        this.#wakers.delete(done);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      const abort = (): void => {
        done();
        reject(signal!.reason);
      };
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      this.#wakers.add(done);
      // A deadline beyond one timer's reach wakes the caller at the ceiling:
      // it re-checks the deadline and parks again.
      if (deadline !== 0) timer = setTimeout(done, Math.min(Math.max(0, Math.ceil(deadline - performance.now())), MAX_TIMER_MS));
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  #wake(): void {
    for (const w of [...this.#wakers]) w();
  }
}

/**
 * Starts TLS on an open Conn: as the client by default (`servername`, `ca`,
 * `ALPNProtocols`, …), as the server with `{ isServer: true, key, cert }`.
 * A client upgrade resolves after the handshake (rejecting with the TLS
 * error, and closing the conn, when it fails); a server upgrade resolves at
 * once and handshakes on the first read or write (or `handshake()`). The
 * TlsConn owns the Conn from here on: close the TlsConn, not the Conn.
 * Rejects with TypeError, leaving the Conn as it was, for a node:tls option
 * that makes no sense over an open Conn (`socket`, `host`, `port`, `timeout`,
 * `allowHalfOpen`; `handshakeTimeout`, `pauseOnConnect` for a server).
 *
 * Errors are rejections of the returned promise.
 * @throws {TypeError} a node:tls option that makes no sense over an open Conn, or an unknown handshake option
 * @throws {Error} node:tls's error for bad keys or certificates, or a failed client handshake (its `code`)
 * @throws {DeadlineExceededError} a client handshake outlived a deadline (timeout === true)
 * @throws {ClosedError} the connection closed during a client handshake
 * @throws {NetError} ECONNRESET and other errors of the Conn during a client handshake (code, syscall)
 * @throws {DOMException} AbortError (or the signal's own reason) when hs.signal aborts
 */
export async function upgradeTls(conn: Conn, opts: UpgradeTlsOptions = {}, hs?: HandshakeOptions): Promise<TlsConn> {
  rejectOptions("upgradeTls", opts, opts?.isServer === true ? SERVER_BANNED : CLIENT_BANNED);
  checkOptions("upgradeTls", hs, SIGNAL_ONLY);
  const t = new TlsConn(conn, opts);
  if (opts.isServer === true) return t;
  try {
    await t.handshake(hs);
  } catch (e) {
    await t.close().catch(() => {});
    throw e;
  }
  return t;
}

/**
 * Connects over TCP (as connect(): `hostname`, `port`, `timeout`,
 * `deadline`, `signal`) and completes a TLS client handshake; `servername`
 * defaults to the hostname when it is a name. The connect timeout and
 * deadline cover the handshake too. Rejects as connect() does, or with the
 * TLS error; TypeError for an unknown option, or a node:tls option in `tls`
 * that the connect options cover (`host`, `port`, `timeout`, …).
 *
 * Errors are rejections of the returned promise.
 * @throws {TypeError} opts is not an object, an unknown option, a banned node:tls option in `tls`, or a connect option of the wrong type
 * @throws {RangeError} a `deadline` number before 1971, taken for a misplaced duration
 * @throws {AddrError} as connect(): bad input, or a name that does not resolve (ENOTFOUND)
 * @throws {NetError} as connect(): ECONNREFUSED and other socket errors, or ECONNRESET during the handshake (code, syscall)
 * @throws {DeadlineExceededError} the timeout or deadline passed, handshake included (timeout === true)
 * @throws {Error} node:tls's error for a failed handshake or bad TLS options (its `code`)
 * @throws {ClosedError} the connection closed during the handshake
 * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
 */
export async function connectTls(opts: ConnectTlsOptions): Promise<TlsConn> {
  if (opts === null || typeof opts !== "object") throw new TypeError("connectTls: options object required");
  checkOptions("connectTls", opts, CONNECT_TLS_KEYS);
  checkDeadline("connectTls", opts.deadline);
  rejectOptions("connectTls: tls", opts.tls, CLIENT_BANNED);
  const started = Date.now();
  const { tls: _tls, ...where } = opts;
  const conn = await connect(where);
  const host = opts.hostname ?? "localhost";
  const isIp = /^[\d.]+$|:/.test(host);
  const tlsOpts: TlsClientOptions = { ...(isIp ? {} : { servername: host }), ...opts.tls };
  const t = new TlsConn(conn, tlsOpts);
  const limit = opts.timeout !== undefined && opts.timeout > 0 && opts.timeout !== Infinity ? started + opts.timeout : null;
  const deadline = opts.deadline ?? null;
  const until = limit === null ? deadline : deadline === null ? limit : Math.min(limit, deadline instanceof Date ? deadline.getTime() : deadline);
  try {
    if (until !== null) t.setReadDeadline(until);
    await t.handshake(opts.signal === undefined ? undefined : { signal: opts.signal });
    if (until !== null) t.setReadDeadline(null);
  } catch (e) {
    await t.close().catch(() => {});
    throw e;
  }
  return t;
}

/**
 * A TLS listener: accepts TCP connections and wraps each as a server-side
 * TlsConn that handshakes on its first read or write (as Go's tls.Listener),
 * so one slow or broken client never holds up accept(). Close it like a
 * Listener.
 */
export class TlsListener implements AsyncDisposable, AsyncIterable<TlsConn> {
  readonly #ln: Listener;
  readonly #context: tls.SecureContext;
  readonly #opts: TlsServerOptions;

  /** @internal Built by listenTls(). */
  constructor(ln: Listener, opts: TlsServerOptions) {
    this.#ln = ln;
    this.#opts = opts;
    this.#context = opts.secureContext ?? tls.createSecureContext(opts);
  }

  /** The TCP listener underneath. */
  get listener(): Listener {
    return this.#ln;
  }

  get addr(): Addr {
    return this.#ln.addr;
  }

  /**
   * Waits for the next connection (as Listener.accept) and wraps it; no handshake yet.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} a bad or unknown option
   * @throws {ClosedError} after close(), or close() while the accept waits
   * @throws {DeadlineExceededError} the listener's accept deadline passed (timeout === true)
   * @throws {NetError} the listening socket is unusable (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async accept(opts?: AcceptOptions): Promise<TlsConn> {
    const conn = await this.#ln.accept(opts);
    return new TlsConn(conn, { ...this.#opts, secureContext: this.#context, isServer: true });
  }

  /**
   * Closes the listener (connections already accepted stay open).
   *
   * @throws {ClosedError} on a second close() (thrown at the call, not a rejection)
   */
  close(): Promise<void> {
    return this.#ln.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#ln[Symbol.asyncDispose]();
  }

  /**
   * Yields accepted connections, each a TlsConn not yet handshaken, until the listener is closed.
   *
   * A step's promise rejects with accept()'s errors other than ClosedError (which ends the loop).
   * @throws {DeadlineExceededError} the accept deadline passed (timeout === true)
   * @throws {NetError} the listening socket is unusable (code, syscall)
   */
  async *[Symbol.asyncIterator](): AsyncIterator<TlsConn> {
    for await (const conn of this.#ln) {
      yield new TlsConn(conn, { ...this.#opts, secureContext: this.#context, isServer: true });
    }
  }
}

/**
 * Listens on TCP (as listen()) and serves TLS with `opts.tls` (`key` and
 * `cert` at least). Synchronous, like listen(): EADDRINUSE and friends
 * throw NetError; bad keys or certificates throw node:tls's error; an
 * unknown option (or `tls.handshakeTimeout`, …) throws TypeError.
 *
 * @throws {TypeError} opts is not an object, an unknown option, a banned node:tls option in `tls`, or a listen option of the wrong type
 * @throws {Error} node:tls's error for bad keys or certificates
 * @throws {AddrError} as listen(): a bad port, network, IP literal or zone
 * @throws {NetError} as listen(): EADDRINUSE, EACCES and other socket errors (code, syscall)
 */
export function listenTls(opts: ListenTlsOptions): TlsListener {
  if (opts === null || typeof opts !== "object") throw new TypeError("listenTls: options object required");
  checkOptions("listenTls", opts, LISTEN_TLS_KEYS);
  rejectOptions("listenTls: tls", opts.tls, SERVER_BANNED);
  const { tls: tlsOpts, ...where } = opts;
  const context = tlsOpts.secureContext ?? tls.createSecureContext(tlsOpts);
  const ln = listen(where);
  return new TlsListener(ln, { ...tlsOpts, secureContext: context });
}
