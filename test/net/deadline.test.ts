// Deadlines and timeouts (CONFORMANCE E1–E12; E8 and E13 are in test/stress/deadline.stress.ts).
import { expect, test } from "bun:test";
import { ClosedError, type Conn, type DatagramConn, DeadlineExceededError, type IpAddr, listen, listenDatagram, NetError, runtimeStats } from "../../src/index.ts";
import { closeAfterEach, closeAll, expectClean, listenAndPair, pairOn, readToEof, sleep, testOn, tick } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Everything a test opens, closed in afterEach if the test failed midway.
const track = closeAfterEach();
const tcpPair = () => listenAndPair(track);

/** Settles p into a tagged result, so timing and error class can be asserted. */
async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { ok: true, value, ms: performance.now() - t0 };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - t0 };
  }
}

/** Tracks whether p has settled yet, without changing it. */
function watch<T>(p: Promise<T>): { settled: () => boolean; result: Promise<{ ok: boolean; value?: T; error?: unknown }> } {
  let done = false;
  const result = p.then(
    (value) => {
      done = true;
      return { ok: true, value };
    },
    (error) => {
      done = true;
      return { ok: false, error };
    },
  );
  return { settled: () => done, result };
}

/** A big pattern buffer (byte i = i*7 mod 251), on its own ArrayBuffer. */
function pattern(n: number): Uint8Array {
  const b = new Uint8Array(new ArrayBuffer(n));
  for (let i = 0; i < n; i++) b[i] = (i * 7) % 251;
  return b;
}

/** Fills c's send path (nobody reads the peer): writes until a 30 ms deadline stops it. Returns bytes accepted. */
async function fill(c: Conn): Promise<number> {
  // Under TCP memory pressure (sockets closed by earlier tests still hold
  // unsent megabytes) the kernel can refuse a fresh socket's first send with
  // EAGAIN and no write-space edge follows: the write then times out having
  // written nothing. Try again once the pressure has passed.
  for (let attempt = 0; ; attempt++) {
    c.setWriteDeadline(Date.now() + 30);
    const r = await settle(c.write(new Uint8Array(new ArrayBuffer(64 << 20))));
    c.setWriteDeadline(null);
    if (r.ok) throw new Error("fill: 64 MiB fitted in the socket buffers");
    expect(r.error).toBeInstanceOf(DeadlineExceededError);
    const n = (r.error as NetError).bytesWritten;
    if (n === 0 && attempt < 20) {
      await sleep(20);
      continue;
    }
    expect(n).toBeGreaterThan(0);
    return n;
  }
}

/** Asserts op fails with DeadlineExceededError 50 to 250 ms after it started (a 100 ms deadline, give or take the loop). */
async function expectTimeoutIn50To250ms(op: Promise<unknown>): Promise<void> {
  const r = await settle(op);
  expect(r.ok ? null : r.error).toBeInstanceOf(DeadlineExceededError);
  expect(r.ms).toBeGreaterThanOrEqual(50);
  expect(r.ms).toBeLessThanOrEqual(250);
}

/**
 * Parks op (a read or write with no deadline that governs it yet), then
 * moves a deadline into the past with move(): op must wake within 50 ms
 * with DeadlineExceededError, which is returned.
 */
async function expectWokenByDeadline(op: Promise<unknown>, move: () => void): Promise<NetError> {
  const w = watch(op);
  await sleep(30);
  expect(w.settled()).toBe(false);
  expect(runtimeStats().parked).toBe(1);
  const t0 = performance.now();
  move();
  const r = await w.result;
  expect(performance.now() - t0).toBeLessThan(50);
  expect(r.ok).toBe(false);
  expect(r.error).toBeInstanceOf(DeadlineExceededError);
  return r.error as NetError;
}

/**
 * Asserts op stays parked for 120 ms (no deadline governs it), then that
 * closing c rejects it with ClosedError, not a timeout; returns that error.
 */
async function expectParkedUntilClose(c: Conn, op: Promise<unknown>): Promise<NetError> {
  const w = watch(op);
  await sleep(120);
  expect(w.settled()).toBe(false);
  const closing = c.close();
  const r = await w.result;
  await closing;
  expect(r.ok).toBe(false);
  expect(r.error).toBeInstanceOf(ClosedError);
  expect(r.error).not.toBeInstanceOf(DeadlineExceededError);
  expect((r.error as NetError).timeout).toBe(false);
  return r.error as NetError;
}

/** Asserts the peer has nothing to read right now (a 30 ms read deadline expires). */
async function expectNothingToRead(c: Conn): Promise<void> {
  c.setReadDeadline(Date.now() + 30);
  const r = await settle(c.read(new Uint8Array(16)));
  c.setReadDeadline(null);
  expect(r.ok).toBe(false);
  expect(r.ok ? null : r.error).toBeInstanceOf(DeadlineExceededError);
}

testOn("E1 read deadline in the past times out with 0 bytes consumed even with data buffered; clearing it makes the data readable", tcpPair, async ({ a, b }) => {
  await b.write(enc.encode("hello"));
  await sleep(20); // the bytes are in a's receive buffer
  a.setReadDeadline(Date.now() - 1000);
  const buf = new Uint8Array(16).fill(0xee);
  const r = await settle(a.read(buf));
  expect(r.ok).toBe(false);
  const err = r.ok ? null : r.error;
  expect(err).toBeInstanceOf(DeadlineExceededError);
  expect((err as DeadlineExceededError).timeout).toBe(true);
  expect(buf.every((x) => x === 0xee)).toBe(true);
  // A second read still fails: the deadline stays expired.
  await expect(a.read(buf)).rejects.toBeInstanceOf(DeadlineExceededError);
  a.setReadDeadline(null);
  const n = await a.read(buf);
  expect(n).toBe(5);
  expect(dec.decode(buf.subarray(0, 5))).toBe("hello");
});

testOn("E2 write deadline in the past times out with 0 bytes written even with buffer space", tcpPair, async ({ a, b }) => {
  a.setWriteDeadline(Date.now() - 1000);
  const r = await settle(a.write(enc.encode("data")));
  expect(r.ok).toBe(false);
  const err = r.ok ? null : r.error;
  expect(err).toBeInstanceOf(DeadlineExceededError);
  expect((err as NetError).bytesWritten).toBe(0);
  const r2 = await settle(a.writev([enc.encode("da"), enc.encode("ta")]));
  expect(r2.ok ? null : r2.error).toBeInstanceOf(DeadlineExceededError);
  expect((r2.ok ? null : (r2.error as NetError))?.bytesWritten).toBe(0);
  await expectNothingToRead(b);
});

testOn("E2 write deadline +10 ms: writes succeed until it passes, then time out", tcpPair, async ({ a }) => {
  const chunk = new Uint8Array(new ArrayBuffer(64 * 1024));
  const t0 = performance.now();
  a.setWriteDeadline(Date.now() + 10);
  let ok = 0;
  let err: unknown = null;
  for (;;) {
    try {
      await a.write(chunk);
      ok++;
    } catch (e) {
      err = e;
      break;
    }
    if (performance.now() - t0 > 2000) break;
  }
  const ms = performance.now() - t0;
  expect(ok).toBeGreaterThan(0);
  expect(err).toBeInstanceOf(DeadlineExceededError);
  expect(ms).toBeGreaterThanOrEqual(9);
  expect(ms).toBeLessThan(1000);
});

testOn("E3 Timeout and Closed are distinct classes, told apart without parsing messages", tcpPair, async ({ a }) => {
  a.setReadDeadline(Date.now() - 1);
  const t = await settle(a.read(new Uint8Array(8)));
  const timeoutErr = t.ok ? null : t.error;
  a.setReadDeadline(null);
  const parked = settle(a.read(new Uint8Array(8)));
  await tick();
  const closing = a.close();
  const c = await parked;
  await closing;
  const closedErr = c.ok ? null : c.error;

  expect(timeoutErr).toBeInstanceOf(DeadlineExceededError);
  expect(timeoutErr).not.toBeInstanceOf(ClosedError);
  expect((timeoutErr as NetError).timeout).toBe(true);
  expect(closedErr).toBeInstanceOf(ClosedError);
  expect(closedErr).not.toBeInstanceOf(DeadlineExceededError);
  expect((closedErr as NetError).timeout).toBe(false);
  // Both are NetErrors with distinct codes.
  expect(timeoutErr).toBeInstanceOf(NetError);
  expect(closedErr).toBeInstanceOf(NetError);
  expect((timeoutErr as NetError).code).not.toBe((closedErr as NetError).code);
});

testOn(
  "E4 a 100 ms read deadline on an idle conn fires between 50 and 250 ms",
  tcpPair,
  async ({ a }) => {
    a.setReadDeadline(Date.now() + 100);
    await expectTimeoutIn50To250ms(a.read(new Uint8Array(8)));
  },
  1000,
);

testOn(
  "E4 a 100 ms write deadline on a write parked on a full buffer fires between 50 and 250 ms",
  tcpPair,
  async ({ a }) => {
    await fill(a);
    a.setWriteDeadline(Date.now() + 100);
    await expectTimeoutIn50To250ms(a.write(new Uint8Array(new ArrayBuffer(1 << 20))));
  },
  1000,
);

testOn("E5 read with write deadline past and read deadline cleared stays parked >= 100 ms; close rejects it Closed", tcpPair, async ({ a }) => {
  a.setDeadline(Date.now() - 1000);
  a.setWriteDeadline(Date.now() - 1000);
  a.setReadDeadline(null);
  await expectParkedUntilClose(a, a.read(new Uint8Array(8)));
});

testOn("E5 write with read deadline past and write deadline cleared stays parked >= 100 ms; close rejects it Closed", tcpPair, async ({ a }) => {
  a.setDeadline(Date.now() - 1000);
  a.setReadDeadline(Date.now() - 1000);
  a.setWriteDeadline(null);
  // Bigger than the socket buffers: it parks once they are full.
  const err = await expectParkedUntilClose(a, a.write(new Uint8Array(new ArrayBuffer(64 << 20))));
  expect(err.bytesWritten).toBeGreaterThan(0);
});

testOn("E6 moving the read deadline into the past wakes a parked read with Timeout, 0 bytes", tcpPair, async ({ a }) => {
  const buf = new Uint8Array(8).fill(0xee);
  await expectWokenByDeadline(a.read(buf), () => a.setReadDeadline(Date.now() - 1));
  expect(buf.every((x) => x === 0xee)).toBe(true);
});

testOn("E6 moving the write deadline into the past wakes a parked write with Timeout", tcpPair, async ({ a }) => {
  await fill(a);
  const err = await expectWokenByDeadline(a.write(new Uint8Array(new ArrayBuffer(1 << 20))), () => a.setDeadline(Date.now() - 1));
  // Buffer autotuning may have let part of it through; never all of it.
  expect(err.bytesWritten).toBeLessThan(1 << 20);
});

testOn("E7 1,000 1-byte ping-pongs extending deadlines by 1 h before each op never time out", tcpPair, async ({ a, b }) => {
  const N = 1000;
  const hour = 3_600_000;
  const client = async () => {
    const out = new Uint8Array(1);
    const inb = new Uint8Array(1);
    for (let i = 0; i < N; i++) {
      out[0] = i & 0xff;
      a.setWriteDeadline(Date.now() + hour);
      await a.write(out);
      a.setReadDeadline(Date.now() + hour);
      const n = await a.read(inb);
      if (n !== 1 || inb[0] !== ((i + 1) & 0xff)) throw new Error(`client round ${i}: n=${n} byte=${inb[0]}`);
    }
  };
  const server = async () => {
    const buf = new Uint8Array(1);
    for (let i = 0; i < N; i++) {
      b.setReadDeadline(Date.now() + hour);
      const n = await b.read(buf);
      if (n !== 1 || buf[0] !== (i & 0xff)) throw new Error(`server round ${i}: n=${n} byte=${buf[0]}`);
      buf[0] = (buf[0]! + 1) & 0xff;
      b.setWriteDeadline(Date.now() + hour);
      await b.write(buf);
    }
  };
  const [rc, rs] = await Promise.all([settle(client()), settle(server())]);
  expect(rc.ok ? null : rc.error).toBeNull();
  expect(rs.ok ? null : rs.error).toBeNull();
  // At most one timer per direction per conn while deadlines are set.
  expect(runtimeStats().timers).toBeLessThanOrEqual(4);
});

test("E10 8 tasks x 10 conns x 100 tries of steadily earlier deadlines: no errors, timers back to baseline after close", async () => {
  const ln = track(listen({ port: 0, hostname: "127.0.0.1" }));
  const conns: Conn[] = [];
  const peers: Conn[] = [];
  for (let i = 0; i < 10; i++) {
    const [c, p] = await pairOn(ln, track);
    conns.push(c);
    peers.push(p);
  }
  const baseline = runtimeStats().timers;
  expect(baseline).toBe(0);
  // A read parked on every conn, so every deadline change re-arms a live timer.
  const reads = conns.map((c) => watch(c.read(new Uint8Array(8))));
  await tick();
  const now = Date.now();
  let maxTimers = 0;
  const task = async (i: number) => {
    for (let j = 100; j > 0; j--) {
      for (let k = 0; k < 10; k++) {
        conns[k]!.setReadDeadline(now + 2 * 3_600_000 + i * j * k * 1000);
        conns[k]!.setWriteDeadline(now + 3_600_000 + i * j * k * 1000);
      }
      maxTimers = Math.max(maxTimers, runtimeStats().timers);
      if (j % 10 === 0) await tick();
      else await null;
    }
  };
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => settle(task(i))));
  for (const r of results) expect(r.ok ? null : r.error).toBeNull();
  // Nothing timed out or failed: every read is still parked.
  for (const r of reads) expect(r.settled()).toBe(false);
  expect(runtimeStats().parked).toBe(10);
  expect(maxTimers).toBeGreaterThanOrEqual(10);
  expect(maxTimers).toBeLessThanOrEqual(20);
  await closeAll(...conns);
  for (const r of reads) {
    const x = await r.result;
    expect(x.error).toBeInstanceOf(ClosedError);
  }
  await closeAll(...peers, ln);
  expect(runtimeStats().timers).toBe(baseline);
  expectClean();
});

testOn("E11 a write timing out midway reports the bytes accepted, and exactly those bytes reach the peer", tcpPair, async ({ a, b }) => {
  const size = 64 << 20;
  const data = pattern(size);
  a.setWriteDeadline(Date.now() + 50);
  const r = await settle(a.write(data));
  expect(r.ok).toBe(false);
  const err = r.ok ? null : (r.error as NetError);
  expect(err).toBeInstanceOf(DeadlineExceededError);
  const n = err!.bytesWritten;
  expect(n).toBeGreaterThan(0);
  expect(n).toBeLessThan(size);
  await a.closeWrite();
  // The peer gets exactly the accepted prefix, then EOF.
  const got = await readToEof(b);
  expect(got.length).toBe(n);
  expect(Buffer.compare(got, data.subarray(0, n))).toBe(0);
});

testOn("E11 writev timing out midway reports the bytes accepted", tcpPair, async ({ a, b }) => {
  const bufs = Array.from({ length: 64 }, () => new Uint8Array(new ArrayBuffer(1 << 20)).fill(0x5a));
  a.setWriteDeadline(Date.now() + 50);
  const r = await settle(a.writev(bufs));
  const err = r.ok ? null : (r.error as NetError);
  expect(err).toBeInstanceOf(DeadlineExceededError);
  const n = err!.bytesWritten;
  expect(n).toBeGreaterThan(0);
  expect(n).toBeLessThan(64 << 20);
  await a.closeWrite();
  const got = await readToEof(b);
  expect(got.length).toBe(n);
  expect(got.every((x) => x === 0x5a)).toBe(true);
});

async function udpPair(): Promise<[DatagramConn, DatagramConn]> {
  const u1 = track(listenDatagram({ port: 0, hostname: "127.0.0.1" }));
  const u2 = track(listenDatagram({ port: 0, hostname: "127.0.0.1" }));
  return [u1, u2];
}

testOn("E12 UDP read deadline = now times out with no bytes and no address", udpPair, async ([u1, u2]) => {
  const buf = new Uint8Array(16).fill(0xee);
  u1.setReadDeadline(Date.now());
  const r = await settle(u1.receive(buf));
  expect(r.ok).toBe(false);
  expect(r.ok ? null : r.error).toBeInstanceOf(DeadlineExceededError);
  expect(buf.every((x) => x === 0xee)).toBe(true);
  // A datagram already queued is not consumed by the timed-out receive either.
  await u2.send(enc.encode("late"), { hostname: "127.0.0.1", port: (u1.addr as IpAddr).port });
  await sleep(10);
  const r2 = await settle(u1.receive(buf));
  expect(r2.ok ? null : r2.error).toBeInstanceOf(DeadlineExceededError);
  u1.setReadDeadline(null);
  const d = await u1.receive(buf);
  expect(d.n).toBe(4);
  expect(dec.decode(buf.subarray(0, 4))).toBe("late");
  expect(d.addr).toEqual(u2.addr);
});

testOn("E12 UDP send with a past write deadline sends 0 bytes and times out", udpPair, async ([u1, u2]) => {
  u1.setWriteDeadline(Date.now() - 1000);
  const r = await settle(u1.send(enc.encode("never"), { hostname: "127.0.0.1", port: (u2.addr as IpAddr).port }));
  expect(r.ok).toBe(false);
  expect(r.ok ? null : r.error).toBeInstanceOf(DeadlineExceededError);
  // Nothing arrived.
  u2.setReadDeadline(Date.now() + 50);
  const r2 = await settle(u2.receive(new Uint8Array(16)));
  expect(r2.ok ? null : r2.error).toBeInstanceOf(DeadlineExceededError);
});

testOn("a write deadline set while the read side is parked still governs the next write; a big write parks and completes", tcpPair, async ({ a, b }) => {
  const buf = new Uint8Array(16);
  // One write first, so the write side has been used before the read parks.
  expect(await b.write(enc.encode("x"))).toBe(1);
  expect(await a.read(buf)).toBe(1);
  b.setWriteDeadline(Date.now() + 60);
  const parked = watch(b.read(buf));
  await sleep(100);
  const late = await settle(b.write(enc.encode("y")));
  expect(late.ok).toBe(false);
  expect(late.ok ? null : late.error).toBeInstanceOf(DeadlineExceededError);
  expect(late.ok ? null : (late.error as DeadlineExceededError).op).toBe("write");
  expect(parked.settled()).toBe(false);
  b.setWriteDeadline(null);
  // 8 MiB: more than the socket buffers hold, so the write parks until a reads.
  const big = new Uint8Array(new ArrayBuffer(8 << 20)).fill(7);
  const w = watch(b.write(big));
  let got = 0;
  const rbuf = new Uint8Array(new ArrayBuffer(1 << 16));
  while (got < big.length) {
    const n = await a.read(rbuf);
    if (n === null) break;
    for (let i = 0; i < n; i++) if (rbuf[i] !== 7) throw new Error(`byte ${got + i} is ${rbuf[i]}`);
    got += n;
  }
  expect(got).toBe(big.length);
  expect(await w.result).toEqual({ ok: true, value: big.length });
  expect(parked.settled()).toBe(false);
  await a.write(enc.encode("z"));
  expect(await parked.result).toEqual({ ok: true, value: 1 });
  expect(dec.decode(buf.subarray(0, 1))).toBe("z");
});
