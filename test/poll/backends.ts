// The backends available on this machine, for the shared backend suite.
// epoll on Linux; kqueue through libc on BSD, or on Linux through the library
// in BUN_NETPOLL_KQUEUE_LIB, or else libkqueue built from the vendored
// upstream sources (test/fixtures/libkqueue.ts) when cmake and cc exist.
import { platform } from "../../ffi/platform.ts";
import { EpollPoller } from "../../src/poll/epoll.ts";
import { loadKqueueApi } from "../../ffi/kqueue.ts";
import { KqueuePoller } from "../../src/poll/kqueue.ts";
import type { Poller } from "../../src/poll/poller.ts";
import { libkqueue } from "../fixtures/libkqueue.ts";

export interface Backend {
  readonly name: string;
  /** A fresh poller, or null with the reason it cannot run here. */
  readonly make: (() => Poller) | null;
  readonly skip: string;
}

export function backends(): Backend[] {
  const list: Backend[] = [];
  if (platform.os === "linux") {
    list.push({ name: "epoll", make: () => new EpollPoller(), skip: "" });
  } else {
    list.push({ name: "epoll", make: null, skip: `epoll is Linux-only (this is ${platform.os})` });
  }
  let lib = platform.kqueueLib;
  let label = "kqueue";
  let reason = "";
  if (lib === null && platform.os === "linux") {
    const b = libkqueue();
    lib = b.path;
    reason = b.reason;
    label = "kqueue (vendored libkqueue)";
  }
  if (lib === null) {
    list.push({ name: "kqueue", make: null, skip: `no kqueue library: set BUN_NETPOLL_KQUEUE_LIB (${reason})` });
  } else {
    const api = loadKqueueApi(lib);
    list.push({ name: label, make: () => new KqueuePoller(api, platform.kevent, platform.constants), skip: "" });
  }
  return list;
}
