// libc bindings through bun:ffi. One dlopen per thread (each Worker loads its
// own copy of this module). Signatures use i64_fast for ssize_t so results
// stay plain numbers.
//
// Every OS gets the same `sys` surface: where a call is missing (macOS has no
// accept4 or pipe2) a JS shim does the same with the calls that exist, and
// errno comes from __errno_location (Linux) or __error (BSD).
//
// Memory rules (see DESIGN §8): every pointer argument is a TypedArray view
// over `new ArrayBuffer(n)` owned by a long-lived object; no raw pointer
// numbers are kept; errno is read with `errno()` in the same synchronous block
// as the failing call.
import { dlopen, FFIType, type Pointer, read } from "bun:ffi";
import { POLLFD } from "./layout.ts";
import { C, E, platform } from "./platform.ts";
import { ffiParams, type VariadicAbi, variadicAbi, variadicIntBinding } from "./variadic.ts";

const { i32, u32, u64, ptr, i64_fast } = FFIType;

const posix = {
  read: { args: [i32, ptr, u64], returns: i64_fast },
  write: { args: [i32, ptr, u64], returns: i64_fast },
  readv: { args: [i32, ptr, i32], returns: i64_fast },
  writev: { args: [i32, ptr, i32], returns: i64_fast },
  send: { args: [i32, ptr, u64, i32], returns: i64_fast },
  recv: { args: [i32, ptr, u64, i32], returns: i64_fast },
  sendto: { args: [i32, ptr, u64, i32, ptr, u32], returns: i64_fast },
  recvfrom: { args: [i32, ptr, u64, i32, ptr, ptr], returns: i64_fast },
  sendmsg: { args: [i32, ptr, i32], returns: i64_fast },
  recvmsg: { args: [i32, ptr, i32], returns: i64_fast },
  close: { args: [i32], returns: i32 },
  shutdown: { args: [i32, i32], returns: i32 },
  socket: { args: [i32, i32, i32], returns: i32 },
  socketpair: { args: [i32, i32, i32, ptr], returns: i32 },
  bind: { args: [i32, ptr, u32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  accept: { args: [i32, ptr, ptr], returns: i32 },
  connect: { args: [i32, ptr, u32], returns: i32 },
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  getsockname: { args: [i32, ptr, ptr], returns: i32 },
  getpeername: { args: [i32, ptr, ptr], returns: i32 },
  dup: { args: [i32], returns: i32 },
  pipe: { args: [ptr], returns: i32 },
  unlink: { args: [ptr], returns: i32 },
  getrlimit: { args: [i32, ptr], returns: i32 },
  setrlimit: { args: [i32, ptr], returns: i32 },
  if_nametoindex: { args: [ptr], returns: u32 },
  if_indextoname: { args: [u32, ptr], returns: ptr },
} as const;

const linuxOnly = {
  __errno_location: { args: [], returns: ptr },
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
  pipe2: { args: [ptr, i32], returns: i32 },
  eventfd: { args: [u32, i32], returns: i32 },
  epoll_create1: { args: [i32], returns: i32 },
  epoll_ctl: { args: [i32, i32, i32, ptr], returns: i32 },
  epoll_wait: { args: [i32, ptr, i32, i32], returns: i32 },
  // nfds_t is unsigned long on Linux, unsigned int on the BSDs.
  poll: { args: [ptr, u64, i32], returns: i32 },
} as const;

const freebsdOnly = {
  __error: { args: [], returns: ptr },
  poll: { args: [ptr, u32, i32], returns: i32 },
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
  pipe2: { args: [ptr, i32], returns: i32 },
} as const;

const darwinOnly = {
  __error: { args: [], returns: ptr },
  poll: { args: [ptr, u32, i32], returns: i32 },
} as const;

/** kqueue(2) and kevent(2): from libc on BSD, or a kqueue library on Linux. */
export const kqueueSymbols = {
  kqueue: { args: [], returns: i32 },
  kevent: { args: [i32, ptr, i32, ptr, i32, ptr], returns: i32 },
} as const;

// i64_fast returns a number whenever the value fits in 53 bits, which every
// ssize_t result here does; the type says so.
type Narrow<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => bigint extends R ? number : R : T[K];
};

function symbolsOf<D extends Record<string, { readonly args: readonly FFIType[]; readonly returns: FFIType }>>(lib: string, defs: D) {
  return dlopen(lib, defs).symbols as unknown as Narrow<ReturnType<typeof dlopen<D>>["symbols"]>;
}

type Linux = ReturnType<typeof symbolsOf<typeof posix & typeof linuxOnly>>;
type Fcntl = (fd: number, cmd: number, arg: number) => number;
/** The same surface on every OS (epoll/eventfd exist only on Linux). */
export type Sys = Linux & { fcntl: Fcntl };

// fcntl(int fd, int cmd, ...) is variadic: its third argument goes where this
// ABI passes variadic arguments (ffi/variadic.ts has the rules and the
// placement, tested byte by byte). "as-named" (x86_64 System V, AAPCS64 on
// Linux/FreeBSD): a fixed (int, int, int) signature. "apple-arm64": nine
// fixed parameters, so that the value lands in the first stack slot.
const fcntlAbi: VariadicAbi = variadicAbi(platform.os, platform.arch);
const fcntlBinding = variadicIntBinding(fcntlAbi);

function loadFcntl(): Fcntl {
  const raw = dlopen(platform.libc, { fcntl: { args: ffiParams(fcntlBinding.params), returns: i32 } }).symbols.fcntl as (
    ...args: number[]
  ) => number;
  if (fcntlAbi === "as-named") return raw as Fcntl;
  return (fd, cmd, arg) => raw(...fcntlBinding.argv(fd, cmd, arg));
}

function load(): { sys: Sys; errnoPtr: Pointer } {
  switch (platform.os) {
    case "linux": {
      const s = { ...symbolsOf(platform.libc, { ...posix, ...linuxOnly }), fcntl: loadFcntl() };
      return { sys: s, errnoPtr: s.__errno_location() as unknown as Pointer };
    }
    case "freebsd": {
      const s = { ...symbolsOf(platform.libc, { ...posix, ...freebsdOnly }), fcntl: loadFcntl() };
      return { sys: { ...s, ...noEpoll } as unknown as Sys, errnoPtr: s.__error() as unknown as Pointer };
    }
    case "darwin": {
      const s = { ...symbolsOf(platform.libc, { ...posix, ...darwinOnly }), fcntl: loadFcntl() };
      const shims = {
        // No accept4: accept, then O_NONBLOCK and FD_CLOEXEC as asked (a
        // flag that does not stick closes the socket and throws FdFlagError).
        accept4: (fd: number, addr: Uint8Array | null, len: Uint32Array | null, flags: number): number => {
          const c = s.accept(fd, addr, len);
          if (c >= 0) setFlagsOrClose(s, c, flags);
          return c;
        },
        // No pipe2: pipe, then the flags.
        pipe2: (fds: Int32Array, flags: number): number => {
          const r = s.pipe(fds);
          if (r === 0) {
            try {
              setFdFlags(s.fcntl, fds[0]!, flags);
              setFdFlags(s.fcntl, fds[1]!, flags);
            } catch (err) {
              s.close(fds[0]!);
              s.close(fds[1]!);
              throw err;
            }
          }
          return r;
        },
      };
      return { sys: { ...s, ...shims, ...noEpoll } as unknown as Sys, errnoPtr: s.__error() as unknown as Pointer };
    }
  }
}

/**
 * Thrown when fcntl did not set O_NONBLOCK or FD_CLOEXEC: the call failed
 * (code is its errno name), or it returned success but F_GETFL / F_GETFD
 * right after shows the flag missing (code "ERR_FLAG_NOT_SET": the binding
 * does not match this platform's variadic calling convention). A blocking
 * socket would freeze the loop on its first read, so this is never ignored.
 */
export class FdFlagError extends Error {
  readonly syscall = "fcntl";
  constructor(
    readonly fd: number,
    readonly flag: "O_NONBLOCK" | "FD_CLOEXEC",
    readonly code: string,
    readonly abi: VariadicAbi,
  ) {
    super(
      code === "ERR_FLAG_NOT_SET"
        ? `fcntl did not set ${flag} on fd ${fd}: the flag is missing right after a successful call (variadic ABI ${abi})`
        : `fcntl failed to set ${flag} on fd ${fd}: ${code}`,
    );
  }
}

/**
 * Sets O_NONBLOCK and/or FD_CLOEXEC (this OS's O_NONBLOCK / O_CLOEXEC bits in
 * `flags`) through `fcntl`, and reads each back (F_GETFL, F_GETFD) at once.
 * Throws FdFlagError if one did not stick. `fcntl` is a parameter so that a
 * binding can be checked against a stand-in; the runtime passes sys.fcntl.
 */
export function setFdFlags(fcntl: Fcntl, fd: number, flags: number): void {
  if (flags & C.O_NONBLOCK) {
    const fl = fcntl(fd, C.F_GETFL, 0);
    if (fl < 0 || fcntl(fd, C.F_SETFL, fl | C.O_NONBLOCK) < 0) throw flagError(fd, "O_NONBLOCK");
    const now = fcntl(fd, C.F_GETFL, 0);
    if (now < 0) throw flagError(fd, "O_NONBLOCK");
    if ((now & C.O_NONBLOCK) === 0) throw new FdFlagError(fd, "O_NONBLOCK", "ERR_FLAG_NOT_SET", fcntlAbi);
  }
  if (flags & C.O_CLOEXEC) {
    if (fcntl(fd, C.F_SETFD, C.FD_CLOEXEC) < 0) throw flagError(fd, "FD_CLOEXEC");
    const now = fcntl(fd, C.F_GETFD, 0);
    if (now < 0) throw flagError(fd, "FD_CLOEXEC");
    if ((now & C.FD_CLOEXEC) === 0) throw new FdFlagError(fd, "FD_CLOEXEC", "ERR_FLAG_NOT_SET", fcntlAbi);
  }
}

function flagError(fd: number, flag: "O_NONBLOCK" | "FD_CLOEXEC"): FdFlagError {
  return new FdFlagError(fd, flag, platform.errno.name(errno()), fcntlAbi);
}

// For accept4's stand-in: a socket whose flags did not stick is closed.
function setFlagsOrClose(s: { fcntl: Fcntl; close(fd: number): number }, fd: number, flags: number): void {
  try {
    setFdFlags(s.fcntl, fd, flags);
  } catch (err) {
    s.close(fd);
    throw err;
  }
}

const enosys = (): number => {
  throw new Error("epoll is Linux-only");
};
const noEpoll = { __errno_location: enosys, eventfd: enosys, epoll_create1: enosys, epoll_ctl: enosys, epoll_wait: enosys };

const loaded = load();

/** The raw libc symbols. Results are -1 on error; call `errno()` right after. */
export const sys: Sys = loaded.sys;

// The errno location is thread-local storage owned by libc, not a JS buffer,
// so caching it for this thread is safe.
const errnoPtr = loaded.errnoPtr;

/** errno of the last failing call on this thread. Read it before any other FFI call. */
export function errno(): number {
  return read.i32(errnoPtr, 0);
}

// One struct pollfd for pollNow: JS runs one call at a time on this thread.
const pollBuf = new Uint8Array(new ArrayBuffer(POLLFD.size));
const pollView = new DataView(pollBuf.buffer);

/**
 * poll(2) on one descriptor with a zero timeout: never sleeps. Returns the
 * revents that hold now (any of `events`, and POLLHUP / POLLERR / POLLNVAL,
 * which poll reports whether asked or not), 0 if none, or -errno if poll
 * failed. EINTR is retried.
 */
export function pollNow(fd: number, events: number): number {
  for (;;) {
    pollView.setInt32(POLLFD.fd, fd, true);
    pollView.setInt16(POLLFD.events, events, true);
    pollView.setInt16(POLLFD.revents, 0, true);
    const n = sys.poll(pollBuf, 1, 0);
    if (n < 0) {
      const e = errno();
      if (e === E.EINTR) continue;
      return -e;
    }
    return n === 0 ? 0 : pollView.getUint16(POLLFD.revents, true);
  }
}

/** NUL-terminated copy of a string for calls that take a path. */
export function cString(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}

const ifNameBuf = new Uint8Array(new ArrayBuffer(C.IF_NAMESIZE));
const MAX_U32 = 0xffffffff;

/**
 * The index of the network interface named `name` (if_nametoindex), or 0
 * when there is no such interface (or the name cannot be one: empty, a NUL
 * inside, or longer than IF_NAMESIZE - 1 bytes).
 */
export function interfaceIndex(name: string): number {
  if (name.length === 0 || name.includes("\0")) return 0;
  const bytes = cString(name);
  if (bytes.length > C.IF_NAMESIZE) return 0;
  return sys.if_nametoindex(bytes) >>> 0;
}

/** The name of the network interface with index `index` (if_indextoname), or null when none has it. */
export function interfaceName(index: number): string | null {
  if (!Number.isInteger(index) || index <= 0 || index > MAX_U32) return null;
  ifNameBuf.fill(0);
  if (sys.if_indextoname(index, ifNameBuf) === null) return null;
  const end = ifNameBuf.indexOf(0);
  return new TextDecoder().decode(ifNameBuf.subarray(0, end < 0 ? ifNameBuf.length : end));
}

/**
 * Sets O_NONBLOCK and FD_CLOEXEC on fd (for systems without SOCK_NONBLOCK),
 * verified with F_GETFL / F_GETFD. Throws FdFlagError if either did not stick.
 */
export function setNonblockCloexec(fd: number): void {
  setFdFlags(sys.fcntl, fd, C.O_NONBLOCK | C.O_CLOEXEC);
}

/** The variadic calling convention the fcntl binding was built for. */
export const fcntlVariadicAbi: VariadicAbi = fcntlAbi;
