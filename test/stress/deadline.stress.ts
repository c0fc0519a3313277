// Deadline stress (CONFORMANCE E8, E13). Run: bun test ./test/stress/deadline.stress.ts
import { expect, test } from "bun:test";
import { ClosedError, type Conn, connect, DeadlineExceededError, type IpAddr, listen, NetError, runtimeStats } from "../../src/index.ts";
import { closeAfterEach, closeAll, expectClean, repeatUntil, roundTrips, sleep, within } from "../_support/index.ts";

const enc = new TextEncoder();

const keep = closeAfterEach();

test("E8 deadlines from 1 ns to 1 s (19 values x 3 runs) end a copy loop from a never-ending writer in Timeout", async () => {
  const NS = 1e-6; // ms
  const US = 1e-3;
  const timeouts = [
    1 * NS, 2 * NS, 5 * NS, 50 * NS, 100 * NS, 200 * NS, 500 * NS, 750 * NS,
    1 * US, 5 * US, 25 * US, 250 * US, 500 * US,
    1, 5, 100, 250, 500, 1000,
  ];
  expect(timeouts.length).toBe(19);
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const port = (ln.addr as IpAddr).port;
  const chunk = new Uint8Array(new ArrayBuffer(16 * 1024)).fill(0x61);
  const failures: string[] = [];
  for (const timeout of timeouts) {
    for (let run = 0; run < 3; run++) {
      const label = `timeout ${timeout} ms run ${run}`;
      const [c, s] = await Promise.all([connect({ hostname: "127.0.0.1", port }), ln.accept()]);
      keep(c);
      keep(s);
      // The never-ending writer: stops only on an error.
      const writer = (async () => {
        for (;;) {
          try {
            await s.write(chunk);
          } catch (e) {
            return e;
          }
        }
      })();
      const t0 = performance.now();
      c.setDeadline(Date.now() + timeout);
      const buf = new Uint8Array(new ArrayBuffer(64 * 1024));
      let copied = 0;
      const copy = (async () => {
        for (;;) {
          const n = await c.read(buf); // throws at the deadline
          if (n === null) return new Error("unexpected EOF");
          copied += n;
        }
      })().catch((e) => e);
      const err = await within(copy, 5000, label);
      const ms = performance.now() - t0;
      if (!(err instanceof DeadlineExceededError)) failures.push(`${label}: ended with ${String(err)}`);
      if (ms > timeout + 1000) failures.push(`${label}: took ${ms.toFixed(1)} ms after ${copied} bytes`);
      await c.close();
      const werr = await within(writer, 5000, `${label} writer`);
      // The writer ends because the reader went away (reset / broken pipe), never by a timeout.
      if (!(werr instanceof NetError) || werr instanceof DeadlineExceededError || werr instanceof ClosedError) {
        failures.push(`${label}: writer ended with ${String(werr)}`);
      }
      await s.close();
    }
  }
  expect(failures).toEqual([]);
  await ln.close();
  expectClean();
}, 30_000);

test("E13 slowloris: 1,000 tricklers are cut off by a 1 s request deadline within 1.25 s; a good client's round trip stays < 100 ms", async () => {
  const N = 1000;
  const REQUEST_MS = 1000;
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1", backlog: 4096 }));
  const port = (ln.addr as IpAddr).port;

  // Server: one request per line; each request must arrive within REQUEST_MS.
  let serverTimeouts = 0;
  const serverOther: string[] = [];
  const handlers: Promise<void>[] = [];
  const handle = async (conn: Conn) => {
    const buf = new Uint8Array(new ArrayBuffer(1024));
    try {
      for (;;) {
        conn.setReadDeadline(Date.now() + REQUEST_MS);
        let line = false;
        while (!line) {
          const n = await conn.read(buf);
          if (n === null) return;
          for (let i = 0; i < n; i++) if (buf[i] === 10) line = true;
        }
        await conn.write(enc.encode("pong\n"));
      }
    } catch (e) {
      if (e instanceof DeadlineExceededError) serverTimeouts++;
      else if (!(e instanceof NetError && (e.code === "ECONNRESET" || e.code === "EPIPE"))) serverOther.push(String(e));
    } finally {
      if (!conn.closed) await conn.close();
    }
  };
  const acceptLoop = (async () => {
    for await (const conn of ln) handlers.push(handle(conn));
  })();

  // The well-behaved client.
  const good = keep(await connect({ hostname: "127.0.0.1", port }));
  const pongBuf = new Uint8Array(16);
  const ping = enc.encode("ping\n");
  const goodClient = roundTrips(async () => {
    await good.write(ping);
    let got = 0;
    while (got < 5) {
      const n = await good.read(pongBuf.subarray(got));
      if (n === null) throw new Error("good client: EOF");
      got += n;
    }
    return true;
  });
  await sleep(100);

  // The tricklers: connect all, then 1 byte each per 100 ms until cut off.
  interface Trickler {
    conn: Conn;
    connectedAt: number;
    cutAt: number;
    how: string;
  }
  const tricklers: Trickler[] = [];
  const cutWaits: Promise<void>[] = [];
  for (let i = 0; i < N; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, N - i) }, () => connect({ hostname: "127.0.0.1", port })),
    );
    for (const conn of batch) {
      keep(conn);
      const t: Trickler = { conn, connectedAt: performance.now(), cutAt: -1, how: "" };
      tricklers.push(t);
      // A parked read notices the cut-off: EOF or a reset.
      cutWaits.push(
        conn.read(new Uint8Array(16)).then(
          (n) => {
            if (t.cutAt < 0) {
              t.cutAt = performance.now();
              t.how = n === null ? "eof" : `data ${n}`;
            }
          },
          (e) => {
            if (t.cutAt < 0) {
              t.cutAt = performance.now();
              t.how = e instanceof NetError ? e.code : String(e);
            }
          },
        ),
      );
    }
  }
  const one = new Uint8Array([0x61]);
  const trickle = () => {
    for (const t of tricklers) {
      if (t.cutAt >= 0 || t.conn.closed) continue;
      t.conn.write(one).catch((e) => {
        if (t.cutAt < 0) {
          t.cutAt = performance.now();
          t.how = `write ${e instanceof NetError ? e.code : String(e)}`;
        }
      });
    }
  };
  await repeatUntil(Promise.all(cutWaits), trickle, { every: 100, ms: 5000, label: "tricklers cut off" });
  await sleep(200); // the good client keeps going after the cut-offs
  await goodClient.stop(2000, "good client loop");
  const { rtts } = goodClient;

  const lives = tricklers.map((t) => t.cutAt - t.connectedAt);
  const early = lives.filter((ms) => ms < REQUEST_MS - 50).length;
  const late = lives.filter((ms) => ms > REQUEST_MS + 250).length;
  const hows = new Set(tricklers.map((t) => t.how.replace(/^write /, "")));
  expect({ early, late, maxLife: Math.round(Math.max(...lives)) < REQUEST_MS + 250 }).toEqual({ early: 0, late: 0, maxLife: true });
  for (const h of hows) expect(["eof", "ECONNRESET", "EPIPE"]).toContain(h);
  expect(rtts.length).toBeGreaterThanOrEqual(15);
  expect(Math.max(...rtts)).toBeLessThan(100);

  // Tear down: clients close, the server's handlers see EOF and close their side.
  await closeAll(...tricklers.map((t) => t.conn), good);
  await within(Promise.all(handlers), 5000, "server handlers");
  expect(serverTimeouts).toBe(N);
  expect(serverOther).toEqual([]);
  await ln.close();
  await acceptLoop;
  expect(runtimeStats().timers).toBe(0);
  expectClean();
}, 30_000);
