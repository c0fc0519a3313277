// Kernel struct layouts, by architecture / OS, as plain offset tables.
// Pure data and byte codecs: no FFI calls here, so they are tested for every
// platform on any machine.

/** `struct epoll_event { uint32_t events; epoll_data_t data; }` */
export interface EpollEventLayout {
  readonly size: number;
  readonly events: number;
  readonly data: number;
}

/** x86_64 declares epoll_event packed: 12 bytes, data unaligned at 4. */
export const EPOLL_EVENT_PACKED: EpollEventLayout = { size: 12, events: 0, data: 4 };
/** Every other Linux architecture (aarch64, riscv64, …): 16 bytes, data at 8. */
export const EPOLL_EVENT_ALIGNED: EpollEventLayout = { size: 16, events: 0, data: 8 };

export function epollEventLayout(arch: string): EpollEventLayout {
  return arch === "x64" ? EPOLL_EVENT_PACKED : EPOLL_EVENT_ALIGNED;
}

/** `struct kevent` (ident, filter, flags, fflags, data, udata [, ext[4]]). */
export interface KeventLayout {
  readonly size: number;
  readonly ident: number;
  readonly filter: number;
  readonly flags: number;
  readonly fflags: number;
  readonly data: number;
  readonly udata: number;
}

/** macOS, FreeBSD < 12 and libkqueue: 32 bytes. */
export const KEVENT_32: KeventLayout = { size: 32, ident: 0, filter: 8, flags: 10, fflags: 12, data: 16, udata: 24 };
/** FreeBSD >= 12: 64 bytes (ext[4] at 32). */
export const KEVENT_64: KeventLayout = { size: 64, ident: 0, filter: 8, flags: 10, fflags: 12, data: 16, udata: 24 };

/** `struct iovec { void *base; size_t len; }` on 64-bit targets. */
export const IOVEC = { size: 16, base: 0, len: 8 } as const;

/** `struct msghdr` on 64-bit Linux. */
export const MSGHDR_LINUX = {
  size: 56,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 48,
} as const;

/**
 * `struct msghdr` on 64-bit macOS and FreeBSD: msg_iovlen is an int and
 * msg_controllen a socklen_t, so it is 48 bytes; the iov fields sit where
 * Linux has them.
 */
export const MSGHDR_BSD = {
  size: 48,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  control: 32,
  controllen: 40,
  flags: 44,
} as const;

export type MsghdrLayout = typeof MSGHDR_LINUX | typeof MSGHDR_BSD;

/** `struct linger { int l_onoff; int l_linger; }` */
export const LINGER = { size: 8, onoff: 0, linger: 4 } as const;

/** `struct rlimit { rlim_t cur; rlim_t max; }` on 64-bit targets. */
export const RLIMIT = { size: 16, cur: 0, max: 8 } as const;

/** Writes one epoll_event at byte `at`: events, and data as (lo, hi) u32 halves. */
export function writeEpollEvent(v: DataView, at: number, L: EpollEventLayout, events: number, lo: number, hi: number): void {
  v.setUint32(at + L.events, events >>> 0, true);
  v.setUint32(at + L.data, lo >>> 0, true);
  v.setUint32(at + L.data + 4, hi >>> 0, true);
}

/** Writes one struct kevent at byte `at` (zeroing the rest, ext[] included); udata as (lo, hi). */
export function writeKevent(
  v: DataView,
  at: number,
  L: KeventLayout,
  ident: number,
  filter: number,
  flags: number,
  fflags: number,
  lo: number,
  hi: number,
): void {
  for (let b = 0; b < L.size; b += 4) v.setUint32(at + b, 0, true);
  v.setUint32(at + L.ident, ident >>> 0, true);
  v.setInt16(at + L.filter, filter, true);
  v.setUint16(at + L.flags, flags, true);
  v.setUint32(at + L.fflags, fflags >>> 0, true);
  v.setUint32(at + L.udata, lo >>> 0, true);
  v.setUint32(at + L.udata + 4, hi >>> 0, true);
}
