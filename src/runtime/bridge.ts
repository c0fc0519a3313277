// The wake bridge: how Bun's event loop learns that epoll has events without
// the main thread ever sleeping in the kernel.
//
// Worker doorbell (epoll backend; the fallback where io_uring is refused). A
// small Worker owns an epoll of its own that watches the main poller's fd,
// level-triggered (an epoll fd polls readable while events are pending).
// Protocol over a SharedArrayBuffer:
//
//   main  arm():  remember RING, ARM += 1, notify ARM, Atomics.waitAsync(RING)
//   worker:       Atomics.wait(ARM) until it changes, then epoll_wait(-1) on
//                 its own epoll fd (returns once the main poller has events),
//                 then RING += 1, notify RING, and back to waiting on ARM.
//
// The worker sleeps in the kernel only after main armed it, and main arms only
// after a drain found nothing, so a busy loop pays no cross-thread wake and an
// idle one costs a blocked thread and no CPU. Level triggering on the main
// poller's fd means an event that lands between main's last drain and the
// worker's epoll_wait is still seen. A pending waitAsync does not keep the
// process alive (the loop's keep-alive decides that), and the worker is unref'd.
import { sys } from "../../ffi/libc.ts";
import { type EpollSleeperInit, epollSleeperMain } from "../../ffi/sleepers.ts";
import { C, E, platform } from "../../ffi/platform.ts";

/** Control word indices shared with a sleeper Worker. */
export const ARM = 0;
export const RING = 1;
export const STOP = 2;
const CTL_INTS = 4;

export interface BridgeStats {
  arms: number;
  rings: number;
}

/** A wake bridge could not be set up (its syscall was refused, or its thread failed). */
export class BridgeStartError extends Error {
  readonly bridge: string;
  readonly syscall: string;
  readonly code: string;
  readonly errno: number;
  constructor(bridge: string, syscall: string, errno: number) {
    const code = errno > 0 ? platform.errno.name(errno) : "EINVAL";
    super(`wake bridge ${bridge} failed to start: ${syscall}: ${code}`);
    this.name = "BridgeStartError";
    this.bridge = bridge;
    this.syscall = syscall;
    this.code = code;
    this.errno = errno;
  }
}

export interface Bridge {
  /** Which bridge this is (`uring`, `worker`), as runtimeStats() reports it. */
  readonly name: string;
  /**
   * Arming costs one syscall and a wake it did not need costs little (no
   * thread hop), so the loop may arm right after a quiet drain.
   */
  readonly cheapArm: boolean;
  /** Resolves when the sleeper is running; rejects if it failed to start. */
  readonly started: Promise<void>;
  readonly stats: BridgeStats;
  /** Calls `onWake` once, after the poller has events. At most one arm at a time. */
  arm(onWake: () => void): void;
  close(): void;
}

/** How long to poll by timer while the sleeper Worker starts (ms). */
const STARTUP_POLL_MS = 1;

/** What a sleeper Worker posts to main: ready (with a descriptor it owns), or an errno. */
export interface SleeperMessage {
  ready?: boolean;
  fd?: number;
  error?: number;
}

/**
 * The main side of a sleeper Worker's doorbell (the protocol at the top of
 * this file), shared by the epoll Worker bridge and the kqueue bridge: arm,
 * ring, the startup poll while the Worker loads, failure reporting, stop.
 * A subclass names the sleeper's script and says what its messages mean.
 */
export abstract class SleeperBridge implements Bridge {
  abstract readonly name: string;
  readonly cheapArm = false;
  readonly stats: BridgeStats = { arms: 0, rings: 0 };
  readonly #ctl: Int32Array;
  readonly #worker: Worker;
  #ready = false;
  #failed: Error | null = null;
  readonly #started = Promise.withResolvers<void>();
  #pending: (() => void) | null = null;
  #armId = 0;
  #startupTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  /** The control words a sleeper shares with main (ARM, RING, STOP). */
  static controlWords(): SharedArrayBuffer {
    return new SharedArrayBuffer(CTL_INTS * 4);
  }

  /** Starts `main(init, require)` in an unref'd Worker; `ctl` is controlWords(), also passed in init. */
  protected constructor(ctl: SharedArrayBuffer, main: (init: never, req: (id: string) => unknown) => void, init: object) {
    this.#ctl = new Int32Array(ctl);
    const src = `(${main.toString()})(require("node:worker_threads").workerData, require);`;
    const url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
    this.#worker = new Worker(url, { workerData: init } as WorkerOptions);
    this.#worker.unref();
    // The Worker loads its script asynchronously: the blob URL must live
    // until it has started (revoking it at once makes the start fail).
    this.#worker.onmessage = (e: MessageEvent) => {
      URL.revokeObjectURL(url);
      const data = e.data as SleeperMessage;
      if (data.ready) {
        this.onReady(data, this.#closed);
        this.#ready = true;
        this.#stopStartupPoll();
        this.#started.resolve();
      } else if (data.error !== undefined) {
        const err = this.onError(data, this.#closed);
        if (err !== null) this.#fail(err);
      }
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      URL.revokeObjectURL(url);
      this.#fail(new Error(`wake bridge failed to start: ${e.message}`));
    };
  }

  /** The sleeper is running (`closed`: close() already ran). */
  protected onReady(_data: SleeperMessage, _closed: boolean): void {}
  /** The sleeper reported an errno: the error to fail with, or null. */
  protected abstract onError(data: SleeperMessage, closed: boolean): Error | null;
  /** close() told the sleeper to stop; it is terminated right after. */
  protected abstract onStop(): void;

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
    // Each arm completes once: by its ring, or (during startup) by the timer,
    // whichever comes first; the other completion is stale and ignored.
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

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopStartupPoll();
    Atomics.store(this.#ctl, STOP, 1);
    Atomics.add(this.#ctl, ARM, 1);
    Atomics.notify(this.#ctl, ARM);
    this.onStop();
    this.#worker.terminate();
  }
}

/** The Worker doorbell over epoll (see the top of this file). */
export class WorkerBridge extends SleeperBridge {
  readonly name = "worker";
  /** The sleeper's epoll fd once it reported it; closed here, not by the sleeper. */
  #sleeperFd = -1;

  constructor(pollFd: number) {
    const ctl = SleeperBridge.controlWords();
    const init: EpollSleeperInit = {
      libc: platform.libc,
      pollFd,
      sab: ctl,
      eventSize: platform.epollEvent.size,
      EPOLL_CLOEXEC: C.EPOLL_CLOEXEC,
      EPOLL_CTL_ADD: C.EPOLL_CTL_ADD,
      EPOLLIN: C.EPOLLIN,
      EINTR: E.EINTR!,
      ARM,
      RING,
      STOP,
    };
    super(ctl, epollSleeperMain, init);
  }

  protected override onReady(data: SleeperMessage, closed: boolean): void {
    this.#sleeperFd = data.fd ?? -1;
    if (closed) this.#closeSleeperFd();
  }

  protected override onError(data: SleeperMessage): Error {
    this.#sleeperFd = data.fd ?? -1;
    this.#closeSleeperFd();
    return new Error(`wake bridge failed to start: ${platform.errno.name(data.error!)}`);
  }

  // Safe while the sleeper may still be inside epoll_wait on it: the wait
  // holds its own reference to the file until it returns.
  protected override onStop(): void {
    this.#closeSleeperFd();
  }

  #closeSleeperFd(): void {
    if (this.#sleeperFd < 0) return;
    sys.close(this.#sleeperFd);
    this.#sleeperFd = -1;
  }
}
