// wrk against the HTTP example, single-threaded (examples/http.ts) and on
// every core (examples/cluster.ts). A quick check with a real load generator,
// not a test: it fails (exit 1) if wrk saw any socket error or any response
// that was not 2xx/3xx, or if a server did not shut down cleanly (SIGTERM →
// exit 0).
//
//   bun bench/http-wrk.ts              # both: examples/http.ts, then the cluster
//   bun bench/http-wrk.ts http         # only examples/http.ts
//   bun bench/http-wrk.ts cluster      # only examples/cluster.ts
//
// Each server starts on a free port (PORT=0, HOST=127.0.0.1; the port is read
// from its "listening on" line) and gets
//
//   wrk -t1 -c64 -d5s --latency http://127.0.0.1:<port>/
//
// With taskset available, wrk runs on CPU 1 and examples/http.ts on CPU 0 (the
// layout of bench/run.ts). The cluster is left unpinned (its Workers are
// meant to spread over the cores; with few cores they share them with wrk).
// Environment: WORKERS (cluster size, default 2), WRK_THREADS (1),
// WRK_CONNECTIONS (64), WRK_DURATION (5s), WRK_PATH (/; e.g. /missing gets
// 404s, which shows the failure path).
//
// wrk comes from `apt-get install -y wrk`: installed automatically when
// missing and running as root, otherwise the script says how and exits 2.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { type SpawnedServer, spawnServer } from "../test/_support/process.ts";

const ROOT = path.resolve(import.meta.dir, "..");
const BUN = process.execPath;
const HOST = "127.0.0.1";
const WORKERS = process.env.WORKERS || "2";
const WRK_THREADS = process.env.WRK_THREADS || "1";
const WRK_CONNECTIONS = process.env.WRK_CONNECTIONS || "64";
const WRK_DURATION = process.env.WRK_DURATION || "5s";
const WRK_PATH = process.env.WRK_PATH || "/";
const STOP_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ wrk

function ensureWrk(): string {
  const found = Bun.which("wrk");
  if (found) return found;
  if (process.getuid?.() !== 0) {
    console.error("wrk is not installed. Install it with:\n  sudo apt-get install -y wrk\nthen run this again.");
    process.exit(2);
  }
  console.log("wrk is not installed; running apt-get install -y wrk");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = spawnSync("apt-get", ["install", "-y", "wrk"], { stdio: "inherit", env });
  if (r.status !== 0) {
    // A fresh image often has no package lists yet.
    spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    r = spawnSync("apt-get", ["install", "-y", "wrk"], { stdio: "inherit", env });
  }
  const after = Bun.which("wrk");
  if (r.status !== 0 || !after) {
    console.error("apt-get install -y wrk failed; install wrk by hand and run this again.");
    process.exit(2);
  }
  return after;
}

interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSec: number;
  transferPerSec: string;
  /** Latency in ms: avg, stdev, max from the thread stats; the percentiles from --latency. */
  latency: { avg: number; stdev: number; max: number; p50: number; p75: number; p90: number; p99: number };
  errors: { connect: number; read: number; write: number; timeout: number };
  non2xx3xx: number;
}

/** "463.21us", "1.20ms", "2.00s", "1.5m" → ms. */
function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(v.trim());
  if (!m) throw new Error(`wrk: cannot read the time ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  return n * { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "us" | "ms" | "s" | "m" | "h"];
}

function parseWrk(out: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk output has no ${what}:\n${out}`);
    return m;
  };
  const lat = need(/^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$/m, "Latency line");
  const pct = (p: number) => toMs(need(new RegExp(`^\\s*${p}%\\s+(\\S+)\\s*$`, "m"), `${p}% latency`)[1]!);
  const total = need(/^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),/m, "request count");
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    requests: Number(total[1]),
    seconds: toMs(`${total[2]}${total[3]}`) / 1000,
    requestsPerSec: Number(need(/^Requests\/sec:\s+([\d.]+)/m, "Requests/sec")[1]),
    transferPerSec: need(/^Transfer\/sec:\s+(\S+)/m, "Transfer/sec")[1]!,
    latency: { avg: toMs(lat[1]!), stdev: toMs(lat[2]!), max: toMs(lat[3]!), p50: pct(50), p75: pct(75), p90: pct(90), p99: pct(99) },
    // wrk prints these lines only when the counts are not zero.
    errors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    non2xx3xx: non ? Number(non[1]) : 0,
  };
}

// ------------------------------------------------------------------ servers

interface Target {
  name: string;
  file: string;
  env: Record<string, string>;
  /** The startup line; group 1 is the port. */
  listening: RegExp;
  /** CPU list for taskset, or null for unpinned. */
  cpus: string | null;
}

const TARGETS: Record<string, Target> = {
  http: {
    name: "examples/http.ts",
    file: "examples/http.ts",
    env: {},
    listening: /bun-netpoll http listening on http:\/\/127\.0\.0\.1:(\d+)\n/,
    cpus: "0",
  },
  cluster: {
    name: `examples/cluster.ts (WORKERS=${WORKERS})`,
    file: "examples/cluster.ts",
    env: { WORKERS },
    listening: /bun-netpoll cluster listening on http:\/\/127\.0\.0\.1:(\d+) \(\d+ workers\)\n/,
    cpus: null,
  },
};

interface Outcome {
  target: Target;
  wrk: WrkResult | null;
  exitCode: number | string | null;
  problems: string[];
}

async function run(target: Target, wrk: string, taskset: string | null): Promise<Outcome> {
  const problems: string[] = [];
  const serverCmd = [BUN, target.file];
  const cmd = taskset && target.cpus !== null ? [taskset, "-c", target.cpus, ...serverCmd] : serverCmd;
  console.log(`\n=== ${target.name}${taskset && target.cpus !== null ? ` (taskset -c ${target.cpus})` : " (unpinned)"}`);
  let srv: SpawnedServer;
  try {
    srv = await spawnServer(cmd, { cwd: ROOT, env: { PORT: "0", HOST, ...target.env }, ready: target.listening, ms: 20_000, name: "server", killSignal: "SIGKILL" });
  } catch (err) {
    return { target, wrk: null, exitCode: null, problems: [(err as Error).message] };
  }
  const { proc, port } = srv;
  console.log(`server pid ${proc.pid} on port ${port}`);

  let result: WrkResult | null = null;
  const url = `http://${HOST}:${port}${WRK_PATH}`;
  const wrkArgs = [wrk, `-t${WRK_THREADS}`, `-c${WRK_CONNECTIONS}`, `-d${WRK_DURATION}`, "--latency", url];
  const wrkCmd = taskset ? [taskset, "-c", "1", ...wrkArgs] : wrkArgs;
  console.log(`$ ${wrkCmd.map((a) => (a === wrk ? "wrk" : a)).join(" ")}`);
  const w = Bun.spawn(wrkCmd, { stdout: "pipe", stderr: "pipe" });
  const [wout, werr, wcode] = await Promise.all([new Response(w.stdout).text(), new Response(w.stderr).text(), w.exited]);
  process.stdout.write(wout);
  if (werr.trim()) process.stderr.write(werr);
  if (wcode !== 0) problems.push(`wrk exited with code ${wcode}`);
  else {
    try {
      result = parseWrk(wout);
    } catch (err) {
      problems.push(String(err));
    }
  }

  // Graceful stop: SIGTERM, then exit code 0 expected.
  const alive = proc.exitCode === null;
  if (!alive) problems.push(`server died during the run (exit ${proc.exitCode}):\n${srv.output()}`);
  proc.kill("SIGTERM");
  const exitCode = await Promise.race([proc.exited, sleep(STOP_TIMEOUT_MS).then(() => "timeout" as const)]);
  if (exitCode === "timeout") {
    proc.kill("SIGKILL");
    problems.push(`server did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
  } else if (alive && exitCode !== 0) {
    problems.push(`server exited with code ${exitCode} after SIGTERM`);
  }
  await Promise.race([srv.drained, sleep(1000)]);
  const text = srv.output();
  if (/error|bug:|failed/i.test(text)) problems.push(`server output mentions an error:\n${text}`);

  if (result) {
    const e = result.errors;
    const errs = e.connect + e.read + e.write + e.timeout;
    if (errs > 0) problems.push(`socket errors: connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`);
    if (result.non2xx3xx > 0) problems.push(`${result.non2xx3xx} non-2xx/3xx responses`);
    if (result.requests === 0) problems.push("no requests completed");
  }
  return { target, wrk: result, exitCode, problems };
}

// ------------------------------------------------------------------ main

const which = process.argv[2] ?? "all";
const chosen = which === "all" ? ["http", "cluster"] : [which];
for (const c of chosen) {
  if (!(c in TARGETS)) {
    console.error(`unknown target ${JSON.stringify(c)}: use http, cluster or all`);
    process.exit(2);
  }
}

const wrk = ensureWrk();
const taskset = Bun.which("taskset");
if (!taskset) console.log("taskset not found: nothing is pinned");

const outcomes: Outcome[] = [];
for (const c of chosen) outcomes.push(await run(TARGETS[c]!, wrk, taskset));

const f = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
console.log(`\n## wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS} -d${WRK_DURATION} --latency http://${HOST}:<port>${WRK_PATH}\n`);
console.log("| server | requests/s | requests | latency avg | stdev | p50 | p90 | p99 | max | socket errors (c/r/w/t) | non-2xx/3xx | SIGTERM exit |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
for (const o of outcomes) {
  const r = o.wrk;
  const cells = r
    ? [
        r.requestsPerSec.toFixed(0),
        String(r.requests),
        f(r.latency.avg),
        f(r.latency.stdev),
        f(r.latency.p50),
        f(r.latency.p90),
        f(r.latency.p99),
        f(r.latency.max),
        `${r.errors.connect}/${r.errors.read}/${r.errors.write}/${r.errors.timeout}`,
        String(r.non2xx3xx),
      ]
    : Array(10).fill("–");
  console.log(`| ${o.target.name} | ${cells.join(" | ")} | ${o.exitCode ?? "–"} |`);
}
let failed = false;
for (const o of outcomes) {
  for (const p of o.problems) {
    failed = true;
    console.error(`\nFAIL ${o.target.name}: ${p}`);
  }
}
if (!failed) console.log("\nOK: no socket errors, every response 2xx/3xx, every server exited 0 on SIGTERM.");
process.exit(failed ? 1 : 0);
