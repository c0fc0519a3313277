// Deadlines given as wall-clock time (epoch ms or a Date) become monotonic
// instants: the same deadline given again at once (one loop over sockets)
// becomes the same instant, different deadlines keep their distance, and a
// step of the wall clock is followed.
import { afterEach, expect, test } from "bun:test";
import { toMono } from "../../src/runtime/deadline.ts";

const realNow = Date.now;
afterEach(() => {
  Date.now = realNow;
});

test("one wall deadline converts to one monotonic instant on every call, across Date.now() ticks", () => {
  const t = Date.now() + 5000;
  const first = toMono(t);
  const seen = new Set<number>([first]);
  const until = performance.now() + 5; // at least four ticks of Date.now()
  let calls = 0;
  while (performance.now() < until) {
    seen.add(toMono(t));
    seen.add(toMono(new Date(t)));
    calls++;
  }
  expect(calls).toBeGreaterThan(100);
  expect([...seen]).toEqual([first]);
  // And it is the instant 5 s ahead, to within Date.now()'s whole milliseconds.
  expect(Math.abs(first - performance.now() - 5000)).toBeLessThan(10);
});

test("two deadlines 10 ms apart convert to instants 10 ms apart, each stable when given again", () => {
  const t = Date.now() + 5000;
  const a = toMono(t);
  const b = toMono(t + 10);
  expect(b - a).toBeGreaterThanOrEqual(9);
  expect(b - a).toBeLessThanOrEqual(11);
  expect(toMono(t + 10)).toBe(b);
});

test("a step of the wall clock is followed: a deadline 1 s ahead of the stepped clock is 1 s ahead", () => {
  for (const step of [3_600_000, -3_600_000, 5]) {
    Date.now = () => realNow() + step;
    const mono = toMono(Date.now() + 1000);
    expect({ step, ahead: Math.round((mono - performance.now()) / 10) * 10 }).toEqual({ step, ahead: 1000 });
  }
  Date.now = realNow;
  expect(Math.round((toMono(Date.now() + 1000) - performance.now()) / 10) * 10).toBe(1000);
});
