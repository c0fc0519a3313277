// go() and task error reporting.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Chan, go, setTaskErrorHandler } from "../../src/index.ts";
import { flush } from "../_support/index.ts";

const INDEX = resolve(import.meta.dir, "../../src/index.ts");
const BUN = process.execPath;

beforeEach(() => {
  setTaskErrorHandler(null);
});
afterEach(() => {
  setTaskErrorHandler(null);
});

describe("go", () => {
  test("runs fn with its arguments; the returned promise resolves when the task ends", async () => {
    const ev: string[] = [];
    const p = go(
      async (a: number, b: string) => {
        ev.push(`start ${a} ${b}`);
        await flush(2);
        ev.push("end");
      },
      1,
      "x",
    );
    // fn starts synchronously, up to its first await.
    expect(ev).toEqual(["start 1 x"]);
    await p;
    expect(ev).toEqual(["start 1 x", "end"]);
    expect(await go(() => 42)).toBeUndefined();
  });

  test("an escaping error goes to the handler set with setTaskErrorHandler; go's promise still resolves", async () => {
    const errors: unknown[] = [];
    const h = (e: unknown) => errors.push(e);
    expect(setTaskErrorHandler(h)).toBeNull();
    const sync = new Error("sync throw");
    const async_ = new Error("async throw");
    await go(() => {
      throw sync;
    });
    await go(async () => {
      await flush(1);
      throw async_;
    });
    await go(() => Promise.reject("plain value"));
    expect(errors).toEqual([sync, async_, "plain value"]);
    // Restoring with null returns the handler that was installed.
    expect(setTaskErrorHandler(null)).toBe(h);
    expect(setTaskErrorHandler(null)).toBeNull();
  });

  test("a task blocked on a channel and then failing reports through the handler", async () => {
    const errors: unknown[] = [];
    setTaskErrorHandler((e) => errors.push(e));
    const c = new Chan<number>();
    const t = go(async () => {
      const { value } = await c.recv();
      if (value === 13) throw new Error(`unlucky ${value}`);
    });
    await c.send(13);
    await t;
    expect(errors.map((e) => (e as Error).message)).toEqual(["unlucky 13"]);
  });

  test("with the default handler an escaping error crashes the process, printed on stderr (like a goroutine panic)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bun-netpoll-go-"));
    try {
      for (const [name, body] of [
        ["async", "go(async () => { await Promise.resolve(); throw new Error('boom from task ' + 'async'); });"],
        ["sync", "go(() => { throw new Error('boom from task ' + 'sync'); });"],
      ] as const) {
        const script = join(dir, `${name}.ts`);
        writeFileSync(
          script,
          `import { go } from ${JSON.stringify(INDEX)};\n${body}\nsetTimeout(() => console.log("still alive"), 500);\n`,
        );
        const proc = Bun.spawn([BUN, script], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
        const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
        expect(code).not.toBe(0);
        expect(err).toContain(`boom from task ${name}`);
        expect(out).not.toContain("still alive");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
