// sleep, after and Ticker.
import { describe, expect, test } from "bun:test";
import { after, Chan, runtimeStats, select, sleep, Ticker } from "../../src/index.ts";
import { flush, settlement as track, sleep as delay } from "../_support/index.ts";

describe("sleep", () => {
  test("resolves after the delay", async () => {
    const t0 = performance.now();
    await sleep(20);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(18);
    await sleep(0);
    await sleep(-5); // clamped to 0
  });

  test("an abort rejects at once with signal.reason", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const s = sleep(10_000, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("wake up")), 10);
    const err = await s.then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe("wake up");
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test("an already-aborted signal rejects without waiting; an abort after the sleep changes nothing", async () => {
    await expect(sleep(10_000, { signal: AbortSignal.abort("pre") })).rejects.toBe("pre");
    const ac = new AbortController();
    await sleep(1, { signal: ac.signal });
    ac.abort();
  });
});

describe("after", () => {
  test("delivers one Date after the delay, then nothing", async () => {
    const t0 = Date.now();
    const c = after(20);
    expect(c.cap).toBe(1);
    expect(c.tryRecv()).toBeNull();
    const r = await c.recv();
    expect(r.ok).toBe(true);
    expect(r.value).toBeInstanceOf(Date);
    expect(r.value!.getTime()).toBeGreaterThanOrEqual(t0 + 18);
    await delay(30);
    expect(c.tryRecv()).toBeNull();
    expect(c.closed).toBe(false); // as in Go: the timer channel is never closed
  });

  test("a timeout select loop: values until the producer stalls, then the timeout", async () => {
    const c = new Chan<number>();
    setTimeout(async () => {
      for (let i = 0; i < 3; i++) {
        await c.send(i);
        await sleep(2);
      }
    }, 1);
    const got: number[] = [];
    for (;;) {
      const r = await select([{ recv: c }, { recv: after(100) }]);
      if (r.index === 1) break;
      got.push(r.value as number);
    }
    expect(got).toEqual([0, 1, 2]);
  });
});

describe("Ticker", () => {
  test("delivers ticks at the period; stop() stops them", async () => {
    const t = new Ticker(10);
    const t0 = Date.now();
    const ticks: Date[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.c.recv();
      expect(r.ok).toBe(true);
      ticks.push(r.value!);
    }
    expect(ticks[0]!.getTime()).toBeGreaterThanOrEqual(t0 + 8);
    for (let i = 1; i < 3; i++) expect(ticks[i]!.getTime()).toBeGreaterThan(ticks[i - 1]!.getTime());
    t.stop();
    t.c.tryRecv(); // a tick may have been buffered just before stop()
    const more = track(t.c.recv());
    await delay(50);
    expect(more.settled).toBe(false);
    expect(t.c.len).toBe(0);
    t.stop(); // idempotent
  });

  test("a slow reader gets one pending tick, not a backlog", async () => {
    const t = new Ticker(5);
    try {
      await delay(60);
      expect(t.c.len).toBe(1);
      expect(t.c.tryRecv()!.ok).toBe(true);
      expect(t.c.tryRecv()).toBeNull();
    } finally {
      t.stop();
    }
  });

  test("reset changes the period; bad periods throw RangeError", async () => {
    expect(() => new Ticker(0)).toThrow(RangeError);
    expect(() => new Ticker(-1)).toThrow(RangeError);
    expect(() => new Ticker(Number.NaN)).toThrow(RangeError);
    const t = new Ticker(1000);
    try {
      expect(() => t.reset(0)).toThrow(RangeError);
      t.reset(5);
      const r = await select([{ recv: t.c }, { recv: after(500) }]);
      expect(r.index).toBe(0);
    } finally {
      t.stop();
    }
    await flush();
  });
});

// setTimeout clamps a delay above 2^31-1 ms to 1 ms: long durations must be
// chained, not handed to it as they are.
describe("durations beyond setTimeout's 2^31-1 ms", () => {
  const DAY = 86_400_000;

  test("sleep(30 days) stays pending; an abort releases its timer", async () => {
    const base = runtimeStats().syncTimers;
    const ac = new AbortController();
    const s = track(sleep(30 * DAY, { signal: ac.signal }));
    await delay(50);
    expect(s.settled).toBe(false);
    expect(runtimeStats().syncTimers).toBe(base + 1);
    ac.abort(new Error("stop"));
    await flush();
    expect(s.rejected).toBe(true);
    expect((s.error as Error).message).toBe("stop");
    expect(runtimeStats().syncTimers).toBe(base);
  });

  test("after(2^31) does not fire after 50 ms; its signal cancels it", async () => {
    const base = runtimeStats().syncTimers;
    const ac = new AbortController();
    const c = after(2 ** 31, { signal: ac.signal });
    await delay(50);
    expect(c.len).toBe(0);
    expect(runtimeStats().syncTimers).toBe(base + 1);
    ac.abort();
    expect(runtimeStats().syncTimers).toBe(base);
    expect(c.tryRecv()).toBeNull();
    expect(c.closed).toBe(false);
  });

  test("new Ticker(2^31) does not tick after 50 ms; stop() releases it", async () => {
    const base = runtimeStats().syncTimers;
    const t = new Ticker(2 ** 31);
    try {
      await delay(50);
      expect(t.c.len).toBe(0);
      expect(runtimeStats().syncTimers).toBe(base + 1);
      t.reset(3 * 2 ** 31);
      await delay(20);
      expect(t.c.len).toBe(0);
      expect(runtimeStats().syncTimers).toBe(base + 1);
    } finally {
      t.stop();
    }
    expect(runtimeStats().syncTimers).toBe(base);
    t.stop();
    expect(runtimeStats().syncTimers).toBe(base);
  });

  test("sleep rejects and after / Ticker throw: non-numbers TypeError, NaN and Infinity RangeError; a negative sleep or after is 0", async () => {
    const base = runtimeStats().syncTimers;
    await expect(sleep("10" as never)).rejects.toThrow(TypeError);
    await expect(sleep(Number.NaN)).rejects.toThrow(RangeError);
    await expect(sleep(Infinity)).rejects.toThrow("sleep: duration must be a finite number of ms, got Infinity");
    expect(() => after(undefined as never)).toThrow(TypeError);
    expect(() => after(Number.NaN)).toThrow(RangeError);
    expect(() => after(-Infinity)).toThrow(RangeError);
    expect(() => new Ticker("5" as never)).toThrow(TypeError);
    expect(() => new Ticker(Infinity)).toThrow(RangeError);
    const t = new Ticker(1000);
    expect(() => t.reset(Infinity)).toThrow(RangeError);
    t.stop();
    await sleep(-1);
    const r = await after(-1).recv();
    expect(r.ok).toBe(true);
    // Only timers of earlier tests' after() calls may have fired meanwhile.
    expect(runtimeStats().syncTimers).toBeLessThanOrEqual(base);
  });
});
