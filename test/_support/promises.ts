// Watching promises in tests: a promise's settlement seen without awaiting
// it, the reason it rejects with, bounded waits, and a guard that fails a
// test at once when an error escapes a go() task.
import { setTaskErrorHandler } from "../../src/index.ts";
import { sleep } from "./time.ts";

/** What a watched promise has done so far; see settlement(). */
export interface Settlement<T> {
  /** The promise has resolved or rejected. */
  readonly settled: boolean;
  /** It resolved (false while pending and after a rejection). */
  readonly ok: boolean;
  /** It rejected. */
  readonly rejected: boolean;
  /** The value it resolved with. */
  readonly value: T | undefined;
  /** The reason it rejected with. */
  readonly error: unknown;
  /** performance.now() when it settled (0 while pending). */
  readonly at: number;
  /** The watched promise itself, to await. */
  readonly p: Promise<T>;
}

/**
 * Watches p without awaiting it: the returned record fills in when p settles
 * (its handlers are attached at once, so it settles in the same microtask
 * turn as a direct p.then would). Never throws; p's rejection is handled.
 */
export function settlement<T>(p: Promise<T>): Settlement<T> {
  const s = { settled: false, ok: false, rejected: false, value: undefined as T | undefined, error: undefined as unknown, at: 0, p };
  p.then(
    (v) => Object.assign(s, { settled: true, ok: true, value: v, at: performance.now() }),
    (e) => Object.assign(s, { settled: true, rejected: true, error: e, at: performance.now() }),
  );
  return s;
}

/**
 * The reason p rejects with. Throws if p resolves; a resolved value that can
 * be closed (a conn that should not exist) is closed first so it does not
 * leak into later tests.
 */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  let v: unknown;
  try {
    v = await p;
  } catch (e) {
    return e;
  }
  if (v && typeof v === "object" && "close" in v && typeof v.close === "function") {
    await Promise.resolve(v.close()).catch(() => {});
  }
  throw new Error(`expected a rejection, got ${String(v)}`);
}

/** The error fn throws synchronously; throws if fn returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a synchronous throw");
}

/** Whether cond() comes to hold within ms (polled every few ms). Never throws. */
export async function reached(cond: () => boolean, ms: number, every = 2): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) return false;
    await sleep(every);
  }
  return true;
}

/** Waits until cond() holds (polled every ms); throws naming label if it does not within ms. */
export async function until(cond: () => boolean, ms = 1000, label = "until"): Promise<void> {
  if (!(await reached(cond, ms, 1))) throw new Error(`${label}: not reached within ${ms} ms`);
}

/** p, or a rejection naming label if p is still pending after ms. */
export function within<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Runs fn with a task error handler installed: the first error escaping a
 * go() task fails the test at once (instead of surfacing later as an
 * uncaught exception in another test, or as a deadlock when the task that
 * died was needed). The previous handler is restored afterwards.
 */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const prev = setTaskErrorHandler((err) => fail(err));
  let ok = false;
  try {
    const v = await Promise.race([fn(), failed]);
    ok = true;
    return v;
  } finally {
    // After a failure the failed test's tasks may still be running and
    // throwing: log those instead of letting them fail the tests after it.
    setTaskErrorHandler(ok ? prev : (err) => console.error("task error after a failed test:", err));
  }
}
