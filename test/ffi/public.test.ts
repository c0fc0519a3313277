// bun-netpoll/ffi, the public FFI entry: what it exports works through the
// package's own name, errno is read right after a call, and the common
// errno names exist on every OS's table.
import { expect, test } from "bun:test";
import {
  C,
  checked,
  COMMON_ERRNO_NAMES,
  cString,
  decodeSockaddr,
  E,
  encodeSockaddr,
  errno,
  errnoMessage,
  errnoName,
  errnoNumber,
  formatSockaddr,
  platform,
  sys,
} from "bun-netpoll/ffi";
import { NetError, pollFd } from "bun-netpoll";
import { darwinErrno } from "../../ffi/errno/darwin.ts";
import { freebsdErrno } from "../../ffi/errno/freebsd.ts";
import { linuxErrno } from "../../ffi/errno/linux.ts";
import { expectClean } from "../_support/index.ts";

test("every common errno name exists on Linux, macOS and FreeBSD", () => {
  for (const [os, table] of [["linux", linuxErrno], ["darwin", darwinErrno], ["freebsd", freebsdErrno]] as const) {
    const names = new Set(table.map((row) => row[0]));
    const missing = COMMON_ERRNO_NAMES.filter((n) => !names.has(n));
    expect({ os, missing }).toEqual({ os, missing: [] });
  }
  for (const n of COMMON_ERRNO_NAMES) expect(typeof E[n]).toBe("number");
});

test("errno() right after a failing call, and the errno name, number and message lookups", () => {
  const r = sys.close(-1);
  const e = errno();
  expect(r).toBe(-1);
  expect(e).toBe(E.EBADF);
  expect(errnoName(e)).toBe("EBADF");
  expect(errnoNumber("EBADF")).toBe(e);
  expect(errnoNumber("ENOSUCHERRNO")).toBeUndefined();
  expect(errnoMessage(e)).toBe(platform.errno.message(e));
  expect(errnoName(99999)).toBe("E99999");
});

test("checked() returns results >= 0 and throws a NetError with the errno name otherwise", () => {
  const fds = new Int32Array(new ArrayBuffer(8));
  expect(checked("pipe2", sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC))).toBe(0);
  const buf = new Uint8Array(new ArrayBuffer(4));
  let err: unknown;
  try {
    checked("read", sys.read(fds[0]!, buf, buf.length));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NetError);
  expect((err as NetError).code).toBe("EAGAIN");
  expect((err as NetError).syscall).toBe("read");
  expect((err as NetError).errno).toBe(E.EAGAIN);
  expect(checked("close", sys.close(fds[0]!))).toBe(0);
  expect(checked("close", sys.close(fds[1]!))).toBe(0);
  expect(() => checked("close", sys.close(fds[1]!), "cleanup")).toThrow("cleanup fd: EBADF");
});

test("sockaddr codecs round-trip through the kernel: bind, getsockname, decode", () => {
  const fd = checked("socket", sys.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_CLOEXEC, 0));
  try {
    const sa = new Uint8Array(new ArrayBuffer(C.SOCKADDR_STORAGE_SIZE));
    const len = encodeSockaddr({ family: "inet", address: "127.0.0.1", port: 0 }, sa);
    checked("bind", sys.bind(fd, sa, len));
    const out = new Uint8Array(new ArrayBuffer(C.SOCKADDR_STORAGE_SIZE));
    const outLen = new Uint32Array(new ArrayBuffer(4));
    outLen[0] = out.length;
    checked("getsockname", sys.getsockname(fd, out, outLen));
    const got = decodeSockaddr(out, outLen[0]!);
    expect(got.family).toBe("inet");
    if (got.family !== "inet") throw new Error("unreachable");
    expect(got.address).toBe("127.0.0.1");
    expect(got.port).toBeGreaterThan(0);
    expect(formatSockaddr(got)).toBe(`127.0.0.1:${got.port}`);
  } finally {
    sys.close(fd);
  }
});

test("a pipe made with the public bindings is watched by pollFd", async () => {
  const fds = new Int32Array(new ArrayBuffer(8));
  checked("pipe2", sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC));
  const p = pollFd(fds[0]!);
  const ready = p.waitReadable();
  const msg = cString("hi");
  checked("write", sys.write(fds[1]!, msg, 2));
  await ready;
  const buf = new Uint8Array(new ArrayBuffer(8));
  expect(checked("read", sys.read(fds[0]!, buf, 8))).toBe(2);
  expect(new TextDecoder().decode(buf.subarray(0, 2))).toBe("hi");
  await p.close();
  sys.close(fds[0]!);
  sys.close(fds[1]!);
  expectClean();
});

test("the public entries export exactly their documented names (removing one is a breaking change)", async () => {
  const ffi = await import("bun-netpoll/ffi");
  expect(Object.keys(ffi).sort()).toEqual([
    "C",
    "COMMON_ERRNO_NAMES",
    "E",
    "cString",
    "checked",
    "decodeSockaddr",
    "encodeSockaddr",
    "errno",
    "errnoMessage",
    "errnoName",
    "errnoNumber",
    "formatIPv4",
    "formatIPv6",
    "formatSockaddr",
    "ipFamily",
    "parseIPv4",
    "parseIPv6",
    "platform",
    "setNonblockCloexec",
    "sys",
    "writeEpollEvent",
    "writeKevent",
  ]);
  const main = await import("bun-netpoll");
  for (const name of ["BufferedReader", "BufferedWriter", "UnexpectedEofError", "TooLongError", "connectTls", "upgradeTls", "listenTls", "TlsConn", "TlsListener", "listenSystemd", "LISTEN_FDS_START", "ControlTruncatedError"]) {
    expect({ name, exported: name in main }).toEqual({ name, exported: true });
  }
});
