// Poller wake-up (CONFORMANCE M3). The main thread never sleeps in epoll_wait
// here; while idle, the loop is parked behind its wake bridge. A task parked
// for a long time must not delay a deadline registered later, nor I/O on a
// descriptor registered later: both must wake within 50 ms.
import { afterEach, expect, test } from "bun:test";
import {
  type Conn,
  DeadlineExceededError,
  listen,
  type PollFd,
  pollFd,
  runtimeStats,
} from "../../src/index.ts";
import { closeAll, closeFd, expectClean, keeper, pairOn, pipe, readFd, sleep, tick, writeFd } from "../_support/index.ts";

const keep = keeper();
const rawFds: number[] = [];
const polls: PollFd[] = [];
afterEach(async () => {
  await keep.closeAll();
  for (const p of polls.splice(0)) if (!p.closed) p.close();
  for (const fd of rawFds.splice(0)) closeFd(fd);
});

/** A read parked on c that is expected to end with the closed error (or stays parked until close). */
function parkRead(c: Conn): Promise<unknown> {
  return c.read(new Uint8Array(8)).then(
    (v) => v,
    (e) => e,
  );
}

test("M3 an earlier read deadline registered while the loop idles wakes a parked read on time", async () => {
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const [a, b] = await pairOn(ln, keep);
  a.setReadDeadline(Date.now() + 3_600_000);
  const t0 = performance.now();
  let settledAt = -1;
  const pending = a.read(new Uint8Array(8)).then(
    (v) => {
      settledAt = performance.now();
      return v;
    },
    (e) => {
      settledAt = performance.now();
      return e;
    },
  );
  await sleep(200); // the loop has gone idle behind its bridge
  expect(settledAt).toBe(-1);
  expect(runtimeStats().parked).toBe(1);
  const t1 = performance.now();
  a.setReadDeadline(Date.now() + 20);
  const err = await pending;
  const ms = settledAt - t1;
  expect(err).toBeInstanceOf(DeadlineExceededError);
  expect(settledAt - t0).toBeGreaterThan(200);
  expect(ms).toBeGreaterThanOrEqual(18);
  expect(ms).toBeLessThan(250);
  await closeAll(a, b, ln);
  expectClean();
});

test("M3 a conn registered after another task parked long ago gets its data within 50 ms of the write", async () => {
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const [a, aPeer] = await pairOn(ln, keep);
  const parkedA = parkRead(a);
  await sleep(300); // A's read has been parked a long time; the loop sleeps
  expect(runtimeStats().parked).toBe(1);
  const [b, bPeer] = await pairOn(ln, keep);
  const out = new Uint8Array([1, 2, 3, 4]);
  const buf = new Uint8Array(16);
  const lat: number[] = [];
  for (let i = 0; i < 5; i++) {
    let gotAt = -1;
    const reading = bPeer.read(buf).then((n) => {
      gotAt = performance.now();
      return n;
    });
    await sleep(60); // idle again before the write
    expect(gotAt).toBe(-1);
    out[0] = i;
    const t0 = performance.now();
    await b.write(out);
    const n = await reading;
    lat.push(gotAt - t0);
    expect(n).toBe(4);
    expect(Array.from(buf.subarray(0, 4))).toEqual([i, 2, 3, 4]);
  }
  expect(Math.max(...lat)).toBeLessThan(50);
  await a.close();
  expect(await parkedA).toBeInstanceOf(Error);
  await closeAll(aPeer, b, bPeer, ln);
  expectClean();
});

test("M3 a descriptor registered while the loop sleeps, with data already pending, wakes within 50 ms", async () => {
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const [a, aPeer] = await pairOn(ln, keep);
  const parkedA = parkRead(a);
  await sleep(200);
  const [r, w] = pipe();
  rawFds.push(r, w);
  writeFd(w, "ready");
  const p = pollFd(r);
  polls.push(p);
  const t0 = performance.now();
  await p.waitReadable();
  expect(performance.now() - t0).toBeLessThan(50);
  expect(new TextDecoder().decode(readFd(r)!)).toBe("ready");
  // And a later write by a raw fd (outside the runtime) after another idle spell.
  await sleep(100);
  let gotAt = -1;
  const waiting = p.waitReadable().then(() => {
    gotAt = performance.now();
  });
  await tick();
  await sleep(50);
  expect(gotAt).toBe(-1);
  const t1 = performance.now();
  writeFd(w, "again");
  await waiting;
  expect(gotAt - t1).toBeLessThan(50);
  expect(new TextDecoder().decode(readFd(r)!)).toBe("again");
  p.close();
  rawFds.splice(0);
  closeFd(r);
  closeFd(w);
  await a.close();
  await parkedA;
  await closeAll(aPeer, ln);
  expectClean();
});
