// Listener and listen(): a listening stream socket on the netpoller.
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { decodeSockaddr, type SockAddr } from "../../ffi/sockaddr.ts";
import { ClosedError, type ErrorContext, NetError, sysError } from "../errors.ts";
import type { Deadline, Timeout } from "../runtime/deadline.ts";
import { FD } from "../runtime/fd.ts";
import { checkOptions, optionKeys, SIGNAL_ONLY, type SignalOptions } from "../options.ts";
import { hooks } from "../runtime/hooks.ts";
import { type BindTarget, bindSockAddr, bindTarget, bindText, checkUnixPath, netName } from "./_addr_checks.ts";
import { type Addr, formatAddr, PeerContext, toAddr } from "./addr.ts";
import { Conn } from "./conn.ts";
import { type ListenFdOptions, listenFd } from "./adopt.ts";
import { acceptedSocket, bindTo, bindUnixSocket, familyNumber, localName, openSocket, saBuf, saLen, setIntOpt, type SocketFile, unlinkSocketFile } from "./sys.ts";

export interface ListenTcpOptions {
  /** 0 picks a free port (see `addr`). */
  readonly port: number;
  /**
   * An IP literal or "localhost"; default: every address (dual-stack "::", or
   * "0.0.0.0"). An IPv6 literal may carry a zone: "fe80::1%eth0" or "fe80::1%2".
   */
  readonly hostname?: string;
  /** "tcp" (default), "tcp4" or "tcp6". */
  readonly network?: "tcp" | "tcp4" | "tcp6";
  /** Accept queue length; default SOMAXCONN. */
  readonly backlog?: number;
  /** SO_REUSEPORT: several listeners (e.g. one per Worker) share the port. */
  readonly reusePort?: boolean;
}

export interface ListenUnixOptions {
  /** A filesystem path (unlinked on close) or a Linux abstract name starting with "\0". */
  readonly path: string;
  readonly backlog?: number;
}

export type ListenOptions = ListenTcpOptions | ListenUnixOptions | ListenFdOptions;

/** Options of accept: cancellation only. */
export type AcceptOptions = SignalOptions;

const LISTEN_TCP_KEYS = optionKeys<ListenTcpOptions>({ port: true, hostname: true, network: true, backlog: true, reusePort: true });
const LISTEN_UNIX_KEYS = optionKeys<ListenUnixOptions>({ path: true, backlog: true });
const LISTEN_FD_KEYS = optionKeys<ListenFdOptions>({ fd: true, backlog: true });

const EINTR = E.EINTR!;

interface Accepted {
  readonly cfd: number;
  readonly remote: SockAddr | null;
}
const ECONNABORTED = E.ECONNABORTED!;
const EPROTO = E.EPROTO!;
/** accept4 errors that say the listening socket itself is unusable: accept() rejects with them. */
const LISTENER_FATAL = new Set([E.EBADF!, E.EINVAL!, E.ENOTSOCK!, E.EFAULT!]);
/** Resource exhaustion (accept4, or registering the new descriptor with the poller): back off. */
const EXHAUSTED = new Set([E.EMFILE!, E.ENFILE!, E.ENOBUFS!, E.ENOMEM!, E.ENOSPC!]);
/** Other per-connection failures in a row that are retried at once before backing off too. */
const MAX_QUICK_RETRIES = 8;
/**
 * @internal Fault injection for tests (not exported from the package): each
 * accept attempt takes the next errno from `accept` (failing as accept4
 * would, before calling it), and each accepted descriptor's registration with
 * the poller takes the next errno from `register` (failing as epoll_ctl ADD
 * would, e.g. ENOSPC at fs.epoll.max_user_watches). Empty: no faults.
 */
export const acceptFaults: { accept: number[]; register: number[] } = { accept: [], register: [] };

/** Back-off while the process is out of descriptors (Go's http.Server: 5 ms … 1 s). */
const EXHAUSTED_MIN_MS = 5;
const EXHAUSTED_MAX_MS = 1000;

/**
 * A listening socket. `accept()` parks until a connection arrives; the async
 * iterator yields connections until close(). While open (and not unref'd) the
 * listener keeps the process alive.
 *
 * ```ts
 * const ln = listen({ port: 8080 });
 * for await (const conn of ln) handle(conn);
 * ```
 */
export class Listener implements AsyncDisposable, AsyncIterable<Conn> {
  /** The bound address (the real port when listening on port 0). */
  readonly addr: Addr;
  readonly #fd: FD;
  readonly #transport: "tcp" | "unix";
  readonly #file: SocketFile | null;
  #held = true;
  readonly #backoffs = new Set<{ readonly timer: ReturnType<typeof setTimeout>; readonly wake: () => void }>();
  readonly #acceptOnce: () => Accepted | number;
  #unixCtx: ErrorContext | null = null;

  /** @internal Use listen(). */
  constructor(fd: FD, addr: Addr, transport: "tcp" | "unix", file: SocketFile | null) {
    this.#fd = fd;
    this.addr = addr;
    this.#transport = transport;
    this.#file = file;
    // One accept4 attempt. The peer address is decoded here, in the same
    // synchronous block as the call, because the sockaddr scratch is shared.
    // Handshakes aborted by the client are retried (Go TestAcceptIgnoreAbortedConnRequest).
    this.#acceptOnce = () => {
      let e: number;
      if (acceptFaults.accept.length > 0) e = acceptFaults.accept.shift()!;
      else {
        saLen[0] = C.SOCKADDR_STORAGE_SIZE;
        const cfd = sys.accept4(fd.sysfd, saBuf, saLen, C.SOCK_NONBLOCK | C.SOCK_CLOEXEC);
        if (cfd >= 0) {
          const n = Math.min(saLen[0]!, C.SOCKADDR_STORAGE_SIZE);
          return { cfd, remote: n > 2 ? decodeSockaddr(saBuf, n) : null };
        }
        e = errno();
      }
      return e === ECONNABORTED || e === EPROTO ? -EINTR : -e;
    };
    hooks.hold(1);
  }

  get fd(): number {
    return this.#fd.sysfd;
  }

  /**
   * Waits for the next connection. Rejects with ClosedError once the
   * listener is closed, DeadlineExceededError after its deadline,
   * `signal.reason`, or NetError when the listening socket itself is
   * unusable (EBADF, EINVAL, ENOTSOCK, EFAULT). A failure that concerns one
   * connection drops it and waits for the next: aborted handshakes and
   * pending network errors (ECONNABORTED, EPROTO, EPERM, ENETDOWN, …) are
   * retried at once; resource exhaustion (EMFILE, ENFILE, ENOBUFS, ENOMEM,
   * and ENOSPC when the poller is at fs.epoll.max_user_watches) backs off
   * (5 ms doubling to 1 s) instead of spinning or failing. An unknown
   * option rejects with TypeError.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} a bad or unknown option
   * @throws {ClosedError} after close(), or close() while the accept waits
   * @throws {DeadlineExceededError} the accept deadline passed (timeout === true)
   * @throws {NetError} EBADF, EINVAL, ENOTSOCK or EFAULT: the listening socket is unusable (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async accept(opts?: AcceptOptions): Promise<Conn> {
    checkOptions("accept", opts, SIGNAL_ONLY);
    const fd = this.#fd;
    const signal = opts?.signal;
    let backoff = EXHAUSTED_MIN_MS;
    let retries = 0;
    for (;;) {
      let e: number;
      try {
        const got = await fd.io("r", "accept", "accept4", this.#acceptOnce, signal);
        return this.#wrap(got.cfd, got.remote);
      } catch (err) {
        // Closed, deadline, abort and bugs are not the kernel's word on one connection.
        if (!(err instanceof NetError) || err.errno === 0 || LISTENER_FATAL.has(err.errno)) throw err;
        e = err.errno;
      }
      // The connection is gone (accept4 failed, or #wrap closed it). Retry at
      // once, unless the process is short of a resource or the same kind of
      // failure keeps coming (then it is no longer one connection's).
      if (EXHAUSTED.has(e) || ++retries > MAX_QUICK_RETRIES) {
        await this.#sleep(backoff, signal);
        backoff = Math.min(backoff * 2, EXHAUSTED_MAX_MS);
      }
    }
  }

  // Waits out a back-off; close() and abort cut it short. Each sleeping
  // accept has its own entry, so close() wakes all of them at once.
  #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        if (!this.#backoffs.delete(entry)) return;
        clearTimeout(timer);
        hooks.timers(-1);
        signal?.removeEventListener("abort", done);
        if (this.#fd.closing) reject(new ClosedError("accept", this.#fd.ctx));
        else if (signal?.aborted) reject(signal.reason);
        else resolve();
      };
      const timer = setTimeout(done, ms);
      if (!this.#held) timer.unref();
      hooks.timers(1);
      const entry = { timer, wake: done };
      this.#backoffs.add(entry);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  #wrap(cfd: number, remote: SockAddr | null): Conn {
    const unix = remote === null || remote.family === "unix";
    const remoteAddr: Addr = remote === null ? { transport: "unix", path: "" } : toAddr(remote, this.#transport);
    // Accepted unix connections share one context (the listener's path).
    const ctx: ErrorContext = unix
      ? (this.#unixCtx ??= { net: "unix", address: this.#transport === "unix" ? formatAddr(this.addr) : "" })
      : new PeerContext(netName("tcp", remote.family), remoteAddr);
    let fd: FD;
    try {
      if (acceptFaults.register.length > 0) throw sysError("register", "epoll_ctl", acceptFaults.register.shift()!, ctx);
      fd = new FD(cfd, { socket: true, owned: true, ctx });
    } catch (err) {
      sys.close(cfd);
      throw err;
    }
    acceptedSocket(cfd);
    if (this.#transport === "tcp") setIntOpt(cfd, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    const local: Addr | null = this.#transport === "unix" ? this.addr : null;
    return new Conn(fd, this.#transport, remoteAddr, local);
  }

  /**
   * Sets the accept deadline, an absolute time (epoch ms, a Date, or null
   * for none): accepts parked or started after it reject with
   * DeadlineExceededError. A number before 1971 throws RangeError (for a
   * duration use setTimeout(ms)).
   *
   * @throws {TypeError} t is not a number, a Date or null, or is NaN or an invalid Date
   * @throws {RangeError} a number before 1971, taken for a misplaced duration
   * @throws {ClosedError} after close()
   */
  setDeadline(t: Deadline): void {
    this.#fd.setDeadline("r", t, "setDeadline");
  }

  /**
   * Sets the accept deadline to ms from now (null or 0 clears it; negative: expired). Throws TypeError for a non-number.
   *
   * @throws {TypeError} ms is not a number or null, or is NaN
   * @throws {ClosedError} after close()
   */
  setTimeout(ms: Timeout): void {
    this.#fd.setTimeout("r", ms, "setTimeout");
  }

  /**
   * Lets the process exit while this listener is open, with accepts parked
   * on it too (a `for await` loop over an unref'd listener does not keep the
   * process alive); an EMFILE back-off timer is unref'd as well.
   */
  unref(): this {
    if (this.#held) {
      this.#held = false;
      const pd = this.#fd.pd;
      if (!pd.unref) {
        pd.unref = true;
        hooks.reweigh(pd.waiting);
      }
      for (const b of this.#backoffs) b.timer.unref();
      hooks.hold(-1);
    }
    return this;
  }

  /** Keeps the process alive while this listener is open (the default), parked accepts included. */
  ref(): this {
    if (!this.#held && !this.#fd.closing) {
      this.#held = true;
      const pd = this.#fd.pd;
      if (pd.unref) {
        pd.unref = false;
        hooks.reweigh(-pd.waiting);
      }
      for (const b of this.#backoffs) b.timer.ref();
      hooks.hold(1);
    }
    return this;
  }

  get closed(): boolean {
    return this.#fd.closing;
  }

  /**
   * Stops listening: parked accepts reject with ClosedError and the iterator
   * ends. A unix socket file is unlinked (if it is still the one this
   * listener created). A second close() throws ClosedError.
   *
   * @throws {ClosedError} on a second close() (thrown at the call, not a rejection)
   */
  close(): Promise<void> {
    const released = this.#fd.close();
    if (this.#held) {
      this.#held = false;
      hooks.hold(-1);
    }
    for (const b of [...this.#backoffs]) b.wake();
    if (this.#file !== null) unlinkSocketFile(this.#file);
    return released;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#fd.closing) await this.close();
  }

  /**
   * Yields accepted connections until the listener is closed.
   *
   * A step's promise rejects with accept()'s errors other than ClosedError (which ends the loop).
   * @throws {DeadlineExceededError} the accept deadline passed (timeout === true)
   * @throws {NetError} the listening socket is unusable (code, syscall)
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Conn, void, undefined> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
    }
  }
}

/**
 * Listens on a TCP port or a unix socket path. Synchronous: bind and listen
 * errors (EADDRINUSE, EACCES, …) throw NetError; bad input throws AddrError
 * before any system call, and an unknown option (`host` for `hostname`, …)
 * throws TypeError naming it.
 *
 * `listen({ fd })` adopts a bound stream socket instead (inherited at exec,
 * from systemd, or received with readWithFds): it must be a SOCK_STREAM
 * socket (else NetError ENOTSOCK / EPROTOTYPE / EBADF for a closed number);
 * one not listening yet gets listen(2) with `backlog`. On success the
 * Listener owns the descriptor; on failure it stays the caller's.
 *
 * @throws {TypeError} opts is not an object, an unknown option, a hostname that is not a string, a bad backlog or fd
 * @throws {AddrError} a bad port, network, IP literal or zone (ENODEV for an unknown interface), a host name that is not an IP literal or "localhost", a bad unix path (ENAMETOOLONG, EINVAL)
 * @throws {NetError} EADDRINUSE, EACCES and other socket/setsockopt/bind/listen/stat/register errors (code, syscall); for `fd`, EBADF, ENOTSOCK, EPROTOTYPE, EAFNOSUPPORT, or EINVAL for a connected socket
 * @throws {Error} FdFlagError (code, fd, flag) for `fd`, when O_NONBLOCK or FD_CLOEXEC does not stick
 */
export function listen(opts: ListenOptions): Listener {
  if (opts === null || typeof opts !== "object") throw new TypeError("listen: options object required");
  checkOptions("listen", opts, "fd" in opts ? LISTEN_FD_KEYS : "path" in opts ? LISTEN_UNIX_KEYS : LISTEN_TCP_KEYS);
  if ("fd" in opts) return listenFd(opts);
  if ("path" in opts) return listenUnix(opts);
  return listenTcp(opts);
}

function listenTcp(opts: ListenTcpOptions): Listener {
  const target = bindTarget("tcp", opts);
  const backlog = checkBacklog(opts.backlog);
  try {
    return bindListen(target, backlog, opts.reusePort === true);
  } catch (err) {
    // No IPv6 on this host: fall back to IPv4 for the wildcard.
    if (target.dualStack && err instanceof NetError && err.code === "EAFNOSUPPORT") {
      return bindListen({ ...target, family: "inet", host: "0.0.0.0", dualStack: false }, backlog, opts.reusePort === true);
    }
    throw err;
  }
}

function bindListen(target: BindTarget, backlog: number, reusePort: boolean): Listener {
  const { family, port, dualStack } = target;
  const net = netName("tcp", family);
  const sa: SockAddr = bindSockAddr(target);
  const ctx: ErrorContext = { net, address: bindText(target), port };
  const s = openSocket(familyNumber(family), C.SOCK_STREAM, "listen", ctx);
  try {
    let e = setIntOpt(s, C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    if (e === 0 && reusePort) e = setIntOpt(s, C.SOL_SOCKET, C.SO_REUSEPORT, 1);
    if (e === 0 && family === "inet6") e = setIntOpt(s, C.IPPROTO_IPV6, C.IPV6_V6ONLY, dualStack ? 0 : 1);
    if (e !== 0) throw sysError("listen", "setsockopt", e, ctx);
    e = bindTo(s, sa);
    if (e !== 0) throw sysError("listen", "bind", e, ctx);
    if (sys.listen(s, backlog) < 0) throw sysError("listen", "listen", errno(), ctx);
    const bound = localName(s);
    if (bound === null) throw sysError("listen", "getsockname", errno(), ctx);
    const addr = toAddr(bound, "tcp");
    const fd = new FD(s, { socket: true, owned: true, ctx: { net, address: formatAddr(addr), port: bound.family === "unix" ? undefined : bound.port } });
    return new Listener(fd, addr, "tcp", null);
  } catch (err) {
    sys.close(s);
    throw err;
  }
}

function listenUnix(opts: ListenUnixOptions): Listener {
  const path = checkUnixPath("listen", "unix", opts.path);
  const backlog = checkBacklog(opts.backlog);
  const ctx: ErrorContext = { net: "unix", address: formatAddr({ transport: "unix", path }) };
  // Whatever fails after the bind (stat, listen, registration) removes the file the bind created.
  return bindUnixSocket(C.SOCK_STREAM, path, ctx, (s, file) => {
    if (sys.listen(s, backlog) < 0) throw sysError("listen", "listen", errno(), ctx);
    return new Listener(new FD(s, { socket: true, owned: true, ctx }), { transport: "unix", path }, "unix", file);
  });
}

function checkBacklog(backlog: unknown): number {
  if (backlog === undefined) return C.SOMAXCONN;
  if (typeof backlog !== "number" || !Number.isInteger(backlog) || backlog < 0) {
    throw new TypeError(`listen: backlog must be a non-negative integer, got ${String(backlog)}`);
  }
  return backlog;
}
