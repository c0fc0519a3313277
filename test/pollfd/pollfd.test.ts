// pollFd: the public API for caller-owned descriptors.
import { describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { ClosedError, DeadlineExceededError, NetError, type PollFd, pollFd, runtimeStats } from "../../src/index.ts";
import { backendName } from "../../src/poll/index.ts";
import { expectClean, pipesAfterEach, pipeTest, readFd, rejection, settlement as track, sleep, thrown, tick, writeFd } from "../_support/index.ts";

const dec = new TextDecoder();

// Every raw fd and PollFd a test opens, closed in afterEach if the test failed midway.
const pipes = pipesAfterEach();
const { poll, done, rawFds, polls } = pipes;

/** Fills a non-blocking fd until EAGAIN; returns bytes written. */
function fill(fd: number): number {
  const chunk = new Uint8Array(new ArrayBuffer(65536));
  let total = 0;
  for (;;) {
    const n = sys.write(fd, chunk, chunk.length);
    if (n < 0) {
      const e = errno();
      if (e === E.EAGAIN) return total;
      throw new Error(`fill: errno ${e}`);
    }
    total += n;
  }
}

/** Reads a non-blocking fd until EAGAIN/EOF; returns bytes read. */
function drain(fd: number): number {
  let total = 0;
  for (;;) {
    const b = readFd(fd);
    if (b === null || b.length === 0) return total;
    total += b.length;
  }
}

/** A waitReadable on p, seen still parked 10 ms later. */
async function parkedRead(p: PollFd, opts?: { signal?: AbortSignal }) {
  const t = track(p.waitReadable(opts));
  await sleep(10);
  expect(t.settled).toBe(false);
  return t;
}

describe("pollFd", () => {
  pipeTest(pipes, "a task parked on a pipe resumes when the other end writes", async (r, w) => {
    const p = poll(r);
    expect(p.fd).toBe(r);
    const t0 = performance.now();
    setTimeout(() => writeFd(w, "hello, poller"), 20);
    const t = track(p.waitReadable());
    await tick();
    expect(t.settled).toBe(false);
    await t.p;
    const dt = t.at - t0;
    expect(dt).toBeGreaterThanOrEqual(15);
    expect(dt).toBeLessThan(200);
    expect(dec.decode(readFd(r)!)).toBe("hello, poller");
    expect(readFd(r)).toBe(null); // exactly those bytes: now EAGAIN
    p.close();
    expect(p.closed).toBe(true);
  });

  pipeTest(pipes, "EOF: closing the write end wakes the reader; read returns 0 bytes", async (r, w) => {
    const p = poll(r);
    const t = await parkedRead(p);
    done(w);
    await t.p;
    expect(t.ok).toBe(true);
    const b = readFd(r);
    expect(b).not.toBe(null);
    expect(b!.length).toBe(0);
  });

  pipeTest(pipes, "close while parked rejects with ClosedError within one loop turn", async (r, w) => {
    const p = poll(r);
    const t = await parkedRead(p);
    const t0 = performance.now();
    p.close();
    await t.p.catch(() => {});
    expect(t.at - t0).toBeLessThan(50);
    expect(t.error).toBeInstanceOf(ClosedError);
    expect(t.error).toBeInstanceOf(NetError);
    expect((t.error as ClosedError).message).toContain("use of closed network connection");
    expect((t.error as ClosedError).code).toBe("ERR_NET_CLOSED");
    expect((t.error as ClosedError).timeout).toBe(false);
    // A second close throws ClosedError and touches nothing.
    expect(thrown(() => p.close())).toBeInstanceOf(ClosedError);
    // New waits and deadline setters fail with ClosedError too.
    await expect(p.waitReadable()).rejects.toBeInstanceOf(ClosedError);
    await expect(p.waitWritable()).rejects.toBeInstanceOf(ClosedError);
    expect(() => p.setReadDeadline(Date.now() + 1000)).toThrow(ClosedError);
    // the caller still owns the fd: it is open and usable
    expect(writeFd(w, "x")).toBe(1);
    expect(dec.decode(readFd(r)!)).toBe("x");
  });

  pipeTest(pipes, "deadline in the past rejects at once and consumes nothing", async (r, w) => {
    writeFd(w, "pending");
    const p = poll(r);
    await sleep(5); // the registration's readiness edge is latched by now
    const t0 = performance.now();
    const err = await rejection(p.waitReadable({ deadline: Date.now() - 1000 }));
    expect(performance.now() - t0).toBeLessThan(20);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err).not.toBeInstanceOf(ClosedError);
    expect((err as DeadlineExceededError).timeout).toBe(true);
    expect((err as DeadlineExceededError).message).toContain("i/o timeout");
    // the deadline stays set: the next wait fails too, even with data buffered
    await expect(p.waitReadable()).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(dec.decode(readFd(r)!)).toBe("pending"); // zero bytes consumed
    // clearing the deadline lets the latched readiness through
    p.setReadDeadline(null);
    await p.waitReadable();
  });

  pipeTest(pipes, "deadline +100 ms fires in 50-250 ms", async (r) => {
    const p = poll(r);
    const t0 = performance.now();
    const t = track(p.waitReadable({ deadline: Date.now() + 100 }));
    await t.p.catch(() => {});
    const dt = t.at - t0;
    expect(t.error).toBeInstanceOf(DeadlineExceededError);
    expect((t.error as DeadlineExceededError).timeout).toBe(true);
    expect(dt).toBeGreaterThanOrEqual(50);
    expect(dt).toBeLessThanOrEqual(250);
  });

  pipeTest(pipes, "deadline extended while parked: no wake at 50 ms, fires near 300 ms", async (r) => {
    const p = poll(r);
    const t0 = performance.now();
    p.setReadDeadline(Date.now() + 50);
    const t = track(p.waitReadable());
    await sleep(20);
    p.setReadDeadline(Date.now() + 300);
    await sleep(80); // ~100 ms: the old deadline is long past
    expect(t.settled).toBe(false);
    await t.p.catch(() => {});
    const dt = t.at - t0;
    expect(t.error).toBeInstanceOf(DeadlineExceededError);
    expect(dt).toBeGreaterThanOrEqual(250);
    expect(dt).toBeLessThanOrEqual(600);
  });

  pipeTest(pipes, "AbortSignal rejects with exactly signal.reason", async (r, w) => {
    const p = poll(r);
    const ac = new AbortController();
    const reason = { custom: "reason" };
    const t = await parkedRead(p, { signal: ac.signal });
    ac.abort(reason);
    await t.p.catch(() => {});
    expect(t.error).toBe(reason);
    // the PollFd stays usable after an abort
    setTimeout(() => writeFd(w, "y"), 5);
    await p.waitReadable();
    expect(dec.decode(readFd(r)!)).toBe("y");
    // an already-aborted signal rejects with its reason
    await expect(p.waitReadable({ signal: ac.signal })).rejects.toBe(reason);
  });

  pipeTest(pipes, "waitWritable on a fresh pipe's write end resolves at once", async (_r, w) => {
    const p = poll(w);
    const t0 = performance.now();
    await p.waitWritable();
    expect(performance.now() - t0).toBeLessThan(50);
  });

  pipeTest(pipes, "waitWritable on a full pipe parks until the reader drains", async (r, w) => {
    const filled = fill(w);
    expect(filled).toBeGreaterThan(0);
    const p = poll(w); // registered while full: no writable edge yet
    const t0 = performance.now();
    let drained = 0;
    setTimeout(() => {
      drained = drain(r);
    }, 40);
    const t = track(p.waitWritable());
    await sleep(20);
    expect(t.settled).toBe(false);
    await t.p;
    expect(t.ok).toBe(true);
    expect(drained).toBe(filled);
    expect(t.at - t0).toBeGreaterThanOrEqual(35);
    expect(t.at - t0).toBeLessThan(250);
    expect(writeFd(w, "room")).toBe(4);
  });

  test("pollFd on an eventfd wakes after an 8-byte write", async () => {
    const efd = sys.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
    expect(efd).toBeGreaterThanOrEqual(0);
    rawFds.push(efd);
    const p = poll(efd);
    const t = await parkedRead(p);
    const one = new Uint8Array(new ArrayBuffer(8));
    new DataView(one.buffer).setBigUint64(0, 7n, true);
    expect(writeFd(efd, one)).toBe(8);
    await t.p;
    const b = readFd(efd, 8)!;
    expect(b.length).toBe(8);
    expect(new DataView(b.buffer).getBigUint64(0, true)).toBe(7n);
    expect(readFd(efd, 8)).toBe(null);
    p.close();
    done(efd);
    expectClean();
  });

  pipeTest(pipes, "two concurrent waitReadable on one PollFd resolve in FIFO order after two edges", async (r, w) => {
    const p = poll(r);
    const order: string[] = [];
    const a = p.waitReadable().then(() => order.push("a"));
    const b = p.waitReadable().then(() => order.push("b"));
    await sleep(10);
    expect(order).toEqual([]);
    writeFd(w, "1");
    await a;
    await sleep(10);
    expect(order).toEqual(["a"]); // b needs its own edge
    expect(dec.decode(readFd(r)!)).toBe("1");
    writeFd(w, "2");
    await b;
    expect(order).toEqual(["a", "b"]);
    expect(dec.decode(readFd(r)!)).toBe("2");
  });

  pipeTest(pipes, "close with a parked and a queued waiter rejects both and releases the fd after the last", async (r) => {
    const p = poll(r);
    const a = track(p.waitReadable());
    const b = track(p.waitReadable());
    await sleep(10);
    expect(runtimeStats().parked).toBe(1); // b queues on the direction lock, not on the pollDesc
    expect(runtimeStats().fds).toBe(1);
    p.close();
    await a.p.catch(() => {});
    await b.p.catch(() => {});
    expect(a.error).toBeInstanceOf(ClosedError);
    expect(b.error).toBeInstanceOf(ClosedError);
    expect(a.at).toBeLessThanOrEqual(b.at);
  });

  pipeTest(pipes, "bad wait options are rejections of the returned promise, never throws; the PollFd stays usable", async (r, w) => {
    const p = poll(r);
    const cases: [unknown, string][] = [
      [{ bogus: 1 }, 'waitReadable: unknown option "bogus"'],
      [{ deadline: Date.now() + 1000, timeout: 1000 }, "waitReadable: give deadline or timeout, not both"],
      [{ timeout: "soon" }, "waitReadable: timeout must be a number of ms or null, got string"],
    ];
    for (const [opts, message] of cases) {
      let got: Promise<void> | null = null;
      let threw: unknown = null;
      try {
        got = p.waitReadable(opts as never);
      } catch (e) {
        threw = e;
      }
      expect(threw).toBeNull();
      expect(got).toBeInstanceOf(Promise);
      const err = await rejection(got!);
      expect({ type: (err as Error).constructor.name, message: (err as Error).message }).toEqual({ type: "TypeError", message });
    }
    writeFd(w, "x");
    await p.waitReadable();
    expect(dec.decode(readFd(r)!)).toBe("x");
    p.close();
  });

  test("invalid fds throw TypeError", () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
      expect(() => pollFd(bad)).toThrow(TypeError);
    }
    expectClean();
  });

  // epoll refuses regular files; kqueue (BSD, libkqueue) takes them and
  // reports them ready. Either way nothing stays registered afterwards.
  test("pollFd on a regular file: NetError EPERM from epoll_ctl on epoll; ready on kqueue", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpoll-pollfd-"));
    const file = path.join(dir, "regular");
    const fd = fs.openSync(file, "w+");
    try {
      fs.writeSync(fd, "data", 0); // pwrite: the offset stays at 0, so 4 bytes are unread
      if (backendName() === "epoll") {
        const err = thrown(() => poll(fd));
        expect(err).toBeInstanceOf(NetError);
        expect((err as NetError).code).toBe("EPERM");
        expect((err as NetError).errno).toBe(E.EPERM!);
        expect((err as NetError).syscall).toBe("epoll_ctl");
        expect((err as NetError).op).toBe("register");
        expect((err as NetError).message).toBe(
          `register fd ${fd}: epoll cannot watch this kind of file (a regular file or a directory is always ready: read it directly)`,
        );
        expect(err).not.toBeInstanceOf(ClosedError);
        expect(runtimeStats().fds).toBe(0);
      } else {
        const p = poll(fd);
        const r = track(p.waitReadable({ deadline: Date.now() + 2000 }));
        const w = track(p.waitWritable({ deadline: Date.now() + 2000 }));
        await Promise.allSettled([r.p, w.p]);
        expect([r.ok, w.ok]).toEqual([true, true]);
        p.close();
      }
    } finally {
      for (const p of polls.splice(0)) if (!p.closed) p.close();
      await tick();
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expectClean();
  });
});
