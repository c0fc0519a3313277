// FIFO serialisation of one direction of an fd (Go: internal/poll/fd_mutex.go).
// Acquiring an uncontended lock is synchronous; contended callers queue in
// order and may leave the queue through an AbortSignal.

interface Entry {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class FifoLock {
  #locked = false;
  /** Allocated on first contention: most locks never queue anyone. */
  #queue: Entry[] | null = null;

  /** Takes the lock if it is free; false (and nothing queued) if not. */
  tryAcquire(): boolean {
    if (this.#locked) return false;
    this.#locked = true;
    return true;
  }

  /** null when taken at once; otherwise a promise that resolves when it is ours. */
  acquire(signal?: AbortSignal): Promise<void> | null {
    if (!this.#locked) {
      this.#locked = true;
      return null;
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const entry: Entry = { resolve, reject, signal, onAbort: undefined };
    const queue = (this.#queue ??= []);
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
    const next = this.#queue?.shift();
    if (next === undefined) {
      this.#locked = false;
      return;
    }
    if (next.signal) next.signal.removeEventListener("abort", next.onAbort!);
    next.resolve();
  }
}
