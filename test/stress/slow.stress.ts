// Slow peers: a paced reader drinking a 64 MiB transfer 4 KiB per ms, and a
// slowloris attack on the real HTTP example (examples/http.ts, a child
// process, with HTTP_READ_TIMEOUT_MS=1000). Run: bun test ./test/stress/slow.stress.ts
//
// E13 in deadline.stress.ts already cuts 1,000 tricklers off a line server
// built inside the test; this one attacks the example server as shipped,
// through its own parser and its 408 path, and watches its descriptors.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Conn, connect, type IpAddr, listen, NetError, netpollReady, runtimeStats } from "../../src/index.ts";
import { cleanupsAfterEach, closeAfterEach, expectClean, repeatUntil, roundTrips, sleep, type SpawnedServer, spawnServer, until, within } from "../_support/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const BUN = process.execPath;
const enc = new TextEncoder();
const dec = new TextDecoder();

// After each test: its clean-ups run (last first), then what it opened is closed.
const cleanups = cleanupsAfterEach();
const keep = closeAfterEach();

function fdCount(pid: number | "self"): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

function rssBytes(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return Number(m![1]) * 1024;
}

// ---------------------------------------------------------------- paced reader

test("64 MiB to a reader that takes 4 KiB per ms arrives intact (SHA-256), the writer parks instead of buffering: RSS growth < 64 MiB beyond the payload", async () => {
  const SIZE = 64 << 20;
  const RATE = 4096; // bytes per ms
  await netpollReady();
  const fdBase = fdCount("self");
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const [c, s] = await Promise.all([connect({ hostname: "127.0.0.1", port: (ln.addr as IpAddr).port }), ln.accept()]);
  keep(c);
  keep(s);

  const payload = new Uint8Array(new ArrayBuffer(SIZE));
  for (let off = 0; off < SIZE; off += 65536) crypto.getRandomValues(payload.subarray(off, off + 65536));
  const want = new Bun.CryptoHasher("sha256").update(payload).digest("hex");
  Bun.gc(true);
  const rss0 = rssBytes(); // payload allocated and touched
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes())), 100);
  cleanups.push(() => clearInterval(sampler));
  const loop0 = runtimeStats().loop;

  const t0 = performance.now();
  // One write of the whole 64 MiB: it parks each time the socket buffer is full.
  const w = s.write(payload);
  const h = new Bun.CryptoHasher("sha256");
  const buf = new Uint8Array(new ArrayBuffer(RATE));
  let got = 0;
  let reads = 0;
  while (got < SIZE) {
    const n = await c.read(buf);
    if (n === null) throw new Error(`EOF after ${got} bytes`);
    h.update(buf.subarray(0, n));
    got += n;
    reads++;
    const ahead = got / RATE - (performance.now() - t0);
    if (ahead >= 1) await sleep(ahead);
  }
  const written = await within(w, 5000, "writer");
  const ms = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes());
  const loop1 = runtimeStats().loop;
  const got256 = h.digest("hex");
  const eof = await (async () => {
    await s.closeWrite();
    return c.read(buf);
  })();

  expect({ written, got, hashEqual: got256 === want, eof }).toEqual({ written: SIZE, got: SIZE, hashEqual: true, eof: null });
  expect(ms).toBeGreaterThanOrEqual(SIZE / RATE - 50); // the reader really was that slow
  expect(ms).toBeLessThan(SIZE / RATE + 15_000);
  const growth = peak - rss0;
  expect(growth).toBeLessThan(64 << 20);
  await c.close();
  await s.close();
  await ln.close();
  await sleep(10);
  expect(fdCount("self")).toBe(fdBase);
  expectClean();
  console.log(
    JSON.stringify({
      bytes: SIZE,
      ms: Math.round(ms),
      reads,
      rssBaseMiB: +(rss0 / 2 ** 20).toFixed(1),
      rssGrowthMiB: +(growth / 2 ** 20).toFixed(1),
      loopEvents: loop1.events - loop0.events,
      drains: loop1.drains - loop0.drains,
    }),
  );
}, 60_000);

// ---------------------------------------------------------------- slowloris on examples/http.ts

function startHttp(env: Record<string, string>): Promise<SpawnedServer> {
  return spawnServer([BUN, "examples/http.ts"], {
    cwd: ROOT,
    env: { PORT: "0", HOST: "127.0.0.1", ...env },
    ready: /listening on http:\/\/127\.0\.0\.1:(\d+)\n/,
    ms: 10_000,
    name: "http example",
  });
}

test("slowloris on examples/http.ts (HTTP_READ_TIMEOUT_MS=1000): 200 clients trickling 1 byte/100 ms each get a 408 within 1 s + 250 ms of their first byte; a normal client's round trip stays < 100 ms; the server's fds return to baseline", async () => {
  const N = 200;
  const REQUEST_MS = 1000;
  const srv = await startHttp({ HTTP_READ_TIMEOUT_MS: String(REQUEST_MS) });
  cleanups.push(async () => {
    if (srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill("SIGKILL");
    await srv.proc.exited;
  });
  const port = srv.port;
  await netpollReady();
  await sleep(50);
  const serverFdBase = fdCount(srv.proc.pid);

  // The normal client: GET / on one keep-alive conn every 50 ms.
  const good = keep(await connect({ hostname: "127.0.0.1", port }));
  const goodErrors: string[] = [];
  const get = enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const goodBuf = new Uint8Array(new ArrayBuffer(4096));
  const goodClient = roundTrips(async () => {
    await good.write(get);
    let text = "";
    // "Hello, World!" is the body; the response is complete when it is in.
    while (!text.endsWith("Hello, World!")) {
      const n = await good.read(goodBuf);
      if (n === null) {
        goodErrors.push(`EOF after ${JSON.stringify(text)}`);
        return false;
      }
      text += dec.decode(goodBuf.subarray(0, n));
    }
    if (!text.startsWith("HTTP/1.1 200 ")) goodErrors.push(text.slice(0, 40));
    return true;
  });

  // The tricklers: all connected first, then one byte each per 100 ms.
  const request = enc.encode(`GET /${"x".repeat(50)} HTTP/1.1\r\nHost: x\r\nX-Pad: ${"p".repeat(100)}\r\n\r\n`);
  interface Trickler {
    conn: Conn;
    sent: number;
    firstByteAt: number;
    cutAt: number;
    response: string;
    end: string;
  }
  const tricklers: Trickler[] = [];
  for (let i = 0; i < N; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, N - i) }, () => connect({ hostname: "127.0.0.1", port })));
    for (const conn of batch) tricklers.push({ conn: keep(conn), sent: 0, firstByteAt: -1, cutAt: -1, response: "", end: "" });
  }
  await sleep(50);
  const serverFdsHeld = fdCount(srv.proc.pid);
  // Each trickler's reader: the response, then EOF.
  const readers = tricklers.map(async (t) => {
    const buf = new Uint8Array(new ArrayBuffer(1024));
    try {
      for (;;) {
        const n = await t.conn.read(buf);
        if (n === null) {
          t.end = "EOF";
          return;
        }
        if (t.cutAt < 0) t.cutAt = performance.now();
        t.response += dec.decode(buf.subarray(0, n));
      }
    } catch (e) {
      t.end = e instanceof NetError ? e.code : String(e);
      if (t.cutAt < 0) t.cutAt = performance.now();
    }
  });
  const one = new Uint8Array(1);
  const writeErrors: string[] = [];
  const trickle = () => {
    for (const t of tricklers) {
      if (t.cutAt >= 0 || t.sent >= request.length || t.conn.closed) continue;
      one[0] = request[t.sent]!;
      const at = performance.now();
      t.conn.write(one.slice()).then(
        () => {
          if (t.firstByteAt < 0) t.firstByteAt = at;
        },
        (e) => {
          if (t.cutAt < 0) writeErrors.push(e instanceof NetError ? e.code : String(e));
        },
      );
      t.sent++;
    }
  };
  await repeatUntil(Promise.all(readers), trickle, { every: 100, ms: 5000, label: "tricklers cut off" });
  await sleep(200); // the good client keeps going after the cut-offs
  await goodClient.stop(2000, "good client loop");
  const { rtts } = goodClient;

  const lives = tricklers.map((t) => t.cutAt - t.firstByteAt);
  const statuses: Record<string, number> = {};
  for (const t of tricklers) {
    const k = `${t.response.split("\r\n")[0]} / ${t.end}`;
    statuses[k] = (statuses[k] ?? 0) + 1;
  }
  const early = lives.filter((ms) => ms < REQUEST_MS - 5).length;
  const late = lives.filter((ms) => ms > REQUEST_MS + 250).length;
  const bytesSent = tricklers.reduce((a, t) => a + t.sent, 0);

  // Tear down our side; the server closes its side after its linger.
  await Promise.all(tricklers.map((t) => t.conn.close()));
  await good.close();
  await within(until(() => fdCount(srv.proc.pid) === serverFdBase, 5000, "server fds back to baseline"), 6000, "server fds");
  const serverFdsAfter = fdCount(srv.proc.pid);
  srv.proc.kill("SIGTERM");
  const exit = await within(srv.proc.exited, 7000, "server exit");

  expect(statuses).toEqual({ "HTTP/1.1 408 Request Timeout / EOF": N });
  expect({ early, late }).toEqual({ early: 0, late: 0 });
  expect(writeErrors).toEqual([]);
  expect(goodErrors).toEqual([]);
  expect(rtts.length).toBeGreaterThanOrEqual(15);
  expect(Math.max(...rtts)).toBeLessThan(100);
  expect(serverFdsHeld - serverFdBase).toBe(N + 1); // the tricklers and the good client
  expect(serverFdsAfter).toBe(serverFdBase);
  expect(exit).toBe(0);
  expect(srv.output()).not.toMatch(/bug|connection failed/);
  expectClean();
  const sorted = [...lives].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      tricklers: N,
      bytesTrickled: bytesSent,
      lifeMs: { min: Math.round(sorted[0]!), p50: Math.round(sorted[N >> 1]!), max: Math.round(sorted[N - 1]!) },
      goodRoundTrips: rtts.length,
      goodRttMaxMs: +Math.max(...rtts).toFixed(2),
      serverFds: { base: serverFdBase, held: serverFdsHeld, after: serverFdsAfter },
    }),
  );
}, 30_000);
