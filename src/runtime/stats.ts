// Resource counts for leak checks and diagnostics.
import { openFdCount } from "./fd.ts";
import { hooks } from "./hooks.ts";
import { type LoopStats, peekLoop } from "./loop.ts";
import { pendingLongTimers } from "./timer.ts";

export interface RuntimeStats {
  /** Descriptors registered by the runtime and not yet released. */
  readonly fds: number;
  /** pollDescs in the table. */
  readonly pollDescs: number;
  /** Deadline timers armed. */
  readonly timers: number;
  /** Timers of sleep, after and Ticker pending (each holds one host timer). */
  readonly syncTimers: number;
  /** Tasks parked on a pollDesc. */
  readonly parked: number;
  /** Keep-alive holds (listeners, ref'd handles). */
  readonly holds: number;
  /** The wake bridge in use, and loop counters: drains run, events seen, stale events dropped, bridge arms and rings. */
  readonly loop: LoopStats;
}

/** A snapshot of the runtime's resources on this thread. */
export function runtimeStats(): RuntimeStats {
  const loop = peekLoop();
  const c = hooks.counters;
  return {
    fds: openFdCount(),
    pollDescs: loop?.table.size ?? 0,
    timers: c.timers,
    syncTimers: pendingLongTimers(),
    parked: c.parked,
    holds: c.holds,
    loop: loop?.stats ?? { bridge: "none", bridgeFallback: null, drains: 0, events: 0, stale: 0, fullBatchRetries: 0, arms: 0, rings: 0 },
  };
}
