// Deadlines come in two forms. Absolute, as in Go: wall-clock times (epoch
// ms, a Date, or null/0/Infinity for none). Relative: a timeout of ms from
// now (null/0 for none). Both are kept on the monotonic clock, so a wall
// clock step does not move them.
//
// An absolute deadline given as a number before one year after the epoch is
// taken for a duration passed to the wrong form (setReadDeadline(1000) for
// "one second") and is a RangeError naming both forms, rather than a
// deadline in 1970 that fails every operation at once. A Date is an explicit
// time and is never second-guessed: a past one, however early, is expired.
import { hooks } from "./hooks.ts";
import { LongTimer } from "./timer.ts";

/** An absolute deadline: epoch ms, a Date, or null / 0 / Infinity for none. */
export type Deadline = number | Date | null | undefined;

/** A relative deadline: ms from now, or null / 0 for none (Infinity: none too; negative: expired). */
export type Timeout = number | null | undefined;

/** The earliest and latest times a Date holds are ± this many ms from the epoch. */
const MAX_DATE_MS = 8.64e15;

/** Numbers below this (ms after the epoch: 1971-01-01) are durations, not deadlines. */
export const MIN_DEADLINE_MS = 365 * 86_400_000;

/** The relative form to suggest for an operation that takes an absolute deadline. */
const RELATIVE_FORM: Readonly<Record<string, (ms: number) => string>> = {
  setDeadline: (ms) => `setTimeout(${ms})`,
  setReadDeadline: (ms) => `setReadTimeout(${ms})`,
  setWriteDeadline: (ms) => `setWriteTimeout(${ms})`,
  waitReadable: (ms) => `{ timeout: ${ms} }`,
  waitWritable: (ms) => `{ timeout: ${ms} }`,
  connect: () => "the timeout option",
  connectTls: () => "the timeout option",
};

/**
 * Checks an absolute deadline. TypeError for what is not a number, a Date
 * or null/undefined, or is NaN; RangeError for a finite non-zero number
 * below MIN_DEADLINE_MS, naming the absolute form and the relative one for `op`.
 */
export function checkDeadline(op: string, t: unknown): void {
  if (t === null || t === undefined || t instanceof Date) return;
  if (typeof t !== "number") throw new TypeError(`${op}: deadline must be a number of epoch ms, a Date, or null, got ${typeof t}`);
  if (Number.isNaN(t)) throw new TypeError(`${op}: deadline must be a number of epoch ms, a Date, or null, got NaN`);
  if (t === 0 || !Number.isFinite(t) || t >= MIN_DEADLINE_MS) return;
  const rel = RELATIVE_FORM[op];
  const when = t >= -MAX_DATE_MS ? new Date(t).toISOString() : "before any date";
  throw new RangeError(
    `${op}: deadline ${t} is ${when}, which looks like a duration: pass an absolute time (Date.now() + ${t >= 0 ? t : "ms"}, or a Date)${rel ? ` or use ${rel(t)}` : ""}`,
  );
}

/** Monotonic ms for a deadline; 0 means none. Never returns 0 for a real one. Throws as checkDeadline. */
export function toMono(t: Deadline, op = "deadline"): number {
  checkDeadline(op, t);
  if (t === null || t === undefined) return 0;
  const ms = typeof t === "number" ? t : t.getTime();
  if (ms === 0 || ms === Infinity) return 0;
  if (Number.isNaN(ms)) throw new TypeError(`${op}: deadline must be a number of epoch ms, a Date, or null, got an invalid Date`);
  const mono = wallToMono(ms);
  return mono > 0 ? mono : Number.MIN_VALUE;
}

// Wall-clock ms to monotonic ms. Date.now() is whole milliseconds, so the
// conversion of one deadline moves by up to 1 ms from one call to the next
// (never earlier than the wall clock says). Set on two sockets in turn, one
// deadline would then expire on them up to 1 ms apart, in either order. The
// last conversion is kept for CONVERSION_REUSE_MS: the same deadline given
// again within that time (the same loop over sockets) is the same instant.
// A deadline given later is converted afresh, so a step of the wall clock
// is followed.
const CONVERSION_REUSE_MS = 100;
let lastWall = Number.NaN;
let lastMono = 0;
let lastAt = Number.NEGATIVE_INFINITY;

function wallToMono(ms: number): number {
  const now = performance.now();
  if (ms === lastWall && now - lastAt < CONVERSION_REUSE_MS) return lastMono;
  lastWall = ms;
  lastAt = now;
  lastMono = now + (ms - Date.now());
  return lastMono;
}

/**
 * Calls fire once, when the monotonic time `mono` (performance.now() ms,
 * not 0) has passed; returns the function that cancels it. A LongTimer
 * (chained past setTimeout's reach, re-armed when it fires early) that
 * keeps the process alive and counts in runtimeStats().timers while armed.
 */
export function atMono(mono: number, fire: () => void): () => void {
  hooks.timers(1);
  const t = new LongTimer(mono - performance.now(), () => {
    hooks.timers(-1);
    fire();
  });
  return () => {
    if (!t.pending) return;
    t.cancel();
    hooks.timers(-1);
  };
}

/**
 * Monotonic ms for a timeout of ms from now; 0 means none (null, undefined,
 * 0, Infinity). A negative timeout is already expired. TypeError for a
 * non-number or NaN.
 */
export function timeoutToMono(op: string, ms: Timeout): number {
  if (ms === null || ms === undefined) return 0;
  if (typeof ms !== "number" || Number.isNaN(ms)) {
    throw new TypeError(`${op}: timeout must be a number of ms or null, got ${Number.isNaN(ms) ? "NaN" : typeof ms}`);
  }
  if (ms === 0 || ms === Infinity) return 0;
  return ms > 0 ? performance.now() + ms : Number.MIN_VALUE;
}
