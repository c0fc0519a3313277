// The thread's deadline timers (Go: runtime's timer heap): one binary
// min-heap of parked deadlines keyed by monotonic ms, and one unref'd
// setTimeout armed for the earliest. 10,000 idle connections with a
// deadline each cost 10,000 heap slots, not 10,000 timer objects and
// callback closures.
//
// An entry is the object that owns the deadline (a pollDesc Half): its `hi`
// is its index in the heap (-1 when out) and its `deadline` the key, which
// its owner changes only while it is out of the heap (or moves it with
// set). The heap does not re-arm its timer when the earliest entry leaves:
// the timer fires at the old time, finds nothing due, and arms for the new
// earliest (at most one spurious wakeup). It re-arms only when an earlier
// entry arrives.

import { hooks } from "./hooks.ts";
// setTimeout's ceiling (2^31-1 ms): a later deadline re-arms when its timer fires.
import { MAX_TIMER_MS } from "./timer.ts";

/** Something with a deadline in the heap. */
export interface HeapEntry {
  /** Index in the heap; -1 when not in it. Written by the heap only. */
  hi: number;
  /** The key: monotonic ms. Changed only while out of the heap, or followed by set(). */
  readonly deadline: number;
}

/** The heap of parked deadlines and its one timer. */
export class DeadlineHeap<E extends HeapEntry> {
  readonly #items: E[] = [];
  readonly #expire: (e: E) => void;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** When #timer fires (monotonic ms); Infinity when none is armed. */
  #timerAt = Infinity;
  readonly #onTimer = (): void => this.#fire();

  /** expire(e) runs for each entry whose time has come, after it left the heap. */
  constructor(expire: (e: E) => void) {
    this.#expire = expire;
  }

  /** Entries in the heap (each counts as one armed deadline timer in hooks.timers). */
  get size(): number {
    return this.#items.length;
  }

  /** Puts e in the heap at e.deadline, or moves it there if it is in already. */
  set(e: E): void {
    const at = e.deadline;
    if (e.hi >= 0) {
      this.#up(e.hi);
      this.#down(e.hi);
    } else {
      const items = this.#items;
      e.hi = items.length;
      items.push(e);
      this.#up(e.hi);
      hooks.timers(1);
    }
    if (at < this.#timerAt) this.#arm(at);
  }

  /** Takes e out of the heap (nothing if it is not in). */
  delete(e: E): void {
    const i = e.hi;
    if (i < 0) return;
    const items = this.#items;
    const last = items.pop()!;
    e.hi = -1;
    hooks.timers(-1);
    if (last !== e) {
      this.#place(last, i);
      this.#down(i);
      this.#up(last.hi);
    }
    if (items.length === 0) this.#disarm();
  }

  #arm(at: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, Math.ceil(at - performance.now())), MAX_TIMER_MS);
    this.#timerAt = at;
    // Deadline timers never keep the process alive on their own: a parked
    // task does (hooks.parked), and a deadline with nobody parked has no one to wake.
    this.#timer = setTimeout(this.#onTimer, delay);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const items = this.#items;
    const now = performance.now();
    // Each expiry may move other entries (it runs the owner's failure path):
    // look at the root afresh every time.
    while (items.length > 0 && items[0]!.deadline <= now) {
      const e = items[0]!;
      this.delete(e);
      this.#expire(e);
    }
    // Fired early (timer granularity), beyond one timer's reach, or for an
    // entry that has left since: arm for the earliest left.
    if (items.length > 0 && this.#timer === null) this.#arm(items[0]!.deadline);
  }

  #up(i: number): void {
    const e = this.#items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = this.#items[p]!;
      if (pe.deadline <= e.deadline) break;
      this.#place(pe, i);
      i = p;
    }
    this.#place(e, i);
  }

  #down(i: number): void {
    const items = this.#items;
    const e = items[i]!;
    for (let c = 2 * i + 1; c < items.length; c = 2 * i + 1) {
      if (c + 1 < items.length && items[c + 1]!.deadline < items[c]!.deadline) c++;
      const ce = items[c]!;
      if (e.deadline <= ce.deadline) break;
      this.#place(ce, i);
      i = c;
    }
    this.#place(e, i);
  }

  /** Puts e at heap index i and records the index in it. */
  #place(e: E, i: number): void {
    this.#items[i] = e;
    e.hi = i;
  }
}
