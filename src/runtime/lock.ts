// FIFO serialisation of one direction of an fd (Go: internal/poll/fd_mutex.go).
// Acquiring an uncontended lock is synchronous; contended callers queue in
// order and may leave the queue through an AbortSignal.

interface Entry {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The queue of a lock held with nobody waiting (shared; never pushed to). */
const HELD: Entry[] = Object.freeze([]) as unknown as Entry[];

export class FifoLock {
  /**
   * null: free; HELD: held, nobody waiting; an array: held, with its waiters
   * (made on first contention: most locks never queue anyone). One field:
   * every connection holds two of these.
   */
  #queue: Entry[] | null = null;

  /** Someone holds the lock (or waits for it). */
  get held(): boolean {
    return this.#queue !== null;
  }

  /** Takes the lock if it is free; false (and nothing queued) if not. */
  tryAcquire(): boolean {
    if (this.#queue !== null) return false;
    this.#queue = HELD;
    return true;
  }

  /** null when taken at once; otherwise a promise that resolves when it is ours. */
  acquire(signal?: AbortSignal): Promise<void> | null {
    if (this.#queue === null) {
      this.#queue = HELD;
      return null;
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const entry: Entry = { resolve, reject, signal, onAbort: undefined };
    if (this.#queue === HELD) this.#queue = [];
    const queue = this.#queue;
    if (signal) {
      entry.onAbort = () => {
        const i = queue.indexOf(entry);
        if (i >= 0) queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", entry.onAbort, { once: true });
    }
    queue.push(entry);
    return promise;
  }

  release(): void {
    const q = this.#queue;
    const next = q === null || q === HELD ? undefined : q.shift();
    if (next === undefined) {
      this.#queue = null;
      return;
    }
    if (next.signal) next.signal.removeEventListener("abort", next.onAbort!);
    next.resolve();
  }
}
