// Accept errors: a failure that concerns one connection (its registration
// with the poller fails with ENOSPC at fs.epoll.max_user_watches, accept4
// says EPERM, ENOBUFS, ENOMEM, ENFILE, a pending network error) drops that
// connection and the accept loop keeps going, backing off where the error is
// resource exhaustion; only a closed listener ends it. Several accepts in
// back-off all settle within one loop turn of close(). Faults are injected
// through the listener's internal acceptFaults hook.
import { afterEach, describe, expect, test } from "bun:test";
import { E } from "../../ffi/platform.ts";
import { ClosedError, type Conn, connect, type Listener, listen, NetError, runtimeStats } from "../../src/index.ts";
import { acceptFaults } from "../../src/net/listener.ts";
import { expectClean, keeper, reached, sleep, tick } from "../_support/index.ts";

const keep = keeper();
afterEach(async () => {
  acceptFaults.accept.length = 0;
  acceptFaults.register.length = 0;
  await keep.closeAll();
  await sleep(5);
  expectClean();
});

function portOf(ln: Listener): number {
  return "port" in ln.addr ? ln.addr.port : 0;
}

/** A for-await accept loop that records what it accepted and how it ended. */
function acceptLoop(ln: Listener): { conns: Conn[]; ended: Promise<string> } {
  const conns: Conn[] = [];
  const ended = (async () => {
    try {
      for await (const c of ln) conns.push(keep(c));
      return "ended";
    } catch (err) {
      return `threw ${err instanceof NetError ? err.code : String(err)}`;
    }
  })();
  return { conns, ended };
}

/** Resolves "eof" when the peer closes the connection, "open" if it stays open for ms. */
async function peerClosed(c: Conn, ms: number): Promise<"eof" | "open"> {
  const buf = new Uint8Array(new ArrayBuffer(16));
  c.setReadDeadline(Date.now() + ms);
  try {
    const n = await c.read(buf);
    return n === null ? "eof" : "open";
  } catch (err) {
    if (err instanceof NetError && err.code === "ECONNRESET") return "eof";
    return "open";
  } finally {
    c.setReadDeadline(null);
  }
}

describe("accept errors that concern one connection keep the accept loop going", () => {
  test("ENOSPC registering an accepted fd (max_user_watches) drops that connection; the next one is served", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    const loop = acceptLoop(ln);
    acceptFaults.register.push(E.ENOSPC!);
    const dropped = keep(await connect({ hostname: "127.0.0.1", port: portOf(ln) }));
    expect(await peerClosed(dropped, 2000)).toBe("eof");
    const served = keep(await connect({ hostname: "127.0.0.1", port: portOf(ln) }));
    expect(await reached(() => loop.conns.length === 1, 3000)).toBe(true);
    expect(acceptFaults.register.length).toBe(0);
    // The accepted one is the second dial: its remote address is our local one.
    expect(loop.conns[0]!.remoteAddr).toEqual(served.localAddr);
    expect(ln.closed).toBe(false);
    await ln.close();
    expect(await loop.ended).toBe("ended");
  });

  test("ENOSPC backs off before the next accept (5 ms, doubling) instead of failing", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    const loop = acceptLoop(ln);
    acceptFaults.register.push(E.ENOSPC!, E.ENOSPC!, E.ENOSPC!);
    const t0 = performance.now();
    const dials = [];
    for (let i = 0; i < 4; i++) dials.push(keep(await connect({ hostname: "127.0.0.1", port: portOf(ln) })));
    expect(await reached(() => loop.conns.length === 1, 3000)).toBe(true);
    // Three drops, each followed by a back-off of at least 5, 10, 20 ms.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(34);
    expect(loop.conns[0]!.remoteAddr).toEqual(dials[3]!.localAddr);
    for (let i = 0; i < 3; i++) expect(await peerClosed(dials[i]!, 2000)).toBe("eof");
    await ln.close();
    expect(await loop.ended).toBe("ended");
  });

  for (const code of ["EPERM", "ENOBUFS", "ENOMEM", "ENFILE", "EMFILE", "ENETDOWN", "EHOSTUNREACH", "ENOPROTOOPT", "EPROTO", "ECONNABORTED"]) {
    test(`accept4 failing with ${code} does not end the for-await loop`, async () => {
      const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
      const loop = acceptLoop(ln);
      await tick();
      acceptFaults.accept.push(E[code]!);
      const c = keep(await connect({ hostname: "127.0.0.1", port: portOf(ln) }));
      expect(await reached(() => loop.conns.length === 1, 3000)).toBe(true);
      expect(acceptFaults.accept.length).toBe(0);
      expect(loop.conns[0]!.remoteAddr).toEqual(c.localAddr);
      await ln.close();
      expect(await loop.ended).toBe("ended");
    });
  }

  test("accept() itself retries a dropped connection: it resolves with the next one", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    acceptFaults.register.push(E.ENOSPC!);
    const pending = ln.accept();
    const first = keep(await connect({ hostname: "127.0.0.1", port: portOf(ln) }));
    const second = keep(await connect({ hostname: "127.0.0.1", port: portOf(ln) }));
    const got = keep(await pending);
    expect(got.remoteAddr).toEqual(second.localAddr);
    expect(await peerClosed(first, 2000)).toBe("eof");
  });

  test("errors that mean the listener itself is unusable still reject accept() (EBADF, EINVAL, ENOTSOCK)", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    for (const code of ["EBADF", "EINVAL", "ENOTSOCK"]) {
      acceptFaults.accept.push(E[code]!);
      const err = await ln.accept().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetError);
      expect((err as NetError).code).toBe(code);
      expect((err as NetError).syscall).toBe("accept4");
    }
  });
});

describe("EMFILE back-off and close()", () => {
  test("with three accepts in back-off, close() settles all of them within one loop turn", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    // Every attempt fails with EMFILE: the back-offs grow 5, 10, 20, … ms.
    acceptFaults.accept.push(...new Array<number>(1000).fill(E.EMFILE!));
    const settled: string[] = [];
    const accepts = [0, 1, 2].map((i) =>
      ln.accept().then(
        () => settled.push(`${i} accepted`),
        (err: unknown) => settled.push(`${i} ${err instanceof ClosedError ? "closed" : String(err)}`),
      ),
    );
    // Let them reach back-offs of 80 ms or more, all three sleeping at once.
    await sleep(200);
    expect(await reached(() => runtimeStats().timers === 3, 2000)).toBe(true);
    expect(settled).toEqual([]);
    const closing = ln.close();
    await tick();
    expect(settled.sort()).toEqual(["0 closed", "1 closed", "2 closed"]);
    await closing;
    await Promise.all(accepts);
    expect(runtimeStats().timers).toBe(0);
  });

  test("an aborted accept in back-off leaves the others sleeping; close() then settles them", async () => {
    const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
    acceptFaults.accept.push(...new Array<number>(1000).fill(E.EMFILE!));
    const ac = new AbortController();
    const settled: string[] = [];
    const a = ln.accept({ signal: ac.signal }).catch((err: unknown) => settled.push(`a ${err === ac.signal.reason ? "aborted" : String(err)}`));
    const b = ln.accept().catch((err: unknown) => settled.push(`b ${err instanceof ClosedError ? "closed" : String(err)}`));
    await sleep(100);
    expect(await reached(() => runtimeStats().timers === 2, 2000)).toBe(true);
    ac.abort();
    await tick();
    expect(settled).toEqual(["a aborted"]);
    await ln.close();
    await tick();
    expect(settled).toEqual(["a aborted", "b closed"]);
    await Promise.all([a, b]);
  });
});
