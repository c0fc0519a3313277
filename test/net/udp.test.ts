// Conformance K1–K6 (UDP), the datagram half of C4 (a zero-byte datagram is
// a message, never EOF; Closed stays Closed), and F4 (UDP close while a
// receive is parked).
import { expect, test } from "bun:test";
import { ClosedError, connectDatagram, type DatagramConn, DeadlineExceededError, type IpAddr, listenDatagram, NetError, runtimeStats } from "../../src/index.ts";
import { buf, bytes, closeAfterEach, closeAll, expectClean, expectDatagram, expectKernelError, rejection, sleep, testOn, tick } from "../_support/index.ts";

const dec = new TextDecoder();

// Everything a test opens, closed in afterEach if the test failed midway.
const own = closeAfterEach();

function udp4(): DatagramConn {
  return own(listenDatagram({ port: 0, hostname: "127.0.0.1" }));
}
function portOf(c: DatagramConn): number {
  const a = c.addr;
  if (!("port" in a)) throw new Error("not an IP socket");
  return a.port;
}
function to(c: DatagramConn): { hostname: string; port: number } {
  const a = c.addr;
  if (!("port" in a)) throw new Error("not an IP socket");
  return { hostname: a.hostname, port: a.port };
}
/** The address c is bound to on the IPv4 loopback, written out. */
const v4 = (c: DatagramConn): IpAddr => ({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: portOf(c) });

/** A socket (kept) connected to 127.0.0.1:port. */
async function connectedTo(port: number): Promise<DatagramConn> {
  return own(await connectDatagram({ hostname: "127.0.0.1", port }));
}

/** A socket (kept) connected to a loopback port whose socket was just closed. */
async function connectedToDeadPort(): Promise<DatagramConn> {
  const gone = udp4();
  const port = portOf(gone);
  await gone.close();
  return connectedTo(port);
}

/** Two fresh loopback sockets (kept), for testOn. */
async function twoSockets(): Promise<[DatagramConn, DatagramConn]> {
  return [udp4(), udp4()];
}

/** A fresh loopback socket and a second one connected to it (both kept), for testOn. */
async function connectedPair(): Promise<[DatagramConn, DatagramConn]> {
  const a = udp4();
  return [a, await connectedTo(portOf(a))];
}

/** Reads one datagram on connected c and asserts it holds exactly text. */
async function expectRead(c: DatagramConn, text: string): Promise<void> {
  const r = buf(16);
  expect(await c.read(r)).toBe(text.length);
  expect(dec.decode(r.subarray(0, text.length))).toBe(text);
}

/** Asserts err is the ECONNREFUSED a connected socket's read reports once its peer's port is unreachable. */
function expectRefused(err: unknown): void {
  expect(expectKernelError(err, "ECONNREFUSED").op).toBe("read");
}

/** Expects no datagram to arrive within ms (a receive times out). */
async function expectNothingQueued(c: DatagramConn, ms = 30): Promise<void> {
  c.setReadDeadline(Date.now() + ms);
  const err = await rejection(c.receive(buf(64)));
  expect(err).toBeInstanceOf(DeadlineExceededError);
  c.setReadDeadline(null);
}

// ---------------------------------------------------------------- K1

testOn("K1 send([1,2,3]) → 3; receive gets those bytes and the sender's address (IPv4)", twoSockets, async ([a, b]) => {
  expect(a.addr).toEqual(v4(a));
  expect(portOf(a)).toBeGreaterThan(0);

  expect(await b.send(bytes([1, 2, 3]), to(a))).toBe(3);
  await expectDatagram(a, [1, 2, 3], v4(b));
});

test("K1 send/receive over IPv6 loopback reports the sender as [::1]:port", async () => {
  const a = own(listenDatagram({ port: 0, hostname: "::1" }));
  const b = own(listenDatagram({ port: 0, hostname: "::1" }));
  const v6 = (c: DatagramConn): IpAddr => ({ transport: "udp", family: "IPv6", hostname: "::1", port: portOf(c) });
  expect(a.addr).toEqual(v6(a));

  expect(await b.send(bytes([1, 2, 3]), { hostname: "::1", port: portOf(a) })).toBe(3);
  const got = await expectDatagram(a, [1, 2, 3], v6(b));

  // Replying to the reported address reaches the sender.
  expect(await a.send(bytes("ack"), got.addr)).toBe(3);
  await expectDatagram(b, "ack", v6(a));

  await closeAll(a, b);
  expectClean();
});

testOn("K1 connected socket: write/read round-trip, remoteAddr is the peer", connectedPair, async ([a, c]) => {
  expect(c.remoteAddr).toEqual(v4(a));
  expect(await c.write(bytes("ping"))).toBe(4);
  const got = await expectDatagram(a, "ping", v4(c));

  expect(await a.send(bytes("pong!"), got.addr)).toBe(5);
  await expectRead(c, "pong!");
});

// ---------------------------------------------------------------- K2 / C4

testOn("K2 zero-length datagram: send → 0, receive resolves n=0 with the sender's address", twoSockets, async ([a, b]) => {
  expect(await b.send(buf(0), to(a))).toBe(0);
  const got = await expectDatagram(a, "", v4(b));
  expect(got).not.toBeNull();

  // It was exactly one datagram: the next one arrives intact.
  expect(await b.send(bytes("after"), to(a))).toBe(5);
  await expectDatagram(a, "after");
});

testOn("C4 a zero-byte datagram on a connected socket reads as 0, not EOF (null)", connectedPair, async ([a, c]) => {
  expect(await a.send(buf(0), to(c))).toBe(0);
  expect(await c.read(buf(16))).toBe(0);
  // Reads after it are not at "EOF" either: they wait for the next datagram.
  expect(await a.send(bytes("x"), to(c))).toBe(1);
  expect(await c.read(buf(16))).toBe(1);
});

testOn("C4 a receive into an empty buffer on a closed datagram socket rejects Closed, not n=0", twoSockets, async ([a, b]) => {
  // A datagram is queued, so the recv syscall would return 0 if it ran.
  expect(await b.send(bytes("queued"), to(a))).toBe(6);
  await sleep(5);
  await closeAll(a, b);
  const err = await rejection(a.receive(new Uint8Array(0)));
  expect(err).toBeInstanceOf(ClosedError);
  expect((err as ClosedError).message).toContain("use of closed network connection");
  expect((err as ClosedError).timeout).toBe(false);
});

testOn("C4 closing while a zero-length receive is parked rejects it with Closed, not n=0", connectedPair, async ([a, c]) => {
  const pr = rejection(a.receive(new Uint8Array(0)));
  const pc = rejection(c.read(new Uint8Array(0)));
  await tick();
  expect(runtimeStats().parked).toBe(2);
  await closeAll(a, c);
  expect(await pr).toBeInstanceOf(ClosedError);
  expect(await pc).toBeInstanceOf(ClosedError);
});

// ---------------------------------------------------------------- K3

testOn("K3 a buffer one byte short: receive → len−1, no error, the rest discarded", twoSockets, async ([a, b]) => {
  expect(await b.send(bytes("0123456789"), to(a))).toBe(10);
  expect(await b.send(bytes("next"), to(a))).toBe(4);

  const short = buf(9);
  const got = await a.receive(short);
  expect(got.n).toBe(9);
  expect(dec.decode(short)).toBe("012345678");
  expect(got.addr).toEqual(v4(b));

  await expectDatagram(a, "next");
});

testOn("K3 connected read with a buffer one byte short → len−1; the next read gets the next datagram", connectedPair, async ([a, c]) => {
  expect(await a.send(bytes("abcdef"), to(c))).toBe(6);
  expect(await a.send(bytes("XY"), to(c))).toBe(2);

  const short = buf(5);
  expect(await c.read(short)).toBe(5);
  expect(dec.decode(short)).toBe("abcde");
  await expectRead(c, "XY");
});

// ---------------------------------------------------------------- K4

test("K4 send with an address on a connected socket rejects EISCONN and sends nothing", async () => {
  const a = udp4();
  const other = udp4();
  const c = await connectedTo(portOf(a));

  const err = await rejection(c.send(bytes("nope"), to(other)));
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect((err as NetError).code).toBe("EISCONN");
  expect((err as NetError).op).toBe("send");
  // Even to its own peer's address: still the wrong call on a connected socket.
  const err2 = await rejection(c.send(bytes("nope"), to(a)));
  expect((err2 as NetError).code).toBe("EISCONN");

  await expectNothingQueued(other);
  await expectNothingQueued(a);
  // The socket is fine for write().
  expect(await c.write(bytes("ok"))).toBe(2);
  const r = buf(8);
  expect((await a.receive(r)).n).toBe(2);

  await closeAll(a, other, c);
  expectClean();
});

test("K4 write without an address on an unconnected socket rejects EDESTADDRREQ", async () => {
  const a = udp4();
  const err = await rejection(a.write(bytes("where to?")));
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect((err as NetError).code).toBe("EDESTADDRREQ");
  expect((err as NetError).op).toBe("write");
  await a.close();
  expectClean();
});

// ---------------------------------------------------------------- K5

test("K5 connected send to a dead port succeeds, a later read rejects ECONNREFUSED, the socket stays usable", async () => {
  const c = await connectedToDeadPort();
  expect(await c.write(bytes([1]))).toBe(1);
  const r = buf(16);
  expectRefused(await rejection(c.read(r)));

  // Still usable: the error was consumed; writes work and the next ICMP is
  // reported again.
  expect(await c.write(bytes([2]))).toBe(1);
  expectRefused(await rejection(c.read(r)));
  expect(await c.write(bytes([3]))).toBe(1);

  await c.close();
  expectClean();
});

test("K5 ECONNREFUSED wakes a read that was already parked", async () => {
  const c = await connectedToDeadPort();
  const pr = rejection(c.read(buf(16)));
  await tick();
  expect(runtimeStats().parked).toBe(1);
  expect(await c.write(bytes([1]))).toBe(1);
  expectRefused(await pr);
  await c.close();
  expectClean();
});

// ---------------------------------------------------------------- K6

test("K6 a parked receive and a send to itself on the same socket both complete", async () => {
  const a = udp4();
  const pr = expectDatagram(a, "self", a.addr);
  await tick();
  expect(runtimeStats().parked).toBe(1);
  const sent = await a.send(bytes("self"), a.addr);
  expect(sent).toBe(4);
  await pr;
  await a.close();
  expectClean();
});

testOn("K6 two concurrent sends on one socket both resolve and both datagrams arrive in order", twoSockets, async ([a, b]) => {
  const [n1, n2] = await Promise.all([b.send(bytes("first"), to(a)), b.send(bytes("second!"), to(a))]);
  expect(n1).toBe(5);
  expect(n2).toBe(7);
  await expectDatagram(a, "first");
  await expectDatagram(a, "second!");
});

testOn("K6 concurrent receives on one socket are served in order, one datagram each", twoSockets, async ([a, b]) => {
  const p1 = expectDatagram(a, "one");
  const p2 = expectDatagram(a, "two");
  await tick();
  expect(await b.send(bytes("one"), to(a))).toBe(3);
  expect(await b.send(bytes("two"), to(a))).toBe(3);
  await Promise.all([p1, p2]);
});

// ---------------------------------------------------------------- F4

test("F4 close 250 ms after receive parked settles it with Closed promptly", async () => {
  const a = udp4();
  const t0 = performance.now();
  const pr = rejection(a.receive(buf(64)));
  await sleep(250);
  expect(runtimeStats().parked).toBe(1);
  const tc = performance.now();
  await a.close();
  const err = await pr;
  const settledAt = performance.now();
  expect(err).toBeInstanceOf(ClosedError);
  expect(settledAt - t0).toBeLessThan(10_000);
  expect(settledAt - tc).toBeLessThan(1000);
  expectClean();
});

testOn("F4 close 250 ms into async iteration ends the iterator; next() stays done", twoSockets, async ([a, b]) => {
  const it = a[Symbol.asyncIterator]();
  expect(await b.send(bytes("one"), to(a))).toBe(3);
  const first = await it.next();
  expect(first.done).toBe(false);
  expect(dec.decode((first.value as { data: Uint8Array }).data)).toBe("one");

  const pending = it.next();
  await sleep(250);
  await a.close();
  expect(await pending).toEqual({ done: true, value: undefined });
  expect(await it.next()).toEqual({ done: true, value: undefined });
  await b.close();
});
