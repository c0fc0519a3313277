// A FIFO of waiters with O(1) push/shift and lazy removal: a waiter that was
// settled elsewhere (a select that fired on another case, an abort) is
// marked done and skipped when it reaches the front.

export interface Waiter {
  /** Settled already (by an abort or a close). */
  done: boolean;
  /** A select's shared state: once one case fires, all its waiters are done. */
  readonly sel?: { done: boolean } | undefined;
}

function isDone(w: Waiter): boolean {
  return w.done || (w.sel !== undefined && w.sel.done);
}

export class WaiterQueue<W extends Waiter> {
  #items: (W | undefined)[] = [];
  #head = 0;

  #sweepAt = 64;

  push(w: W): void {
    this.#items.push(w);
    // Waiters settled elsewhere (a select that fired on another channel, an
    // abort) are only skipped when they reach the front; on a queue nobody
    // shifts they would pile up. Sweep them once the queue doubles.
    if (this.#items.length - this.#head >= this.#sweepAt) {
      this.#items = this.#items.slice(this.#head).filter((x) => !isDone(x!));
      this.#head = 0;
      this.#sweepAt = Math.max(64, 2 * this.#items.length);
    }
  }

  /** The first waiter not yet done, removed from the queue; or undefined. */
  shift(): W | undefined {
    while (this.#head < this.#items.length) {
      const items = this.#items;
      const w = items[this.#head]!;
      items[this.#head++] = undefined;
      if (this.#head > 1024 && this.#head * 2 > items.length) {
        this.#items = items.slice(this.#head);
        this.#head = 0;
      }
      if (!isDone(w)) return w;
    }
    return undefined;
  }

  /** The first waiter not yet done, left in place; or undefined. */
  peek(): W | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const w = items[this.#head]!;
      if (!isDone(w)) return w;
      items[this.#head++] = undefined;
    }
    return undefined;
  }

  /** Removes and returns every waiter not yet done. */
  drain(): W[] {
    const out: W[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w);
    return out;
  }
}

/** A node of a WaitList: the waiter itself carries its links. */
export interface Linked {
  prev: Linked | null;
  next: Linked | null;
  /** The list it is in; null when in none. */
  list: WaitList<Linked> | null;
}

/**
 * An intrusive FIFO of waiters (Go's waitq of sudogs): push, shift and
 * remove from anywhere are O(1) and allocate nothing. A waiter that leaves
 * by other means (an abort, a select that fired on another case) is removed
 * at once, so the list holds only live waiters.
 */
export class WaitList<W extends Linked> {
  head: W | null = null;
  #tail: W | null = null;

  get empty(): boolean {
    return this.head === null;
  }

  push(w: W): void {
    w.list = this as WaitList<Linked>;
    w.next = null;
    w.prev = this.#tail;
    if (this.#tail === null) this.head = w;
    else this.#tail.next = w;
    this.#tail = w;
  }

  /** The first waiter, removed; or null. */
  shift(): W | null {
    const w = this.head;
    if (w !== null) this.remove(w);
    return w;
  }

  /** Takes w out (nothing if it is not in this list). */
  remove(w: W): void {
    if (w.list !== (this as WaitList<Linked>)) return;
    const { prev, next } = w;
    if (prev === null) this.head = next as W | null;
    else prev.next = next;
    if (next === null) this.#tail = prev as W | null;
    else next.prev = prev;
    w.prev = w.next = null;
    w.list = null;
  }
}
