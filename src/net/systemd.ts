// Socket activation: the descriptors systemd (or anything speaking its
// protocol: s6, launchers, a test harness) passed at exec, read the way
// sd_listen_fds(3) reads them. They start at 3 (SD_LISTEN_FDS_START);
// LISTEN_FDS says how many, LISTEN_PID which process they are for,
// LISTEN_FDNAMES their names (FileDescriptorName=, colon-separated).
import { FdFlagError, setFdFlags, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { AddrError, type ErrorContext, sysError } from "../errors.ts";
import { connFromFd, datagramFromFd, listenFd, socketType } from "./adopt.ts";
import type { Conn } from "./conn.ts";
import type { DatagramConn } from "./datagram.ts";
import type { Listener } from "./listener.ts";
import { getIntOpt } from "./sys.ts";
import { checkOptions, optionKeys } from "../options.ts";

/** sd-daemon's SD_LISTEN_FDS_START: the first passed descriptor. */
export const LISTEN_FDS_START = 3;

/** One descriptor passed by the service manager. */
export interface ActivatedSocket {
  /** Its name from LISTEN_FDNAMES, or "unknown" when the variable is unset (as sd_listen_fds_with_names says). */
  readonly name: string;
  readonly fd: number;
  /**
   * The descriptor wrapped: a Listener for a listening stream socket
   * (ListenStream=), a Conn for a connected one (Accept=yes), a DatagramConn
   * for a datagram socket (ListenDatagram=). null for anything else (a FIFO,
   * a special file, a netlink or seqpacket socket): the descriptor stays the
   * caller's, close-on-exec, to use with pollFd() or close.
   */
  readonly socket: Listener | Conn | DatagramConn | null;
}

export interface ListenSystemdOptions {
  /**
   * Remove LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from process.env
   * afterwards, so that child processes do not see them (default true, as
   * sd_listen_fds(1)). Done whatever the outcome, errors included.
   */
  readonly unsetEnvironment?: boolean;
}

const VARS = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] as const;

function badVar(name: string, detail: string): AddrError {
  const ctx: ErrorContext = { net: "fd", address: name };
  return new AddrError("listenSystemd", ctx, detail);
}

function parseCount(name: string, v: string): number {
  if (!/^[0-9]+$/.test(v)) throw badVar(name, `${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw badVar(name, `${name} is out of range: ${v}`);
  return n;
}

const SYSTEMD_KEYS = optionKeys<ListenSystemdOptions>({ unsetEnvironment: true });

/**
 * The sockets passed by socket activation, in order (fd 3, 4, …). Returns
 * [] when there are none for this process: LISTEN_PID unset or naming
 * another process (the variables were inherited from a parent), or
 * LISTEN_FDS unset or 0. Each descriptor gets FD_CLOEXEC, then is wrapped
 * (see ActivatedSocket); the wrappers own their descriptors.
 *
 * Throws AddrError (code EINVAL) when LISTEN_PID or LISTEN_FDS is not a
 * number or LISTEN_FDNAMES has another count of names, NetError when a
 * descriptor cannot be made close-on-exec or wrapped (the wrappers already
 * made are closed first). The variables are unset in every case unless
 * `unsetEnvironment: false`.
 *
 * @throws {TypeError} opts is not an object, or an unknown option
 * @throws {AddrError} EINVAL: LISTEN_PID or LISTEN_FDS is not a non-negative integer or is out of range, or LISTEN_FDNAMES has another count of names
 * @throws {NetError} EBADF (fewer descriptors passed than LISTEN_FDS says), or a descriptor that cannot be wrapped (see listen({ fd }), Conn.fromFd, listenDatagram({ fd })) (code, syscall)
 * @throws {Error} FdFlagError (code, fd, flag) when FD_CLOEXEC or O_NONBLOCK does not stick
 *
 * ```ts
 * const http = listenSystemd().find((s) => s.name === "http")?.socket;
 * const ln = http instanceof Listener ? http : listen({ port: 8080 });
 * ```
 */
export function listenSystemd(opts?: ListenSystemdOptions): ActivatedSocket[] {
  if (opts !== undefined && (opts === null || typeof opts !== "object")) throw new TypeError("listenSystemd: options must be an object");
  checkOptions("listenSystemd", opts, SYSTEMD_KEYS);
  const env = process.env;
  const pidVar = env["LISTEN_PID"];
  const fdsVar = env["LISTEN_FDS"];
  const namesVar = env["LISTEN_FDNAMES"];
  try {
    if (pidVar === undefined) return [];
    if (parseCount("LISTEN_PID", pidVar) !== process.pid) return [];
    if (fdsVar === undefined) return [];
    const n = parseCount("LISTEN_FDS", fdsVar);
    if (n === 0) return [];
    if (LISTEN_FDS_START + n > 0x7fff_ffff) throw badVar("LISTEN_FDS", `LISTEN_FDS is out of range: ${fdsVar}`);
    const names = namesVar === undefined ? Array<string>(n).fill("unknown") : namesVar.split(":");
    if (names.length !== n) throw badVar("LISTEN_FDNAMES", `LISTEN_FDNAMES has ${names.length} names for ${n} descriptors`);
    for (let i = 0; i < n; i++) {
      const fd = LISTEN_FDS_START + i;
      try {
        setFdFlags(sys.fcntl, fd, C.O_CLOEXEC);
      } catch (err) {
        // A descriptor that is not open (fewer passed than LISTEN_FDS says): EBADF as a NetError.
        const e = err instanceof FdFlagError ? E[err.code] : undefined;
        throw e !== undefined ? sysError("listenSystemd", "fcntl", e, { net: "fd", address: String(fd) }) : err;
      }
    }
    const out: ActivatedSocket[] = [];
    try {
      for (let i = 0; i < n; i++) {
        const fd = LISTEN_FDS_START + i;
        out.push({ name: names[i]!, fd, socket: wrap(fd) });
      }
    } catch (err) {
      for (const s of out) void s.socket?.close();
      throw err;
    }
    return out;
  } finally {
    if (opts?.unsetEnvironment !== false) for (const v of VARS) delete env[v];
  }
}

// What one passed descriptor is, wrapped; null when it is not a stream or
// datagram socket of a family the runtime speaks.
function wrap(fd: number): Listener | Conn | DatagramConn | null {
  const type = socketType(fd);
  if (type === C.SOCK_DGRAM) return family(fd) ? datagramFromFd({ fd }) : null;
  if (type !== C.SOCK_STREAM || !family(fd)) return null;
  const listening = getIntOpt(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN);
  if (listening < 0) throw sysError("listenSystemd", "getsockopt", -listening, { net: "fd", address: String(fd) });
  return listening === 0 && connected(fd) ? connFromFd(fd) : listenFd({ fd });
}

const probe = new Uint8Array(new ArrayBuffer(C.SOCKADDR_STORAGE_SIZE));
const probeLen = new Uint32Array(new ArrayBuffer(4));
const FAMILY_BYTE = C.SOCKADDR_HAS_LEN ? 1 : 0;

/** Whether fd is an AF_INET, AF_INET6 or AF_UNIX socket. */
function family(fd: number): boolean {
  probeLen[0] = probe.length;
  if (sys.getsockname(fd, probe, probeLen) < 0) return false;
  const f = C.SOCKADDR_HAS_LEN ? probe[FAMILY_BYTE]! : probe[0]! | (probe[1]! << 8);
  return f === C.AF_INET || f === C.AF_INET6 || f === C.AF_UNIX;
}

function connected(fd: number): boolean {
  probeLen[0] = probe.length;
  return sys.getpeername(fd, probe, probeLen) === 0;
}
