// Shared by the bench's JS servers.
//   SIGUSR2 → full GC, then "HEAP <bytes>" (JS heap in use) on stdout: the
//             idle scenario's JS heap per connection.
//   SIGUSR1 → "STATS <json>": extra() (e.g. bun-netpoll's runtimeStats())
//             plus JSC object counts by type after a full GC; used by
//             bench/profile.ts.
//   SIGTERM / SIGINT → process.exit(0), so `bun --cpu-prof` writes its profile.
// None of this costs anything until a signal arrives.
import { heapStats } from "bun:jsc";

export function heapOnSignal(extra?: () => unknown): void {
  process.on("SIGUSR2", () => {
    Bun.gc(true);
    console.log(`HEAP ${process.memoryUsage().heapUsed}`);
  });
  process.on("SIGUSR1", () => {
    const ex = extra?.();
    Bun.gc(true);
    const h = heapStats();
    console.log(`STATS ${JSON.stringify({ extra: ex, heapSize: h.heapSize, objects: h.objectTypeCounts })}`);
  });
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));
}

export const port = Number(process.env.PORT ?? 7000);
export const hostname = process.env.HOST ?? "127.0.0.1";
