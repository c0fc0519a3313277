// Where does an echo server's time go? Run: bun bench/profile.ts [options]
//
//   --servers a,b      (default netpoll-echo,netpoll-echo-buf,bun-listen,c-epoll)
//   --conns N          echo connections (default 64), 64-byte ping-pong
//   --secs S           measured seconds per server (default 3; 1 s warm-up before)
//   --pace-us U        the client waits U µs after each echo (the paced scenarios)
//   --strace           a second run under `strace -c -f`: syscalls per message
//                      (strace slows the server, so batching differs a little)
//   --cpu-prof         run Bun servers with `bun --cpu-prof --cpu-prof-md
//                      --cpu-prof-interval=100`; prints the top self-time rows
//                      (profiles kept in bench/out/prof/<server>/)
//   --idle N           instead: open N idle conns and diff JSC object counts
//                      per type (bun-netpoll servers; SIGUSR1 → STATS)
//
// Servers on CPU 0, the C client on CPU 1 (as in bench/run.ts). Per message it
// reports server user and system CPU µs, context switches (all threads),
// per-thread CPU, and for bun-netpoll the loop counters from runtimeStats():
// drains, events per drain, bridge arms/rings (cross-thread wakes).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const BENCH = import.meta.dir;
const ROOT = resolve(BENCH, "..");
const OUT = join(BENCH, "out");
const BUN = process.execPath;
const HOST = "127.0.0.1";
const argv = process.argv.slice(2);
const opt = (n: string) => {
  const i = argv.indexOf(n);
  return i >= 0 ? argv[i + 1] : undefined;
};
const servers = (opt("--servers") ?? "netpoll-echo,netpoll-echo-buf,bun-listen,c-epoll").split(",");
const conns = Number(opt("--conns") ?? 64);
const secs = Number(opt("--secs") ?? 3);
const paceUs = Number(opt("--pace-us") ?? 0);
const idleN = opt("--idle") ? Number(opt("--idle")) : 0;
const doStrace = argv.includes("--strace");
const doProf = argv.includes("--cpu-prof");

const CMDS: Record<string, string[]> = {
  "netpoll-echo": ["bench/servers/netpoll-echo.ts"],
  "netpoll-echo-buf": ["bench/servers/netpoll-echo-buf.ts"],
  "bun-listen": ["bench/servers/bun-listen-echo.ts"],
  "node-net": ["bench/servers/node-net-echo.ts"],
};
const CLK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const live = new Set<number>();
const killAll = () => {
  for (const p of live) {
    try {
      process.kill(-p, "SIGKILL");
    } catch {}
  }
  live.clear();
};
process.on("exit", killAll);
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => process.exit(130));

if (!existsSync(join(OUT, "echo_client")) || !existsSync(join(OUT, "echo_server"))) {
  mkdirSync(OUT, { recursive: true });
  for (const n of ["echo_server", "echo_client"]) spawnSync("gcc", ["-O2", "-o", join(OUT, n), join(BENCH, "c", `${n}.c`)], { stdio: "inherit" });
}

interface P {
  child: ChildProcess;
  pid: number;
  lines: string[];
  exited: Promise<void>;
}
function start(cmd: string[], env: Record<string, string> = {}, stdin: "ignore" | "pipe" = "ignore"): P {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: [stdin, "pipe", "inherit"], detached: true });
  const pid = child.pid!;
  live.add(pid);
  const lines: string[] = [];
  let part = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    part += d;
    const a = part.split("\n");
    part = a.pop()!;
    lines.push(...a);
  });
  const exited = new Promise<void>((r) =>
    child.on("exit", () => {
      live.delete(pid);
      if (part) lines.push(part);
      r();
    }),
  );
  return { child, pid, lines, exited };
}
async function waitLine(p: P, re: RegExp, from = 0, ms = 15_000): Promise<string> {
  const t = performance.now();
  for (;;) {
    const l = p.lines.slice(from).find((x) => re.test(x));
    if (l) return l;
    if (performance.now() - t > ms) throw new Error(`timeout waiting for ${re}`);
    await sleep(10);
  }
}

interface ThreadCpu {
  user: number;
  sys: number;
  vcs: number;
  ivcs: number;
  byComm: Map<string, number>;
}
function threads(pid: number): ThreadCpu {
  const r: ThreadCpu = { user: 0, sys: 0, vcs: 0, ivcs: 0, byComm: new Map() };
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const comm = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      const u = Number(f[11]) / CLK;
      const s = Number(f[12]) / CLK;
      r.user += u;
      r.sys += s;
      const key = `${comm}`;
      r.byComm.set(key, (r.byComm.get(key) ?? 0) + u + s);
      const status = readFileSync(`/proc/${pid}/task/${t}/status`, "utf8");
      r.vcs += Number(status.match(/^voluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? 0);
      r.ivcs += Number(status.match(/^nonvoluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? 0);
    } catch {}
  }
  return r;
}

async function stats(p: P): Promise<{ extra?: { loop?: Record<string, number> }; objects?: Record<string, number>; heapSize?: number } | null> {
  const from = p.lines.length;
  try {
    process.kill(p.pid, "SIGUSR1");
    const l = await waitLine(p, /^STATS /, from, 5000);
    return JSON.parse(l.slice(6));
  } catch {
    return null;
  }
}

async function startServer(id: string, port: number): Promise<P> {
  let cmd: string[];
  if (id === "c-epoll") cmd = [join(OUT, "echo_server"), String(port), HOST];
  else {
    const prof = doProf ? [`--cpu-prof`, `--cpu-prof-md`, `--cpu-prof-interval=100`, `--cpu-prof-dir=${join(OUT, "prof", id)}`] : [];
    if (doProf) rmSync(join(OUT, "prof", id), { recursive: true, force: true });
    cmd = [BUN, ...prof, ...CMDS[id]!];
  }
  const p = start(["taskset", "-c", "0", ...cmd], { PORT: String(port), HOST });
  await waitLine(p, /listening/);
  await sleep(200);
  return p;
}

async function client(port: number, pid: number, warm: number, dur: number): Promise<Record<string, number>> {
  const c = start(["taskset", "-c", "1", join(OUT, "echo_client"), "--port", String(port), "--conns", String(conns), "--warmup", String(warm), "--duration", String(dur), "--server-pid", String(pid), ...(paceUs > 0 ? ["--pace-us", String(paceUs)] : [])]);
  await c.exited;
  const l = c.lines.find((x) => x.startsWith("{"));
  if (!l) throw new Error("client failed");
  return JSON.parse(l);
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
let port = 24_000 + Math.floor(Math.random() * 4000);

async function profileLoad(id: string): Promise<void> {
  const p = await startServer(id, ++port);
  await client(port, p.pid, 0, 1); // warm-up (JIT), not counted
  const s0 = id.startsWith("netpoll") ? await stats(p) : null;
  const t0 = threads(p.pid);
  const j = await client(port, p.pid, 0, secs);
  const t1 = threads(p.pid);
  const s1 = id.startsWith("netpoll") ? await stats(p) : null;
  const n = j.total_ops!;
  console.log(`\n## ${id}: ${conns} conns, ${f(j.ops_per_s!, 0)} msg/s, p50 ${f(j.p50_us!, 1)} µs, p99 ${f(j.p99_us!, 1)} µs (${n} msgs)`);
  console.log(`other processes during the run: ${f(((j.seconds! * j.ncpu! - j.machine_idle_s! - j.server_cpu_s! - j.client_cpu_s!) / j.seconds!) * 100, 0)} % of a core (distrust the numbers if high)`);
  console.log(`server CPU per msg: user ${f(((t1.user - t0.user) / n) * 1e6)} µs + sys ${f(((t1.sys - t0.sys) / n) * 1e6)} µs = ${f(((t1.user + t1.sys - t0.user - t0.sys) / n) * 1e6)} µs`);
  console.log(`context switches per msg (all threads): voluntary ${f((t1.vcs - t0.vcs) / n, 3)}, involuntary ${f((t1.ivcs - t0.ivcs) / n, 3)}`);
  const per = [...t1.byComm].map(([k, v]) => [k, v - (t0.byComm.get(k) ?? 0)] as const).filter(([, v]) => v > 0.005);
  console.log(`CPU by thread: ${per.map(([k, v]) => `${k} ${f(v)} s (${f((v / n) * 1e6)} µs/msg)`).join(", ")}`);
  const l0 = s0?.extra?.loop;
  const l1 = s1?.extra?.loop;
  if (l0 && l1) {
    const d = (k: string) => (l1[k] ?? 0) - (l0[k] ?? 0);
    console.log(
      `loop per msg: drains ${f(d("drains") / n, 3)}, events ${f(d("events") / n, 3)} (${f(d("events") / Math.max(1, d("drains")), 1)} per drain), ` +
        `bridge arms ${f(d("arms") / n, 3)}, rings ${f(d("rings") / n, 3)}, stale ${d("stale")}; msgs per drain ${f(n / Math.max(1, d("drains")), 1)}`,
    );
  }
  if (doStrace) {
    const file = join(OUT, `strace-${id}.txt`);
    const st = start(["strace", "-c", "-f", "-q", "-o", file, "-p", String(p.pid)]);
    await sleep(500);
    const j2 = await client(port, p.pid, 0, secs);
    process.kill(st.pid, "SIGINT");
    await st.exited;
    const n2 = j2.total_ops!;
    const rows = readFileSync(file, "utf8")
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c.length >= 5 && /^\d/.test(c[3] ?? "") && c.at(-1) !== "total");
    const calls = rows
      .map((c) => ({ name: c.at(-1)!, calls: Number(c[3]), errors: c.length >= 6 ? Number(c[4]) : 0 }))
      .filter((r) => Number.isFinite(r.calls))
      .sort((a, b) => b.calls - a.calls);
    console.log(`syscalls per msg under strace (${f(j2.ops_per_s!, 0)} msg/s traced): ${calls.slice(0, 10).map((r) => `${r.name} ${f(r.calls / n2, 3)}${r.errors ? ` (${f(r.errors / n2, 3)} err)` : ""}`).join(", ")}`);
  }
  if (doProf && id !== "c-epoll") {
    process.kill(p.pid, "SIGTERM");
    await Promise.race([p.exited, sleep(5000)]);
    const dir = join(OUT, "prof", id);
    const md = existsSync(dir) ? readdirSync(dir).find((x) => x.endsWith(".md")) : undefined;
    if (md) {
      const text = readFileSync(join(dir, md), "utf8");
      const hot = text.split("## Hot Functions")[1]?.split("\n").filter((l) => l.startsWith("| ") && /\d/.test(l)).slice(0, 18) ?? [];
      console.log(`CPU profile (self time; includes FFI call + syscall time on the calling line), ${join("bench/out/prof", id, md)}:`);
      console.log("| Self% | Self | Total% | Total | Function | Location |\n|--:|--:|--:|--:|---|---|");
      for (const l of hot) console.log(l.replaceAll(`${ROOT}/`, ""));
    } else console.log("(no profile written)");
  }
  try {
    process.kill(-p.pid, "SIGKILL");
  } catch {}
  await p.exited;
}

async function profileIdle(id: string): Promise<void> {
  const p = await startServer(id, ++port);
  await client(port, p.pid, 0, 0.3);
  await sleep(300);
  const s0 = await stats(p);
  const c = start(["taskset", "-c", "1", join(OUT, "echo_client"), "--port", String(port), "--mode", "idle", "--conns", String(idleN)], {}, "pipe");
  await waitLine(c, /^READY/, 0, 120_000);
  await sleep(1000);
  const s1 = await stats(p);
  c.child.stdin!.end();
  await c.exited;
  try {
    process.kill(-p.pid, "SIGKILL");
  } catch {}
  await p.exited;
  if (!s0 || !s1) {
    console.log(`${id}: no STATS (only bench/servers/*.ts answer SIGUSR1)`);
    return;
  }
  console.log(`\n## ${id}: ${idleN} idle conns, JSC heap ${f((s1.heapSize! - s0.heapSize!) / idleN, 0)} B/conn (heapSize after full GC)`);
  const rows = Object.keys(s1.objects!)
    .map((k) => [k, ((s1.objects![k] ?? 0) - (s0.objects![k] ?? 0)) / idleN] as const)
    .filter(([, v]) => v >= 0.5)
    .sort((a, b) => b[1] - a[1]);
  console.log("objects per conn by type: " + rows.map(([k, v]) => `${k} ${f(v, 1)}`).join(", "));
}

for (const id of servers) {
  if (id !== "c-epoll" && !CMDS[id]) {
    console.log(`unknown server ${id}`);
    continue;
  }
  if (idleN > 0) await profileIdle(id);
  else await profileLoad(id);
}
killAll();
