// Tests over raw descriptor pairs watched by PollFds: each ends with its
// PollFds closed and the runtime clean.
import { test } from "bun:test";
import { expectClean } from "./clean.ts";
import type { Pipes } from "./resources.ts";

/**
 * test(name) over a fresh pair of raw descriptors [r, w] (a pipe from pipes
 * unless open gives another pair; its ends are closed after the test by
 * pipesAfterEach, or by the body with pipes.done). After the body, every
 * PollFd the test opened through pipes.poll is closed if still open, and the
 * runtime must hold nothing.
 */
export function pipeTest(
  pipes: Pipes,
  name: string,
  body: (r: number, w: number) => Promise<void> | void,
  open: () => [number, number] = pipes.mkpipe,
): void {
  test(name, async () => {
    const [r, w] = open();
    await body(r, w);
    for (const p of pipes.polls) if (!p.closed) p.close();
    expectClean();
  });
}
