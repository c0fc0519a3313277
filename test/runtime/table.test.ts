// The pollDesc table: slot reuse through the free list, generations, lookups.
import { describe, expect, test } from "bun:test";
import { PollDesc } from "../../src/runtime/poll_desc.ts";
import { Table } from "../../src/runtime/table.ts";

/** A new pollDesc, added to t. */
function added(t: Table): PollDesc {
  const pd = new PollDesc(-1);
  t.add(pd);
  return pd;
}

describe("pollDesc table", () => {
  test("add assigns fresh slots 0,1,2 with generation 0", () => {
    const t = new Table();
    const a = added(t);
    const b = added(t);
    const c = added(t);
    expect([a.slot, b.slot, c.slot]).toEqual([0, 1, 2]);
    expect([a.gen, b.gen, c.gen]).toEqual([0, 0, 0]);
    expect(t.size).toBe(3);
    expect(t.lookup(0, 0)).toBe(a);
    expect(t.lookup(1, 0)).toBe(b);
    expect(t.lookup(2, 0)).toBe(c);
    expect(t.lookup(3, 0)).toBeUndefined();
    expect(t.lookup(0xffffffff, 0)).toBeUndefined(); // the wake slot is never a table slot
  });

  test("a freed slot is reused with its generation bumped; the old generation is stale", () => {
    const t = new Table();
    const a = added(t);
    const b = added(t);
    t.remove(a);
    expect(a.slot).toBe(-1);
    expect(t.size).toBe(1);
    expect(t.lookup(0, 0)).toBeUndefined(); // freed: old cookie finds nothing
    expect(t.lookup(0, 1)).toBeUndefined(); // empty slot, even with the new generation
    const a2 = added(t);
    expect(a2.slot).toBe(0);
    expect(a2.gen).toBe(1);
    expect(t.size).toBe(2);
    expect(t.lookup(0, 0)).toBeUndefined(); // the old fd's cookie
    expect(t.lookup(0, 1)).toBe(a2);
    expect(t.lookup(0, 2)).toBeUndefined();
    expect(t.lookup(1, 0)).toBe(b); // untouched slot keeps its generation
  });

  test("free list is LIFO and each slot keeps its own generation", () => {
    const t = new Table();
    const pds = Array.from({ length: 4 }, () => added(t));
    t.remove(pds[1]!);
    t.remove(pds[3]!);
    t.remove(pds[3]!); // second remove is a no-op: no double bump, no double free
    expect(t.size).toBe(2);
    const x = added(t);
    const y = added(t);
    const z = added(t);
    expect([x.slot, x.gen]).toEqual([3, 1]);
    expect([y.slot, y.gen]).toEqual([1, 1]);
    expect([z.slot, z.gen]).toEqual([4, 0]); // free list empty: a new slot
    expect(t.size).toBe(5);
    expect(t.lookup(3, 1)).toBe(x);
    expect(t.lookup(1, 1)).toBe(y);
    expect(t.lookup(4, 0)).toBe(z);
  });

  test("removing a pd that is not (or no longer) in the table changes nothing", () => {
    const t = new Table();
    const a = added(t);
    const stranger = new PollDesc(-1);
    t.remove(stranger); // slot -1
    stranger.slot = 0; // claims a's slot but is not a
    t.remove(stranger);
    expect(t.size).toBe(1);
    expect(t.lookup(0, 0)).toBe(a);
    t.remove(a);
    t.add(a);
    expect([a.slot, a.gen]).toEqual([0, 1]);
    expect(t.lookup(0, 1)).toBe(a);
  });

  test("generations on one slot increase by exactly 1, stay unsigned 32-bit integers", () => {
    const t = new Table();
    const other = added(t); // slot 0 stays live throughout
    let prev = -1;
    const N = 100_000;
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const pd = added(t);
      if (pd.slot !== 1 || pd.gen !== prev + 1 || pd.gen < 0 || pd.gen > 0xffffffff || !Number.isInteger(pd.gen)) bad++;
      if (t.lookup(1, pd.gen) !== pd) bad++;
      if (prev >= 0 && t.lookup(1, prev) !== undefined) bad++;
      prev = pd.gen;
      t.remove(pd);
    }
    expect(bad).toBe(0);
    expect(prev).toBe(N - 1);
    expect(t.size).toBe(1);
    expect(t.lookup(0, 0)).toBe(other);
  });

  test("generation arithmetic wraps 0xffffffff to 0 (the table's >>> 0 rule)", () => {
    // 2^32 remove/add cycles are too many to run; this pins the arithmetic the
    // table uses and that the epoll cookie relies on (gen stored as u32).
    const bump = (g: number) => (g + 1) >>> 0;
    expect(bump(0xfffffffe)).toBe(0xffffffff);
    expect(bump(0xffffffff)).toBe(0);
    expect(bump(0x7fffffff)).toBe(0x80000000); // no sign flip at 2^31
  });
});
