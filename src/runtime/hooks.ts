// Counters shared by the runtime's pieces, and the one callback through which
// parking reaches the loop's keep-alive. Kept free of FFI so the pollDesc
// state machine can be tested on its own.

export interface Counters {
  /** Tasks parked on a pollDesc half right now. */
  parked: number;
  /** Those of them that do not keep the process alive (parked on an unref'd handle, e.g. a listener's accept). */
  parkedUnref: number;
  /** Deadline timers armed right now. */
  timers: number;
  /** Holds that keep the process alive (listening sockets, open pollFds asked to). */
  holds: number;
}

const counters: Counters = { parked: 0, parkedUnref: 0, timers: 0, holds: 0 };
let onAlive: ((alive: boolean) => void) | null = null;

function alive(): boolean {
  return counters.parked - counters.parkedUnref > 0 || counters.holds > 0;
}

export const hooks = {
  counters: counters as Readonly<Counters>,
  /** A task parks (+1) or stops being parked (-1); `unref`: on a handle that does not keep the process alive. */
  parked(delta: number, unref = false): void {
    const before = alive();
    counters.parked += delta;
    if (unref) counters.parkedUnref += delta;
    if (onAlive !== null && before !== alive()) onAlive(!before);
  },
  /**
   * `n` tasks parked right now on a handle stop (+n) or start again (-n) to
   * keep the process alive: the handle's unref() / ref() while it has parked
   * tasks. Their later unpark passes the handle's new setting to parked().
   */
  reweigh(n: number): void {
    if (n === 0) return;
    const before = alive();
    counters.parkedUnref += n;
    if (onAlive !== null && before !== alive()) onAlive(!before);
  },
  hold(delta: number): void {
    const before = alive();
    counters.holds += delta;
    if (onAlive !== null && before !== alive()) onAlive(!before);
  },
  timers(delta: number): void {
    counters.timers += delta;
  },
  /** The loop installs its keep-alive switch here. */
  setAliveListener(fn: ((alive: boolean) => void) | null): void {
    onAlive = fn;
    if (fn !== null) fn(alive());
  },
};
