// The one backend switch: epoll on Linux, kqueue on macOS/BSD.
// BUN_NETPOLL_BACKEND=epoll|kqueue selects one explicitly.
import { platform } from "../../ffi/platform.ts";
import { EpollPoller } from "./epoll.ts";
import type { Poller } from "./poller.ts";

export type BackendName = "epoll" | "kqueue";

export function backendName(): BackendName {
  const forced = process.env.BUN_NETPOLL_BACKEND;
  if (forced === "epoll" || forced === "kqueue") return forced;
  if (forced) throw new Error(`BUN_NETPOLL_BACKEND must be "epoll" or "kqueue", got "${forced}"`);
  return platform.os === "linux" ? "epoll" : "kqueue";
}

export function createPoller(): Poller {
  const name = backendName();
  switch (name) {
    case "epoll":
      return new EpollPoller();
    case "kqueue":
      throw new Error("the kqueue backend is not available in this build");
  }
}
