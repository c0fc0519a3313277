// Conformance K1–K6 (UDP), the datagram half of C4 (a zero-byte datagram is
// a message, never EOF; Closed stays Closed), and F4 (UDP close while a
// receive is parked).
import { expect, test } from "bun:test";
import {
  ClosedError,
  connectDatagram,
  type DatagramConn,
  DeadlineExceededError,
  listenDatagram,
  NetError,
  runtimeStats,
} from "../../src/index.ts";
import { closeAfterEach, expectClean, sleep, tick } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A stable (non-relocating) buffer of n bytes. */
function buf(n: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(n));
}
function bytes(s: string | number[]): Uint8Array {
  const src = typeof s === "string" ? enc.encode(s) : Uint8Array.from(s);
  const b = buf(src.length);
  b.set(src);
  return b;
}

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
async function settle<T>(p: Promise<T>): Promise<T | unknown> {
  return p.then(
    (v) => v,
    (e: unknown) => e,
  );
}

/** Expects no datagram to arrive within ms (a receive times out). */
async function expectNothingQueued(c: DatagramConn, ms = 30): Promise<void> {
  c.setReadDeadline(Date.now() + ms);
  const err = await settle(c.receive(buf(64)));
  expect(err).toBeInstanceOf(DeadlineExceededError);
  c.setReadDeadline(null);
}

// ---------------------------------------------------------------- K1

test("K1 send([1,2,3]) → 3; receive gets those bytes and the sender's address (IPv4)", async () => {
  const a = udp4();
  const b = udp4();
  expect(a.addr).toEqual({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: portOf(a) });
  expect(portOf(a)).toBeGreaterThan(0);

  expect(await b.send(bytes([1, 2, 3]), to(a))).toBe(3);
  const r = buf(16);
  const got = await a.receive(r);
  expect(got.n).toBe(3);
  expect([...r.subarray(0, 3)]).toEqual([1, 2, 3]);
  expect(got.addr).toEqual({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: portOf(b) });

  await Promise.all([a.close(), b.close()]);
  expectClean();
});

test("K1 send/receive over IPv6 loopback reports the sender as [::1]:port", async () => {
  const a = own(listenDatagram({ port: 0, hostname: "::1" }));
  const b = own(listenDatagram({ port: 0, hostname: "::1" }));
  expect(a.addr).toEqual({ transport: "udp", family: "IPv6", hostname: "::1", port: portOf(a) });

  expect(await b.send(bytes([1, 2, 3]), { hostname: "::1", port: portOf(a) })).toBe(3);
  const r = buf(16);
  const got = await a.receive(r);
  expect(got.n).toBe(3);
  expect([...r.subarray(0, 3)]).toEqual([1, 2, 3]);
  expect(got.addr).toEqual({ transport: "udp", family: "IPv6", hostname: "::1", port: portOf(b) });

  // Replying to the reported address reaches the sender.
  expect(await a.send(bytes("ack"), got.addr)).toBe(3);
  const back = await b.receive(r);
  expect(back.n).toBe(3);
  expect(dec.decode(r.subarray(0, 3))).toBe("ack");
  expect(back.addr).toEqual({ transport: "udp", family: "IPv6", hostname: "::1", port: portOf(a) });

  await Promise.all([a.close(), b.close()]);
  expectClean();
});

test("K1 connected socket: write/read round-trip, remoteAddr is the peer", async () => {
  const a = udp4();
  const c = own(await connectDatagram({ hostname: "127.0.0.1", port: portOf(a) }));
  expect(c.remoteAddr).toEqual({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: portOf(a) });
  expect(await c.write(bytes("ping"))).toBe(4);
  const r = buf(16);
  const got = await a.receive(r);
  expect(got.n).toBe(4);
  expect(dec.decode(r.subarray(0, 4))).toBe("ping");
  expect(got.addr).toEqual({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: portOf(c) });

  expect(await a.send(bytes("pong!"), got.addr)).toBe(5);
  expect(await c.read(r)).toBe(5);
  expect(dec.decode(r.subarray(0, 5))).toBe("pong!");

  await Promise.all([a.close(), c.close()]);
  expectClean();
});

// ---------------------------------------------------------------- K2 / C4

test("K2 zero-length datagram: send → 0, receive resolves n=0 with the sender's address", async () => {
  const a = udp4();
  const b = udp4();
  expect(await b.send(buf(0), to(a))).toBe(0);
  const got = await a.receive(buf(16));
  expect(got).not.toBeNull();
  expect(got.n).toBe(0);
  expect(got.addr).toEqual({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: portOf(b) });

  // It was exactly one datagram: the next one arrives intact.
  expect(await b.send(bytes("after"), to(a))).toBe(5);
  const r = buf(16);
  expect((await a.receive(r)).n).toBe(5);
  expect(dec.decode(r.subarray(0, 5))).toBe("after");

  await Promise.all([a.close(), b.close()]);
  expectClean();
});

test("C4 a zero-byte datagram on a connected socket reads as 0, not EOF (null)", async () => {
  const a = udp4();
  const c = own(await connectDatagram({ hostname: "127.0.0.1", port: portOf(a) }));
  expect(await a.send(buf(0), to(c))).toBe(0);
  expect(await c.read(buf(16))).toBe(0);
  // Reads after it are not at "EOF" either: they wait for the next datagram.
  expect(await a.send(bytes("x"), to(c))).toBe(1);
  expect(await c.read(buf(16))).toBe(1);

  await Promise.all([a.close(), c.close()]);
  expectClean();
});

test("C4 a receive into an empty buffer on a closed datagram socket rejects Closed, not n=0", async () => {
  const a = udp4();
  const b = udp4();
  // A datagram is queued, so the recv syscall would return 0 if it ran.
  expect(await b.send(bytes("queued"), to(a))).toBe(6);
  await sleep(5);
  await Promise.all([a.close(), b.close()]);
  const err = await settle(a.receive(new Uint8Array(0)));
  expect(err).toBeInstanceOf(ClosedError);
  expect((err as ClosedError).message).toContain("use of closed network connection");
  expect((err as ClosedError).timeout).toBe(false);
  expectClean();
});

test("C4 closing while a zero-length receive is parked rejects it with Closed, not n=0", async () => {
  const a = udp4();
  const c = own(await connectDatagram({ hostname: "127.0.0.1", port: portOf(a) }));
  const pr = settle(a.receive(new Uint8Array(0)));
  const pc = settle(c.read(new Uint8Array(0)));
  await tick();
  expect(runtimeStats().parked).toBe(2);
  await Promise.all([a.close(), c.close()]);
  expect(await pr).toBeInstanceOf(ClosedError);
  expect(await pc).toBeInstanceOf(ClosedError);
  expectClean();
});

// ---------------------------------------------------------------- K3

test("K3 a buffer one byte short: receive → len−1, no error, the rest discarded", async () => {
  const a = udp4();
  const b = udp4();
  expect(await b.send(bytes("0123456789"), to(a))).toBe(10);
  expect(await b.send(bytes("next"), to(a))).toBe(4);

  const short = buf(9);
  const got = await a.receive(short);
  expect(got.n).toBe(9);
  expect(dec.decode(short)).toBe("012345678");
  expect(got.addr).toEqual({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: portOf(b) });

  const r = buf(16);
  const got2 = await a.receive(r);
  expect(got2.n).toBe(4);
  expect(dec.decode(r.subarray(0, 4))).toBe("next");

  await Promise.all([a.close(), b.close()]);
  expectClean();
});

test("K3 connected read with a buffer one byte short → len−1; the next read gets the next datagram", async () => {
  const a = udp4();
  const c = own(await connectDatagram({ hostname: "127.0.0.1", port: portOf(a) }));
  expect(await a.send(bytes("abcdef"), to(c))).toBe(6);
  expect(await a.send(bytes("XY"), to(c))).toBe(2);

  const short = buf(5);
  expect(await c.read(short)).toBe(5);
  expect(dec.decode(short)).toBe("abcde");
  const r = buf(16);
  expect(await c.read(r)).toBe(2);
  expect(dec.decode(r.subarray(0, 2))).toBe("XY");

  await Promise.all([a.close(), c.close()]);
  expectClean();
});

// ---------------------------------------------------------------- K4

test("K4 send with an address on a connected socket rejects EISCONN and sends nothing", async () => {
  const a = udp4();
  const other = udp4();
  const c = own(await connectDatagram({ hostname: "127.0.0.1", port: portOf(a) }));

  const err = await settle(c.send(bytes("nope"), to(other)));
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect((err as NetError).code).toBe("EISCONN");
  expect((err as NetError).op).toBe("send");
  // Even to its own peer's address: still the wrong call on a connected socket.
  const err2 = await settle(c.send(bytes("nope"), to(a)));
  expect((err2 as NetError).code).toBe("EISCONN");

  await expectNothingQueued(other);
  await expectNothingQueued(a);
  // The socket is fine for write().
  expect(await c.write(bytes("ok"))).toBe(2);
  const r = buf(8);
  expect((await a.receive(r)).n).toBe(2);

  await Promise.all([a.close(), other.close(), c.close()]);
  expectClean();
});

test("K4 write without an address on an unconnected socket rejects EDESTADDRREQ", async () => {
  const a = udp4();
  const err = await settle(a.write(bytes("where to?")));
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect((err as NetError).code).toBe("EDESTADDRREQ");
  expect((err as NetError).op).toBe("write");
  await a.close();
  expectClean();
});

// ---------------------------------------------------------------- K5

test("K5 connected send to a dead port succeeds, a later read rejects ECONNREFUSED, the socket stays usable", async () => {
  const gone = udp4();
  const port = portOf(gone);
  await gone.close();

  const c = own(await connectDatagram({ hostname: "127.0.0.1", port }));
  expect(await c.write(bytes([1]))).toBe(1);
  const r = buf(16);
  const err = await settle(c.read(r));
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect((err as NetError).code).toBe("ECONNREFUSED");
  expect((err as NetError).op).toBe("read");

  // Still usable: the error was consumed; writes work and the next ICMP is
  // reported again.
  expect(await c.write(bytes([2]))).toBe(1);
  const err2 = await settle(c.read(r));
  expect((err2 as NetError).code).toBe("ECONNREFUSED");
  expect(await c.write(bytes([3]))).toBe(1);

  await c.close();
  expectClean();
});

test("K5 ECONNREFUSED wakes a read that was already parked", async () => {
  const gone = udp4();
  const port = portOf(gone);
  await gone.close();

  const c = own(await connectDatagram({ hostname: "127.0.0.1", port }));
  const pr = settle(c.read(buf(16)));
  await tick();
  expect(runtimeStats().parked).toBe(1);
  expect(await c.write(bytes([1]))).toBe(1);
  const err = await pr;
  expect(err).toBeInstanceOf(NetError);
  expect((err as NetError).code).toBe("ECONNREFUSED");
  await c.close();
  expectClean();
});

// ---------------------------------------------------------------- K6

test("K6 a parked receive and a send to itself on the same socket both complete", async () => {
  const a = udp4();
  const r = buf(16);
  const pr = a.receive(r);
  await tick();
  expect(runtimeStats().parked).toBe(1);
  const sent = await a.send(bytes("self"), a.addr);
  expect(sent).toBe(4);
  const got = await pr;
  expect(got.n).toBe(4);
  expect(dec.decode(r.subarray(0, 4))).toBe("self");
  expect(got.addr).toEqual(a.addr);
  await a.close();
  expectClean();
});

test("K6 two concurrent sends on one socket both resolve and both datagrams arrive in order", async () => {
  const a = udp4();
  const b = udp4();
  const [n1, n2] = await Promise.all([b.send(bytes("first"), to(a)), b.send(bytes("second!"), to(a))]);
  expect(n1).toBe(5);
  expect(n2).toBe(7);
  const r = buf(16);
  const g1 = await a.receive(r);
  expect(dec.decode(r.subarray(0, g1.n))).toBe("first");
  const g2 = await a.receive(r);
  expect(dec.decode(r.subarray(0, g2.n))).toBe("second!");
  await Promise.all([a.close(), b.close()]);
  expectClean();
});

test("K6 concurrent receives on one socket are served in order, one datagram each", async () => {
  const a = udp4();
  const b = udp4();
  const r1 = buf(16);
  const r2 = buf(16);
  const p1 = a.receive(r1);
  const p2 = a.receive(r2);
  await tick();
  expect(await b.send(bytes("one"), to(a))).toBe(3);
  expect(await b.send(bytes("two"), to(a))).toBe(3);
  const [g1, g2] = await Promise.all([p1, p2]);
  expect(dec.decode(r1.subarray(0, g1.n))).toBe("one");
  expect(dec.decode(r2.subarray(0, g2.n))).toBe("two");
  await Promise.all([a.close(), b.close()]);
  expectClean();
});

// ---------------------------------------------------------------- F4

test("F4 close 250 ms after receive parked settles it with Closed promptly", async () => {
  const a = udp4();
  const t0 = performance.now();
  const pr = settle(a.receive(buf(64)));
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

test("F4 close 250 ms into async iteration ends the iterator; next() stays done", async () => {
  const a = udp4();
  const b = udp4();
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
  expectClean();
});
