// Adopting a socket this process did not open itself: inherited across exec,
// handed over by systemd, or received over a unix socket (SCM_RIGHTS). The
// descriptor is checked first (SO_TYPE, the address family, SO_ACCEPTCONN),
// and only then changed: O_NONBLOCK and FD_CLOEXEC (read back with F_GETFL /
// F_GETFD), listen(2) for a bound stream socket that is not listening yet,
// and the registration with the poller. A failure at any step leaves the
// descriptor the caller's, open, and registered nowhere.
import { errno, setNonblockCloexec, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { decodeSockaddr, type SockAddr } from "../../ffi/sockaddr.ts";
import { contextFields, type ErrorContext, NetError, sysError } from "../errors.ts";
import { FD } from "../runtime/fd.ts";
import { netName } from "./_addr_checks.ts";
import { type Addr, formatAddr, PeerContext, toAddr } from "./addr.ts";
import { Conn } from "./conn.ts";
import { DatagramConn } from "./datagram.ts";
import { Listener } from "./listener.ts";
import { acceptedSocket, getIntOpt, saBuf, saLen } from "./sys.ts";

/** listen({ fd }): adopt a bound stream socket. */
export interface ListenFdOptions {
  /**
   * A bound stream socket (AF_INET, AF_INET6 or AF_UNIX), listening or not.
   * On success the Listener owns it (close() closes it); on failure it stays
   * the caller's, open.
   */
  readonly fd: number;
  /** Accept queue length for listen(2) when the socket is not listening yet; default SOMAXCONN. */
  readonly backlog?: number;
}

/** listenDatagram({ fd }): adopt a datagram socket (UDP or unixgram, bound or connected). */
export interface ListenDatagramFdOptions {
  /** A datagram socket; owned by the DatagramConn on success, the caller's on failure. */
  readonly fd: number;
}

/** What an adopted descriptor turned out to be. */
interface SocketInfo {
  readonly family: SockAddr["family"];
  readonly local: SockAddr;
  readonly ctx: ErrorContext;
}

const SOCKET_TYPES: Record<number, string> = { [C.SOCK_STREAM]: "stream", [C.SOCK_DGRAM]: "datagram" };

/** The descriptor argument: a non-negative int32, or TypeError. */
export function fdArg(op: string, fd: unknown): number {
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0 || fd > 0x7fff_ffff) {
    throw new TypeError(`${op}: fd must be a non-negative integer descriptor, got ${typeof fd === "number" ? fd : typeof fd}`);
  }
  return fd;
}

function wrongType(op: string, ctx: ErrorContext, detail: string): NetError {
  return new NetError({ ...contextFields(ctx), op, code: "EPROTOTYPE", errno: E.EPROTOTYPE!, syscall: "" }, detail);
}

/** SO_TYPE of fd, or -errno (EBADF for a closed number, ENOTSOCK for a file, pipe, …). */
export function socketType(fd: number): number {
  return getIntOpt(fd, C.SOL_SOCKET, C.SO_TYPE);
}

/**
 * Checks that fd is an open socket of `type` in a family the runtime speaks,
 * and reads its local address. Changes nothing. Throws NetError: EBADF (not
 * open), ENOTSOCK (not a socket), EPROTOTYPE (another socket type),
 * EAFNOSUPPORT (another family), or getsockname's errno.
 */
function inspect(op: string, fd: number, type: number): SocketInfo {
  const base: ErrorContext = { net: "fd", address: String(fd) };
  const t = socketType(fd);
  if (t < 0) throw sysError(op, "getsockopt", -t, base);
  if (t !== type) {
    throw wrongType(op, base, `not a ${SOCKET_TYPES[type]} socket (SO_TYPE is ${SOCKET_TYPES[t] ?? t})`);
  }
  saLen[0] = C.SOCKADDR_STORAGE_SIZE;
  if (sys.getsockname(fd, saBuf, saLen) < 0) throw sysError(op, "getsockname", errno(), base);
  let local: SockAddr;
  try {
    local = decodeSockaddr(saBuf, Math.min(saLen[0]!, C.SOCKADDR_STORAGE_SIZE));
  } catch {
    throw new NetError({ ...contextFields(base), op, code: "EAFNOSUPPORT", errno: E.EAFNOSUPPORT!, syscall: "getsockname" }, "not an AF_INET, AF_INET6 or AF_UNIX socket");
  }
  const kind = type === C.SOCK_STREAM ? "tcp" : "udp";
  const net = local.family === "unix" ? (type === C.SOCK_STREAM ? "unix" : "unixgram") : netName(kind, local.family);
  const addr = toAddr(local, local.family === "unix" ? (type === C.SOCK_STREAM ? "unix" : "unixgram") : kind);
  return { family: local.family, local, ctx: { net, address: formatAddr(addr), port: local.family === "unix" ? undefined : local.port } };
}

/** The runtime's flags on an adopted socket (verified; FdFlagError if one does not stick). */
function prepare(fd: number): void {
  setNonblockCloexec(fd);
  acceptedSocket(fd);
}

/** getpeername(2), decoded; null when the socket is not connected (ENOTCONN). Throws NetError otherwise. */
function peerOf(op: string, fd: number, ctx: ErrorContext): SockAddr | null {
  saLen[0] = C.SOCKADDR_STORAGE_SIZE;
  if (sys.getpeername(fd, saBuf, saLen) < 0) {
    const e = errno();
    if (e === E.ENOTCONN) return null;
    throw sysError(op, "getpeername", e, ctx);
  }
  const n = Math.min(saLen[0]!, C.SOCKADDR_STORAGE_SIZE);
  // An unnamed unix peer (socketpair, an unbound client) has no path.
  return n > 2 ? decodeSockaddr(saBuf, n) : { family: "unix", path: "" };
}

/** Whether a stream socket is listening (SO_ACCEPTCONN); throws NetError if the query fails. */
function listening(op: string, fd: number, ctx: ErrorContext): boolean {
  const v = getIntOpt(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN);
  if (v < 0) throw sysError(op, "getsockopt", -v, ctx);
  return v !== 0;
}

function backlogArg(backlog: unknown): number {
  if (backlog === undefined) return C.SOMAXCONN;
  if (typeof backlog !== "number" || !Number.isInteger(backlog) || backlog < 0) {
    throw new TypeError(`listen: backlog must be a non-negative integer, got ${String(backlog)}`);
  }
  return backlog;
}

/**
 * listen({ fd }): a Listener over an inherited or received stream socket.
 * A bound socket that is not listening yet (SO_ACCEPTCONN 0) is put in the
 * listening state with listen(2) and `backlog`; a connected one is refused
 * (EINVAL from listen(2)): wrap that with Conn.fromFd(). A unix socket file
 * of an adopted listener is never unlinked: it belongs to whoever bound it.
 */
export function listenFd(opts: ListenFdOptions): Listener {
  const fd = fdArg("listen", opts.fd);
  const backlog = backlogArg(opts.backlog);
  const info = inspect("listen", fd, C.SOCK_STREAM);
  // listen(2) on a connected socket fails with EINVAL (Linux and the BSDs).
  if (!listening("listen", fd, info.ctx) && sys.listen(fd, backlog) < 0) throw sysError("listen", "listen", errno(), info.ctx);
  prepare(fd);
  const addr = toAddr(info.local, info.family === "unix" ? "unix" : "tcp");
  return new Listener(new FD(fd, { socket: true, owned: true, ctx: info.ctx }), addr, info.family === "unix" ? "unix" : "tcp", null);
}

/**
 * listenDatagram({ fd }): a DatagramConn over an inherited or received
 * datagram socket. If it is connected (connect(2), or one end of a
 * socketpair), `remoteAddr` is its peer and write()/read() apply.
 */
export function datagramFromFd(opts: ListenDatagramFdOptions): DatagramConn {
  const fd = fdArg("listen", opts.fd);
  const info = inspect("listen", fd, C.SOCK_DGRAM);
  const peer = peerOf("listen", fd, info.ctx);
  prepare(fd);
  const transport = info.family === "unix" ? "unixgram" : "udp";
  const local = toAddr(info.local, transport);
  const remote = peer === null ? null : toAddr(peer, transport);
  const ctx: ErrorContext =
    remote === null ? info.ctx : { net: info.ctx.net, address: formatAddr(remote), port: peer!.family === "unix" ? undefined : peer!.port };
  return new DatagramConn(new FD(fd, { socket: true, owned: true, ctx }), info.family, local, remote, null);
}

/**
 * Conn.fromFd(): a Conn over a connected stream socket (TCP or unix), e.g.
 * one received with readWithFds or inherited from a parent. Owned by the
 * Conn on success; the caller's on failure. A listening socket is refused
 * with EINVAL (use listen({ fd })), an unconnected one with ENOTCONN.
 */
export function connFromFd(fdNum: unknown): Conn {
  const fd = fdArg("fromFd", fdNum);
  const info = inspect("fromFd", fd, C.SOCK_STREAM);
  if (listening("fromFd", fd, info.ctx)) {
    throw new NetError({ ...contextFields(info.ctx), op: "fromFd", code: "EINVAL", errno: E.EINVAL!, syscall: "" }, "a listening socket: adopt it with listen({ fd })");
  }
  const peer = peerOf("fromFd", fd, info.ctx);
  if (peer === null) throw sysError("fromFd", "getpeername", E.ENOTCONN!, info.ctx);
  prepare(fd);
  const transport = info.family === "unix" ? "unix" : "tcp";
  const remote: Addr = toAddr(peer, transport);
  const ctx: ErrorContext = info.family === "unix" ? info.ctx : new PeerContext(netName("tcp", info.family), remote);
  const local: Addr = toAddr(info.local, transport);
  return new Conn(new FD(fd, { socket: true, owned: true, ctx }), transport, remote, local);
}
