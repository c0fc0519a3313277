// bun-netpoll comparative benchmark. Run: npm run bench  (= bun bench/run.ts)
//
//   bun bench/run.ts                       # 3 interleaved runs, ~14 min
//   bun bench/run.ts --quick               # 1 run, 2 s windows, ~4 min
//   bun bench/run.ts --only echo64,http64  # scenario filter (ids below)
//   bun bench/run.ts --servers netpoll-echo,bun-listen   # server filter
//   bun bench/run.ts --runs 5              # more rounds
//   bun bench/run.ts --report-only         # rebuild RESULTS.md + svg from bench/out/results.json
//
// Every server runs pinned to CPU 0 (taskset -c 0), every load generator to
// CPU 1. Each (scenario, server) gets a fresh server process, so its peak RSS
// (VmHWM) belongs to that scenario alone. Server CPU is utime+stime from
// /proc/<pid>/stat over the measured window (all threads); the C client
// samples it itself at the window's edges, for wrk it is sampled around the
// wrk process. Rounds are interleaved (every server for round 1, then every
// server for round 2, ...; the server order rotates per round) and the
// report shows the median of the rounds per metric.
//
// Scenario ids: echo1 echo64 echo256 paced1 paced64 echo64k http1 http64 http256 pipe64 idle10k (and chan, wake, tls: the separate benchmarks)
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { renderSvg } from "./chart.ts";
import { writeReport, writeResults } from "./report.ts";
import type { Measurement, ResultsFile, ScenarioDef, ServerDef } from "./types.ts";

const BENCH = import.meta.dir;
const ROOT = resolve(BENCH, "..");
const OUT = join(BENCH, "out");
const BUN = process.execPath;
const HOST = "127.0.0.1";

// ------------------------------------------------------------------ options

const argv = process.argv.slice(2);
function flag(name: string): boolean {
  return argv.includes(name);
}
function opt(name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}
if (flag("--help") || flag("-h")) {
  console.log(readFileSync(import.meta.path, "utf8").split("\n").slice(0, 20).join("\n"));
  process.exit(0);
}
const QUICK = flag("--quick");
const cfg = {
  runs: Number(opt("--runs") ?? (QUICK ? 1 : 3)),
  warmup: QUICK ? 0.5 : 1, // s, echo client warm-up before its window; wrk warm-up run (s, whole)
  echoSecs: Number(opt("--echo-secs") ?? (QUICK ? 2 : 3)),
  httpSecs: Number(opt("--http-secs") ?? (QUICK ? 2 : 5)),
  idleConns: Number(opt("--idle-conns") ?? 10_000),
  idleSecs: Number(opt("--idle-secs") ?? (QUICK ? 2 : 5)),
};
const onlyScen = opt("--only")?.split(",").filter(Boolean) ?? null;
const onlyServers = opt("--servers")?.split(",").filter(Boolean) ?? null;

// ------------------------------------------------------- process hygiene

/** Process groups we started (each child is spawned detached = own group). */
const live = new Set<number>();
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {}
  live.delete(pid);
}
function killAll(): void {
  for (const pid of [...live]) killGroup(pid);
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    console.error(`\n${sig}: stopping servers and clients`);
    killAll();
    process.exit(130);
  });
}
process.on("uncaughtException", (err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  console.error(err);
  killAll();
  process.exit(1);
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Proc {
  child: ChildProcess;
  pid: number;
  lines: string[];
  stderr: string[];
  exited: Promise<number | null>;
  done: boolean;
  /** Resolves with the first stdout line matching re (after `from` lines), or rejects on timeout / exit. */
  waitLine(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
}

function start(cmd: string[], env: Record<string, string> = {}, stdin: "ignore" | "pipe" = "ignore"): Proc {
  const child = spawn(cmd[0]!, cmd.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: [stdin, "pipe", "pipe"],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`spawn failed: ${cmd.join(" ")}`);
  live.add(pid);
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  let partial = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    partial += d;
    const parts = partial.split("\n");
    partial = parts.pop()!;
    for (const l of parts) lines.push(l);
    for (const w of [...waiters]) w();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    if (stderr.length < 200) stderr.push(d);
  });
  const p: Proc = {
    child,
    pid,
    lines,
    stderr,
    done: false,
    exited: new Promise((res) =>
      child.on("exit", (code) => {
        p.done = true;
        live.delete(pid);
        if (partial) lines.push(partial);
        for (const w of [...waiters]) w();
        res(code);
      }),
    ),
    waitLine(re, timeoutMs, from = 0) {
      return new Promise((res, rej) => {
        const check = () => {
          for (let i = from; i < lines.length; i++) {
            if (re.test(lines[i]!)) {
              cleanup();
              res(lines[i]!);
              return;
            }
          }
          if (p.done) {
            cleanup();
            rej(new Error(`exited before printing ${re}: ${stderr.join("").slice(-600)}`));
          }
        };
        const t = setTimeout(() => {
          cleanup();
          rej(new Error(`timeout waiting for ${re}; stderr: ${stderr.join("").slice(-600)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(t);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
  return p;
}

async function stop(p: Proc): Promise<void> {
  killGroup(p.pid);
  await Promise.race([p.exited, sleep(3000)]);
}

/** Runs cmd to completion (killed after timeoutMs); resolves its stdout. */
async function runToEnd(cmd: string[], timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  const p = start(cmd);
  const t = setTimeout(() => killGroup(p.pid), timeoutMs);
  const code = await p.exited;
  clearTimeout(t);
  live.delete(p.pid);
  return { code, out: p.lines.join("\n"), err: p.stderr.join("") };
}

// --------------------------------------------------------- /proc sampling

function statCpu(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): utime = field 14 → f[11], stime → f[12]
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
function schedCpu(pid: number): number {
  let total = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]) / 1e9;
      } catch {}
    }
  } catch {
    return NaN;
  }
  return total;
}
function statusKiB(pid: number, key: "VmHWM" | "VmRSS"): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}
/**
 * Idle CPU seconds of the whole machine (idle + iowait, all cores) from
 * /proc/stat. The idle counters are exact (NO_HZ idle accounting) while the
 * busy ones are tick samples, so busy time is taken as wall × cores − idle.
 */
function machineIdle(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[3]! + f[4]!) / CLK_TCK;
}
const NCPU = cpus().length;
/** Busy CPU seconds of the machine between two (idle, wall-ms) samples. */
function busyBetween(idle0: number, t0: number, idle1: number, t1: number): number {
  return ((t1 - t0) / 1000) * NCPU - (idle1 - idle0);
}

/** Percent of one core (0–200 on 2 cores) busy with other work over a short sample. */
async function otherLoad(ms: number): Promise<number> {
  const i0 = machineIdle();
  const t0 = performance.now();
  await sleep(ms);
  const t1 = performance.now();
  return (busyBetween(i0, t0, machineIdle(), t1) / ((t1 - t0) / 1000)) * 100;
}

/**
 * Waits until other processes use less than 15 % of a core, so a build or
 * test run elsewhere on this 2-core machine does not land in a window: at
 * most 15 s per measurement and 90 s in all (60 s with --quick) (the bench must end in
 * bounded time). Returns the last sample.
 */
let quietBudgetMs = (QUICK ? 60 : 90) * 1000;
async function waitQuiet(): Promise<number> {
  let load = await otherLoad(200);
  const t0 = performance.now();
  let said = false;
  while (load > 15 && performance.now() - t0 < Math.min(15_000, quietBudgetMs)) {
    if (!said) {
      console.log(`  (machine busy: other processes use ${load.toFixed(0)} % of a core; waiting, ${(quietBudgetMs / 1000).toFixed(0)} s of waiting budget left)`);
      said = true;
    }
    load = await otherLoad(1000);
  }
  quietBudgetMs = Math.max(0, quietBudgetMs - (performance.now() - t0));
  return load;
}
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

// ------------------------------------------------------------ tools, build

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).status === 0;
}
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

const notes: string[] = [];

function ensureTools(): void {
  for (const t of ["gcc", "taskset"]) {
    if (!have(t)) {
      console.error(`bench: '${t}' is required (Debian: apt-get install -y ${t === "gcc" ? "gcc" : "util-linux"})`);
      process.exit(2);
    }
  }
  const missing = [
    ["go", "golang-go"],
    ["wrk", "wrk"],
  ].filter(([c]) => !have(c!));
  if (missing.length === 0) return;
  const pkgs = missing.map(([, p]) => p!).join(" ");
  const isRoot = process.getuid?.() === 0;
  if (isRoot && have("apt-get") && !flag("--no-install")) {
    console.log(`bench: installing ${pkgs} with apt-get ...`);
    let r = spawnSync("apt-get", ["install", "-y", "-qq", ...pkgs.split(" ")], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status !== 0) {
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
      r = spawnSync("apt-get", ["install", "-y", "-qq", ...pkgs.split(" ")], {
        stdio: "inherit",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    }
  } else {
    console.log(`bench: missing ${pkgs}; install with:  sudo apt-get install -y ${pkgs}   (continuing without them)`);
  }
  for (const [c, p] of missing) if (!have(c!)) notes.push(`\`${c}\` not available (install: \`apt-get install -y ${p}\`): its rows are skipped.`);
}

function build(): void {
  mkdirSync(OUT, { recursive: true });
  for (const name of ["echo_server", "echo_client"]) {
    const r = spawnSync("gcc", ["-O2", "-Wall", "-o", join(OUT, name), join(BENCH, "c", `${name}.c`)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`gcc ${name}.c failed:\n${r.stderr}`);
  }
  if (have("go")) {
    for (const name of ["echo", "http"]) {
      const r = spawnSync("go", ["build", "-o", join(OUT, `go-${name}`), `${name}.go`], {
        cwd: join(BENCH, "go"),
        encoding: "utf8",
        env: { ...process.env, GOFLAGS: "-mod=mod", CGO_ENABLED: "0" },
      });
      if (r.status !== 0) {
        notes.push(`go build ${name}.go failed: ${r.stderr.trim().split("\n")[0]}`);
        console.error(r.stderr);
      }
    }
  }
}

// ------------------------------------------------------------ definitions

const SERVERS: ServerDef[] = [
  { id: "netpoll-echo", label: "bun-netpoll echo (for await)", kind: "echo", peer: "netpoll", cmd: [BUN, "bench/servers/netpoll-echo.ts"] },
  { id: "netpoll-echo-buf", label: "bun-netpoll echo (read/write)", kind: "echo", peer: "netpoll", cmd: [BUN, "bench/servers/netpoll-echo-buf.ts"] },
  { id: "bun-listen", label: "Bun.listen echo", kind: "echo", peer: "bun", cmd: [BUN, "bench/servers/bun-listen-echo.ts"] },
  { id: "node-net", label: "node:net echo (on Bun)", kind: "echo", peer: "node", cmd: [BUN, "bench/servers/node-net-echo.ts"] },
  { id: "c-epoll", label: "C epoll echo", kind: "echo", peer: "c", cmd: [join(OUT, "echo_server")], portArg: true },
  { id: "go-net", label: "Go net echo (GOMAXPROCS=1)", kind: "echo", peer: "go", cmd: [join(OUT, "go-echo")], env: { GOMAXPROCS: "1" }, needs: join(OUT, "go-echo") },
  { id: "netpoll-http", label: "bun-netpoll HTTP (examples/http.ts)", kind: "http", peer: "netpoll", cmd: [BUN, "examples/http.ts"], needs: join(ROOT, "examples/http.ts") },
  { id: "bun-serve", label: "Bun.serve hello", kind: "http", peer: "bun", cmd: [BUN, "bench/servers/bun-serve-hello.ts"] },
  { id: "node-http", label: "node:http hello (on Bun)", kind: "http", peer: "node", cmd: [BUN, "bench/servers/node-http-hello.ts"] },
  { id: "go-http", label: "Go net/http hello (GOMAXPROCS=1)", kind: "http", peer: "go", cmd: [join(OUT, "go-http")], env: { GOMAXPROCS: "1" }, needs: join(OUT, "go-http") },
];

const SCENARIOS: ScenarioDef[] = [
  { id: "echo1", title: "echo 64 B, 1 conn", kind: "echo", mode: "ping", conns: 1, size: 64, unit: "msg/s" },
  { id: "echo64", title: "echo 64 B, 64 conns", kind: "echo", mode: "ping", conns: 64, size: 64, unit: "msg/s" },
  { id: "echo256", title: "echo 64 B, 256 conns", kind: "echo", mode: "ping", conns: 256, size: 64, unit: "msg/s" },
  { id: "paced1", title: "echo 64 B, 1 conn, paced 500 µs", kind: "echo", mode: "ping", conns: 1, size: 64, paceUs: 500, unit: "msg/s" },
  { id: "paced64", title: "echo 64 B, 64 conns, paced 2 ms", kind: "echo", mode: "ping", conns: 64, size: 64, paceUs: 2000, unit: "msg/s" },
  { id: "echo64k", title: "echo 64 KiB writes, 16 conns", kind: "echo", mode: "bulk", conns: 16, size: 65536, unit: "MB/s" },
  { id: "http1", title: "HTTP hello, 1 conn", kind: "http", mode: "wrk", conns: 1, unit: "req/s" },
  { id: "http64", title: "HTTP hello, 64 conns", kind: "http", mode: "wrk", conns: 64, unit: "req/s" },
  { id: "http256", title: "HTTP hello, 256 conns", kind: "http", mode: "wrk", conns: 256, unit: "req/s" },
  { id: "pipe64", title: "HTTP pipelined ×16, 64 conns", kind: "http", mode: "wrk", conns: 64, pipeline: 16, unit: "req/s" },
  { id: "idle10k", title: "10,000 idle conns", kind: "echo", mode: "idle", conns: 10_000, unit: "KiB/conn" },
];

/** A window where other processes used more than this (% of a core) is measured again. */
const NOISY_PCT = 30;
let retries = QUICK ? 6 : 15;

let portSeq = 20_000 + Math.floor(Math.random() * 5_000);
/** Ports below the ephemeral range (32768+), never reused within a run. */
function nextPort(): number {
  portSeq = portSeq >= 32_000 ? 20_000 : portSeq + 1;
  return portSeq;
}

// ------------------------------------------------------------ measurement

async function startServer(s: ServerDef): Promise<{ p: Proc; port: number }> {
  const port = nextPort();
  const cmd = ["taskset", "-c", "0", ...s.cmd, ...(s.portArg ? [String(port), HOST] : [])];
  const p = start(cmd, { PORT: String(port), HOST, ...(s.env ?? {}) });
  try {
    await p.waitLine(/listening/i, 15_000);
  } catch (e) {
    await stop(p);
    throw e;
  }
  await sleep(100);
  return { p, port };
}

/** Asks a server for its heap in use (SIGUSR2 → "HEAP n"); null if it does not answer. */
async function heapOf(p: Proc): Promise<number | null> {
  const from = p.lines.length;
  try {
    process.kill(p.pid, "SIGUSR2");
    const line = await p.waitLine(/^HEAP \d+/, 3000, from);
    return Number(line.split(" ")[1]);
  } catch {
    return null;
  }
}

const CLIENT = join(OUT, "echo_client");

async function measureEcho(sc: ScenarioDef, p: Proc, port: number): Promise<Partial<Measurement>> {
  const secs = cfg.echoSecs;
  const args = ["--port", String(port), "--host", HOST, "--mode", sc.mode, "--conns", String(sc.conns), "--size", String(sc.size)];
  args.push("--warmup", String(cfg.warmup), "--duration", String(secs), "--server-pid", String(p.pid));
  if (sc.paceUs) args.push("--pace-us", String(sc.paceUs));
  const r = await runToEnd(["taskset", "-c", "1", CLIENT, ...args], (cfg.warmup + secs + 30) * 1000);
  const line = r.out.split("\n").find((l) => l.startsWith("{"));
  if (r.code !== 0 || line === undefined) throw new Error(`echo_client failed (${r.code}): ${r.err.trim().slice(-400)}`);
  const j = JSON.parse(line) as Record<string, number>;
  const ops = j.ops!;
  return {
    throughput: sc.mode === "bulk" ? j.mb_per_s! : j.ops_per_s!,
    opsPerSec: j.ops_per_s!,
    p50us: j.p50_us!,
    p99us: j.p99_us!,
    serverCpuS: j.server_cpu_s!,
    usPerOp: ops > 0 ? (j.server_cpu_s! / ops) * 1e6 : NaN,
    clientCpuS: j.client_cpu_s!,
    seconds: j.seconds!,
    otherCpuPct: ((j.seconds! * j.ncpu! - j.machine_idle_s! - j.server_cpu_s! - j.client_cpu_s!) / j.seconds!) * 100,
  };
}

function parseWrkTime(s: string): number {
  const m = s.match(/([\d.]+)(us|ms|s|m)/);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v : m[2] === "ms" ? v * 1e3 : m[2] === "s" ? v * 1e6 : v * 60e6;
}

async function measureHttp(sc: ScenarioDef, p: Proc, port: number): Promise<Partial<Measurement>> {
  const url = `http://${HOST}:${port}/`;
  const base = ["taskset", "-c", "1", "wrk", "-t", "1", "-c", String(sc.conns)];
  const script = sc.pipeline ? ["-s", join(BENCH, "pipeline.lua")] : [];
  const tail = sc.pipeline ? ["--", String(sc.pipeline)] : [];
  const warm = await runToEnd([...base, "-d", `${Math.max(1, Math.round(cfg.warmup))}s`, ...script, url, ...tail], 30_000);
  if (warm.code !== 0) throw new Error(`wrk warm-up failed: ${warm.err.trim().slice(-300)}`);
  // sh reports wrk's CPU (its cutime+cstime) after waiting for it.
  const wrap = ["sh", "-c", 's=0; "$@" || s=$?; echo "CSTAT $(cat /proc/$$/stat)"; exit $s', "sh"];
  const cpu0 = statCpu(p.pid);
  const mi0 = machineIdle();
  const t0 = performance.now();
  const r = await runToEnd([...wrap, ...base, "-d", `${cfg.httpSecs}s`, "--latency", ...script, url, ...tail], (cfg.httpSecs + 30) * 1000);
  const t1 = performance.now();
  const seconds = (t1 - t0) / 1000;
  const cpu1 = statCpu(p.pid);
  const busy = busyBetween(mi0, t0, machineIdle(), t1);
  const cstat = r.out.match(/^CSTAT .*\)\s+(.*)$/m)?.[1]?.split(" ");
  const clientCpuS = cstat ? (Number(cstat[13]) + Number(cstat[14])) / CLK_TCK : NaN;
  if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.err.trim().slice(-300)}`);
  const out = r.out;
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
  const reqs = Number(out.match(/(\d+) requests in ([\d.]+)(\w+)/)?.[1]);
  const p50 = parseWrkTime(out.match(/^\s+50%\s+(\S+)/m)?.[1] ?? "");
  // wrk prints "99%  0.00us" when pipelining (its histogram and request
  // counts disagree then): treat a zero percentile as missing.
  const pz = (x: number) => (x > 0 ? x : NaN);
  const p99 = pz(parseWrkTime(out.match(/^\s+99%\s+(\S+)/m)?.[1] ?? ""));
  const sockErr = out.match(/Socket errors: (.*)/)?.[1];
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const cpu = cpu1 - cpu0;
  const m: Partial<Measurement> = {
    throughput: rps,
    opsPerSec: rps,
    p50us: pz(p50),
    p99us: p99,
    serverCpuS: cpu,
    usPerOp: reqs > 0 ? (cpu / reqs) * 1e6 : NaN,
    seconds,
    clientCpuS,
    otherCpuPct: ((busy - cpu - clientCpuS) / seconds) * 100,
  };
  const warn: string[] = [];
  if (sockErr) warn.push(`socket errors: ${sockErr}`);
  if (non2xx) warn.push(`${non2xx} non-2xx responses`);
  if (!(reqs > 0)) warn.push("no requests completed");
  if (warn.length) m.warning = warn.join("; ");
  return m;
}

async function measureIdle(sc: ScenarioDef, p: Proc, port: number): Promise<Partial<Measurement>> {
  // Warm the server's connection path with one short ping-pong first.
  await runToEnd(
    ["taskset", "-c", "1", CLIENT, "--port", String(port), "--host", HOST, "--conns", "1", "--warmup", "0", "--duration", "0.3"],
    20_000,
  );
  await sleep(300);
  const heap0 = await heapOf(p);
  await sleep(200);
  const rss0 = statusKiB(p.pid, "VmRSS");
  const client = start(
    ["taskset", "-c", "1", CLIENT, "--port", String(port), "--host", HOST, "--mode", "idle", "--conns", String(sc.conns), "--idle-ping", "1"],
    {},
    "pipe",
  );
  try {
    const ready = await client.waitLine(/^READY /, 150_000);
    const [, n, connectMs] = ready.split(" ");
    await sleep(1000);
    const heap1 = await heapOf(p);
    await sleep(200);
    const rss1 = statusKiB(p.pid, "VmRSS");
    await sleep(300);
    const c0 = statCpu(p.pid);
    const s0 = schedCpu(p.pid);
    const mi0 = machineIdle();
    const t0 = performance.now();
    await sleep(cfg.idleSecs * 1000);
    const t1 = performance.now();
    const secs = (t1 - t0) / 1000;
    const c1 = statCpu(p.pid);
    const s1 = schedCpu(p.pid);
    const busy = busyBetween(mi0, t0, machineIdle(), t1);
    const conns = Number(n);
    const kibPerConn = (rss1 - rss0) / conns;
    return {
      throughput: kibPerConn,
      rssPerConnKiB: kibPerConn,
      heapPerConnB: heap0 !== null && heap1 !== null ? (heap1 - heap0) / conns : undefined,
      idleCpuPct: ((s1 - s0) / secs) * 100,
      idleCpuStatPct: ((c1 - c0) / secs) * 100,
      serverCpuS: c1 - c0,
      connectMs: Number(connectMs),
      seconds: secs,
      rssBeforeKiB: rss0,
      rssAfterKiB: rss1,
      otherCpuPct: ((busy - (c1 - c0)) / secs) * 100,
    };
  } finally {
    client.child.stdin?.end();
    await Promise.race([client.exited, sleep(10_000)]);
    killGroup(client.pid);
  }
}

async function measure(sc: ScenarioDef, s: ServerDef, round: number): Promise<Measurement> {
  const base: Measurement = { scenario: sc.id, server: s.id, round };
  let srv: { p: Proc; port: number } | null = null;
  try {
    base.quietPct = await waitQuiet();
    srv = await startServer(s);
    const m =
      sc.mode === "idle" ? await measureIdle(sc, srv.p, srv.port) : sc.kind === "echo" ? await measureEcho(sc, srv.p, srv.port) : await measureHttp(sc, srv.p, srv.port);
    Object.assign(base, m);
    base.peakRssKiB = statusKiB(srv.p.pid, "VmHWM");
    if ((base.otherCpuPct ?? 0) > 25) base.warning = `${base.warning ? `${base.warning}; ` : ""}other processes used ${base.otherCpuPct!.toFixed(0)} % of a core in the window`;
    if (srv.p.done) base.warning = `${base.warning ? `${base.warning}; ` : ""}server exited during the run`;
  } catch (e) {
    base.error = String((e as Error).message ?? e).slice(0, 500);
  } finally {
    if (srv) await stop(srv.p);
  }
  return base;
}

// ------------------------------------------------------------ machine facts

function machine(): ResultsFile["machine"] {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    nproc: cpus().length,
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "?",
    kernel: version("uname", ["-sr"]),
    bun: `${Bun.version} (${Bun.revision.slice(0, 9)})`,
    go: have("go") ? version("go", ["version"]) : "not installed",
    wrk: have("wrk") ? version("wrk", ["-v"]) : "not installed",
    gcc: version("gcc", ["--version"]),
    date: new Date().toISOString(),
    memTotal: readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s+(\d+ kB)/)?.[1] ?? "?",
    nofile: version("sh", ["-c", "ulimit -n"]),
  };
}

// ------------------------------------------------------------------ main

const RESULTS_JSON = join(OUT, "results.json");

function finish(file: ResultsFile): void {
  writeFileSync(RESULTS_JSON, `${JSON.stringify(file, null, 1)}\n`);
  // Keep every finished run (bench/out is git-ignored).
  if (!flag("--report-only")) writeFileSync(join(OUT, `results-${file.machine.date.replace(/[:.]/g, "-")}.json`), `${JSON.stringify(file, null, 1)}\n`);
  writeFileSync(join(BENCH, "results.svg"), renderSvg(file));
  writeResults(join(BENCH, "RESULTS.md"), writeReport(file));
}

async function main(): Promise<void> {
  if (flag("--report-only")) {
    const file = JSON.parse(readFileSync(RESULTS_JSON, "utf8")) as ResultsFile;
    finish(file);
    console.log("wrote bench/RESULTS.md and bench/results.svg from bench/out/results.json");
    return;
  }
  ensureTools();
  build();
  const scenarios = SCENARIOS.filter((s) => onlyScen === null || onlyScen.includes(s.id));
  if (onlyScen) for (const id of onlyScen) if (id !== "chan" && id !== "wake" && id !== "tls" && !SCENARIOS.some((s) => s.id === id)) throw new Error(`unknown scenario ${id}; ids: ${SCENARIOS.map((s) => s.id).join(" ")}`);
  const servers = SERVERS.filter((s) => {
    if (onlyServers !== null && !onlyServers.includes(s.id)) return false;
    if (s.needs && !existsSync(s.needs)) {
      notes.push(`${s.label} skipped: ${s.needs.replace(`${ROOT}/`, "")} is missing${s.peer === "go" ? " (Go not installed or build failed)" : ""}.`);
      return false;
    }
    if (s.kind === "http" && !have("wrk")) return false;
    return true;
  });
  if (!have("wrk")) notes.push("wrk not installed: HTTP scenarios skipped.");
  const file: ResultsFile = { machine: machine(), config: { ...cfg, quick: QUICK }, scenarios, servers, runs: [], notes };
  const plan = scenarios.flatMap((sc) => servers.filter((s) => s.kind === sc.kind).map((s) => ({ sc, s })));
  const estimate = plan.reduce((t, { sc }) => t + (sc.mode === "idle" ? cfg.idleSecs + 5 : sc.kind === "http" ? cfg.httpSecs + 1.8 : cfg.echoSecs + cfg.warmup + 0.6), 0) * cfg.runs;
  console.log(`bench: ${plan.length} measurements × ${cfg.runs} round(s), about ${Math.ceil(estimate / 60)} min`);
  const t0 = performance.now();
  for (let round = 1; round <= cfg.runs; round++) {
    for (const sc of scenarios) {
      const list = servers.filter((s) => s.kind === sc.kind);
      const rot = (round - 1) % Math.max(1, list.length);
      const ordered = [...list.slice(rot), ...list.slice(0, rot)];
      for (const s of ordered) {
        let m = await measure(sc, s, round);
        // Disturbed by other work on the machine: measure once more (bounded)
        // and keep the quieter of the two.
        if (!m.error && (m.otherCpuPct ?? 0) > NOISY_PCT && retries > 0) {
          retries--;
          console.log(`  (${sc.id} ${s.id}: other processes used ${m.otherCpuPct!.toFixed(0)} % of a core; measuring again, ${retries} retries left)`);
          const again = await measure(sc, s, round);
          if (!again.error && (again.otherCpuPct ?? 0) < m.otherCpuPct!) m = again;
          m.retried = true;
        }
        file.runs.push(m);
        const el = ((performance.now() - t0) / 1000).toFixed(0);
        console.log(`[${el}s] round ${round} ${sc.id.padEnd(8)} ${s.id.padEnd(17)} ${describe(sc, m)}`);
        writeFileSync(RESULTS_JSON, `${JSON.stringify(file, null, 1)}\n`);
      }
    }
  }
  // Channels beside Go (issue: Go-style concurrency): bench/chan.ts writes
  // bench/out/chan.md, which the report includes. Skipped with --only unless asked for.
  if (onlyScen === null || onlyScen.includes("chan")) {
    console.log("bench: channels (bun bench/chan.ts)");
    const chan = Bun.spawnSync([process.execPath, join(BENCH, "chan.ts")], {
      env: { ...process.env, ...(QUICK ? { CHAN_SECONDS: "0.5", CHAN_RUNS: "1" } : {}) },
      stdout: "inherit",
      stderr: "inherit",
    });
    if (!chan.success) notes.push(`bench/chan.ts failed (exit ${chan.exitCode}): channel results missing.`);
  }
  // The wake path, every bridge beside Bun's own reader: bench/wake.ts writes
  // bench/out/wake.md, which the report includes. Skipped with --only unless asked for.
  if (onlyScen === null || onlyScen.includes("wake")) {
    console.log("bench: wake path (bun bench/wake.ts)");
    const wake = Bun.spawnSync([process.execPath, join(BENCH, "wake.ts"), "--rounds", QUICK ? "1" : "3", "--markdown", join(OUT, "wake.md")], {
      stdout: "inherit",
      stderr: "inherit",
    });
    if (!wake.success) notes.push(`bench/wake.ts failed (exit ${wake.exitCode}): wake results missing.`);
  }
  // TLS echo, bun-netpoll's TLS beside Bun's native TLS: bench/tls.ts writes
  // bench/out/tls.md, which the report includes. Skipped with --only unless asked for.
  if (onlyScen === null || onlyScen.includes("tls")) {
    console.log("bench: TLS echo (bun bench/tls.ts)");
    const tls = Bun.spawnSync([process.execPath, join(BENCH, "tls.ts"), "--markdown", join(OUT, "tls.md")], {
      env: { ...process.env, ...(QUICK ? { TLS_SECS: "0.5", TLS_RUNS: "1" } : {}) },
      stdout: "inherit",
      stderr: "inherit",
    });
    if (!tls.success) notes.push(`bench/tls.ts failed (exit ${tls.exitCode}): TLS results missing.`);
  }
  file.machine.elapsedS = Math.round((performance.now() - t0) / 1000);
  finish(file);
  console.log(`\nwrote bench/RESULTS.md, bench/results.svg, bench/out/results.json (${file.machine.elapsedS} s)`);
}

function describe(sc: ScenarioDef, m: Measurement): string {
  if (m.error) return `ERROR ${m.error}`;
  const f = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(d));
  if (sc.mode === "idle")
    return `${f(m.rssPerConnKiB, 2)} KiB/conn, heap ${f(m.heapPerConnB, 0)} B/conn, idle CPU ${f(m.idleCpuPct, 2)}%, peak ${f(m.peakRssKiB! / 1024, 1)} MiB`;
  return `${f(m.throughput, sc.unit === "MB/s" ? 0 : 0)} ${sc.unit}, p50 ${f(m.p50us, 1)} µs, p99 ${f(m.p99us, 1)} µs, cpu ${f(m.serverCpuS, 2)} s, ${f(m.usPerOp, 2)} µs/op, peak ${f(m.peakRssKiB! / 1024, 1)} MiB${m.warning ? ` (${m.warning})` : ""}`;
}

await main();
