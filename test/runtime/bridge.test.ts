// The wake bridge: which one runs, that each one wakes a parked task when the
// loop is idle, that a refused io_uring falls back to the Worker (and says
// so), that a forced bridge which cannot start is an error and never silent
// polling, and that a Worker's loop releases its descriptors when it ends.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pollFd, runtimeStats } from "../../src/index.ts";
import { closeFd, expectClean, pipe, readFd, runScript, sleep, writeFd } from "../_support/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const INDEX = path.join(ROOT, "src/index.ts");
const HELPERS = path.join(ROOT, "test/_support/fd.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "netpoll-bridge-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const backend = process.env.BUN_NETPOLL_BACKEND ?? (process.platform === "linux" ? "epoll" : "kqueue");
const epollDefault = process.platform === "linux" && backend === "epoll";
const defaultBridge = epollDefault ? "uring" : backend === "kqueue" ? "kqueue" : "worker";

// A child that parks on a pipe while its loop is idle, is woken by a write
// from a timer, and prints what runtimeStats() says of the bridge.
const WAKE_CHILD = `import { netpollReady, pollFd, runtimeStats } from ${JSON.stringify(INDEX)};
import { closeFd, pipe, readFd, writeFd } from ${JSON.stringify(HELPERS)};
const [r, w] = pipe();
const p = pollFd(r);
await netpollReady();
const before = runtimeStats().loop;
setTimeout(() => writeFd(w, "x"), 30);
await p.waitReadable();
const got = new TextDecoder().decode(readFd(r) ?? new Uint8Array());
const after = runtimeStats().loop;
p.close();
closeFd(r);
closeFd(w);
console.log(JSON.stringify({ got, bridge: after.bridge, fallback: after.bridgeFallback, rings: after.rings - before.rings }));
`;
const wakeFile = path.join(tmp, "wake_child.ts");
fs.writeFileSync(wakeFile, WAKE_CHILD);

/** A child script run with env added, for 10 s unless told. */
const runChild = (file: string, env: Record<string, string | undefined>, ms = 10_000) => runScript(file, { env, ms });

describe("wake bridge", () => {
  test("this thread's loop reports its bridge: uring by default on Linux/epoll, kqueue on kqueue", async () => {
    const [r, w] = pipe();
    const p = pollFd(r);
    const forced = process.env.BUN_NETPOLL_BRIDGE;
    const s = runtimeStats().loop;
    expect(s.bridge).toBe(forced ?? defaultBridge);
    expect(s.bridgeFallback).toBe(null);
    p.close();
    closeFd(r);
    closeFd(w);
    await sleep(0);
    expectClean();
  });

  test("an idle loop is woken through the bridge: one ring, the task resumes, nothing polled", async () => {
    const [r, w] = pipe();
    const p = pollFd(r);
    await sleep(20); // the loop has drained and armed its bridge
    const before = runtimeStats().loop;
    const t = setTimeout(() => writeFd(w, "wake"), 20);
    await p.waitReadable();
    const after = runtimeStats().loop;
    expect(new TextDecoder().decode(readFd(r)!)).toBe("wake");
    expect(after.rings - before.rings).toBeGreaterThanOrEqual(1);
    // No polling while idle: at most a couple of drains per ring.
    expect(after.drains - before.drains).toBeLessThanOrEqual(2 * (after.rings - before.rings) + 1);
    clearTimeout(t);
    p.close();
    closeFd(r);
    closeFd(w);
    await sleep(0);
    expectClean();
  });

  for (const name of ["uring", "worker", "kqueue"] as const) {
    test.skipIf((name !== "kqueue" && !epollDefault) || (name === "kqueue" && backend !== "kqueue"))(`BUN_NETPOLL_BRIDGE=${name} runs that bridge and it wakes a parked task`, async () => {
      const r = await runChild(wakeFile, { BUN_NETPOLL_BRIDGE: name });
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual({ got: "x", bridge: name, fallback: null, rings: 1 });
    });
  }

  test.skipIf(!epollDefault)("io_uring refused → the Worker bridge runs, and runtimeStats() says why", async () => {
    const r = await runChild(wakeFile, { BUN_NETPOLL_BRIDGE: undefined, BUN_NETPOLL_DENY_URING: "1" });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.got).toBe("x");
    expect(j.bridge).toBe("worker");
    expect(j.rings).toBe(1);
    expect(j.fallback).toBe("wake bridge uring failed to start: io_uring_setup: EPERM");
  });

  test.skipIf(!epollDefault)("a forced bridge that cannot start is a BridgeStartError, not silent polling", async () => {
    const file = path.join(tmp, "forced_denied.ts");
    fs.writeFileSync(
      file,
      `import { pollFd } from ${JSON.stringify(INDEX)};
import { closeFd, pipe } from ${JSON.stringify(HELPERS)};
const [r, w] = pipe();
try {
  pollFd(r);
  console.log("started");
} catch (e) {
  console.log(JSON.stringify({ name: (e as Error).name, message: (e as Error).message, code: (e as { code?: string }).code, syscall: (e as { syscall?: string }).syscall }));
}
closeFd(r);
closeFd(w);
`,
    );
    const r = await runChild(file, { BUN_NETPOLL_BRIDGE: "uring", BUN_NETPOLL_DENY_URING: "1" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      name: "BridgeStartError",
      message: "wake bridge uring failed to start: io_uring_setup: EPERM",
      code: "EPERM",
      syscall: "io_uring_setup",
    });
  });

  test("an unknown BUN_NETPOLL_BRIDGE is a TypeError naming the choices", async () => {
    const file = path.join(tmp, "unknown_bridge.ts");
    fs.writeFileSync(
      file,
      `import { pollFd } from ${JSON.stringify(INDEX)};
import { closeFd, pipe } from ${JSON.stringify(HELPERS)};
const [r, w] = pipe();
try { pollFd(r); console.log("started"); } catch (e) { console.log((e as Error).name + ": " + (e as Error).message); }
closeFd(r);
closeFd(w);
`,
    );
    const r = await runChild(file, { BUN_NETPOLL_BRIDGE: "spin" });
    expect(r.code).toBe(0);
    expect(r.out).toBe('TypeError: BUN_NETPOLL_BRIDGE must be one of uring, worker, kqueue, not "spin"\n');
  });

  test("100 Workers that use the runtime and end release every descriptor their loops opened", async () => {
    const file = path.join(tmp, "worker_fds.ts");
    fs.writeFileSync(
      file,
      `import { readdirSync } from "node:fs";
const count = () => readdirSync("/proc/self/fd").length;
const body = ${JSON.stringify(WAKE_CHILD)};
const src = ${JSON.stringify(path.join(tmp, "worker_body.ts"))};
await Bun.write(src, body.replace("console.log(", "postMessage("));
// Worker 0 runs before the count: a kqueue library keeps process-wide state
// of its own from its first kqueue() on.
let start = count();
const bridges = new Set();
for (let i = 0; i <= 100; i++) {
  if (i === 1) start = count();
  const w = new Worker(src);
  await new Promise<void>((res, rej) => {
    w.onmessage = (e) => bridges.add(JSON.parse(e.data).bridge);
    w.onerror = (e) => rej(new Error(e.message));
    w.addEventListener("close", () => res());
  });
}
await Bun.sleep(50);
console.log(JSON.stringify({ leaked: count() - start, bridges: [...bridges] }));
`,
    );
    // 101 Worker start-ups in a row: seconds on a loaded machine.
    const r = await runChild(file, {}, 55_000);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.leaked).toBe(0);
    expect(j.bridges).toEqual([process.env.BUN_NETPOLL_BRIDGE ?? defaultBridge]);
  }, 60_000);
});
