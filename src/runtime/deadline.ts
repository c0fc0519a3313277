// Deadlines arrive as absolute wall-clock times (epoch ms, a Date, or
// null/0/Infinity for none) and are kept on the monotonic clock, so a wall
// clock step does not move them.

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
