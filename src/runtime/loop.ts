// The loop: one per thread (each Worker has its own). It owns the poller, the
// pollDesc table and the wake bridge, and lives inside Bun's event loop:
//
//   drain():  epoll_wait(…, 0) until a batch comes back short; for each event
//             look the cookie up (stale generation → drop) and mark readiness.
//             Found events → schedule the next drain with setImmediate, so the
//             tasks just resumed run and park again first (a macrotask hop).
//             Found nothing → arm the bridge and let Bun's loop sleep.
//
// The main thread never sleeps in the kernel and never polls while idle. The
// process stays alive exactly while a task is parked or something holds the
// loop (a listening socket): one unref'd interval timer is ref'd for that.
import { E } from "../../ffi/platform.ts";
import { createPoller } from "../poll/index.ts";
import type { Poller } from "../poll/poller.ts";
import { HUP, READ, WRITE } from "../poll/poller.ts";
import type { Bridge, BridgeStartError } from "./bridge.ts";
import { createBridge } from "./bridges.ts";
import { hooks } from "./hooks.ts";
import type { PollDesc } from "./poll_desc.ts";
import { Table } from "./table.ts";

/** A wake's drain that finds at most this many events counts as quiet. */
const QUIET_EVENTS = 2;

/** Interval of the keep-alive timer (it never needs to fire). */
const KEEPALIVE_MS = 0x3fffffff;

export interface LoopStats {
  /** The wake bridge in use (`uring`, `worker`). */
  bridge: string;
  /** Why the preferred bridge is not in use (its start error's message), or null. */
  bridgeFallback: string | null;
  drains: number;
  events: number;
  stale: number;
  /** Full batches from a poller that may drop events there, after which every pollDesc retried. */
  fullBatchRetries: number;
  arms: number;
  rings: number;
}

export class Loop {
  readonly poller: Poller;
  readonly table = new Table();
  readonly #bridge: Bridge;
  readonly #fallbackFrom: BridgeStartError | null;
  readonly #keepAlive: ReturnType<typeof setInterval>;
  #scheduled = false;
  #armed = false;
  #closed = false;
  readonly #stats = { drains: 0, events: 0, stale: 0, fullBatchRetries: 0 };

  constructor() {
    this.poller = createPoller();
    let choice: ReturnType<typeof createBridge>;
    try {
      choice = createBridge(this.poller);
    } catch (err) {
      this.poller.close();
      throw err;
    }
    this.#bridge = choice.bridge;
    this.#fallbackFrom = choice.fallbackFrom;
    this.#keepAlive = setInterval(() => {}, KEEPALIVE_MS);
    this.#keepAlive.unref();
    hooks.setAliveListener((alive) => {
      if (alive) this.#keepAlive.ref();
      else this.#keepAlive.unref();
    });
  }

  /** Adds pd to the table and the poller. Returns 0 or an errno. */
  register(pd: PollDesc): number {
    this.table.add(pd);
    const err = this.poller.register(pd.fd, pd.slot, pd.gen);
    if (err !== 0) {
      this.table.remove(pd);
      return err;
    }
    this.#kick();
    return 0;
  }

  /**
   * pd's number names a new file now (the old one was closed and the number
   * reused): registers that file for pd under a fresh cookie, so that late
   * events of the old file go stale. Returns 0, the poller's errno, or
   * EEXIST when another pollDesc of this loop holds the number (nothing is
   * touched then: the registration is that descriptor's).
   */
  reregister(pd: PollDesc): number {
    let taken = false;
    this.table.forEach((o) => {
      if (o !== pd && o.fd === pd.fd) taken = true;
    });
    if (taken) return E.EEXIST;
    // The old file took its registration with it (a kqueue library that
    // misses close(2) has its leftovers deleted by register itself).
    this.table.remove(pd);
    this.table.add(pd);
    const err = this.poller.register(pd.fd, pd.slot, pd.gen);
    if (err === 0) this.#kick();
    return err;
  }

  /** Removes pd from the poller (before its fd is closed) and frees its slot. */
  deregister(pd: PollDesc): number {
    const err = pd.fd >= 0 ? this.poller.deregister(pd.fd) : 0;
    this.table.remove(pd);
    return err;
  }

  /** Resolves once the wake bridge runs (its thread has loaded libc). */
  get ready(): Promise<void> {
    return this.#bridge.started;
  }

  get stats(): LoopStats {
    return {
      bridge: this.#bridge.name,
      bridgeFallback: this.#fallbackFrom?.message ?? null,
      ...this.#stats,
      arms: this.#bridge.stats.arms,
      rings: this.#bridge.stats.rings,
    };
  }

  /** Makes sure a drain will happen: the first registration starts the loop. */
  #kick(): void {
    if (this.#scheduled || this.#armed || this.#closed) return;
    this.#schedule();
  }

  #schedule(): void {
    this.#scheduled = true;
    setImmediate(this.#drain);
  }

  #drain = (): void => {
    this.#scheduled = false;
    this.#drainOnce(false);
  };

  /**
   * One drain. After a wake that found only a few events (a lightly loaded
   * loop), a bridge whose arm is a cheap syscall is armed in this turn,
   * right behind the resumed tasks' continuations (#armAfterTasks), instead
   * of after one more drain a macrotask later; anything they or the kernel
   * add meanwhile completes the armed wait at once.
   */
  #drainOnce(fromWake: boolean): void {
    if (this.#closed) return;
    const found = this.#collect();
    if (found === 0) this.#arm();
    else if (fromWake && found <= QUIET_EVENTS && this.#bridge.cheapArm) this.#armAfterTasks();
    else this.#schedule();
  }

  /** poll(0) until a batch comes back short, marking readiness; returns the events seen. */
  #collect(): number {
    const { poller, table } = this;
    const cap = poller.capacity;
    let found = 0;
    let full = false;
    for (;;) {
      const n = poller.poll(0);
      for (let i = 0; i < n; i++) {
        const slot = poller.slot(i);
        const pd = table.lookup(slot, poller.gen(i));
        if (pd === undefined) {
          if (!poller.isWake(i)) this.#stats.stale++;
          continue;
        }
        const m = poller.modes(i);
        if (m & HUP) {
          pd.hup = true;
          pd.noteSocketError(poller.socketError?.(i) ?? 0);
        }
        if (m & READ) pd.ready(pd.r);
        if (m & WRITE) pd.readyWrite();
      }
      found += n;
      if (n < cap) break;
      full = true;
    }
    if (full && poller.lossyWhenFull) this.#retryAll();
    this.#stats.drains++;
    this.#stats.events += found;
    return found;
  }

  /** After a batch that may have dropped events: every direction retries its syscall. */
  #retryAll(): void {
    this.#stats.fullBatchRetries++;
    this.table.forEach((pd) => {
      pd.ready(pd.r);
      pd.readyWrite();
    });
  }

  #arm(): void {
    this.#armed = true;
    this.#bridge.arm(this.#onWake);
  }

  // The quiet arm runs as a microtask queued behind the resumed tasks'
  // continuations, so its syscall is not on their latency path; it still
  // runs before Bun's loop can sleep (microtasks drain first). #armed is set
  // now: nothing schedules a drain meanwhile, and whatever becomes ready in
  // between completes the armed wait at once.
  #armAfterTasks(): void {
    this.#armed = true;
    queueMicrotask(this.#armQueued);
  }

  #armQueued = (): void => {
    if (!this.#closed) this.#bridge.arm(this.#onWake);
  };

  #onWake = (): void => {
    this.#armed = false;
    this.#drainOnce(true);
  };

  /** Wakes a drain from JS (the poller's coalesced wake). */
  wake(): void {
    this.poller.wake();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    hooks.setAliveListener(null);
    clearInterval(this.#keepAlive);
    this.#bridge.close();
    this.poller.close();
  }
}

let current: Loop | null = null;

/** This thread's loop, created on first use. */
export function getLoop(): Loop {
  if (current === null) {
    current = new Loop();
    // A Worker's descriptors outlive the thread: release the loop's own (the
    // poller, its wake source, the bridge's) when the Worker ends. The main
    // thread's die with the process.
    if (!Bun.isMainThread) {
      const loop = current;
      process.once("exit", () => loop.close());
    }
  }
  return current;
}

/** This thread's loop if one was created. */
export function peekLoop(): Loop | null {
  return current;
}

/**
 * Starts this thread's netpoller if needed and resolves once it is fully up
 * (its wake-bridge thread has loaded libc). Useful before starting another
 * Worker that uses the runtime: the FFI's first dlopen should not run in two
 * threads at once.
 */
export function netpollReady(): Promise<void> {
  const loop = getLoop();
  // The bridge thread is unref'd and a pending promise keeps nothing alive:
  // hold the process while the caller waits, or a Worker awaiting this at
  // top level would exit first.
  hooks.hold(1);
  const release = (): void => hooks.hold(-1);
  return loop.ready.then(release, (err) => {
    release();
    throw err;
  });
}
