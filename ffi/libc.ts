// libc bindings through bun:ffi. One dlopen per thread (each Worker loads its
// own copy of this module). Signatures use i64_fast for ssize_t so results
// stay plain numbers.
//
// Memory rules (see DESIGN §8): every pointer argument is a TypedArray view
// over `new ArrayBuffer(n)` owned by a long-lived object; no raw pointer
// numbers are kept; errno is read with `errno()` in the same synchronous block
// as the failing call.
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { platform } from "./platform.ts";

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
  // fcntl is variadic; (int, int, int) is passed in registers on x86_64 and
  // Linux aarch64, which is all this binding is used on.
  fcntl: { args: [i32, i32, i32], returns: i32 },
  dup: { args: [i32], returns: i32 },
  unlink: { args: [ptr], returns: i32 },
  getrlimit: { args: [i32, ptr], returns: i32 },
  setrlimit: { args: [i32, ptr], returns: i32 },
} as const;

const linux = {
  __errno_location: { args: [], returns: ptr },
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
  pipe2: { args: [ptr, i32], returns: i32 },
  eventfd: { args: [u32, i32], returns: i32 },
  epoll_create1: { args: [i32], returns: i32 },
  epoll_ctl: { args: [i32, i32, i32, ptr], returns: i32 },
  epoll_wait: { args: [i32, ptr, i32, i32], returns: i32 },
} as const;

function load() {
  if (platform.os !== "linux") throw new Error(`no libc binding for ${platform.os}`);
  return dlopen(platform.libc, { ...posix, ...linux });
}

const lib = load();

// i64_fast returns a number whenever the value fits in 53 bits, which every
// ssize_t result here does; the type says so.
type Narrow<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => bigint extends R ? number : R : T[K];
};

/** The raw libc symbols. Results are -1 on error; call `errno()` right after. */
export const sys = lib.symbols as unknown as Narrow<typeof lib.symbols>;

// The errno location is thread-local storage owned by libc, not a JS buffer,
// so caching it for this thread is safe.
const errnoPtr = sys.__errno_location() as Pointer;

/** errno of the last failing call on this thread. Read it before any other FFI call. */
export function errno(): number {
  return read.i32(errnoPtr, 0);
}

/** NUL-terminated copy of a string for calls that take a path. */
export function cString(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}
