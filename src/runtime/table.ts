// The pollDesc table: slots reused through a free list, each with a
// generation bumped on free. The kernel cookie carries (slot, generation); an
// event whose generation no longer matches belongs to a closed fd whose number
// may already be reused, and is dropped (Go issue 59545).
import type { PollDesc } from "./poll_desc.ts";

export class Table {
  readonly #descs: (PollDesc | null)[] = [];
  readonly #gens: number[] = [];
  readonly #free: number[] = [];
  #live = 0;

  /** Puts pd in a slot; sets pd.slot and pd.gen. */
  add(pd: PollDesc): void {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#descs.length;
      this.#descs.push(null);
      this.#gens.push(0);
    }
    this.#descs[slot] = pd;
    pd.slot = slot;
    pd.gen = this.#gens[slot]!;
    this.#live++;
  }

  /** Frees pd's slot and bumps its generation so old cookies go stale. */
  remove(pd: PollDesc): void {
    const slot = pd.slot;
    if (slot < 0 || this.#descs[slot] !== pd) return;
    this.#descs[slot] = null;
    this.#gens[slot] = (this.#gens[slot]! + 1) >>> 0;
    this.#free.push(slot);
    pd.slot = -1;
    this.#live--;
  }

  /** The pd for a cookie, or undefined if the cookie is stale. */
  lookup(slot: number, gen: number): PollDesc | undefined {
    if (slot >= this.#descs.length) return undefined;
    if (this.#gens[slot] !== gen) return undefined;
    return this.#descs[slot] ?? undefined;
  }

  /** Calls fn for every pd in the table (fn may remove pds). */
  forEach(fn: (pd: PollDesc) => void): void {
    const descs = this.#descs;
    for (let i = 0; i < descs.length; i++) {
      const pd = descs[i];
      if (pd != null) fn(pd);
    }
  }

  get size(): number {
    return this.#live;
  }
}
