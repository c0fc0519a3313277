// Wake-latency benchmark for the loop's bridge. Run: bun bench/wake.ts
//
//   1. wake latency: a Worker writes 1 byte to a pipe every 1–3 ms (random),
//      stamping performance.timeOrigin + performance.now() into a
//      SharedArrayBuffer just before each write. The main thread has one task
//      parked in pollFd(readEnd).waitReadable(); on each wake it stamps the
//      time, reads until EAGAIN and records now − write time per byte. The main
//      loop is idle between writes, so every wake goes through the bridge
//      Worker (epoll_wait → Atomics ring → waitAsync → drain).
//   2. busy drain: K pipes, one parked task each; the main thread writes 1 byte
//      to all K and times until all K tasks have resumed. Two variants: from an
//      idle (armed) loop, which includes one bridge wake, and "hot", where the
//      writes land while the loop's next drain is already scheduled.
//   3. poll(0): the raw cost of loop.poller.poll(0) with nothing pending.
//
// Side by side: `bun bench/wake.ts` runs each measurement in a fresh process
// per mode, ROUNDS_ALL rounds interleaved, and prints medians:
//   native   the same writer, but the pipe is read by Bun's own reader
//            (`Bun.file(r).stream()`): the reference for (1)
//   uring, worker   the runtime with BUN_NETPOLL_BRIDGE forced to that bridge
//   raw      the runtime's io_uring bridge (UringBridge) with none of the rest
//            of the runtime (Linux): the pipe in a private edge-triggered
//            epoll, the bridge armed on it, epoll_wait(…, 0) on wake, read
//            until EAGAIN, arm again. What is left between raw and uring is
//            the runtime's own JavaScript.
// Each child also reports the CPU its threads used per wake (all threads but
// the writer's, from /proc/self/task/*/schedstat), beside the latency.
// `--warmup N` discards N writes before the samples (default 50; a few
// thousand let JSC optimize the runtime's code first, see bench/README.md);
// `bun bench/wake.ts --one <mode>` runs one child and prints its JSON line;
// `--markdown FILE` also writes the table there (npm run bench uses it).
//
// This is a benchmark, not a test: it prints numbers and checks only that the
// runtime ends clean.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { epollEventLayout } from "../ffi/layout.ts";
import { errno, sys } from "../ffi/libc.ts";
import { C, E } from "../ffi/platform.ts";
import { type PollFd, pollFd, runtimeStats } from "../src/index.ts";
import { UringBridge } from "../src/runtime/bridge_uring.ts";
import { getLoop } from "../src/runtime/loop.ts";

const N = 2000; // wake-latency samples kept
// Extra writes first, discarded (bridge start-up). `--warmup N` raises it:
// with a few thousand, the runtime's JavaScript has been optimized by JSC
// before the samples start, as in a server that has been running a while.
const WARMUP_AT = process.argv.indexOf("--warmup");
const WARMUP = WARMUP_AT >= 0 ? Number(process.argv[WARMUP_AT + 1]) : 50;
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error("--warmup takes a whole number of writes");
const K = 64; // pipes in the busy-drain test
const ROUNDS = 200; // busy-drain rounds per variant
const DRAIN_WARMUP = 20;
const POLL_CALLS = 100_000;
const POLL_BATCH = 100; // poll(0) calls timed together (timer resolution)

const EAGAIN = E.EAGAIN!;
const buf = new Uint8Array(new ArrayBuffer(4096));
const one = new Uint8Array(new ArrayBuffer(1));

// ---------------------------------------------------------------- helpers

function pipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: errno ${errno()}`);
  return [fds[0]!, fds[1]!];
}

/** Reads until EAGAIN; returns the number of bytes read (throws on EOF/error). */
function drainFd(fd: number): number {
  let total = 0;
  for (;;) {
    const n = sys.read(fd, buf, buf.length);
    if (n > 0) {
      total += n;
      continue;
    }
    if (n === 0) throw new Error(`unexpected EOF on fd ${fd}`);
    const e = errno();
    if (e === EAGAIN) return total;
    throw new Error(`read(fd ${fd}) failed: errno ${e}`);
  }
}

function writeByte(fd: number): void {
  const n = sys.write(fd, one, 1);
  if (n !== 1) throw new Error(`write(fd ${fd}) failed: errno ${errno()}`);
}

const absNow = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function summarize(samples: number[]): { median: number; p90: number; p99: number; min: number; max: number } {
  const s = Float64Array.from(samples).sort();
  return { median: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), min: s[0]!, max: s[s.length - 1]! };
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");

function loopCounters() {
  return { ...runtimeStats().loop };
}

function diff(a: ReturnType<typeof loopCounters>, b: ReturnType<typeof loopCounters>) {
  return {
    drains: b.drains - a.drains,
    events: b.events - a.events,
    stale: b.stale - a.stale,
    arms: b.arms - a.arms,
    rings: b.rings - a.rings,
  };
}

// ---------------------------------------------------------------- writer Worker

// Control words (Int32Array over the shared buffer).
const GO = 0; // main → worker: start writing
const DONE = 1; // worker → main: all writes issued (or -errno on failure)
const SLEEP = 2; // never changes; the worker waits on it with a timeout to sleep
const CAL_W = 3; // calibration: worker's flag
const CAL_M = 4; // calibration: main's flag
const CTL_INTS = 8;

interface WriterInit {
  libc: string;
  fd: number;
  count: number;
  ctl: SharedArrayBuffer;
  times: SharedArrayBuffer;
  cal: SharedArrayBuffer;
  calRounds: number;
  GO: number;
  DONE: number;
  SLEEP: number;
  CAL_W: number;
  CAL_M: number;
}

// Runs inside the Worker (stringified): only its argument and globals.
function writerMain(init: WriterInit): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ffi = require("bun:ffi") as typeof import("bun:ffi");
  const { i32, ptr, u64, i64_fast } = ffi.FFIType;
  const lib = ffi.dlopen(init.libc, {
    write: { args: [i32, ptr, u64], returns: i64_fast },
    __errno_location: { args: [], returns: ptr },
  });
  const errnoPtr = lib.symbols.__errno_location()!;
  const ctl = new Int32Array(init.ctl);
  const times = new Float64Array(init.times);
  const cal = new Float64Array(init.cal);
  const b = new Uint8Array(new ArrayBuffer(1));
  b[0] = 0x2a;
  const abs = () => performance.timeOrigin + performance.now();
  postMessage("ready");

  // Clock calibration (both threads spin): worker → main, then main → worker.
  for (let j = 1; j <= init.calRounds; j++) {
    while (Atomics.load(ctl, init.CAL_M) !== 2 * j - 1) {}
    cal[2 * j] = abs();
    Atomics.store(ctl, init.CAL_W, 2 * j - 1);
    while (Atomics.load(ctl, init.CAL_M) !== 2 * j) {}
    cal[2 * j + 1] = abs();
    Atomics.store(ctl, init.CAL_W, 2 * j);
  }

  const selfCpu = (): number => {
    try {
      return Number(require("node:fs").readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
    } catch {
      return 0;
    }
  };
  Atomics.wait(ctl, init.GO, 0);
  const cpu0 = selfCpu();
  for (let i = 0; i < init.count; i++) {
    Atomics.wait(ctl, init.SLEEP, 0, 1 + 2 * Math.random());
    times[i] = abs();
    const n = lib.symbols.write(init.fd, b, 1);
    if (n !== 1) {
      Atomics.store(ctl, init.DONE, -ffi.read.i32(errnoPtr, 0) || -1);
      Atomics.notify(ctl, init.DONE);
      lib.close();
      return;
    }
  }
  cal[0] = selfCpu() - cpu0;
  Atomics.store(ctl, init.DONE, 1);
  Atomics.notify(ctl, init.DONE);
  lib.close();
}

async function startWriter(init: WriterInit): Promise<Worker> {
  const src = `self.onmessage = (e) => { self.onmessage = null; (${writerMain.toString()})(e.data); };`;
  const url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
  const w = new Worker(url);
  const ready = new Promise<void>((res, rej) => {
    w.onmessage = () => res();
    w.onerror = (e) => rej(new Error(`writer worker failed: ${e.message}`));
  });
  w.postMessage(init);
  try {
    await ready;
  } finally {
    // Not earlier: revoking right after new Worker() can race the Worker's load.
    URL.revokeObjectURL(url);
  }
  return w;
}

// ---------------------------------------------------------------- 1. wake latency

interface WakeResult {
  lat: ReturnType<typeof summarize>;
  /** CPU µs per wake of every thread but the writer's. */
  cpuUs: number;
  samples: number;
  wakes: number;
  spurious: number;
  coalesced: number;
  stats: ReturnType<typeof diff>;
  skewUs: number;
  rttUs: number;
}

/** CPU ns used so far by every thread of this process. */
function processThreadsCpuNs(): number {
  let total = 0;
  for (const t of readdirSync("/proc/self/task")) {
    try {
      total += Number(readFileSync(`/proc/self/task/${t}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended
    }
  }
  return total;
}

/**
 * The io_uring bridge alone (mode `raw`): the runtime's own UringBridge over
 * a private edge-triggered epoll holding one descriptor, and nothing else of
 * the runtime (no loop, pollDesc, FD or table). wait() arms the bridge; the
 * wake runs epoll_wait(…, 0) and resolves.
 */
class RawWait {
  readonly #ep: number;
  readonly #events: Uint8Array;
  readonly #bridge: UringBridge;

  private constructor(ep: number, events: Uint8Array, bridge: UringBridge) {
    this.#ep = ep;
    this.#events = events;
    this.#bridge = bridge;
  }

  static async open(fd: number): Promise<RawWait> {
    const layout = epollEventLayout(process.arch);
    const events = new Uint8Array(new ArrayBuffer(layout.size * 8));
    const ep = sys.epoll_create1(C.EPOLL_CLOEXEC);
    if (ep < 0) throw new Error(`epoll_create1: errno ${errno()}`);
    new DataView(events.buffer).setUint32(layout.events, (C.EPOLLIN | C.EPOLLET) >>> 0, true);
    if (sys.epoll_ctl(ep, C.EPOLL_CTL_ADD, fd, events) !== 0) throw new Error(`epoll_ctl: errno ${errno()}`);
    const bridge = new UringBridge(ep);
    await bridge.started;
    return new RawWait(ep, events, bridge);
  }

  wait(): Promise<void> {
    return new Promise<void>((resolve) =>
      this.#bridge.arm(() => {
        sys.epoll_wait(this.#ep, this.#events, 8, 0);
        resolve();
      }),
    );
  }

  /** Bridge arms and rings so far. */
  get stats(): { arms: number; rings: number } {
    return this.#bridge.stats;
  }

  close(): void {
    this.#bridge.close();
    sys.close(this.#ep);
  }
}

type WakeKind = "native" | "raw" | "runtime";

/**
 * `native`: the pipe is read by Bun's own reader instead of the runtime, the
 * reference the bridges are measured against; `raw`: RawWait; `runtime`:
 * pollFd(r).waitReadable().
 */
async function benchWake(kind: WakeKind): Promise<WakeResult> {
  const native = kind === "native";
  const [r, w] = pipe();
  const total = WARMUP + N;
  const CAL_ROUNDS = 200;
  const ctlBuf = new SharedArrayBuffer(CTL_INTS * 4);
  const ctl = new Int32Array(ctlBuf);
  const timesBuf = new SharedArrayBuffer(total * 8);
  const times = new Float64Array(timesBuf);
  const calBuf = new SharedArrayBuffer((2 * CAL_ROUNDS + 2) * 8);
  const cal = new Float64Array(calBuf);

  const p = kind === "runtime" ? pollFd(r) : null;
  const raw = kind === "raw" ? await RawWait.open(r) : null;
  const worker = await startWriter({
    libc: "libc.so.6",
    fd: w,
    count: total,
    ctl: ctlBuf,
    times: timesBuf,
    cal: calBuf,
    calRounds: CAL_ROUNDS,
    GO,
    DONE,
    SLEEP,
    CAL_W,
    CAL_M,
  });

  // Clock calibration. d1 = main − worker for a worker→main handoff,
  // d2 = worker − main for main→worker; skew ≈ (d1 − d2) / 2.
  let d1 = Infinity;
  let d2 = Infinity;
  const deadline = performance.now() + 10_000;
  for (let j = 1; j <= CAL_ROUNDS; j++) {
    Atomics.store(ctl, CAL_M, 2 * j - 1);
    while (Atomics.load(ctl, CAL_W) !== 2 * j - 1) {
      if (performance.now() > deadline) throw new Error("writer worker did not start");
    }
    d1 = Math.min(d1, absNow() - cal[2 * j]!);
    const tm = absNow();
    Atomics.store(ctl, CAL_M, 2 * j);
    while (Atomics.load(ctl, CAL_W) !== 2 * j) {}
    d2 = Math.min(d2, cal[2 * j + 1]! - tm);
  }
  const skewUs = ((d1 - d2) / 2) * 1000; // main clock minus worker clock
  const rttUs = ((d1 + d2) / 2) * 1000;

  // Let the loop's bridge Worker start (before it is ready, wakes are timer-polled).
  await sleep(100);

  const lat: number[] = [];
  let seen = 0;
  let wakes = 0;
  let spurious = 0;
  let coalesced = 0;
  // In raw mode the arms and rings are the private bridge's.
  const counters = () => (raw !== null ? { ...loopCounters(), ...raw.stats } : loopCounters());
  let before = counters();
  let snapped = false;

  const cpu0 = processThreadsCpuNs();
  Atomics.store(ctl, GO, 1);
  Atomics.notify(ctl, GO);

  // Nothing is written before GO + 1 ms, so the pipe starts empty: park first.
  // After each wake, read until EAGAIN and only then park again (edge-triggered).
  if (drainFd(r) !== 0) throw new Error("pipe not empty before the first write");
  const chunks = native ? Bun.file(r).stream()[Symbol.asyncIterator]() : null;
  while (seen < total) {
    let n: number;
    let now: number;
    if (chunks !== null) {
      const c = await chunks.next();
      now = absNow();
      if (c.done) throw new Error("unexpected end of the pipe");
      n = (c.value as Uint8Array).length;
    } else {
      await (raw !== null ? raw.wait() : p!.waitReadable());
      now = absNow();
      n = drainFd(r);
    }
    wakes++;
    if (n === 0) {
      spurious++;
      continue;
    }
    if (n > 1) coalesced++;
    for (let k = 0; k < n; k++, seen++) {
      if (seen >= WARMUP) lat.push((now - times[seen]!) * 1000);
    }
    // Counters from here on cover the timed wakes.
    if (!snapped && seen >= WARMUP) {
      before = counters();
      snapped = true;
    }
  }
  const stats = diff(before, counters());

  // Wait for the worker's done flag (it is already set or about to be).
  while (Atomics.load(ctl, DONE) === 0) await sleep(1);
  if (Atomics.load(ctl, DONE) < 0) throw new Error(`writer failed: errno ${-Atomics.load(ctl, DONE)}`);
  const cpuUs = (processThreadsCpuNs() - cpu0 - cal[0]!) / 1000 / wakes;
  worker.terminate();
  p?.close();
  raw?.close();
  await chunks?.return?.();
  await sleep(0);
  if (!native) sys.close(r); // Bun's reader owns and closes it in native mode
  sys.close(w);
  return { lat: summarize(lat), cpuUs, samples: lat.length, wakes, spurious, coalesced, stats, skewUs, rttUs };
}

// ---------------------------------------------------------------- 2. busy drain

interface DrainResult {
  perEventUs: ReturnType<typeof summarize>;
  writeUs: ReturnType<typeof summarize>;
  stats: ReturnType<typeof diff>;
}

/**
 * K pipes with one parked reader each. `hot`: the next round's writes are
 * issued synchronously by the task that completes a round, so they land while
 * the loop's follow-up drain is already scheduled (no bridge). Otherwise each
 * round starts from an idle loop (armed bridge) after a short sleep.
 */
async function benchDrain(hot: boolean): Promise<DrainResult> {
  const pipes = Array.from({ length: K }, () => pipe());
  const pfds: PollFd[] = pipes.map(([r]) => pollFd(r));
  const perEvent: number[] = [];
  const writeCost: number[] = [];
  const rounds = DRAIN_WARMUP + ROUNDS;
  let round = 0;
  let resumed = 0;
  let t0 = 0;
  let t1 = 0;
  let before = loopCounters();
  let finish!: () => void;
  let roundDone: (() => void) | null = null;
  const finished = new Promise<void>((res) => (finish = res));

  const writeAll = () => {
    if (round === DRAIN_WARMUP) before = loopCounters();
    resumed = 0;
    t0 = performance.now();
    for (const [, w] of pipes) writeByte(w);
    t1 = performance.now();
  };

  const onResumed = () => {
    if (++resumed < K) return;
    const t2 = performance.now();
    if (round >= DRAIN_WARMUP) {
      perEvent.push(((t2 - t1) * 1000) / K);
      writeCost.push((t1 - t0) * 1000);
    }
    round++;
    if (round === rounds) finish();
    else if (hot) writeAll();
    if (!hot) roundDone?.();
  };

  const reader = async (i: number) => {
    const [r] = pipes[i]!;
    const p = pfds[i]!;
    for (;;) {
      try {
        await p.waitReadable();
      } catch {
        return; // closed
      }
      if (drainFd(r) > 0) onResumed();
    }
  };
  const readers = pipes.map((_, i) => reader(i));

  await sleep(20); // readers parked, loop idle
  if (hot) {
    writeAll();
    await finished;
  } else {
    while (round < rounds) {
      const done = new Promise<void>((res) => (roundDone = res));
      writeAll();
      await done;
      await sleep(1); // let the loop go idle (arm the bridge) again
    }
  }
  const stats = diff(before, loopCounters());
  for (const p of pfds) p.close();
  await Promise.all(readers);
  await sleep(0);
  for (const [r, w] of pipes) {
    sys.close(r);
    sys.close(w);
  }
  return { perEventUs: summarize(perEvent), writeUs: summarize(writeCost), stats };
}

// ---------------------------------------------------------------- 3. poll(0)

function benchPoll(): ReturnType<typeof summarize> {
  const poller = getLoop().poller;
  for (let i = 0; i < 10_000; i++) poller.poll(0); // warm up
  const perCall: number[] = [];
  let found = 0;
  for (let b = 0; b < POLL_CALLS / POLL_BATCH; b++) {
    const t = performance.now();
    for (let i = 0; i < POLL_BATCH; i++) found += poller.poll(0);
    perCall.push(((performance.now() - t) * 1e6) / POLL_BATCH);
  }
  if (found !== 0) console.warn(`warning: poll(0) returned ${found} events while idle`);
  return summarize(perCall);
}

// ---------------------------------------------------------------- main

/** The modes compared side by side (native = Bun's own reader). */
const MODES = ["native", "raw", "uring", "worker"] as const;
type Mode = (typeof MODES)[number];
const ROUNDS_ALL = 3;

interface OneResult {
  mode: string;
  bridge: string;
  wake: { p50: number; p90: number; p99: number; cpuUs: number; wakes: number; arms: number; rings: number };
  idle?: { p50: number; p99: number };
  hot?: { p50: number; p99: number };
  pollNs?: number;
}

async function runOne(mode: Mode): Promise<OneResult> {
  const native = mode === "native" || mode === "raw";
  const wake = await benchWake(mode === "native" || mode === "raw" ? mode : "runtime");
  const out: OneResult = {
    mode,
    bridge: native ? "-" : runtimeStats().loop.bridge,
    wake: {
      p50: wake.lat.median,
      p90: wake.lat.p90,
      p99: wake.lat.p99,
      cpuUs: wake.cpuUs,
      wakes: wake.wakes,
      arms: wake.stats.arms,
      rings: wake.stats.rings,
    },
  };
  if (!native) {
    const idle = await benchDrain(false);
    const hot = await benchDrain(true);
    out.idle = { p50: idle.perEventUs.median, p99: idle.perEventUs.p99 };
    out.hot = { p50: hot.perEventUs.median, p99: hot.perEventUs.p99 };
    out.pollNs = benchPoll().median;
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function runChild(mode: Mode): Promise<OneResult> {
  const env = { ...process.env };
  if (mode === "native" || mode === "raw") delete env.BUN_NETPOLL_BRIDGE;
  else env.BUN_NETPOLL_BRIDGE = mode;
  const proc = Bun.spawn([process.execPath, import.meta.path, "--one", mode, "--warmup", String(WARMUP)], { env, stdout: "pipe", stderr: "inherit" });
  const text = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`wake bench child (${mode}) failed`);
  const line = text.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as OneResult;
}

function table(results: OneResult[][]): string {
  const by = (m: string) => results.flat().filter((r) => r.mode === m);
  const nat = by("native");
  const natP50 = median(nat.map((r) => r.wake.p50));
  const natP99 = median(nat.map((r) => r.wake.p99));
  const natCpu = median(nat.map((r) => r.wake.cpuUs));
  const lines = [
    `Wake probe (a Worker writes 1 byte to a pipe every 1–3 ms; write → reader resumed), ${N} samples per process after ${WARMUP} warm-up writes, ` +
      `median of ${results.length} processes per mode, interleaved. CPU = all threads but the writer's, per wake. ` +
      `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC.`,
    "",
    "| mode | p50 µs | p90 µs | p99 µs | CPU µs/wake | p50 ÷ native | p99 ÷ native | CPU ÷ native | arms/rings per wake |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const m of MODES) {
    const rs = by(m);
    if (rs.length === 0) continue;
    const p50 = median(rs.map((r) => r.wake.p50));
    const p99 = median(rs.map((r) => r.wake.p99));
    const cpu = median(rs.map((r) => r.wake.cpuUs));
    const ar =
      m === "native" ? "–" : `${fmt(median(rs.map((r) => r.wake.arms / r.wake.wakes)), 2)} / ${fmt(median(rs.map((r) => r.wake.rings / r.wake.wakes)), 2)}`;
    lines.push(
      `| ${m === "native" ? "Bun's reader (Bun.file(r).stream())" : m === "raw" ? "the uring bridge alone (no loop, pollDesc or FD)" : `bun-netpoll, ${m} bridge`} | ${fmt(p50)} | ` +
        `${fmt(median(rs.map((r) => r.wake.p90)))} | ${fmt(p99)} | ${fmt(cpu)} | ${fmt(p50 / natP50, 2)}× | ` +
        `${fmt(p99 / natP99, 2)}× | ${fmt(cpu / natCpu, 2)}× | ${ar} |`,
    );
  }
  lines.push("", `| bridge | busy drain from idle µs/event (K=${K}) | busy drain hot µs/event | poll(0) idle ns |`, "| --- | ---: | ---: | ---: |");
  for (const m of MODES) {
    if (m === "native" || m === "raw") continue;
    const rs = by(m);
    if (rs.length === 0) continue;
    lines.push(
      `| ${m} | ${fmt(median(rs.map((r) => r.idle!.p50)), 2)} | ${fmt(median(rs.map((r) => r.hot!.p50)), 2)} | ` +
        `${fmt(median(rs.map((r) => r.pollNs!)), 0)} |`,
    );
  }
  return lines.join("\n");
}

const argv = process.argv.slice(2);
const oneAt = argv.indexOf("--one");
if (oneAt >= 0) {
  const mode = argv[oneAt + 1] as Mode;
  if (!MODES.includes(mode)) throw new Error(`--one takes one of ${MODES.join(", ")}`);
  const r = await runOne(mode);
  const end = runtimeStats();
  if (end.fds !== 0 || end.pollDescs !== 0 || end.parked !== 0 || end.timers !== 0 || end.holds !== 0) {
    console.error("runtime not clean at exit:", end);
    process.exitCode = 1;
  }
  console.log(JSON.stringify(r));
  process.exit();
} else {
  const roundsAt = argv.indexOf("--rounds");
  const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : ROUNDS_ALL;
  const only = argv.includes("--modes") ? (argv[argv.indexOf("--modes") + 1]!.split(",") as Mode[]) : [...MODES];
  const results: OneResult[][] = [];
  for (let i = 0; i < rounds; i++) {
    const round: OneResult[] = [];
    // Rotate the order each round so drift hits every mode alike.
    for (let k = 0; k < only.length; k++) round.push(await runChild(only[(k + i) % only.length]!));
    results.push(round);
  }
  const md = `### Wake path (bun ${Bun.version}, ${process.platform}/${process.arch})\n\n${table(results)}\n`;
  console.log(md);
  const mdAt = argv.indexOf("--markdown");
  if (mdAt >= 0) writeFileSync(argv[mdAt + 1]!, md);
}
