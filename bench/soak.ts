// Soak: examples/http.ts under wrk for a long time with connection churn,
// watching the server for leaks. Not part of CI.
//
//   bun bench/soak.ts                      # 10 minutes
//   SOAK_SECONDS=60 bun bench/soak.ts      # a quick check
//
// Load: wrk runs in slices (30 s, or a quarter of the run if that is
// shorter), alternating -c 64 and -c 256, so every slice boundary closes and
// reopens every connection. Inside a slice a Lua script asks for
// `Connection: close` on a fraction of the requests (SOAK_CLOSE_FRACTION,
// default 0.05), so the server also closes connections itself, and sends a
// POST /echo with a 1 KiB body on 2% of them. Every response must be 2xx.
//
// Measured: the server's VmRSS, open descriptors (/proc/<pid>/fd) and CPU
// every 5 s; the descriptors again after each slice once the load has
// stopped (they must come back to the idle baseline exactly); wrk's request
// count, errors (connect, read, write, timeout, non-2xx) and latency per slice.
//
// Verdict (exit 0 when all hold):
//   - zero wrk errors of any kind, and no "bug"/"connection failed" in the server's output;
//   - RSS flat: per concurrency level (a 256-conn slice holds more memory than
//     a 64-conn one), the mean of the last quarter of the samples at most 10%
//     above the mean of the first quarter, after a warm-up (the first slice,
//     at least 20% of the run); a drop is fine (the GC gave memory back);
//   - descriptors flat: under load, per concurrency level, last quarter at
//     most 10% (+16 for conns caught closing) above the first quarter; and
//     back to the idle baseline exactly after every slice;
//   - the server exits 0 on SIGTERM (graceful shutdown).
//
// Options (environment): SOAK_SECONDS (600), SOAK_SLICE_SECONDS (30),
// SOAK_CLOSE_FRACTION (0.05), SOAK_SAMPLE_MS (5000), SOAK_OUT (also write the
// JSON report to this file), SOAK_RESULTS=1 (also write the "Soak" section of
// bench/RESULTS.md: RSS every 30 s, fds, errors, requests, the verdict).
// `bun bench/soak.ts --section report.json` writes that section from a saved
// report without running anything (SOAK_NOTE: a line added to it, e.g. the
// machine's load during the run). wrk is installed with apt-get when missing and
// running as root. The server is pinned to CPU 0 and wrk to CPU 1 when
// taskset exists (2-core machines: one core each).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BUN = process.execPath;

function envNum(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

const SECONDS = envNum("SOAK_SECONDS", 600);
const SLICE_S = Math.max(5, Math.min(envNum("SOAK_SLICE_SECONDS", 30), Math.floor(SECONDS / 4)));
const CLOSE_FRACTION = Math.min(1, envNum("SOAK_CLOSE_FRACTION", 0.05));
const SAMPLE_MS = envNum("SOAK_SAMPLE_MS", 5000);
const CONCURRENCY = [64, 256];
const FLAT_TOLERANCE = 0.1;
/** Descriptors a sample may catch in conns being closed (Connection: close, slice ends). */
const FD_SLACK = 16;
/** After a slice: time for wrk's closes and the server's linger (500 ms) to finish. */
const SETTLE_MS = 1500;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (msg: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ------------------------------------------------------------------ tools

function which(cmd: string): string | null {
  return Bun.which(cmd);
}

function ensureWrk(): string {
  const found = which("wrk");
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error("wrk is not installed (and not root, so not installing it): apt-get install wrk");
  log("wrk missing: apt-get install -y wrk");
  for (const args of [["update"], ["install", "-y", "wrk"]]) {
    const r = spawnSync("apt-get", args, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed`);
  }
  const now = which("wrk");
  if (!now) throw new Error("wrk still missing after apt-get install");
  return now;
}

const TASKSET = which("taskset");
function pinned(cpu: number, argv: string[]): string[] {
  return TASKSET ? [TASKSET, "-c", String(cpu), ...argv] : argv;
}

// ------------------------------------------------------------------ /proc

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : -1;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const TICKS = 100; // USER_HZ
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS; // utime, stime (fields 14, 15)
}

// ------------------------------------------------------------------ the server

interface Server {
  pid: number;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
  kill: (sig: NodeJS.Signals) => void;
}

async function startServer(): Promise<Server> {
  const argv = pinned(0, [BUN, "examples/http.ts"]);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const { promise: listening, resolve: onPort } = Promise.withResolvers<number>();
  const onData = (d: Buffer) => {
    text += d.toString();
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
    if (m) onPort(Number(m[1]));
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  void exited.then(() => onPort(-1));
  const port = await Promise.race([listening, sleep(10_000).then(() => -1)]);
  if (port <= 0) {
    child.kill("SIGKILL");
    throw new Error(`examples/http.ts did not start:\n${text}`);
  }
  return { pid: child.pid!, port, output: () => text, exited, kill: (sig) => child.kill(sig) };
}

// ------------------------------------------------------------------ wrk

const LUA = `
-- bench/soak.ts: keep-alive GET / with Connection: close on a fraction of
-- the requests, and a POST /echo with a 1 KiB body on 2% of them.
-- The requests are built in init(): wrk sets the Host header only after the
-- script has loaded (without it every HTTP/1.1 request is a 400).
local close_fraction = ${CLOSE_FRACTION}
local keep, close, post
init = function(args)
  keep = wrk.format("GET", "/")
  close = wrk.format("GET", "/", { ["Host"] = wrk.headers["Host"], ["Connection"] = "close" })
  post = wrk.format("POST", "/echo", { ["Host"] = wrk.headers["Host"], ["Content-Type"] = "application/octet-stream" }, string.rep("x", 1024))
  math.randomseed(os.time())
end
request = function()
  local r = math.random()
  if r < close_fraction then return close end
  if r < close_fraction + 0.02 then return post end
  return keep
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SOAK_JSON {"requests":%d,"bytes":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50us":%d,"p99us":%d,"maxUs":%d}\\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

interface SliceResult {
  index: number;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  idleFdsAfter: number;
}

async function runWrk(wrk: string, script: string, port: number, connections: number, seconds: number): Promise<Omit<SliceResult, "index" | "idleFdsAfter">> {
  const argv = pinned(1, [wrk, "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "5s", "-s", script, `http://127.0.0.1:${port}/`]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  const m = /SOAK_JSON (\{.*\})/.exec(out);
  if (code !== 0 || !m) throw new Error(`wrk failed (exit ${code}):\n${out}`);
  const j = JSON.parse(m[1]!) as Record<string, number>;
  const secs = j.durationUs! / 1e6;
  return {
    connections,
    seconds: +secs.toFixed(2),
    requests: j.requests!,
    rps: Math.round(j.requests! / secs),
    errors: { connect: j.connect!, read: j.read!, write: j.write!, status: j.status!, timeout: j.timeout! },
    p50Ms: +(j.p50us! / 1000).toFixed(3),
    p99Ms: +(j.p99us! / 1000).toFixed(3),
    maxMs: +(j.maxUs! / 1000).toFixed(3),
  };
}

// ------------------------------------------------------------------ analysis

interface Sample {
  t: number;
  rssMiB: number;
  fds: number;
  cpuPct: number;
  connections: number | null;
}

const mean = (xs: number[]) => (xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * First-quarter vs last-quarter means of xs. Flat unless the last quarter
 * grew by more than the tolerance (plus `slack` in absolute units): a leak
 * grows; a drop (the GC giving memory back) is not one.
 */
function flatness(xs: number[], slack = 0): { first: number; last: number; change: number; flat: boolean; n: number } {
  const q = Math.max(1, Math.floor(xs.length / 4));
  const first = mean(xs.slice(0, q));
  const last = mean(xs.slice(-q));
  const change = (last - first) / first;
  return { first: +first.toFixed(2), last: +last.toFixed(2), change: +change.toFixed(4), flat: xs.length >= 2 && last <= first * (1 + FLAT_TOLERANCE) + slack, n: xs.length };
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const wrk = ensureWrk();
  const dir = mkdtempSync(join(tmpdir(), "bnp-soak-"));
  const script = join(dir, "soak.lua");
  writeFileSync(script, LUA);
  const server = await startServer();
  log(`server pid ${server.pid} on port ${server.port}; ${SECONDS} s in ${SLICE_S} s slices (c = ${CONCURRENCY.join(" / ")}), Connection: close on ${(CLOSE_FRACTION * 100).toFixed(1)}% of requests`);
  await sleep(500);
  const idleBaseline = fdCount(server.pid);
  const rssStart = rssKiB(server.pid) / 1024;

  const samples: Sample[] = [];
  const slices: SliceResult[] = [];
  let current: number | null = null;
  const t0 = performance.now();
  let lastCpu = cpuSeconds(server.pid);
  let lastT = t0;
  const sampler = setInterval(() => {
    try {
      const now = performance.now();
      const cpu = cpuSeconds(server.pid);
      samples.push({
        t: +((now - t0) / 1000).toFixed(1),
        rssMiB: +(rssKiB(server.pid) / 1024).toFixed(1),
        fds: fdCount(server.pid),
        cpuPct: +((100 * (cpu - lastCpu)) / ((now - lastT) / 1000)).toFixed(1),
        connections: current,
      });
      lastCpu = cpu;
      lastT = now;
    } catch {
      // The server is gone: the exit check below reports it.
    }
  }, SAMPLE_MS);

  let failure: string | null = null;
  try {
    for (let i = 0; (performance.now() - t0) / 1000 < SECONDS - 1; i++) {
      const left = SECONDS - (performance.now() - t0) / 1000;
      const secs = Math.max(1, Math.min(SLICE_S, Math.floor(left - SETTLE_MS / 1000)));
      const c = CONCURRENCY[i % CONCURRENCY.length]!;
      current = c;
      const r = await runWrk(wrk, script, server.port, c, secs);
      current = null;
      await sleep(SETTLE_MS);
      const idle = fdCount(server.pid);
      slices.push({ index: i, ...r, idleFdsAfter: idle });
      const errs = Object.values(r.errors).reduce((a, b) => a + b, 0);
      log(`slice ${i}: c=${c} ${r.requests} req (${r.rps}/s) p99 ${r.p99Ms} ms, errors ${errs}, idle fds ${idle} (baseline ${idleBaseline}), rss ${(rssKiB(server.pid) / 1024).toFixed(1)} MiB`);
      if (SECONDS - (performance.now() - t0) / 1000 < 3) break;
    }
  } catch (e) {
    failure = String(e);
  } finally {
    clearInterval(sampler);
  }

  // Graceful shutdown: SIGTERM, the server must exit 0.
  server.kill("SIGTERM");
  const exit = await Promise.race([server.exited, sleep(8000).then(() => "timeout" as const)]);
  if (exit === "timeout") server.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });

  // Verdict.
  const warmupS = Math.max(SLICE_S, SECONDS * 0.2);
  const steady = samples.filter((s) => s.t > warmupS);
  const rss = flatness(steady.map((s) => s.rssMiB));
  const rssByC = Object.fromEntries(CONCURRENCY.map((c) => [c, flatness(steady.filter((s) => s.connections === c).map((s) => s.rssMiB))]));
  // Under churn a sample catches a varying number of conns in their close linger: allow FD_SLACK more.
  const fdsByC = Object.fromEntries(CONCURRENCY.map((c) => [c, flatness(steady.filter((s) => s.connections === c).map((s) => s.fds), FD_SLACK)]));
  const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
  for (const s of slices) for (const k of Object.keys(errors) as (keyof typeof errors)[]) errors[k] += s.errors[k];
  const totalErrors = Object.values(errors).reduce((a, b) => a + b, 0);
  const idleLeaks = slices.filter((s) => s.idleFdsAfter !== idleBaseline).map((s) => ({ slice: s.index, fds: s.idleFdsAfter }));
  const badOutput = /bug|connection failed/.test(server.output());
  const fdsFlat = Object.values(fdsByC).every((f) => f.n < 2 || f.flat);
  const rssFlat = Object.values(rssByC).every((f) => f.n < 2 || f.flat);
  const checks = {
    ranToEnd: failure === null,
    zeroErrors: totalErrors === 0,
    rssFlat,
    fdsFlatUnderLoad: fdsFlat,
    fdsBackToIdleBaseline: idleLeaks.length === 0,
    cleanServerOutput: !badOutput,
    gracefulExit0: exit === 0,
  };
  const report = {
    date: new Date().toISOString(),
    loadAvgAtEnd: loadavg().map((x) => +x.toFixed(2)),
    seconds: SECONDS,
    sliceSeconds: SLICE_S,
    closeFraction: CLOSE_FRACTION,
    server: { pid: server.pid, idleFdBaseline: idleBaseline, rssStartMiB: +rssStart.toFixed(1), exit },
    totals: {
      requests: slices.reduce((a, s) => a + s.requests, 0),
      meanRps: Math.round(mean(slices.map((s) => s.rps))),
      errors,
    },
    flatness: { warmupSeconds: warmupS, rssMiB: rssByC, rssMiBAllSamples: rss, fdsUnderLoad: fdsByC, idleFdLeaks: idleLeaks },
    checks,
    pass: Object.values(checks).every(Boolean),
    failure,
    slices,
    samples,
  };
  const json = JSON.stringify(report, null, 2);
  console.log(json);
  if (process.env.SOAK_OUT) writeFileSync(process.env.SOAK_OUT, json + "\n");
  if (process.env.SOAK_RESULTS === "1") writeSection(report as unknown as Report);
  log(`${report.pass ? "PASS" : "FAIL"}: ${Object.entries(checks).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  if (badOutput) log(`server output:\n${server.output()}`);
  return report.pass ? 0 : 1;
}

// ------------------------------------------------------------------ the RESULTS.md section

interface Report {
  date?: string;
  loadAvgAtEnd?: number[];
  seconds: number;
  sliceSeconds: number;
  closeFraction: number;
  server: { idleFdBaseline: number; rssStartMiB: number; exit: number | string | null };
  totals: { requests: number; meanRps: number; errors: Record<string, number> };
  flatness: { warmupSeconds: number; rssMiB: Record<string, { first: number; last: number; change: number; flat: boolean }> };
  checks: Record<string, boolean>;
  pass: boolean;
  slices: SliceResult[];
  samples: Sample[];
}

const BEGIN = "<!-- soak:begin (written by bench/soak.ts) -->";
const END = "<!-- soak:end -->";

/** The sample nearest to t seconds. */
function at(samples: Sample[], t: number): Sample {
  return samples.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a));
}

function renderSection(r: Report): string {
  const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;
  const s1 = at(r.samples, 60);
  const sEnd = at(r.samples, r.seconds);
  const change = (sEnd.rssMiB - s1.rssMiB) / s1.rssMiB;
  const flat = Math.abs(change) <= FLAT_TOLERANCE;
  const errs = Object.entries(r.totals.errors).map(([k, v]) => `${k} ${v}`).join(", ");
  const lines = [
    BEGIN,
    "## Soak (examples/http.ts under wrk with connection churn)",
    "",
    `\`bun bench/soak.ts\`: ${r.seconds} s${r.date ? ` ending ${r.date.slice(0, 16).replace("T", " ")} UTC` : ""}, wrk in ${r.sliceSeconds} s slices alternating -c 64 and -c 256 (every slice boundary closes and reopens every connection), \`Connection: close\` on ${(r.closeFraction * 100).toFixed(0)} % of requests and a 1 KiB POST /echo on 2 %. Server pinned to CPU 0, wrk to CPU 1.${r.loadAvgAtEnd ? ` Load average at the end: ${r.loadAvgAtEnd.join(" / ")} (1 / 5 / 15 min) on 2 cores: other work shared the machine, so the request rates vary from slice to slice.` : ""}`,
    ...(process.env.SOAK_NOTE ? ["", process.env.SOAK_NOTE] : []),
    "",
    `**Verdict: ${r.pass ? "PASS" : "FAIL"}** (${Object.entries(r.checks).map(([k, v]) => `${k} ${v ? "✓" : "✗"}`).join(", ")}).`,
    `RSS at 1 min ${s1.rssMiB} MiB (c=${s1.connections}), at ${Math.round(sEnd.t / 60)} min ${sEnd.rssMiB} MiB (c=${sEnd.connections}): ${pct(change)}, ${flat ? "flat" : "NOT flat"} (flat: within 10 %).`,
    `Per concurrency level after the warm-up (${r.flatness.warmupSeconds} s), mean of the first vs the last quarter of the samples: ${Object.entries(r.flatness.rssMiB).map(([c, f]) => `c=${c} ${f.first} → ${f.last} MiB (${pct(f.change)})`).join("; ")}.`,
    `Requests: ${r.totals.requests.toLocaleString("en-US")} (mean ${r.totals.meanRps.toLocaleString("en-US")}/s over the slices). Errors: ${errs}. Idle descriptors after every slice: ${[...new Set(r.slices.map((s) => s.idleFdsAfter))].join(", ")} (baseline ${r.server.idleFdBaseline}). Graceful exit on SIGTERM: ${r.server.exit}.`,
    "",
    "| t (s) | RSS MiB | fds | server CPU % | wrk conns |",
    "|--:|--:|--:|--:|--:|",
  ];
  for (let t = 30; t <= r.seconds; t += 30) {
    const s = at(r.samples, t);
    lines.push(`| ${t} | ${s.rssMiB} | ${s.fds} | ${s.cpuPct} | ${s.connections ?? "–"} |`);
  }
  lines.push("", "| slice | conns | requests | req/s | p99 ms | errors | idle fds after |", "|--:|--:|--:|--:|--:|--:|--:|");
  for (const s of r.slices) {
    const e = Object.values(s.errors).reduce((a, b) => a + b, 0);
    lines.push(`| ${s.index} | ${s.connections} | ${s.requests.toLocaleString("en-US")} | ${s.rps.toLocaleString("en-US")} | ${s.p99Ms} | ${e} | ${s.idleFdsAfter} |`);
  }
  lines.push(END);
  return lines.join("\n");
}

/** Replaces the soak section of bench/RESULTS.md (between its markers), or appends it. */
function writeSection(r: Report): void {
  const file = join(ROOT, "bench", "RESULTS.md");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const section = renderSection(r);
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  const next = a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + END.length) : `${text.replace(/\n*$/, "\n\n")}${section}\n`;
  writeFileSync(file, next);
  log("wrote the soak section of bench/RESULTS.md");
}

if (process.argv[2] === "--section") {
  const src = process.argv[3];
  if (!src) throw new Error("usage: bun bench/soak.ts --section report.json");
  writeSection(JSON.parse(readFileSync(src, "utf8")) as Report);
  process.exit(0);
}
process.exit(await main());
