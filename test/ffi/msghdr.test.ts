// struct msghdr / cmsghdr layouts per OS, and iovec packing through a real sendmsg.
import { expect, test } from "bun:test";
import { CMSGHDR, cmsgSpace, IoVecs, MSGHDR, readCmsgs } from "../../ffi/iovec.ts";
import { CMSGHDR_DARWIN, CMSGHDR_FREEBSD, CMSGHDR_LINUX, IOVEC, MSGHDR_BSD, MSGHDR_LINUX, msghdrLayout } from "../../ffi/layout.ts";
import { errno, sys } from "../../ffi/libc.ts";
import { C, platform } from "../../ffi/platform.ts";

test("msghdr: 64-bit Linux is 56 bytes (size_t iovlen/controllen, flags at 48)", () => {
  expect(MSGHDR_LINUX).toEqual({ size: 56, name: 0, namelen: 8, iov: 16, iovlen: 24, iovlenSize: 8, control: 32, controllen: 40, controllenSize: 8, flags: 48 });
});

test("msghdr: 64-bit FreeBSD and macOS are 48 bytes (int iovlen, socklen_t controllen, flags at 44)", () => {
  expect(MSGHDR_BSD).toEqual({ size: 48, name: 0, namelen: 8, iov: 16, iovlen: 24, iovlenSize: 4, control: 32, controllen: 40, controllenSize: 4, flags: 44 });
  expect(msghdrLayout("darwin")).toBe(MSGHDR_BSD);
  expect(msghdrLayout("freebsd")).toBe(MSGHDR_BSD);
  expect(msghdrLayout("linux")).toBe(MSGHDR_LINUX);
  expect(MSGHDR).toBe(msghdrLayout(platform.os));
});

test("cmsghdr: data offset and alignment per OS", () => {
  expect([CMSGHDR_LINUX.data, CMSGHDR_LINUX.align]).toEqual([16, 8]);
  expect([CMSGHDR_FREEBSD.data, CMSGHDR_FREEBSD.align]).toEqual([16, 8]);
  expect([CMSGHDR_DARWIN.data, CMSGHDR_DARWIN.align]).toEqual([12, 4]);
  // CMSG_SPACE(sizeof(int)): 24 on Linux and FreeBSD, 16 on macOS.
  expect(cmsgSpace(4)).toBe(CMSGHDR === CMSGHDR_DARWIN ? 16 : 24);
});

test("IoVecs: entries are (base, len) pairs, and sendmsg over them delivers the concatenation", () => {
  const fds = new Int32Array(new ArrayBuffer(8));
  expect(sys.socketpair(C.AF_UNIX, C.SOCK_STREAM, 0, fds)).toBe(0);
  try {
    const enc = new TextEncoder();
    const parts = ["ab", "", "cdef", "g"].map((s) => {
      const b = new Uint8Array(new ArrayBuffer(Math.max(1, s.length)));
      b.set(enc.encode(s));
      return b.subarray(0, s.length);
    });
    const v = new IoVecs(8);
    let count = 0;
    for (const p of parts) if (p.length > 0) v.set(count++, p, 0, p.length);
    const view = new DataView(v.bytes.buffer);
    expect(view.getUint32(IOVEC.len, true)).toBe(2);
    expect(view.getUint32(IOVEC.size + IOVEC.len, true)).toBe(4);
    expect(view.getUint32(IOVEC.base, true) + view.getUint32(IOVEC.base + 4, true)).toBeGreaterThan(0);
    const n = sys.sendmsg(fds[0]!, v.header(count), 0);
    if (n < 0) throw new Error(`sendmsg: errno ${errno()}`);
    expect(n).toBe(7);
    const out = new Uint8Array(new ArrayBuffer(16));
    expect(sys.read(fds[1]!, out, 16)).toBe(7);
    expect(new TextDecoder().decode(out.subarray(0, 7))).toBe("abcdefg");
  } finally {
    sys.close(fds[0]!);
    sys.close(fds[1]!);
  }
});

test("readCmsgs: walks control messages by each OS's cmsghdr layout and alignment, and stops at a header that does not fit", () => {
  for (const L of [CMSGHDR_LINUX, CMSGHDR_FREEBSD, CMSGHDR_DARWIN]) {
    const buf = new Uint8Array(new ArrayBuffer(96));
    const v = new DataView(buf.buffer);
    const put = (at: number, level: number, type: number, n: number): number => {
      if (L.lenSize === 8) v.setBigUint64(at + L.len, BigInt(L.data + n), true);
      else v.setUint32(at + L.len, L.data + n, true);
      v.setInt32(at + L.level, level, true);
      v.setInt32(at + L.type, type, true);
      return at + Math.ceil((L.data + n) / L.align) * L.align;
    };
    // Two descriptors (8 data bytes), then one int of another type (4 bytes).
    const second = put(0, 1, 1, 8);
    const end = put(second, 0xffff, 2, 4);
    const got = readCmsgs(buf, end, L);
    expect(got).toEqual([
      { level: 1, type: 1, data: L.data, len: 8 },
      { level: 0xffff, type: 2, data: second + L.data, len: 4 },
    ]);
    // A length shorter than a header ends the walk; so does the buffer's end.
    expect(readCmsgs(buf, L.data - 1, L)).toEqual([]);
    v.setUint32(second + L.len, 0, true);
    if (L.lenSize === 8) v.setUint32(second + L.len + 4, 0, true);
    expect(readCmsgs(buf, end, L).length).toBe(1);
  }
});
