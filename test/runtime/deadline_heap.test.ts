// The thread's deadline heap (src/runtime/deadline_heap.ts): one setTimeout
// for every parked deadline, expiry in deadline order, moves and deletes.
// Pure: no FFI, no loop.
import { afterEach, expect, test } from "bun:test";
import { DeadlineHeap, type HeapEntry } from "../../src/runtime/deadline_heap.ts";
import { hooks } from "../../src/runtime/hooks.ts";

class Entry implements HeapEntry {
  hi = -1;
  deadline = 0;
  constructor(readonly id: number) {}
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const realSetTimeout = globalThis.setTimeout;

afterEach(() => {
  globalThis.setTimeout = realSetTimeout;
  expect(hooks.counters.timers).toBe(0);
});

test("1,000 entries arm one timer at a time, expire in deadline order, each no earlier than its deadline", async () => {
  let armed = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    armed++;
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  const fired: { id: number; late: number }[] = [];
  const heap = new DeadlineHeap<Entry>((e) => fired.push({ id: e.id, late: performance.now() - e.deadline }));
  const t0 = performance.now();
  // Deadlines 20..119 ms out, inserted in a scrambled order, ten entries each.
  const entries = Array.from({ length: 1000 }, (_, i) => new Entry(i));
  for (const e of entries) {
    e.deadline = t0 + 20 + ((e.id * 37) % 100);
    heap.set(e);
  }
  expect(heap.size).toBe(1000);
  expect(hooks.counters.timers).toBe(1000);
  expect(armed).toBeLessThanOrEqual(2); // not one per entry
  while (fired.length < 1000 && performance.now() - t0 < 2000) await sleep(10);
  expect(fired.length).toBe(1000);
  const order = fired.map((f) => entries[f.id]!.deadline);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(Math.min(...fired.map((f) => f.late))).toBeGreaterThanOrEqual(0);
  expect(heap.size).toBe(0);
  // One timer per distinct wake-up at most (fired early or a new earliest), never one per entry.
  expect(armed).toBeLessThan(250);
});

test("moving an entry later or deleting it keeps it from firing at its old time; moving it earlier fires it sooner", async () => {
  const fired: number[] = [];
  const heap = new DeadlineHeap<Entry>((e) => fired.push(e.id));
  const t0 = performance.now();
  const a = new Entry(1);
  const b = new Entry(2);
  const c = new Entry(3);
  a.deadline = t0 + 30;
  b.deadline = t0 + 40;
  c.deadline = t0 + 200;
  heap.set(a);
  heap.set(b);
  heap.set(c);
  a.deadline = t0 + 150; // later
  heap.set(a);
  heap.delete(b);
  expect(b.hi).toBe(-1);
  heap.delete(b); // not in: nothing
  c.deadline = t0 + 60; // earlier
  heap.set(c);
  expect(heap.size).toBe(2);
  await sleep(100);
  expect(fired).toEqual([3]);
  await sleep(100);
  expect(fired).toEqual([3, 1]);
  expect(heap.size).toBe(0);
});

test("1,000 pollDescs parked with deadlines share one Bun timer, and all time out", async () => {
  const { PollDesc, TIMEOUT } = await import("../../src/runtime/poll_desc.ts");
  let armed = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    armed++;
    return realSetTimeout(fn, ms);
  }) as typeof setTimeout;
  const t0 = performance.now();
  const pds = Array.from({ length: 1000 }, () => new PollDesc(-1));
  const waits = pds.map((pd, i) => {
    pd.setDeadline(pd.r, t0 + 30 + (i % 10));
    return pd.park(pd.r).then(
      () => "resolved",
      (e: unknown) => e,
    );
  });
  expect(hooks.counters.timers).toBe(1000);
  expect(armed).toBeLessThanOrEqual(1);
  const results = await Promise.all(waits);
  globalThis.setTimeout = realSetTimeout;
  expect(new Set(results)).toEqual(new Set([TIMEOUT]));
  expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
  expect(armed).toBeLessThan(50);
  for (const pd of pds) pd.close();
  expect(hooks.counters.parked).toBe(0);
});
