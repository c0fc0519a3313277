// connect(): a non-blocking connect on the netpoller (Go: net/fd_unix.go connect).
import { errno, sys } from "../../ffi/libc.ts";
import { C, E, platform } from "../../ffi/platform.ts";
import type { SockAddr } from "../../ffi/sockaddr.ts";
import { contextFields, DeadlineExceededError, type ErrorContext, NetError, sysError } from "../errors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { atMono, checkDeadline, type Deadline, toMono } from "../runtime/deadline.ts";
import { FD } from "../runtime/fd.ts";
import { checkHostname, checkNetwork, checkPort, checkSignal, checkUnixPath, ipLiteral, type IpLiteral, ipSockAddr, networkFamily, netName } from "./_addr_checks.ts";
import { checkLookup, type LookupFunction, resolveHost } from "./_resolve.ts";
import { PeerContext, toAddr } from "./addr.ts";
import { Conn } from "./conn.ts";
import { encode, familyNumber, getIntOpt, localName, openSocket, peerName, saBuf, setIntOpt } from "./sys.ts";

export interface ConnectTcpOptions {
  readonly port: number;
  /**
   * An IP literal or a host name (resolved with `lookup`); default
   * "localhost". A name's IPv4 addresses are tried before its IPv6 ones, one
   * after another, each with a share of the time left; with network "tcp"
   * the IPv6 ones start 300 ms later beside them (Happy Eyeballs). An IPv6
   * literal may carry a zone: "fe80::1%eth0" (an interface name) or
   * "fe80::1%2" (an index); an unknown interface name is an AddrError
   * (ENODEV).
   */
  readonly hostname?: string;
  /** "tcp" (default), "tcp4" or "tcp6". */
  readonly network?: "tcp" | "tcp4" | "tcp6";
  /** Resolves `hostname` when it is not an IP literal; default Bun's resolver (`Bun.dns.lookup`). */
  readonly lookup?: LookupFunction;
  /** Cancels the connect: it rejects with `signal.reason` and leaks nothing. */
  readonly signal?: AbortSignal;
  /** Gives up after this many ms, lookup included (DeadlineExceededError). 0 or Infinity: no limit. */
  readonly timeout?: number;
  /** Gives up at this absolute time (epoch ms or Date), lookup included, like Go's Dialer.Deadline. */
  readonly deadline?: Deadline;
}

export interface ConnectUnixOptions {
  readonly path: string;
  readonly signal?: AbortSignal;
  readonly timeout?: number;
  readonly deadline?: Deadline;
}

export type ConnectOptions = ConnectTcpOptions | ConnectUnixOptions;

const CONNECT_TCP_KEYS = optionKeys<ConnectTcpOptions>({ port: true, hostname: true, network: true, signal: true, timeout: true, deadline: true, lookup: true });
const CONNECT_UNIX_KEYS = optionKeys<ConnectUnixOptions>({ path: true, signal: true, timeout: true, deadline: true });

const EINPROGRESS = E.EINPROGRESS!;
const EINTR = E.EINTR!;
const EAGAIN = E.EAGAIN!;
const EISCONN = E.EISCONN!;
const ENOTCONN = E.ENOTCONN!;
const EALREADY = E.EALREADY!;
const ECONNREFUSED = E.ECONNREFUSED!;

/**
 * Connects to a TCP endpoint or a unix socket. Resolves a Conn once the
 * connection is established (confirmed with SO_ERROR and getpeername).
 * The timeout, deadline and signal cover the whole dial, host name lookup
 * included. A TCP connect that reaches its own socket (simultaneous open on
 * a port nobody listens on) is tried again, and fails ECONNREFUSED if it
 * keeps happening. When every address of a name fails, the error is the
 * first address's.
 *
 * Rejects with NetError (`ECONNREFUSED`, `ENOENT`, …), DeadlineExceededError
 * on timeout, `signal.reason` on abort, AddrError for bad input (checked
 * before any system call) or a name that does not resolve (`ENOTFOUND`),
 * TypeError for an option of the wrong type or an unknown option (`host`
 * for `hostname`, …), RangeError for a `deadline` number before 1971 (a
 * duration belongs in `timeout`). A failed connect leaves no descriptor or
 * timer behind.
 *
 * Errors are rejections of the returned promise.
 * @throws {TypeError} opts is not an object, an unknown option, or an option of the wrong type (hostname, lookup, signal, timeout, deadline)
 * @throws {RangeError} a `deadline` number before 1971, taken for a misplaced duration
 * @throws {AddrError} a bad port, network, IP literal, zone (ENODEV) or unix path (ENAMETOOLONG, EINVAL); a name that does not resolve (ENOTFOUND, `cause`), or a resolver answer that is not a list of IP addresses (EINVAL)
 * @throws {DeadlineExceededError} the timeout or deadline passed, lookup included (timeout === true)
 * @throws {NetError} ECONNREFUSED, ENOENT, ENETUNREACH and other socket/connect errors (code, syscall)
 * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
 */
export async function connect(opts: ConnectOptions): Promise<Conn> {
  if (opts === null || typeof opts !== "object") throw new TypeError("connect: options object required");
  checkOptions("connect", opts, "path" in opts ? CONNECT_UNIX_KEYS : CONNECT_TCP_KEYS);
  checkDeadline("connect", opts.deadline);
  checkSignal("connect", opts.signal);
  if (!("path" in opts)) {
    checkHostname("connect", opts.hostname);
    checkLookup("connect", opts.lookup);
  }
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
  const lit = ipLiteral("dial", net0, host, pinned);
  opts.signal?.throwIfAborted();
  const targets =
    lit !== null
      ? [lit]
      : await lookupWithin(
          (stop) => resolveHost("dial", net0, host, pinned, opts.lookup, stop),
          deadline,
          opts.signal,
          { net: net0, address: `${host}:${port}`, port },
        );
  // Go's dialer races the families only for "tcp" (no family pinned).
  const primary = targets[0]!.family;
  const fallbacks = net0 === "tcp" ? targets.filter((t) => t.family !== primary) : [];
  if (fallbacks.length === 0) return dialSerial(targets, port, deadline, opts.signal);
  return dialParallel(
    targets.filter((t) => t.family === primary),
    fallbacks,
    port,
    deadline,
    opts.signal,
  );
}

type Target = IpLiteral;

// Go's saneMinimum: the least time an address gets when the time left is shared.
const MIN_SHARE_MS = 2000;

// Go's partialDeadline: the deadline of one attempt among `left` addresses
// still to try. Each gets an equal share of the time that remains, but at
// least MIN_SHARE_MS (taken from the addresses at the end of the list), and
// all of it when less than that remains. 0 (no deadline) stays 0.
function partialDeadline(now: number, deadline: number, left: number): number {
  if (deadline === 0) return 0;
  const remaining = deadline - now;
  let share = remaining / left;
  if (share < MIN_SHARE_MS) share = Math.min(remaining, MIN_SHARE_MS);
  return Math.min(now + share, deadline);
}

// Go's dialSerial: tries the addresses in order, each under its share of
// the time left, until one connects. An abort ends the dial with its
// reason; any other failure (refused, unreachable, that address's share
// timed out) moves on to the next address. When all fail, or the deadline
// passes, the first address's error is the dial's.
async function dialSerial(targets: readonly Target[], port: number, deadline: number, signal?: AbortSignal): Promise<Conn> {
  let first: unknown = null;
  for (let i = 0; i < targets.length; i++) {
    signal?.throwIfAborted();
    const sa = ipSockAddr(targets[i]!, port);
    const family = sa.family as "inet" | "inet6";
    const now = performance.now();
    if (deadline !== 0 && deadline <= now) {
      first ??= new DeadlineExceededError("dial", new PeerContext(netName("tcp", family), toAddr(sa, "tcp")));
      break;
    }
    try {
      return await dialOne(sa, "tcp", partialDeadline(now, deadline, targets.length - i), signal);
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err;
      first ??= err;
    }
  }
  throw first;
}

// How long the first family's addresses are tried alone before the other
// family's start in parallel (Go's FallbackDelay default, RFC 8305's 300 ms).
const FALLBACK_DELAY_MS = 300;

// The reason the losing attempts of a race are aborted with.
const LOST_RACE = new Error("dial: another address connected first");

// Go's dialParallel ("Happy Eyeballs"): the primaries (the first address's
// family) are dialled serially; FALLBACK_DELAY_MS later, or at once if the
// primaries all failed before that, the fallbacks (the other family) are
// dialled serially beside them. The first connection wins; the other
// attempt is aborted, and a connection it still makes is closed. When both
// fail, the primaries' error is the dial's; an abort rejects with its reason.
function dialParallel(
  primaries: readonly Target[],
  fallbacks: readonly Target[],
  port: number,
  deadline: number,
  signal?: AbortSignal,
): Promise<Conn> {
  signal?.throwIfAborted();
  return new Promise<Conn>((resolve, reject) => {
    const race = new AbortController();
    let done = false;
    let primaryErr: unknown = null;
    let failed = 0;
    let cancelFallback: (() => void) | null = null;
    const onAbort = (): void => race.abort(signal!.reason);
    const finish = (): void => {
      done = true;
      cancelFallback?.();
      cancelFallback = null;
      signal?.removeEventListener("abort", onAbort);
      if (!race.signal.aborted) race.abort(LOST_RACE);
    };
    const start = (primary: boolean): void => {
      dialSerial(primary ? primaries : fallbacks, port, deadline, race.signal).then(
        (c) => {
          if (done) return void c.close().catch(() => {});
          finish();
          resolve(c);
        },
        (err: unknown) => {
          if (done) return;
          if (race.signal.aborted) {
            finish();
            return reject(signal!.reason);
          }
          if (primary) primaryErr = err;
          if (++failed === 2) {
            finish();
            return reject(primaryErr);
          }
          if (primary && cancelFallback !== null) {
            cancelFallback();
            cancelFallback = null;
            start(false);
          }
        },
      );
    };
    signal?.addEventListener("abort", onAbort);
    start(true);
    if (!done) {
      cancelFallback = atMono(performance.now() + FALLBACK_DELAY_MS, () => {
        cancelFallback = null;
        start(false);
      });
    }
  });
}

// Runs a host name lookup under the dial's deadline and signal: rejects with
// DeadlineExceededError at the deadline, or signal.reason on abort, while the
// lookup may still run. The lookup's own signal is aborted then, and its
// late answer or failure is ignored (Go bounds the lookup by the dial's
// context the same way).
function lookupWithin<T>(
  run: (stop: AbortSignal) => Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  ctx: ErrorContext,
): Promise<T> {
  if (deadline !== 0 && deadline <= performance.now()) return Promise.reject(new DeadlineExceededError("dial", ctx));
  return new Promise<T>((resolve, reject) => {
    const stop = new AbortController();
    let cancelTimer: (() => void) | null = null;
    let done = false;
    const end = (): boolean => {
      if (done) return false;
      done = true;
      cancelTimer?.();
      signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const fail = (err: unknown): void => {
      if (!end()) return;
      stop.abort(err);
      reject(err);
    };
    const onAbort = (): void => fail(signal!.reason);
    if (deadline !== 0) cancelTimer = atMono(deadline, () => fail(new DeadlineExceededError("dial", ctx)));
    signal?.addEventListener("abort", onAbort);
    run(stop.signal).then(
      (v) => void (end() && resolve(v)),
      (err: unknown) => void (end() && reject(err)),
    );
  });
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

// How many times a TCP connect that reached its own socket is tried again
// before the dial gives up (Go: doDialTCPProto tries twice more).
const SELF_CONNECT_RETRIES = 2;

// One connect to one address. A TCP connect can reach its own socket: with
// nothing listening on the destination, a kernel that picks the destination
// port as the ephemeral source port completes the connect as a simultaneous
// open with itself (Go issue 2690). Such a socket is closed and the connect
// tried again with a fresh one; if that keeps happening the dial fails
// ECONNREFUSED, since a self-connect proves that nothing listens there.
async function dialOne(sa: SockAddr, transport: "tcp" | "unix", deadline: number, signal?: AbortSignal): Promise<Conn> {
  const remote = toAddr(sa, transport);
  const net = sa.family === "unix" ? "unix" : netName("tcp", sa.family);
  const ctx: ErrorContext = new PeerContext(net, remote);
  for (let retries = 0; ; retries++) {
    const { fd, local } = await connectOnce(sa, transport, deadline, ctx, signal);
    if (local === null || !isSelf(local, sa, fd)) return new Conn(fd, transport, remote, local && toAddr(local, transport));
    await fd.close().catch(() => {});
    if (retries === SELF_CONNECT_RETRIES) {
      throw new NetError(
        { ...contextFields(ctx), op: "dial", syscall: "connect", errno: ECONNREFUSED, code: platform.errno.name(ECONNREFUSED) },
        "connected to itself: nothing listens there",
      );
    }
  }
}

// A connected socket and, for TCP, its local address (null for unix).
async function connectOnce(
  sa: SockAddr,
  transport: "tcp" | "unix",
  deadline: number,
  ctx: ErrorContext,
  signal?: AbortSignal,
): Promise<{ fd: FD; local: SockAddr | null }> {
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
    return { fd, local: transport === "tcp" ? localName(s) : null };
  } catch (err) {
    await fd.close().catch(() => {});
    throw err;
  }
}

// Whether the socket's peer is its own local address (both as the kernel
// reports them); getpeername is asked only when the ports match.
function isSelf(local: SockAddr, remote: SockAddr, fd: FD): boolean {
  if (local.family === "unix" || remote.family === "unix" || local.port !== remote.port) return false;
  const peer = peerName(fd.sysfd);
  return typeof peer !== "number" && peer.family === local.family && peer.address === local.address && peer.port === local.port;
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
