// A reused fd number never receives the old fd's event (Go issue 59545).
//
// epoll keys a registration on (file description, fd number), and it lives as
// long as the file description does. So: register pipe A's read end r, keep
// the description alive through dup(r), free the table slot and close(r)
// without EPOLL_CTL_DEL. The kernel still reports A's events with A's cookie.
// A new pipe B reuses r's number and (through the free list) r's slot with the
// next generation. Writing to A must not wake a task parked on B.
import { expect, test } from "bun:test";
import { sys } from "../../ffi/libc.ts";
import { getLoop } from "../../src/runtime/loop.ts";
import { PollDesc } from "../../src/runtime/poll_desc.ts";
import { runtimeStats } from "../../src/index.ts";
import { backendName } from "../../src/poll/index.ts";
import { closeFd, expectClean, pipe, readFd, sleep, writeFd } from "../_support/index.ts";

// The stale event is built from an epoll quirk: a registration lives on the
// open file description, so a dup keeps it alive after close(2). kqueue drops
// an fd's filters at close(2), so there the stale event cannot be built.
const epollOnly = backendName() !== "epoll";
if (epollOnly) console.log("skip: stale-event construction needs epoll (kqueue removes filters on close)");

test.skipIf(epollOnly)("a reused fd number never receives the old fd's event (stale generation dropped)", async () => {
  expectClean();
  const loop = getLoop();
  const [r, w] = pipe();
  const d = sys.dup(r);
  expect(d).toBeGreaterThanOrEqual(0);

  const oldPd = new PollDesc(r);
  expect(loop.register(oldPd)).toBe(0);
  const oldSlot = oldPd.slot;
  const oldGen = oldPd.gen;
  // Forget it in the table (generation bump) but leave the kernel registration.
  loop.table.remove(oldPd);
  closeFd(r); // the registration survives through d

  const [r2, w2] = pipe();
  const toClose = [w, d, r2, w2];
  let newPd: PollDesc | null = null;
  try {
    if (r2 !== r) {
      console.warn(`generation test: kernel gave fd ${r2}, not the reused ${r}; checking the stale cookie anyway`);
    }
    newPd = new PollDesc(r2);
    expect(loop.register(newPd)).toBe(0);
    expect(newPd.slot).toBe(oldSlot);
    expect(newPd.gen).toBe((oldGen + 1) >>> 0);
    expect(loop.table.lookup(oldSlot, oldGen)).toBeUndefined();
    expect(loop.table.lookup(oldSlot, newPd.gen)).toBe(newPd);

    await sleep(10); // let the first drain run and the loop go idle
    const stale0 = runtimeStats().loop.stale;
    const events0 = runtimeStats().loop.events;

    let woken = false;
    const parked = newPd.park(newPd.r).then(() => {
      woken = true;
    });
    expect(runtimeStats().parked).toBe(1);

    // An event on the OLD pipe: the kernel reports it with the old cookie.
    expect(writeFd(w, "old")).toBe(3);
    await sleep(50);
    expect(woken).toBe(false);
    expect(runtimeStats().loop.events).toBe(events0 + 1); // the kernel did deliver it
    expect(runtimeStats().loop.stale).toBe(stale0 + 1); // and the loop dropped it
    expect(newPd.r.state).not.toBe(1 /* READY */);

    // Now real readiness on the new pipe wakes the waiter.
    const t0 = performance.now();
    expect(writeFd(w2, "new")).toBe(3);
    await Promise.race([parked, sleep(1000)]);
    expect(woken).toBe(true);
    expect(performance.now() - t0).toBeLessThan(100);
    expect(runtimeStats().loop.stale).toBe(stale0 + 1);
    expect(new TextDecoder().decode(readFd(r2)!)).toBe("new");
    expect(new TextDecoder().decode(readFd(d)!)).toBe("old"); // the old data stayed in the old pipe
    expect(runtimeStats().parked).toBe(0);
  } finally {
    if (newPd !== null) {
      newPd.close();
      if (newPd.slot >= 0) expect(loop.deregister(newPd)).toBe(0);
    }
    // Closing d, the description's last fd, removes the old registration.
    for (const fd of toClose) closeFd(fd);
  }
  expectClean();
});
