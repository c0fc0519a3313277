// connect(): a non-blocking connect on the netpoller (Go: net/fd_unix.go connect).
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import type { SockAddr } from "../../ffi/sockaddr.ts";
import { DeadlineExceededError, type ErrorContext, NetError, sysError } from "../errors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkDeadline, type Deadline, toMono } from "../runtime/deadline.ts";
import { FD } from "../runtime/fd.ts";
import {
  checkHostname,
  checkNetwork,
  checkPort,
  checkSignal,
  checkUnixPath,
  literalFamily,
  networkFamily,
  netName,
  PeerContext,
  resolveHost,
  toAddr,
} from "./addr.ts";
import { Conn } from "./conn.ts";
import { encode, familyNumber, getIntOpt, openSocket, peerName, saBuf, setIntOpt } from "./sys.ts";

export interface ConnectTcpOptions {
  readonly port: number;
  /** An IP literal or a host name (resolved with Bun's resolver); default "localhost". */
  readonly hostname?: string;
  /** "tcp" (default), "tcp4" or "tcp6". */
  readonly network?: "tcp" | "tcp4" | "tcp6";
  /** Cancels the connect: it rejects with `signal.reason` and leaks nothing. */
  readonly signal?: AbortSignal;
  /** Gives up after this many ms (DeadlineExceededError). 0 or Infinity: no limit. */
  readonly timeout?: number;
  /** Gives up at this absolute time (epoch ms or Date), like Go's Dialer.Deadline. */
  readonly deadline?: Deadline;
}

export interface ConnectUnixOptions {
  readonly path: string;
  readonly signal?: AbortSignal;
  readonly timeout?: number;
  readonly deadline?: Deadline;
}

export type ConnectOptions = ConnectTcpOptions | ConnectUnixOptions;

const CONNECT_TCP_KEYS = optionKeys<ConnectTcpOptions>({ port: true, hostname: true, network: true, signal: true, timeout: true, deadline: true });
const CONNECT_UNIX_KEYS = optionKeys<ConnectUnixOptions>({ path: true, signal: true, timeout: true, deadline: true });

const EINPROGRESS = E.EINPROGRESS!;
const EINTR = E.EINTR!;
const EAGAIN = E.EAGAIN!;
const EISCONN = E.EISCONN!;
const ENOTCONN = E.ENOTCONN!;
const EALREADY = E.EALREADY!;

/**
 * Connects to a TCP endpoint or a unix socket. Resolves a Conn once the
 * connection is established (confirmed with SO_ERROR and getpeername).
 * Rejects with NetError (`ECONNREFUSED`, `ENOENT`, …), DeadlineExceededError
 * on timeout, `signal.reason` on abort, or AddrError for bad input (checked
 * before any system call); TypeError for an unknown option (`host` for
 * `hostname`, …), RangeError for a `deadline` number before 1971 (a
 * duration belongs in `timeout`). A failed connect leaves no descriptor behind.
 */
export async function connect(opts: ConnectOptions): Promise<Conn> {
  if (opts === null || typeof opts !== "object") throw new TypeError("connect: options object required");
  checkOptions("connect", opts, "path" in opts ? CONNECT_UNIX_KEYS : CONNECT_TCP_KEYS);
  checkDeadline("connect", opts.deadline);
  checkSignal("connect", opts.signal);
  if (!("path" in opts)) checkHostname("connect", opts.hostname);
  const deadline = connectDeadline(opts);
  if ("path" in opts) {
    const path = checkUnixPath("dial", "unix", opts.path);
    return dialOne({ family: "unix", path }, "unix", deadline, opts.signal);
  }
  checkNetwork("dial", opts.network, ["tcp", "tcp4", "tcp6"]);
  const net0 = opts.network ?? "tcp";
  const pinned = networkFamily(opts.network);
  const port = checkPort("dial", net0, opts.port, opts.hostname);
  const host = opts.hostname ?? "localhost";
  const fam = literalFamily("dial", net0, host, pinned);
  opts.signal?.throwIfAborted();
  const targets = fam !== null ? [{ family: fam, address: host }] : await resolveHost("dial", net0, host, pinned);
  let first: unknown = null;
  for (const t of targets) {
    try {
      return await dialOne({ family: t.family, address: t.address, port }, "tcp", deadline, opts.signal);
    } catch (err) {
      // Try the next address only for errors of that address, not for a
      // timeout or a cancel that ends the whole dial.
      if (err instanceof DeadlineExceededError || !(err instanceof NetError)) throw err;
      first ??= err;
    }
  }
  throw first;
}

function connectDeadline(opts: ConnectOptions): number {
  let mono = toMono(opts.deadline);
  const t = opts.timeout;
  if (t !== undefined) {
    if (typeof t !== "number" || Number.isNaN(t)) throw new TypeError(`connect: timeout must be a number of ms, got ${String(t)}`);
    if (t !== 0 && t !== Infinity) {
      const byTimeout = t > 0 ? performance.now() + t : Number.MIN_VALUE;
      mono = mono === 0 ? byTimeout : Math.min(mono, byTimeout);
    }
  }
  return mono;
}

async function dialOne(sa: SockAddr, transport: "tcp" | "unix", deadline: number, signal?: AbortSignal): Promise<Conn> {
  const remote = toAddr(sa, transport);
  const net = sa.family === "unix" ? "unix" : netName("tcp", sa.family);
  const ctx: ErrorContext = new PeerContext(net, remote);
  if (deadline !== 0 && deadline <= performance.now()) throw new DeadlineExceededError("dial", ctx);
  signal?.throwIfAborted();
  const s = openSocket(familyNumber(sa.family), C.SOCK_STREAM, "dial", ctx);
  let fd: FD;
  try {
    fd = new FD(s, { socket: true, owned: true, ctx });
  } catch (err) {
    sys.close(s);
    throw err;
  }
  try {
    if (transport === "tcp") setIntOpt(s, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    if (deadline !== 0) fd.setMonoDeadline("w", deadline, "dial");
    await connectFd(fd, sa, signal);
    if (deadline !== 0) fd.setMonoDeadline("w", 0, "dial");
    return new Conn(fd, transport, remote);
  } catch (err) {
    await fd.close().catch(() => {});
    throw err;
  }
}

// The connect syscall as an io() attempt on the write side: the first call
// is connect(2); "in progress" is EAGAIN (park until writable). Every later
// call asks SO_ERROR and never calls connect again to probe; SO_ERROR 0 is
// confirmed with getpeername, since the wakeup can be spurious (Go issue
// 14548). An EINTR from connect(2) means the connect goes on in the
// background, so it is "in progress" too, not a retry.
function connectFd(fd: FD, sa: SockAddr, signal?: AbortSignal): Promise<number> {
  let started = false;
  return fd.io<number>(
    "w",
    "dial",
    "connect",
    () => {
      if (!started) {
        started = true;
        const len = encode(sa);
        if (sys.connect(fd.sysfd, saBuf, len) === 0) return 0;
        const e = errno();
        if (e === EISCONN) return 0;
        return e === EINPROGRESS || e === EALREADY || e === EINTR ? -EAGAIN : -e;
      }
      // SO_ERROR, or the error the poller took from the event (kqueue's fflags).
      const soErr = getIntOpt(fd.sysfd, C.SOL_SOCKET, C.SO_ERROR) || fd.takeSocketError();
      if (soErr < 0) throw sysError("dial", "getsockopt", -soErr, fd.ctx);
      if (soErr === EINPROGRESS || soErr === EALREADY || soErr === EINTR) return -EAGAIN;
      if (soErr !== 0) return -soErr;
      const peer = peerName(fd.sysfd);
      if (typeof peer !== "number") return 0;
      if (-peer === ENOTCONN) return -EAGAIN;
      throw sysError("dial", "getpeername", -peer, fd.ctx);
    },
    signal,
  );
}
