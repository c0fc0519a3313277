// The one platform switch: which OS constants, errno table, libc and struct
// layouts this process uses. Everything else asks here.
//
// Two choices are kept apart on purpose: the OS (constants, errno, libc) and
// the kqueue flavour (kevent layout and kqueue numbers). On Linux the kqueue
// backend can run over a kqueue-compatible library (BUN_NETPOLL_KQUEUE_LIB,
// e.g. libkqueue), which uses the 32-byte kevent with FreeBSD's numbers.
import { release } from "node:os";
import { darwinConstants } from "./constants/darwin.ts";
import { freebsdConstants } from "./constants/freebsd.ts";
import { linuxConstants } from "./constants/linux.ts";
import type { OsConstants } from "./constants/types.ts";
import { darwinErrno } from "./errno/darwin.ts";
import { freebsdErrno } from "./errno/freebsd.ts";
import { linuxErrno } from "./errno/linux.ts";
import { Errno, type ErrnoCodes } from "./errno/table.ts";
export { COMMON_ERRNO_NAMES, type CommonErrnoName, type ErrnoCodes } from "./errno/table.ts";
import { epollEventLayout, type EpollEventLayout, KEVENT_32, KEVENT_64, type KeventLayout } from "./layout.ts";

export type OsName = "linux" | "darwin" | "freebsd";

export interface Platform {
  readonly os: OsName;
  readonly arch: string;
  /** The C library to dlopen. */
  readonly libc: string;
  readonly constants: OsConstants;
  readonly errno: Errno;
  /** epoll_event layout (Linux only; meaningless elsewhere). */
  readonly epollEvent: EpollEventLayout;
  /** kevent layout for this OS's kqueue (or libkqueue on Linux). */
  readonly kevent: KeventLayout;
  /** Where kqueue()/kevent() live: libc on BSD, BUN_NETPOLL_KQUEUE_LIB on Linux (null if unset). */
  readonly kqueueLib: string | null;
  /** libc's function returning this thread's errno location. */
  readonly errnoLocation: "__errno_location" | "__error";
}

/** FreeBSD 12 grew `struct kevent` to 64 bytes (ext[4]). */
const FREEBSD_KEVENT64_MAJOR = 12;

function detect(): Platform {
  const arch = process.arch;
  const kqOverride = process.env["BUN_NETPOLL_KQUEUE_LIB"] || null;
  switch (process.platform) {
    case "linux":
      return {
        os: "linux",
        arch,
        libc: "libc.so.6",
        constants: linuxConstants,
        errno: new Errno(linuxErrno),
        epollEvent: epollEventLayout(arch),
        kevent: KEVENT_32,
        kqueueLib: kqOverride,
        errnoLocation: "__errno_location",
      };
    case "darwin":
      return {
        os: "darwin",
        arch,
        libc: "libSystem.B.dylib",
        constants: darwinConstants,
        errno: new Errno(darwinErrno),
        epollEvent: epollEventLayout(arch),
        kevent: KEVENT_32,
        kqueueLib: kqOverride ?? "libSystem.B.dylib",
        errnoLocation: "__error",
      };
    case "freebsd": {
      const major = Number.parseInt(release(), 10);
      return {
        os: "freebsd",
        arch,
        libc: "libc.so.7",
        constants: freebsdConstants,
        errno: new Errno(freebsdErrno),
        epollEvent: epollEventLayout(arch),
        kevent: major >= FREEBSD_KEVENT64_MAJOR ? KEVENT_64 : KEVENT_32,
        kqueueLib: kqOverride ?? "libc.so.7",
        errnoLocation: "__error",
      };
    }
    default:
      throw new Error(`bun-netpoll does not support ${process.platform}/${arch}`);
  }
}

export const platform: Platform = detect();
/** Shorthand for `platform.constants`. */
export const C: OsConstants = platform.constants;
/** errno numbers by name for this OS (`E.EAGAIN`). */
export const E: ErrnoCodes = platform.errno.codes;
