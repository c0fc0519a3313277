// bun-netpoll/ffi: the libc layer the runtime is built on, for programs that
// bind C libraries (or the kernel) themselves and want the same bindings,
// constants, errno tables and sockaddr codecs. Explicit named exports only;
// this list is the stable surface (the files behind it are not).
//
// ```ts
// import { sys, errno, errnoName, C, E, checked } from "bun-netpoll/ffi";
// const fds = new Int32Array(new ArrayBuffer(8));       // kernel memory: its own ArrayBuffer
// checked("pipe2", sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC));
// const n = sys.read(fds[0]!, buf, buf.length);
// if (n < 0 && errno() === E.EAGAIN) { ... }           // errno read right after the call
// ```
//
// Rules for memory handed to the kernel: a TypedArray over its own
// `new ArrayBuffer(n)` (or a SharedArrayBuffer), held by a long-lived object
// for as long as the kernel may use it; never keep `ptr()` numbers.
import { errno as lastErrno } from "../ffi/libc.ts";
import { platform as thePlatform } from "../ffi/platform.ts";
import { NetError } from "./errors.ts";

export { cString, errno, setNonblockCloexec, sys, type Sys } from "../ffi/libc.ts";
export { C, COMMON_ERRNO_NAMES, E, platform, type CommonErrnoName, type ErrnoCodes, type OsName, type Platform } from "../ffi/platform.ts";
export type { ConstantName, OsConstants } from "../ffi/constants/types.ts";
export type { EpollEventLayout, KeventLayout } from "../ffi/layout.ts";
export { writeEpollEvent, writeKevent } from "../ffi/layout.ts";
export { decodeSockaddr, encodeSockaddr, formatSockaddr, type SockAddr, type SockaddrPathError } from "../ffi/sockaddr.ts";
export { formatIPv4, formatIPv6, ipFamily, parseIPv4, parseIPv6 } from "../ffi/sockaddr.ts";

/** The errno name of a number on this OS (`errnoName(11)` → `"EAGAIN"` on Linux), or `E<n>` when unknown. */
export function errnoName(errno: number): string {
  return thePlatform.errno.name(errno);
}

/** The strerror() text of an errno number on this OS. */
export function errnoMessage(errno: number): string {
  return thePlatform.errno.message(errno);
}

/** The number of an errno name on this OS, or undefined when the OS has no such name. */
export function errnoNumber(name: string): number | undefined {
  return thePlatform.errno.number(name);
}

/**
 * Checks a libc result: returns it when it is >= 0, and otherwise reads
 * errno at once and throws a NetError (`code` the errno name, `syscall` the
 * name given, `op` defaults to it, `net` "fd"). Pass the call itself as the
 * argument so that no other FFI call runs in between:
 * `checked("epoll_create1", sys.epoll_create1(C.EPOLL_CLOEXEC))`.
 */
export function checked(syscall: string, result: number, op: string = syscall): number {
  if (result >= 0) return result;
  const e = lastErrno();
  throw new NetError({ op, syscall, errno: e, code: thePlatform.errno.name(e), net: "fd", address: "" });
}
