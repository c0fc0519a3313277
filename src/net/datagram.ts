// DatagramConn: UDP and unixgram sockets on the netpoller.
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { decodeSockaddr, type SockAddr } from "../../ffi/sockaddr.ts";
import { AddrError, ClosedError, contextFields, type ErrorContext, NetError, sysError } from "../errors.ts";
import { checkOptions, IO_HINTS, optionKeys, SIGNAL_ONLY, type SignalOptions } from "../options.ts";
import { bytesArg, signalArg } from "../runtime/bytes.ts";
import { FD } from "../runtime/fd.ts";
import {
  type BindTarget,
  bindSockAddr,
  bindTarget,
  bindText,
  checkHostname,
  checkNetwork,
  checkPort,
  checkScopeId,
  checkUnixPath,
  ipLiteral,
  type IpLiteral,
  ipSockAddr,
  networkFamily,
  netName,
  zoneScopeId,
} from "./_addr_checks.ts";
import { resolveHost } from "./_resolve.ts";
import { type Addr, formatAddr, toAddr } from "./addr.ts";
import { datagramFromFd, type ListenDatagramFdOptions } from "./adopt.ts";
import { notUnix, peerCredentials, type PeerCredentials, type ReadFdsOptions, receiveWithFds, sendWithFds } from "./fdpass.ts";
import { bindTo, bindUnixSocket, encode, familyNumber, localName, openSocket, saBuf, saLen, setIntOpt, type SocketFile, unlinkSocketFile } from "./sys.ts";
import { DeadlineSetters } from "../deadlines.ts";

export interface ListenDatagramOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** An IP literal or "localhost"; default every address (dual-stack "::", or "0.0.0.0"). */
  readonly hostname?: string;
  /** "udp" (default), "udp4" or "udp6". */
  readonly network?: "udp" | "udp4" | "udp6";
  readonly reusePort?: boolean;
}

export interface ListenUnixgramOptions {
  /** A filesystem path (unlinked on close) or a Linux abstract name starting with "\0". */
  readonly path: string;
}

export interface ConnectDatagramOptions {
  readonly port: number;
  readonly hostname?: string;
  readonly network?: "udp" | "udp4" | "udp6";
}

/**
 * Where to send a datagram: an IP endpoint or a unixgram path. An IPv6
 * hostname may carry a zone ("fe80::1%eth0"), or the target gives it as
 * `scopeId` or `zone` (so an address from receive() is replied to as is).
 */
export type DatagramTarget =
  | { readonly hostname: string; readonly port: number; readonly zone?: string; readonly scopeId?: number }
  | { readonly path: string }
  | Addr;

const LISTEN_UDP_KEYS = optionKeys<ListenDatagramOptions>({ port: true, hostname: true, network: true, reusePort: true });
const LISTEN_UNIXGRAM_KEYS = optionKeys<ListenUnixgramOptions>({ path: true });
/** Options of sendWithFds: where to (an unconnected unixgram socket), and cancellation. */
export interface SendFdsOptions extends SignalOptions {
  readonly to?: DatagramTarget;
}

const SEND_FDS_KEYS = optionKeys<SendFdsOptions>({ to: true, signal: true });
const LISTEN_DATAGRAM_FD_KEYS = optionKeys<ListenDatagramFdOptions>({ fd: true });
const CONNECT_UDP_KEYS = optionKeys<ConnectDatagramOptions>({ port: true, hostname: true, network: true });
// A target may be an Addr this library returned (receive's sender), so its fields are allowed too.
const IP_TARGET_KEYS: ReadonlySet<string> = new Set(["hostname", "port", "transport", "family", "zone", "scopeId"]);
const PATH_TARGET_KEYS: ReadonlySet<string> = new Set(["path", "transport"]);

export interface Datagram {
  /** Bytes received (the datagram is truncated to the buffer's length). */
  readonly n: number;
  /** The sender. */
  readonly addr: Addr;
}

// Writes to a closed peer are EPIPE, never SIGPIPE: MSG_NOSIGNAL where it
// exists, SO_NOSIGPIPE on the socket elsewhere (see net/sys.ts).
const MSG_NOSIGNAL = C.MSG_NOSIGNAL > 0 ? C.MSG_NOSIGNAL : 0;
const SA_SIZE = C.SOCKADDR_STORAGE_SIZE;

/**
 * A datagram socket. `send(data, addr)` sends one datagram; `receive(buf)`
 * waits for one. A connected socket (connectDatagram) uses `write(data)` and
 * `read(buf)` instead and rejects `send` with an address.
 */
export class DatagramConn extends DeadlineSetters implements AsyncDisposable {
  readonly #fd: FD;
  readonly #transport: "udp" | "unixgram";
  readonly #family: SockAddr["family"];
  readonly #local: Addr;
  readonly #remote: Addr | null;
  readonly #file: SocketFile | null;

  /** @internal Use listenDatagram() or connectDatagram(). */
  constructor(fd: FD, family: SockAddr["family"], local: Addr, remote: Addr | null, file: SocketFile | null) {
    super();
    this.#fd = fd;
    this.#family = family;
    this.#transport = family === "unix" ? "unixgram" : "udp";
    this.#local = local;
    this.#remote = remote;
    this.#file = file;
  }

  /** @internal */
  protected override get deadlineFd(): FD {
    return this.#fd;
  }

  get fd(): number {
    return this.#fd.sysfd;
  }

  /** The bound address. */
  get addr(): Addr {
    return this.#local;
  }

  get localAddr(): Addr {
    return this.#local;
  }

  /** The peer of a connected socket, else null. */
  get remoteAddr(): Addr | null {
    return this.#remote;
  }

  /**
   * Sends data as one datagram to addr; resolves the bytes sent (its byte
   * length, 0 for an empty datagram). Too large a datagram rejects
   * `EMSGSIZE`. data (and buf on the receiving calls) may be any
   * ArrayBufferView, taken by its bytes; a bare ArrayBuffer or anything else
   * rejects with TypeError before anything is sent.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} data is not an ArrayBufferView, addr is not an address object or has an unknown key, or a bad or unknown option
   * @throws {AddrError} a bad port, zone or scope id, a unix path (ENAMETOOLONG, EINVAL), a target of the other kind or family, or a name that does not resolve (ENOTFOUND)
   * @throws {NetError} EISCONN on a connected socket; EMSGSIZE, ENETUNREACH and other sendto errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the call waits
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async send(data: ArrayBufferView, addr: DatagramTarget, opts?: SignalOptions): Promise<number> {
    const bytes = this.#bytes("send", "data", data, opts);
    if (addr === null || typeof addr !== "object") throw new TypeError("send: addr must be an address object ({ hostname, port } or { path })");
    checkOptions("send: addr", addr, "path" in addr ? PATH_TARGET_KEYS : IP_TARGET_KEYS);
    if (this.#remote !== null) {
      throw new NetError({ ...contextFields(this.#fd.ctx), op: "send", code: "EISCONN", errno: E.EISCONN!, syscall: "" }, "the socket is connected: use write(data)");
    }
    const sa = await this.#target(addr);
    const fd = this.#fd;
    return fd.io("w", "send", "sendto", () => counted(sys.sendto(fd.sysfd, bytes, bytes.length, MSG_NOSIGNAL, saBuf, encode(sa))), opts?.signal);
  }

  /**
   * Waits for one datagram and copies it into buf. A zero-length datagram
   * resolves n = 0 (never EOF); one longer than buf is truncated and the
   * rest discarded.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} buf is not an ArrayBufferView, or a bad or unknown option
   * @throws {NetError} ECONNREFUSED (a connected UDP socket's peer) and other recvfrom errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the call waits
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  receive(buf: ArrayBufferView, opts?: SignalOptions): Promise<Datagram> {
    let bytes: Uint8Array;
    try {
      bytes = this.#bytes("receive", "buf", buf, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    const fd = this.#fd;
    const transport = this.#transport;
    return fd.io(
      "r",
      "receive",
      "recvfrom",
      (): Datagram | number => {
        saLen[0] = SA_SIZE;
        const n = sys.recvfrom(fd.sysfd, bytes, bytes.length, 0, saBuf, saLen);
        if (n < 0) return -errno();
        const len = Math.min(saLen[0]!, SA_SIZE);
        const addr: Addr = len > 2 ? toAddr(decodeSockaddr(saBuf, len), transport) : { transport: "unixgram", path: "" };
        return { n, addr };
      },
      opts?.signal,
    );
  }

  /**
   * Connected sockets only: sends data as one datagram to the peer.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} data is not an ArrayBufferView, or a bad or unknown option
   * @throws {NetError} EDESTADDRREQ on an unconnected socket; EMSGSIZE, ECONNREFUSED and other send errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the call waits
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async write(data: ArrayBufferView, opts?: SignalOptions): Promise<number> {
    const bytes = this.#bytes("write", "data", data, opts);
    if (this.#remote === null) {
      throw new NetError({ ...contextFields(this.#fd.ctx), op: "write", code: "EDESTADDRREQ", errno: E.EDESTADDRREQ!, syscall: "" }, "missing address: the socket is not connected; use send(data, addr)");
    }
    const fd = this.#fd;
    return fd.io("w", "write", "send", () => counted(sys.send(fd.sysfd, bytes, bytes.length, MSG_NOSIGNAL)), opts?.signal);
  }

  /**
   * Connected sockets only: receives one datagram from the peer; resolves its length.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} buf is not an ArrayBufferView, or a bad or unknown option
   * @throws {NetError} ECONNREFUSED (nothing listens at the peer) and other recv errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the call waits
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async read(buf: ArrayBufferView, opts?: SignalOptions): Promise<number> {
    const bytes = this.#bytes("read", "buf", buf, opts);
    const fd = this.#fd;
    return fd.io("r", "read", "recv", () => counted(sys.recv(fd.sysfd, bytes, bytes.length, 0)), opts?.signal);
  }

  /** The checks a send or receive starts with: the bytes of data, and opts. Throws TypeError. */
  #bytes(op: string, name: string, data: ArrayBufferView, opts: SignalOptions | undefined): Uint8Array {
    const bytes = bytesArg(op, name, data);
    checkOptions(op, opts, SIGNAL_ONLY, IO_HINTS);
    signalArg(op, opts?.signal);
    return bytes;
  }

  /**
   * Unixgram only: sends data as one datagram (it may be empty) with the
   * descriptors in fds attached (SCM_RIGHTS), to `opts.to` (a `{ path }`) or
   * to the peer of a connected socket; resolves the bytes sent. The
   * descriptors stay the caller's. Rejects TypeError for bad arguments,
   * NetError EOPNOTSUPP on UDP, EISCONN (a target on a connected socket),
   * EDESTADDRREQ (no target on an unconnected one), and the errors of send().
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} data is not an ArrayBufferView, fds is not an array of non-negative integers, or a bad or unknown option
   * @throws {AddrError} opts.to is not a { path }, or a bad unix path (ENAMETOOLONG, EINVAL)
   * @throws {NetError} EOPNOTSUPP on UDP, EISCONN, EDESTADDRREQ, EBADF for a descriptor that is not open, and other sendmsg errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the call waits
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async sendWithFds(data: ArrayBufferView, fds: readonly number[], opts?: SendFdsOptions): Promise<number> {
    checkOptions("sendWithFds", opts, SEND_FDS_KEYS);
    const ctx = this.#fd.ctx;
    if (this.#family !== "unix") throw notUnix("sendWithFds", ctx);
    const to = opts?.to;
    if (to !== undefined && this.#remote !== null) {
      throw new NetError({ ...contextFields(ctx), op: "sendWithFds", code: "EISCONN", errno: E.EISCONN!, syscall: "" }, "the socket is connected: send without a target");
    }
    if (to === undefined && this.#remote === null) {
      throw new NetError({ ...contextFields(ctx), op: "sendWithFds", code: "EDESTADDRREQ", errno: E.EDESTADDRREQ!, syscall: "" }, "missing address: the socket is not connected; pass opts.to");
    }
    let sa: SockAddr | null = null;
    if (to !== undefined) {
      if (to === null || typeof to !== "object" || !("path" in to)) throw new AddrError("sendWithFds", ctx, "the target of a unixgram socket is a { path }");
      sa = { family: "unix", path: checkUnixPath("sendWithFds", "unixgram", to.path) };
    }
    return sendWithFds(this.#fd, "sendWithFds", data, fds, sa, false, opts?.signal);
  }

  /**
   * Unixgram only: waits for one datagram, copies it into buf (truncating as
   * receive() does) and resolves `{ n, addr, fds }` with the descriptors that
   * came with it, owned by the caller and close-on-exec. More than `maxFds`
   * descriptors reject with ControlTruncatedError after closing those that
   * arrived.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} buf is not an ArrayBufferView, maxFds is not an integer from 1 to 1024, or a bad or unknown option
   * @throws {ControlTruncatedError} the datagram carried more than maxFds descriptors (bytesRead, closedFds)
   * @throws {NetError} EOPNOTSUPP on UDP, and other recvmsg errors (code, syscall)
   * @throws {ClosedError} after close(), or close() while the call waits
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  receiveWithFds(buf: ArrayBufferView, opts?: ReadFdsOptions): Promise<{ n: number; addr: Addr; fds: number[] }> {
    if (this.#family !== "unix") return Promise.reject(notUnix("receiveWithFds", this.#fd.ctx));
    return receiveWithFds(this.#fd, "receiveWithFds", buf, opts);
  }

  /**
   * Connected unixgram sockets (a socketpair end): the peer's pid, uid and
   * gid. Throws NetError (EOPNOTSUPP on UDP, ENOTCONN when not connected).
   *
   * @throws {NetError} EOPNOTSUPP on UDP, or getsockopt failed, e.g. ENOTCONN (code, syscall)
   * @throws {ClosedError} after close()
   */
  peerCredentials(): PeerCredentials {
    if (this.#family !== "unix") throw notUnix("peerCredentials", this.#fd.ctx);
    return peerCredentials(this.#fd, "peerCredentials");
  }

  async #target(addr: DatagramTarget): Promise<SockAddr> {
    const ctx = this.#fd.ctx;
    if ("path" in addr) {
      if (this.#family !== "unix") throw new AddrError("send", ctx, "a unix path target needs a unixgram socket");
      return { family: "unix", path: checkUnixPath("send", "unixgram", addr.path) };
    }
    if (this.#family === "unix") throw new AddrError("send", ctx, "an IP target needs a UDP socket");
    const port = checkPort("send", ctx.net, addr.port, addr.hostname);
    let host = addr.hostname;
    if (host === "localhost") host = this.#family === "inet6" ? "::1" : "127.0.0.1";
    // The scope: a %zone in the hostname, else the address's scopeId (as
    // received), else its zone.
    let t = zonedTarget(ctx.net, host, addr);
    if (t === null) t = (await resolveHost("send", ctx.net, host, this.#family === "inet" ? "inet" : null))[0]!;
    host = t.address;
    if (this.#family === "inet" && t.family === "inet6") throw new AddrError("send", ctx, `address ${host}: wrong address family for udp4`);
    if (this.#family === "inet6" && t.family === "inet") host = `::ffff:${host}`;
    return ipSockAddr({ family: this.#family, address: host, scopeId: t.scopeId }, port);
  }

  get closed(): boolean {
    return this.#fd.closing;
  }

  /**
   * Closes the socket; parked operations reject with ClosedError. A second close() throws ClosedError.
   *
   * @throws {ClosedError} on a second close() (thrown at the call, not a rejection)
   */
  close(): Promise<void> {
    const released = this.#fd.close();
    if (this.#file !== null) unlinkSocketFile(this.#file);
    return released;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#fd.closing) await this.close();
  }

  /**
   * Yields datagrams (each a fresh copy, up to 64 KiB) until the socket is closed.
   *
   * A step's promise rejects with receive()'s errors other than ClosedError (which ends the loop).
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {NetError} ECONNREFUSED and other recvfrom errors (code, syscall)
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<{ data: Uint8Array; addr: Addr }, void, undefined> {
    const buf = new Uint8Array(new ArrayBuffer(65536));
    for (;;) {
      let d: Datagram;
      try {
        d = await this.receive(buf);
      } catch (err) {
        if (err instanceof ClosedError) return;
        throw err;
      }
      yield { data: buf.slice(0, d.n), addr: d.addr };
    }
  }
}

/** A send or recv attempt's result: the byte count, or -errno (read at once, right after the failed call). */
function counted(n: number): number {
  return n >= 0 ? n : -errno();
}

/**
 * A send target's IP literal with its scope, or null for a name to resolve:
 * a %zone in the hostname, else the target's own `scopeId` or `zone` (an
 * address as receive() returned it). Throws AddrError for a bad zone or scope id.
 */
function zonedTarget(net: string, host: string, addr: { readonly zone?: unknown; readonly scopeId?: unknown }): IpLiteral | null {
  const lit = ipLiteral("send", net, host, null);
  if (lit === null || lit.family !== "inet6" || lit.scopeId !== undefined) return lit;
  let scopeId = 0;
  if (addr.scopeId !== undefined) scopeId = checkScopeId("send", net, host, addr.scopeId);
  else if (typeof addr.zone === "string" && addr.zone !== "") scopeId = zoneScopeId("send", net, `${host}%${addr.zone}`, addr.zone);
  return scopeId === 0 ? lit : { ...lit, scopeId };
}

/**
 * Opens a datagram socket bound to a UDP port or a unixgram path. Throws
 * NetError / AddrError, or TypeError for an unknown option (`host` for
 * `hostname`, …). `listenDatagram({ fd })` adopts an inherited or received
 * SOCK_DGRAM socket instead (owned on success; see ListenDatagramFdOptions).
 *
 * @throws {TypeError} opts is not an object, an unknown option, a hostname that is not a string, or a bad fd
 * @throws {AddrError} a bad port, network, IP literal or zone (ENODEV for an unknown interface), a host name that is not an IP literal or "localhost", a bad unix path (ENAMETOOLONG, EINVAL)
 * @throws {NetError} EADDRINUSE, EACCES and other socket/setsockopt/bind/stat/register errors (code, syscall); for `fd`, EBADF, ENOTSOCK, EPROTOTYPE or EAFNOSUPPORT
 * @throws {Error} FdFlagError (code, fd, flag) for `fd`, when O_NONBLOCK or FD_CLOEXEC does not stick
 */
export function listenDatagram(opts: ListenDatagramOptions | ListenUnixgramOptions | ListenDatagramFdOptions): DatagramConn {
  if (opts === null || typeof opts !== "object") throw new TypeError("listenDatagram: options object required");
  checkOptions("listenDatagram", opts, "fd" in opts ? LISTEN_DATAGRAM_FD_KEYS : "path" in opts ? LISTEN_UNIXGRAM_KEYS : LISTEN_UDP_KEYS);
  if ("fd" in opts) return datagramFromFd(opts);
  if ("path" in opts) {
    const path = checkUnixPath("listen", "unixgram", opts.path);
    const ctx: ErrorContext = { net: "unixgram", address: formatAddr({ transport: "unixgram", path }) };
    // The file's identity first, then the registration: a failure of either
    // leaves no pollDesc in the table and no socket file behind.
    return bindUnixSocket(C.SOCK_DGRAM, path, ctx, (s, file) => new DatagramConn(new FD(s, { socket: true, owned: true, ctx }), "unix", { transport: "unixgram", path }, null, file));
  }
  const target = bindTarget("udp", opts);
  try {
    return bindUdp(target, opts.reusePort === true, null);
  } catch (err) {
    if (target.dualStack && err instanceof NetError && err.code === "EAFNOSUPPORT") {
      return bindUdp({ ...target, family: "inet", host: "0.0.0.0", dualStack: false }, opts.reusePort === true, null);
    }
    throw err;
  }
}

function bindUdp(target: BindTarget, reusePort: boolean, peer: SockAddr | null): DatagramConn {
  const { family, dualStack: dual } = target;
  const net = netName("udp", family);
  const ctx: ErrorContext = { net, address: bindText(target), port: target.port };
  const s = openSocket(familyNumber(family), C.SOCK_DGRAM, peer ? "dial" : "listen", ctx);
  try {
    let e = 0;
    if (reusePort) e = setIntOpt(s, C.SOL_SOCKET, C.SO_REUSEPORT, 1);
    if (e === 0 && family === "inet6" && peer === null) e = setIntOpt(s, C.IPPROTO_IPV6, C.IPV6_V6ONLY, dual ? 0 : 1);
    if (e !== 0) throw sysError("listen", "setsockopt", e, ctx);
    if (peer === null) {
      e = bindTo(s, bindSockAddr(target));
      if (e !== 0) throw sysError("listen", "bind", e, ctx);
    } else {
      const len = encode(peer);
      if (sys.connect(s, saBuf, len) < 0) throw sysError("dial", "connect", errno(), ctx);
    }
    const bound = localName(s);
    if (bound === null) throw sysError("listen", "getsockname", errno(), ctx);
    const local = toAddr(bound, "udp");
    const remote = peer === null ? null : toAddr(peer, "udp");
    const fctx: ErrorContext = remote ? { net, address: formatAddr(remote), port: peer!.family === "unix" ? undefined : peer!.port } : { net, address: formatAddr(local) };
    return new DatagramConn(new FD(s, { socket: true, owned: true, ctx: fctx }), family, local, remote, null);
  } catch (err) {
    sys.close(s);
    throw err;
  }
}

/**
 * Opens a UDP socket connected to one peer: use write/read; errors from the
 * peer (ECONNREFUSED) surface on read. Rejects with NetError / AddrError, or
 * TypeError for an unknown option (`host` for `hostname`, …).
 *
 * Errors are rejections of the returned promise.
 * @throws {TypeError} opts is not an object, an unknown option, or a hostname that is not a string
 * @throws {AddrError} a bad port, network, IP literal or zone (ENODEV), or a name that does not resolve (ENOTFOUND, `cause`) or resolves to no IP address list (EINVAL)
 * @throws {NetError} ENETUNREACH and other socket/connect/getsockname/register errors (code, syscall)
 */
export async function connectDatagram(opts: ConnectDatagramOptions): Promise<DatagramConn> {
  if (opts === null || typeof opts !== "object") throw new TypeError("connectDatagram: options object required");
  checkOptions("connectDatagram", opts, CONNECT_UDP_KEYS);
  checkHostname("connectDatagram", opts.hostname);
  checkNetwork("dial", opts.network, ["udp", "udp4", "udp6"]);
  const net0 = opts.network ?? "udp";
  const pinned = networkFamily(opts.network);
  const port = checkPort("dial", net0, opts.port, opts.hostname);
  const host = opts.hostname ?? "localhost";
  const t = ipLiteral("dial", net0, host, pinned) ?? (await resolveHost("dial", net0, host, pinned))[0]!;
  const local: BindTarget = { net: net0, family: t.family, host: t.family === "inet6" ? "::" : "0.0.0.0", port: 0, dualStack: false, zone: "", scopeId: 0 };
  return bindUdp(local, false, ipSockAddr(t, port));
}
