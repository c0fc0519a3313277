// A FIFO of waiters with O(1) push/shift and lazy removal: a waiter that was
// settled elsewhere (a select that fired on another case, an abort) is
// marked done and skipped when it reaches the front.

export interface Waiter {
  /** Settled already (by another select case, an abort or a close). */
  done: boolean;
}

export class WaiterQueue<W extends Waiter> {
  #items: (W | undefined)[] = [];
  #head = 0;

  push(w: W): void {
    this.#items.push(w);
  }

  /** The first waiter not yet done, removed from the queue; or undefined. */
  shift(): W | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const w = items[this.#head]!;
      items[this.#head++] = undefined;
      if (this.#head > 1024 && this.#head * 2 > items.length) {
        this.#items = items.slice(this.#head);
        this.#head = 0;
      }
      if (!w.done) return w;
    }
    return undefined;
  }

  /** The first waiter not yet done, left in place; or undefined. */
  peek(): W | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const w = items[this.#head]!;
      if (!w.done) return w;
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
