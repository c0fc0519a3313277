// Listener.unref(): an unref'd listener with a for-await accept loop parked in
// accept() lets the process exit by itself; ref() makes it keep the process
// alive again. Each case runs in a child process (test/fixtures/listener_unref.ts).
import { describe, expect, test } from "bun:test";
import * as path from "node:path";

const FIXTURE = path.resolve(import.meta.dir, "../fixtures/listener_unref.ts");
/** Generous: a child that should exit does so in well under a second. */
const EXIT_BOUND_MS = 10_000;

async function run(mode: string): Promise<{ code: number | null; out: string; ms: number; killed: boolean }> {
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, FIXTURE, mode], { stdout: "pipe", stderr: "pipe" });
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill("SIGKILL");
  }, EXIT_BOUND_MS);
  const code = await proc.exited;
  clearTimeout(timer);
  const out = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  return { code, out, ms: performance.now() - t0, killed };
}

describe("Listener.unref() with an accept parked", () => {
  test("unref() before the for-await accept loop parks: the process exits by itself", async () => {
    const r = await run("unref-before-accept");
    expect({ killed: r.killed, code: r.code, out: r.out }).toEqual({ killed: false, code: 0, out: "parked\n" });
  }, 20_000);

  test("unref() while an accept is already parked: the process exits by itself", async () => {
    const r = await run("unref-while-parked");
    expect({ killed: r.killed, code: r.code, out: r.out }).toEqual({ killed: false, code: 0, out: "parked\n" });
  }, 20_000);

  test("ref() again keeps the process alive with the accept parked", async () => {
    const r = await run("ref-again");
    expect({ killed: r.killed, code: r.code, out: r.out }).toEqual({ killed: false, code: 0, out: "alive after 1500 ms\nloop ended\n" });
    expect(r.ms).toBeGreaterThanOrEqual(1400);
  }, 20_000);

  test("an unref'd listener still accepts while something else keeps the process alive", async () => {
    const r = await run("unref-still-accepts");
    expect({ killed: r.killed, code: r.code, out: r.out }).toEqual({ killed: false, code: 0, out: "accepted 1\n" });
  }, 20_000);
});
