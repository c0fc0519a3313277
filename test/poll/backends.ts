// The backends available on this machine, for the shared backend suite.
// epoll on Linux; kqueue through libc on BSD, or on Linux through the library
// in BUN_NETPOLL_KQUEUE_LIB, or else the test fixture kqueue-over-epoll shim
// (test/fixtures/kqueue_shim.c) compiled here when a C compiler exists.
import { spawnSync } from "bun";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { platform } from "../../ffi/platform.ts";
import { EpollPoller } from "../../src/poll/epoll.ts";
import { KqueuePoller, loadKqueueApi } from "../../src/poll/kqueue.ts";
import type { Poller } from "../../src/poll/poller.ts";

export interface Backend {
  readonly name: string;
  /** A fresh poller, or null with the reason it cannot run here. */
  readonly make: (() => Poller) | null;
  readonly skip: string;
}

let shimPath: string | null | undefined;

/** Builds the kqueue shim once; null (with the reason in shimError) if it cannot. */
export function kqueueShim(): string | null {
  if (shimPath !== undefined) return shimPath;
  const src = join(import.meta.dir, "../fixtures/kqueue_shim.c");
  const out = join(mkdtempSync(join(tmpdir(), "bnp-kq-")), "libkqueue_shim.so");
  const cc = spawnSync(["cc", "-shared", "-fPIC", "-O2", "-o", out, src]);
  shimPath = cc.success && existsSync(out) ? out : null;
  if (shimPath === null) shimError = `cc failed: ${cc.stderr.toString().trim() || "no C compiler"}`;
  return shimPath;
}
export let shimError = "";

export function backends(): Backend[] {
  const list: Backend[] = [];
  if (platform.os === "linux") {
    list.push({ name: "epoll", make: () => new EpollPoller(), skip: "" });
  } else {
    list.push({ name: "epoll", make: null, skip: `epoll is Linux-only (this is ${platform.os})` });
  }
  let lib = platform.kqueueLib;
  let label = "kqueue";
  if (lib === null && platform.os === "linux") {
    lib = kqueueShim();
    label = "kqueue (test shim over epoll)";
  }
  if (lib === null) {
    list.push({ name: "kqueue", make: null, skip: `no kqueue library: set BUN_NETPOLL_KQUEUE_LIB (${shimError})` });
  } else {
    const api = loadKqueueApi(lib);
    list.push({ name: label, make: () => new KqueuePoller(api, platform.kevent, platform.constants), skip: "" });
  }
  return list;
}
