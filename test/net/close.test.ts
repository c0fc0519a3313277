// F: close (CONFORMANCE.md section F; F8 is in test/stress/readwrite.stress.ts) and G2, G3.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import {
  ClosedError,
  connect,
  DeadlineExceededError,
  listen,
  listenDatagram,
  NetError,
  pollFd,
  runtimeStats,
} from "../../src/index.ts";
import { sys } from "../../ffi/libc.ts";
import { closeFd, connPairs, expectClean, pipe, settlement, sleep, tick, until, writeFd } from "../_support/index.ts";

const { pair, conns, dir } = connPairs();

const enc = new TextEncoder();

for (const kind of ["tcp", "unix"] as const) {
  test(`F1 peer close 20 ms after a local read parked resolves the read with null (${kind})`, async () => {
    const [a, b] = await pair(kind);
    const r = settlement(a.read(new Uint8Array(16)));
    await until(() => runtimeStats().parked === 1);
    await sleep(20);
    expect(r.settled).toBe(false);
    await b.close();
    await until(() => r.settled, 1000);
    expect(r.ok).toBe(true);
    expect(r.value).toBeNull();
    await a.close();
    expectClean();
  });

  test(`F2 local close while a read is parked rejects it Closed within one loop turn (${kind})`, async () => {
    const [a, b] = await pair(kind);
    const r = settlement(a.read(new Uint8Array(16)));
    await until(() => runtimeStats().parked === 1);
    const closing = a.close();
    await tick();
    expect(r.settled).toBe(true);
    expect(r.error).toBeInstanceOf(ClosedError);
    expect((r.error as Error).message).toContain("use of closed network connection");
    await closing;
    await b.close();
    expectClean();
  });

  test(`F3 local close while a write is parked on a full send buffer rejects Closed, not Timeout (${kind})`, async () => {
    const [a, b] = await pair(kind);
    const big = new Uint8Array(new ArrayBuffer(64 << 20));
    a.setWriteDeadline(Date.now() + 60_000);
    const w = settlement(a.write(big));
    await until(() => runtimeStats().parked === 1, 1500);
    const closing = a.close();
    await tick();
    expect(w.settled).toBe(true);
    const e = w.error as NetError;
    expect(e).toBeInstanceOf(ClosedError);
    expect(e).not.toBeInstanceOf(DeadlineExceededError);
    expect(e.timeout).toBe(false);
    expect(e.bytesWritten).toBeGreaterThan(0);
    expect(e.bytesWritten).toBeLessThan(big.length);
    await closing;
    await b.close();
    expectClean();
  });
}

test("F2 closing a conn under a running echo loop ends the loop cleanly", async () => {
  const [a, b] = await pair("tcp");
  const echo = (async () => {
    const buf = new Uint8Array(new ArrayBuffer(4096));
    let bytes = 0;
    try {
      for (;;) {
        const n = await b.read(buf);
        if (n === null) return { end: "eof", bytes };
        await b.write(buf.subarray(0, n));
        bytes += n;
      }
    } catch (e) {
      return { end: e instanceof ClosedError ? "closed" : String(e), bytes };
    }
  })();
  await a.write(enc.encode("ping"));
  const buf = new Uint8Array(8);
  expect(await a.read(buf)).toBe(4);
  await until(() => runtimeStats().parked === 1);
  const closing = b.close();
  expect(await echo).toEqual({ end: "closed", bytes: 4 });
  await closing;
  expect(await a.read(buf)).toBeNull();
  await a.close();
  expectClean();
});

test("F4 UDP: close 250 ms after receive parked settles it with Closed", async () => {
  const u = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  const r = settlement(u.receive(new Uint8Array(64)));
  await sleep(250);
  expect(r.settled).toBe(false);
  expect(runtimeStats().parked).toBe(1);
  const t0 = performance.now();
  const closing = u.close();
  await until(() => r.settled, 10_000);
  expect(r.at - t0).toBeLessThan(1000);
  expect(r.error).toBeInstanceOf(ClosedError);
  await closing;
  expectClean();
});

test("F4 UDP: close 250 ms into a for-await over the socket ends the iteration; next() stays done", async () => {
  const u = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  const it = u[Symbol.asyncIterator]();
  const first = settlement(it.next());
  await sleep(250);
  expect(first.settled).toBe(false);
  const closing = u.close();
  await until(() => first.settled, 10_000);
  expect(first.ok).toBe(true);
  expect(first.value).toEqual({ done: true, value: undefined });
  expect(await it.next()).toEqual({ done: true, value: undefined });
  await closing;
  expectClean();
});

test("F5 32 queued writes then close: every write settles before close() resolves", async () => {
  const [a, b] = await pair("unix");
  const chunk = new Uint8Array(new ArrayBuffer(1 << 20)); // each one alone fills a unix socket buffer
  const order: string[] = [];
  const outcomes: unknown[] = [];
  const writes = Array.from({ length: 32 }, (_, i) =>
    a.write(chunk).then(
      (n) => {
        order.push(`w${i}`);
        outcomes[i] = n;
      },
      (e) => {
        order.push(`w${i}`);
        outcomes[i] = e;
      },
    ),
  );
  await until(() => runtimeStats().parked === 1);
  const closing = a.close().then(() => order.push("close"));
  await Promise.all([...writes, closing]);
  expect(order.length).toBe(33);
  expect(order[32]).toBe("close");
  expect(order.slice(0, 32)).toEqual(Array.from({ length: 32 }, (_, i) => `w${i}`));
  for (const o of outcomes) {
    if (typeof o === "number") expect(o).toBe(chunk.length);
    else expect(o).toBeInstanceOf(ClosedError);
  }
  // The first one was parked mid-buffer: it cannot have completed.
  expect(outcomes[0]).toBeInstanceOf(ClosedError);
  await b.close();
  expectClean();
});

test("F7 close wakes 4 queued readers with Closed; the fd stays open until they have all settled", async () => {
  const [a, b] = await pair("tcp");
  const fd = a.fd;
  const order: string[] = [];
  const errs: unknown[] = [];
  const reads = Array.from({ length: 4 }, (_, i) =>
    a.read(new Uint8Array(8)).then(
      () => order.push(`r${i}:ok`),
      (e) => {
        errs[i] = e;
        order.push(`r${i}`);
      },
    ),
  );
  await until(() => runtimeStats().parked === 1);
  expect(runtimeStats().parked).toBe(1); // one parked, three queued behind it
  const closing = a.close().then(() => order.push("close"));
  // close(2) has not run yet: reads still hold references.
  expect(fs.fstatSync(fd).isSocket()).toBe(true);
  expect(runtimeStats().fds).toBe(2);
  await Promise.all([...reads, closing]);
  expect(order).toEqual(["r0", "r1", "r2", "r3", "close"]);
  for (const e of errs) expect(e).toBeInstanceOf(ClosedError);
  expect(runtimeStats().fds).toBe(1);
  await b.close();
  expectClean();
});

test("G2 a pipe closed while its writer keeps writing causes no wakeups: a 10 ms timer fires once and nothing else runs", async () => {
  const [r, w] = pipe();
  // A dup keeps the pipe's read side open after r is closed, so the writer
  // never sees EPIPE and a missing EPOLL_CTL_DEL would keep delivering events.
  const keep = sys.dup(r);
  expect(keep).toBeGreaterThanOrEqual(0);
  const writer = setInterval(() => writeFd(w, "x"), 1);
  try {
    const p = pollFd(r);
    await p.waitReadable();
    p.close();
    closeFd(r);
    await sleep(20);
    const s0 = runtimeStats().loop;
    let fired = 0;
    await new Promise<void>((resolve) => {
      setTimeout(() => {
        fired++;
        resolve();
      }, 10);
    });
    await sleep(50);
    const s1 = runtimeStats().loop;
    expect(fired).toBe(1);
    expect({ events: s1.events - s0.events, stale: s1.stale - s0.stale, drains: s1.drains - s0.drains, rings: s1.rings - s0.rings }).toEqual({
      events: 0,
      stale: 0,
      drains: 0,
      rings: 0,
    });
  } finally {
    clearInterval(writer);
    closeFd(keep);
    closeFd(w);
  }
  expectClean();
});

test("G3 64 sockets parked for read and write, then closed: all 64 closes complete and no registration is left", async () => {
  const path = `${dir()}/g3.sock`;
  const ln = listen({ path });
  const pairs = await Promise.all(
    Array.from({ length: 64 }, () => Promise.all([connect({ path }), ln.accept()])),
  );
  await ln.close();
  for (const [x, y] of pairs) conns.push(x, y);
  expect(runtimeStats().pollDescs).toBe(128);
  const chunk = new Uint8Array(new ArrayBuffer(1 << 20));
  const ops = pairs.flatMap(([a]) => [settlement(a.read(new Uint8Array(16))), settlement(a.write(chunk))]);
  await until(() => runtimeStats().parked === 128, 1500);
  const closes = await Promise.allSettled(pairs.map(([a]) => a.close()));
  expect(closes.every((c) => c.status === "fulfilled")).toBe(true);
  expect(ops.every((o) => o.settled && o.error instanceof ClosedError)).toBe(true);
  expect(runtimeStats().pollDescs).toBe(64);
  await Promise.all(pairs.map(([, b]) => b.close()));
  expect(runtimeStats().fds).toBe(0);
  expectClean();
});
