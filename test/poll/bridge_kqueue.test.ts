// The kqueue wake bridge (src/runtime/bridge_kqueue.ts) on its own poller:
// a sleeper Worker blocked in kevent() on the kqueue takes the events and
// hands them over; poll(0) returns that batch first. Runs on every kqueue this
// machine has (libc on BSD, BUN_NETPOLL_KQUEUE_LIB or the vendored libkqueue
// on Linux), whatever backend the runtime itself uses.
import { afterEach, describe, expect, test } from "bun:test";
import { KqueuePoller } from "../../src/poll/kqueue.ts";
import { READ } from "../../src/poll/poller.ts";
import { KqueueBridge } from "../../src/runtime/bridge_kqueue.ts";
import { closeFd, pipe, readFd, writeFd } from "../_support/index.ts";
import { backends } from "./backends.ts";

const kq = backends().find((b) => b.name.startsWith("kqueue"))!;

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

function setup(): { p: KqueuePoller; bridge: KqueueBridge; r: number; w: number } {
  const p = kq.make!() as KqueuePoller;
  cleanup.push(() => p.close());
  const bridge = new KqueueBridge(p);
  cleanup.push(() => bridge.close());
  const [r, w] = pipe();
  cleanup.push(() => {
    closeFd(r);
    closeFd(w);
  });
  return { p, bridge, r, w };
}

function events(p: KqueuePoller): { slot: number; gen: number; modes: number; wake: boolean }[] {
  const n = p.poll(0);
  const out = [];
  for (let i = 0; i < n; i++) out.push({ slot: p.slot(i), gen: p.gen(i), modes: p.modes(i), wake: p.isWake(i) });
  return out;
}

/** Arms the bridge and resolves when it rings (or rejects after ms). */
function armed(bridge: KqueueBridge, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ring within ${ms} ms`)), ms);
    bridge.arm(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe.skipIf(kq?.make == null)("kqueue wake bridge", () => {
  test("the sleeper takes an event that arrives while armed; poll(0) hands exactly that batch over, once", async () => {
    const { p, bridge, r, w } = setup();
    await bridge.started;
    expect(p.register(r, 5, 7)).toBe(0);
    expect(events(p)).toEqual([]);
    const rang = armed(bridge, 2000);
    setTimeout(() => writeFd(w, "x"), 20);
    await rang;
    expect(bridge.stats).toEqual({ arms: 1, rings: 1 });
    const batch = events(p);
    expect(batch.filter((e) => !e.wake).map((e) => [e.slot, e.gen, e.modes & READ])).toEqual([[5, 7, READ]]);
    // The edge was the sleeper's: the kernel has nothing left for poll(0).
    expect(events(p)).toEqual([]);
    expect(readFd(r)).toEqual(new Uint8Array([120]));
  });

  test("poller.wake() interrupts the sleeper: the handed-over batch is the wake event", async () => {
    const { p, bridge } = setup();
    await bridge.started;
    const rang = armed(bridge, 2000);
    setTimeout(() => p.wake(), 20);
    await rang;
    expect(events(p)).toEqual([{ slot: 0xffffffff, gen: 0, modes: 0, wake: true }]);
    // The wake was drained: the next wake() triggers again (not coalesced away).
    const again = armed(bridge, 2000);
    p.wake();
    await again;
    expect(events(p).map((e) => e.wake)).toEqual([true]);
  });

  test("repeated arm / event rounds keep every event: 50 rounds, 50 distinct cookies", async () => {
    const { p, bridge } = setup();
    await bridge.started;
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) {
      const [r, w] = pipe();
      cleanup.push(() => {
        closeFd(r);
        closeFd(w);
      });
      expect(p.register(r, 100 + i, 1)).toBe(0);
      const rang = armed(bridge, 2000);
      writeFd(w, "y");
      await rang;
      for (const e of events(p)) if (!e.wake && e.modes & READ) seen.push(e.slot);
    }
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
    expect(bridge.stats.rings).toBe(50);
  });
});
