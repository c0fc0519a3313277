// Conformance A1–A9: listen / accept.
import { describe, expect, test } from "bun:test";
import { toArrayBuffer } from "bun:ffi";
import * as fs from "node:fs";
import * as path from "node:path";
import { sys } from "../../ffi/libc.ts";
import { E } from "../../ffi/platform.ts";
import { ClosedError, type Conn, connect, type ConnectOptions, DeadlineExceededError, type IpAddr, type Listener, listen, NetError, runtimeStats } from "../../src/index.ts";
import { closeAfterEach, closeAll, expectClean, expectKernelError, readN, rejection, settlement, sleep, tempDirs, thrown, tick } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Everything a test opens, closed in afterEach if the test failed midway.
const keep = closeAfterEach();
const tempDir = tempDirs();

const ip = (a: unknown) => a as IpAddr;

/** A loopback TCP listener (kept) on port, 0 for any free one; and the port it got. */
function tcpListener(port = 0): [Listener, number] {
  const ln = keep(listen({ port, hostname: "127.0.0.1" }));
  return [ln, ip(ln.addr).port];
}

/** A conn (kept) dialed to 127.0.0.1:port. */
async function dial(port: number): Promise<Conn> {
  return keep(await connect({ port, hostname: "127.0.0.1" }));
}

/** Asserts conn can carry bytes both ways. */
async function roundTrip(client: Conn, server: Conn, msg = "ping"): Promise<void> {
  await client.write(enc.encode(msg));
  expect(dec.decode(await readN(server, msg.length))).toBe(msg);
  await server.write(enc.encode(msg.toUpperCase()));
  expect(dec.decode(await readN(client, msg.length))).toBe(msg.toUpperCase());
}

/** Dials ln (at `to`; by default its loopback TCP port), accepts, checks the pair carries bytes both ways, then closes the pair and ln. */
async function servesThenClose(ln: Listener, to: ConnectOptions = { port: ip(ln.addr).port, hostname: "127.0.0.1" }): Promise<void> {
  const c = keep(await connect(to));
  const s = keep(await ln.accept());
  await roundTrip(c, s);
  await closeAll(c, s, ln);
}

describe("A listen / accept", () => {
  test("A1 listen on 127.0.0.1:0 reports a non-zero port and the exact host", async () => {
    const [ln] = tcpListener();
    const a = ip(ln.addr);
    expect(a.transport).toBe("tcp");
    expect(a.family).toBe("IPv4");
    expect(a.hostname).toBe("127.0.0.1");
    expect(a.port).toBeGreaterThan(0);
    expect(a.port).toBeLessThan(65536);
    await servesThenClose(ln, { port: a.port, hostname: "127.0.0.1" });
    expectClean();
  });

  test("A1 listen on [::1]:0 reports a non-zero port and ::1; IPv6 ping-pong round-trips", async () => {
    const ln = keep(listen({ port: 0, hostname: "::1" }));
    const a = ip(ln.addr);
    expect(a).toEqual({ transport: "tcp", family: "IPv6", hostname: "::1", port: a.port });
    expect(a.port).toBeGreaterThan(0);
    const c = keep(await connect({ port: a.port, hostname: "::1" }));
    const s = keep(await ln.accept());
    expect(ip(s.remoteAddr).family).toBe("IPv6");
    expect(ip(s.remoteAddr).hostname).toBe("::1");
    // uv tcp6_ping_pong: several rounds of PING / PONG.
    for (let i = 0; i < 10; i++) {
      await c.write(enc.encode("PING\n"));
      expect(dec.decode(await readN(s, 5))).toBe("PING\n");
      await s.write(enc.encode("PONG\n"));
      expect(dec.decode(await readN(c, 5))).toBe("PONG\n");
    }
    await closeAll(c, s, ln);
    expectClean();
  });

  test("A2 a second listen on a bound TCP port throws EADDRINUSE synchronously; the first keeps working", async () => {
    const [ln, port] = tcpListener();
    const err = thrown(() => tcpListener(port));
    const ne = expectKernelError(err, "EADDRINUSE");
    expect(ne.op).toBe("listen");
    expect(ne.syscall).toBe("bind");
    expect(ne.port).toBe(port);
    expect(runtimeStats().fds).toBe(1); // the failed listen left nothing behind
    await servesThenClose(ln);
    expectClean();
  });

  test("A2 a second listen on a bound unix path throws EADDRINUSE synchronously; the first keeps working", async () => {
    const p = path.join(tempDir(), "a2.sock");
    const ln = keep(listen({ path: p }));
    const err = thrown(() => keep(listen({ path: p })));
    expect(err).toBeInstanceOf(NetError);
    expect((err as NetError).code).toBe("EADDRINUSE");
    expect((err as NetError).op).toBe("listen");
    expect((err as NetError).address).toBe(p);
    // The failed listen must not have unlinked the first listener's socket file.
    expect(fs.statSync(p).isSocket()).toBe(true);
    expect(runtimeStats().fds).toBe(1);
    await servesThenClose(ln, { path: p });
    expect(fs.existsSync(p)).toBe(false);
    expectClean();
  });

  test("A3 listen → close → listen on the same host:port succeeds first try", async () => {
    for (let i = 0; i < 5; i++) {
      const [ln1, port] = tcpListener();
      await ln1.close();
      const [ln2, port2] = tcpListener(port);
      expect(port2).toBe(port);
      await servesThenClose(ln2);
    }
    expectClean();
  });

  test("A3 re-listen succeeds while a server-closed conn on that port sits in TIME_WAIT (SO_REUSEADDR)", async () => {
    const [ln1, port] = tcpListener();
    const c = await dial(port);
    const s = keep(await ln1.accept());
    await roundTrip(c, s);
    await s.close(); // the server closes first: its side goes to TIME_WAIT
    expect(await c.read(new Uint8Array(8))).toBe(null);
    await closeAll(c, ln1);
    await servesThenClose(tcpListener(port)[0]);
    expectClean();
  });

  test("A3 re-listen succeeds when the close happened while an accept was parked", async () => {
    const [ln1, port] = tcpListener();
    const acc = settlement(ln1.accept());
    await tick();
    expect(runtimeStats().parked).toBe(1);
    await ln1.close();
    const e = await rejection(acc.p);
    expect(e).toBeInstanceOf(ClosedError);
    const [ln2] = tcpListener(port);
    const acc2 = settlement(ln2.accept());
    const c = await dial(port);
    const s = keep(await acc2.p);
    await roundTrip(c, s);
    await closeAll(c, s, ln2);
    expectClean();
  });

  test("A4 after listener.close(), accept rejects Closed and a dial ≥1 ms later fails ECONNREFUSED", async () => {
    const [ln, port] = tcpListener();
    await ln.close();
    const e = await rejection(ln.accept());
    expect(e).toBeInstanceOf(ClosedError);
    expect((e as ClosedError).message).toContain("use of closed network connection");
    expect((e as ClosedError).code).toBe("ERR_NET_CLOSED");
    expect((e as ClosedError).op).toBe("accept");
    await sleep(1);
    const t0 = performance.now();
    const d = await rejection(connect({ port, hostname: "127.0.0.1" }));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(expectKernelError(d, "ECONNREFUSED").op).toBe("dial");
    expectClean();
  });

  test("A5 closing the listener rejects a parked accept with Closed within one loop turn", async () => {
    const [ln] = tcpListener();
    const acc = settlement(ln.accept());
    await sleep(5);
    expect(acc.settled).toBe(false);
    expect(runtimeStats().parked).toBe(1);
    const closing = ln.close();
    await tick();
    expect(acc.settled).toBe(true);
    expect(acc.ok).toBe(false);
    expect(acc.error).toBeInstanceOf(ClosedError);
    expect((acc.error as ClosedError).message).toContain("use of closed network connection");
    await closing;
    expectClean();
  });

  test("A5 the async iterator yields {done:true} when the listener closes while it waits, and on every later next()", async () => {
    const [ln] = tcpListener();
    const it = ln[Symbol.asyncIterator]();
    const n1 = settlement(it.next());
    await sleep(5);
    expect(n1.settled).toBe(false);
    const closing = ln.close();
    await tick();
    expect(n1.settled).toBe(true);
    expect(n1.value).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await closing;
    expectClean();
  });

  test("A5 a for-await loop over the listener yields each conn, then ends when the listener is closed", async () => {
    const [ln, port] = tcpListener();
    const got: number[] = [];
    const loop = (async () => {
      for await (const s of ln) {
        keep(s);
        got.push(ip(s.remoteAddr).port);
        await s.close();
      }
      return "ended";
    })();
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await dial(port);
      ports.push(ip(c.localAddr).port);
      expect(await c.read(new Uint8Array(4))).toBe(null); // server closed it
      await c.close();
    }
    expect(got).toEqual(ports);
    await ln.close();
    expect(await loop).toBe("ended");
    expectClean();
  });

  test("A6 a listener deadline in the past fails accept with Timeout even with a connection queued", async () => {
    const [ln, port] = tcpListener();
    const c = await dial(port); // queued in the backlog
    ln.setDeadline(Date.now() - 1);
    const t0 = performance.now();
    const e = await rejection(ln.accept());
    expect(performance.now() - t0).toBeLessThan(100);
    expect(e).toBeInstanceOf(DeadlineExceededError);
    expect((e as DeadlineExceededError).timeout).toBe(true);
    expect((e as DeadlineExceededError).message).toContain("i/o timeout");
    expect((e as DeadlineExceededError).op).toBe("accept");
    // Again: the failure is sticky while the deadline stays in the past.
    expect(await rejection(ln.accept())).toBeInstanceOf(DeadlineExceededError);
    // The queued conn was not consumed: clearing the deadline hands it out.
    ln.setDeadline(null);
    const s = keep(await ln.accept());
    expect(ip(s.remoteAddr).port).toBe(ip(c.localAddr).port);
    await roundTrip(c, s);
    await closeAll(c, s, ln);
    expectClean();
  });

  test("A6 a +50 ms listener deadline hands out the queued conns first, then Timeout", async () => {
    const [ln, port] = tcpListener();
    const clients: Conn[] = [];
    for (let i = 0; i < 3; i++) clients.push(await dial(port));
    const t0 = performance.now();
    ln.setDeadline(Date.now() + 50);
    for (let i = 0; i < 3; i++) {
      const s = keep(await ln.accept());
      expect(ip(s.remoteAddr).port).toBe(ip(clients[i]!.localAddr).port);
      await s.close();
    }
    expect(performance.now() - t0).toBeLessThan(45);
    const e = await rejection(ln.accept());
    const dt = performance.now() - t0;
    expect(e).toBeInstanceOf(DeadlineExceededError);
    expect(dt).toBeGreaterThanOrEqual(45);
    expect(dt).toBeLessThan(1000);
    await closeAll(...clients, ln);
    expectClean();
  });

  test("A7 a +10 ms deadline makes a parked accept reject Timeout in under 1 s", async () => {
    const [ln] = tcpListener();
    const t0 = performance.now();
    ln.setDeadline(Date.now() + 10);
    const e = await rejection(ln.accept());
    const dt = performance.now() - t0;
    expect(e).toBeInstanceOf(DeadlineExceededError);
    expect((e as DeadlineExceededError).timeout).toBe(true);
    expect(dt).toBeGreaterThanOrEqual(8); // Date.now() has 1 ms granularity
    expect(dt).toBeLessThan(1000);
    await ln.close();
    expectClean();
  });

  test("A7 a deadline set in the past and then cleared leaves accept parked for ≥100 ms", async () => {
    const [ln, port] = tcpListener();
    ln.setDeadline(Date.now() - 3_600_000);
    ln.setDeadline(null);
    const acc = settlement(ln.accept());
    await sleep(100);
    expect(acc.settled).toBe(false);
    expect(runtimeStats().parked).toBe(1);
    expect(runtimeStats().timers).toBe(0);
    // Still a working accept: a dial now completes it.
    const c = await dial(port);
    const s = keep(await acc.p);
    expect(ip(s.remoteAddr).port).toBe(ip(c.localAddr).port);
    await closeAll(c, s, ln);
    expectClean();
  });

  test("A8 a client reset before accept never surfaces as an accept error; the next client is accepted", async () => {
    // Linux does not drop a reset connection from the accept queue: accept4
    // may hand it out (its read then fails ECONNRESET). What must hold: accept
    // itself never rejects, and the normal client comes through.
    const [ln, port] = tcpListener();
    const bad = await dial(port);
    const badPort = ip(bad.localAddr).port;
    bad.setLinger(0);
    await bad.close(); // RST before the server accepted it
    await sleep(5);
    const good = await dial(port);
    const goodPort = ip(good.localAddr).port;
    await good.write(enc.encode("hello"));
    ln.setDeadline(Date.now() + 1000); // a bound, so a missing conn fails instead of hanging
    let normal: Conn | null = null;
    for (let i = 0; i < 2 && normal === null; i++) {
      const s = keep(await ln.accept()); // must not reject
      const rp = ip(s.remoteAddr).port;
      if (rp === goodPort) {
        normal = s;
        break;
      }
      expect(rp).toBe(badPort);
      const e = await rejection(s.read(new Uint8Array(8)));
      expect(e).toBeInstanceOf(NetError);
      expect((e as NetError).code).toBe("ECONNRESET");
      await s.close();
    }
    expect(normal).not.toBe(null);
    expect(dec.decode(await readN(normal!, 5))).toBe("hello");
    await closeAll(normal!, good, ln);
    expectClean();
  });

  test("A8 ECONNABORTED and EPROTO from accept4 are retried, never returned to the caller", async () => {
    // The kernel's aborted-handshake errors, injected at the FFI boundary.
    const [ln, port] = tcpListener();
    const real = sys.accept4;
    const errnoView = new Int32Array(toArrayBuffer(sys.__errno_location() as never, 0, 4));
    const inject = [E.ECONNABORTED!, E.EPROTO!, E.ECONNABORTED!];
    let calls = 0;
    let injected = 0;
    (sys as { accept4: typeof real }).accept4 = ((...args: Parameters<typeof real>) => {
      calls++;
      const e = inject.shift();
      if (e !== undefined) {
        injected++;
        errnoView[0] = e;
        return -1;
      }
      return real(...args);
    }) as typeof real;
    try {
      // One conn already queued, one arriving while accept is parked.
      const c1 = await dial(port);
      const s1 = keep(await ln.accept());
      expect(ip(s1.remoteAddr).port).toBe(ip(c1.localAddr).port);
      expect(injected).toBe(3);
      const acc = settlement(ln.accept());
      await sleep(5);
      expect(acc.settled).toBe(false);
      expect(runtimeStats().parked).toBe(1);
      inject.push(E.EPROTO!); // the wakeup's first accept4 fails
      const c2 = await dial(port);
      const s2 = keep(await acc.p);
      expect(ip(s2.remoteAddr).port).toBe(ip(c2.localAddr).port);
      expect(injected).toBe(4);
      expect(calls).toBeGreaterThanOrEqual(6);
      await roundTrip(c2, s2);
      await closeAll(c1, s1, c2, s2);
    } finally {
      (sys as { accept4: typeof real }).accept4 = real;
    }
    await ln.close();
    expectClean();
  });

  test("A9 an accept loop re-arming a 5 ms deadline sees only Timeout or Closed, and each dialed conn exactly once", async () => {
    const [ln, port] = tcpListener();
    const errors: unknown[] = [];
    const accepted: number[] = [];
    const loop = (async () => {
      for (;;) {
        let s: Conn | undefined;
        try {
          ln.setDeadline(Date.now() + 5);
          s = await ln.accept();
        } catch (e) {
          expect(s).toBe(undefined);
          errors.push(e);
          if (e instanceof DeadlineExceededError) continue;
          return;
        }
        keep(s);
        accepted.push(ip(s.remoteAddr).port);
        await s.close();
      }
    })();
    const dialed: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < 100) {
      const c = await dial(port);
      dialed.push(ip(c.localAddr).port);
      await c.close();
      await sleep(7);
    }
    for (let i = 0; i < 100 && accepted.length < dialed.length; i++) await sleep(2);
    await ln.close();
    await loop;
    expect(errors.length).toBeGreaterThan(1);
    for (const e of errors) {
      const ok = e instanceof DeadlineExceededError || e instanceof ClosedError;
      if (!ok) throw new Error(`unclassified accept error: ${String(e)}`);
    }
    expect(errors.at(-1)).toBeInstanceOf(ClosedError);
    expect(errors.filter((e) => e instanceof DeadlineExceededError).length).toBeGreaterThan(0);
    expect(accepted.slice().sort()).toEqual(dialed.slice().sort());
    expect(new Set(accepted).size).toBe(accepted.length);
    expectClean();
  });
});

describe("close with a parked accept", () => {
  test("A7 the listening socket is gone when close() returns: a connect right after is refused, the parked accept rejects Closed", async () => {
    const [ln, port] = tcpListener();
    const acc = settlement(ln.accept());
    await sleep(5); // parked on the pollDesc
    expect(runtimeStats().parked).toBe(1);
    const before = runtimeStats();
    const closing = ln.close();
    // Released inside close(), before it returns: no descriptor, no pollDesc, nothing parked.
    const after = runtimeStats();
    expect([before.fds - after.fds, before.pollDescs - after.pollDescs, after.parked]).toEqual([1, 1, 0]);
    const err = await rejection(connect({ hostname: "127.0.0.1", port }));
    expect((err as NetError).code).toBe("ECONNREFUSED");
    await closing;
    expect(acc.settled).toBe(true);
    expect(acc.error).toBeInstanceOf(ClosedError);
    expectClean();
  });
});
