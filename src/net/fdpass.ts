// Descriptor passing over AF_UNIX sockets (sendmsg / recvmsg with
// SCM_RIGHTS) and the peer's credentials (SO_PEERCRED on Linux,
// LOCAL_PEERCRED / LOCAL_PEERPID on macOS, LOCAL_PEERCRED on FreeBSD).
//
// Ownership: descriptors sent stay the sender's (the kernel holds its own
// reference while the message is in flight); descriptors received belong to
// the caller, close-on-exec (MSG_CMSG_CLOEXEC where it exists, FD_CLOEXEC
// right after recvmsg elsewhere). A message whose control data did not fit
// (MSG_CTRUNC) rejects with ControlTruncatedError after closing every
// descriptor that did arrive with it, so nothing leaks.
//
// Edge-triggered readiness: a stream read ends at a message boundary that
// carried descriptors even with more bytes queued, and no new edge follows.
// Every read here goes through FD.io, whose attempt makes the syscall first
// and parks only on EAGAIN (runtime/io_op.ts), so the bytes behind it are
// read by the next call without waiting.
import { CMSGHDR, cmsgSpace, IoVecs, readCmsgs, writeCmsg } from "../../ffi/iovec.ts";
import { errno, setFdFlags, sys } from "../../ffi/libc.ts";
import { peerCredLayout, XUCRED_VERSION } from "../../ffi/layout.ts";
import { C, E, platform } from "../../ffi/platform.ts";
import { decodeSockaddr, type SockAddr } from "../../ffi/sockaddr.ts";
import { contextFields, type ErrorContext, NetError, sysError } from "../errors.ts";
import { optionKeys, optionsError, type SignalOptions } from "../options.ts";
import { bytesArg, signalArg } from "../runtime/bytes.ts";
import type { FD } from "../runtime/fd.ts";
import { type Addr, toAddr } from "./addr.ts";
import { encode, saBuf } from "./sys.ts";

/** Options of readWithFds / receiveWithFds. */
export interface ReadFdsOptions extends SignalOptions {
  /**
   * The most descriptors one message may carry (default 32, at most 1024):
   * the control buffer is sized for this many. A message with more rejects
   * with ControlTruncatedError.
   */
  readonly maxFds?: number;
}

/** What readWithFds resolves: the bytes read (null at EOF) and the descriptors that came with them. */
export interface FdMessage {
  readonly n: number | null;
  /** Received descriptors, now owned by the caller (close-on-exec). */
  readonly fds: number[];
}

/** The credentials of the process at the other end of a unix socket (as of connect / socketpair). */
export interface PeerCredentials {
  /** The peer's process id (0 where the OS does not report it: FreeBSD before 13). */
  readonly pid: number;
  readonly uid: number;
  /** The peer's primary group. */
  readonly gid: number;
}

/**
 * A received message's control data did not fit the buffer (MSG_CTRUNC):
 * it carried more descriptors than `maxFds`. The descriptors that did arrive
 * are closed; `closedFds` says how many. The message's bytes were consumed
 * (`bytesRead`); on a stream the framing the peer intended is lost.
 */
export class ControlTruncatedError extends NetError {
  override name = "ControlTruncatedError";
  /** Data bytes of the message that were read into the buffer. */
  readonly bytesRead: number;
  /** Descriptors that arrived with it and were closed. */
  readonly closedFds: number;
  constructor(op: string, ctx: ErrorContext, bytesRead: number, closedFds: number) {
    super(
      { ...contextFields(ctx), op, code: "ERR_CONTROL_TRUNCATED", errno: 0, syscall: "recvmsg" },
      `control data truncated: the message carried more descriptors than maxFds (${closedFds} received and closed)`,
    );
    this.bytesRead = bytesRead;
    this.closedFds = closedFds;
  }
}

const DEFAULT_MAX_FDS = 32;
/** An API bound on maxFds (the control buffer is allocated per call). */
const MAX_FDS_LIMIT = 1024;
const INT_SIZE = 4;
const MSG_NOSIGNAL = C.MSG_NOSIGNAL > 0 ? C.MSG_NOSIGNAL : 0;
const MSG_CMSG_CLOEXEC = C.MSG_CMSG_CLOEXEC > 0 ? C.MSG_CMSG_CLOEXEC : 0;
const SA_SIZE = C.SOCKADDR_STORAGE_SIZE;

// One iovec and msghdr, filled right before each sendmsg / recvmsg and read
// right after it, in the same synchronous block.
const vecs = new IoVecs(1);

/** The operation needs a unix socket: NetError EOPNOTSUPP otherwise. */
export function notUnix(op: string, ctx: ErrorContext): NetError {
  return new NetError({ ...contextFields(ctx), op, code: "EOPNOTSUPP", errno: E.EOPNOTSUPP!, syscall: "" }, "descriptor passing and peer credentials need a unix socket");
}

/** The fds argument: an array of non-negative int32 descriptors (TypeError otherwise). */
function fdsArg(op: string, fds: unknown): readonly number[] {
  if (!Array.isArray(fds)) throw new TypeError(`${op}: fds must be an array of descriptors`);
  for (const fd of fds) {
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0 || fd > 0x7fff_ffff) {
      throw new TypeError(`${op}: fds must hold non-negative integer descriptors, got ${typeof fd === "number" ? fd : typeof fd}`);
    }
  }
  return fds as readonly number[];
}

function maxFdsArg(op: string, v: unknown): number {
  if (v === undefined) return DEFAULT_MAX_FDS;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_FDS_LIMIT) {
    throw new TypeError(`${op}: maxFds must be an integer from 1 to ${MAX_FDS_LIMIT}, got ${String(v)}`);
  }
  return v;
}

/** A control buffer holding one SCM_RIGHTS message with fds (null for none). */
function rightsControl(fds: readonly number[]): Uint8Array | null {
  if (fds.length === 0) return null;
  const control = new Uint8Array(new ArrayBuffer(cmsgSpace(fds.length * INT_SIZE)));
  const at = writeCmsg(control, 0, C.SOL_SOCKET, C.SCM_RIGHTS, fds.length * INT_SIZE);
  const v = new DataView(control.buffer);
  fds.forEach((fd, i) => v.setInt32(at + i * INT_SIZE, fd, true));
  return control;
}

/**
 * Sends bytes with fds attached. On a stream the descriptors travel with
 * the first sendmsg; if the kernel takes only part of the bytes, the rest
 * follow as plain sends (parking while the buffer is full). `to` addresses
 * an unconnected datagram socket. Resolves the byte count.
 */
export function sendWithFds(fd: FD, op: string, data: unknown, fdList: unknown, to: SockAddr | null, stream: boolean, signal: unknown): Promise<number> {
  let bytes: Uint8Array;
  let fds: readonly number[];
  try {
    bytes = bytesArg(op, "data", data);
    fds = fdsArg(op, fdList);
    signalArg(op, signal);
    if (stream && bytes.length === 0) throw new TypeError(`${op}: data must not be empty: descriptors travel with at least one byte`);
  } catch (err) {
    return Promise.reject(err);
  }
  const control = rightsControl(fds);
  const len = bytes.length;
  let off = 0;
  let attached = control === null;
  return fd.io(
    "w",
    op,
    "sendmsg",
    () => {
      for (;;) {
        vecs.set(0, bytes, off, len - off);
        const nameLen = to === null ? 0 : encode(to);
        const hdr = vecs.message(len - off > 0 ? 1 : 0, to === null ? null : saBuf, nameLen, attached ? null : control, attached ? 0 : control!.length);
        const n = sys.sendmsg(fd.sysfd, hdr, MSG_NOSIGNAL);
        if (n < 0) return -errno();
        attached = true;
        off += n;
        if (!stream || off >= len) return off;
      }
    },
    signal as AbortSignal | undefined,
  );
}

/** What one recvmsg delivered. */
interface Received {
  readonly n: number;
  readonly fds: number[];
  readonly from: SockAddr | null;
}

/**
 * One recvmsg with room for maxFds descriptors: the byte count, the
 * descriptors (close-on-exec, owned by the caller) and, when asked, the
 * sender's address. Throws ControlTruncatedError (after closing what
 * arrived) on MSG_CTRUNC.
 */
function recvOnce(fd: FD, op: string, bytes: Uint8Array, control: Uint8Array, wantFrom: boolean): Received | number {
  vecs.set(0, bytes, 0, bytes.length);
  const hdr = vecs.message(bytes.length > 0 ? 1 : 0, wantFrom ? saBuf : null, wantFrom ? SA_SIZE : 0, control, control.length);
  const n = sys.recvmsg(fd.sysfd, hdr, MSG_CMSG_CLOEXEC);
  if (n < 0) return -errno();
  const flags = vecs.flags();
  const fds: number[] = [];
  for (const m of readCmsgs(control, vecs.controlLen(), CMSGHDR)) {
    if (m.level !== C.SOL_SOCKET || m.type !== C.SCM_RIGHTS) continue;
    const v = new DataView(control.buffer, control.byteOffset + m.data, m.len);
    for (let i = 0; i + INT_SIZE <= m.len; i += INT_SIZE) fds.push(v.getInt32(i, true));
  }
  if (flags & C.MSG_CTRUNC) {
    for (const d of fds) sys.close(d);
    throw new ControlTruncatedError(op, fd.ctx, n, fds.length);
  }
  if (MSG_CMSG_CLOEXEC === 0) {
    try {
      for (const d of fds) setFdFlags(sys.fcntl, d, C.O_CLOEXEC);
    } catch (err) {
      for (const d of fds) sys.close(d);
      throw err;
    }
  }
  let from: SockAddr | null = null;
  if (wantFrom) {
    const nl = Math.min(vecs.nameLen(), SA_SIZE);
    from = nl > 2 ? decodeSockaddr(saBuf, nl) : { family: "unix", path: "" };
  }
  return { n, fds, from };
}

const READ_FDS_KEYS = optionKeys<ReadFdsOptions>({ maxFds: true, signal: true });

/**
 * One read with descriptors on fd's read side: checks the arguments (a
 * rejection, never a throw), then recvmsg until it does not say EAGAIN, and
 * shapes the message (stream: n null at EOF; datagram: the sender too).
 */
function readFds<T>(
  fd: FD,
  op: string,
  buf: unknown,
  opts: ReadFdsOptions | undefined,
  datagram: boolean,
  shape: (m: { n: number; fds: number[]; from: SockAddr | null }) => T,
): Promise<T> {
  let bytes: Uint8Array;
  let control: Uint8Array;
  try {
    const bad = optionsError(op, opts, READ_FDS_KEYS);
    if (bad !== null) throw bad;
    bytes = bytesArg(op, "buf", buf);
    signalArg(op, opts?.signal);
    const maxFds = maxFdsArg(op, opts?.maxFds);
    // A stream read of 0 bytes cannot tell EOF from a message of descriptors only.
    if (!datagram && bytes.length === 0) throw new TypeError(`${op}: buf must not be empty`);
    control = new Uint8Array(new ArrayBuffer(cmsgSpace(maxFds * INT_SIZE)));
  } catch (err) {
    return Promise.reject(err);
  }
  return fd.io(
    "r",
    op,
    "recvmsg",
    (): T | number => {
      const r = recvOnce(fd, op, bytes, control, datagram);
      return typeof r === "number" ? r : shape(r);
    },
    opts?.signal,
  );
}

/** Stream read with descriptors: resolves { n, fds }, n null at EOF. */
export function readWithFds(fd: FD, op: string, buf: unknown, opts: ReadFdsOptions | undefined): Promise<FdMessage> {
  return readFds(fd, op, buf, opts, false, (r) => ({ n: r.n === 0 && r.fds.length === 0 ? null : r.n, fds: r.fds }));
}

/** Datagram receive with descriptors: resolves { n, addr, fds }. */
export function receiveWithFds(fd: FD, op: string, buf: unknown, opts: ReadFdsOptions | undefined): Promise<{ n: number; addr: Addr; fds: number[] }> {
  return readFds(fd, op, buf, opts, true, (r) => ({ n: r.n, addr: toAddr(r.from!, "unixgram"), fds: r.fds }));
}

const CRED = peerCredLayout(platform.os);
const credBuf = new Uint8Array(new ArrayBuffer(CRED.size));
const credLen = new Uint32Array(new ArrayBuffer(4));
const pidBuf = new Int32Array(new ArrayBuffer(4));

/**
 * The peer's pid, uid and gid, as the kernel recorded them when the
 * connection was made (connect, or socketpair). Throws NetError (ENOTCONN
 * for an unconnected socket, ClosedError after close).
 */
export function peerCredentials(fd: FD, op: string): PeerCredentials {
  fd.incref(op);
  try {
    const useUcred = C.SO_PEERCRED > 0;
    const level = useUcred ? C.SOL_SOCKET : C.SOL_LOCAL;
    const name = useUcred ? C.SO_PEERCRED : C.LOCAL_PEERCRED;
    credLen[0] = CRED.size;
    if (sys.getsockopt(fd.sysfd, level, name, credBuf, credLen) < 0) throw sysError(op, "getsockopt", errno(), fd.ctx);
    const v = new DataView(credBuf.buffer);
    if (CRED.version >= 0 && v.getUint32(CRED.version, true) !== XUCRED_VERSION) {
      throw new NetError({ ...contextFields(fd.ctx), op, code: "EINVAL", errno: E.EINVAL!, syscall: "getsockopt" }, "unknown struct xucred version");
    }
    let pid = CRED.pid >= 0 ? v.getInt32(CRED.pid, true) : 0;
    if (CRED.pid < 0 && C.LOCAL_PEERPID > 0) {
      credLen[0] = INT_SIZE;
      if (sys.getsockopt(fd.sysfd, C.SOL_LOCAL, C.LOCAL_PEERPID, pidBuf, credLen) < 0) throw sysError(op, "getsockopt", errno(), fd.ctx);
      pid = pidBuf[0]!;
    }
    return { pid, uid: v.getUint32(CRED.uid, true), gid: v.getUint32(CRED.gid, true) };
  } finally {
    fd.decref();
  }
}
