// Chunk iteration (`for await (const chunk of conn)`): each chunk is a view
// into a pooled 64 KiB buffer, valid until the next step, which gives the
// buffer back to be lent again: a busy connection reads without copying.
import { expect } from "bun:test";
import { connPairs, testOn } from "../_support/index.ts";

const { pair } = connPairs();

testOn("chunks are views into a pooled 64 KiB buffer, given back and lent again at the next step", () => pair("tcp"), async ([a, b]) => {
  const first = new Uint8Array(100).map((_, i) => i);
  await b.write(first);
  const it = a[Symbol.asyncIterator]();
  const r1 = await it.next();
  expect(r1.done).toBe(false);
  expect(r1.value).toEqual(first);
  expect(r1.value!.byteOffset).toBe(0);
  expect(r1.value!.buffer.byteLength).toBe(64 * 1024);
  const lent = r1.value!.buffer;

  const second = new Uint8Array(50).fill(7);
  await b.write(second);
  const r2 = await it.next();
  expect(r2.done).toBe(false);
  expect(r2.value).toEqual(second);
  expect(r2.value!.buffer).toBe(lent);

  // Leaving the loop gives the chunk back; the conn stays open and readable.
  expect(await it.return!()).toEqual({ value: undefined, done: true });
  await b.write(new Uint8Array([9, 9]));
  const buf = new Uint8Array(8);
  expect(await a.read(buf)).toBe(2);
  expect(buf.subarray(0, 2)).toEqual(new Uint8Array([9, 9]));
});
