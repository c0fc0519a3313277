// kqueue backend (macOS, FreeBSD; libkqueue on Linux). Go:
// runtime/netpoll_kqueue.go; mio: sys/unix/selector/kqueue.rs.
//
// Each fd gets EVFILT_READ and EVFILT_WRITE with EV_ADD|EV_CLEAR (edge-
// triggered) in one kevent() call, udata = the cookie. close(2) removes the
// filters; deregister deletes them explicitly first. The wake source is an
// EVFILT_USER event triggered with NOTE_TRIGGER.
//
// The kevent layout (32 or 64 bytes) and the kqueue numbers are separate
// inputs: libkqueue on Linux uses the 32-byte layout with FreeBSD's numbers.
//
// kqueue(2) does not promise that the kqueue descriptor itself is pollable
// (libkqueue's never becomes readable), so the wake bridge does not watch it:
// a sleeper thread blocks in kevent() on this very kqueue and hands the
// events it got over through `handoff` (runtime/bridge_kqueue.ts); poll()
// returns a handed-over batch before asking the kernel again.
//
// Socket errors: with EV_EOF (or EV_ERROR) set, fflags carries the socket's
// error (BSD's so_error; libkqueue reads it with getsockopt(SO_ERROR), which
// clears it on Linux). socketError(i) reports it so that the operation sees
// it even when SO_ERROR and the retried syscall no longer do.
import type { OsConstants } from "../../ffi/constants/types.ts";
import type { KqueueApi } from "../../ffi/kqueue.ts";
import { errno, setNonblockCloexec, sys } from "../../ffi/libc.ts";
import { type KeventLayout, writeKevent } from "../../ffi/layout.ts";
import { platform } from "../../ffi/platform.ts";
import { HUP, type Poller, PollerOpenError, READ, WAKE_SLOT, WRITE } from "./poller.ts";

/** `struct timespec { time_t tv_sec; long tv_nsec; }` on 64-bit targets. */
const TIMESPEC = { size: 16, sec: 0, nsec: 8 } as const;
const NS_PER_MS = 1_000_000;
const MS_PER_S = 1000;
/** The EVFILT_USER event's ident. */
const WAKE_IDENT = 0;
/** Bytes before the events in a handoff buffer (the count, kept 8-aligned). */
const HANDOFF_HEADER = 8;

/**
 * The mailbox a sleeper thread fills with the events its kevent() returned.
 * One batch at a time: the sleeper writes `events` and then stores `count`
 * only while `count` is 0; poll() copies the batch out, then stores 0.
 */
export class KeventHandoff {
  readonly sab: SharedArrayBuffer;
  /** Index 0: the number of events waiting in the mailbox (0 = empty). */
  readonly count: Int32Array;
  readonly events: Uint8Array;
  /** Byte offset of the events in `sab`. */
  readonly offset = HANDOFF_HEADER;
  constructor(
    readonly eventSize: number,
    readonly capacity: number,
  ) {
    this.sab = new SharedArrayBuffer(HANDOFF_HEADER + eventSize * capacity);
    this.count = new Int32Array(this.sab, 0, 1);
    this.events = new Uint8Array(this.sab, HANDOFF_HEADER, eventSize * capacity);
  }
}

export class KqueuePoller implements Poller {
  readonly name = "kqueue";
  readonly registerSyscall = "kevent";
  readonly fd: number;
  readonly capacity: number;
  /** The kqueue descriptor is not promised to be pollable (see the top of this file). */
  readonly pollableFd = false;
  /** The library kqueue()/kevent() come from. */
  readonly lib: string;
  /** Where a thread blocked in kevent() on this kqueue leaves its events. */
  readonly handoff: KeventHandoff;
  /** A full batch may have dropped events (the library emulates kqueue over epoll: see poller.ts). */
  readonly lossyWhenFull: boolean;
  /**
   * close(2) does not remove a descriptor's filters (a library kqueue over
   * epoll: it is not told of the close), so register() first deletes any
   * filters its number still has.
   */
  readonly missesClose: boolean;
  readonly #api: KqueueApi;
  readonly #L: KeventLayout;
  readonly #K: OsConstants;
  readonly #events: Uint8Array;
  readonly #ev: DataView;
  readonly #changes: Uint8Array;
  readonly #ch: DataView;
  readonly #timeout: Uint8Array;
  readonly #ts: DataView;
  #wakePending = false;
  #closed = false;

  constructor(api: KqueueApi, layout: KeventLayout, constants: OsConstants, opts: { capacity?: number; lossyWhenFull?: boolean; missesClose?: boolean } = {}) {
    const capacity = opts.capacity ?? 256;
    this.lossyWhenFull = opts.lossyWhenFull ?? false;
    this.missesClose = opts.missesClose ?? false;
    this.#api = api;
    this.lib = api.path;
    this.#L = layout;
    this.#K = constants;
    this.capacity = capacity;
    this.#events = new Uint8Array(new ArrayBuffer(layout.size * capacity));
    this.#ev = new DataView(this.#events.buffer);
    this.#changes = new Uint8Array(new ArrayBuffer(layout.size * 2));
    this.#ch = new DataView(this.#changes.buffer);
    this.#timeout = new Uint8Array(new ArrayBuffer(TIMESPEC.size));
    this.#ts = new DataView(this.#timeout.buffer);
    this.handoff = new KeventHandoff(layout.size, capacity);
    const kq = api.kqueue();
    if (kq < 0) throw new PollerOpenError("kqueue", errno());
    try {
      // Verified (F_GETFL / F_GETFD): on a platform where the fcntl binding
      // is wrong this throws FdFlagError at start-up, before any socket.
      setNonblockCloexec(kq);
    } catch (err) {
      sys.close(kq);
      throw err;
    }
    this.fd = kq;
    this.#setChange(0, WAKE_IDENT, constants.EVFILT_USER, constants.EV_ADD | constants.EV_CLEAR, 0, WAKE_SLOT, 0);
    if (api.kevent(kq, this.#changes, 1, null, 0, null) < 0) {
      const e = errno();
      sys.close(kq);
      throw new PollerOpenError("kevent", e);
    }
  }

  #setChange(i: number, ident: number, filter: number, flags: number, fflags: number, slot: number, gen: number): void {
    writeKevent(this.#ch, i * this.#L.size, this.#L, ident, filter, flags, fflags, slot, gen);
  }

  register(fd: number, slot: number, gen: number): number {
    const K = this.#K;
    // A kqueue library that cannot see close(2) keeps the filters of a
    // closed descriptor; EV_ADD on its reused number would only modify them,
    // and the new file would never report. Delete whatever is left first.
    if (this.missesClose) this.deregister(fd);
    const flags = K.EV_ADD | K.EV_CLEAR;
    this.#setChange(0, fd, K.EVFILT_READ, flags, 0, slot, gen);
    this.#setChange(1, fd, K.EVFILT_WRITE, flags, 0, slot, gen);
    return this.#api.kevent(this.fd, this.#changes, 2, null, 0, null) < 0 ? errno() : 0;
  }

  deregister(fd: number): number {
    const K = this.#K;
    this.#setChange(0, fd, K.EVFILT_READ, K.EV_DELETE, 0, 0, 0);
    this.#setChange(1, fd, K.EVFILT_WRITE, K.EV_DELETE, 0, 0, 0);
    return this.#api.kevent(this.fd, this.#changes, 2, null, 0, null) < 0 ? errno() : 0;
  }

  poll(timeoutMs: number): number {
    const n = this.#takeHandoff() || this.#kevent(timeoutMs);
    if (this.#wakePending) {
      for (let i = 0; i < n; i++) if (this.isWake(i)) this.#wakePending = false;
    }
    return n;
  }

  // The sleeper's batch, copied into the batch buffer (0 if none waits).
  #takeHandoff(): number {
    const h = this.handoff;
    const n = Atomics.load(h.count, 0);
    if (n <= 0) return 0;
    this.#events.set(h.events.subarray(0, n * this.#L.size));
    Atomics.store(h.count, 0, 0);
    return n;
  }

  #kevent(timeoutMs: number): number {
    const ts = this.#ts;
    const ms = Math.max(0, timeoutMs);
    ts.setBigInt64(TIMESPEC.sec, BigInt(Math.floor(ms / MS_PER_S)), true);
    ts.setBigInt64(TIMESPEC.nsec, BigInt((ms % MS_PER_S) * NS_PER_MS), true);
    const n = this.#api.kevent(this.fd, null, 0, this.#events, this.capacity, timeoutMs < 0 ? null : this.#timeout);
    if (n < 0) {
      const e = errno();
      if (e === platform.errno.codes.EINTR) return 0;
      throw new PollerOpenError("kevent", e);
    }
    return n;
  }

  slot(i: number): number {
    return this.#ev.getUint32(i * this.#L.size + this.#L.udata, true);
  }

  gen(i: number): number {
    return this.#ev.getUint32(i * this.#L.size + this.#L.udata + 4, true);
  }

  modes(i: number): number {
    const L = this.#L;
    const K = this.#K;
    const at = i * L.size;
    const filter = this.#ev.getInt16(at + L.filter, true);
    const flags = this.#ev.getUint16(at + L.flags, true);
    // EV_ERROR and EV_EOF on the read side wake both directions: the retried
    // syscall reports the error or the EOF (Go does the same).
    if (flags & K.EV_ERROR) return READ | WRITE | HUP;
    if (filter === K.EVFILT_READ) return flags & K.EV_EOF ? READ | WRITE | HUP : READ;
    if (filter === K.EVFILT_WRITE) return flags & K.EV_EOF ? WRITE | HUP : WRITE;
    return 0;
  }

  /**
   * The error event i carries, or 0: fflags with EV_EOF (the socket's
   * error; 0 for a plain end of stream), data with EV_ERROR (kevent(2)).
   */
  socketError(i: number): number {
    const L = this.#L;
    const K = this.#K;
    const at = i * L.size;
    const flags = this.#ev.getUint16(at + L.flags, true);
    if (flags & K.EV_ERROR) return this.#ev.getInt32(at + L.data, true);
    if (flags & K.EV_EOF) return this.#ev.getUint32(at + L.fflags, true);
    return 0;
  }

  isWake(i: number): boolean {
    return this.#ev.getInt16(i * this.#L.size + this.#L.filter, true) === this.#K.EVFILT_USER;
  }

  wake(): void {
    if (this.#wakePending || this.#closed) return;
    this.#wakePending = true;
    const K = this.#K;
    this.#setChange(0, WAKE_IDENT, K.EVFILT_USER, 0, K.NOTE_TRIGGER, WAKE_SLOT, 0);
    this.#api.kevent(this.fd, this.#changes, 1, null, 0, null);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sys.close(this.fd);
  }
}

