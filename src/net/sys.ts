// Socket plumbing shared by listeners, dialers and datagram sockets: creation
// with the runtime's flags, options, and address queries. Scratch buffers are
// module-lived and used only within one synchronous block.
import { statSync } from "node:fs";
import { cString, errno, setNonblockCloexec, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { decodeSockaddr, encodeSockaddr, type SockAddr } from "../../ffi/sockaddr.ts";
import { type ErrorContext, sysError } from "../errors.ts";

const SA_SIZE = C.SOCKADDR_STORAGE_SIZE;
export const saBuf = new Uint8Array(new ArrayBuffer(SA_SIZE));
export const saLen = new Uint32Array(new ArrayBuffer(4));
const intBuf = new Int32Array(new ArrayBuffer(8));
const intLen = new Uint32Array(new ArrayBuffer(4));

export function familyNumber(f: SockAddr["family"]): number {
  return f === "inet" ? C.AF_INET : f === "inet6" ? C.AF_INET6 : C.AF_UNIX;
}

/** Whether socket(2) takes SOCK_NONBLOCK | SOCK_CLOEXEC (not on macOS). */
const CREATION_FLAGS = C.SOCK_NONBLOCK > 0 && C.SOCK_CLOEXEC > 0;

/**
 * socket(2), non-blocking and close-on-exec; on systems without
 * MSG_NOSIGNAL the socket gets SO_NOSIGPIPE instead. Throws NetError, or
 * FdFlagError (the socket closed) if fcntl did not make it non-blocking.
 */
export function openSocket(family: number, type: number, op: string, ctx: ErrorContext): number {
  const fd = sys.socket(family, CREATION_FLAGS ? type | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC : type, 0);
  if (fd < 0) throw sysError(op, "socket", errno(), ctx);
  if (!CREATION_FLAGS) {
    try {
      setNonblockCloexec(fd);
    } catch (err) {
      sys.close(fd);
      throw err;
    }
  }
  if (C.SO_NOSIGPIPE > 0) setIntOpt(fd, C.SOL_SOCKET, C.SO_NOSIGPIPE, 1);
  return fd;
}

/** Per-accepted-socket set-up for systems whose accept4 cannot do it all. */
export function acceptedSocket(fd: number): void {
  if (C.SO_NOSIGPIPE > 0) setIntOpt(fd, C.SOL_SOCKET, C.SO_NOSIGPIPE, 1);
}

/** setsockopt with an int value; returns 0 or errno. */
export function setIntOpt(fd: number, level: number, name: number, value: number): number {
  intBuf[0] = value;
  return sys.setsockopt(fd, level, name, intBuf, 4) < 0 ? errno() : 0;
}

/** getsockopt of an int value; returns the value, or -errno. */
export function getIntOpt(fd: number, level: number, name: number): number {
  intLen[0] = 4;
  if (sys.getsockopt(fd, level, name, intBuf, intLen) < 0) return -errno();
  return intBuf[0]!;
}

/** Encodes sa into the shared scratch; returns its length. */
export function encode(sa: SockAddr): number {
  return encodeSockaddr(sa, saBuf);
}

/** getsockname(2), decoded; null on error. */
export function localName(fd: number): SockAddr | null {
  saLen[0] = SA_SIZE;
  if (sys.getsockname(fd, saBuf, saLen) < 0) return null;
  return decodeSockaddr(saBuf, Math.min(saLen[0]!, SA_SIZE));
}

/** getpeername(2), decoded; or -errno. */
export function peerName(fd: number): SockAddr | number {
  saLen[0] = SA_SIZE;
  if (sys.getpeername(fd, saBuf, saLen) < 0) return -errno();
  return decodeSockaddr(saBuf, Math.min(saLen[0]!, SA_SIZE));
}

/** bind(2) to sa; returns 0 or errno. */
export function bindTo(fd: number, sa: SockAddr): number {
  const len = encode(sa);
  return sys.bind(fd, saBuf, len) < 0 ? errno() : 0;
}

/** A unix socket file this process created, by identity (so a file recreated at the path is left alone). */
export interface SocketFile {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** Records the socket file just bound at path; null for a Linux abstract name (no file). */
export function socketFile(path: string): SocketFile | null {
  if (path.charCodeAt(0) === 0) return null;
  const st = statSync(path);
  return { path, dev: st.dev, ino: st.ino };
}

/** Unlinks the recorded socket file if it is still the one this process created. */
export function unlinkSocketFile(f: SocketFile): void {
  try {
    const st = statSync(f.path);
    if (st.dev === f.dev && st.ino === f.ino) sys.unlink(cString(f.path));
  } catch {
    // Already gone: nothing to unlink.
  }
}

/**
 * A unix socket of `type` bound at path, handed to `finish` with the bound
 * file's identity (null for an abstract name). If the bind, the stat or
 * `finish` (listen, registration) throws, the file the bind created is
 * removed and the socket closed: a failure leaves nothing behind.
 * Errors are NetErrors with op "listen".
 */
export function bindUnixSocket<T>(type: number, path: string, ctx: ErrorContext, finish: (s: number, file: SocketFile | null) => T): T {
  const s = openSocket(C.AF_UNIX, type, "listen", ctx);
  let bound = false;
  try {
    const e = bindTo(s, { family: "unix", path });
    if (e !== 0) throw sysError("listen", "bind", e, ctx);
    bound = true;
    return finish(s, statSocketFile(path, ctx));
  } catch (err) {
    // The bind created the file a moment ago (its identity may be unknown): remove it.
    if (bound && path.charCodeAt(0) !== 0) sys.unlink(cString(path));
    sys.close(s);
    throw err;
  }
}

/** socketFile(), with a failing stat as a NetError (op "listen", syscall "stat"). */
function statSocketFile(path: string, ctx: ErrorContext): SocketFile | null {
  try {
    return socketFile(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const n = typeof code === "string" ? E[code] : undefined;
    throw n !== undefined ? sysError("listen", "stat", n, ctx) : err;
  }
}
