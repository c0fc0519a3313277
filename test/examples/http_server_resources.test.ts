// examples/http/server.ts in this process: what its connections hold and how
// they are bounded. Idle keep-alive connections hold no buffers (the pool's
// count says so), a large /echo gives its buffers back once answered, every
// write has a deadline (a client that never reads is cut off), and
// maxConnections answers connections over the cap with 503 and closes them.
import { afterEach, describe, expect, test } from "bun:test";
import { type HttpServer, startHttpServer } from "../../examples/http/server.ts";
import { C } from "../../ffi/platform.ts";
import { type Conn, connect, DeadlineExceededError } from "../../src/index.ts";
import { setIntOpt } from "../../src/net/sys.ts";
import { expectClean, reached, sleep } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const GET = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

const conns: Conn[] = [];
let srv: HttpServer | null = null;
afterEach(async () => {
  for (const c of conns.splice(0)) if (!c.closed) await c.close().catch(() => {});
  if (srv !== null) await srv.shutdown();
  srv = null;
  await sleep(20);
  expectClean();
});

function start(opts: Partial<Parameters<typeof startHttpServer>[0]> = {}): HttpServer {
  srv = startHttpServer({ port: 0, hostname: "127.0.0.1", ...opts });
  return srv;
}

async function dial(port: number): Promise<Conn> {
  const c = await connect({ hostname: "127.0.0.1", port });
  conns.push(c);
  return c;
}

/** Reads until `done(text)` holds or EOF; returns what was read. Fails after `ms`. */
async function readUntil(c: Conn, done: (text: string) => boolean, ms = 5000): Promise<{ text: string; eof: boolean }> {
  const buf = new Uint8Array(new ArrayBuffer(64 * 1024));
  let text = "";
  c.setReadDeadline(Date.now() + ms);
  try {
    while (!done(text)) {
      const n = await c.read(buf);
      if (n === null) return { text, eof: true };
      text += dec.decode(buf.subarray(0, n));
    }
    return { text, eof: false };
  } finally {
    c.setReadDeadline(null);
  }
}

describe("http example: buffers held", () => {
  test("100 idle keep-alive connections hold 0 buffers", async () => {
    const s = start();
    const cs = await Promise.all(Array.from({ length: 100 }, () => dial(s.port)));
    await Promise.all(
      cs.map(async (c) => {
        await c.write(enc.encode(GET));
        const r = await readUntil(c, (t) => t.endsWith("Hello, World!"));
        expect(r.text).toStartWith("HTTP/1.1 200 OK\r\n");
      }),
    );
    expect(s.connections).toBe(100);
    // Each connection has written its response and is back in read.
    await reached(() => s.buffers.held === 0, 2000);
    expect({ held: s.buffers.held, heldBytes: s.buffers.heldBytes }).toEqual({ held: 0, heldBytes: 0 });
    // And they still work: another request on each.
    await Promise.all(
      cs.map(async (c) => {
        await c.write(enc.encode(GET));
        expect((await readUntil(c, (t) => t.endsWith("Hello, World!"))).text).toStartWith("HTTP/1.1 200 OK\r\n");
      }),
    );
  });

  test("a 1 MiB POST /echo gives its buffers back once answered", async () => {
    const s = start();
    const c = await dial(s.port);
    const body = new Uint8Array(1024 * 1024).fill(0x61);
    await c.write(enc.encode(`POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`));
    const writing = c.write(body);
    let got = 0;
    const buf = new Uint8Array(new ArrayBuffer(64 * 1024));
    let head = "";
    c.setReadDeadline(Date.now() + 10_000);
    while (got < body.length) {
      const n = await c.read(buf);
      if (n === null) throw new Error("EOF before the echo ended");
      if (head === "" || !head.includes("\r\n\r\n")) {
        head += dec.decode(buf.subarray(0, n));
        const at = head.indexOf("\r\n\r\n");
        if (at >= 0) got = enc.encode(head.slice(at + 4)).length;
      } else got += n;
    }
    await writing;
    expect(head).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(head).toContain(`Content-Length: ${body.length}\r\n`);
    expect(got).toBe(body.length);
    await reached(() => s.buffers.held === 0, 2000);
    expect({ held: s.buffers.held, heldBytes: s.buffers.heldBytes }).toEqual({ held: 0, heldBytes: 0 });
    expect(s.connections).toBe(1);
  });
});

/**
 * A server whose answers cannot all sit in kernel buffers: small socket
 * buffers (SO_SNDBUF on the listener is inherited by accepted sockets, and
 * fixes the size) and ~300-byte responses, so 600 of them fill the pipe of a
 * client that does not read. No read deadlines: only the write deadline
 * (300 ms) can end such a connection.
 */
function stuckServer(): HttpServer {
  const s = start({ writeTimeoutMs: 300, idleTimeoutMs: 0, readTimeoutMs: 0, streamDelayMs: 1, extraHeaders: `X-Pad: ${"p".repeat(200)}\r\n` });
  expect(setIntOpt(s.listener.fd, C.SOL_SOCKET, C.SO_SNDBUF, 4096)).toBe(0);
  return s;
}

describe("http example: write deadline", () => {
  test("a client that pipelines 600 requests then GET /stream and never reads is cut off within the write deadline", async () => {
    const s = stuckServer();
    const c = await dial(s.port);
    setIntOpt(c.fd, C.SOL_SOCKET, C.SO_RCVBUF, 4096);
    // Connected is not accepted yet: count the server's side first.
    expect(await reached(() => s.connections === 1, 2000)).toBe(true);
    const t0 = performance.now();
    await c.write(enc.encode(GET.repeat(600) + "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"));
    // Never read: the server must give up on its writes and close.
    expect(await reached(() => s.connections === 0, 4000)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
  }, 15_000);

  test("HEAD /stream behind unread responses is cut off too", async () => {
    const s = stuckServer();
    const c = await dial(s.port);
    setIntOpt(c.fd, C.SOL_SOCKET, C.SO_RCVBUF, 4096);
    expect(await reached(() => s.connections === 1, 2000)).toBe(true);
    // Fill the pipe with unread responses, then a HEAD /stream on its own write.
    await c.write(enc.encode(GET.repeat(600) + "HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n"));
    expect(await reached(() => s.connections === 0, 4000)).toBe(true);
  }, 15_000);
});

describe("http example: maxConnections", () => {
  test("over the cap a connection gets 503 and is closed; a freed slot serves again", async () => {
    const s = start({ maxConnections: 2 } as never);
    const a = await dial(s.port);
    const b = await dial(s.port);
    for (const c of [a, b]) {
      await c.write(enc.encode(GET));
      expect((await readUntil(c, (t) => t.endsWith("Hello, World!"))).text).toStartWith("HTTP/1.1 200 OK\r\n");
    }
    expect(s.connections).toBe(2);
    const third = await dial(s.port);
    await third.write(enc.encode(GET));
    const r = await readUntil(third, () => false);
    expect(r.eof).toBe(true);
    expect(r.text).toStartWith("HTTP/1.1 503 Service Unavailable\r\n");
    expect(r.text).toContain("\r\nConnection: close\r\n");
    expect(r.text).toEndWith("\r\n\r\nService Unavailable\n");
    expect(s.connections).toBe(2);
    expect(s.buffers.held).toBe(0);
    // Free a slot: the next connection is served.
    await a.close();
    expect(await reached(() => s.connections === 1, 2000)).toBe(true);
    const d = await dial(s.port);
    await d.write(enc.encode(GET));
    expect((await readUntil(d, (t) => t.endsWith("Hello, World!"))).text).toStartWith("HTTP/1.1 200 OK\r\n");
    expect(s.connections).toBe(2);
  });

  test("maxConnections must be a non-negative integer", () => {
    expect(() => startHttpServer({ port: 0, hostname: "127.0.0.1", maxConnections: -1 } as never)).toThrow(TypeError);
  });
});
