// Paced loops for the slow-peer stress tests: a step repeated on an interval
// until a promise settles (a trickle of bytes), and a client timing one round
// trip after another (the well-behaved peer beside an attack). Plain Bun
// timers, independent of the runtime under test. No bun:test import.
import { within } from "./promises.ts";
import { sleep } from "./time.ts";

export interface RepeatOptions {
  /** The interval between steps, in ms. */
  every: number;
  /** How long done may take, in ms. */
  ms: number;
  /** Names what done stands for in the error thrown when it takes longer. */
  label: string;
}

/** Runs step() now and every o.every ms until done settles; rejects naming o.label if that takes more than o.ms. The interval is cleared either way. */
export async function repeatUntil(done: Promise<unknown>, step: () => void, o: RepeatOptions): Promise<void> {
  step();
  const interval = setInterval(step, o.every);
  try {
    await within(done, o.ms, o.label);
  } finally {
    clearInterval(interval);
  }
}

/** A client doing one round trip after another; see roundTrips(). */
export interface RoundTrips {
  /** How long each completed round trip took, in ms. */
  readonly rtts: number[];
  /** Ends the loop after the round trip under way; rejects with what ended it if it failed, or naming label if it has not ended within ms. */
  stop(ms: number, label: string): Promise<void>;
}

/**
 * Runs once() again and again, pause ms apart, timing each call until stop().
 * once resolves true when its round trip is complete, false to end the loop
 * (the peer is gone; that call is not timed).
 */
export function roundTrips(once: () => Promise<boolean>, pause = 50): RoundTrips {
  const rtts: number[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const t0 = performance.now();
      if (!(await once())) return;
      rtts.push(performance.now() - t0);
      await sleep(pause);
    }
  })();
  return {
    rtts,
    stop(ms, label) {
      stopping = true;
      return within(loop, ms, label);
    },
  };
}
