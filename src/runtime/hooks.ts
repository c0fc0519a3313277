// Counters shared by the runtime's pieces, and the one callback through which
// parking reaches the loop's keep-alive. Kept free of FFI so the pollDesc
// state machine can be tested on its own.

export interface Counters {
  /** Tasks parked on a pollDesc half right now. */
  parked: number;
  /** Deadline timers armed right now. */
  timers: number;
  /** Holds that keep the process alive (listening sockets, open pollFds asked to). */
  holds: number;
}

const counters: Counters = { parked: 0, timers: 0, holds: 0 };
let onAlive: ((alive: boolean) => void) | null = null;

function alive(): boolean {
  return counters.parked > 0 || counters.holds > 0;
}

export const hooks = {
  counters: counters as Readonly<Counters>,
  parked(delta: number): void {
    const before = alive();
    counters.parked += delta;
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
