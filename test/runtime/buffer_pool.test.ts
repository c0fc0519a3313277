// The read buffer pool behind chunk iteration: buffers made on demand up to
// a bound, lent and given back, and no buffer when all are lent.
import { expect, test } from "bun:test";
import { BufferPool } from "../../src/runtime/buffer_pool.ts";

test("a pool makes buffers on demand up to its bound, then lends none until one comes back", () => {
  const pool = new BufferPool(16, 2);
  expect(pool.made).toBe(0);
  const a = pool.takeFree();
  const b = pool.takeFree();
  expect(a).not.toBeNull();
  expect(b).not.toBeNull();
  expect(a!.buffer).not.toBe(b!.buffer);
  for (const x of [a!, b!]) {
    expect(x.length).toBe(16);
    expect(x.byteOffset).toBe(0);
    expect(x.buffer.byteLength).toBe(16);
    expect(x.buffer).not.toBe(pool.scratch.buffer);
  }
  expect(pool.takeFree()).toBeNull();
  expect(pool.made).toBe(2);
  pool.giveWhole(a!);
  expect(pool.free).toBe(1);
  expect(pool.takeFree()).toBe(a);
  expect(pool.takeFree()).toBeNull();
  expect(pool.made).toBe(2);
});

test("give() takes back a view of a buffer the pool lent, never the scratch buffer or a copy", () => {
  const pool = new BufferPool(16, 4);
  const a = pool.takeFree()!;
  pool.give(a.subarray(0, 5));
  expect(pool.free).toBe(1);
  const back = pool.takeFree()!;
  expect(back.buffer).toBe(a.buffer);
  expect(back.length).toBe(16);
  pool.give(pool.scratch.subarray(0, 3));
  pool.give(new Uint8Array(new ArrayBuffer(8)));
  pool.give(new Uint8Array(new ArrayBuffer(16)));
  expect(pool.free).toBe(0);
});

test("free buffers that no read took for a whole trim period are dropped, oldest first; one in use survives", () => {
  const pool = new BufferPool(16, 4);
  const x = pool.takeFree()!;
  const y = pool.takeFree()!;
  pool.giveWhole(x);
  pool.giveWhole(y);
  expect(pool.free).toBe(2);
  // x sat free since the period began: dropped; y came back later: kept.
  pool.trimNow();
  expect(pool.free).toBe(1);
  expect(pool.made).toBe(1);
  const again = pool.takeFree();
  expect(again).toBe(y);
  pool.giveWhole(again!);
  // y was taken in this period: kept.
  pool.trimNow();
  expect(pool.free).toBe(1);
  expect(pool.made).toBe(1);
  // A period with no read: dropped, and the pool makes a new one when asked.
  pool.trimNow();
  expect(pool.free).toBe(0);
  expect(pool.made).toBe(0);
  const fresh = pool.takeFree()!;
  expect(fresh.buffer).not.toBe(y.buffer);
  expect(pool.made).toBe(1);
  // A dropped buffer's view is not taken back.
  pool.give(y.subarray(0, 4));
  expect(pool.free).toBe(0);
});
