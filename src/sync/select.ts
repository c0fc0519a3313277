// select, as in Go (runtime/select.go): of the cases that can proceed at
// once, perform one chosen uniformly at random; if none can, park a waiter on
// every channel (and a listener on every signal), all chained to one shared
// state. The first case to fire settles the select and takes the other
// waiters off their channels' queues at once, as Go's selectgo dequeues its
// sudogs: nothing is left behind on a channel nobody uses again.
import { optionKeys, optionsError } from "../options.ts";
import type { Linked, WaitList } from "./_queue.ts";
import { type Chan, ChannelError, type RecvWaiter, type SendWaiter, settle } from "./chan.ts";

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
  let ready: Selected | null;
  try {
    ready = pollCases(cases);
  } catch (err) {
    return Promise.reject(err);
  }
  if (ready !== null) return Promise.resolve(ready);
  if (opts?.default) return Promise.resolve(DEFAULT_SELECTED);
  const p = new Promise<Selected>(capture);
  const state = new SelectState(nextResolve!, nextReject!);
  nextResolve = nextReject = null;
  parkCases(cases, state);
  return p;
}

/**
 * A case that can proceed without waiting, chosen uniformly among those that
 * can (reservoir sampling: the k-th ready case replaces the choice with
 * probability 1/k), and performed; null if none can.
 */
function pollCases(cases: readonly SelectCase[]): Selected | null {
  let pick = -1;
  let k = 0;
  for (let i = 0; i < cases.length; i++) {
    if (canProceed(cases[i]!) && (++k === 1 || Math.random() * k < 1)) pick = i;
  }
  if (pick < 0) return null;
  const c = cases[pick]!;
  if ("recv" in c) {
    const got = c.recv!.tryRecv()!;
    return { index: pick, value: got.value, ok: got.ok };
  }
  if ("send" in c) {
    c.send!.trySend(c.value); // throws ChannelError on a closed channel, as Go panics
    return { index: pick, value: undefined, ok: true };
  }
  return { index: pick, value: c.signal.reason, ok: true };
}

function canProceed(c: SelectCase): boolean {
  if ("recv" in c) return c.recv != null && c.recv._canRecv();
  if ("send" in c) return c.send != null && c.send._canSend();
  return c.signal.aborted;
}

// The parked select's promise is made with one shared executor (no closure per select).
let nextResolve: ((s: Selected) => void) | null = null;
let nextReject: ((err: unknown) => void) | null = null;
function capture(resolve: (s: Selected) => void, reject: (err: unknown) => void): void {
  nextResolve = resolve;
  nextReject = reject;
}

/** A parked select: its promise's settlers and the chain of its case waiters. */
class SelectState {
  done = false;
  first: CaseWaiter | null = null;
  readonly resolve: (s: Selected) => void;
  readonly reject: (err: unknown) => void;

  constructor(resolve: (s: Selected) => void, reject: (err: unknown) => void) {
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Case w fired: retire every other case, then settle (err: reject with it). */
  fire(w: CaseWaiter, s: Selected | null, err: unknown, later: boolean): void {
    this.done = true;
    for (let x = this.first; x !== null; x = x.sib) if (x !== w) x.cancel();
    this.first = null;
    if (s === null) this.reject(err);
    else settle(this.resolve, s, later);
  }
}

/** One case of a parked select. */
abstract class CaseWaiter {
  readonly sel: SelectState;
  readonly index: number;
  /** The next waiter of the same select. */
  sib: CaseWaiter | null = null;

  constructor(sel: SelectState, index: number) {
    this.sel = sel;
    this.index = index;
  }

  /** The select fired on another case: stop waiting here. */
  abstract cancel(): void;
}

class RecvCaseWaiter extends CaseWaiter implements RecvWaiter<unknown> {
  prev: Linked | null = null;
  next: Linked | null = null;
  list: WaitList<Linked> | null = null;

  deliver(value: unknown, ok: boolean, later: boolean): void {
    this.sel.fire(this, { index: this.index, value, ok }, undefined, later);
  }

  cancel(): void {
    this.list?.remove(this);
  }
}

class SendCaseWaiter extends CaseWaiter implements SendWaiter<unknown> {
  prev: Linked | null = null;
  next: Linked | null = null;
  list: WaitList<Linked> | null = null;
  readonly value: unknown;

  constructor(sel: SelectState, index: number, value: unknown) {
    super(sel, index);
    this.value = value;
  }

  taken(later: boolean): void {
    this.sel.fire(this, { index: this.index, value: undefined, ok: true }, undefined, later);
  }

  closed(): void {
    this.sel.fire(this, null, new ChannelError("send on closed channel"), false);
  }

  cancel(): void {
    this.list?.remove(this);
  }
}

/** A signal case: the waiter is its own abort listener. */
class SignalCaseWaiter extends CaseWaiter {
  readonly signal: AbortSignal;

  constructor(sel: SelectState, index: number, signal: AbortSignal) {
    super(sel, index);
    this.signal = signal;
  }

  handleEvent(): void {
    if (!this.sel.done) this.sel.fire(this, { index: this.index, value: this.signal.reason, ok: true }, undefined, false);
  }

  cancel(): void {
    this.signal.removeEventListener("abort", this);
  }
}

/** Parks one waiter per case (none for a null channel: it never fires). */
function parkCases(cases: readonly SelectCase[], state: SelectState): void {
  let last: CaseWaiter | null = null;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    let w: CaseWaiter;
    if ("recv" in c) {
      if (c.recv == null) continue;
      const r = new RecvCaseWaiter(state, i);
      c.recv._parkRecv(r);
      w = r;
    } else if ("send" in c) {
      if (c.send == null) continue;
      const s = new SendCaseWaiter(state, i, c.value);
      c.send._parkSend(s);
      w = s;
    } else {
      const g = new SignalCaseWaiter(state, i, c.signal);
      c.signal.addEventListener("abort", g, { once: true });
      w = g;
    }
    if (last === null) state.first = w;
    else last.sib = w;
    last = w;
  }
}
