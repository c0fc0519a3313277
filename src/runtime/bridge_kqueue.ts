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
import { ARM, RING, SleeperBridge, type SleeperMessage, STOP } from "./bridge.ts";

/**
 * The kqueue wake bridge. arm(onWake) calls onWake once the sleeper has
 * handed over a batch (or the poller was woken); the drain's poller.poll(0)
 * then returns that batch. Failures reject `started` and are thrown from the
 * next arm().
 */
export class KqueueBridge extends SleeperBridge {
  readonly name = "kqueue";
  readonly #poller: KqueuePoller;

  constructor(poller: KqueuePoller) {
    const ctl = SleeperBridge.controlWords();
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
    super(ctl, kqueueSleeperMain, init);
    this.#poller = poller;
  }

  protected override onError(data: SleeperMessage, closed: boolean): Error | null {
    return closed ? null : new Error(`wake bridge stopped: kevent failed: ${platform.errno.name(data.error!)}`);
  }

  /** The poller's wake interrupts the sleeper's kevent (close before the poller). */
  protected override onStop(): void {
    this.#poller.wake();
  }
}

/** The kqueue bridge for a kqueue poller, else null (the caller picks its own). */
export function kqueueBridgeFor(poller: Poller): KqueueBridge | null {
  return poller instanceof KqueuePoller ? new KqueueBridge(poller) : null;
}
