// Once: run an initialisation exactly once (Go's sync.Once).

/**
 * ```ts
 * const once = new Once();
 * await once.do(async () => { config = await load(); });
 * ```
 */
export class Once {
  #promise: Promise<void> | null = null;
  #done = false;

  /**
   * Runs fn on the first call; every call (concurrent or later) resolves when
   * that first run has finished. If fn throws, the error is returned to every
   * caller and fn is not run again (as in Go).
   *
   * Errors are rejections of the returned promise.
   * @throws {unknown} whatever the first run of fn threw or rejected with, to every caller
   */
  do(fn: () => unknown): Promise<void> {
    this.#promise ??= (async () => {
      try {
        await fn();
      } finally {
        this.#done = true;
      }
    })();
    return this.#promise;
  }

  /** True once the first run has finished (successfully or not). */
  get done(): boolean {
    return this.#done;
  }
}
