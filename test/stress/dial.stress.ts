// Stress conformance B7 and N1: many dials, concurrent accept loops.
// Run: bun test ./test/stress/dial.stress.ts
import { describe, expect, test } from "bun:test";
import * as os from "node:os";
import { C } from "../../ffi/platform.ts";
import {
  ClosedError,
  type Conn,
  connect,
  DeadlineExceededError,
  type IpAddr,
  type Listener,
  listen,
  NetError,
  runtimeStats,
} from "../../src/index.ts";
import { getIntOpt } from "../../src/net/sys.ts";
import { closeAfterEach, expectClean, sleep } from "../_support/index.ts";

const keep = closeAfterEach();
async function done(x: Conn | Listener): Promise<void> {
  keep.forget(x);
  await x.close();
}

function port(x: { addr?: unknown; localAddr?: unknown; remoteAddr?: unknown }, which: "addr" | "localAddr" | "remoteAddr"): number {
  return (x[which] as IpAddr).port;
}

describe("dial stress", () => {
  test(
    "B7 10,000 dials (concurrency 2×CPU, 50 ms timeout) to a read-1-byte-and-close server: every resolved conn writes 1 byte, SO_ERROR 0, no ENOTCONN",
    async () => {
      const ln = keep(listen({ port: 0, hostname: "127.0.0.1", backlog: 4096 }));
      const p = port(ln, "addr");
      const server = { oneByte: 0, eof: 0, reset: 0, other: [] as unknown[] };
      const handlers: Promise<void>[] = [];
      const acceptLoop = (async () => {
        for (;;) {
          let s: Conn;
          try {
            s = await ln.accept();
          } catch (e) {
            if (e instanceof ClosedError) return;
            throw e;
          }
          handlers.push(
            (async () => {
              const one = new Uint8Array(new ArrayBuffer(1));
              try {
                const n = await s.read(one);
                if (n === 1) server.oneByte++;
                else if (n === null) server.eof++;
                else server.other.push(`read ${n}`);
              } catch (e) {
                if (e instanceof NetError && e.code === "ECONNRESET") server.reset++;
                else server.other.push(e);
              } finally {
                await s.close();
              }
            })(),
          );
        }
      })();

      const TOTAL = 10_000;
      const workers = 2 * Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
      const stats = { ok: 0, timeouts: 0, dialErrors: [] as unknown[], writeErrors: [] as unknown[], soErrors: [] as number[] };
      let next = 0;
      const one = new Uint8Array([0x2a]);
      const worker = async () => {
        while (next < TOTAL) {
          next++;
          let c: Conn;
          try {
            c = await connect({ port: p, hostname: "127.0.0.1", timeout: 50 });
          } catch (e) {
            if (e instanceof DeadlineExceededError) stats.timeouts++;
            else stats.dialErrors.push(e);
            continue;
          }
          const so = getIntOpt(c.fd, C.SOL_SOCKET, C.SO_ERROR);
          if (so !== 0) stats.soErrors.push(so);
          try {
            expect(await c.write(one)).toBe(1);
            stats.ok++;
          } catch (e) {
            stats.writeErrors.push(e);
          } finally {
            await c.close();
          }
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: workers }, worker));
      const elapsed = performance.now() - t0;
      // Let the server drain the handshakes already queued.
      for (let i = 0; i < 200 && server.oneByte < stats.ok; i++) await sleep(5);
      await ln.close();
      await acceptLoop;
      await Promise.all(handlers);
      console.log(`B7: ${TOTAL} dials in ${elapsed.toFixed(0)} ms with ${workers} workers:`, {
        ok: stats.ok,
        timeouts: stats.timeouts,
        server,
      });
      expect(stats.writeErrors).toEqual([]);
      expect(stats.soErrors).toEqual([]);
      expect(stats.dialErrors).toEqual([]);
      expect(stats.ok + stats.timeouts).toBe(TOTAL);
      expect(stats.timeouts).toBeLessThan(TOTAL / 20); // Go tolerates dial failures; a few stalls under load are fine
      expect(server.other).toEqual([]);
      expect(server.oneByte).toBe(stats.ok);
      expectClean();
    },
    60_000,
  );

  test("N1 concurrent accepts are queued FIFO: each conn goes to exactly one acceptor, in arrival order", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    const p = port(ln, "addr");
    const accs = [0, 1, 2, 3, 4].map(() => ln.accept());
    const got = new Map<number, number>(); // acceptor → remote port
    accs.forEach((a, i) =>
      a.then((s) => {
        keep(s);
        got.set(i, port(s, "remoteAddr"));
      }),
    );
    await sleep(5);
    expect(runtimeStats().parked).toBe(1); // one parked on the pollDesc, four queued behind it
    const clients: Conn[] = [];
    for (let i = 0; i < 5; i++) {
      clients.push(keep(await connect({ port: p, hostname: "127.0.0.1" })));
      // One conn wakes one acceptor, and it is the oldest still waiting.
      for (let k = 0; k < 100 && got.size < i + 1; k++) await sleep(1);
      expect([...got.keys()]).toEqual([...Array(i + 1).keys()]);
      expect(got.get(i)).toBe(port(clients[i]!, "localAddr"));
    }
    const servers = await Promise.all(accs);
    for (const x of [...clients, ...servers]) await done(x);
    await done(ln);
    expectClean();
  });

  test("N1 10 concurrent accept loops and 100 dials (200 ms timeout): ≤11 failures, each conn to exactly one acceptor, close ends every loop", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    const p = port(ln, "addr");
    const N = 10;
    const owner = new Map<number, number[]>(); // client port → acceptors that got it
    const order: number[] = []; // acceptor of each accepted conn, in accept order
    const ends: unknown[] = [];
    const loops = Array.from({ length: N }, async (_, id) => {
      for (;;) {
        let s: Conn;
        try {
          s = await ln.accept();
        } catch (e) {
          ends.push(e);
          return;
        }
        keep(s);
        const rp = port(s, "remoteAddr");
        owner.set(rp, [...(owner.get(rp) ?? []), id]);
        order.push(id);
        await done(s);
      }
    });
    await sleep(5);
    const attempts = 10 * N;
    let fails = 0;
    const dialed: number[] = [];
    for (let i = 0; i < attempts; i++) {
      try {
        const c = keep(await connect({ port: p, hostname: "127.0.0.1", timeout: 200 }));
        dialed.push(port(c, "localAddr"));
        await done(c);
      } catch {
        fails++;
      }
    }
    for (let i = 0; i < 100 && order.length < dialed.length; i++) await sleep(2);
    const t0 = performance.now();
    await done(ln);
    await Promise.all(loops);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(fails).toBeLessThanOrEqual(attempts / 9);
    expect(ends.length).toBe(N);
    for (const e of ends) expect(e).toBeInstanceOf(ClosedError);
    // Every dialed conn was accepted exactly once, by exactly one loop.
    expect([...owner.keys()].sort()).toEqual(dialed.slice().sort());
    for (const ids of owner.values()) expect(ids.length).toBe(1);
    // FIFO: each loop re-queues behind the others, so conns go round-robin.
    expect(order).toEqual(order.map((_, i) => i % N));
    expectClean();
  });
});
