// Descriptor passing (SCM_RIGHTS) on unix stream Conns and unixgram
// DatagramConns, and the peer's credentials.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import { CMSGHDR, cmsgSpace } from "../../ffi/iovec.ts";
import { sys } from "../../ffi/libc.ts";
import { C, platform } from "../../ffi/platform.ts";
import {
  Conn,
  connect,
  ControlTruncatedError,
  type IpAddr,
  listen,
  listenDatagram,
  NetError,
  type UnixAddr,
} from "../../src/index.ts";
import { bytes, closeAll, connPairs, expectClean, pipesAfterEach, readFd, rejection, sleep, testOn, writeFd } from "../_support/index.ts";

// Datagram sockets go to pairs.conns, descriptors the test receives to pipes.rawFds: closed after each test.
const pairs = connPairs();
const pipes = pipesAfterEach();
const unixPair = () => pairs.pair("unix");
const dec = new TextDecoder();
const linux = platform.os === "linux";

const isOpen = (fd: number): boolean => sys.fcntl(fd, C.F_GETFD, 0) >= 0;
const openCount = (): number => fs.readdirSync("/proc/self/fd").length;

testOn("writeWithFds / readWithFds: a pipe's write end arrives intact, close-on-exec, and writes into the same pipe", unixPair, async ([a, b]) => {
  const [r, w] = pipes.mkpipe();
  expect(await a.writeWithFds(bytes("pipe"), [w])).toBe(4);
  const buf = new Uint8Array(16);
  const got = await b.readWithFds(buf);
  expect(got.n).toBe(4);
  expect(dec.decode(buf.subarray(0, 4))).toBe("pipe");
  expect(got.fds.length).toBe(1);
  const passed = got.fds[0]!;
  pipes.rawFds.push(passed);
  expect(passed).not.toBe(w);
  expect(sys.fcntl(passed, C.F_GETFD, 0) & C.FD_CLOEXEC).toBe(C.FD_CLOEXEC);
  writeFd(passed, "through the passed end");
  expect(dec.decode(readFd(r)!)).toBe("through the passed end");
});

testOn("writeWithFds: several descriptors in one message arrive in order; bytes behind the message are read without a new edge", unixPair, async ([a, b]) => {
  const ps = [pipes.mkpipe(), pipes.mkpipe(), pipes.mkpipe()];
  // Both messages are queued before the first read: the second one raises no edge of its own.
  await a.writeWithFds(bytes("AB"), ps.map((p) => p[1]));
  await a.write(bytes("CD"));
  await sleep(10);
  const buf = new Uint8Array(16);
  const first = await b.readWithFds(buf);
  expect([first.n, dec.decode(buf.subarray(0, 2)), first.fds.length]).toEqual([2, "AB", 3]);
  pipes.rawFds.push(...first.fds);
  b.setReadDeadline(Date.now() + 1000);
  const second = await b.readWithFds(buf);
  expect([second.n, dec.decode(buf.subarray(0, 2)), second.fds]).toEqual([2, "CD", []]);
  first.fds.forEach((fd, i) => writeFd(fd, `p${i}`));
  expect(ps.map(([r]) => dec.decode(readFd(r)!))).toEqual(["p0", "p1", "p2"]);
  await a.close();
  expect(await b.readWithFds(buf)).toEqual({ n: null, fds: [] });
});

testOn.skipIf(!linux)("readWithFds: more descriptors than maxFds reject ControlTruncatedError, and those that arrived are closed exactly once", unixPair, async ([a, b]) => {
  const [r, w] = pipes.mkpipe();
  const sent = [sys.dup(w), sys.dup(w), sys.dup(w)];
  pipes.rawFds.push(...sent);
  await a.writeWithFds(bytes("xyz"), sent);
  // The sender's copies go: from here on only the descriptors in flight keep the write side open.
  for (const fd of [w, ...sent]) pipes.done(fd);
  await sleep(10);
  const before = openCount();
  const buf = new Uint8Array(16);
  const err = await rejection(b.readWithFds(buf, { maxFds: 1 }));
  expect(err).toBeInstanceOf(ControlTruncatedError);
  expect(err).toBeInstanceOf(NetError);
  const e = err as ControlTruncatedError;
  // Linux installs as many as fit in CMSG_SPACE(sizeof(int)) (its padding holds a second) and drops the rest.
  const fit = Math.floor((cmsgSpace(4) - CMSGHDR.data) / 4);
  expect([e.code, e.syscall, e.op, e.bytesRead, e.closedFds]).toEqual(["ERR_CONTROL_TRUNCATED", "recvmsg", "readWithFds", 3, fit]);
  expect(openCount()).toBe(before);
  // Every write end is gone: the pipe reads EOF.
  expect(readFd(r)).toEqual(new Uint8Array(0));
  // Numbers reused right after are not closed a second time later.
  const [r2, w2] = pipes.mkpipe();
  await sleep(20);
  expect([isOpen(r2), isOpen(w2)]).toEqual([true, true]);
});

testOn("received descriptors wrap as Conn (Conn.fromFd) and Listener (listen({ fd }))", unixPair, async ([a, b]) => {
  const sp = new Int32Array(new ArrayBuffer(8));
  expect(sys.socketpair(C.AF_UNIX, C.SOCK_STREAM, 0, sp)).toBe(0);
  pipes.rawFds.push(sp[0]!, sp[1]!);
  const ln = listen({ port: 0, hostname: "127.0.0.1" });
  await a.writeWithFds(bytes("s"), [sp[0]!, ln.fd]);
  const got = await b.readWithFds(new Uint8Array(4));
  expect(got.fds.length).toBe(2);
  const conn = Conn.fromFd(got.fds[0]!);
  const ln2 = listen({ fd: got.fds[1]! });
  expect(ln2.addr).toEqual(ln.addr);
  await ln.close();
  // The original end is closed; the passed one is the only copy now.
  pipes.done(sp[0]!);
  await conn.write(bytes("over the passed socket"));
  await sleep(10);
  expect(dec.decode(readFd(sp[1]!)!)).toBe("over the passed socket");
  const [c, s] = await Promise.all([connect({ hostname: "127.0.0.1", port: (ln2.addr as IpAddr).port }), ln2.accept()]);
  await closeAll(c, s, conn, ln2);
});

testOn("peerCredentials: both ends of a unix connection see this process's pid, uid and gid", unixPair, async ([a, b]) => {
  const me = { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() };
  expect(a.peerCredentials()).toEqual(me);
  expect(b.peerCredentials()).toEqual(me);
  await a.close();
  expect(() => a.peerCredentials()).toThrow(expect.objectContaining({ code: "ERR_NET_CLOSED" }));
});

test("peerCredentials: a connection from another process reports that process's pid", async () => {
  const path = `${pairs.dir()}/creds.sock`;
  const ln = listen({ path });
  const child = Bun.spawn([process.execPath, "-e", `const s = require("node:net").connect(${JSON.stringify(path)}); s.on("data", () => process.exit(0));`], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  try {
    const conn = await ln.accept();
    try {
      expect(conn.peerCredentials()).toEqual({ pid: child.pid, uid: process.getuid!(), gid: process.getgid!() });
      await conn.write(bytes("bye"));
      expect(await child.exited).toBe(0);
    } finally {
      await conn.close();
    }
  } finally {
    child.kill();
    await ln.close();
  }
  expectClean();
});

test("unixgram: sendWithFds to a path and receiveWithFds; a zero-length datagram carries descriptors too; socketpair peers", async () => {
  const dir = pairs.dir();
  const x = listenDatagram({ path: `${dir}/x.dgram` });
  const y = listenDatagram({ path: `${dir}/y.dgram` });
  pairs.conns.push(x, y);
  const [r, w] = pipes.mkpipe();
  expect(await x.sendWithFds(bytes("dg"), [w], { to: { path: `${dir}/y.dgram` } })).toBe(2);
  expect(await x.sendWithFds(bytes(""), [w], { to: { path: `${dir}/y.dgram` } })).toBe(0);
  const buf = new Uint8Array(8);
  const one = await y.receiveWithFds(buf);
  expect([one.n, dec.decode(buf.subarray(0, 2)), (one.addr as UnixAddr).path, one.fds.length]).toEqual([2, "dg", `${dir}/x.dgram`, 1]);
  const two = await y.receiveWithFds(buf);
  expect([two.n, two.fds.length]).toEqual([0, 1]);
  pipes.rawFds.push(...one.fds, ...two.fds);
  writeFd(one.fds[0]!, "1");
  writeFd(two.fds[0]!, "2");
  expect(dec.decode(readFd(r)!)).toBe("12");
  // A connected pair (socketpair) sends to its peer without a target, and knows its credentials.
  const sp = new Int32Array(new ArrayBuffer(8));
  expect(sys.socketpair(C.AF_UNIX, C.SOCK_DGRAM, 0, sp)).toBe(0);
  const p = listenDatagram({ fd: sp[0]! });
  const q = listenDatagram({ fd: sp[1]! });
  pairs.conns.push(p, q);
  expect(await p.sendWithFds(bytes("pq"), [w])).toBe(2);
  const three = await q.receiveWithFds(buf);
  expect([three.n, three.fds.length]).toEqual([2, 1]);
  pipes.rawFds.push(...three.fds);
  if (linux) expect(q.peerCredentials()).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  await expect(p.sendWithFds(bytes("x"), [w], { to: { path: `${dir}/y.dgram` } })).rejects.toThrow(expect.objectContaining({ code: "EISCONN" }));
  await expect(x.sendWithFds(bytes("x"), [w])).rejects.toThrow(expect.objectContaining({ code: "EDESTADDRREQ" }));
  await closeAll(x, y, p, q);
  expectClean();
});

test("descriptor passing: TCP and UDP are EOPNOTSUPP; bad arguments are TypeError; a closed descriptor is EBADF and the connection stays usable", async () => {
  const [t1, t2] = await pairs.pair("tcp");
  for (const p of [t1.writeWithFds(bytes("x"), [0]), t1.readWithFds(new Uint8Array(4))]) {
    expect(await rejection(p)).toEqual(expect.objectContaining({ code: "EOPNOTSUPP" }));
  }
  expect(() => t1.peerCredentials()).toThrow(expect.objectContaining({ code: "EOPNOTSUPP", op: "peerCredentials" }));
  const u = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  pairs.conns.push(u);
  expect(await rejection(u.sendWithFds(bytes("x"), [0], { to: { path: "/nonexistent" } }))).toEqual(expect.objectContaining({ code: "EOPNOTSUPP" }));
  await t1.close();
  await t2.close();
  const [a, b] = await pairs.pair("unix");
  const bad: Promise<unknown>[] = [
    a.writeWithFds(bytes("x"), "3" as unknown as number[]),
    a.writeWithFds(bytes("x"), [-1]),
    a.writeWithFds(bytes("x"), [1.5]),
    a.writeWithFds(bytes(""), [0]),
    a.writeWithFds(new ArrayBuffer(1) as unknown as Uint8Array, [0]),
    b.readWithFds(new Uint8Array(0)),
    b.readWithFds(new Uint8Array(4), { maxFds: 0 }),
    b.readWithFds(new Uint8Array(4), { maxFds: 2000 }),
  ];
  for (const p of bad) expect(await rejection(p)).toBeInstanceOf(TypeError);
  const gone = sys.dup(0);
  sys.close(gone);
  const err = (await rejection(a.writeWithFds(bytes("x"), [gone]))) as NetError;
  expect([err.code, err.syscall, err.op]).toEqual(["EBADF", "sendmsg", "writeWithFds"]);
  await a.write(bytes("ok"));
  const buf = new Uint8Array(4);
  expect(await b.readWithFds(buf)).toEqual({ n: 2, fds: [] });
  await closeAll(a, b, u);
  expectClean();
});
