// The one backend switch: epoll on Linux, kqueue on macOS/BSD.
// BUN_NETPOLL_BACKEND=epoll|kqueue selects one explicitly; on Linux the
// kqueue backend runs over the library named by BUN_NETPOLL_KQUEUE_LIB.
import { platform } from "../../ffi/platform.ts";
import { EpollPoller } from "./epoll.ts";
import { loadKqueueApi } from "../../ffi/kqueue.ts";
import { KqueuePoller } from "./kqueue.ts";
import type { Poller } from "./poller.ts";

export type BackendName = "epoll" | "kqueue";

export function backendName(): BackendName {
  const forced = process.env["BUN_NETPOLL_BACKEND"];
  if (forced === "epoll" || forced === "kqueue") return forced;
  if (forced) throw new Error(`BUN_NETPOLL_BACKEND must be "epoll" or "kqueue", got "${forced}"`);
  return platform.os === "linux" ? "epoll" : "kqueue";
}

export function createPoller(): Poller {
  const name = backendName();
  switch (name) {
    case "epoll":
      return new EpollPoller();
    case "kqueue": {
      const lib = platform.kqueueLib;
      if (lib === null) {
        throw new Error("the kqueue backend on Linux needs BUN_NETPOLL_KQUEUE_LIB, the path of a kqueue library (e.g. libkqueue)");
      }
      // kqueue on Linux is a library over epoll (libkqueue): a full batch may
      // drop events, and close(2) leaves a descriptor's filters behind.
      return new KqueuePoller(loadKqueueApi(lib), platform.kevent, platform.constants, {
        lossyWhenFull: platform.os === "linux",
        missesClose: platform.os === "linux",
      });
    }
  }
}
