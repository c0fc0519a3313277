// Conformance N2, N5: concurrent operations on one conn. (N1 is in test/stress/dial.stress.ts.)
import { describe, expect, test } from "bun:test";
import { ClosedError, type Conn, runtimeStats } from "../../src/index.ts";
import { connPairs, expectClean, settlement, sleep, tick } from "../_support/index.ts";

const pairs = connPairs();
/** A connected loopback TCP pair [client, server]; the listener is closed. */
const pair = () => pairs.pair("tcp");

describe("N concurrency on one conn", () => {
  test("N2 a parked read never blocks a write on the same conn", async () => {
    const [a, b] = await pair();
    const rbuf = new Uint8Array(new ArrayBuffer(16));
    const r = settlement(a.read(rbuf));
    await sleep(5);
    expect(r.settled).toBe(false);
    expect(runtimeStats().parked).toBe(1);
    // Writes on a go through while its read stays parked.
    for (let i = 0; i < 3; i++) {
      expect(await a.write(new Uint8Array([0x41 + i]))).toBe(1);
    }
    const got = new Uint8Array(new ArrayBuffer(3));
    let n = 0;
    while (n < 3) n += (await b.read(got.subarray(n)))!;
    expect([...got]).toEqual([0x41, 0x42, 0x43]);
    expect(r.settled).toBe(false);
    // And the parked read still completes normally.
    await b.write(new Uint8Array([0x7a]));
    expect(await r.p).toBe(1);
    expect(rbuf[0]).toBe(0x7a);
    await a.close();
    await b.close();
    expectClean();
  });

  test("N2 one reader and one writer per side exchanging 1-byte ops: both directions progress in lockstep", async () => {
    // Each side writes byte i only after its own reader got byte i-1 from the
    // peer, so every write happens while that side's read is parked: if a
    // parked read blocked a write, this would deadlock (the deadlines turn a
    // deadlock into a failure).
    const [a, b] = await pair();
    const N = 300;
    a.setDeadline(Date.now() + 5000);
    b.setDeadline(Date.now() + 5000);
    const side = (conn: Conn, tag: number) => {
      const received: number[] = [];
      let gotUpTo = -1;
      const waiter: { wake: (() => void) | null } = { wake: null };
      const reader = (async () => {
        const one = new Uint8Array(new ArrayBuffer(1));
        for (let i = 0; i < N; i++) {
          const n = await conn.read(one);
          expect(n).toBe(1);
          received.push(one[0]!);
          gotUpTo = i;
          waiter.wake?.();
        }
      })();
      const writer = (async () => {
        for (let i = 0; i < N; i++) {
          while (gotUpTo < i - 1) await new Promise<void>((r) => (waiter.wake = r));
          waiter.wake = null;
          expect(await conn.write(new Uint8Array([(i + tag) & 0xff]))).toBe(1);
        }
      })();
      return { received, done: Promise.all([reader, writer]) };
    };
    const sa = side(a, 0);
    const sb = side(b, 100);
    await Promise.all([sa.done, sb.done]);
    expect(sa.received).toEqual(Array.from({ length: N }, (_, i) => (i + 100) & 0xff));
    expect(sb.received).toEqual(Array.from({ length: N }, (_, i) => i & 0xff));
    a.setDeadline(null);
    b.setDeadline(null);
    await a.close();
    await b.close();
    expectClean();
  });

  test("N5 close() racing many parked and queued readers and writers settles all of them with Closed", async () => {
    const [a, b] = await pair(); // b never reads
    const big = new Uint8Array(new ArrayBuffer(8 << 20));
    const reads = Array.from({ length: 8 }, () => settlement(a.read(new Uint8Array(new ArrayBuffer(64)))));
    const writes = Array.from({ length: 8 }, () => settlement(a.write(big)));
    for (let i = 0; i < 200 && runtimeStats().parked < 2; i++) await sleep(5);
    expect(runtimeStats().parked).toBe(2); // the head read and the head write; the rest queue behind them
    for (const t of [...reads, ...writes]) expect(t.settled).toBe(false);
    const closing = a.close();
    let closeReturned = false;
    const late: string[] = [];
    for (const [i, t] of [...reads, ...writes].entries()) {
      t.p.then(
        () => closeReturned && late.push(`op ${i} resolved after close`),
        () => {},
      );
    }
    closeReturned = true;
    // New operations after close fail at once.
    const after = settlement(a.read(new Uint8Array(4)));
    await closing;
    await tick();
    for (const t of [...reads, ...writes, after]) {
      expect(t.settled).toBe(true);
      expect(t.ok).toBe(false);
      expect(t.error).toBeInstanceOf(ClosedError);
    }
    expect(late).toEqual([]);
    expect(reads.every((t) => (t.error as ClosedError).op === "read")).toBe(true);
    expect(writes.every((t) => (t.error as ClosedError).op === "write")).toBe(true);
    // The head write had moved bytes before it parked; the queued ones none.
    expect((writes[0]!.error as ClosedError).bytesWritten).toBeGreaterThan(0);
    expect((writes[0]!.error as ClosedError).bytesWritten).toBeLessThan(big.length);
    for (const t of writes.slice(1)) expect((t.error as ClosedError).bytesWritten).toBe(0);
    await b.close();
    expectClean();
  });

  test("N5 close() in the same tick as parked and queued reads start, with data already arrived, fails them all with Closed", async () => {
    const [a, b] = await pair();
    const reads = Array.from({ length: 6 }, () => settlement(a.read(new Uint8Array(new ArrayBuffer(64)))));
    // Data lands in a's receive buffer now, but the loop has not delivered the
    // readiness yet: close() must win over it for every read.
    const w = settlement(b.write(new Uint8Array([1, 2, 3])));
    const closing = a.close();
    const results = await Promise.allSettled(reads.map((t) => t.p));
    await closing;
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ClosedError);
    }
    expect(await w.p).toBe(3);
    await b.close();
    expectClean();
  });
});
