// Direct parks (PollDesc.parkDirect): the owner is called back instead of a
// promise. Pure state-machine tests: no FFI, no loop.
import { afterEach, describe, expect, test } from "bun:test";
import { hooks } from "../../src/runtime/hooks.ts";
import { CLOSED, type Half, NIL, PollDesc, type PollOwner, type Reason, TIMEOUT, WAITING } from "../../src/runtime/poll_desc.ts";
import { sleep } from "../_support/index.ts";


// A direct park stores the owner's operation object (a promise park stores a
// name); these stand in for it and name themselves in errors.
const op = (name: string): object => ({ toString: () => name });
const READ = op("read");
const ACCEPT = op("accept");

/** An owner that records every callback; `finish` says whether resume() ends the wait. */
class Owner implements PollOwner {
  readonly log: string[] = [];
  finish = true;
  constructor(readonly pd: PollDesc) {
    pd.owner = this;
  }
  error(reason: Reason, op: string | object): unknown {
    return new Error(`${reason === CLOSED ? "closed" : "timeout"} in ${op}`);
  }
  resume(h: Half): void {
    this.log.push(`resume ${h === this.pd.r ? "r" : "w"} state=${h.state}`);
    if (this.finish) this.pd.unpark(h);
  }
  abandon(h: Half, err: unknown): void {
    this.log.push(`abandon ${h === this.pd.r ? "r" : "w"} state=${h.state}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const pds: PollDesc[] = [];
function setup(): { pd: PollDesc; owner: Owner } {
  const pd = new PollDesc(-1);
  pds.push(pd);
  return { pd, owner: new Owner(pd) };
}

afterEach(() => {
  for (const pd of pds.splice(0)) if (!pd.closing) pd.close();
  expect({ parked: hooks.counters.parked, timers: hooks.counters.timers }).toEqual({ parked: 0, timers: 0 });
});

describe("direct park", () => {
  test("readiness calls the owner's resume() while the half is still WAITING; unpark ends the wait", () => {
    const { pd, owner } = setup();
    expect(pd.parkDirect(pd.r, undefined, READ)).toBe(null);
    expect([pd.r.state, pd.r.direct, pd.r.op, hooks.counters.parked]).toEqual([WAITING, true, READ, 1]);
    pd.ready(pd.r);
    expect(owner.log).toEqual([`resume r state=${WAITING}`]);
    expect([pd.r.state, pd.r.direct, hooks.counters.parked]).toEqual([NIL, false, 0]);
    // The write half was never involved.
    expect(pd.w.state).toBe(NIL);
  });

  test("a spurious wakeup: the owner leaves the half parked, and the next edge calls it again", () => {
    const { pd, owner } = setup();
    pd.parkDirect(pd.r, undefined, READ);
    owner.finish = false;
    pd.ready(pd.r);
    expect(pd.r.state).toBe(WAITING); // no READY latched either
    owner.finish = true;
    pd.ready(pd.r);
    expect(owner.log).toEqual([`resume r state=${WAITING}`, `resume r state=${WAITING}`]);
    expect(pd.r.state).toBe(NIL);
  });

  test("close() abandons the parked operation with the owner's closed error, after unparking it", () => {
    const { pd, owner } = setup();
    pd.parkDirect(pd.r, undefined, ACCEPT);
    pd.close();
    expect(owner.log).toEqual([`abandon r state=${NIL}: closed in accept`]);
    expect(hooks.counters.parked).toBe(0);
  });

  test("a deadline abandons it with the owner's timeout error, between 20 and 250 ms", async () => {
    const { pd, owner } = setup();
    const t0 = performance.now();
    pd.setDeadline(pd.r, t0 + 30);
    pd.parkDirect(pd.r, undefined, READ);
    expect(hooks.counters.timers).toBe(1);
    while (owner.log.length === 0 && performance.now() - t0 < 1000) await sleep(5);
    const ms = performance.now() - t0;
    expect(owner.log).toEqual([`abandon r state=${NIL}: timeout in read`]);
    expect(ms).toBeGreaterThanOrEqual(20);
    expect(ms).toBeLessThan(250);
    expect(hooks.counters.timers).toBe(0);
  });

  test("an abort abandons it with the signal's reason and removes the listener; an already aborted signal is returned instead of parking", () => {
    const { pd, owner } = setup();
    const ac = new AbortController();
    pd.parkDirect(pd.r, ac.signal, READ);
    expect(pd.r.abortSignal).toBe(ac.signal);
    ac.abort(new Error("stop"));
    expect(owner.log).toEqual([`abandon r state=${NIL}: stop`]);
    expect(pd.r.abortSignal).toBe(null);
    const reason = new Error("already");
    expect(pd.parkDirect(pd.r, AbortSignal.abort(reason), READ)).toBe(reason);
    expect(pd.r.state).toBe(NIL);
    expect(owner.log.length).toBe(1);
  });

  test("a second park on a WAITING half throws double wait; a promise park and a direct park never mix", () => {
    const { pd } = setup();
    pd.parkDirect(pd.r, undefined, READ);
    expect(() => pd.parkDirect(pd.r, undefined, READ)).toThrow("double wait");
    expect(() => pd.park(pd.r)).toThrow("double wait");
    pd.unpark(pd.r);
    expect(hooks.counters.parked).toBe(0);
  });

  test("a cleared expired deadline does not fail a later direct park; close abandons it exactly once", () => {
    const { pd, owner } = setup();
    pd.setDeadline(pd.r, performance.now() - 1);
    expect(pd.check(pd.r)).toBe(TIMEOUT);
    pd.setDeadline(pd.r, 0);
    pd.parkDirect(pd.r, undefined, READ);
    expect(owner.log).toEqual([]);
    pd.close();
    pd.close(); // idempotent: nothing parked any more
    expect(owner.log).toEqual([`abandon r state=${NIL}: closed in read`]);
    expect(pd.r.state).toBe(NIL);
  });
});
