// The bodies of the wake bridges' sleeper Workers (src/runtime/bridge.ts,
// src/runtime/bridge_kqueue.ts). Each is stringified and run as a Worker's
// whole script, so it may use only its arguments and globals: it loads
// bun:ffi through the `req` it is given (the Worker's own require, so that
// bundlers leave the call alone) and dlopens libc in that thread.
//
// Both block in the kernel only after main armed them. The epoll sleeper
// reports its own epoll fd to main, which closes it (a terminate() can stop
// the thread inside the wait); the kqueue sleeper owns no descriptor.

/** What the epoll sleeper Worker gets (structured-cloned; the buffer is shared). */
export interface EpollSleeperInit {
  libc: string;
  pollFd: number;
  sab: SharedArrayBuffer;
  eventSize: number;
  EPOLL_CLOEXEC: number;
  EPOLL_CTL_ADD: number;
  EPOLLIN: number;
  EINTR: number;
  ARM: number;
  RING: number;
  STOP: number;
}

// Runs inside the Worker. Stringified, so it may only use its arguments and
// globals. `req` is the worker's own require, passed in so that bundlers do
// not rewrite the call. The sleeper watches the main poller's fd level-
// triggered in a poller of its own and blocks only there.
export function epollSleeperMain(init: EpollSleeperInit, req: (id: string) => unknown): void {
  const ffi = req("bun:ffi") as typeof import("bun:ffi");
  const { i32, ptr } = ffi.FFIType;
  const ctl = new Int32Array(init.sab);
  const ev = new Uint8Array(new ArrayBuffer(init.eventSize * 4));
  const view = new DataView(ev.buffer);
  const lib = ffi.dlopen(init.libc, {
    epoll_create1: { args: [i32], returns: i32 },
    epoll_ctl: { args: [i32, i32, i32, ptr], returns: i32 },
    epoll_wait: { args: [i32, ptr, i32, i32], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  });
  const s = lib.symbols;
  const errnoPtr = s.__errno_location() as import("bun:ffi").Pointer;
  view.setUint32(0, init.EPOLLIN, true);
  // The sleeper's own epoll fd, reported to main so that main can close it.
  const ep = s.epoll_create1(init.EPOLL_CLOEXEC);
  const setupFailed = ep < 0 || s.epoll_ctl(ep, init.EPOLL_CTL_ADD, init.pollFd, ev) < 0;
  if (setupFailed) {
    postMessage({ error: ffi.read.i32(errnoPtr, 0), fd: ep });
    return;
  }
  postMessage({ ready: true, fd: ep });
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, init.ARM, seen);
    if (Atomics.load(ctl, init.STOP) !== 0) break;
    seen = Atomics.load(ctl, init.ARM);
    for (;;) {
      const n = s.epoll_wait(ep, ev, 4, -1);
      if (n >= 0 || ffi.read.i32(errnoPtr, 0) !== init.EINTR) break;
    }
    if (Atomics.load(ctl, init.STOP) !== 0) break;
    Atomics.add(ctl, init.RING, 1);
    Atomics.notify(ctl, init.RING);
  }
  // Main closes ep (a terminate() may stop this thread inside the wait,
  // before it gets here); this thread only unloads its libc.
  lib.close();
}

/** What the sleeper Worker gets (structured-cloned; the buffers are shared). */
export interface KqueueSleeperInit {
  /** Library with kqueue()/kevent() (libc on BSD, a kqueue library on Linux). */
  kqueueLib: string;
  libc: string;
  errnoLocation: string;
  kq: number;
  ctl: SharedArrayBuffer;
  mailbox: SharedArrayBuffer;
  /** Byte offset of the events in `mailbox`, and their room (in events). */
  eventsOffset: number;
  eventSize: number;
  capacity: number;
  EINTR: number;
  ARM: number;
  RING: number;
  STOP: number;
}

// Runs inside the Worker. Stringified, so it may only use its arguments and
// globals; `req` is the worker's own require.
export function kqueueSleeperMain(init: KqueueSleeperInit, req: (id: string) => unknown): void {
  const ffi = req("bun:ffi") as typeof import("bun:ffi");
  const { i32, ptr } = ffi.FFIType;
  const ctl = new Int32Array(init.ctl);
  const count = new Int32Array(init.mailbox, 0, 1);
  const events = new Uint8Array(init.mailbox, init.eventsOffset, init.eventSize * init.capacity);
  const kq = ffi.dlopen(init.kqueueLib, { kevent: { args: [i32, ptr, i32, ptr, i32, ptr], returns: i32 } });
  const libc = ffi.dlopen(init.libc, { [init.errnoLocation]: { args: [], returns: ptr } });
  const errnoPtr = (libc.symbols[init.errnoLocation] as () => import("bun:ffi").Pointer)();
  const kevent = kq.symbols.kevent;
  postMessage({ ready: true });
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, init.ARM, seen);
    seen = Atomics.load(ctl, init.ARM);
    if (Atomics.load(ctl, init.STOP) !== 0) break;
    if (Atomics.load(count, 0) === 0) {
      let n: number;
      for (;;) {
        n = kevent(init.kq, null, 0, events, init.capacity, null);
        if (n >= 0 || ffi.read.i32(errnoPtr, 0) !== init.EINTR) break;
      }
      if (Atomics.load(ctl, init.STOP) !== 0) break;
      if (n < 0) {
        postMessage({ error: ffi.read.i32(errnoPtr, 0) });
        break;
      }
      Atomics.store(count, 0, n);
    }
    Atomics.add(ctl, init.RING, 1);
    Atomics.notify(ctl, init.RING);
  }
  kq.close();
  libc.close();
}
