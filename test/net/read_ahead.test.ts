// Read-ahead on TCP conns: once a read has filled the caller's buffer, the
// next read with a smaller buffer than a pooled one takes up to 64 KiB from
// the socket and keeps the rest (`buffered`) for the next reads and chunk
// steps. Nothing is lost or reordered, deadlines and close apply as before,
// and unix sockets (descriptors, credentials) never read ahead.
import { expect } from "bun:test";
import { type Conn, DeadlineExceededError } from "../../src/index.ts";
import { chunkPool } from "../../src/runtime/buffer_pool.ts";
import { buf, connPairs, rejection, sleep, testOn } from "../_support/index.ts";

const { pair } = connPairs();
const tcp = () => pair("tcp");

/** n bytes counting up from `from` (mod 251, so a shifted or repeated slice shows). */
function pattern(n: number, from = 0): Uint8Array {
  const b = buf(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) % 251;
  return b;
}

/** Writes data from w and waits until loopback has queued it at the reader. */
async function queued(w: Conn, data: Uint8Array): Promise<void> {
  expect(await w.write(data)).toBe(data.length);
  await sleep(20);
}

async function readExactly(c: Conn, n: number): Promise<Uint8Array> {
  const b = buf(n);
  expect(await c.read(b)).toBe(n);
  return b;
}

testOn("C-read-ahead: a read that fills its buffer makes the next one read ahead; the rest comes from `buffered`, in order", tcp, async ([a, b]) => {
  const data = pattern(5000);
  await queued(b, data);
  expect(a.buffered).toBe(0);
  expect(await readExactly(a, 1000)).toEqual(data.subarray(0, 1000));
  expect(a.buffered).toBe(0);
  // This read takes the 4,000 queued bytes at once and keeps 3,000.
  expect(await readExactly(a, 1000)).toEqual(data.subarray(1000, 2000));
  expect(a.buffered).toBe(3000);
  expect(await readExactly(a, 1000)).toEqual(data.subarray(2000, 3000));
  expect(a.buffered).toBe(2000);
  // A bigger buffer gets what is held: a short read, as a stream may give.
  const big = buf(4096);
  expect(await a.read(big)).toBe(2000);
  expect(big.subarray(0, 2000)).toEqual(data.subarray(3000));
  expect(a.buffered).toBe(0);
});

testOn("C-read-ahead: request/response traffic (reads shorter than the buffer) never reads ahead", tcp, async ([a, b]) => {
  for (let i = 0; i < 5; i++) {
    await queued(b, pattern(100, i));
    const r = buf(1000);
    expect(await a.read(r)).toBe(100);
    expect(r.subarray(0, 100)).toEqual(pattern(100, i));
    expect(a.buffered).toBe(0);
  }
});

testOn("C-read-ahead: a read that comes back short of its buffer turns read-ahead off again", tcp, async ([a, b]) => {
  await queued(b, pattern(3000));
  expect(await readExactly(a, 1000)).toEqual(pattern(1000));
  const r = buf(4000);
  // Not smaller than what is queued: read ahead, short (2,000), nothing kept.
  expect(await a.read(r)).toBe(2000);
  expect(r.subarray(0, 2000)).toEqual(pattern(2000, 1000));
  expect(a.buffered).toBe(0);
  await queued(b, pattern(3000, 7));
  // Off again: this read goes straight into the caller's buffer.
  expect(await readExactly(a, 1000)).toEqual(pattern(1000, 7));
  expect(a.buffered).toBe(0);
});

testOn("C-read-ahead: an expired read deadline fails the read even with bytes held; they are returned once it is lifted", tcp, async ([a, b]) => {
  const data = pattern(3000);
  await queued(b, data);
  await readExactly(a, 1000);
  await readExactly(a, 1000);
  expect(a.buffered).toBe(1000);
  a.setReadDeadline(Date.now() - 1);
  const err = await rejection(a.read(buf(1000)));
  expect(err).toBeInstanceOf(DeadlineExceededError);
  expect((err as DeadlineExceededError).timeout).toBe(true);
  expect(a.buffered).toBe(1000);
  a.setReadDeadline(null);
  expect(await readExactly(a, 1000)).toEqual(data.subarray(2000));
});

testOn("C-read-ahead: chunk iteration and the readable stream hand out the held bytes first, then read the socket", tcp, async ([a, b]) => {
  await queued(b, pattern(3000));
  await readExactly(a, 1000);
  await readExactly(a, 500);
  expect(a.buffered).toBe(1500);
  const it = a[Symbol.asyncIterator]();
  const r1 = await it.next();
  expect(r1.value).toEqual(pattern(1500, 1500));
  expect(a.buffered).toBe(0);
  await queued(b, pattern(10, 99));
  const r2 = await it.next();
  expect(r2.value).toEqual(pattern(10, 99));
  await it.return!();

  await queued(b, pattern(3000, 3));
  await readExactly(a, 1000);
  await readExactly(a, 1000);
  expect(a.buffered).toBe(1000);
  await b.close();
  const rest: Uint8Array = new Uint8Array(await new Response(a.readable).arrayBuffer());
  expect(rest).toEqual(pattern(1000, 2003));
});

testOn("C-read-ahead: the peer's EOF comes after every held byte", tcp, async ([a, b]) => {
  await queued(b, pattern(4000));
  await b.close();
  const got: number[] = [];
  const r = buf(1000);
  for (;;) {
    const n = await a.read(r);
    if (n === null) break;
    got.push(...r.subarray(0, n));
  }
  const all: Uint8Array = Uint8Array.from(got);
  expect(all).toEqual(pattern(4000));
  expect(await a.read(r)).toBeNull();
});

testOn("C-read-ahead: close() with bytes held gives their pooled buffer back", tcp, async ([a, b]) => {
  await queued(b, pattern(3000));
  await readExactly(a, 1000);
  await readExactly(a, 1000);
  expect(a.buffered).toBe(1000);
  // Two trim periods ended now empty the free list, and leave none that a
  // timer could drop before the check below.
  chunkPool.trimNow();
  chunkPool.trimNow();
  expect(chunkPool.free).toBe(0);
  await a.close();
  expect(chunkPool.free).toBe(1);
});

testOn("C-read-ahead: once `fd` is taken the conn reads no further ahead", tcp, async ([a, b]) => {
  expect(a.fd).toBeGreaterThan(2);
  await queued(b, pattern(3000));
  await readExactly(a, 1000);
  await readExactly(a, 1000);
  expect(a.buffered).toBe(0);
  expect(await readExactly(a, 1000)).toEqual(pattern(1000, 2000));
});

testOn("C-read-ahead: unix sockets never read ahead (a read there stops at descriptors and credentials)", () => pair("unix"), async ([a, b]) => {
  await queued(b, pattern(3000));
  await readExactly(a, 1000);
  await readExactly(a, 1000);
  expect(a.buffered).toBe(0);
  expect(await readExactly(a, 1000)).toEqual(pattern(1000, 2000));
});
