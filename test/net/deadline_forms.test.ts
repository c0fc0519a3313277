// Deadlines in both forms: absolute (Go's setReadDeadline(t): epoch ms or a
// Date) and relative (setReadTimeout(ms): ms from now). A number that is
// obviously a duration given as an absolute deadline (before one year after
// the epoch) is a RangeError naming both forms instead of a deadline in 1970
// that fails at once with "i/o timeout".
import { afterEach, describe, expect, test } from "bun:test";
import { connect, DeadlineExceededError, type IpAddr, listen, listenDatagram, pollFd, runtimeStats, upgradeTls } from "../../src/index.ts";
import { closeFd, connPairs, expectClean, pipe, rejection, settlement as track, sleep, thrown } from "../_support/index.ts";

const pairs = connPairs();
afterEach(() => expectClean());

function expectTimeout(e: unknown, op: string): void {
  expect(e).toBeInstanceOf(DeadlineExceededError);
  expect((e as DeadlineExceededError).op).toBe(op);
}

describe("an absolute deadline that is obviously a duration", () => {
  test("setReadDeadline(1000) is a RangeError naming both forms; the read deadline stays unset", async () => {
    const [a, b] = await pairs.pair("tcp");
    const e = thrown(() => a.setReadDeadline(1000));
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toBe(
      "setReadDeadline: deadline 1000 is 1970-01-01T00:00:01.000Z, which looks like a duration: pass an absolute time (Date.now() + 1000, or a Date) or use setReadTimeout(1000)",
    );
    expect((thrown(() => a.setWriteDeadline(30_000)) as Error).message).toContain("or use setWriteTimeout(30000)");
    expect((thrown(() => a.setDeadline(-5)) as Error).message).toContain("or use setTimeout(-5)");
    // Nothing was set: a read still waits for data.
    const r = track(a.read(new Uint8Array(4)));
    await sleep(50);
    expect(r.settled).toBe(false);
    await b.write(new Uint8Array([1, 2]));
    await sleep(20);
    expect(r.value).toBe(2);
    await a.close();
    await b.close();
  });

  test("a past Date is still an expired deadline, however early; so is a past epoch-ms number", async () => {
    const [a, b] = await pairs.pair("tcp");
    a.setReadDeadline(new Date(1000));
    expectTimeout(await rejection(a.read(new Uint8Array(4))), "read");
    a.setReadDeadline(Date.now() - 1);
    expectTimeout(await rejection(a.read(new Uint8Array(4))), "read");
    a.setReadDeadline(0); // 0, null and Infinity still mean none
    a.setReadDeadline(null);
    a.setReadDeadline(Infinity);
    await a.close();
    await b.close();
  });

  test("connect({ deadline: 5000 }), waitReadable({ deadline: 50 }), the listener's and datagram socket's setDeadline", async () => {
    const e = await rejection(connect({ port: 1, hostname: "127.0.0.1", deadline: 5000 }));
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toContain("connect: deadline 5000 is 1970-01-01T00:00:05.000Z, which looks like a duration");
    expect((e as Error).message).toContain("or use the timeout option");
    const [r, w] = pipe();
    const p = pollFd(r);
    const pe = await rejection(p.waitReadable({ deadline: 50 }));
    expect(pe).toBeInstanceOf(RangeError);
    expect((pe as Error).message).toContain("or use { timeout: 50 }");
    p.close();
    closeFd(r);
    closeFd(w);
    const ln = listen({ hostname: "127.0.0.1", port: 0 });
    expect(thrown(() => ln.setDeadline(100))).toBeInstanceOf(RangeError);
    await ln.close();
    const d = listenDatagram({ hostname: "127.0.0.1", port: 0 });
    expect(thrown(() => d.setReadDeadline(100))).toBeInstanceOf(RangeError);
    await d.close();
  });
});

describe("relative timeouts", () => {
  test("Conn.setReadTimeout(60): a parked read times out in 40–1000 ms", async () => {
    const [a, b] = await pairs.pair("tcp");
    const t0 = performance.now();
    a.setReadTimeout(60);
    expectTimeout(await rejection(a.read(new Uint8Array(4))), "read");
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(40);
    expect(took).toBeLessThan(1000);
    await a.close();
    await b.close();
  });

  test("0 and null clear a timeout: the read stays parked, then gets the data", async () => {
    const [a, b] = await pairs.pair("unix");
    a.setReadTimeout(20);
    a.setReadTimeout(0);
    const r1 = track(a.read(new Uint8Array(4)));
    a.setTimeout(30);
    a.setTimeout(null);
    await sleep(100);
    expect(r1.settled).toBe(false);
    await b.write(new Uint8Array([9]));
    await sleep(20);
    expect(r1.value).toBe(1);
    expect(runtimeStats().timers).toBe(0); // the cleared deadlines left no timer
    await a.close();
    await b.close();
  });

  test("setWriteTimeout(-1) fails a write at once with 0 bytes; setTimeout(ms) sets both directions", async () => {
    const [a, b] = await pairs.pair("tcp");
    a.setWriteTimeout(-1);
    const e = await rejection(a.write(new Uint8Array([1])));
    expectTimeout(e, "write");
    a.setTimeout(40);
    expectTimeout(await rejection(a.read(new Uint8Array(4))), "read");
    expectTimeout(await rejection(a.write(new Uint8Array([1]))), "write");
    a.setTimeout(null);
    expect(await a.write(new Uint8Array([5]))).toBe(1);
    const buf = new Uint8Array(4);
    expect(await b.read(buf)).toBe(1);
    expect(buf[0]).toBe(5);
    await a.close();
    await b.close();
  });

  test("bad timeouts: a non-number or NaN is a TypeError and changes nothing", async () => {
    const [a, b] = await pairs.pair("tcp");
    expect((thrown(() => a.setReadTimeout("50" as never)) as Error).message).toBe("setReadTimeout: timeout must be a number of ms or null, got string");
    expect(thrown(() => a.setWriteTimeout(Number.NaN))).toBeInstanceOf(TypeError);
    await a.close();
    expect(thrown(() => a.setTimeout(10))).toHaveProperty("name", "ClosedError");
    await b.close();
  });

  test("Listener.setTimeout, DatagramConn.setReadTimeout / setWriteTimeout / setTimeout, PollFd waitReadable({ timeout }) and setReadTimeout", async () => {
    const ln = listen({ hostname: "127.0.0.1", port: 0 });
    ln.setTimeout(30);
    expectTimeout(await rejection(ln.accept()), "accept");
    await ln.close();

    const d = listenDatagram({ hostname: "127.0.0.1", port: 0 });
    d.setReadTimeout(30);
    expectTimeout(await rejection(d.receive(new Uint8Array(4))), "receive");
    d.setWriteTimeout(-1);
    expectTimeout(await rejection(d.send(new Uint8Array(1), d.addr as IpAddr)), "send");
    d.setTimeout(0);
    expect(await d.send(new Uint8Array(1), d.addr as IpAddr)).toBe(1);
    expect((await d.receive(new Uint8Array(4))).n).toBe(1);
    await d.close();

    const [r, w] = pipe();
    const p = pollFd(r);
    expectTimeout(await rejection(p.waitReadable({ timeout: 30 })), "waitReadable");
    p.setReadTimeout(null);
    p.setWriteTimeout(-1);
    expectTimeout(await rejection(p.waitWritable()), "waitWritable");
    p.setTimeout(null);
    expect(await rejection(p.waitReadable({ timeout: 5, deadline: Date.now() + 5 }))).toBeInstanceOf(TypeError);
    p.close();
    closeFd(r);
    closeFd(w);
  });

  test("TlsConn.setReadTimeout bounds the handshake; its setReadDeadline rejects a duration too", async () => {
    const [a, b] = await pairs.pair("tcp");
    const t = await upgradeTls(b, { isServer: true });
    expect(thrown(() => t.setReadDeadline(2000))).toBeInstanceOf(RangeError);
    t.setReadTimeout(40);
    expectTimeout(await rejection(t.handshake()), "handshake");
    t.setTimeout(null);
    t.setWriteTimeout(null);
    await t.close();
    await a.close();
  });
});

describe("far deadlines", () => {
  test("a TlsConn waiting under a deadline 30 days away arms no timer beyond setTimeout's 2^31-1 ms ceiling", async () => {
    const overflows: string[] = [];
    const onWarning = (w: Error) => {
      if (w.name === "TimeoutOverflowWarning") overflows.push(w.message);
    };
    process.on("warning", onWarning);
    try {
      const [a, b] = await pairs.pair("tcp");
      const t = await upgradeTls(b, { isServer: true });
      t.setReadDeadline(Date.now() + 30 * 86_400_000);
      const h = track(t.handshake());
      await sleep(50);
      expect(h.settled).toBe(false);
      t.setReadTimeout(30 * 86_400_000);
      await sleep(20);
      expect(h.settled).toBe(false);
      await t.close();
      await sleep(0);
      expect(h.error).toHaveProperty("name", "ClosedError");
      await a.close();
      expect(overflows).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
