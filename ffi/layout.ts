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

/** eventfd(2)'s counter: reads and writes move exactly one uint64. */
export const EVENTFD_COUNTER_SIZE = 8;

const TWO_32 = 0x1_0000_0000;

/** Writes a non-negative integer below 2^53 as a little-endian u64 (pointers, sizes, user data). */
export function setU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, n % TWO_32, true);
  v.setUint32(at + 4, Math.floor(n / TWO_32), true);
}

/** Reads a little-endian u64 known to be below 2^53. */
export function getU64(v: DataView, at: number): number {
  return v.getUint32(at, true) + v.getUint32(at + 4, true) * TWO_32;
}

/** `struct iovec { void *base; size_t len; }` on 64-bit targets. */
export const IOVEC = { size: 16, base: 0, len: 8 } as const;

/**
 * `struct msghdr` on a 64-bit target. Linux declares msg_iovlen and
 * msg_controllen as size_t; FreeBSD and macOS as int and socklen_t, so
 * msg_flags sits at 48 (Linux, 56 bytes) or 44 (BSD, 48 bytes).
 */
export interface MsghdrLayout {
  readonly size: number;
  readonly name: number;
  /** socklen_t (u32) everywhere. */
  readonly namelen: number;
  readonly iov: number;
  readonly iovlen: number;
  /** Width of msg_iovlen: 8 (size_t) on Linux, 4 (int) on BSD. */
  readonly iovlenSize: 4 | 8;
  readonly control: number;
  readonly controllen: number;
  /** Width of msg_controllen: 8 (size_t) on Linux, 4 (socklen_t) on BSD. */
  readonly controllenSize: 4 | 8;
  readonly flags: number;
}

/** `struct msghdr` on 64-bit Linux (glibc and musl). */
export const MSGHDR_LINUX: MsghdrLayout = {
  size: 56,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  iovlenSize: 8,
  control: 32,
  controllen: 40,
  controllenSize: 8,
  flags: 48,
};

/** `struct msghdr` on 64-bit FreeBSD and macOS. */
export const MSGHDR_BSD: MsghdrLayout = {
  size: 48,
  name: 0,
  namelen: 8,
  iov: 16,
  iovlen: 24,
  iovlenSize: 4,
  control: 32,
  controllen: 40,
  controllenSize: 4,
  flags: 44,
};

export function msghdrLayout(os: "linux" | "darwin" | "freebsd"): MsghdrLayout {
  return os === "linux" ? MSGHDR_LINUX : MSGHDR_BSD;
}

/**
 * `struct cmsghdr` and the CMSG_* alignment on a 64-bit target: Linux
 * (cmsg_len size_t, data aligned to 8), FreeBSD (socklen_t, data aligned to
 * 8), macOS (socklen_t, data aligned to 4).
 */
export interface CmsghdrLayout {
  readonly len: number;
  readonly lenSize: 4 | 8;
  readonly level: number;
  readonly type: number;
  /** CMSG_DATA offset (CMSG_LEN(0)). */
  readonly data: number;
  /** CMSG_ALIGN boundary. */
  readonly align: number;
}

export const CMSGHDR_LINUX: CmsghdrLayout = { len: 0, lenSize: 8, level: 8, type: 12, data: 16, align: 8 };
export const CMSGHDR_FREEBSD: CmsghdrLayout = { len: 0, lenSize: 4, level: 4, type: 8, data: 16, align: 8 };
export const CMSGHDR_DARWIN: CmsghdrLayout = { len: 0, lenSize: 4, level: 4, type: 8, data: 12, align: 4 };

export function cmsghdrLayout(os: "linux" | "darwin" | "freebsd"): CmsghdrLayout {
  return os === "linux" ? CMSGHDR_LINUX : os === "freebsd" ? CMSGHDR_FREEBSD : CMSGHDR_DARWIN;
}

/**
 * `struct pollfd { int fd; short events; short revents; }`: the same 8 bytes
 * on Linux, macOS and FreeBSD.
 */
export const POLLFD = { size: 8, fd: 0, events: 4, revents: 6 } as const;

/** `struct linger { int l_onoff; int l_linger; }` */
export const LINGER = { size: 8, onoff: 0, linger: 4 } as const;

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

/**
 * Where a peer's pid, uid and gid sit in the credentials structure
 * getsockopt returns for a connected AF_UNIX socket. `pid` is -1 when the
 * structure has none (macOS: a separate LOCAL_PEERPID query); `gid` is the
 * primary group (cr_groups[0] in a struct xucred).
 */
export interface PeerCredLayout {
  readonly size: number;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Offset of xucred's cr_version (checked against XUCRED_VERSION), or -1. */
  readonly version: number;
}

/** Linux `struct ucred { pid_t pid; uid_t uid; gid_t gid; }` (SO_PEERCRED). */
export const UCRED_LINUX: PeerCredLayout = { size: 12, pid: 0, uid: 4, gid: 8, version: -1 };
/**
 * macOS `struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups;
 * gid_t cr_groups[16]; }` (LOCAL_PEERCRED): 76 bytes, groups at 12.
 */
export const XUCRED_DARWIN: PeerCredLayout = { size: 76, pid: -1, uid: 4, gid: 12, version: 0 };
/** FreeBSD's xucred adds `union { void *; pid_t cr_pid; }` at 80: 88 bytes. */
export const XUCRED_FREEBSD: PeerCredLayout = { size: 88, pid: 80, uid: 4, gid: 12, version: 0 };
/** XUCRED_VERSION on macOS and FreeBSD. */
export const XUCRED_VERSION = 0;

export function peerCredLayout(os: "linux" | "darwin" | "freebsd"): PeerCredLayout {
  return os === "linux" ? UCRED_LINUX : os === "freebsd" ? XUCRED_FREEBSD : XUCRED_DARWIN;
}
