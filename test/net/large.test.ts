// L: large transfers and vectored writes (CONFORMANCE.md section L).
import { expect, test } from "bun:test";
import { type Conn, runtimeStats } from "../../src/index.ts";
import { connPairs, settlement, sleep, testOn, until } from "../_support/index.ts";

const { pair } = connPairs();
const tcp = () => pair("tcp");

/** Deterministic pseudo-random bytes (xorshift32). */
function fillRandom(buf: Uint8Array, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** Reads exactly n bytes (fails on early EOF). */
async function readExactly(c: Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(new ArrayBuffer(Math.max(n, 1))).subarray(0, n);
  let got = 0;
  while (got < n) {
    const r = await c.read(out.subarray(got));
    if (r === null) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += r;
  }
  return out;
}

function concat(bufs: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(bufs));
}

/** Asserts a sent nothing more: once a shuts down its write side, b reads EOF. */
async function expectNothingMore(a: Conn, b: Conn): Promise<void> {
  await a.closeWrite();
  expect(await b.read(new Uint8Array(1))).toBeNull();
}

function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  // Buffer.compare is fast; on mismatch report the first differing offset.
  if (Buffer.compare(got, want) !== 0) {
    let i = 0;
    while (got[i] === want[i]) i++;
    expect({ offset: i, got: got[i] }).toEqual({ offset: i, want: want[i] } as never);
  }
}

testOn("L2 a 10 MiB write then a small write: the small one completes after the big one, bytes in order", tcp, async ([a, b]) => {
  const big = fillRandom(new Uint8Array(new ArrayBuffer(10 << 20)), 42);
  const small = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01]);
  const order: string[] = [];
  let parkedAtSmall = -1;
  const w1 = a.write(big).then((n) => {
    order.push("big");
    return n;
  });
  const w2 = a.write(small).then((n) => {
    order.push("small");
    parkedAtSmall = runtimeStats().parked;
    return n;
  });
  // Nobody reads yet: the big write fills both buffers and parks, the small one queues.
  await until(() => runtimeStats().parked === 1, 1500);
  await sleep(10);
  expect(order).toEqual([]);
  const reading = readExactly(b, big.length + small.length);
  expect(await w1).toBe(big.length);
  expect(await w2).toBe(small.length);
  expect(order).toEqual(["big", "small"]);
  // Only the peer's read can still be parked; nothing of ours is queued.
  expect(parkedAtSmall).toBeLessThanOrEqual(1);
  expectSameBytes(await reading, concat([big, small]));
  await expectNothingMore(a, b);
  expect(runtimeStats().parked).toBe(0);
});

/** count buffers of varied sizes (0 … ~5 KiB), some small heap-backed arrays, deterministic. */
function variedBuffers(count: number, seed: number): Uint8Array[] {
  const bufs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const size = i % 97 === 0 ? 5000 + (i % 13) : i % 11 === 0 ? 0 : ((i * 37 + seed) % 300) + 1;
    // Mix plain small typed arrays (movable by the engine) with ArrayBuffer-backed ones.
    const b = i % 2 === 0 ? new Uint8Array(size) : new Uint8Array(new ArrayBuffer(size));
    bufs.push(fillRandom(b, seed * 7919 + i + 1));
  }
  return bufs;
}

for (const kind of ["tcp", "unix"] as const) {
  testOn(`L4 writev of 0 / 10 / 1023 / 1024 / 1025 buffers delivers the exact concatenation (${kind})`, () => pair(kind), async ([a, b]) => {
    for (const count of [0, 10, 1023, 1024, 1025, 3000]) {
      const bufs = variedBuffers(count, count + 1);
      const want = concat(bufs);
      const reading = readExactly(b, want.length);
      expect(await a.writev(bufs)).toBe(want.length);
      expectSameBytes(await reading, want);
    }
    await expectNothingMore(a, b); // the 0-buffer writev sent nothing either
  });
}

testOn("L4 a writev larger than the socket buffers resumes after short writes and delivers the exact bytes", tcp, async ([a, b]) => {
  const bufs: Uint8Array[] = [];
  for (let i = 0; i < 2500; i++) {
    const size = ((i * 2654435761) >>> 0) % 8192; // 0 … 8191, ~10 MiB in all
    bufs.push(fillRandom(new Uint8Array(new ArrayBuffer(size)), i + 99));
  }
  const want = concat(bufs);
  expect(want.length).toBeGreaterThan(8 << 20);
  const w = settlement(a.writev(bufs));
  // Nobody reads: the writev must stop short and park.
  await until(() => runtimeStats().parked === 1, 1500);
  expect(w.settled).toBe(false);
  const got = await readExactly(b, want.length);
  await until(() => w.settled, 1000);
  expect(w.value).toBe(want.length);
  expectSameBytes(got, want);
  await a.close();
  expect(await b.read(new Uint8Array(1))).toBeNull();
});

const L1_WRITES = 3;
const L1_CHUNKS = 4096;
const L1_CHUNK = 10_024;
const L1_TOTAL = L1_WRITES * L1_CHUNKS * L1_CHUNK; // 123,174,912

testOn(
  "L1 3 writev x 4096 chunks x 10,024 B then closeWrite: writes resolve before the shutdown, the echo returns exactly 123,174,912 B then EOF",
  tcp,
  async ([a, b]) => {
    expect(L1_TOTAL).toBe(123_174_912);
    // Echo peer: copies back until EOF, then shuts down its write side.
    const echo = (async () => {
      let n = 0;
      for await (const chunk of b) {
        await b.write(chunk);
        n += chunk.length;
      }
      await b.closeWrite();
      return n;
    })();
    const chunk = fillRandom(new Uint8Array(new ArrayBuffer(L1_CHUNK)), 7);
    const bufs = new Array<Uint8Array>(L1_CHUNKS).fill(chunk);
    const order: string[] = [];
    const writes = Array.from({ length: L1_WRITES }, (_, i) =>
      a.writev(bufs).then((n) => {
        order.push(`w${i}`);
        return n;
      }),
    );
    const shut = a.closeWrite().then(() => order.push("shutdown"));
    // Read everything back, checking every byte against the repeating chunk.
    const buf = new Uint8Array(new ArrayBuffer(256 * 1024));
    let total = 0;
    let bad = -1;
    for (;;) {
      const n = await a.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n && bad < 0) {
        const pos = (total + off) % L1_CHUNK;
        const len = Math.min(n - off, L1_CHUNK - pos);
        if (Buffer.compare(buf.subarray(off, off + len), chunk.subarray(pos, pos + len)) !== 0) bad = total + off;
        off += len;
      }
      total += n;
    }
    expect(bad).toBe(-1);
    expect(total).toBe(L1_TOTAL);
    expect(await Promise.all(writes)).toEqual([L1_CHUNKS * L1_CHUNK, L1_CHUNKS * L1_CHUNK, L1_CHUNKS * L1_CHUNK]);
    await shut;
    expect(order).toEqual(["w0", "w1", "w2", "shutdown"]);
    expect(await echo).toBe(L1_TOTAL);
  },
  15_000,
);
