// The netpoller lives inside Bun's event loop: it must not freeze timers or
// Bun's own I/O while a task is parked, must keep the process alive exactly
// while something is parked, and must cost no CPU when idle.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runtimeStats } from "../../src/index.ts";
import { pipesAfterEach, pipeTest, readFd, runScript, sleep, writeFd } from "../_support/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const INDEX = path.join(ROOT, "src/index.ts");
const LIBC = path.join(ROOT, "ffi/libc.ts");
const PLATFORM = path.join(ROOT, "ffi/platform.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "netpoll-coex-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, body);
  return file;
}

/** Reads a child's stdout until `marker` appears; returns the text so far. */
async function readUntil(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, marker: string, limitMs: number) {
  const dec = new TextDecoder();
  let text = "";
  const deadline = performance.now() + limitMs;
  while (!text.includes(marker)) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    const r = await Promise.race([reader.read(), sleep(left).then(() => null)]);
    if (r === null || r.done) break;
    text += dec.decode(r.value, { stream: true });
  }
  return text;
}

async function readRest(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  for (;;) {
    const r = await reader.read();
    if (r.done) return text;
    text += dec.decode(r.value, { stream: true });
  }
}

// In-process tests: every raw fd and PollFd opened, released in afterEach if a
// test failed midway (so one failure does not leak into the next test's leak check).
const pipes = pipesAfterEach();
const { poll } = pipes;

describe("in-process coexistence while a task is parked", () => {
  pipeTest(pipes, "a setTimeout(10) fires within 50 ms", async (r, w) => {
    const p = poll(r);
    const parked = p.waitReadable().catch((e) => e);
    await sleep(5);
    const t0 = performance.now();
    await new Promise((res) => setTimeout(res, 10));
    const dt = performance.now() - t0;
    expect(dt).toBeGreaterThanOrEqual(9);
    expect(dt).toBeLessThan(50);
    // microtasks and setImmediate are not starved either
    const t1 = performance.now();
    await new Promise((res) => setImmediate(res));
    expect(performance.now() - t1).toBeLessThan(20);
    writeFd(w, "z");
    expect(await parked).toBe(undefined);
    expect(new TextDecoder().decode(readFd(r)!)).toBe("z");
  });

  pipeTest(pipes, "Bun.serve in the same process answers fetch()", async (r) => {
    const p = poll(r);
    const parked = p.waitReadable().catch((e) => e);
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("pong") });
    try {
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${server.port}/`);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe("pong");
      }
      expect(performance.now() - t0).toBeLessThan(1000);
    } finally {
      server.stop(true);
    }
    p.close();
    const err = await parked;
    expect((err as Error).name).toBe("ClosedError");
  });

  pipeTest(pipes, "an idle loop does not poll: no drains while a task is parked and nothing happens", async (r, w) => {
    const p = poll(r);
    const parked = p.waitReadable().catch((e) => e);
    await sleep(50); // the wake bridge has started by now
    const before = runtimeStats().loop;
    await sleep(100);
    const after = runtimeStats().loop;
    // A working bridge sleeps in the kernel: zero drains, zero rings while idle.
    // (A bridge stuck in its 1 ms startup poll shows ~100 of each here.)
    expect({ drains: after.drains - before.drains, rings: after.rings - before.rings }).toEqual({ drains: 0, rings: 0 });
    writeFd(w, "q");
    expect(await parked).toBe(undefined);
    const woke = runtimeStats().loop;
    expect(woke.events - after.events).toBe(1);
    expect(woke.rings - after.rings).toBe(1);
    expect(new TextDecoder().decode(readFd(r)!)).toBe("q");
  });
});

describe("process lifetime and idle cost (subprocesses)", () => {
  test("a parked read is what keeps the process alive; it exits by itself after the read", async () => {
    const fifo = path.join(tmp, "fifo");
    const mk = Bun.spawnSync(["mkfifo", fifo]);
    expect(mk.exitCode).toBe(0);
    const file = script(
      "parked_read.ts",
      `import * as fs from "node:fs";
import { pollFd } from ${JSON.stringify(INDEX)};
const fd = fs.openSync(process.argv[2], fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
const p = pollFd(fd);
p.waitReadable().then(() => {
  const buf = Buffer.alloc(64);
  const n = fs.readSync(fd, buf, 0, 64, null);
  console.log("got " + buf.subarray(0, n).toString());
  p.close();
  fs.closeSync(fd);
});
console.log("parked");
`,
    );
    const proc = Bun.spawn([process.execPath, file, fifo], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = proc.stdout.getReader();
      const head = await readUntil(reader, "parked", 5000);
      expect(head).toContain("parked");
      await sleep(200);
      expect(proc.exitCode).toBe(null); // still alive: only the parked read holds it
      const wfd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      fs.writeSync(wfd, "hello");
      fs.closeSync(wfd);
      const tWrite = performance.now();
      const code = await Promise.race([proc.exited, sleep(3000).then(() => "timeout" as const)]);
      const elapsed = performance.now() - tWrite;
      const rest = await readRest(reader);
      expect(code).toBe(0);
      expect(head + rest).toBe("parked\ngot hello\n");
      expect(await new Response(proc.stderr).text()).toBe("");
      expect(elapsed).toBeLessThan(3000);
    } finally {
      if (proc.exitCode === null) proc.kill();
    }
  });

  test("a script that opens and closes a pollFd, with nothing parked, exits at once", async () => {
    const file = script(
      "open_close.ts",
      `import { pollFd, runtimeStats } from ${JSON.stringify(INDEX)};
import { sys } from ${JSON.stringify(LIBC)};
import { C } from ${JSON.stringify(PLATFORM)};
const efd = sys.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
const p = pollFd(efd);
p.close();
sys.close(efd);
const s = runtimeStats();
console.log("closed " + s.fds + " " + s.pollDescs + " " + s.parked);
`,
    );
    const run = await runScript(file, { ms: 2000 });
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(2000);
    expect(run.out).toBe("closed 0 0 0\n");
    expect(run.err).toBe("");
  });

  test("a parked wait with a deadline keeps the process alive until the deadline, then it exits", async () => {
    const file = script(
      "parked_deadline.ts",
      `import { pollFd } from ${JSON.stringify(INDEX)};
import { sys } from ${JSON.stringify(LIBC)};
import { C } from ${JSON.stringify(PLATFORM)};
const efd = sys.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
const p = pollFd(efd);
const t0 = performance.now();
p.waitReadable({ deadline: Date.now() + 300 }).then(
  () => console.log("woken?"),
  (e) => {
    console.log(e.name + " " + e.timeout + " " + (performance.now() - t0 >= 250));
    p.close();
    sys.close(efd);
  },
);
`,
    );
    const run = await runScript(file, { ms: 3000 });
    expect(run.code).toBe(0);
    expect(run.out).toBe("DeadlineExceededError true true\n");
    expect(run.err).toBe("");
    expect(run.ms).toBeGreaterThanOrEqual(300);
    expect(run.ms).toBeLessThan(3000);
  });

  test("100 parked pollFds with no traffic cost < 1% of a core", async () => {
    const file = script(
      "idle_cost.ts",
      `import { pollFd, runtimeStats } from ${JSON.stringify(INDEX)};
import { sys } from ${JSON.stringify(LIBC)};
import { C } from ${JSON.stringify(PLATFORM)};
const raw: number[] = [];
const polls = [];
const waits: Promise<unknown>[] = [];
for (let i = 0; i < 100; i++) {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC) !== 0) throw new Error("pipe2");
  raw.push(fds[0]!, fds[1]!);
  const p = pollFd(fds[0]!);
  polls.push(p);
  waits.push(p.waitReadable().then(() => "woken", (e) => e.name));
}
await new Promise((r) => setTimeout(r, 200)); // let startup (worker, JIT) settle
const s0 = runtimeStats().loop;
const c0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => setTimeout(r, 2000));
const c = process.cpuUsage(c0);
const wall = performance.now() - t0;
const s1 = runtimeStats().loop;
for (const p of polls) p.close();
const outcomes = await Promise.all(waits);
for (const fd of raw) sys.close(fd);
console.log(JSON.stringify({ user: c.user, system: c.system, wall, drains: s1.drains - s0.drains, rings: s1.rings - s0.rings, closed: outcomes.filter((o) => o === "ClosedError").length }));
`,
    );
    const run = await runScript(file, { ms: 8000 });
    expect(run.code).toBe(0);
    expect(run.err).toBe("");
    const out = JSON.parse(run.out) as { user: number; system: number; wall: number; drains: number; rings: number; closed: number };
    expect(out.closed).toBe(100);
    expect(out.wall).toBeGreaterThanOrEqual(1990);
    const cpuMs = (out.user + out.system) / 1000;
    console.log(
      `idle cost: ${cpuMs.toFixed(2)} ms CPU over ${out.wall.toFixed(0)} ms with 100 parked pollFds (${out.drains} drains, ${out.rings} rings)`,
    );
    expect(cpuMs).toBeLessThan(40);
    expect({ drains: out.drains, rings: out.rings }).toEqual({ drains: 0, rings: 0 });
  });
});
