// D: half-close (CONFORMANCE.md section D; D7 is in test/stress/readwrite.stress.ts).
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import { ClosedError, DeadlineExceededError, NetError, runtimeStats } from "../../src/index.ts";
import { connPairs, expectClean, readToEof, rejection, type Settlement, settlement, sleep, testOn, until } from "../_support/index.ts";

const { pair, dir } = connPairs();

/** After closeRead: the read r has ended with EOF (or an error), and nothing is left parked. */
function expectReadEnded(r: Settlement<number | null>): void {
  expect(r.settled).toBe(true);
  if (r.ok) expect(r.value).toBeNull();
  else expect(r.error).toBeInstanceOf(NetError);
  expect(runtimeStats().parked).toBe(0);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

for (const kind of ["tcp", "unix"] as const) {
  testOn(`D1 after closeWrite the peer reads EOF, local reads still work, the next local write rejects EPIPE (${kind})`, () => pair(kind), async ([a, b]) => {
    await a.closeWrite();
    const buf = new Uint8Array(16);
    expect(await b.read(buf)).toBeNull();
    expect(await b.write(new Uint8Array([5, 6]))).toBe(2);
    expect(await a.read(buf)).toBe(2);
    expect([...buf.subarray(0, 2)]).toEqual([5, 6]);
    const e = (await rejection(a.write(new Uint8Array([1])))) as NetError;
    expect(e).toBeInstanceOf(NetError);
    expect(e).not.toBeInstanceOf(ClosedError);
    expect(e.code).toBe("EPIPE");
    expect(e.op).toBe("write");
    expect(e.bytesWritten).toBe(0);
    expect(a.closed).toBe(false);
  });

  testOn(`D2 after closeRead a new read returns EOF at once (${kind})`, () => pair(kind), async ([a]) => {
    await a.closeRead();
    const r = settlement(a.read(new Uint8Array(16)));
    await sleep(20);
    expectReadEnded(r);
  });

  testOn(`D2 closeRead wakes a parked read with EOF (or an error); it never stays blocked (${kind})`, () => pair(kind), async ([a]) => {
    const r = settlement(a.read(new Uint8Array(16)));
    await until(() => runtimeStats().parked === 1);
    await a.closeRead();
    await until(() => r.settled, 500);
    expectReadEnded(r);
  });

  testOn(`D3 write("TEST") then closeWrite() at once: both resolve and the peer gets TEST before EOF (${kind})`, () => pair(kind), async ([a, b]) => {
    const w = a.write(enc.encode("TEST"));
    const s = a.closeWrite();
    expect(await w).toBe(4);
    expect(await s).toBeUndefined();
    expect(dec.decode(await readToEof(b))).toBe("TEST");
  });

  testOn(`D4 a repeated closeWrite is a no-op or an error and leaves no pending op (${kind})`, () => pair(kind), async ([a, b]) => {
    await a.closeWrite();
    for (let i = 0; i < 2; i++) {
      try {
        await a.closeWrite();
      } catch (e) {
        expect(e).toBeInstanceOf(NetError);
        expect(e).not.toBeInstanceOf(ClosedError);
      }
    }
    const s = runtimeStats();
    expect({ parked: s.parked, timers: s.timers, holds: s.holds }).toEqual({ parked: 0, timers: 0, holds: 0 });
    // The peer saw one EOF and can still talk back.
    expect(await b.read(new Uint8Array(4))).toBeNull();
    await b.write(new Uint8Array([3]));
    const buf = new Uint8Array(4);
    expect(await a.read(buf)).toBe(1);
    expect(buf[0]).toBe(3);
  });

  testOn(`D5 receiving EOF does not auto-close: the conn stays writable until close (${kind})`, () => pair(kind), async ([a, b]) => {
    await b.closeWrite();
    expect(await a.read(new Uint8Array(8))).toBeNull();
    await sleep(10);
    expect(a.closed).toBe(false);
    expect(await a.write(enc.encode("still here"))).toBe(10);
    await a.closeWrite();
    expect(dec.decode(await readToEof(b))).toBe("still here");
  });
}

test("D4 a process that calls closeWrite twice then closes exits on its own", async () => {
  const src = `
    import { connect, listen } from ${JSON.stringify(`${import.meta.dir}/../../src/index.ts`)};
    const ln = listen({ port: 0, hostname: "127.0.0.1" });
    const [a, b] = await Promise.all([connect({ port: ln.addr.port, hostname: "127.0.0.1" }), ln.accept()]);
    await ln.close();
    await a.closeWrite();
    await a.closeWrite().catch(() => {});
    await b.close();
    await a.close();
    console.log("done");
  `;
  const file = `${dir()}/d4.ts`;
  fs.writeFileSync(file, src);
  const p = Bun.spawn([process.execPath, file], { stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => p.kill(), 5000);
  const code = await p.exited;
  clearTimeout(killer);
  expect((await new Response(p.stdout).text()).trim()).toBe("done");
  expect(p.signalCode).toBeNull();
  expect(code).toBe(0);
  expectClean();
}, 8000);

testOn("D6 peer closeWrites and stops reading: a write parked on the full buffer ends by a 5 ms deadline, without spinning", () => pair("tcp"), async ([a, b]) => {
  await b.closeWrite();
  expect(await a.read(new Uint8Array(8))).toBeNull();
  const big = new Uint8Array(new ArrayBuffer(64 << 20)); // far more than both socket buffers
  const w = settlement(a.write(big));
  await until(() => runtimeStats().parked === 1, 1500);
  const s0 = runtimeStats().loop;
  const t0 = performance.now();
  a.setWriteDeadline(Date.now() + 5);
  await until(() => w.settled, 1000);
  const s1 = runtimeStats().loop;
  const e = w.error as DeadlineExceededError;
  expect(e).toBeInstanceOf(DeadlineExceededError);
  expect(e.timeout).toBe(true);
  expect(e.message).toContain("i/o timeout");
  expect(e.bytesWritten).toBeGreaterThan(0);
  expect(e.bytesWritten).toBeLessThan(big.length);
  expect(w.at - t0).toBeGreaterThanOrEqual(3);
  expect(w.at - t0).toBeLessThan(500);
  // No EAGAIN spin while parked: a handful of events at most.
  expect(s1.events - s0.events).toBeLessThanOrEqual(20);
  // Later writes fail at once with Timeout and move nothing.
  const e2 = (await rejection(a.write(new Uint8Array(10)))) as DeadlineExceededError;
  expect(e2).toBeInstanceOf(DeadlineExceededError);
  expect(e2.bytesWritten).toBe(0);
});
