// Which bridge wakes this thread's loop. One place decides:
//
//   BUN_NETPOLL_BRIDGE=uring|worker|kqueue   that bridge or a BridgeStartError
//   (unset), Linux + epoll            uring; if io_uring is refused (a
//                                     sandbox may forbid io_uring_setup), the
//                                     worker, and runtimeStats() says so
//   (unset), kqueue                   kqueue: the sleeper waits in kevent()
//                                     on the kqueue itself and hands the
//                                     events over (a kqueue fd is not
//                                     promised pollable, so the worker's
//                                     watch on it cannot be relied on)
//
// A bridge that cannot start is reported (the error is kept and thrown when
// it was forced), never replaced by polling.
import { platform } from "../../ffi/platform.ts";
import type { Poller } from "../poll/poller.ts";
import { type Bridge, BridgeStartError, WorkerBridge } from "./bridge.ts";
import { kqueueBridgeFor } from "./bridge_kqueue.ts";
import { UringBridge } from "./bridge_uring.ts";

export const BRIDGE_ENV = "BUN_NETPOLL_BRIDGE";
const NAMES = ["uring", "worker", "kqueue"] as const;
export type BridgeName = (typeof NAMES)[number];

/** What was chosen, and why the preferred bridge was not (null when it was). */
export interface BridgeChoice {
  readonly bridge: Bridge;
  readonly fallbackFrom: BridgeStartError | null;
}

function build(name: BridgeName, poller: Poller): Bridge {
  switch (name) {
    case "uring":
      if (platform.os !== "linux" || poller.name !== "epoll") {
        throw new BridgeStartError("uring", `io_uring on the ${poller.name} backend`, 0);
      }
      return new UringBridge(poller.fd);
    case "worker":
      // The sleeper watches the poller's fd with epoll: an epoll fd always
      // polls readable while events are pending; a kqueue fd is not promised to.
      if (poller.name !== "epoll") throw new BridgeStartError("worker", `a watch on the ${poller.name} descriptor`, 0);
      return new WorkerBridge(poller.fd);
    case "kqueue": {
      const b = kqueueBridgeFor(poller);
      if (b === null) throw new BridgeStartError("kqueue", `kevent on the ${poller.name} backend`, 0);
      return b;
    }
  }
}

export function createBridge(poller: Poller): BridgeChoice {
  const forced = process.env[BRIDGE_ENV];
  if (forced) {
    if (!(NAMES as readonly string[]).includes(forced)) {
      throw new TypeError(`${BRIDGE_ENV} must be one of ${NAMES.join(", ")}, not "${forced}"`);
    }
    return { bridge: build(forced as BridgeName, poller), fallbackFrom: null };
  }
  if (platform.os === "linux" && poller.name === "epoll") {
    try {
      return { bridge: build("uring", poller), fallbackFrom: null };
    } catch (err) {
      if (!(err instanceof BridgeStartError)) throw err;
      return { bridge: build("worker", poller), fallbackFrom: err };
    }
  }
  return { bridge: build(poller.name === "kqueue" ? "kqueue" : "worker", poller), fallbackFrom: null };
}
