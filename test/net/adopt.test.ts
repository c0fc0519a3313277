// Adopting sockets this process did not open through the API: listen({ fd }),
// listenDatagram({ fd }), Conn.fromFd(). Each socket here is made with raw
// syscalls, blocking and inheritable, the way a parent process or systemd
// hands it over.
import { afterEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { encodeSockaddr, type SockAddr } from "../../ffi/sockaddr.ts";
import { Conn, connect, type IpAddr, listen, listenDatagram, NetError, type UnixAddr } from "../../src/index.ts";
import { bytes, expectClean, tempDirs, thrown } from "../_support/index.ts";

const dec = new TextDecoder();
const raw: number[] = [];
const tmpDir = tempDirs();

afterEach(() => {
  for (const fd of raw.splice(0)) sys.close(fd);
});

/** A raw socket (blocking, no FD_CLOEXEC), closed after the test unless taken with `own`. */
function rawSocket(family: number, type: number): number {
  const fd = sys.socket(family, type, 0);
  if (fd < 0) throw new Error(`socket: errno ${errno()}`);
  raw.push(fd);
  return fd;
}
/** The descriptor now belongs to a wrapper: not closed by afterEach. */
function own(fd: number): number {
  raw.splice(raw.indexOf(fd), 1);
  return fd;
}
function rawBind(fd: number, sa: SockAddr): void {
  const b = new Uint8Array(new ArrayBuffer(C.SOCKADDR_STORAGE_SIZE));
  const len = encodeSockaddr(sa, b);
  if (sys.bind(fd, b, len) !== 0) throw new Error(`bind: errno ${errno()}`);
}
function rawPair(type: number): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (sys.socketpair(C.AF_UNIX, type, 0, fds) !== 0) throw new Error(`socketpair: errno ${errno()}`);
  raw.push(fds[0]!, fds[1]!);
  return [fds[0]!, fds[1]!];
}
const flags = (fd: number) => sys.fcntl(fd, C.F_GETFL, 0);
const fdFlags = (fd: number) => sys.fcntl(fd, C.F_GETFD, 0);

async function roundTrip(port: number, ln: ReturnType<typeof listen>): Promise<string> {
  const [c, s] = await Promise.all([connect({ hostname: "127.0.0.1", port }), ln.accept()]);
  await c.write(bytes("ping"));
  const b = new Uint8Array(16);
  const n = await s.read(b);
  await c.close();
  await s.close();
  return dec.decode(b.subarray(0, n ?? 0));
}

test("listen({ fd }): a listening TCP socket is adopted: its address, O_NONBLOCK and FD_CLOEXEC set, accepts work, close closes it", async () => {
  const fd = rawSocket(C.AF_INET, C.SOCK_STREAM);
  rawBind(fd, { family: "inet", address: "127.0.0.1", port: 0 });
  expect(sys.listen(fd, 16)).toBe(0);
  expect(flags(fd) & C.O_NONBLOCK).toBe(0);
  expect(fdFlags(fd) & C.FD_CLOEXEC).toBe(0);
  const ln = listen({ fd: own(fd) });
  expect(ln.fd).toBe(fd);
  const addr = ln.addr as IpAddr;
  expect(addr.transport).toBe("tcp");
  expect(addr.hostname).toBe("127.0.0.1");
  expect(addr.port).toBeGreaterThan(0);
  expect(flags(fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
  expect(fdFlags(fd) & C.FD_CLOEXEC).toBe(C.FD_CLOEXEC);
  expect(await roundTrip(addr.port, ln)).toBe("ping");
  await ln.close();
  expect(flags(fd)).toBe(-1);
  expect(errno()).toBe(E.EBADF!);
  expectClean();
});

test("listen({ fd }): a bound socket that is not listening yet gets listen(2) with the backlog", async () => {
  const fd = rawSocket(C.AF_INET, C.SOCK_STREAM);
  rawBind(fd, { family: "inet", address: "127.0.0.1", port: 0 });
  const ln = listen({ fd: own(fd), backlog: 4 });
  const acceptConn = new Int32Array(new ArrayBuffer(4));
  const len = new Uint32Array(new ArrayBuffer(4));
  len[0] = 4;
  expect(sys.getsockopt(fd, C.SOL_SOCKET, C.SO_ACCEPTCONN, acceptConn, len)).toBe(0);
  expect(acceptConn[0]).toBe(1);
  expect(await roundTrip((ln.addr as IpAddr).port, ln)).toBe("ping");
  await ln.close();
  expectClean();
});

test("listen({ fd }): an adopted unix listener keeps its path and does not unlink the file on close", async () => {
  const path = `${tmpDir()}/in.sock`;
  const fd = rawSocket(C.AF_UNIX, C.SOCK_STREAM);
  rawBind(fd, { family: "unix", path });
  expect(sys.listen(fd, 16)).toBe(0);
  const ln = listen({ fd: own(fd) });
  expect(ln.addr).toEqual({ transport: "unix", path });
  const [c, s] = await Promise.all([connect({ path }), ln.accept()]);
  expect((s.localAddr as UnixAddr).path).toBe(path);
  await c.write(bytes("hi"));
  const b = new Uint8Array(8);
  expect(await s.read(b)).toBe(2);
  await c.close();
  await s.close();
  await ln.close();
  expect(fs.existsSync(path)).toBe(true);
  expectClean();
});

test("listen({ fd }): a pipe, a UDP socket, a closed number and a connected socket are refused, and the descriptor is left as it was", async () => {
  const p = new Int32Array(new ArrayBuffer(8));
  expect(sys.pipe(p)).toBe(0);
  raw.push(p[0]!, p[1]!);
  const cases: [number, string, string][] = [
    [p[0]!, "ENOTSOCK", "getsockopt"],
    [rawSocket(C.AF_INET, C.SOCK_DGRAM), "EPROTOTYPE", ""],
  ];
  const [a] = rawPair(C.SOCK_STREAM);
  cases.push([a, "EINVAL", "listen"]);
  for (const [fd, code, syscall] of cases) {
    const before = [flags(fd), fdFlags(fd)];
    const err = thrown(() => listen({ fd }));
    expect(err).toBeInstanceOf(NetError);
    expect([(err as NetError).code, (err as NetError).syscall, (err as NetError).op]).toEqual([code, syscall, "listen"]);
    expect([flags(fd), fdFlags(fd)]).toEqual(before);
  }
  // A number that names nothing (closed a moment ago).
  const gone = sys.dup(p[0]!);
  sys.close(gone);
  const err = thrown(() => listen({ fd: gone }));
  expect((err as NetError).code).toBe("EBADF");
  expect((err as NetError).message).toBe(`listen fd ${gone}: EBADF: Bad file descriptor (os error ${E.EBADF})`);
  for (const bad of [-1, 1.5, Number.NaN, "3", 2 ** 31]) {
    expect(() => listen({ fd: bad as number })).toThrow(TypeError);
  }
  expectClean();
});

test("listenDatagram({ fd }): a bound UDP socket sends and receives; a stream socket is EPROTOTYPE", async () => {
  const fd = rawSocket(C.AF_INET, C.SOCK_DGRAM);
  rawBind(fd, { family: "inet", address: "127.0.0.1", port: 0 });
  const u = listenDatagram({ fd: own(fd) });
  expect(u.remoteAddr).toBeNull();
  expect(flags(fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
  const other = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  const port = (u.addr as IpAddr).port;
  expect(await other.send(bytes("dgram"), { hostname: "127.0.0.1", port })).toBe(5);
  const b = new Uint8Array(16);
  const d = await u.receive(b);
  expect(dec.decode(b.subarray(0, d.n))).toBe("dgram");
  expect((d.addr as IpAddr).port).toBe((other.addr as IpAddr).port);
  await u.close();
  await other.close();
  const s = rawSocket(C.AF_INET, C.SOCK_STREAM);
  expect(() => listenDatagram({ fd: s })).toThrow(expect.objectContaining({ code: "EPROTOTYPE", op: "listen" }));
  expectClean();
});

test("listenDatagram({ fd }): one end of a unixgram socketpair is connected: write and read apply", async () => {
  const [a, b] = rawPair(C.SOCK_DGRAM);
  const x = listenDatagram({ fd: own(a) });
  const y = listenDatagram({ fd: own(b) });
  expect(x.remoteAddr).toEqual({ transport: "unixgram", path: "" });
  expect(await x.write(bytes("one"))).toBe(3);
  const buf = new Uint8Array(8);
  expect(await y.read(buf)).toBe(3);
  expect(dec.decode(buf.subarray(0, 3))).toBe("one");
  await x.close();
  await y.close();
  expectClean();
});

test("Conn.fromFd: a connected unix stream socket becomes a Conn; a listening or unconnected one is refused", async () => {
  const [a, b] = rawPair(C.SOCK_STREAM);
  const c = Conn.fromFd(own(a));
  expect(c.remoteAddr).toEqual({ transport: "unix", path: "" });
  expect(flags(a) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
  expect(await c.write(bytes("abc"))).toBe(3);
  const out = new Uint8Array(new ArrayBuffer(8));
  expect(sys.read(b, out, 8)).toBe(3);
  await c.close();
  const lfd = rawSocket(C.AF_INET, C.SOCK_STREAM);
  rawBind(lfd, { family: "inet", address: "127.0.0.1", port: 0 });
  expect(sys.listen(lfd, 1)).toBe(0);
  expect(() => Conn.fromFd(lfd)).toThrow(expect.objectContaining({ code: "EINVAL", op: "fromFd" }));
  const fresh = rawSocket(C.AF_INET, C.SOCK_STREAM);
  expect(() => Conn.fromFd(fresh)).toThrow(expect.objectContaining({ code: "ENOTCONN", syscall: "getpeername" }));
  expectClean();
});

test("Conn.fromFd: a connected TCP socket keeps its addresses", async () => {
  const ln = listen({ port: 0, hostname: "127.0.0.1" });
  const port = (ln.addr as IpAddr).port;
  const [c, s] = await Promise.all([connect({ hostname: "127.0.0.1", port }), ln.accept()]);
  const d = c.dup();
  const adopted = Conn.fromFd(d);
  expect(adopted.remoteAddr).toEqual({ transport: "tcp", family: "IPv4", hostname: "127.0.0.1", port });
  expect(adopted.localAddr).toEqual(c.localAddr);
  await adopted.write(bytes("via dup"));
  const b = new Uint8Array(16);
  expect(dec.decode(b.subarray(0, (await s.read(b)) ?? 0))).toBe("via dup");
  await adopted.close();
  await c.close();
  await s.close();
  await ln.close();
  expectClean();
});
