// C: read / write / EOF (CONFORMANCE.md section C).
import { expect, test } from "bun:test";
import { ClosedError, type IpAddr, listenDatagram, runtimeStats } from "../../src/index.ts";
import {
  closeFd,
  connPairs,
  expectClean,
  expectKernelError,
  pipe,
  readFd,
  readToEof,
  rejection,
  settlement,
  sleep,
  testOn,
  thrown,
  until,
  writeFd,
} from "../_support/index.ts";

// A failed test may leave conns and datagram sockets open: closed after it so later tests start clean.
const { pair, conns: dgrams } = connPairs();
const tcp = () => pair("tcp");

for (const kind of ["tcp", "unix"] as const) {
  testOn(`C1 peer writes [1,2,3] then closes: read gets 3 bytes, then null on every later read (${kind})`, () => pair(kind), async ([a, b]) => {
    expect(await b.write(new Uint8Array([1, 2, 3]))).toBe(3);
    await b.close();
    const buf = new Uint8Array(16);
    expect(await a.read(buf)).toBe(3);
    expect([...buf.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect(await a.read(buf)).toBeNull();
    expect(await a.read(buf)).toBeNull();
    expect(await a.read(buf)).toBeNull();
    expect(a.closed).toBe(false);
  });

  testOn(`C2 read into a zero-length buffer resolves 0 at once: no park, no EOF, no data consumed (${kind})`, () => pair(kind), async ([a, b]) => {
    // Nothing buffered: still 0, and before one macrotask hop.
    const t = settlement(a.read(new Uint8Array(0)));
    expect(runtimeStats().parked).toBe(0);
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(t.settled).toBe(true);
    expect(t.value).toBe(0);
    expect(runtimeStats().parked).toBe(0);
    // Data buffered: a zero-length read leaves it there.
    await b.write(new Uint8Array([9, 8, 7]));
    await sleep(5);
    expect(await a.read(new Uint8Array(0))).toBe(0);
    const buf = new Uint8Array(8);
    expect(await a.read(buf)).toBe(3);
    expect([...buf.subarray(0, 3)]).toEqual([9, 8, 7]);
  });
}

testOn("C3 peer reset (SO_LINGER 0) rejects a parked read with ECONNRESET, not EOF, Timeout or temporary", tcp, async ([a, b]) => {
  const r = settlement(a.read(new Uint8Array(64)));
  await until(() => runtimeStats().parked === 1);
  b.setLinger(0);
  await b.close();
  await until(() => r.settled);
  expect(r.ok).toBe(false);
  expect(expectKernelError(r.error, "ECONNRESET").op).toBe("read");
});

testOn("C3 peer reset (SO_LINGER 0) makes the next read reject ECONNRESET, not EOF", tcp, async ([a, b]) => {
  b.setLinger(0);
  await b.close();
  await sleep(20); // the RST has arrived
  expectKernelError(await rejection(a.read(new Uint8Array(64))), "ECONNRESET");
});

testOn("C4 a 0-byte recv is EOF (null) on a stream", tcp, async ([a, b]) => {
  await b.closeWrite();
  expect(await a.read(new Uint8Array(16))).toBeNull();
});

test("C4 a 0-byte datagram is an empty message (n = 0), not EOF; the socket keeps receiving", async () => {
  const rx = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  const tx = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  dgrams.push(rx, tx);
  const to = { hostname: "127.0.0.1", port: (rx.localAddr as IpAddr).port };
  expect(await tx.send(new Uint8Array(0), to)).toBe(0);
  const buf = new Uint8Array(32);
  const d = await rx.receive(buf);
  expect(d.n).toBe(0);
  expect((d.addr as IpAddr).port).toBe((tx.localAddr as IpAddr).port);
  await tx.send(new Uint8Array([4, 5]), to);
  const d2 = await rx.receive(buf);
  expect(d2.n).toBe(2);
  expect([...buf.subarray(0, 2)]).toEqual([4, 5]);
  await rx.close();
  await tx.close();
  expectClean();
});

testOn("C4 after close, a zero-length read / receive still rejects Closed (not 0)", tcp, async ([a]) => {
  await a.close();
  const e = await rejection(a.read(new Uint8Array(0)));
  expect(e).toBeInstanceOf(ClosedError);
  expect((e as ClosedError).code).toBe("ERR_NET_CLOSED");
  const u = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  await u.close();
  const e2 = await rejection(u.receive(new Uint8Array(0)));
  expect(e2).toBeInstanceOf(ClosedError);
});

testOn(
  "C5 data arriving while nobody reads causes no busy loop (<= 20 poller wakeups in 1 s)",
  tcp,
  async ([a, b]) => {
    await b.write(new Uint8Array(new ArrayBuffer(4096)).fill(7));
    await b.write(new Uint8Array(new ArrayBuffer(100_000)).fill(8));
    await sleep(30); // the edge has arrived and been drained
    const s0 = runtimeStats().loop;
    // More data trickles in, still unread.
    for (let i = 0; i < 5; i++) {
      await b.write(new Uint8Array([i]));
      await sleep(100);
    }
    await sleep(500);
    const s1 = runtimeStats().loop;
    expect(s1.drains - s0.drains).toBeLessThanOrEqual(20);
    expect(s1.rings - s0.rings).toBeLessThanOrEqual(20);
    expect(s1.events - s0.events).toBeLessThanOrEqual(20);
    // The data is all still there.
    await b.closeWrite();
    expect((await readToEof(a)).length).toBe(4096 + 100_000 + 5);
  },
  5000,
);

testOn("C7 after local close, read and write reject Closed; 2nd/3rd close throw Closed and close no other fd", tcp, async ([a]) => {
  const oldFd = a.fd;
  await a.close();
  const re = await rejection(a.read(new Uint8Array(4)));
  expect(re).toBeInstanceOf(ClosedError);
  expect((re as Error).message).toContain("use of closed network connection");
  const we = await rejection(a.write(new Uint8Array([1])));
  expect(we).toBeInstanceOf(ClosedError);
  expect((we as ClosedError).code).toBe("ERR_NET_CLOSED");
  // The number is free now: a new pipe likely reuses it.
  const [r, w] = pipe();
  try {
    expect([r, w]).toContain(oldFd);
    const e2 = thrown(() => a.close());
    const e3 = thrown(() => a.close());
    expect(e2).toBeInstanceOf(ClosedError);
    expect(e3).toBeInstanceOf(ClosedError);
    expect((e2 as Error).message).toBe((e3 as Error).message);
    // Both pipe ends are still open and working.
    expect(writeFd(w, "ok")).toBe(2);
    expect(new TextDecoder().decode(readFd(r)!)).toBe("ok");
  } finally {
    closeFd(r);
    closeFd(w);
  }
});
