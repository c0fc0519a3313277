// Faults: peer resets, descriptor exhaustion, close races, signals and
// deadline storms. Each scenario counts its outcomes exactly and checks the
// runtime's resources before and after. Run: bun test ./test/stress/faults.stress.ts
import { beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { ClosedError, type Conn, connect, DeadlineExceededError, type IpAddr, listen, type Listener, NetError, netpollReady, runtimeStats } from "../../src/index.ts";
import { cleanupsAfterEach, closeAfterEach, closeFd, eachChunk, expectClean, pairOn, pipe, sleep, until, within } from "../_support/index.ts";

const BUN = process.execPath;

// ---------------------------------------------------------------- helpers

// After each test: its clean-ups run (last first), then what it opened is closed.
const cleanups = cleanupsAfterEach();
const keep = closeAfterEach();

// Any SIGPIPE is counted instead of ignored: a write path without
// MSG_NOSIGNAL would show up here (checked by a control in the reset test).
// SIGUSR1 is counted for the signal test. Both handlers stay installed for
// the life of the process on purpose: in Bun, removing the last listener
// resets the signal to SIG_DFL (not to the ignore Bun starts with), and the
// default action of both is to kill the process (and the whole test run).
let sigpipes = 0;
let sigusr1s = 0;
beforeAll(async () => {
  process.on("SIGPIPE", () => sigpipes++);
  process.on("SIGUSR1", () => sigusr1s++);
  await netpollReady();
});

function procFds(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

function port(ln: Listener): number {
  return (ln.addr as IpAddr).port;
}

/** A connected pair over ln: [dialer, accepted]. */
const pair = (ln: Listener) => pairOn(ln, keep);

/** Reads exactly buf.length bytes (or throws on EOF). */
async function readFull(c: Conn, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const n = await c.read(buf.subarray(off));
    if (n === null) throw new Error(`EOF after ${off} of ${buf.length} bytes`);
    off += n;
  }
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(new ArrayBuffer(n));
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(b.subarray(off, Math.min(n, off + 65536)));
  return b;
}

function sha256(...parts: Uint8Array[]): string {
  const h = new Bun.CryptoHasher("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

interface Tracked {
  readonly label: string;
  settled: boolean;
  ok: boolean;
  value: unknown;
  error: unknown;
}

/**
 * Tracks promises' settlements: every tracked promise must settle (exactly
 * once), and none may settle after `fence()` (called when close() returned).
 */
class Settlements {
  readonly all: Tracked[] = [];
  /** Labels of the promises that settled after fence(). */
  readonly late: string[] = [];
  #fenced = false;

  track<T>(label: string, p: Promise<T>): Tracked {
    const t: Tracked = { label, settled: false, ok: false, value: undefined, error: undefined };
    this.all.push(t);
    const done = (ok: boolean, v: unknown) => {
      if (t.settled) throw new Error(`${label} settled twice`);
      t.settled = true;
      t.ok = ok;
      if (ok) t.value = v;
      else t.error = v;
      if (this.#fenced) this.late.push(label);
    };
    p.then(
      (v) => done(true, v),
      (e) => done(false, e),
    );
    return t;
  }

  /** Marks "close() has returned": any settlement after this is late. */
  fence(): void {
    this.#fenced = true;
  }

  get pending(): string[] {
    return this.all.filter((t) => !t.settled).map((t) => t.label);
  }
}

/** Error class and code, for exact tallies. */
function kind(e: unknown): string {
  if (e instanceof ClosedError) return "Closed";
  if (e instanceof DeadlineExceededError) return "Deadline";
  if (e instanceof NetError) return e.code;
  return `other: ${String(e)}`;
}

function tally(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------- resets

test("resets: peers that RST (SO_LINGER 0) mid-write and mid-read give ECONNRESET/EPIPE NetErrors, never EOF, no SIGPIPE; a concurrent echo is undisturbed", async () => {
  const ROUNDS = 20;
  const fdBase = procFds();
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const echoLn = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const sigpipe0 = sigpipes;

  // The healthy connection: 8 MiB of random bytes echoed back, checked exactly,
  // running the whole time the resets happen.
  const ECHO_BYTES = 8 << 20;
  const echoPayload = randomBytes(ECHO_BYTES);
  const healthy = (async () => {
    const [hc, hs] = await pair(echoLn);
    const server = (async () => {
      for await (const chunk of hs) await hs.write(chunk);
      await hs.close();
    })();
    const writer = (async () => {
      for (let off = 0; off < ECHO_BYTES; off += 16384) {
        await hc.write(echoPayload.subarray(off, off + 16384));
        if ((off & 0x3ffff) === 0) await sleep(1); // spread it over the reset rounds
      }
    })();
    const back = new Uint8Array(new ArrayBuffer(ECHO_BYTES));
    await readFull(hc, back);
    await writer;
    await hc.closeWrite();
    const tail = await hc.read(new Uint8Array(16));
    await server;
    await hc.close();
    return { bytes: back.length, equal: sha256(back) === sha256(echoPayload), tail };
  })();

  const BIG = 32 << 20;
  const big = new Uint8Array(new ArrayBuffer(BIG)).fill(0x5a);
  const results = { writeVictim: [] as string[], readVictim: [] as string[], bothVictim: [] as string[], dataThenReset: [] as string[] };
  const bytesWritten: number[] = [];
  const buf = new Uint8Array(new ArrayBuffer(64 * 1024));

  for (let round = 0; round < ROUNDS; round++) {
    // 1. Mid-write: s writes 32 MiB; c reads a little, then resets.
    {
      const [c, s] = await pair(ln);
      const w = s.write(big).then(
        () => "resolved",
        (e) => {
          bytesWritten.push((e as NetError).bytesWritten);
          return kind(e);
        },
      );
      let got = 0;
      while (got < 256 * 1024) got += (await c.read(buf)) ?? 0;
      c.setLinger(0);
      await c.close();
      results.writeVictim.push(await within(w, 5000, "write victim"));
      await s.close();
    }
    // 2. Mid-read: s has read part of a message and is parked for the rest.
    {
      const [c, s] = await pair(ln);
      await c.write(new Uint8Array(100).fill(1));
      await readFull(s, new Uint8Array(100));
      const r = s.read(buf).then(
        (n) => (n === null ? "EOF" : `data ${n}`),
        (e) => kind(e),
      );
      await until(() => runtimeStats().parked >= 1, 1000, "read parked");
      c.setLinger(0);
      await c.close();
      results.readVictim.push(await within(r, 5000, "read victim"));
      await s.close();
    }
    // 3. Both directions parked at once on the victim.
    {
      const [c, s] = await pair(ln);
      const r = s.read(buf).then(
        (n) => (n === null ? "EOF" : `data ${n}`),
        (e) => kind(e),
      );
      const w = s.write(big).then(
        () => "resolved",
        (e) => kind(e),
      );
      await sleep(2);
      c.setLinger(0);
      await c.close();
      results.bothVictim.push(`${await within(r, 5000, "both: read")}/${await within(w, 5000, "both: write")}`);
      await s.close();
    }
    // 4. Data in flight, then the reset: the reader drains data, then ECONNRESET (never EOF).
    {
      const [c, s] = await pair(ln);
      await c.write(new Uint8Array(50_000).fill(2));
      c.setLinger(0);
      await c.close();
      let end = "";
      for (;;) {
        try {
          const n = await within(s.read(buf), 5000, "data then reset");
          if (n === null) {
            end = "EOF";
            break;
          }
        } catch (e) {
          end = kind(e);
          break;
        }
      }
      results.dataThenReset.push(end);
      await s.close();
    }
  }

  const h = await within(healthy, 30_000, "healthy echo");
  expect(h).toEqual({ bytes: ECHO_BYTES, equal: true, tail: null });
  expect(tally(results.readVictim)).toEqual({ ECONNRESET: ROUNDS });
  expect(tally(results.dataThenReset)).toEqual({ ECONNRESET: ROUNDS });
  for (const k of Object.keys(tally(results.writeVictim))) expect(["ECONNRESET", "EPIPE"]).toContain(k);
  expect(results.writeVictim.length).toBe(ROUNDS);
  for (const b of bytesWritten) expect(b > 0 && b < BIG).toBe(true);
  for (const pairOutcome of results.bothVictim) expect(["ECONNRESET/ECONNRESET", "ECONNRESET/EPIPE"]).toContain(pairOutcome);
  expect(sigpipes - sigpipe0).toBe(0);

  // Control: the SIGPIPE counter works. A raw write(2) (no MSG_NOSIGNAL) to a
  // reset peer fails ECONNRESET once (the pending error), then EPIPE with a SIGPIPE.
  {
    const [c, s] = await pair(ln);
    c.setLinger(0);
    await c.close();
    await sleep(5);
    const one = new Uint8Array(new ArrayBuffer(8));
    let rawErr = 0;
    for (let i = 0; i < 5 && rawErr !== E.EPIPE; i++) if (sys.write(s.fd, one, 8) < 0) rawErr = errno();
    await sleep(10);
    expect(rawErr).toBe(E.EPIPE!);
    expect(sigpipes - sigpipe0).toBeGreaterThanOrEqual(1);
    await s.close();
  }

  await ln.close();
  await echoLn.close();
  await sleep(10);
  expect(procFds()).toBe(fdBase);
  expectClean();
  console.log(JSON.stringify({ rounds: ROUNDS, ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, tally(v)])), healthyEchoBytes: h.bytes }));
}, 60_000);

// ---------------------------------------------------------------- EMFILE

test("EMFILE: with the fd table full the listener backs off (no spin, accept stays pending), connect rejects EMFILE at once, and queued conns are served once fds free up", async () => {
  const Q = 5;
  const fdBase = procFds();
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1", backlog: 64 }));
  // Clients connected before the table fills: their handshakes complete into
  // the backlog and their requests wait in the server sockets' buffers.
  const clients = await Promise.all(Array.from({ length: Q }, () => connect({ hostname: "127.0.0.1", port: port(ln) })));
  clients.forEach(keep);
  await Promise.all(clients.map((c, i) => c.write(new TextEncoder().encode(`ping ${i}\n`))));
  await sleep(20);

  const lim = new BigUint64Array(new ArrayBuffer(16));
  expect(sys.getrlimit(C.RLIMIT_NOFILE, lim)).toBe(0);
  const saved = [lim[0]!, lim[1]!];
  const [pr, pw] = pipe();
  const fillers: number[] = [];
  const freeFillers = () => {
    for (const d of fillers.splice(0)) sys.close(d);
  };
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    freeFillers();
    lim[0] = saved[0]!;
    lim[1] = saved[1]!;
    sys.setrlimit(C.RLIMIT_NOFILE, lim);
  };
  cleanups.push(() => {
    restore();
    closeFd(pr);
    closeFd(pw);
  });

  const acceptOutcome = { settled: false, error: undefined as unknown };
  let accept1: Promise<Conn> | null = null;
  let connectErr: unknown = null;
  let connectMs = -1;
  let idle = { cpuMs: -1, drains: -1, events: -1 };
  let fillerCount = 0;
  try {
    const maxFd = Math.max(...fs.readdirSync("/proc/self/fd").map(Number));
    lim[0] = BigInt(maxFd + 64);
    expect(sys.setrlimit(C.RLIMIT_NOFILE, lim)).toBe(0);
    // Fill every free slot below the limit.
    for (;;) {
      const d = sys.dup(pr);
      if (d < 0) {
        expect(errno()).toBe(E.EMFILE!);
        break;
      }
      fillers.push(d);
      if (fillers.length > 2000) throw new Error("could not fill the fd table");
    }
    fillerCount = fillers.length;

    // No /proc reads from here on: they need a descriptor too.
    const t0 = performance.now();
    connectErr = await connect({ hostname: "127.0.0.1", port: port(ln) }).then(
      (c) => c,
      (e) => e,
    );
    connectMs = performance.now() - t0;

    const cpu0 = process.cpuUsage();
    const loop0 = runtimeStats().loop;
    accept1 = ln.accept();
    accept1.then(
      () => (acceptOutcome.settled = true),
      (e) => {
        acceptOutcome.settled = true;
        acceptOutcome.error = e;
      },
    );
    await sleep(1000);
    const cpu = process.cpuUsage(cpu0);
    const loop1 = runtimeStats().loop;
    idle = { cpuMs: (cpu.user + cpu.system) / 1000, drains: loop1.drains - loop0.drains, events: loop1.events - loop0.events };
    expect(acceptOutcome).toEqual({ settled: false, error: undefined });
  } finally {
    freeFillers();
  }
  const tFree = performance.now();
  // Freed: the pending accept gets the first queued conn within one back-off step (≤ 1 s).
  const first = keep(await within(accept1!, 2000, "accept after fds freed"));
  const recoverMs = performance.now() - tFree;
  const servers = [first];
  for (let i = 1; i < Q; i++) servers.push(keep(await within(ln.accept(), 1000, `accept ${i}`)));
  restore();

  // Serve the queued requests: each server conn answers its own line.
  const dec = new TextDecoder();
  await Promise.all(
    servers.map(async (s) => {
      const b = new Uint8Array(32);
      const n = (await s.read(b)) ?? 0;
      await s.write(new TextEncoder().encode(`pong ${dec.decode(b.subarray(5, n))}`));
    }),
  );
  const answers = await Promise.all(
    clients.map(async (c) => {
      const b = new Uint8Array(32);
      const n = (await within(c.read(b), 2000, "client answer")) ?? 0;
      return dec.decode(b.subarray(0, n));
    }),
  );
  expect(answers).toEqual(clients.map((_, i) => `pong ${i}\n`));

  expect(connectErr).toBeInstanceOf(NetError);
  expect((connectErr as NetError).code).toBe("EMFILE");
  expect(connectMs).toBeLessThan(50);
  expect(fillerCount).toBeGreaterThan(0);
  expect(idle.cpuMs).toBeLessThan(100); // < 10% of a core; a spinning accept burns ~100%
  expect(idle.drains).toBeLessThanOrEqual(10);
  expect(idle.events).toBeLessThanOrEqual(10);
  expect(recoverMs).toBeLessThan(1200);

  await Promise.all([...servers, ...clients].map((x) => x.close()));
  await ln.close();
  await sleep(10);
  expect(procFds()).toBe(fdBase + 2); // the test's pipe, closed in cleanup
  expectClean();
  console.log(JSON.stringify({ fillers: fillerCount, connectErr: (connectErr as NetError).code, connectMs: +connectMs.toFixed(2), idle, recoverMs: Math.round(recoverMs), served: answers.length }));
}, 30_000);

// ---------------------------------------------------------------- close races

test("close race: connects pending to a full-backlog listener settle exactly once (abort → reason, timeout → Deadline, listener closed → ECONNREFUSED); nothing leaks", async () => {
  const K = 10;
  const fdBase = procFds();
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1", backlog: 0 }));
  // Fill the accept queue: nobody accepts.
  const fill: Conn[] = [];
  for (let i = 0; i < 8; i++) {
    const c = await connect({ hostname: "127.0.0.1", port: port(ln), timeout: 100 }).catch(() => null);
    if (c === null) break;
    fill.push(keep(c));
  }
  expect(fill.length).toBeGreaterThanOrEqual(1);
  const st = new Settlements();
  const ac = new AbortController();
  const reason = new Error("test abort");
  const aborted = Array.from({ length: K }, (_, i) => st.track(`abort ${i}`, connect({ hostname: "127.0.0.1", port: port(ln), signal: ac.signal })));
  const timed = Array.from({ length: K }, (_, i) => st.track(`timeout ${i}`, connect({ hostname: "127.0.0.1", port: port(ln), timeout: 150 })));
  const refused = Array.from({ length: K }, (_, i) => st.track(`refused ${i}`, connect({ hostname: "127.0.0.1", port: port(ln) })));
  await sleep(50);
  expect(st.pending.length).toBe(3 * K); // all really pending: the SYNs are dropped
  expect(runtimeStats().parked).toBe(3 * K);
  const tAbort = performance.now();
  ac.abort(reason);
  await until(() => aborted.every((t) => t.settled), 100, "aborts settle");
  const abortMs = performance.now() - tAbort;
  await within(until(() => timed.every((t) => t.settled), 1000, "timeouts settle"), 1500, "timeouts");
  await ln.close();
  // The next SYN retransmit (about 1 s after the first) meets no listener: RST.
  await within(until(() => st.pending.length === 0, 8000, "refused settle"), 9000, "refused");

  expect(aborted.map((t) => (t.ok ? "resolved" : t.error === reason ? "reason" : kind(t.error)))).toEqual(Array(K).fill("reason"));
  expect(tally(timed.map((t) => (t.ok ? "resolved" : kind(t.error))))).toEqual({ Deadline: K });
  expect(tally(refused.map((t) => (t.ok ? "resolved" : kind(t.error))))).toEqual({ ECONNREFUSED: K });
  expect(abortMs).toBeLessThan(50);
  // The queued, never-accepted conns were reset by the listener's close.
  const fillEnds = await Promise.all(fill.map((c) => within(c.read(new Uint8Array(8)), 2000, "fill read").then((n) => (n === null ? "EOF" : "data"), kind)));
  expect(tally(fillEnds)).toEqual({ ECONNRESET: fill.length });
  await Promise.all(fill.map((c) => c.close()));
  await sleep(10);
  expect(procFds()).toBe(fdBase);
  expectClean();
  console.log(JSON.stringify({ backlogFilledWith: fill.length, aborted: K, timedOut: K, refused: K, abortMs: +abortMs.toFixed(2) }));
}, 30_000);

test("close race: close() during a parked accept (alone, or with four queued behind it) rejects each exactly once with ClosedError, all before close() returns", async () => {
  const ROUNDS = 50;
  const fdBase = procFds();
  const outcomes: string[] = [];
  const pendingAtClose: string[] = [];
  let total = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    const st = new Settlements();
    // One accept alone, or one parked on the pollDesc and four queued behind it on the read lock.
    const n = r % 4 < 2 ? 1 : 5;
    total += n;
    const acc = Array.from({ length: n }, (_, i) => st.track(`accept ${i} of ${n}`, ln.accept()));
    // Let some rounds close before the first accept even parks.
    if (r % 2 === 0) await sleep(1);
    await ln.close();
    st.fence();
    pendingAtClose.push(...st.pending.map((l) => `round ${r}: ${l}`));
    await sleep(0);
    for (const a of acc) outcomes.push(a.settled ? (a.ok ? "resolved" : kind(a.error)) : "never settled");
  }
  expect(tally(outcomes)).toEqual({ Closed: total });
  // Settled, but only after close() had returned:
  expect(pendingAtClose).toEqual([]);
  expect(procFds()).toBe(fdBase);
  expectClean();
});

test("close race: close() during a parked read, a parked write and queued ones: each settles once, before close() returns; the parked write reports its bytes", async () => {
  const ROUNDS = 30;
  const fdBase = procFds();
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const big = new Uint8Array(new ArrayBuffer(16 << 20));
  const tallies: string[] = [];
  const late: string[] = [];
  const parkedWriteBytes: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [c, s] = await pair(ln);
    const st = new Settlements();
    const reads = Array.from({ length: 4 }, (_, i) => st.track(`read ${i}`, c.read(new Uint8Array(new ArrayBuffer(1024)))));
    const writes = Array.from({ length: 4 }, (_, i) => st.track(`write ${i}`, c.write(big)));
    // Wait until the first read and the first write are parked (the send buffer is full).
    await until(() => runtimeStats().parked >= 2, 2000, "parked");
    if (r % 3 === 1) await sleep(1);
    await c.close();
    st.fence();
    expect(st.pending).toEqual([]);
    for (const t of [...reads, ...writes]) tallies.push(`${t.label.split(" ")[0]} ${t.ok ? "resolved" : kind(t.error)}`);
    parkedWriteBytes.push((writes[0]!.error as NetError).bytesWritten);
    for (const w of writes.slice(1)) expect((w.error as NetError).bytesWritten).toBe(0);
    await sleep(0);
    late.push(...st.late);
    await s.close();
  }
  expect(tally(tallies)).toEqual({ "read Closed": 4 * ROUNDS, "write Closed": 4 * ROUNDS });
  expect(late).toEqual([]);
  for (const b of parkedWriteBytes) expect(b > 0 && b < big.length).toBe(true);
  await ln.close();
  expect(procFds()).toBe(fdBase);
  expectClean();
});

test("close race: close() in the middle of a queued write storm: every write settles once; the peer receives exactly the accepted bytes, in order", async () => {
  const ROUNDS = 10;
  const WRITES = 200;
  const CHUNK = 64 * 1024;
  const fdBase = procFds();
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const chunks = Array.from({ length: WRITES }, (_, k) => {
    const b = new Uint8Array(new ArrayBuffer(CHUNK));
    const v = new DataView(b.buffer);
    for (let off = 0; off < CHUNK; off += 4) v.setUint32(off, k * CHUNK + off, true); // position-stamped
    return b;
  });
  const summary: { resolved: number; partial: number; closed: number; accepted: number; received: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const [c, s] = await pair(ln);
    const st = new Settlements();
    const ws = chunks.map((b, k) => st.track(`write ${k}`, c.write(b)));
    // The peer reads slowly, collecting everything until EOF.
    const received: Uint8Array[] = [];
    let reads = 0;
    const reader = eachChunk(s, 64 * 1024, async (chunk) => {
      received.push(chunk.slice());
      if (++reads % 8 === 0) await sleep(1);
    });
    // Cut the storm at a different point each round.
    const cutAfter = 60 + r * 12; // the first ~60 fit in the socket buffers at once
    await until(() => ws.filter((w) => w.settled).length >= cutAfter, 5000, "storm progress");
    await c.close();
    st.fence();
    expect(st.pending).toEqual([]);
    await within(reader, 10_000, "peer reads to EOF");
    await sleep(0);
    expect(st.late).toEqual([]);

    // The resolved writes form a prefix; then at most one partial write; then Closed with 0 bytes.
    let accepted = 0;
    let resolved = 0;
    let partial = 0;
    let closed = 0;
    let phase = 0; // 0: resolved, 1: after the first rejection
    for (const w of ws) {
      if (w.ok) {
        expect(phase).toBe(0);
        expect(w.value).toBe(CHUNK);
        accepted += CHUNK;
        resolved++;
      } else {
        expect(w.error).toBeInstanceOf(ClosedError);
        const bw = (w.error as NetError).bytesWritten;
        if (phase === 0 && bw > 0) {
          partial++;
          accepted += bw;
        } else expect(bw).toBe(0);
        phase = 1;
        closed++;
      }
    }
    const total = received.reduce((a, b) => a + b.length, 0);
    expect(total).toBe(accepted);
    // Byte-exact: the received stream is the position-stamped prefix.
    const all = new Uint8Array(total);
    let off = 0;
    for (const b of received) {
      all.set(b, off);
      off += b.length;
    }
    const v = new DataView(all.buffer);
    let bad = -1;
    for (let p = 0; p + 4 <= total; p += 4) {
      if (v.getUint32(p, true) !== p) {
        bad = p;
        break;
      }
    }
    expect(bad).toBe(-1);
    summary.push({ resolved, partial, closed, accepted, received: total });
    await s.close();
  }
  // The storm was really cut in the middle, every round.
  expect(summary.filter((x) => x.resolved > 0 && x.closed > 0).length).toBe(ROUNDS);
  await ln.close();
  expect(procFds()).toBe(fdBase);
  expectClean();
  console.log(JSON.stringify(summary));
}, 60_000);

// ---------------------------------------------------------------- signals

// Sends SIGUSR1 to the target process and, with tgkill, to each of its
// threads (so the wake bridge's epoll_wait is interrupted too).
const SIGNALLER = `
import { dlopen, FFIType } from "bun:ffi";
import { readdirSync } from "node:fs";
const pid = Number(process.argv[2]);
const rounds = Number(process.argv[3]);
const libc = dlopen("libc.so.6", { tgkill: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
let process_ = 0, thread = 0;
for (let r = 0; r < rounds; r++) {
  process.kill(pid, "SIGUSR1");
  process_++;
  if (r % 4 === 0) {
    let tids = [];
    try { tids = readdirSync("/proc/" + pid + "/task").map(Number); } catch {}
    for (const tid of tids) if (libc.symbols.tgkill(pid, tid, 10) === 0) thread++;
  }
  await Bun.sleep(1 + (r % 3));
}
console.log(JSON.stringify({ process: process_, thread }));
`;

test("signals: hundreds of SIGUSR1 (to the process and each thread) during 16 MiB transfers both ways: data intact (SHA-256), no EINTR surfaces, an idle parked read still wakes", async () => {
  const MiB16 = 16 << 20;
  const dir = fs.mkdtempSync(`${os.tmpdir()}/bnp-sig-`);
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, "signaller.mjs");
  fs.writeFileSync(script, SIGNALLER);
  const sigusr1Before = sigusr1s;

  const fdBase = procFds();
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const [a, b] = await pair(ln);
  const [idleC, idleS] = await pair(ln);
  const idleRead = idleS.read(new Uint8Array(8));

  const payloadAB = randomBytes(MiB16);
  const payloadBA = randomBytes(MiB16);
  const wantAB = sha256(payloadAB);
  const wantBA = sha256(payloadBA);
  const errors: string[] = [];

  // One transfer: writer in 256 KiB writes, a reader that pauses now and then.
  const transfer = async (from: Conn, to: Conn, payload: Uint8Array): Promise<string> => {
    const w = (async () => {
      for (let off = 0; off < payload.length; off += 256 * 1024) await from.write(payload.subarray(off, off + 256 * 1024));
    })();
    const h = new Bun.CryptoHasher("sha256");
    const rb = new Uint8Array(new ArrayBuffer(32 * 1024));
    let got = 0;
    let reads = 0;
    while (got < payload.length) {
      const n = await to.read(rb.subarray(0, Math.min(rb.length, payload.length - got)));
      if (n === null) throw new Error("EOF mid-transfer");
      h.update(rb.subarray(0, n));
      got += n;
      if (++reads % 16 === 0) await sleep(1);
    }
    await w;
    return h.digest("hex");
  };

  const child = Bun.spawn([BUN, script, String(process.pid), "400"], { stdout: "pipe", stderr: "pipe" });
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill();
    await child.exited;
  });
  let childDone = false;
  void child.exited.then(() => (childDone = true));
  let transfers = 0;
  while (!childDone || transfers === 0) {
    try {
      const [ab, ba] = await within(Promise.all([transfer(a, b, payloadAB), transfer(b, a, payloadBA)]), 30_000, "transfer");
      if (ab !== wantAB) errors.push(`transfer ${transfers}: a→b hash differs`);
      if (ba !== wantBA) errors.push(`transfer ${transfers}: b→a hash differs`);
    } catch (e) {
      errors.push(`transfer ${transfers}: ${e instanceof NetError ? `${e.code} (${e.syscall})` : String(e)}`);
      break;
    }
    transfers++;
  }
  expect(await child.exited).toBe(0);
  const sent = JSON.parse(await new Response(child.stdout).text()) as { process: number; thread: number };
  await sleep(20);
  const received = sigusr1s - sigusr1Before;

  // The idle conn's read was parked (bridge armed) through the storm: it still wakes.
  const t0 = performance.now();
  await idleC.write(new Uint8Array([7]));
  const idleN = await within(idleRead, 1000, "idle read after the storm");
  const wakeMs = performance.now() - t0;

  expect(errors).toEqual([]);
  expect(idleN).toBe(1);
  expect(wakeMs).toBeLessThan(100);
  expect(sent.process).toBe(400);
  expect(received).toBeGreaterThanOrEqual(100); // standard signals coalesce, but hundreds get through
  await Promise.all([a, b, idleC, idleS].map((x) => x.close()));
  await ln.close();
  await sleep(10);
  expect(procFds()).toBe(fdBase);
  expectClean();
  console.log(JSON.stringify({ transfers, bytesEachWay: transfers * MiB16, signalsSent: sent, signalsHandled: received, idleWakeMs: +wakeMs.toFixed(2) }));
}, 60_000);

// ---------------------------------------------------------------- deadline storm

test("deadline storm: thousands of deadline resets racing reads and writes on 100 conns; every timeout happens only after the deadline in force had passed; timers back to 0", async () => {
  const CONNS = 100;
  const STORM_MS = 3000;
  const fdBase = procFds();
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1", backlog: 256 }));
  const pairs: [Conn, Conn][] = [];
  for (let i = 0; i < CONNS; i++) pairs.push(await pair(ln));

  // Every deadline set, per conn and direction: when it was set and the
  // deadline as a monotonic time (the conversion the runtime makes), or null
  // for none. A timeout is legitimate only if, at some moment between the
  // operation's start and the moment its error reached us, the deadline then
  // in force had passed. (The check cannot use only the latest deadline: a
  // deadline set in the past fails a parked operation synchronously, and the
  // storm may set a new one before the rejection reaches the task.)
  type Entry = { at: number; d: number | null };
  const history = pairs.map(() => ({ r: [{ at: 0, d: null }] as Entry[], w: [{ at: 0, d: null }] as Entry[] }));
  const violations: string[] = [];
  const counts = { resets: 0, readTimeouts: 0, writeTimeouts: 0, reads: 0, writes: 0, other: [] as string[] };
  const TOLERANCE_MS = 1; // the runtime and this test convert epoch → monotonic a few µs apart

  const checkTimeout = (i: number, dir: "r" | "w", started: number) => {
    const now = performance.now();
    const h = history[i]![dir];
    // The entry in force when the operation started (binary search), then each later one.
    let lo = 0;
    let hi = h.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (h[mid]!.at <= started) lo = mid;
      else hi = mid - 1;
    }
    let soonest = Infinity;
    for (let k = lo; k < h.length; k++) {
      const e = h[k]!;
      const until = k + 1 < h.length ? h[k + 1]!.at : now;
      if (e.d === null) continue;
      if (e.d <= until + TOLERANCE_MS) return; // this deadline passed while in force
      soonest = Math.min(soonest, e.d - until);
    }
    violations.push(
      soonest === Infinity
        ? `conn ${i} ${dir}: timed out with no deadline in force since the operation started`
        : `conn ${i} ${dir}: timed out although every deadline in force was ≥ ${soonest.toFixed(3)} ms in the future`,
    );
  };
  let running = true;
  const tasks: Promise<void>[] = [];
  const chunk = new Uint8Array(new ArrayBuffer(64 * 1024)).fill(3);
  pairs.forEach(([a, b], i) => {
    // a: the conn under the storm, reading and writing continuously.
    tasks.push(
      (async () => {
        const buf = new Uint8Array(new ArrayBuffer(4096));
        while (running) {
          const started = performance.now();
          try {
            if ((await a.read(buf)) === null) return;
            counts.reads++;
          } catch (e) {
            if (e instanceof DeadlineExceededError) {
              checkTimeout(i, "r", started);
              counts.readTimeouts++;
              await sleep(1); // an expired deadline fails at once: do not spin
            } else if (e instanceof ClosedError) return;
            else counts.other.push(`read ${kind(e)}`);
          }
        }
      })(),
      (async () => {
        while (running) {
          const started = performance.now();
          try {
            await a.write(chunk);
            counts.writes++;
          } catch (e) {
            if (e instanceof DeadlineExceededError) {
              checkTimeout(i, "w", started);
              counts.writeTimeouts++;
              await sleep(1);
            } else if (e instanceof ClosedError) return;
            else counts.other.push(`write ${kind(e)}`);
          }
        }
      })(),
    );
    // b: the helper peer, a slow reader and an occasional writer, no deadlines.
    tasks.push(
      (async () => {
        const buf = new Uint8Array(new ArrayBuffer(16 * 1024));
        try {
          for (;;) {
            if ((await b.read(buf)) === null) return;
            await sleep(2 + (i % 8));
          }
        } catch (e) {
          if (!(e instanceof ClosedError || (e instanceof NetError && e.code === "ECONNRESET"))) counts.other.push(`peer read ${kind(e)}`);
        }
      })(),
      (async () => {
        const small = new Uint8Array(new ArrayBuffer(512)).fill(4);
        try {
          while (running) {
            await b.write(small);
            await sleep(3 + (i % 5));
          }
        } catch (e) {
          if (!(e instanceof ClosedError || (e instanceof NetError && (e.code === "ECONNRESET" || e.code === "EPIPE")))) counts.other.push(`peer write ${kind(e)}`);
        }
      })(),
    );
  });

  // The storm: random deadlines (near future, past, none) on random conns.
  let seed = 0x2545f491;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed % n;
  };
  const set = (i: number, which: number, epoch: number | null) => {
    const a = pairs[i]![0];
    const at = performance.now();
    const e: Entry = { at, d: epoch === null ? null : at + (epoch - Date.now()) };
    if (which === 0) {
      a.setReadDeadline(epoch);
      history[i]!.r.push(e);
    } else if (which === 1) {
      a.setWriteDeadline(epoch);
      history[i]!.w.push(e);
    } else {
      a.setDeadline(epoch);
      history[i]!.r.push(e);
      history[i]!.w.push(e);
    }
    counts.resets++;
  };
  const stormEnd = performance.now() + STORM_MS;
  let peakTimers = 0;
  while (performance.now() < stormEnd) {
    for (let k = 0; k < 50; k++) {
      const i = rnd(CONNS);
      const kindOf = rnd(20);
      const epoch = kindOf === 0 ? null : kindOf === 1 ? Date.now() - 5 : Date.now() + 1 + rnd(kindOf < 10 ? 5 : 60);
      set(i, rnd(3), epoch);
    }
    peakTimers = Math.max(peakTimers, runtimeStats().timers);
    await sleep(rnd(3));
  }
  running = false;
  for (let i = 0; i < CONNS; i++) set(i, 2, null);
  await sleep(50);
  const timersBeforeClose = runtimeStats().timers;
  await Promise.all(pairs.flat().map((x) => x.close()));
  await within(Promise.all(tasks), 10_000, "storm tasks end");
  await ln.close();
  await sleep(10);

  expect(violations).toEqual([]);
  expect(counts.other).toEqual([]);
  expect(counts.resets).toBeGreaterThanOrEqual(5000);
  expect(counts.readTimeouts).toBeGreaterThan(0);
  expect(counts.writeTimeouts).toBeGreaterThan(0);
  expect(counts.reads).toBeGreaterThan(0);
  expect(counts.writes).toBeGreaterThan(0);
  expect(timersBeforeClose).toBe(0); // deadlines cleared: no timer left armed
  expect(runtimeStats().timers).toBe(0);
  expect(procFds()).toBe(fdBase);
  expectClean();
  console.log(JSON.stringify({ conns: CONNS, ...counts, other: counts.other.length, peakTimers }));
}, 60_000);
