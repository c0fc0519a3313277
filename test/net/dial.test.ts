// Conformance B1–B6, B9: dial / connect. (B7 is in test/stress/dial.stress.ts.)
import { describe, expect, test } from "bun:test";
import * as path from "node:path";
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { encodeSockaddr } from "../../ffi/sockaddr.ts";
import { type Addr, AddrError, ClosedError, type Conn, connect, type ConnectOptions, DeadlineExceededError, type IpAddr, type Listener, listen, type LookupAddress, type LookupFunction, NetError, runtimeStats } from "../../src/index.ts";
import { closeAfterEach, closeAll, closedPort, expectClean, expectKernelError, expectOpError, readN, rejection, settlement as track, sleep, tempDirs, testOn, tick } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const keep = closeAfterEach();
const tmpDir = tempDirs();

/** A kept loopback listener on hostname (an ephemeral port unless port0 is given), and its port. */
function listening(hostname = "127.0.0.1", port0 = 0, backlog?: number): { ln: Listener; port: number } {
  const ln = keep(listen({ port: port0, hostname, ...(backlog === undefined ? {} : { backlog }) }));
  return { ln, port: (ln.addr as IpAddr).port };
}

/** Asserts nothing reached ln: a short accept deadline expires with its queue empty. */
async function expectNoConnection(ln: Listener): Promise<void> {
  ln.setDeadline(Date.now() + 30);
  expect(await rejection(ln.accept())).toBeInstanceOf(DeadlineExceededError);
}

/** Asserts e is the dial's ECONNREFUSED from connect(2) for this address (see expectOpError); returns it typed. */
function expectRefused(e: unknown, address: string, net = "tcp"): NetError {
  return expectOpError(e, { op: "dial", net, address, code: "ECONNREFUSED", syscall: "connect" });
}

/** A listener whose accept queue is full, and the idle clients that fill it. */
interface FullBacklog {
  ln: Listener;
  port: number;
  fillers: Conn[];
  /** The runtime's fd count once the queue is full. */
  fds: number;
  /** Closes the fillers, then the listener (so a FullBacklog is a Closable, for testOn). */
  close(): Promise<void>;
  /** The listener is closed. */
  readonly closed: boolean;
}

/**
 * A loopback listener with backlog 1 whose accept queue is full: further SYNs
 * are dropped, so a connect to it stays pending.
 */
async function fullBacklog(hostname = "127.0.0.1", port0 = 0): Promise<FullBacklog> {
  const { ln, port } = listening(hostname, port0, 1);
  const fillers: Conn[] = [];
  const close = async () => {
    for (const c of [...fillers, ln]) await c.close();
  };
  // Linux queues backlog+1 handshakes; fill until a connect no longer completes.
  for (let i = 0; i < 8; i++) {
    try {
      fillers.push(keep(await connect({ port, hostname, timeout: 100 })));
    } catch (e) {
      if (!(e instanceof DeadlineExceededError)) throw e;
      return {
        ln,
        port,
        fillers,
        fds: runtimeStats().fds,
        close,
        get closed() {
          return ln.closed;
        },
      };
    }
  }
  throw new Error(`backlog never filled after ${fillers.length} connects`);
}

/**
 * A dial with opts and its own AbortController, watched, given `wait` ms
 * to park: it must still be pending. abort(reason) must reject it with
 * signal.reason within one tick.
 */
async function abortableDial(opts: ConnectOptions, wait = 20) {
  const ac = new AbortController();
  const t = track(connect({ ...opts, signal: ac.signal }));
  await sleep(wait);
  expect(t.settled).toBe(false);
  const abort = async (reason?: unknown) => {
    ac.abort(reason);
    await tick();
    expect(t.settled).toBe(true);
    expect(t.ok).toBe(false);
    expect(t.error).toBe(ac.signal.reason);
  };
  return { t, signal: ac.signal, abort };
}

/**
 * Dials opts and writes msg in the same tick as the dial resolves (no await
 * between them); asserts the write, that the dialer's remoteAddr is remote,
 * and that the conn ln accepts names the dialer and the listener and reads
 * msg. Returns [dialer, accepted].
 */
async function dialAndWrite(ln: Listener, opts: ConnectOptions, msg: string, remote: Addr): Promise<[Conn, Conn]> {
  const c = keep(await connect(opts));
  const w = c.write(enc.encode(msg)); // no await between dial and write
  expect(await w).toBe(msg.length);
  expect(c.remoteAddr).toEqual(remote);
  const s = keep(await ln.accept());
  expect(s.remoteAddr).toEqual(c.localAddr);
  expect(s.localAddr).toEqual(ln.addr);
  expect(dec.decode(await readN(s, msg.length))).toBe(msg);
  return [c, s];
}


/**
 * Makes the next `times` TCP connects to 127.0.0.1:port leave from
 * 127.0.0.1:port, as when the kernel picks the destination port as the
 * ephemeral source port: with nothing listening there, Linux completes the
 * connect as a TCP simultaneous open with itself. The bound socket gets
 * SO_LINGER 0, so closing it leaves no TIME_WAIT on that 4-tuple. Returns
 * the count of connect(2) calls and the restore function.
 */
const selfSa = new Uint8Array(new ArrayBuffer(C.SOCKADDR_STORAGE_SIZE));
const selfOne = new Int32Array(new ArrayBuffer(4));
const selfLinger = new Int32Array(new ArrayBuffer(8));
function forceSelfConnect(port: number, times: number): { calls: () => number; restore: () => void } {
  const realConnect = sys.connect;
  const S = sys as { connect: typeof realConnect };
  let calls = 0;
  S.connect = ((fd: number, sa: Uint8Array, len: number) => {
    if (calls++ < times) {
      selfOne[0] = 1;
      selfLinger[0] = 1;
      selfLinger[1] = 0;
      const n = encodeSockaddr({ family: "inet", address: "127.0.0.1", port }, selfSa);
      if (
        sys.setsockopt(fd, C.SOL_SOCKET, C.SO_REUSEADDR, selfOne, 4) < 0 ||
        sys.setsockopt(fd, C.SOL_SOCKET, C.SO_LINGER_SECONDS, selfLinger, 8) < 0 ||
        sys.bind(fd, selfSa, n) < 0
      ) {
        throw new Error(`binding the dialer to 127.0.0.1:${port} failed: errno ${errno()}`);
      }
    }
    return realConnect(fd, sa, len);
  }) as typeof realConnect;
  return { calls: () => calls, restore: () => void (S.connect = realConnect) };
}

/** Dials a closed 127.0.0.1 port (extra options added) while forceSelfConnect makes `times` attempts reach their own socket: the port, the rejection and the connect(2) count. */
async function dialItself(times: number, extra: Partial<ConnectOptions> = {}): Promise<{ port: number; e: unknown; calls: number }> {
  const port = await closedPort("127.0.0.1");
  const force = forceSelfConnect(port, times);
  try {
    return { port, e: await rejection(connect({ port, hostname: "127.0.0.1", ...extra })), calls: force.calls() };
  } finally {
    force.restore();
  }
}

describe("B dial / connect", () => {
  test("B1 tcp4: dial resolves; remoteAddr = listener addr, accepted remoteAddr = dialer localAddr; a same-tick write succeeds", async () => {
    const { ln, port } = listening();
    const [c, s] = await dialAndWrite(ln, { port, hostname: "127.0.0.1" }, "first", { transport: "tcp", family: "IPv4", hostname: "127.0.0.1", port });
    expect(c.remoteAddr).toEqual(ln.addr);
    const local = c.localAddr as IpAddr;
    expect(local.hostname).toBe("127.0.0.1");
    expect(local.port).toBeGreaterThan(0);
    await closeAll(c, s, ln);
    expectClean();
  });

  test("B1 tcp6: dial to [::1] resolves with matching addresses; a same-tick write succeeds", async () => {
    const { ln, port } = listening("::1");
    const [c, s] = await dialAndWrite(ln, { port, hostname: "::1" }, "six", { transport: "tcp", family: "IPv6", hostname: "::1", port });
    expect((c.localAddr as IpAddr).family).toBe("IPv6");
    await closeAll(c, s, ln);
    expectClean();
  });

  test("B1 unix: dial resolves; remoteAddr = listener path, dialer is unnamed on both sides; a same-tick write succeeds", async () => {
    const p = path.join(tmpDir(), "b1.sock");
    const ln = keep(listen({ path: p }));
    const [c, s] = await dialAndWrite(ln, { path: p }, "unix", { transport: "unix", path: p });
    expect(c.localAddr).toEqual({ transport: "unix", path: "" });
    expect(s.localAddr).toEqual({ transport: "unix", path: p });
    await closeAll(c, s, ln);
    expectClean();
  });

  for (const [hostname, host, net] of [
    ["127.0.0.1", "127.0.0.1", "tcp"],
    ["::1", "[::1]", "tcp6"],
  ] as const) {
    test(`B2 dial to a closed ${host} port rejects ECONNREFUSED in under 1 s`, async () => {
      const port = await closedPort(hostname);
      const t0 = performance.now();
      const e = await rejection(connect({ port, hostname }));
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(expectRefused(e, `${host}:${port}`, net).port).toBe(port);
      expectClean();
    });
  }

  test("B2 repeated dials to a closed port each fail ECONNREFUSED at once (no retry loop)", async () => {
    const port = await closedPort("127.0.0.1");
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      const e = await rejection(connect({ port, hostname: "127.0.0.1" }));
      expect((e as NetError).code).toBe("ECONNREFUSED");
    }
    expect(performance.now() - t0).toBeLessThan(1000);
    expectClean();
  });

  testOn("B3 a 50 ms connect timeout against a full accept backlog rejects Timeout after ≥50 ms and <1 s", fullBacklog, async (backlog) => {
    const port = backlog.port;
    expect(backlog.fillers.length).toBeGreaterThanOrEqual(1);
    const t0 = performance.now();
    const e = await rejection(connect({ port, hostname: "127.0.0.1", timeout: 50 }));
    const dt = performance.now() - t0;
    expect(e).toBeInstanceOf(DeadlineExceededError);
    expect((e as DeadlineExceededError).timeout).toBe(true);
    expect((e as DeadlineExceededError).message).toContain("i/o timeout");
    expect((e as DeadlineExceededError).op).toBe("dial");
    expect((e as DeadlineExceededError).address).toBe(`127.0.0.1:${port}`);
    expect(dt).toBeGreaterThanOrEqual(50);
    expect(dt).toBeLessThan(1000);
    expect(runtimeStats().fds).toBe(backlog.fds); // the timed-out socket was released
  });

  test("B3 a connect deadline already past rejects Timeout in <100 ms and sends no SYN", async () => {
    const { ln, port } = listening();
    for (const opts of [
      { port, hostname: "127.0.0.1", deadline: Date.now() - 1 },
      { port, hostname: "127.0.0.1", deadline: new Date(Date.now() - 1000) },
      { port, hostname: "127.0.0.1", timeout: -1 },
    ] as ConnectOptions[]) {
      const t0 = performance.now();
      const e = await rejection(connect(opts));
      expect(performance.now() - t0).toBeLessThan(100);
      expect(e).toBeInstanceOf(DeadlineExceededError);
      expect((e as DeadlineExceededError).timeout).toBe(true);
      expect(runtimeStats().fds).toBe(1); // only the listener
    }
    await expectNoConnection(ln);
    await ln.close();
    expectClean();
  });

  test("B4 a huge timeout or deadline (2^63−1 ns, Infinity) does not overflow into the past: dial succeeds in <250 ms", async () => {
    const { ln, port } = listening();
    const maxNsInMs = 9223372036854.775807; // 2^63−1 ns
    const cases: ConnectOptions[] = [
      { port, hostname: "127.0.0.1", timeout: maxNsInMs },
      { port, hostname: "127.0.0.1", deadline: Date.now() + maxNsInMs },
      { port, hostname: "127.0.0.1", timeout: Infinity },
      { port, hostname: "127.0.0.1", deadline: Infinity },
      { port, hostname: "127.0.0.1", timeout: Number.MAX_VALUE },
      { port, hostname: "127.0.0.1", deadline: 8.64e15 }, // the largest Date
    ];
    for (const opts of cases) {
      const t0 = performance.now();
      const c = keep(await connect(opts));
      expect(performance.now() - t0).toBeLessThan(250);
      const s = keep(await ln.accept());
      expect(await c.write(enc.encode("x"))).toBe(1);
      expect(dec.decode(await readN(s, 1))).toBe("x");
      expect(runtimeStats().timers).toBe(0);
      await closeAll(c, s);
    }
    await ln.close();
    expectClean();
  });

  testOn("B5 aborting a pending connect rejects it once with signal.reason, never resolves later, leaks no fd", fullBacklog, async (backlog) => {
    const dial = await abortableDial({ port: backlog.port, hostname: "127.0.0.1" });
    expect(runtimeStats().fds).toBe(backlog.fds + 1);
    expect(runtimeStats().parked).toBe(1);
    await dial.abort();
    expect((dial.t.error as Error).name).toBe("AbortError");
    await sleep(100);
    expect(dial.t.settled).toBe(true);
    expect(runtimeStats().fds).toBe(backlog.fds);
    expect(runtimeStats().parked).toBe(0);
  });

  testOn("B5 aborting a pending connect with a custom reason rejects with that reason; a timeout armed with it is cleared", fullBacklog, async (backlog) => {
    const reason = new Error("custom cancel");
    const dial = await abortableDial({ port: backlog.port, hostname: "127.0.0.1", timeout: 5000 });
    expect(runtimeStats().timers).toBe(1);
    await dial.abort(reason);
    expect(dial.t.error).toBe(reason);
    expect(runtimeStats().fds).toBe(backlog.fds);
    expect(runtimeStats().timers).toBe(0);
  });

  test("B5 a signal aborted before connect rejects with its reason and opens no socket", async () => {
    const { ln, port } = listening();
    const ac = new AbortController();
    ac.abort();
    const e = await rejection(connect({ port, hostname: "127.0.0.1", signal: ac.signal }));
    expect(e).toBe(ac.signal.reason);
    expect(runtimeStats().fds).toBe(1);
    await expectNoConnection(ln);
    await ln.close();
    expectClean();
  });

  test("B6 aborting after dial resolved has no effect: echo round-trip then EOF still work (10 tries)", async () => {
    const { ln, port } = listening();
    for (let i = 0; i < 10; i++) {
      const ac = new AbortController();
      const c = keep(await connect({ port, hostname: "127.0.0.1", signal: ac.signal, timeout: 1000 }));
      ac.abort();
      await tick();
      expect(c.closed).toBe(false);
      const s = keep(await ln.accept());
      const msg = `hello ${i}`;
      expect(await c.write(enc.encode(msg))).toBe(msg.length);
      const got = await readN(s, msg.length);
      expect(await s.write(got)).toBe(msg.length);
      expect(dec.decode(await readN(c, msg.length))).toBe(msg);
      await c.closeWrite();
      expect(await s.read(new Uint8Array(8))).toBe(null);
      await s.close();
      expect(await c.read(new Uint8Array(8))).toBe(null);
      await c.close();
    }
    await ln.close();
    expectClean();
  });

  test("B10 a connect that reaches its own socket (TCP simultaneous open) is retried: nothing listens, so ECONNREFUSED", async () => {
    const { port, e, calls } = await dialItself(1);
    expect(calls).toBe(2); // the self-connected attempt, then one more
    expectRefused(e, `127.0.0.1:${port}`);
    expect(runtimeStats().fds).toBe(0);
    expectClean();
  });

  test("B10 a connect that reaches its own socket on every try fails ECONNREFUSED after 3 tries, never a self-connected Conn", async () => {
    const { port, e, calls } = await dialItself(3, { timeout: 5000 });
    expect(calls).toBe(3);
    // Its own message, so not expectRefused's "(os error N)" ending.
    const ne = expectKernelError(e, "ECONNREFUSED");
    expect([ne.syscall, ne.net, ne.address, ne.port]).toEqual(["connect", "tcp", `127.0.0.1:${port}`, port]);
    expect(ne.message).toBe(`dial tcp 127.0.0.1:${port}: connected to itself: nothing listens there`);
    expectClean();
  });

  test("B9 invalid dial input rejects with AddrError before any syscall and yields no conn", async () => {
    const cases: { opts: unknown; names: string }[] = [
      { opts: { port: 80, hostname: "127.0.0.1", network: "tcpx" }, names: "tcpx" },
      { opts: { port: -1, hostname: "127.0.0.1" }, names: "-1" },
      { opts: { port: 65536, hostname: "127.0.0.1" }, names: "65536" },
      { opts: { port: 123456789, hostname: "127.0.0.1" }, names: "123456789" },
      { opts: { port: "☺", hostname: "127.0.0.1" }, names: "☺" },
      { opts: { port: 1.5, hostname: "127.0.0.1" }, names: "1.5" },
      { opts: { port: Number.NaN, hostname: "127.0.0.1" }, names: "NaN" },
      { opts: { port: 80, hostname: "::1", network: "tcp4" }, names: "::1" },
      { opts: { port: 80, hostname: "127.0.0.1", network: "tcp6" }, names: "127.0.0.1" },
      { opts: { path: "" }, names: "" },
      { opts: { path: "/tmp/" + "x".repeat(200) }, names: "too long" },
    ];
    // Count socket(2)/connect(2) calls made through the FFI layer meanwhile.
    const realSocket = sys.socket;
    const realConnect = sys.connect;
    let syscalls = 0;
    const S = sys as { socket: typeof realSocket; connect: typeof realConnect };
    S.socket = ((...a: Parameters<typeof realSocket>) => (syscalls++, realSocket(...a))) as typeof realSocket;
    S.connect = ((...a: Parameters<typeof realConnect>) => (syscalls++, realConnect(...a))) as typeof realConnect;
    try {
      for (const { opts, names } of cases) {
        const e = await rejection(connect(opts as ConnectOptions));
        if (!(e instanceof AddrError)) throw new Error(`${JSON.stringify(opts)}: expected AddrError, got ${String(e)}`);
        expect(e).toBeInstanceOf(NetError);
        expect(e.op).toBe("dial");
        expect(e.syscall).toBe("");
        expect(e.timeout).toBe(false);
        expect(e.message).toContain(names);
        expect(runtimeStats().fds).toBe(0);
      }
    } finally {
      S.socket = realSocket;
      S.connect = realConnect;
    }
    expect(syscalls).toBe(0);
    expectClean();
  });

  test("B9 tcp4 with hostname ::1 fails with an AddrError that names ::1", async () => {
    const e = await rejection(connect({ port: 80, hostname: "::1", network: "tcp4" }));
    expect(e).toBeInstanceOf(AddrError);
    expect((e as AddrError).address).toBe("::1");
    expect((e as AddrError).net).toBe("tcp4");
    expect((e as AddrError).message).toContain("::1");
    expectClean();
  });

  test("B9 invalid listen input throws AddrError synchronously and opens nothing", () => {
    const cases: unknown[] = [
      { port: 0, hostname: "127.0.0.1", network: "tcpx" },
      { port: -1, hostname: "127.0.0.1" },
      { port: 65536, hostname: "127.0.0.1" },
      { port: 123456789, hostname: "127.0.0.1" },
      { port: "☺", hostname: "127.0.0.1" },
      { port: 0, hostname: "::1", network: "tcp4" },
      { port: 0, hostname: "127.0.0.1", network: "tcp6" },
    ];
    for (const opts of cases) {
      let err: unknown = null;
      try {
        const ln = listen(opts as never);
        keep(ln);
      } catch (e) {
        err = e;
      }
      if (!(err instanceof AddrError)) throw new Error(`${JSON.stringify(opts)}: expected AddrError, got ${String(err)}`);
      expect(err.op).toBe("listen");
      expect(runtimeStats().fds).toBe(0);
    }
    expectClean();
  });

  test("B9 dialing the unix path // (a directory, not a socket) fails ECONNREFUSED with no conn left", async () => {
    // "//" is a valid sun_path, so it reaches connect(2); Linux refuses a
    // non-socket inode with ECONNREFUSED (Go's TestProtocolDialError also
    // expects a syscall error here).
    const e = await rejection(connect({ path: "//" }));
    expect(e).toBeInstanceOf(NetError);
    expect(e).not.toBeInstanceOf(AddrError);
    expect(e).not.toBeInstanceOf(ClosedError);
    expect((e as NetError).code).toBe("ECONNREFUSED");
    expect((e as NetError).op).toBe("dial");
    expect((e as NetError).syscall).toBe("connect");
    expect((e as NetError).net).toBe("unix");
    expect((e as NetError).address).toBe("//");
    expectClean();
  });

  test("B9 dialing a unix path that does not exist fails ENOENT with no conn left", async () => {
    const p = path.join(tmpDir(), "nobody.sock");
    const e = await rejection(connect({ path: p }));
    expect(e).toBeInstanceOf(NetError);
    expect((e as NetError).code).toBe("ENOENT");
    expect((e as NetError).address).toBe(p);
    expectClean();
  });
});

/** A lookup that answers `addrs` after `ms` (never, for Infinity) and records each call. */
function slowLookup(addrs: readonly LookupAddress[], ms: number) {
  const calls: { hostname: string; family: number; signal: AbortSignal }[] = [];
  let answered = 0;
  const lookup: LookupFunction = (hostname, { family, signal }) => {
    calls.push({ hostname, family, signal });
    return new Promise((resolve) => {
      if (ms !== Infinity) setTimeout(() => (answered++, resolve(addrs)), ms);
    });
  };
  return { lookup, calls, answered: () => answered };
}

/**
 * Dials o.name, whose lookup answers o.addrs: first 127.0.0.1, which never
 * answers (its backlog is full), then o.second, listening on the same port.
 * The dial must connect to o.second o.within [min, max) ms after it started,
 * leaving no socket, parked task or timer of the first attempt.
 */
async function expectSecondAddressWins(o: { name: string; addrs: LookupAddress[]; second: string; timeout: number; within: [number, number] }): Promise<void> {
  const backlog = await fullBacklog(); // 127.0.0.1:port drops SYNs
  const port = backlog.port;
  const ln2 = listening(o.second, port).ln;
  const base = runtimeStats().fds;
  const r = slowLookup(o.addrs, 0);
  const t0 = performance.now();
  const c = keep(await connect({ port, hostname: o.name, lookup: r.lookup, timeout: o.timeout }));
  const dt = performance.now() - t0;
  expect(dt).toBeGreaterThanOrEqual(o.within[0]);
  expect(dt).toBeLessThan(o.within[1]);
  expect(c.remoteAddr).toEqual({ transport: "tcp", family: o.second.includes(":") ? "IPv6" : "IPv4", hostname: o.second, port });
  await tick();
  expect(runtimeStats().fds).toBe(base + 1); // the timed-out attempt's socket is gone
  expect(runtimeStats().parked).toBe(0);
  expect(runtimeStats().timers).toBe(0);
  const s = keep(await ln2.accept());
  expect(s.remoteAddr).toEqual(c.localAddr);
  await closeAll(c, s, ln2);
  await backlog.close();
}

/** The lookup answer for these IPv4 addresses, in order. */
function ipv4(...addresses: string[]): LookupAddress[] {
  return addresses.map((address) => ({ address, family: 4 }));
}

describe("B11 host names: the lookup option", () => {
  test("B11 a host name goes through the lookup option with the network's family; an IP literal does not", async () => {
    const { ln, port } = listening();
    const r = slowLookup(ipv4("127.0.0.1"), 0);
    const c = keep(await connect({ port, hostname: "svc.test", lookup: r.lookup }));
    expect(c.remoteAddr).toEqual(ln.addr);
    const c4 = keep(await connect({ port, hostname: "svc4.test", network: "tcp4", lookup: r.lookup }));
    expect(c4.remoteAddr).toEqual(ln.addr);
    const lit = keep(await connect({ port, hostname: "127.0.0.1", lookup: r.lookup }));
    expect(lit.remoteAddr).toEqual(ln.addr);
    expect(r.calls.map((x) => [x.hostname, x.family, x.signal.aborted])).toEqual([
      ["svc.test", 0, false],
      ["svc4.test", 4, false],
    ]);
    // Bun's resolver by default ("localhost" is in /etc/hosts), under a timeout.
    const byName = keep(await connect({ port, timeout: 2000 }));
    expect(byName.remoteAddr).toEqual(ln.addr);
    expect(runtimeStats().timers).toBe(0);
    for (let i = 0; i < 4; i++) await (await ln.accept()).close();
    await closeAll(byName, c, c4, lit, ln);
    expectClean();
  });

  test("B11 a failed lookup rejects AddrError ENOTFOUND with the resolver's error as cause; a bad answer rejects AddrError EINVAL", async () => {
    const boom = new Error("no such name");
    const failing: LookupFunction = () => Promise.reject(boom);
    const e = await rejection(connect({ port: 80, hostname: "nope.test", lookup: failing }));
    expect(e).toBeInstanceOf(AddrError);
    expect((e as AddrError).code).toBe("ENOTFOUND");
    expect((e as AddrError).message).toBe("dial tcp nope.test: lookup nope.test: no such host");
    expect((e as AddrError).cause).toBe(boom);
    const bad: [unknown, string][] = [
      [[], "dial tcp bad.test: lookup bad.test: no suitable address"],
      [[{ address: "::1", family: 6 }], "dial tcp4 bad.test: lookup bad.test: no suitable address"],
      ["127.0.0.1", "dial tcp bad.test: lookup bad.test: the resolver gave no address list"],
      [[{ address: "bad.test" }], "dial tcp bad.test: lookup bad.test: the resolver gave an invalid address bad.test"],
      [[null], "dial tcp bad.test: lookup bad.test: the resolver gave an invalid address undefined"],
    ];
    for (const [answer, message] of bad) {
      const lookup = (() => Promise.resolve(answer)) as unknown as LookupFunction;
      const network = message.startsWith("dial tcp4") ? "tcp4" : "tcp";
      const err = await rejection(connect({ port: 80, hostname: "bad.test", network, lookup }));
      expect(err).toBeInstanceOf(AddrError);
      expect((err as AddrError).message).toBe(message);
      expect((err as AddrError).code).toBe(message.includes("no suitable") ? "ENOTFOUND" : "EINVAL");
    }
    const te = await rejection(connect({ port: 80, hostname: "x.test", lookup: 5 as unknown as LookupFunction }));
    expect(te).toBeInstanceOf(TypeError);
    expect((te as TypeError).message).toBe("connect: lookup must be a function, got number");
    expectClean();
  });

  test("B11 a timeout or deadline that passes while the lookup runs rejects DeadlineExceededError then; the late answer is ignored", async () => {
    const { ln, port } = listening();
    const limits = [() => ({ timeout: 50 }), () => ({ deadline: Date.now() + 50 }), () => ({ deadline: new Date(Date.now() + 50) })];
    for (const limit of limits) {
      const r = slowLookup(ipv4("127.0.0.1"), 300);
      const t0 = performance.now();
      const t = track(connect({ port, hostname: "slow.test", lookup: r.lookup, ...limit() }));
      await sleep(20);
      expect(t.settled).toBe(false);
      expect(runtimeStats().timers).toBe(1);
      await t.p.catch(() => {});
      const dt = t.at - t0;
      expect(dt).toBeGreaterThanOrEqual(45); // the deadline was taken a moment before t0
      expect(dt).toBeLessThan(250);
      expect(r.answered()).toBe(0); // rejected while the lookup still ran
      const e = t.error as DeadlineExceededError;
      expect(e).toBeInstanceOf(DeadlineExceededError);
      expect(e.timeout).toBe(true);
      expect(e.message).toBe(`dial tcp slow.test:${port}: i/o timeout`);
      expect(e.op).toBe("dial");
      expect(e.net).toBe("tcp");
      expect(e.address).toBe(`slow.test:${port}`);
      expect(e.port).toBe(port);
      expect(r.calls.length).toBe(1);
      expect(r.calls[0]!.signal.aborted).toBe(true);
      expect(r.calls[0]!.signal.reason).toBe(e);
      expect(runtimeStats().timers).toBe(0);
      expect(runtimeStats().fds).toBe(1); // only the listener
      await sleep(300);
      expect(r.answered()).toBe(1);
      expect(t.settled).toBe(true);
      expect(runtimeStats().fds).toBe(1);
    }
    await expectNoConnection(ln); // the late answers opened no connection
    await ln.close();
    expectClean();
  });

  test("B11 an abort while the lookup runs rejects with signal.reason at once and clears the timeout; the late answer is ignored", async () => {
    const { ln, port } = listening();
    const r = slowLookup(ipv4("127.0.0.1"), 150);
    const reason = new Error("custom cancel");
    const dial = await abortableDial({ port, hostname: "slow.test", lookup: r.lookup, timeout: 5000 });
    expect(runtimeStats().timers).toBe(1);
    await dial.abort(reason);
    expect(dial.t.error).toBe(reason);
    expect(r.answered()).toBe(0);
    expect(r.calls[0]!.signal.aborted).toBe(true);
    expect(r.calls[0]!.signal.reason).toBe(reason);
    expect(runtimeStats().timers).toBe(0);
    await sleep(200);
    expect(r.answered()).toBe(1);
    expect(dial.t.settled).toBe(true);
    expect(runtimeStats().fds).toBe(1);
    // A signal aborted before the dial rejects before any lookup.
    const e = await rejection(connect({ port, hostname: "slow.test", lookup: r.lookup, signal: dial.signal }));
    expect(e).toBe(reason);
    expect(r.calls.length).toBe(1);
    await expectNoConnection(ln);
    await ln.close();
    expectClean();
  });

  test("B11 a lookup that fails after the timeout changes nothing: the dial rejected DeadlineExceededError once", async () => {
    let fail = (_e: Error) => {};
    const lookup: LookupFunction = () => new Promise((_, reject) => (fail = reject));
    const t = track(connect({ port: 80, hostname: "slow.test", lookup, timeout: 30 }));
    await t.p.catch(() => {});
    expect(t.error).toBeInstanceOf(DeadlineExceededError);
    fail(new Error("late failure"));
    await sleep(20);
    expect(t.settled).toBe(true);
    expect(t.error).toBeInstanceOf(DeadlineExceededError);
    expectClean();
  });

  test("B11 a name with several addresses: the first refuses, the second listens, so the dial connects to the second", async () => {
    const { ln, port } = listening();
    const r = slowLookup(ipv4("127.0.0.2", "127.0.0.1"), 0);
    const c = keep(await connect({ port, hostname: "two.test", lookup: r.lookup, timeout: 5000 }));
    expect(c.remoteAddr).toEqual({ transport: "tcp", family: "IPv4", hostname: "127.0.0.1", port });
    const s = keep(await ln.accept());
    expect(s.remoteAddr).toEqual(c.localAddr);
    expect(runtimeStats().fds).toBe(3); // the refused attempt's socket is gone
    await closeAll(c, s, ln);
    expectClean();
  });

  test("B11 a name with several addresses shares the time: the first never answers, the second gets its share and connects", async () => {
    // 4 s for two addresses: 2 s each (Go's partialDeadline), not all of it for the first.
    await expectSecondAddressWins({ name: "two.test", addrs: ipv4("127.0.0.1", "127.0.0.2"), second: "127.0.0.2", timeout: 4000, within: [1900, 3500] });
    expectClean();
  }, 10_000);

  test("B11 a name whose addresses all refuse rejects with the first address's error", async () => {
    const port = await closedPort("127.0.0.1");
    const r = slowLookup(ipv4("127.0.0.2", "127.0.0.3"), 0);
    const e = await rejection(connect({ port, hostname: "two.test", lookup: r.lookup }));
    expectRefused(e, `127.0.0.2:${port}`);
    expectClean();
  });
});

describe("B12 a name with IPv4 and IPv6 addresses: Go's dialParallel", () => {
  const both: LookupAddress[] = [
    { address: "::1", family: 6 },
    { address: "127.0.0.1", family: 4 },
  ];

  test("B12 the IPv4 attempt never answers: the IPv6 fallback starts 300 ms later and wins; the IPv4 socket is closed", async () => {
    await expectSecondAddressWins({ name: "dual.test", addrs: both, second: "::1", timeout: 5000, within: [290, 1500] });
    expectClean();
  }, 10_000);

  test("B12 the IPv4 attempt is refused: the IPv6 fallback starts at once", async () => {
    const { ln: ln6, port } = listening("::1"); // nothing on 127.0.0.1 at this port
    const r = slowLookup(both, 0);
    const t0 = performance.now();
    const c = keep(await connect({ port, hostname: "dual.test", lookup: r.lookup }));
    expect(performance.now() - t0).toBeLessThan(200);
    expect(c.remoteAddr).toEqual({ transport: "tcp", family: "IPv6", hostname: "::1", port });
    expect(runtimeStats().timers).toBe(0);
    await (await ln6.accept()).close();
    await closeAll(c, ln6);
    expectClean();
  });

  test("B12 both families refuse: the dial rejects with the IPv4 (primary) error", async () => {
    const port = await closedPort("127.0.0.1");
    const r = slowLookup(both, 0);
    const e = await rejection(connect({ port, hostname: "dual.test", lookup: r.lookup }));
    expectRefused(e, `127.0.0.1:${port}`);
    expectClean();
  });

  test("B12 a pinned network dials only its family, with no fallback", async () => {
    const { ln: ln6, port } = listening("::1");
    const r = slowLookup(both, 0);
    const e = await rejection(connect({ port, hostname: "dual.test", network: "tcp4", lookup: r.lookup }));
    expectRefused(e, `127.0.0.1:${port}`);
    await ln6.close();
    expectClean();
  });

  test("B12 an abort while both attempts are pending rejects with signal.reason at once and closes both sockets", async () => {
    const v4 = await fullBacklog("127.0.0.1");
    const v6 = await fullBacklog("::1", v4.port);
    const r = slowLookup(both, 0);
    const dial = await abortableDial({ port: v4.port, hostname: "dual.test", lookup: r.lookup, timeout: 5000 }, 400);
    expect(runtimeStats().fds).toBe(v6.fds + 2); // v6.fds: both backlogs full
    expect(runtimeStats().parked).toBe(2);
    await dial.abort();
    await tick();
    expect(runtimeStats().fds).toBe(v6.fds);
    expect(runtimeStats().parked).toBe(0);
    expect(runtimeStats().timers).toBe(0);
    await v6.close();
    await v4.close();
    expectClean();
  }, 10_000);
});
