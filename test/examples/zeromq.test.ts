// examples/ffi/zeromq.ts (libzmq through bun:ffi on pollFd edge mode)
// against pyzmq: test/fixtures/zmq_echo.py, a ROUTER and a REP socket on
// random 127.0.0.1 ports that upper-case every frame and add a per-peer
// message counter, stopped by pid at the end.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ZmqError, ZmqSocket } from "../../examples/ffi/zeromq.ts";
import { ClosedError, DeadlineExceededError } from "../../src/index.ts";
import { expectClean, sleep, type SpawnedServer, spawnServer, tickMonitor } from "../_support/index.ts";

function haveLibzmq(): boolean {
  try {
    require("../../examples/ffi/_libzmq.ts");
    return true;
  } catch {
    return false;
  }
}

/** A python3 that can import zmq: the one on PATH, else the system's (Debian's python3-zmq). */
function pythonWithZmq(): string | null {
  for (const py of [Bun.which("python3"), "/usr/bin/python3"]) {
    if (py === null || !fs.existsSync(py)) continue;
    if (Bun.spawnSync([py, "-c", "import zmq"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) return py;
  }
  return null;
}

const python = pythonWithZmq();
// In CI (.ci/run installs libzmq5 and python3-zmq) a missing one fails; elsewhere the tests are skipped.
const have = process.env["CI"] === "true" || (haveLibzmq() && python !== null);
if (!have) console.warn("test/examples/zeromq: libzmq.so.5 or pyzmq not found (apt-get install -y libzmq5 python3-zmq): skipped");

const FIXTURE = path.resolve(import.meta.dir, "../fixtures/zmq_echo.py");
let server: SpawnedServer | null = null;
let router = "";
let rep = "";
const open: ZmqSocket[] = [];

/** A socket closed after the test even when it fails. */
function connect(endpoint: string, opts: Parameters<typeof ZmqSocket.connect>[1] = {}): ZmqSocket {
  const s = ZmqSocket.connect(endpoint, opts);
  open.push(s);
  return s;
}

beforeAll(async () => {
  if (!have) return;
  if (python === null) throw new Error("no python3 with pyzmq (apt-get install -y python3-zmq)");
  server = await spawnServer([python, FIXTURE], {
    cwd: path.dirname(FIXTURE),
    ready: /listening router=(\d+) rep=\d+/,
    ms: 10_000,
    name: "zmq_echo.py",
  });
  const m = /listening router=(\d+) rep=(\d+)/.exec(server.output())!;
  router = `tcp://127.0.0.1:${m[1]}`;
  rep = `tcp://127.0.0.1:${m[2]}`;
  // One round trip first: the peer answers, and the netpoller's own
  // descriptors exist before any test counts descriptors.
  const s = ZmqSocket.connect(router);
  try {
    await s.send("ping", { deadline: Date.now() + 10_000 });
    await s.recv({ deadline: Date.now() + 10_000 });
  } finally {
    s.close();
  }
}, 30_000);

afterAll(async () => {
  if (server !== null) {
    server.proc.kill("SIGTERM");
    await server.proc.exited;
  }
});

afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await sleep(20);
  expectClean();
});

const dec = new TextDecoder();
const text = (frames: Uint8Array[]) => frames.map((f) => dec.decode(f));

/** The descriptors this process has open now (Linux). */
function openFds(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

describe.skipIf(!have)("examples/ffi/zeromq.ts", () => {
  test("1,000 request/replies on a DEALER, every reply checked, while a 5 ms interval keeps ticking; close() gives back every descriptor", async () => {
    const fdsBefore = process.platform === "linux" ? openFds() : 0;
    const s = ZmqSocket.connect(router);
    const mon = tickMonitor(5);
    const t0 = performance.now();
    try {
      const deadline = Date.now() + 20_000;
      for (let i = 1; i <= 1000; i++) {
        await s.send(`request ${i}`, { deadline });
        const reply = text(await s.recv({ deadline }));
        if (reply[0] !== `REQUEST ${i}` || reply[1] !== String(i) || reply.length !== 2) expect(reply).toEqual([`REQUEST ${i}`, String(i)]);
      }
      // Let the interval run once more after the last reply.
      await sleep(15);
    } finally {
      mon.stop();
      s.close();
    }
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(15_000);
    expect(mon.ticks).toBeGreaterThan(0);
    expect(mon.maxGap).toBeLessThan(250);
    // zmq_ctx_term joined libzmq's threads and closed their descriptors (epoll, eventfds, the TCP socket).
    if (process.platform === "linux") expect(openFds()).toBe(fdsBefore);
  }, 30_000);

  // 200 requests sent before the first read: their replies arrive in
  // libzmq's queue while the socket is busy sending, several per ZMQ_FD
  // signal, and the sends themselves drain the signal. Only the ZMQ_EVENTS
  // re-check sees them.
  test("a pipelined burst: 200 sends, then 200 replies in order with the ZMQ_EVENTS re-check", async () => {
    const s = connect(router);
    const deadline = Date.now() + 10_000;
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.send([`burst`, `${i + 1}`], { deadline })));
    await sleep(200); // every reply queued in libzmq before the first recv
    for (let i = 1; i <= 200; i++) expect(text(await s.recv({ deadline }))).toEqual(["BURST", String(i), String(i)]);
  });

  test('the same burst with "wait for ZMQ_FD, then recv" stalls with replies queued (DeadlineExceededError); the re-checking recv then reads them all', async () => {
    const s = connect(router);
    const deadline = Date.now() + 10_000;
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.send(`${i + 1}`, { deadline })));
    await sleep(200);
    const got: string[][] = [];
    const stall = Date.now() + 500;
    let err: unknown = null;
    try {
      for (let i = 0; i < 200; i++) got.push(text(await s.naiveRecv({ deadline: stall })));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(got.length).toBeLessThan(200);
    for (let i = got.length; i < 200; i++) got.push(text(await s.recv({ deadline })));
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => [String(i + 1), String(i + 1)]));
  });

  test("multipart messages: empty and 100 KB frames come back frame for frame; a frame over maxFrame is EMSGSIZE and the socket goes on", async () => {
    const s = connect(router, { maxFrame: 200_000 });
    const big = new Uint8Array(100_000).map((_, i) => 97 + (i % 26)); // a..z
    await s.send(["alpha", "", "gamma", big]);
    const reply = await s.recv({ deadline: Date.now() + 5000 });
    expect(text(reply.slice(0, 3))).toEqual(["ALPHA", "", "GAMMA"]);
    expect(reply[3]!.length).toBe(100_000);
    expect(reply[3]!.every((b, i) => b === 65 + (i % 26))).toBe(true); // A..Z
    expect(text(reply.slice(4))).toEqual(["1"]);

    const small = connect(router, { maxFrame: 1024 });
    await small.send(["x".repeat(2000), "tail"]);
    const err = await small.recv({ deadline: Date.now() + 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZmqError);
    expect((err as ZmqError).code).toBe("EMSGSIZE");
    await small.send(["ok", "k"]);
    expect(text(await small.recv({ deadline: Date.now() + 5000 }))).toEqual(["OK", "K", "2"]);
  });

  test("REQ against REP: 100 round trips; a second send before the reply is ZmqError EFSM", async () => {
    const s = connect(rep, { type: "req" });
    const deadline = Date.now() + 10_000;
    for (let i = 1; i <= 100; i++) {
      await s.send(["req", `${i}`], { deadline });
      expect(text(await s.recv({ deadline }))).toEqual(["REQ", String(i), String(i)]);
    }
    await s.send("once");
    const err = await s.send("twice").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZmqError);
    expect({ code: (err as ZmqError).code, op: (err as ZmqError).op }).toEqual({ code: "EFSM", op: "zmq_send" });
    expect(text(await s.recv({ deadline }))).toEqual(["ONCE", "101"]);
  });

  test("close() rejects a pending recv with ClosedError; bad endpoints are ZmqError", async () => {
    const s = ZmqSocket.connect(router);
    const pending = s.recv();
    await sleep(30);
    s.close();
    s.close(); // idempotent
    expect(await pending.catch((e: unknown) => e)).toBeInstanceOf(ClosedError);
    const after = await s.recv().catch((e: unknown) => e);
    expect(after).toBeInstanceOf(ZmqError);
    expect((after as ZmqError).message).toBe("zmq_recv on a closed ZmqSocket");

    const bad = (() => {
      try {
        ZmqSocket.connect("tcp://127.0.0.1");
      } catch (e) {
        return e;
      }
    })();
    expect(bad).toBeInstanceOf(ZmqError);
    expect({ op: (bad as ZmqError).op, code: (bad as ZmqError).code }).toEqual({ op: "zmq_connect", code: "EINVAL" });
    expect(() => ZmqSocket.connect("nope://x")).toThrow(ZmqError);
    expect(() => ZmqSocket.connect(router, { type: "pub" as never })).toThrow(TypeError);
  });

  test("run as a program: one line per reply", async () => {
    const example = path.resolve(import.meta.dir, "../../examples/ffi/zeromq.ts");
    const proc = Bun.spawn([process.execPath, example, router, "hello", "world", ""], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toBe("HELLO 1\nWORLD 2\n 3\n");
  });
});
