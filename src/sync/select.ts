// select, as in Go (runtime/select.go): poll every case once in a random
// order; if none can proceed, park a waiter on every channel, all sharing one
// `done` flag. The first case to fire sets it and settles the select; the
// waiters left on the other channels are dead and skipped lazily by their
// queues (_queue.ts).
import { optionKeys, optionsError } from "../options.ts";
import { type Chan, ChannelError, type RecvWaiter, type SendWaiter } from "./chan.ts";

/** A select case: receive from ch (null never fires, like a nil channel). */
export interface RecvCase<T> {
  readonly recv: Chan<T> | null;
}

/** A select case: send value on ch (null never fires). */
export interface SendCase<T> {
  readonly send: Chan<T> | null;
  readonly value: T;
}

/** A select case that fires when the signal aborts. */
export interface SignalCase {
  readonly signal: AbortSignal;
}

export type SelectCase = RecvCase<unknown> | SendCase<unknown> | SignalCase;

/** Which case fired: its index, and for a receive the value and ok. `index` is -1 for default. */
export interface Selected {
  readonly index: number;
  readonly value: unknown;
  readonly ok: boolean;
}

export interface SelectOptions {
  /** Never wait: if no case is ready, resolve `{ index: -1 }` (Go's `default:`). */
  readonly default?: boolean;
}

const SELECT_KEYS = optionKeys<SelectOptions>({ default: true });
const DEFAULT_SELECTED: Selected = Object.freeze({ index: -1, value: undefined, ok: false });

/**
 * Waits until one of the cases can proceed and performs it. When several are
 * ready, one is chosen uniformly at random; the others are not consumed.
 * With `{ default: true }` it never waits.
 *
 * Errors are rejections of the returned promise.
 * @throws {ChannelError} a send case on a closed channel, as in Go
 * @throws {TypeError} an unknown option
 *
 * ```ts
 * const r = await select([{ recv: jobs }, { recv: after(1000) }, { signal }]);
 * if (r.index === 0) handle(r.value);
 * ```
 */
export function select(cases: readonly SelectCase[], opts?: SelectOptions): Promise<Selected> {
  if (opts !== undefined) {
    const bad = optionsError("select", opts, SELECT_KEYS);
    if (bad !== null) return Promise.reject(bad);
  }
  const order = shuffled(cases.length);
  let ready: Selected | null;
  try {
    ready = pollCases(cases, order);
  } catch (err) {
    return Promise.reject(err);
  }
  if (ready !== null) return Promise.resolve(ready);
  if (opts?.default) return Promise.resolve(DEFAULT_SELECTED);
  return new Promise<Selected>((resolve, reject) => parkCases(cases, order, resolve, reject));
}

/** The first case in `order` that can proceed without waiting, performed; null if none. */
function pollCases(cases: readonly SelectCase[], order: readonly number[]): Selected | null {
  for (const i of order) {
    const c = cases[i]!;
    if ("recv" in c) {
      const got = c.recv?.tryRecv() ?? null;
      if (got !== null) return { index: i, value: got.value, ok: got.ok };
    } else if ("send" in c) {
      if (c.send?.trySend(c.value)) return { index: i, value: undefined, ok: true };
    } else if (c.signal.aborted) {
      return { index: i, value: c.signal.reason, ok: true };
    }
  }
  return null;
}

/** Parks one waiter per case; the first to fire settles the select and retires the rest. */
function parkCases(cases: readonly SelectCase[], order: readonly number[], resolve: (s: Selected) => void, reject: (e: unknown) => void): void {
  const state = { done: false };
  const cleanups: (() => void)[] = [];
  const fire = (s: Selected | null, err?: unknown): void => {
    state.done = true;
    for (const f of cleanups) f();
    if (s === null) reject(err);
    else resolve(s);
  };
  for (const i of order) {
    const c = cases[i]!;
    if ("recv" in c) {
      const w: RecvWaiter<unknown> = { done: false, sel: state, deliver: (value, ok) => fire({ index: i, value, ok }) };
      c.recv?._parkRecv(w);
    } else if ("send" in c) {
      const w: SendWaiter<unknown> = {
        done: false,
        sel: state,
        value: c.value,
        taken: () => fire({ index: i, value: undefined, ok: true }),
        closed: () => fire(null, new ChannelError("send on closed channel")),
      };
      c.send?._parkSend(w);
    } else {
      const sig = c.signal;
      const onAbort = (): void => {
        if (!state.done) fire({ index: i, value: sig.reason, ok: true });
      };
      sig.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => sig.removeEventListener("abort", onAbort));
    }
  }
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
function shuffled(n: number): number[] {
  const a = new Array<number>(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
