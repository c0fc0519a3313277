// The backend contract. Every readiness backend (epoll on Linux, kqueue on
// macOS/BSD) provides exactly these members; the runtime uses nothing else.
// Cookies are (slot, generation) pairs, written into the kernel's user-data
// field (epoll_event.data / kevent.udata) as slot + generation * 2^32.
//
//   open()                 create the kernel object (epoll_create1 / kqueue)
//                          and the wake source. Never blocks.
//   fd                     the kernel object's descriptor. epoll's polls
//                          readable while events are pending (pollableFd);
//                          kqueue(2) promises no such thing (libkqueue's
//                          never becomes readable), so the kqueue wake bridge
//                          blocks in kevent() on it instead and hands the
//                          events over (runtime/bridge_kqueue.ts).
//   register(fd, s, g)     add fd once, edge-triggered, for read and write,
//                          with cookie (s, g). Returns 0 or an errno. Never
//                          blocks; never called again for the same fd.
//                          What it accepts differs: epoll refuses regular
//                          files (EPERM), kqueue takes them (always ready).
//   registerSyscall        the syscall register() makes, for error messages.
//   deregister(fd)         remove fd before it is closed. Returns 0 or errno.
//   poll(timeoutMs)        fetch up to `capacity` events into the batch
//                          buffer; returns the count (0 on EINTR).
//                          timeoutMs 0 never blocks; the runtime calls it
//                          only with 0 on the main thread.
//   slot(i), gen(i)        cookie of event i of the last batch.
//   modes(i)               READ | WRITE bits of event i (errors and hang-ups
//                          wake both directions; the retried syscall reports),
//                          plus HUP when the peer hung up or the socket has an
//                          error (a state that will not raise another edge).
//   socketError(i)         optional: the errno event i carries, or 0. kqueue
//                          reports a socket's error in the event (fflags with
//                          EV_EOF), and libkqueue clears SO_ERROR reading it;
//                          epoll leaves SO_ERROR for the syscall to report.
//   isWake(i)              event i is the wake source (already drained).
//   wake()                 make the next/current poll() return. Safe to call
//                          repeatedly: wakes are coalesced behind one flag
//                          until a poll() drains the wake source.
//   close()                release the kernel object and the wake source.
//   lossyWhenFull          optional: a full batch (poll() returned capacity)
//                          may have dropped events that no later edge will
//                          report. libkqueue on Linux does: its copy-out stops
//                          when the caller's list is full, though each epoll
//                          event may become two kevents (read and write), and
//                          drops the rest of epoll's batch. The loop then lets
//                          every pollDesc retry its syscall (spurious wakeups
//                          are tolerated; a real readiness is not lost).

import { platform } from "../../ffi/platform.ts";

/** Readiness bits reported per event. */
export const READ = 1;
export const WRITE = 2;
/** End of stream or error seen: no further edge will announce it. */
export const HUP = 4;

export interface Poller {
  readonly name: string;
  readonly fd: number;
  readonly capacity: number;
  readonly registerSyscall: string;
  register(fd: number, slot: number, gen: number): number;
  deregister(fd: number): number;
  poll(timeoutMs: number): number;
  slot(i: number): number;
  gen(i: number): number;
  modes(i: number): number;
  socketError?(i: number): number;
  isWake(i: number): boolean;
  readonly lossyWhenFull?: boolean;
  wake(): void;
  close(): void;
}

/** Slot number reserved for the wake source's cookie. */
export const WAKE_SLOT = 0xffffffff;

/** Thrown when the kernel object cannot be created. */
export class PollerOpenError extends Error {
  constructor(syscall: string, readonly errno: number) {
    super(`${syscall} failed: ${platform.errno.name(errno)}: ${platform.errno.message(errno)}`);
  }
}
