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

test("give() takes back a view of a whole pooled buffer, never the scratch buffer or a smaller copy", () => {
  const pool = new BufferPool(16, 4);
  const a = pool.takeFree()!;
  pool.give(a.subarray(0, 5));
  expect(pool.free).toBe(1);
  const back = pool.takeFree()!;
  expect(back.buffer).toBe(a.buffer);
  expect(back.length).toBe(16);
  pool.give(pool.scratch.subarray(0, 3));
  pool.give(new Uint8Array(new ArrayBuffer(8)));
  expect(pool.free).toBe(0);
});
