// Byte-level tests of every platform's layouts and constants. No FFI: these
// run on any machine, for every OS and architecture the runtime supports.
import { describe, expect, test } from "bun:test";
import { darwinConstants } from "../../ffi/constants/darwin.ts";
import { freebsdConstants } from "../../ffi/constants/freebsd.ts";
import { linuxConstants } from "../../ffi/constants/linux.ts";
import { CONSTANT_NAMES, type OsConstants } from "../../ffi/constants/types.ts";
import { darwinErrno } from "../../ffi/errno/darwin.ts";
import { freebsdErrno } from "../../ffi/errno/freebsd.ts";
import { linuxErrno } from "../../ffi/errno/linux.ts";
import { Errno, type ErrnoTable } from "../../ffi/errno/table.ts";
import { platform } from "../../ffi/platform.ts";
import {
  EPOLL_EVENT_ALIGNED,
  EPOLL_EVENT_PACKED,
  epollEventLayout,
  KEVENT_32,
  KEVENT_64,
  type KeventLayout,
  writeEpollEvent,
  writeKevent,
  MSGHDR_BSD,
  MSGHDR_LINUX,
} from "../../ffi/layout.ts";

const osConstants: [string, OsConstants][] = [
  ["linux", linuxConstants],
  ["darwin", darwinConstants],
  ["freebsd", freebsdConstants],
];

describe("constants", () => {
  for (const [os, c] of osConstants) {
    test(`${os}: exactly the shared key set, every value an integer`, () => {
      expect(Object.keys(c).sort()).toEqual([...CONSTANT_NAMES].sort());
      for (const k of CONSTANT_NAMES) expect(Number.isInteger(c[k])).toBe(true);
    });
  }

  test("per-OS values that differ are the documented ones", () => {
    expect([linuxConstants.AF_INET6, darwinConstants.AF_INET6, freebsdConstants.AF_INET6]).toEqual([10, 30, 28]);
    expect([linuxConstants.EVFILT_USER, darwinConstants.EVFILT_USER, freebsdConstants.EVFILT_USER]).toEqual([-11, -10, -11]);
    expect([linuxConstants.SUN_PATH_MAX, darwinConstants.SUN_PATH_MAX, freebsdConstants.SUN_PATH_MAX]).toEqual([108, 104, 104]);
    expect([linuxConstants.SOCKADDR_HAS_LEN, darwinConstants.SOCKADDR_HAS_LEN, freebsdConstants.SOCKADDR_HAS_LEN]).toEqual([0, 1, 1]);
    expect([linuxConstants.SOL_SOCKET, darwinConstants.SOL_SOCKET, freebsdConstants.SOL_SOCKET]).toEqual([1, 0xffff, 0xffff]);
    // Seconds for setLinger: xnu's SO_LINGER counts ticks, SO_LINGER_SEC (0x1080) seconds.
    expect([linuxConstants.SO_LINGER_SECONDS, darwinConstants.SO_LINGER_SECONDS, freebsdConstants.SO_LINGER_SECONDS]).toEqual([13, 0x1080, 0x80]);
    // macOS has no SOCK_NONBLOCK / MSG_NOSIGNAL: the runtime uses fcntl and SO_NOSIGPIPE there.
    expect([darwinConstants.SOCK_NONBLOCK, darwinConstants.MSG_NOSIGNAL]).toEqual([-1, -1]);
    expect(darwinConstants.SO_NOSIGPIPE).toBeGreaterThan(0);
    expect(linuxConstants.MSG_NOSIGNAL).toBe(0x4000);
    expect(linuxConstants.EPOLLET >>> 0).toBe(0x80000000);
  });

  test("kqueue flag bits are the same on every OS (EV_ADD 1, EV_CLEAR 0x20, EV_ERROR 0x4000, EV_EOF 0x8000)", () => {
    for (const [, c] of osConstants) {
      expect([c.EV_ADD, c.EV_DELETE, c.EV_CLEAR, c.EV_ERROR, c.EV_EOF, c.NOTE_TRIGGER]).toEqual([1, 2, 0x20, 0x4000, 0x8000, 0x01000000]);
      expect([c.EVFILT_READ, c.EVFILT_WRITE]).toEqual([-1, -2]);
      // Flag tests use & on distinct bits: no two of these overlap.
      expect(c.EV_EOF & c.EV_ERROR).toBe(0);
    }
  });
});

describe("errno tables", () => {
  const used = ["EAGAIN", "EINTR", "EINPROGRESS", "EALREADY", "EISCONN", "ENOTCONN", "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "EPROTO", "EADDRINUSE", "EADDRNOTAVAIL", "EMSGSIZE", "ENAMETOOLONG", "ECANCELED", "EDESTADDRREQ", "ETIMEDOUT", "EBADF", "EINVAL", "ENOENT", "EWOULDBLOCK"];
  const tables: [string, ErrnoTable][] = [
    ["linux", linuxErrno],
    ["darwin", darwinErrno],
    ["freebsd", freebsdErrno],
  ];
  for (const [os, t] of tables) {
    test(`${os}: every errno the runtime uses is there, with a message; EWOULDBLOCK aliases EAGAIN`, () => {
      const e = new Errno(t);
      for (const name of used) {
        const n = e.number(name);
        expect(n).toBeGreaterThan(0);
        expect(e.message(n!).length).toBeGreaterThan(3);
      }
      expect(e.number("EWOULDBLOCK")).toBe(e.number("EAGAIN")!);
      expect(e.name(e.number("EAGAIN")!)).toBe("EAGAIN");
      expect(e.name(99999)).toBe("E99999");
    });

    test(`${os}: names are unique and the first row of a number is its primary name`, () => {
      const names = t.map((r) => r[0]);
      expect(new Set(names).size).toBe(names.length);
    });
  }

  test("numbers differ where the systems differ", () => {
    const l = new Errno(linuxErrno);
    const d = new Errno(darwinErrno);
    const f = new Errno(freebsdErrno);
    expect([l.number("EAGAIN"), d.number("EAGAIN"), f.number("EAGAIN")]).toEqual([11, 35, 35]);
    expect([l.number("ECONNRESET"), d.number("ECONNRESET"), f.number("ECONNRESET")]).toEqual([104, 54, 54]);
    expect([l.number("ECANCELED"), d.number("ECANCELED"), f.number("ECANCELED")]).toEqual([125, 89, 85]);
    expect([d.number("EOPNOTSUPP"), d.number("ENOTSUP")]).toEqual([102, 45]);
    expect(l.message(111)).toBe("Connection refused");
  });
});

describe("epoll_event", () => {
  test("x86_64 is packed (12 bytes, data at 4); other architectures 16 bytes, data at 8", () => {
    expect(epollEventLayout("x64")).toBe(EPOLL_EVENT_PACKED);
    expect(epollEventLayout("arm64")).toBe(EPOLL_EVENT_ALIGNED);
    expect(EPOLL_EVENT_PACKED).toEqual({ size: 12, events: 0, data: 4 });
    expect(EPOLL_EVENT_ALIGNED).toEqual({ size: 16, events: 0, data: 8 });
  });

  for (const L of [EPOLL_EVENT_PACKED, EPOLL_EVENT_ALIGNED]) {
    test(`${L.size}-byte layout: the second event of an array lands at exactly ${L.size}`, () => {
      const buf = new Uint8Array(new ArrayBuffer(L.size * 2));
      const v = new DataView(buf.buffer);
      writeEpollEvent(v, L.size, L, 0x80002005, 0x11223344, 0xaabbccdd);
      const expected = new Uint8Array(L.size * 2);
      expected.set([0x05, 0x20, 0x00, 0x80], L.size);
      expected.set([0x44, 0x33, 0x22, 0x11, 0xdd, 0xcc, 0xbb, 0xaa], L.size + L.data);
      expect([...buf]).toEqual([...expected]);
    });
  }
});

describe("kevent", () => {
  const layouts: [string, KeventLayout][] = [
    ["32-byte (macOS, FreeBSD < 12, libkqueue)", KEVENT_32],
    ["64-byte (FreeBSD >= 12)", KEVENT_64],
  ];
  for (const [name, L] of layouts) {
    test(`${name}: every field at its offset, the rest zero`, () => {
      const buf = new Uint8Array(new ArrayBuffer(L.size * 2)).fill(0xee);
      const v = new DataView(buf.buffer);
      writeKevent(v, L.size, L, 1234, -2, 0x21, 0x01000000, 0xdeadbeef, 7);
      const e = new Uint8Array(L.size * 2).fill(0xee);
      e.fill(0, L.size);
      e.set([0xd2, 0x04, 0, 0], L.size + 0); // ident 1234 (u64)
      e.set([0xfe, 0xff], L.size + 8); // filter -2 (i16)
      e.set([0x21, 0x00], L.size + 10); // flags EV_ADD|EV_CLEAR (u16)
      e.set([0x00, 0x00, 0x00, 0x01], L.size + 12); // fflags NOTE_TRIGGER (u32)
      e.set([0xef, 0xbe, 0xad, 0xde, 7, 0, 0, 0], L.size + 24); // udata (u64)
      expect([...buf]).toEqual([...e]);
    });
  }

  test("the two layouts share offsets and differ only in size (ext[4] at 32)", () => {
    const { size: s32, ...o32 } = KEVENT_32;
    const { size: s64, ...o64 } = KEVENT_64;
    expect(o32).toEqual(o64);
    expect([s32, s64]).toEqual([32, 64]);
  });
});

describe("msghdr", () => {
  test("Linux is 56 bytes (size_t iovlen and controllen), macOS/FreeBSD 48 (int, socklen_t); the iov fields coincide", () => {
    expect(MSGHDR_LINUX).toEqual({ size: 56, name: 0, namelen: 8, iov: 16, iovlen: 24, iovlenSize: 8, control: 32, controllen: 40, controllenSize: 8, flags: 48 });
    expect(MSGHDR_BSD).toEqual({ size: 48, name: 0, namelen: 8, iov: 16, iovlen: 24, iovlenSize: 4, control: 32, controllen: 40, controllenSize: 4, flags: 44 });
  });
});

describe("descriptor passing and peer credentials", () => {
  test("struct ucred (Linux) and struct xucred (macOS, FreeBSD): size and the pid / uid / gid offsets", async () => {
    const { UCRED_LINUX, XUCRED_DARWIN, XUCRED_FREEBSD, peerCredLayout } = await import("../../ffi/layout.ts");
    expect(UCRED_LINUX).toEqual({ size: 12, pid: 0, uid: 4, gid: 8, version: -1 });
    // u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16] (at 12, 4-aligned) = 76 bytes.
    expect(XUCRED_DARWIN).toEqual({ size: 12 + 16 * 4, pid: -1, uid: 4, gid: 12, version: 0 });
    // FreeBSD adds a pointer-sized union with cr_pid, 8-aligned after the groups: 80, 88 bytes in all.
    expect(XUCRED_FREEBSD).toEqual({ size: 88, pid: 80, uid: 4, gid: 12, version: 0 });
    expect([peerCredLayout("linux"), peerCredLayout("darwin"), peerCredLayout("freebsd")]).toEqual([UCRED_LINUX, XUCRED_DARWIN, XUCRED_FREEBSD]);
  });

  test("SCM_RIGHTS, MSG_CTRUNC, MSG_CMSG_CLOEXEC, SO_ACCEPTCONN and the credential options per OS", () => {
    const pick = (c: OsConstants) => [c.SCM_RIGHTS, c.MSG_CTRUNC, c.MSG_CMSG_CLOEXEC, c.SO_ACCEPTCONN, c.SO_PEERCRED, c.SOL_LOCAL, c.LOCAL_PEERCRED, c.LOCAL_PEERPID];
    expect(pick(linuxConstants)).toEqual([1, 0x8, 0x40000000, 30, 17, -1, -1, -1]);
    expect(pick(darwinConstants)).toEqual([1, 0x20, -1, 0x2, -1, 0, 0x1, 0x2]);
    expect(pick(freebsdConstants)).toEqual([1, 0x20, 0x40000, 0x2, -1, 0, 0x1, -1]);
  });
});
