// Deadlines arrive as absolute wall-clock times (epoch ms, a Date, or
// null/0/Infinity for none) and are kept on the monotonic clock, so a wall
// clock step does not move them.
import { hooks } from "./hooks.ts";

/** An absolute deadline: epoch ms, a Date, or null / 0 / Infinity for none. */
export type Deadline = number | Date | null | undefined;

/** Monotonic ms for a deadline; 0 means none. Never returns 0 for a real one. */
export function toMono(t: Deadline): number {
  if (t === null || t === undefined) return 0;
  if (typeof t !== "number" && !(t instanceof Date)) {
    throw new TypeError(`deadline must be a number of epoch ms, a Date, or null, got ${typeof t}`);
  }
  const ms = typeof t === "number" ? t : t.getTime();
  if (ms === 0 || ms === Infinity) return 0;
  if (Number.isNaN(ms)) throw new TypeError("deadline must be a number of epoch ms, a Date, or null");
  const mono = performance.now() + (ms - Date.now());
  return mono > 0 ? mono : Number.MIN_VALUE;
}

/** The longest delay one setTimeout takes (a larger one fires at once). */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * Calls fire once, when the monotonic time `mono` (performance.now() ms,
 * not 0) has passed; returns the function that cancels it. The timer keeps
 * the process alive, and counts in runtimeStats().timers while armed. A
 * timer that fires early (granularity, or a deadline beyond one timer's
 * reach) is armed again for the rest.
 */
export function atMono(mono: number, fire: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const arm = (): void => {
    const delay = Math.min(Math.max(0, Math.ceil(mono - performance.now())), MAX_TIMER_MS);
    timer = setTimeout(() => {
      if (performance.now() < mono) return arm();
      timer = null;
      hooks.timers(-1);
      fire();
    }, delay);
  };
  hooks.timers(1);
  arm();
  return () => {
    if (timer === null) return;
    clearTimeout(timer);
    timer = null;
    hooks.timers(-1);
  };
}
