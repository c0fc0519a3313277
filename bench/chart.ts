// Plain SVG bar chart of the bench results: one block per scenario, one bar
// per server; left panel throughput (msg/s, MB/s, req/s), right panel server
// CPU µs per op. For the idle scenario: RSS growth per conn and idle CPU %.
// Bars are scaled per scenario and panel. No dependencies.
// Standalone: bun bench/chart.ts [bench/out/results.json]  → bench/results.svg
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ResultsFile, summarize } from "./types.ts";

const COLORS: Record<string, string> = {
  "netpoll-echo": "#1b7f3b",
  "netpoll-echo-buf": "#5cbf6e",
  "netpoll-http": "#1b7f3b",
  "bun-listen": "#e8891c",
  "bun-serve": "#e8891c",
  "node-net": "#4a78c2",
  "node-http": "#4a78c2",
  "c-epoll": "#7a7a7a",
  "go-net": "#17a2b8",
  "go-http": "#17a2b8",
};

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function fmt(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  if (x >= 100_000) return `${(x / 1000).toFixed(0)}k`;
  if (x >= 10_000) return `${(x / 1000).toFixed(1)}k`;
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x >= 0.1 || x === 0 ? x.toFixed(2) : x.toFixed(3);
}

export function renderSvg(file: ResultsFile): string {
  const sum = summarize(file);
  const W = 1120;
  const labelX = 262;
  const p1 = { x: 272, w: 330 };
  const p2 = { x: 742, w: 300 };
  const row = 17;
  const out: string[] = [];
  let y = 56;
  for (const sc of file.scenarios) {
    const servers = file.servers.filter((s) => s.kind === sc.kind && sum.has(`${sc.id}/${s.id}`));
    if (servers.length === 0) continue;
    const idle = sc.mode === "idle";
    const leftKey = idle ? "rssPerConnKiB" : "throughput";
    const rightKey = idle ? "idleCpuPct" : "usPerOp";
    const leftName = idle ? "RSS growth, KiB per conn (lower is better)" : `${sc.unit} (higher is better)`;
    const rightName = idle ? "idle CPU % (lower is better)" : `server CPU µs per ${sc.mode === "bulk" ? "64 KiB" : sc.kind === "http" ? "request" : "message"} (lower is better)`;
    const vals = servers.map((s) => sum.get(`${sc.id}/${s.id}`)!.med);
    const maxL = Math.max(1e-9, ...vals.map((v) => v[leftKey] ?? 0).filter(Number.isFinite));
    const maxR = Math.max(1e-9, ...vals.map((v) => v[rightKey] ?? 0).filter(Number.isFinite));
    out.push(`<text x="10" y="${y + 12}" class="h">${esc(sc.title)}</text>`);
    out.push(`<text x="${p1.x}" y="${y + 12}" class="u">${esc(leftName)}</text>`);
    out.push(`<text x="${p2.x}" y="${y + 12}" class="u">${esc(rightName)}</text>`);
    y += 18;
    servers.forEach((s, i) => {
      const v = vals[i]!;
      const color = COLORS[s.id] ?? "#999";
      const yy = y + i * row;
      out.push(`<text x="${labelX}" y="${yy + 12}" class="l">${esc(s.label)}</text>`);
      const bar = (px: { x: number; w: number }, x: number | undefined, max: number) => {
        if (x === undefined || !Number.isFinite(x)) {
          out.push(`<text x="${px.x + 2}" y="${yy + 12}" class="v">n/a</text>`);
          return;
        }
        const w = Math.max(1, (Math.max(0, x) / max) * px.w);
        out.push(`<rect x="${px.x}" y="${yy + 2}" width="${w.toFixed(1)}" height="${row - 4}" fill="${color}"/>`);
        out.push(`<text x="${(px.x + w + 4).toFixed(1)}" y="${yy + 12}" class="v">${fmt(x)}</text>`);
      };
      bar(p1, v[leftKey], maxL);
      bar(p2, v[rightKey], maxR);
    });
    y += servers.length * row + 14;
    out.push(`<line x1="10" x2="${W - 10}" y1="${y - 7}" y2="${y - 7}" stroke="#ddd"/>`);
  }
  const H = y + 10;
  const m = file.machine;
  const sub = `${m.nproc} cores, ${m.cpuModel}; Bun ${m.bun}; median of ${file.config.runs} round(s)${file.config.quick ? " (--quick)" : ""}; servers on CPU 0, load generators on CPU 1`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    "<style>.t{font-size:17px;font-weight:bold}.s{font-size:11px;fill:#555}.h{font-size:13px;font-weight:bold}.u{font-size:11px;fill:#555}.l{font-size:11px;text-anchor:end}.v{font-size:10px;fill:#222}</style>",
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="24" class="t">bun-netpoll vs Bun, node:* on Bun, C epoll and Go</text>`,
    `<text x="10" y="42" class="s">${esc(sub)}</text>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}

if (import.meta.main) {
  const bench = import.meta.dir;
  const path = process.argv[2] ?? join(bench, "out", "results.json");
  const file = JSON.parse(readFileSync(path, "utf8")) as ResultsFile;
  writeFileSync(join(bench, "results.svg"), renderSvg(file));
  console.log("wrote bench/results.svg");
}
