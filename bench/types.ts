// Shapes shared by bench/run.ts, bench/report.ts and bench/chart.ts.

export interface ServerDef {
  id: string;
  label: string;
  kind: "echo" | "http";
  /** Family, for ratios and colours: bun-netpoll, Bun's own servers, node:* on Bun, C, Go. */
  peer: "netpoll" | "bun" | "node" | "c" | "go";
  cmd: string[];
  env?: Record<string, string>;
  /** Pass PORT HOST as arguments (the C server) instead of only env. */
  portArg?: boolean;
  /** A file that must exist, else the server is skipped with a note. */
  needs?: string;
}

export interface ScenarioDef {
  id: string;
  title: string;
  kind: "echo" | "http";
  mode: "ping" | "bulk" | "wrk" | "idle";
  conns: number;
  size?: number;
  pipeline?: number;
  /** Paced echo: the client waits this long after each echo before the next message (µs). */
  paceUs?: number;
  /** Unit of `throughput` (for idle10k: RSS growth KiB per conn, lower is better). */
  unit: string;
}

export interface Measurement {
  scenario: string;
  server: string;
  round: number;
  error?: string;
  warning?: string;
  /** msg/s, MB/s, req/s; for idle10k the RSS growth per conn (KiB). */
  throughput?: number;
  opsPerSec?: number;
  p50us?: number;
  p99us?: number;
  /** Server CPU seconds (utime+stime, /proc/<pid>/stat) over the window. */
  serverCpuS?: number;
  /** Server CPU µs per op (message, 64 KiB block, request). */
  usPerOp?: number;
  clientCpuS?: number;
  seconds?: number;
  /** VmHWM of the server process at the end of the scenario. */
  peakRssKiB?: number;
  rssPerConnKiB?: number;
  heapPerConnB?: number;
  /** Idle CPU % over the idle window, from per-thread schedstat (ns). */
  idleCpuPct?: number;
  /** Same from /proc/<pid>/stat ticks (10 ms resolution). */
  idleCpuStatPct?: number;
  connectMs?: number;
  /** CPU used by other processes during the window, % of one core (machine busy − server − client). */
  otherCpuPct?: number;
  /** Other processes' load just before the server started (after the quiet gate). */
  quietPct?: number;
  /** Measured twice because the first window was disturbed; the quieter one is kept. */
  retried?: boolean;
  rssBeforeKiB?: number;
  rssAfterKiB?: number;
}

export interface ResultsFile {
  machine: {
    nproc: number;
    cpuModel: string;
    kernel: string;
    bun: string;
    go: string;
    wrk: string;
    gcc: string;
    date: string;
    memTotal: string;
    nofile: string;
    elapsedS?: number;
  };
  config: { runs: number; warmup: number; echoSecs: number; httpSecs: number; idleConns: number; idleSecs: number; quick: boolean };
  scenarios: ScenarioDef[];
  servers: ServerDef[];
  runs: Measurement[];
  notes: string[];
}

const NUM_KEYS = [
  "throughput",
  "opsPerSec",
  "p50us",
  "p99us",
  "serverCpuS",
  "usPerOp",
  "clientCpuS",
  "peakRssKiB",
  "rssPerConnKiB",
  "heapPerConnB",
  "idleCpuPct",
  "idleCpuStatPct",
  "connectMs",
  "otherCpuPct",
] as const;
export type NumKey = (typeof NUM_KEYS)[number];

export interface Summary {
  scenario: string;
  server: string;
  n: number;
  errors: string[];
  warnings: string[];
  med: Partial<Record<NumKey, number>>;
  min: Partial<Record<NumKey, number>>;
  max: Partial<Record<NumKey, number>>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median (and range) per metric over the rounds of each (scenario, server). */
export function summarize(file: ResultsFile): Map<string, Summary> {
  const out = new Map<string, Summary>();
  for (const m of file.runs) {
    const k = `${m.scenario}/${m.server}`;
    let s = out.get(k);
    if (!s) {
      s = { scenario: m.scenario, server: m.server, n: 0, errors: [], warnings: [], med: {}, min: {}, max: {} };
      out.set(k, s);
    }
    if (m.error) s.errors.push(m.error);
    if (m.warning) s.warnings.push(m.warning);
  }
  for (const s of out.values()) {
    const rows = file.runs.filter((m) => m.scenario === s.scenario && m.server === s.server && !m.error);
    s.n = rows.length;
    for (const key of NUM_KEYS) {
      const xs = rows.map((r) => r[key]).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
      if (xs.length === 0) continue;
      s.med[key] = median(xs);
      s.min[key] = Math.min(...xs);
      s.max[key] = Math.max(...xs);
    }
  }
  return out;
}
