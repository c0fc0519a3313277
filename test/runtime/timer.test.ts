// LongTimer: delays beyond setTimeout's 2^31-1 ms ceiling are chained, on an
// injected clock so the arithmetic is checked without waiting.
import { describe, expect, test } from "bun:test";
import { durationArg, LongTimer, MAX_TIMER_MS, pendingLongTimers, type TimerHandle, type TimerHost } from "../../src/runtime/timer.ts";

class FakeHandle implements TimerHandle {
  refd = true;
  cleared = false;
  constructor(
    readonly fn: () => void,
    readonly ms: number,
  ) {}
  ref(): this {
    this.refd = true;
    return this;
  }
  unref(): this {
    this.refd = false;
    return this;
  }
}

/** A manual clock: timers run only when the test fires them. */
class FakeHost implements TimerHost {
  t = 1000;
  readonly armed: FakeHandle[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): FakeHandle {
    const h = new FakeHandle(fn, ms);
    this.armed.push(h);
    return h;
  }
  clearTimeout(h: TimerHandle): void {
    (h as FakeHandle).cleared = true;
  }
  /** Advances the clock by the last timer's delay (or `by`) and runs it. */
  fireLast(by?: number): void {
    const h = this.armed.at(-1)!;
    this.t += by ?? h.ms;
    h.fn();
  }
}

describe("LongTimer", () => {
  test("a delay beyond the chunk is chained: 35 ms in chunks of 10 is 10, 10, 10, 5, then fn once", () => {
    const host = new FakeHost();
    const base = pendingLongTimers();
    let calls = 0;
    const t = new LongTimer(35, () => calls++, { host, maxChunk: 10 });
    expect(t.due).toBe(1035);
    expect(pendingLongTimers()).toBe(base + 1);
    for (let i = 0; i < 3; i++) host.fireLast();
    expect(calls).toBe(0);
    expect(t.pending).toBe(true);
    host.fireLast();
    expect(host.armed.map((h) => h.ms)).toEqual([10, 10, 10, 5]);
    expect(calls).toBe(1);
    expect(t.pending).toBe(false);
    expect(pendingLongTimers()).toBe(base);
    t.cancel(); // after firing: nothing to do
    expect(pendingLongTimers()).toBe(base);
  });

  test("the default chunk is setTimeout's ceiling: 30 days is 2^31-1 ms, then the remainder", () => {
    const host = new FakeHost();
    const days30 = 30 * 86_400_000;
    let calls = 0;
    new LongTimer(days30, () => calls++, { host });
    host.fireLast();
    host.fireLast();
    expect(host.armed.map((h) => h.ms)).toEqual([MAX_TIMER_MS, days30 - MAX_TIMER_MS]);
    expect(calls).toBe(1);
  });

  test("a chunk that fires early re-arms for the rest, rounded up to whole ms", () => {
    const host = new FakeHost();
    let calls = 0;
    new LongTimer(20, () => calls++, { host });
    host.fireLast(19.5);
    expect(calls).toBe(0);
    expect(host.armed.at(-1)!.ms).toBe(1);
    host.fireLast();
    expect(calls).toBe(1);
    expect(host.armed).toHaveLength(2);
  });

  test("unref() holds for every chunk of the chain, ref() undoes it", () => {
    const host = new FakeHost();
    const t = new LongTimer(30, () => {}, { host, maxChunk: 10, ref: false });
    expect(host.armed[0]!.refd).toBe(false);
    host.fireLast();
    expect(host.armed[1]!.refd).toBe(false);
    t.ref();
    expect(host.armed[1]!.refd).toBe(true);
    host.fireLast();
    expect(host.armed[2]!.refd).toBe(true);
    t.unref();
    expect(host.armed[2]!.refd).toBe(false);
    t.cancel();
  });

  test("cancel() mid-chain clears the armed chunk; a callback already queued does nothing", () => {
    const host = new FakeHost();
    const base = pendingLongTimers();
    let calls = 0;
    const t = new LongTimer(30, () => calls++, { host, maxChunk: 10 });
    host.fireLast();
    const armed = host.armed.at(-1)!;
    t.cancel();
    expect(armed.cleared).toBe(true);
    expect(pendingLongTimers()).toBe(base);
    host.t += 100;
    armed.fn(); // as if it had been queued before clearTimeout
    expect(calls).toBe(0);
    expect(host.armed).toHaveLength(2);
    expect(pendingLongTimers()).toBe(base);
    t.cancel(); // idempotent
    expect(pendingLongTimers()).toBe(base);
  });

  test("a negative delay is 0", () => {
    const host = new FakeHost();
    let calls = 0;
    new LongTimer(-50, () => calls++, { host });
    expect(host.armed[0]!.ms).toBe(0);
    host.fireLast();
    expect(calls).toBe(1);
  });
});

describe("durationArg", () => {
  test("numbers pass; a non-number is TypeError; NaN and ±Infinity are RangeError", () => {
    expect(durationArg("sleep", 0)).toBe(0);
    expect(durationArg("sleep", -3)).toBe(-3);
    expect(durationArg("sleep", 2 ** 40)).toBe(2 ** 40);
    expect(() => durationArg("sleep", "5")).toThrow(new TypeError("sleep: duration must be a number of ms, got string"));
    expect(() => durationArg("sleep", null)).toThrow(new TypeError("sleep: duration must be a number of ms, got null"));
    expect(() => durationArg("after", Number.NaN)).toThrow(new RangeError("after: duration must be a finite number of ms, got NaN"));
    expect(() => durationArg("after", -Infinity)).toThrow(RangeError);
  });
});
