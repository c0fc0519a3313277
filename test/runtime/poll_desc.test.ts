// Pure state-machine tests of the pollDesc latch: no FFI, no loop.
import { afterEach, describe, expect, test } from "bun:test";
import { hooks } from "../../src/runtime/hooks.ts";
import { CLOSED, NIL, PollDesc, READY, TIMEOUT, WAITING } from "../../src/runtime/poll_desc.ts";
import { type Settlement, settlement as track, sleep } from "../_support/index.ts";

const pds: PollDesc[] = [];
function newPd(): PollDesc {
  const pd = new PollDesc(-1);
  pds.push(pd);
  return pd;
}

function expectCountersZero(): void {
  expect({ parked: hooks.counters.parked, timers: hooks.counters.timers }).toEqual({ parked: 0, timers: 0 });
}

afterEach(() => {
  // Safety net: a failing test must not leak parked tasks or timers into the next one.
  for (const pd of pds.splice(0)) if (!pd.closing) pd.close();
});

/** t, a park on pd.r, fails with TIMEOUT between min and max ms after t0 and leaves nothing latched. */
async function expectTimeout(pd: PollDesc, t: Settlement<void>, at: { t0: number; min: number; max: number }): Promise<void> {
  await t.p.catch(() => {});
  expect(t.error).toBe(TIMEOUT);
  expect(t.at - at.t0).toBeGreaterThanOrEqual(at.min);
  expect(t.at - at.t0).toBeLessThan(at.max);
  expect(pd.consume(pd.r)).toBe(false);
}

/**
 * test(name) over a fresh pollDesc: after the body it is closed (unless the
 * body closed it) and nothing is left parked or timed.
 */
function pdTest(name: string, body: (pd: PollDesc) => Promise<void> | void): void {
  test(name, async () => {
    const pd = newPd();
    await body(pd);
    if (!pd.closing) pd.close();
    expectCountersZero();
  });
}

describe("pollDesc latch", () => {
  pdTest("ready before wait is not lost: consume() true once, then false", (pd) => {
    expect(pd.r.state).toBe(NIL);
    pd.ready(pd.r);
    expect(pd.r.state).toBe(READY);
    pd.ready(pd.r); // READY stays READY (no counting)
    expect(pd.r.state).toBe(READY);
    expect(pd.consume(pd.r)).toBe(true);
    expect(pd.r.state).toBe(NIL);
    expect(pd.consume(pd.r)).toBe(false);
    // the other direction is independent
    expect(pd.w.state).toBe(NIL);
    expect(pd.consume(pd.w)).toBe(false);
  });

  pdTest("ready before wait is not lost: park() resolves at once without parking", async (pd) => {
    pd.ready(pd.r);
    const t = track(pd.park(pd.r));
    expect(pd.r.state).toBe(NIL);
    expect(hooks.counters.parked).toBe(0);
    await Promise.resolve();
    await Promise.resolve();
    expect(t.settled).toBe(true);
    expect(t.ok).toBe(true);
    // the latch was consumed: the next park really parks
    const t2 = track(pd.park(pd.r));
    expect(pd.r.state).toBe(WAITING);
    expect(pd.waiting).toBe(1);
    expect(hooks.counters.parked).toBe(1);
    pd.ready(pd.r);
    await t2.p;
    expect(t2.ok).toBe(true);
    expect(pd.r.state).toBe(NIL); // a wake resolves the waiter and does not also latch READY
    expect(pd.consume(pd.r)).toBe(false);
  });

  pdTest("timeout while parked rejects with TIMEOUT and never plants READY", async (pd) => {
    const t = track(pd.park(pd.r));
    expect(hooks.counters.parked).toBe(1);
    pd.setDeadline(pd.r, performance.now() - 1);
    await Promise.resolve();
    await Promise.resolve();
    expect(t.settled).toBe(true);
    expect(t.error).toBe(TIMEOUT);
    expect(pd.r.state).toBe(NIL);
    expect(pd.consume(pd.r)).toBe(false);
    expect(hooks.counters.parked).toBe(0);
    // the expired deadline keeps failing new parks at once, without parking
    await expect(pd.park(pd.r)).rejects.toBe(TIMEOUT);
    expect(pd.r.state).toBe(NIL);
    expect(hooks.counters.parked).toBe(0);
  });

  pdTest("timeout by timer while parked rejects with TIMEOUT and never plants READY", async (pd) => {
    const t0 = performance.now();
    pd.setDeadline(pd.r, t0 + 20);
    expect(hooks.counters.timers).toBe(0); // nobody parked: no timer yet
    const t = track(pd.park(pd.r));
    expect(hooks.counters.timers).toBe(1);
    await expectTimeout(pd, t, { t0, min: 19, max: 200 });
    expect(hooks.counters.timers).toBe(0);
    expect(hooks.counters.parked).toBe(0);
  });

  pdTest("close while parked rejects both directions with CLOSED and never plants READY", async (pd) => {
    const tr = track(pd.park(pd.r));
    const tw = track(pd.park(pd.w));
    expect(hooks.counters.parked).toBe(2);
    expect(pd.waiting).toBe(2);
    pd.close();
    await Promise.resolve();
    await Promise.resolve();
    expect(tr.error).toBe(CLOSED);
    expect(tw.error).toBe(CLOSED);
    expect(pd.consume(pd.r)).toBe(false);
    expect(pd.consume(pd.w)).toBe(false);
    expect(pd.waiting).toBe(0);
    // close also clears a latched READY, and later parks fail with CLOSED
    const pd2 = newPd();
    pd2.ready(pd2.r);
    pd2.close();
    expect(pd2.consume(pd2.r)).toBe(false);
    await expect(pd2.park(pd2.r)).rejects.toBe(CLOSED);
    pd.close(); // idempotent
  });

  pdTest("double wait throws 'double wait' and leaves the first waiter parked", async (pd) => {
    const t = track(pd.park(pd.r));
    expect(() => pd.park(pd.r)).toThrow("double wait");
    expect(hooks.counters.parked).toBe(1);
    expect(pd.r.state).toBe(WAITING);
    // the other direction may still park
    const tw = track(pd.park(pd.w));
    expect(hooks.counters.parked).toBe(2);
    pd.ready(pd.r);
    pd.ready(pd.w);
    await t.p;
    await tw.p;
    expect(t.ok && tw.ok).toBe(true);
  });

  pdTest("spurious wakeup: the caller retries its syscall and parks again", async (pd) => {
    let dataAvailable = false;
    let attempts = 0;
    let parks = 0;
    // Go's fd_unix.go loop shape over a fake syscall
    const reader = (async () => {
      for (;;) {
        attempts++;
        if (dataAvailable) return "data";
        if (pd.consume(pd.r)) continue;
        parks++;
        await pd.park(pd.r);
      }
    })();
    const t = track(reader);
    await Promise.resolve();
    expect(attempts).toBe(1);
    expect(parks).toBe(1);
    expect(pd.r.state).toBe(WAITING);
    // spurious: readiness without data
    pd.ready(pd.r);
    await new Promise((r) => setImmediate(r));
    expect(t.settled).toBe(false);
    expect(attempts).toBe(2);
    expect(parks).toBe(2);
    expect(pd.r.state).toBe(WAITING);
    expect(hooks.counters.parked).toBe(1);
    // real readiness
    dataAvailable = true;
    pd.ready(pd.r);
    expect(await reader).toBe("data");
    expect(attempts).toBe(3);
    expect(parks).toBe(2);
    expect(pd.r.state).toBe(NIL);
  });

  pdTest("extending the deadline while parked does not wake the waiter", async (pd) => {
    const t0 = performance.now();
    const t = track(pd.park(pd.r));
    pd.setDeadline(pd.r, t0 + 10_000);
    expect(hooks.counters.timers).toBe(1);
    pd.setDeadline(pd.r, t0 + 20_000);
    expect(hooks.counters.timers).toBe(1); // one timer per half at most
    pd.setDeadline(pd.r, 0); // no deadline at all
    expect(hooks.counters.timers).toBe(0);
    await sleep(20);
    expect(t.settled).toBe(false);
    expect(pd.r.state).toBe(WAITING);
    expect(hooks.counters.parked).toBe(1);
    pd.ready(pd.r);
    await t.p;
    expect(t.ok).toBe(true);
  });

  pdTest("stale timer: a deadline moved from +30ms to +200ms does not time out at ~30ms", async (pd) => {
    const t0 = performance.now();
    pd.setDeadline(pd.r, t0 + 30);
    const t = track(pd.park(pd.r));
    expect(hooks.counters.timers).toBe(1);
    await sleep(5);
    pd.setDeadline(pd.r, t0 + 200);
    expect(hooks.counters.timers).toBe(1);
    await sleep(80); // well past the old deadline
    expect(t.settled).toBe(false);
    expect(pd.check(pd.r)).toBe(null);
    expect(hooks.counters.parked).toBe(1);
    await expectTimeout(pd, t, { t0, min: 199, max: 450 });
  });

  pdTest("stale timer callback from an old deadline cannot time out a newer parked op", async (pd) => {
    // deadline A fires the timer, but the deadline was cleared and reset since:
    // the seq check must drop the old callback.
    const t0 = performance.now();
    pd.setDeadline(pd.r, t0 + 20);
    const t1 = track(pd.park(pd.r));
    pd.ready(pd.r); // op 1 completes; its timer stays armed
    await t1.p;
    expect(hooks.counters.timers).toBe(1);
    pd.setDeadline(pd.r, t0 + 150); // new op's deadline
    const t2 = track(pd.park(pd.r));
    await sleep(60);
    expect(t2.settled).toBe(false);
    pd.ready(pd.r);
    await t2.p;
    expect(t2.ok).toBe(true);
  });

  pdTest("AbortSignal while parked rejects with signal.reason and unparks", async (pd) => {
    const ac = new AbortController();
    const reason = { why: "custom" };
    const t = track(pd.park(pd.r, ac.signal));
    expect(hooks.counters.parked).toBe(1);
    ac.abort(reason);
    await Promise.resolve();
    await Promise.resolve();
    expect(t.settled).toBe(true);
    expect(t.error).toBe(reason);
    expect(pd.r.state).toBe(NIL);
    expect(hooks.counters.parked).toBe(0);
    expect(pd.consume(pd.r)).toBe(false);
    // an already-aborted signal rejects at once without parking
    await expect(pd.park(pd.r, ac.signal)).rejects.toBe(reason);
    expect(hooks.counters.parked).toBe(0);
    // a later readiness is latched normally (the aborted waiter is gone)
    pd.ready(pd.r);
    expect(pd.r.state).toBe(READY);
  });

  pdTest("AbortSignal listener is removed once the waiter resumes normally", async (pd) => {
    const ac = new AbortController();
    const t = track(pd.park(pd.r, ac.signal));
    pd.ready(pd.r);
    await t.p;
    expect(pd.r.abortSignal).toBe(null);
    const t2 = track(pd.park(pd.r));
    ac.abort(new Error("late")); // must not reject the second, unrelated wait
    await Promise.resolve();
    await Promise.resolve();
    expect(t2.settled).toBe(false);
    pd.close();
    await t2.p.catch(() => {});
    expect(t2.error).toBe(CLOSED);
  });

  pdTest("check(): null, CLOSED after close, TIMEOUT after an expired deadline", async (pd) => {
    expect(pd.check(pd.r)).toBe(null);
    expect(pd.check(pd.w)).toBe(null);
    pd.setDeadline(pd.r, performance.now() - 5);
    expect(pd.check(pd.r)).toBe(TIMEOUT);
    expect(pd.check(pd.w)).toBe(null);
    pd.setDeadline(pd.w, performance.now() + 10);
    expect(pd.check(pd.w)).toBe(null);
    await sleep(15);
    expect(pd.check(pd.w)).toBe(TIMEOUT); // passed by time alone, no timer needed
    pd.setDeadline(pd.w, 0);
    expect(pd.check(pd.w)).toBe(null); // clearing the deadline revives the direction
    // an expired deadline fails even with readiness latched
    pd.ready(pd.r);
    expect(pd.check(pd.r)).toBe(TIMEOUT);
    pd.close();
    expect(pd.check(pd.r)).toBe(CLOSED);
    expect(pd.check(pd.w)).toBe(CLOSED);
  });
});
