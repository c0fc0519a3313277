// Tests that each run on resources opened fresh for them (a connected pair,
// its listener): opened before the body; after it, whatever is still open is
// closed and the runtime must be clean, the end every such test shares.
import { test } from "bun:test";
import { expectClean } from "./clean.ts";
import { type Closable, closeAll } from "./resources.ts";

type Register = (name: string, fn: () => Promise<void>, timeout?: number) => void;

/** What testOn registers: a test whose body gets what open() made. */
export type TestOn = <P extends object>(name: string, open: () => Promise<P>, body: (p: P) => Promise<void>, timeout?: number) => void;

function isClosable(x: object): x is Closable {
  return "close" in x && typeof x.close === "function";
}

function testOnWith(register: Register): TestOn {
  return (name, open, body, timeout) =>
    register(
      name,
      async () => {
        const p = await open();
        await body(p);
        await closeAll(...(isClosable(p) ? [p] : (Object.values(p) as Closable[])));
        expectClean();
      },
      timeout,
    );
}

/**
 * test(name, …, timeout) whose body gets what open() made: a Closable, or
 * an array or record of them (a [dialer, accepted] pair from
 * connPairs().pair, a TcpPair from listenAndPair). After the body, those
 * still open are closed (close errors fail the test), then expectClean().
 * testOn.skipIf(cond) is the same over test.skipIf(cond).
 */
export const testOn: TestOn & { skipIf(cond: boolean): TestOn } = Object.assign(testOnWith(test), {
  skipIf: (cond: boolean) => testOnWith(test.skipIf(cond)),
});
