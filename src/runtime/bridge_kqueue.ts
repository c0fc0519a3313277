// The wake bridge for kqueue backends: a sleeper Worker blocks in kevent()
// on the main kqueue itself and hands the events it got over to the main
// thread. It relies only on what kqueue(2) promises everywhere (several
// threads may call kevent() on one kqueue; each event goes to one caller),
// not on the kqueue descriptor being pollable: libkqueue's never becomes
// readable, so a bridge watching it would never fire.
//
// Protocol over two SharedArrayBuffers (control words, and the poller's
// KeventHandoff mailbox):
//
//   main  arm():  remember RING, ARM += 1, notify ARM, Atomics.waitAsync(RING)
//   worker:       Atomics.wait(ARM) until it changes; if the mailbox is empty,
//                 kevent(kq, NULL, 0, mailbox, capacity, NULL) (blocks until
//                 an event or the poller's EVFILT_USER wake), then store the
//                 count; RING += 1, notify RING; back to waiting on ARM.
//   main  drain:  poller.poll(0) returns the mailbox's batch first (and empties
//                 it), then asks the kernel with kevent(…, 0) as usual.
//
// The worker writes the mailbox only while its count is 0 and main empties it
// only after copying it out, so a batch is never overwritten or lost, even if
// main polls the kernel itself at the same time (while the worker starts up).
// Main arms only after a drain found nothing, so a busy loop pays no cross-
// thread wake. The worker is unref'd and a pending waitAsync keeps nothing alive.
//
// Measured against an EVFILT_USER-only design: EVFILT_USER lets another
// thread wake a kevent() caller, but something still has to sleep in the
// kernel until a socket event arrives, and only a kevent() on this kqueue
// (or a watch on its descriptor, which is not promised) can. So the sleeper
// takes the events itself and the EVFILT_USER event is what interrupts it
// (poller.wake(), and close()).
import { platform } from "../../ffi/platform.ts";
import { type KqueueSleeperInit, kqueueSleeperMain } from "../../ffi/sleepers.ts";
import { KqueuePoller } from "../poll/kqueue.ts";
import type { Poller } from "../poll/poller.ts";
import type { Bridge, BridgeStats } from "./bridge.ts";

const ARM = 0;
const RING = 1;
const STOP = 2;
const CTL_INTS = 4;

/** How long to poll by timer while the sleeper Worker starts (ms). */
const STARTUP_POLL_MS = 1;

/**
 * The kqueue wake bridge. arm(onWake) calls onWake once the sleeper has
 * handed over a batch (or the poller was woken); the drain's poller.poll(0)
 * then returns that batch. Startup failures reject `started` and are thrown
 * from the next arm().
 */
export class KqueueBridge implements Bridge {
  readonly name = "kqueue";
  readonly cheapArm = false;
  readonly stats: BridgeStats = { arms: 0, rings: 0 };
  readonly #poller: KqueuePoller;
  readonly #ctl: Int32Array;
  readonly #worker: Worker;
  #ready = false;
  #failed: Error | null = null;
  readonly #started = Promise.withResolvers<void>();
  #pending: (() => void) | null = null;
  #armId = 0;
  #startupTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(poller: KqueuePoller) {
    this.#poller = poller;
    const ctl = new SharedArrayBuffer(CTL_INTS * 4);
    this.#ctl = new Int32Array(ctl);
    const h = poller.handoff;
    const init: KqueueSleeperInit = {
      kqueueLib: poller.lib,
      libc: platform.libc,
      errnoLocation: platform.errnoLocation,
      kq: poller.fd,
      ctl,
      mailbox: h.sab,
      eventsOffset: h.offset,
      eventSize: h.eventSize,
      capacity: h.capacity,
      EINTR: platform.errno.codes.EINTR!,
      ARM,
      RING,
      STOP,
    };
    const src = `(${kqueueSleeperMain.toString()})(require("node:worker_threads").workerData, require);`;
    const url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
    this.#worker = new Worker(url, { workerData: init } as WorkerOptions);
    this.#worker.unref();
    // The blob URL must live until the Worker has loaded it.
    this.#worker.onmessage = (e: MessageEvent) => {
      URL.revokeObjectURL(url);
      const data = e.data as { ready?: boolean; error?: number };
      if (data.ready) {
        this.#ready = true;
        this.#stopStartupPoll();
        this.#started.resolve();
      } else if (data.error !== undefined && !this.#closed) {
        this.#fail(new Error(`wake bridge stopped: kevent failed: ${platform.errno.name(data.error)}`));
      }
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      URL.revokeObjectURL(url);
      this.#fail(new Error(`wake bridge failed to start: ${e.message}`));
    };
  }

  // A bridge that fails is reported, never silently replaced by polling.
  #fail(err: Error): void {
    this.#failed = err;
    this.#started.promise.catch(() => {});
    this.#started.reject(err);
    this.#stopStartupPoll();
    const cb = this.#pending;
    this.#pending = null;
    if (cb !== null) queueMicrotask(cb);
    queueMicrotask(() => {
      throw err;
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  get started(): Promise<void> {
    return this.#started.promise;
  }

  arm(onWake: () => void): void {
    if (this.#closed) return;
    if (this.#failed) throw this.#failed;
    this.stats.arms++;
    const ctl = this.#ctl;
    const ring = Atomics.load(ctl, RING);
    Atomics.add(ctl, ARM, 1);
    Atomics.notify(ctl, ARM);
    this.#pending = onWake;
    const id = ++this.#armId;
    const fire = () => this.#fire(id);
    const r = Atomics.waitAsync(ctl, RING, ring);
    if (r.async) r.value.then(fire);
    else queueMicrotask(fire);
    if (!this.#ready) {
      this.#stopStartupPoll();
      this.#startupTimer = setTimeout(fire, STARTUP_POLL_MS);
      this.#startupTimer.unref();
    }
  }

  #fire(id: number): void {
    // Each arm completes once: by its ring or (during startup) by the timer.
    if (id !== this.#armId || this.#pending === null) return;
    this.#stopStartupPoll();
    const cb = this.#pending;
    this.#pending = null;
    this.stats.rings++;
    cb();
  }

  #stopStartupPoll(): void {
    if (this.#startupTimer !== null) {
      clearTimeout(this.#startupTimer);
      this.#startupTimer = null;
    }
  }

  /** Stops the sleeper: call before the poller is closed (its wake interrupts the sleeper's kevent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopStartupPoll();
    Atomics.store(this.#ctl, STOP, 1);
    Atomics.add(this.#ctl, ARM, 1);
    Atomics.notify(this.#ctl, ARM);
    this.#poller.wake();
    this.#worker.terminate();
  }
}

/** The kqueue bridge for a kqueue poller, else null (the caller picks its own). */
export function kqueueBridgeFor(poller: Poller): KqueueBridge | null {
  return poller instanceof KqueuePoller ? new KqueueBridge(poller) : null;
}
