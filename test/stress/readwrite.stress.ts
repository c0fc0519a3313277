// Stress: D7, F8, I4 (CONFORMANCE.md). Run with `bun test ./test/stress/readwrite.stress.ts`.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import { ClosedError, connect, type IpAddr, listen, NetError, runtimeStats } from "../../src/index.ts";
import { sys } from "../../ffi/libc.ts";
import { closeFd, connPairs, eachChunk, expectClean, pipe, readFd, rejection, settlement, tick, until, writeFd } from "../_support/index.ts";

const { pair, conns } = connPairs();

const PEER_GONE = ["EPIPE", "ECONNRESET", "ECONNABORTED"];

for (const kind of ["tcp", "unix"] as const) {
  for (const how of ["write", "writev"] as const) {
    test(`D7 peer fully closes while we ${how} up to 1 GiB in 1 MiB buffers: rejects EPIPE/ECONNRESET, no SIGPIPE, no hang (${kind})`, async () => {
      const [a, b] = await pair(kind);
      // The peer reads a little, then closes with data still unread.
      const peer = (async () => {
        const buf = new Uint8Array(new ArrayBuffer(65536));
        let got = 0;
        while (got < 1 << 20) {
          const n = await b.read(buf);
          if (n === null) break;
          got += n;
        }
        await b.close();
        return got;
      })();
      const mib = new Uint8Array(new ArrayBuffer(1 << 20)).fill(0x5a);
      const parts = Array.from({ length: 16 }, (_, i) => mib.subarray(i << 16, (i + 1) << 16));
      let sent = 0;
      let err: unknown = null;
      for (let i = 0; i < 1024; i++) {
        try {
          sent += how === "write" ? await a.write(mib) : await a.writev(parts);
        } catch (e) {
          err = e;
          break;
        }
      }
      expect(await peer).toBeGreaterThanOrEqual(1 << 20);
      expect(err).toBeInstanceOf(NetError);
      expect(err).not.toBeInstanceOf(ClosedError);
      const e = err as NetError;
      expect(PEER_GONE).toContain(e.code);
      expect(e.op).toBe("write");
      expect(e.bytesWritten).toBeGreaterThanOrEqual(0);
      expect(e.bytesWritten).toBeLessThanOrEqual(1 << 20);
      expect(sent).toBeLessThan(1 << 30);
      // Later writes keep failing the same way, at once.
      const e2 = (await rejection(a.write(new Uint8Array(1)))) as NetError;
      expect(PEER_GONE).toContain(e2.code);
      await a.close();
      expectClean();
    }, 30_000);
  }
}

test("F8 100 rounds of dup() racing close() on one conn: every dup is the right socket or Closed; no unrelated fd is hit", async () => {
  // A sentinel pipe: if any stray close(2) hit it, writing or reading would fail.
  const [sr, sw] = pipe();
  let dups = 0;
  let refused = 0;
  try {
    for (let round = 0; round < 100; round++) {
      const [a, b] = await pair(round % 2 === 0 ? "tcp" : "unix");
      const reading = settlement(a.read(new Uint8Array(8))); // an in-flight op holding a reference
      await until(() => runtimeStats().parked === 1);
      const got: number[] = [];
      const tryDup = () => {
        try {
          got.push(a.dup());
        } catch (e) {
          expect(e).toBeInstanceOf(ClosedError);
          refused++;
        }
      };
      let closing: Promise<void>;
      switch (round % 5) {
        case 0:
          tryDup();
          closing = a.close();
          break;
        case 1:
          closing = a.close();
          tryDup();
          break;
        case 2:
          queueMicrotask(tryDup);
          closing = a.close();
          queueMicrotask(tryDup);
          break;
        case 3:
          setImmediate(tryDup);
          closing = a.close();
          setImmediate(tryDup);
          break;
        default:
          for (let i = 0; i < 3; i++) queueMicrotask(tryDup);
          tryDup();
          closing = a.close();
          for (let i = 0; i < 3; i++) Promise.resolve().then(tryDup);
          break;
      }
      await closing;
      await tick();
      await until(() => reading.settled);
      expect(reading.error).toBeInstanceOf(ClosedError);
      // Each dup is still the conn's socket: bytes written through it reach the peer.
      for (const d of got) {
        expect(d).not.toBe(sr);
        expect(d).not.toBe(sw);
        expect(fs.fstatSync(d).isSocket()).toBe(true);
        const one = new Uint8Array(new ArrayBuffer(1));
        one[0] = round & 0xff;
        expect(sys.write(d, one, 1)).toBe(1);
        const buf = new Uint8Array(4);
        expect(await b.read(buf)).toBe(1);
        expect(buf[0]).toBe(round & 0xff);
        expect(sys.close(d)).toBe(0);
        dups++;
      }
      await b.close();
      // The sentinel is untouched.
      expect(writeFd(sw, "s")).toBe(1);
      expect(readFd(sr)).toEqual(new Uint8Array([0x73]));
      expectClean();
    }
  } finally {
    closeFd(sr);
    closeFd(sw);
  }
  expect(dups + refused).toBeGreaterThanOrEqual(100);
  expect(dups).toBeGreaterThan(0);
  expect(refused).toBeGreaterThan(0);
  expectClean();
}, 30_000);

test("I4 2 conns x 10,000 x 512-byte echo request/response: zero errors, exact byte counts", async () => {
  const ln = listen({ port: 0, hostname: "127.0.0.1" });
  const port = (ln.addr as IpAddr).port;
  const served: Promise<number>[] = [];
  const server = (async () => {
    for await (const c of ln) {
      conns.push(c);
      served.push(
        (async () => {
          const n = await eachChunk(c, 4096, (chunk) => c.write(chunk));
          await c.close();
          return n;
        })(),
      );
    }
  })();
  const ROUNDS = 10_000;
  const SIZE = 512;
  const client = async (id: number) => {
    const c = await connect({ port, hostname: "127.0.0.1" });
    conns.push(c);
    const req = new Uint8Array(new ArrayBuffer(SIZE));
    const res = new Uint8Array(new ArrayBuffer(SIZE));
    let bytes = 0;
    let mismatches = 0;
    for (let i = 0; i < ROUNDS; i++) {
      for (let j = 0; j < SIZE; j++) req[j] = (i + j * 31 + id * 7) & 0xff;
      await c.write(req);
      let got = 0;
      while (got < SIZE) {
        const r = await c.read(res.subarray(got));
        if (r === null) throw new Error(`EOF at round ${i}`);
        got += r;
      }
      bytes += got;
      if (Buffer.compare(req, res) !== 0) mismatches++;
    }
    await c.closeWrite();
    expect(await c.read(res)).toBeNull();
    await c.close();
    return { bytes, mismatches };
  };
  const results = await Promise.all([client(0), client(1)]);
  expect(results).toEqual([
    { bytes: ROUNDS * SIZE, mismatches: 0 },
    { bytes: ROUNDS * SIZE, mismatches: 0 },
  ]);
  await until(() => served.length === 2);
  expect(await Promise.all(served)).toEqual([ROUNDS * SIZE, ROUNDS * SIZE]);
  await ln.close();
  await server;
  expectClean();
}, 30_000);
