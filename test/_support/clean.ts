// The end-of-test leak check.
import { expect } from "bun:test";
import { runtimeStats } from "../../src/index.ts";

/** Asserts the runtime holds no fd, pollDesc, timer or parked task. */
export function expectClean(): void {
  const s = runtimeStats();
  expect({ fds: s.fds, pollDescs: s.pollDescs, timers: s.timers, parked: s.parked, holds: s.holds }).toEqual({
    fds: 0,
    pollDescs: 0,
    timers: 0,
    parked: 0,
    holds: 0,
  });
}
