// examples/restart.ts end to end: while a client keeps making requests, a
// second generation takes the listening socket over through the control
// socket (SCM_RIGHTS), the first drains its open connection and exits; no
// request fails. Then the second starts its own successor on SIGHUP.
import { afterAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Conn, connect } from "../../src/index.ts";
import { expectClean } from "../_support/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const enc = new TextEncoder();
const dec = new TextDecoder();
const dir = fs.mkdtempSync(`${os.tmpdir()}/bnp-restart-`);
const control = `${dir}/control.sock`;
const procs: Gen[] = [];
/** Generations started by a server itself (SIGHUP), killed after the file if a test failed midway. */
const successors = new Set<number>();

afterAll(() => {
  for (const p of procs) p.sub.kill();
  for (const pid of successors) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One server generation, its stdout collected. */
class Gen {
  readonly sub: Subprocess<"ignore", "pipe", "inherit">;
  out = "";
  constructor(port: number) {
    const sub = Bun.spawn([process.execPath, path.join(ROOT, "examples/restart.ts")], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), CONTROL: control, DRAIN_MS: "10000" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.sub = sub;
    procs.push(this);
    void (async () => {
      for await (const chunk of sub.stdout) this.out += dec.decode(chunk, { stream: true });
    })();
  }
  async waitFor(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    const end = performance.now() + ms;
    for (;;) {
      const m = this.out.match(re);
      if (m) return m;
      if (performance.now() > end) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(this.out)}`);
      await Bun.sleep(5);
    }
  }
}

/** One request on c: a line out, the answer line back (`<pid> <line>`). */
async function ask(c: Conn, line: string): Promise<string> {
  c.setDeadline(Date.now() + 5000);
  await c.write(enc.encode(`${line}\n`));
  const buf = new Uint8Array(256);
  let got = "";
  while (!got.endsWith("\n")) {
    const n = await c.read(buf);
    if (n === null) throw new Error(`EOF after ${JSON.stringify(got)}`);
    got += dec.decode(buf.subarray(0, n));
  }
  return got.slice(0, -1);
}

test("restart: a new generation takes the listener over while a client keeps connecting; the old one drains; no request fails", async () => {
  const a = new Gen(0);
  const m = await a.waitFor(/restart listening on 127\.0\.0\.1:(\d+) pid (\d+)\n/);
  const port = Number(m[1]);
  const pidA = a.sub.pid;
  expect(Number(m[2])).toBe(pidA);

  // A connection open across the handover: the old generation keeps serving it.
  const held = await connect({ hostname: "127.0.0.1", port });
  expect(await ask(held, "before")).toBe(`${pidA} before`);

  // The client: a new connection per request, back to back, until told to stop.
  const answers: number[] = [];
  const failures: unknown[] = [];
  let stop = false;
  const client = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        const c = await connect({ hostname: "127.0.0.1", port });
        try {
          const r = await ask(c, `req${i}`);
          const [pid, echo] = r.split(" ");
          if (echo !== `req${i}`) throw new Error(`wrong answer ${r}`);
          answers.push(Number(pid));
          if (!procs.some((g) => g.sub.pid === Number(pid))) successors.add(Number(pid));
        } finally {
          await c.close();
        }
      } catch (err) {
        failures.push(err);
      }
    }
  })();

  await Bun.sleep(150);
  const b = new Gen(port);
  // The two handovers, while the client runs. The client is stopped whatever happens.
  const handovers = async () => {
    await b.waitFor(new RegExp(`restart listening on 127\\.0\\.0\\.1:${port} pid ${b.sub.pid} \\(taken over from pid ${pidA}\\)\\n`));
    // The held connection, and maybe a request of the client's in flight.
    await a.waitFor(/draining \d+ connection\(s\)\n/);
    // The old generation accepts nothing more, yet still answers its open connection.
    expect(await ask(held, "during")).toBe(`${pidA} during`);
    const seenB = () => answers.filter((p) => p === b.sub.pid).length;
    const end = performance.now() + 5000;
    while (seenB() < 20 && performance.now() < end) await Bun.sleep(10);
    await held.close();
    expect(await a.sub.exited).toBe(0);
    expect(a.out).toEndWith("drained\n");
    // A SIGHUP makes the second generation start its own successor.
    b.sub.kill("SIGHUP");
    await b.waitFor(/drained\n/);
    expect(await b.sub.exited).toBe(0);
    const before = answers.length;
    while (answers.length < before + 20 && performance.now() < end + 5000) await Bun.sleep(10);
  };
  try {
    await handovers();
  } finally {
    stop = true;
    await client;
    if (!held.closed) await held.close();
  }

  expect(failures).toEqual([]);
  const pids = [...new Set(answers)];
  expect(pids.length).toBe(3);
  expect(pids.slice(0, 2)).toEqual([pidA, b.sub.pid]);
  // Once a generation has drained, every answer comes from a later one.
  expect(answers.slice(-10)).toEqual(Array(10).fill(pids[2]));
  const c = await connect({ hostname: "127.0.0.1", port });
  const last = (await ask(c, "last")).split(" ");
  await c.close();
  expect(last).toEqual([String(pids[2]), "last"]);
  process.kill(pids[2]!, "SIGTERM");
  expectClean();
}, 20_000);
