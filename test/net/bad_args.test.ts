// Values from plain JavaScript (no type checker): an ArrayBufferView is
// taken by its bytes, anything else (a bare ArrayBuffer included) rejects
// with a TypeError naming the argument, and changes nothing: later
// operations work, close() resolves, no descriptor is left behind.
import { afterEach, expect, test } from "bun:test";
import { type Conn, type DatagramConn, type IpAddr, listenDatagram } from "../../src/index.ts";
import { connPairs, expectClean, sleep } from "../_support/index.ts";

const pairs = connPairs();
const enc = new TextEncoder();
const dec = new TextDecoder();
const dgrams: DatagramConn[] = [];
afterEach(async () => {
  for (const d of dgrams.splice(0)) if (!d.closed) await d.close().catch(() => {});
});

/** p's rejection, or "settled" / "hung" when it resolves or has not settled after 1 s. */
async function outcome(p: () => Promise<unknown>): Promise<unknown> {
  let settled: Promise<unknown>;
  try {
    settled = p().then(
      () => "settled",
      (e: unknown) => e,
    );
  } catch (e) {
    return e; // thrown synchronously: not a promise-returning API's way, but still no wedge
  }
  return Promise.race([settled, sleep(1000).then(() => "hung")]);
}

function expectTypeError(e: unknown, names: string): void {
  expect(e).toBeInstanceOf(TypeError);
  expect((e as Error).message).toContain(names);
}

/** After a rejected call the connection still works both ways and closes cleanly. */
async function expectUsable(a: Conn, b: Conn): Promise<void> {
  expect(await a.write(enc.encode("ok"))).toBe(2);
  const buf = new Uint8Array(8);
  expect(await b.read(buf)).toBe(2);
  expect(dec.decode(buf.subarray(0, 2))).toBe("ok");
  expect(await b.write(enc.encode("back"))).toBe(4);
  expect(await a.read(buf)).toBe(4);
  await a.close();
  await b.close();
  expectClean();
}

const notBytes: [string, unknown][] = [
  ["undefined", undefined],
  ["null", null],
  ["a string", "hello"],
  ["a bare ArrayBuffer", new ArrayBuffer(4)],
  ["a number", 42],
  ["a plain array", [1, 2, 3]],
];

for (const [what, v] of notBytes) {
  test(`C-bad-args: write(${what}) rejects with a TypeError and the connection stays usable`, async () => {
    const [a, b] = await pairs.pair("tcp");
    expectTypeError(await outcome(() => a.write(v as unknown as Uint8Array)), "buf");
    await expectUsable(a, b);
  });

  test(`C-bad-args: writev([${what}]) rejects with a TypeError and the connection stays usable`, async () => {
    const [a, b] = await pairs.pair("unix");
    expectTypeError(await outcome(() => a.writev([enc.encode("x"), v as unknown as Uint8Array])), "bufs[1]");
    await expectUsable(a, b);
  });

  test(`C-bad-args: read(${what}) rejects with a TypeError and the connection stays usable`, async () => {
    const [a, b] = await pairs.pair("tcp");
    expectTypeError(await outcome(() => b.read(v as unknown as Uint8Array)), "buf");
    await expectUsable(a, b);
  });
}

test("C-bad-args: writev(not an array) rejects with a TypeError", async () => {
  const [a, b] = await pairs.pair("tcp");
  expectTypeError(await outcome(() => a.writev(undefined as unknown as Uint8Array[])), "bufs");
  expectTypeError(await outcome(() => a.writev("ab" as unknown as Uint8Array[])), "bufs");
  await expectUsable(a, b);
});

test("C-bad-args: a signal that is not an AbortSignal rejects with a TypeError", async () => {
  const [a, b] = await pairs.pair("tcp");
  const bad = { signal: {} as unknown as AbortSignal };
  expectTypeError(await outcome(() => a.write(enc.encode("x"), bad)), "signal");
  expectTypeError(await outcome(() => b.read(new Uint8Array(4), bad)), "signal");
  await expectUsable(a, b);
});

test("C-bad-args: write takes any ArrayBufferView by its bytes (Uint16Array(3) is 6 bytes, DataView, offset views)", async () => {
  const [a, b] = await pairs.pair("tcp");
  const u16 = new Uint16Array([0x6261, 0x6463, 0x6665]); // "abcdef" little-endian
  expect(await a.write(u16)).toBe(6);
  const dv = new DataView(enc.encode("..ghij..").buffer, 2, 4);
  expect(await a.write(dv as unknown as Uint8Array)).toBe(4);
  const big = new Float64Array(2);
  new Uint8Array(big.buffer).set(enc.encode("klmnopqr"), 0);
  const sub = new Uint32Array(big.buffer, 4, 1); // "opqr"
  expect(await a.writev([sub as unknown as Uint8Array, new Uint8Array(big.buffer, 0, 4)])).toBe(8);
  const buf = new Uint8Array(64);
  let got = "";
  b.setReadDeadline(Date.now() + 2000);
  while (got.length < 18) {
    const n = await b.read(buf);
    if (n === null) break;
    got += dec.decode(buf.subarray(0, n));
  }
  expect(got).toBe("abcdefghijopqrklmn");
  await a.close();
  await b.close();
  expectClean();
});

test("C-bad-args: read fills any ArrayBufferView by its bytes and resolves the byte count", async () => {
  const [a, b] = await pairs.pair("tcp");
  const wide = new Uint16Array(4); // 8 bytes
  const p = b.read(wide);
  await a.write(enc.encode("abcdefgh"));
  expect(await p).toBe(8);
  expect(dec.decode(new Uint8Array(wide.buffer))).toBe("abcdefgh");
  const backing = new ArrayBuffer(10);
  const dv = new DataView(backing, 3, 4);
  const q = b.read(dv as unknown as Uint8Array);
  await a.write(enc.encode("wxyz"));
  expect(await q).toBe(4);
  expect(dec.decode(new Uint8Array(backing, 3, 4))).toBe("wxyz");
  expect(new Uint8Array(backing)[2]).toBe(0);
  expect(new Uint8Array(backing)[7]).toBe(0);
  await a.close();
  await b.close();
  expectClean();
});

async function udpPair(): Promise<[DatagramConn, DatagramConn, number]> {
  const x = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  const y = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  dgrams.push(x, y);
  return [x, y, (y.addr as IpAddr).port];
}

for (const [what, v] of notBytes) {
  test(`K-bad-args: DatagramConn send/receive(${what}) reject with a TypeError and the socket stays usable`, async () => {
    const [x, y, port] = await udpPair();
    const to = { hostname: "127.0.0.1", port };
    expectTypeError(await outcome(() => x.send(v as unknown as Uint8Array, to)), "data");
    expectTypeError(await outcome(() => y.receive(v as unknown as Uint8Array)), "buf");
    expect(await x.send(enc.encode("dgram"), to)).toBe(5);
    const buf = new Uint8Array(16);
    const got = await y.receive(buf);
    expect(dec.decode(buf.subarray(0, got.n))).toBe("dgram");
    await x.close();
    await y.close();
    expectClean();
  });
}

test("K-bad-args: DatagramConn send and receive take ArrayBufferViews by their bytes", async () => {
  const [x, y, port] = await udpPair();
  const to = { hostname: "127.0.0.1", port };
  expect(await x.send(new Uint16Array([0x6261, 0x6463, 0x6665]), to)).toBe(6);
  const wide = new Uint32Array(4);
  const got = await y.receive(wide as unknown as Uint8Array);
  expect(got.n).toBe(6);
  expect(dec.decode(new Uint8Array(wide.buffer, 0, 6))).toBe("abcdef");
  await x.close();
  await y.close();
  expectClean();
});
