// Once: run an initialisation exactly once (Go's sync.Once).

/**
 * ```ts
 * const once = new Once();
 * await once.do(async () => { config = await load(); });
 * ```
 */
export class Once {
  #promise: Promise<void> | null = null;

  /**
   * Runs fn on the first call; every call (concurrent or later) resolves when
   * that first run has finished. If fn throws, the error is returned to every
   * caller and fn is not run again (as in Go).
   */
  do(fn: () => unknown): Promise<void> {
    this.#promise ??= (async () => {
      await fn();
    })();
    return this.#promise;
  }

  get done(): boolean {
    return this.#promise !== null;
  }
}
