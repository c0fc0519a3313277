// pollFd level mode, and descriptors replaced under the same number: what C
// libraries that own their sockets (libpq, libcurl, zeromq) need.
import { describe, expect, test } from "bun:test";
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { ClosedError, DeadlineExceededError, NetError, type PollFd, pollFd, type PollMode, runtimeStats } from "../../src/index.ts";
import { pipesAfterEach, pipeTest, readFd, sleep, writeFd } from "../_support/index.ts";

// Every raw fd and PollFd a test opens, closed in afterEach if the test failed midway.
const pipes = pipesAfterEach();
const { mkpipe, done, rawFds } = pipes;
function mksocketpair(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  const r = sys.socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0, fds);
  if (r !== 0) throw new Error(`socketpair failed: errno ${errno()}`);
  rawFds.push(fds[0]!, fds[1]!);
  return [fds[0]!, fds[1]!];
}

/** pipeTest over a connected unix socket pair [a, b] instead of a pipe. */
function socketTest(name: string, body: (a: number, b: number) => Promise<void>): void {
  pipeTest(pipes, name, body, mksocketpair);
}

/** pollFd(fd) in level mode unless told, closed after the test if still open. */
function poll(fd: number, mode: PollMode = "level"): PollFd {
  return pipes.poll(fd, { mode });
}

/** Resolves true if the promise settles within ms, false otherwise (it keeps running). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const r = await Promise.race([p.then(() => true), late]);
  clearTimeout(timer);
  return r;
}

/** One read of at most max bytes: the count, 0 at EOF, -1 on EAGAIN. */
function readOnce(fd: number, max: number): number {
  const buf = new Uint8Array(new ArrayBuffer(max));
  const n = sys.read(fd, buf, max);
  if (n < 0) {
    const e = errno();
    if (e === E.EAGAIN) return -1;
    throw new Error(`read failed: errno ${e}`);
  }
  return n;
}

describe("pollFd level mode", () => {
  test("mode is checked: anything but edge or level is a TypeError and registers nothing", () => {
    const [r] = mkpipe();
    expect(() => pollFd(r, { mode: "both" as "level" })).toThrow(TypeError);
    expect(() => pollFd(r, { mode: "both" as "level" })).toThrow('pollFd: mode must be "edge" or "level", not both');
    expect(runtimeStats().fds).toBe(0);
    const e = pipes.poll(r);
    expect(e.mode).toBe("edge");
    e.close();
    expect(poll(r).mode).toBe("level");
  });

  pipeTest(pipes, "a read wait resolves at once while unread data remains; the edge mode parks", async (r, w) => {
    writeFd(w, "x".repeat(100));
    const p = poll(r);
    await p.waitReadable();
    expect(readOnce(r, 10)).toBe(10); // 90 bytes left: still readable
    for (let i = 0; i < 3; i++) expect(await within(p.waitReadable(), 50)).toBe(true);
    expect(readOnce(r, 1000)).toBe(90);
    // Drained: the level wait parks until new data comes.
    const t0 = performance.now();
    setTimeout(() => writeFd(w, "more"), 30);
    await p.waitReadable({ deadline: Date.now() + 2000 });
    const dt = performance.now() - t0;
    expect(dt).toBeGreaterThanOrEqual(20);
    expect(dt).toBeLessThan(500);
    expect(readOnce(r, 100)).toBe(4);
    p.close();
    // The same half-read pipe in edge mode: the second wait never resolves.
    writeFd(w, "y".repeat(100));
    const e = poll(r, "edge");
    await e.waitReadable();
    expect(readOnce(r, 10)).toBe(10);
    await expect(e.waitReadable({ deadline: Date.now() + 100 })).rejects.toBeInstanceOf(DeadlineExceededError);
  });

  // libpq's PQconnectPoll may say "wait until writable" twice in a row
  // without writing anything in between: no new writable edge ever comes.
  socketTest("a write wait resolves at once on a writable socket, again and again with nothing written", async (a) => {
    const p = poll(a);
    for (let i = 0; i < 5; i++) expect(await within(p.waitWritable(), 50)).toBe(true);
    p.close();
    const e = poll(a, "edge");
    await e.waitWritable({ deadline: Date.now() + 1000 }); // the registration's first edge
    await expect(e.waitWritable({ deadline: Date.now() + 100 })).rejects.toBeInstanceOf(DeadlineExceededError);
  });

  socketTest("a full send buffer parks the write wait until the peer reads", async (a, b) => {
    const chunk = new Uint8Array(new ArrayBuffer(65536));
    while (sys.write(a, chunk, chunk.length) > 0);
    expect(errno()).toBe(E.EAGAIN);
    const p = poll(a);
    const wait = p.waitWritable({ deadline: Date.now() + 2000 });
    expect(await within(wait, 50)).toBe(false);
    let drained = 0;
    for (let n = readOnce(b, 65536); n > 0; n = readOnce(b, 65536)) drained += n;
    expect(drained).toBeGreaterThan(0);
    await wait;
  });

  // libpq's PQconsumeInput does one recv of about 16 KB per call: a 110 KB
  // result already in the kernel would never wake an edge-mode reader again.
  socketTest("a reader taking 16 KB per wakeup gets all of 110 KB already queued", async (a, b) => {
    const total = 110 * 1024;
    const src = new Uint8Array(new ArrayBuffer(total));
    for (let i = 0; i < total; i++) src[i] = i % 251;
    let off = 0;
    const pw = poll(b);
    while (off < total) {
      await pw.waitWritable({ deadline: Date.now() + 2000 });
      const n = sys.write(b, src.subarray(off), total - off);
      if (n > 0) off += n;
    }
    const p = poll(a);
    const got = new Uint8Array(new ArrayBuffer(total));
    const buf = new Uint8Array(new ArrayBuffer(16384));
    let have = 0;
    let wakeups = 0;
    while (have < total) {
      await p.waitReadable({ deadline: Date.now() + 2000 });
      wakeups++;
      const n = sys.read(a, buf, buf.length);
      if (n > 0) {
        got.set(buf.subarray(0, n), have);
        have += n;
      }
    }
    expect(have).toBe(total);
    expect(Buffer.from(got).equals(Buffer.from(src))).toBe(true);
    expect(wakeups).toBeGreaterThanOrEqual(7);
  });

  pipeTest(pipes, "a hung-up pipe: every level read wait resolves (read says EOF); the write end's waits see the error", async (r, w) => {
    const pr = poll(r);
    done(w);
    for (let i = 0; i < 3; i++) {
      expect(await within(pr.waitReadable(), 50)).toBe(true);
      expect(readOnce(r, 16)).toBe(0);
    }
    pr.close();
    const [r2, w2] = mkpipe();
    const pw = poll(w2);
    done(r2);
    expect(await within(pw.waitWritable(), 50)).toBe(true); // POLLERR: the write fails with EPIPE
  });

  pipeTest(pipes, "close, deadline and abort end a parked level wait with their errors", async (r, w) => {
    const p = poll(r);
    const parked = p.waitReadable();
    await sleep(10);
    p.close();
    await expect(parked).rejects.toBeInstanceOf(ClosedError);
    const q = poll(r);
    await expect(q.waitReadable({ deadline: Date.now() + 30 })).rejects.toBeInstanceOf(DeadlineExceededError);
    q.setReadDeadline(null);
    const ac = new AbortController();
    const aborted = q.waitReadable({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop waiting")), 10);
    await expect(aborted).rejects.toThrow("stop waiting");
    // A wait after all that still works.
    writeFd(w, "z");
    expect(await within(q.waitReadable(), 50)).toBe(true);
  });
});

describe("no spinning on a hung-up descriptor", () => {
  /** CPU time (user + system, ms) the process uses over ms of wall time. */
  async function cpuOver(ms: number): Promise<number> {
    const c0 = process.cpuUsage();
    await sleep(ms);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  }

  socketTest("level: a HUP'd socket registered with nobody waiting leaves the loop idle", async (a, b) => {
    const p = poll(a);
    done(b);
    expect(await within(p.waitReadable(), 50)).toBe(true);
    expect(readOnce(a, 16)).toBe(0);
    const d0 = runtimeStats().loop.drains;
    const cpu = await cpuOver(300);
    const drains = runtimeStats().loop.drains - d0;
    expect(drains).toBeLessThan(10);
    expect(cpu).toBeLessThan(100);
  });

  socketTest("edge: a task waiting again on a HUP'd socket parks (one wakeup, not a loop)", async (a, b) => {
    const p = poll(a, "edge");
    done(b);
    let wakeups = 0;
    const task = (async () => {
      for (;;) {
        await p.waitReadable();
        wakeups++;
        readOnce(a, 16);
      }
    })().catch((e: unknown) => e);
    const d0 = runtimeStats().loop.drains;
    const cpu = await cpuOver(300);
    const drains = runtimeStats().loop.drains - d0;
    expect(wakeups).toBe(1);
    expect(drains).toBeLessThan(10);
    expect(cpu).toBeLessThan(100);
    p.close();
    expect(await task).toBeInstanceOf(ClosedError);
  });
});

describe("a descriptor replaced under the same number", () => {
  /** Closes both ends of [r, w] and opens a pipe whose read end gets r's number. */
  function replacePipe(r: number, w: number): [number, number] {
    done(r);
    done(w);
    const next = mkpipe();
    expect(next[0]).toBe(r); // the lowest free number, as libpq's next socket gets it
    return next;
  }

  for (const mode of ["level", "edge"] as const) {
    pipeTest(pipes, `${mode}: a wait on the number follows the new file and wakes on its data`, async (r, w) => {
      const p = poll(r, mode);
      writeFd(w, "old");
      await p.waitReadable();
      expect(readOnce(r, 16)).toBe(3);
      const [r2, w2] = replacePipe(r, w);
      setTimeout(() => writeFd(w2, "new"), 20);
      await p.waitReadable({ deadline: Date.now() + 1000 });
      expect(dec(readFd(r2)!)).toBe("new");
      // close() takes the new file out: the number registers afresh.
      p.close();
      const again = poll(r2, mode);
      writeFd(w2, "again");
      await again.waitReadable({ deadline: Date.now() + 1000 });
      expect(dec(readFd(r2)!)).toBe("again");
    });
  }

  pipeTest(pipes, "a closed number rejects the wait with NetError EBADF instead of parking forever", async (r, w) => {
    const p = poll(r, "edge");
    done(r);
    done(w);
    const err = await p.waitReadable({ deadline: Date.now() + 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetError);
    expect(err).not.toBeInstanceOf(DeadlineExceededError);
    expect((err as NetError).code).toBe("EBADF");
    expect((err as NetError).syscall).toBe("fstat");
    expect((err as NetError).op).toBe("waitReadable");
  });

  pipeTest(pipes, "a number another PollFd registered since: NetError EEXIST, and that PollFd keeps its registration", async (r, w) => {
    const p = poll(r, "level");
    const [r2, w2] = replacePipe(r, w);
    const other = poll(r2, "edge");
    const err = await p.waitReadable({ deadline: Date.now() + 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetError);
    expect((err as NetError).code).toBe("EEXIST");
    p.close();
    setTimeout(() => writeFd(w2, "mine"), 10);
    await other.waitReadable({ deadline: Date.now() + 1000 });
    expect(dec(readFd(r2)!)).toBe("mine");
  });
});

function dec(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}
