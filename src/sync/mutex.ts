// Mutex and RWMutex for tasks (Go's sync.Mutex / sync.RWMutex). Waiters are
// served in FIFO order; an RWMutex lets a waiting writer go before readers
// that arrive after it, so writers are not starved.
import { optionsError, SIGNAL_ONLY, type SignalOptions } from "../options.ts";
import { type Waiter, WaiterQueue } from "./_queue.ts";

interface LockWaiter extends Waiter {
  grant(): void;
}

function park(q: WaiterQueue<LockWaiter>, onGrant: () => void, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const w: LockWaiter = {
      done: false,
      grant: () => {
        w.done = true;
        signal?.removeEventListener("abort", onAbort);
        onGrant();
        resolve();
      },
    };
    const onAbort = () => {
      if (w.done) return;
      w.done = true;
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    q.push(w);
  });
}

/**
 * A mutual exclusion lock for tasks.
 *
 * ```ts
 * await mu.lock();
 * try { balance += x; } finally { mu.unlock(); }
 * ```
 */
export class Mutex {
  #locked = false;
  readonly #q = new WaiterQueue<LockWaiter>();

  /**
   * Resolves once the lock is held by the caller.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  lock(opts?: SignalOptions): Promise<void> {
    if (opts !== undefined) {
      const bad = optionsError("lock", opts, SIGNAL_ONLY);
      if (bad !== null) return Promise.reject(bad);
    }
    if (this.tryLock()) return Promise.resolve();
    return park(this.#q, () => {}, opts?.signal);
  }

  /** Takes the lock if it is free; true on success. */
  tryLock(): boolean {
    if (this.#locked) return false;
    this.#locked = true;
    return true;
  }

  /**
   * Releases the lock, handing it to the next waiter. Throws if not locked.
   *
   * @throws {Error} the mutex is not locked
   */
  unlock(): void {
    if (!this.#locked) throw new Error("sync: unlock of unlocked mutex");
    const next = this.#q.shift();
    if (next === undefined) this.#locked = false;
    else next.grant(); // ownership passes directly; #locked stays true
  }

  get locked(): boolean {
    return this.#locked;
  }
}

/** A reader/writer lock: many readers or one writer. */
export class RWMutex {
  #readers = 0;
  #writer = false;
  readonly #wq = new WaiterQueue<LockWaiter>();
  readonly #rq = new WaiterQueue<LockWaiter>();
  #writersWaiting = 0;

  /**
   * Resolves once a read lock is held. Waits while a writer holds or waits.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  rlock(opts?: SignalOptions): Promise<void> {
    if (opts !== undefined) {
      const bad = optionsError("rlock", opts, SIGNAL_ONLY);
      if (bad !== null) return Promise.reject(bad);
    }
    if (!this.#writer && this.#writersWaiting === 0) {
      this.#readers++;
      return Promise.resolve();
    }
    return park(this.#rq, () => this.#readers++, opts?.signal);
  }

  /**
   * Releases a read lock.
   *
   * @throws {Error} no read lock is held
   */
  runlock(): void {
    if (this.#readers === 0) throw new Error("sync: runlock of unlocked RWMutex");
    this.#readers--;
    if (this.#readers === 0) this.#grantWriter();
  }

  /**
   * Resolves once the write lock is held.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  lock(opts?: SignalOptions): Promise<void> {
    if (opts !== undefined) {
      const bad = optionsError("lock", opts, SIGNAL_ONLY);
      if (bad !== null) return Promise.reject(bad);
    }
    if (!this.#writer && this.#readers === 0) {
      this.#writer = true;
      return Promise.resolve();
    }
    this.#writersWaiting++;
    const p = park(this.#wq, () => {
      this.#writersWaiting--;
      this.#writer = true;
    }, opts?.signal);
    return p.catch((reason) => {
      this.#writersWaiting--;
      // A writer that gave up may have been holding readers back.
      if (!this.#writer && this.#writersWaiting === 0) this.#grantReaders();
      throw reason;
    });
  }

  /**
   * Releases the write lock: waiting readers go first, then the next writer.
   *
   * @throws {Error} the write lock is not held
   */
  unlock(): void {
    if (!this.#writer) throw new Error("sync: unlock of unlocked RWMutex");
    this.#writer = false;
    if (!this.#grantReaders()) this.#grantWriter();
  }

  #grantReaders(): boolean {
    let any = false;
    for (let r = this.#rq.shift(); r !== undefined; r = this.#rq.shift()) {
      r.grant();
      any = true;
    }
    return any;
  }

  #grantWriter(): void {
    if (this.#writer || this.#readers > 0) return;
    this.#wq.shift()?.grant();
  }
}
