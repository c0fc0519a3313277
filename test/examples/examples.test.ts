// The examples, run as real processes (PORT=0) and driven as a client would.
// Clients use the runtime's own connect(); every read has a deadline, so a
// hung server fails a test instead of stalling the file.
import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Conn, connect, listen } from "../../src/index.ts";
import { LineConn, sleep, within } from "../_support/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const EX = path.join(ROOT, "examples");
const enc = new TextEncoder();
const dec = new TextDecoder();

/** An example running as a child process; stdout and stderr are drained continuously. */
class Proc {
  readonly sub: Subprocess<"ignore", "pipe", "pipe">;
  out = "";
  err = "";

  constructor(
    readonly file: string,
    env: Record<string, string> = {},
    args: string[] = [],
  ) {
    this.sub = Bun.spawn([process.execPath, path.join(EX, file), ...args], {
      cwd: ROOT,
      env: { ...process.env, PORT: "0", ...env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    void this.#drain(this.sub.stdout, (s) => (this.out += s));
    void this.#drain(this.sub.stderr, (s) => (this.err += s));
    procs.push(this);
  }

  async #drain(stream: ReadableStream<Uint8Array>, add: (s: string) => void): Promise<void> {
    const d = new TextDecoder();
    for await (const chunk of stream) add(d.decode(chunk, { stream: true }));
  }

  /** Waits until stdout (or stderr) matches re. */
  async waitFor(re: RegExp, ms = 5000, stream: "out" | "err" = "out"): Promise<RegExpMatchArray> {
    const deadline = performance.now() + ms;
    for (;;) {
      const m = (stream === "out" ? this.out : this.err).match(re);
      if (m) return m;
      if (this.sub.exitCode !== null || performance.now() > deadline) {
        throw new Error(`${this.file}: no ${re} (exit ${this.sub.exitCode})\nstdout:\n${this.out}\nstderr:\n${this.err}`);
      }
      await sleep(10);
    }
  }

  /** Parses the startup line; checks it is the first line of stdout. */
  async port(name: string): Promise<number> {
    const m = await this.waitFor(new RegExp(`^bun-netpoll ${name} listening on 127\\.0\\.0\\.1:(\\d+)\\n`));
    const port = Number(m[1]);
    expect(port).toBeGreaterThan(0);
    return port;
  }

  /** Sends a signal and resolves the exit code. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    this.sub.kill(signal);
    return this.exited();
  }

  async exited(ms = 5000): Promise<number | null> {
    return within(this.sub.exited, ms, `${this.file} exit\nstdout:\n${this.out}\nstderr:\n${this.err}`);
  }
}
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) if (p.sub.exitCode === null && !p.sub.killed) p.sub.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.sub.exited));
});

/** A server example started with PORT=0 and its real port. */
async function server(file: string, name: string, env: Record<string, string> = {}) {
  const proc = new Proc(file, env);
  return { proc, port: await proc.port(name) };
}

async function expectCleanExit(proc: Proc, name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  expect(await proc.stop(signal)).toBe(0);
  // Exactly one startup line, and it is the first.
  expect(proc.out.match(/listening on/g)?.length).toBe(1);
  expect(proc.out.startsWith(`bun-netpoll ${name} listening on 127.0.0.1:`)).toBe(true);
}

const dial = (port: number) => connect({ hostname: "127.0.0.1", port, timeout: 3000 });

/** Reads exactly n bytes (fails at EOF or after ms without data). */
async function readExactly(c: Conn, n: number, ms = 3000): Promise<Uint8Array> {
  const out = new Uint8Array(new ArrayBuffer(n));
  let off = 0;
  while (off < n) {
    c.setReadDeadline(Date.now() + ms);
    const got = await c.read(out.subarray(off));
    if (got === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/** Reads until EOF; fails after ms without data. */
async function readAll(c: Conn, ms = 3000): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(new ArrayBuffer(65536));
  for (;;) {
    c.setReadDeadline(Date.now() + ms);
    const n = await c.read(buf);
    if (n === null) return Buffer.concat(parts);
    parts.push(buf.slice(0, n));
  }
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(new ArrayBuffer(n));
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** Writes text on c and expects the same text back. */
async function expectEcho(c: Conn, text: string): Promise<void> {
  const bytes = enc.encode(text);
  await c.write(bytes);
  expect(dec.decode(await readExactly(c, bytes.length))).toBe(text);
}

/** Writes payload on c, reading concurrently (the echo comes back while we write), and expects the same bytes back. */
async function expectEchoOf(c: Conn, payload: Uint8Array): Promise<void> {
  const reading = readExactly(c, payload.length);
  await c.write(payload);
  expect(same(await reading, payload)).toBe(true);
}

/** SIGTERM with a connection open (text echoed through it first): the process exits 0, and the connection ends in EOF with no stray bytes. */
async function expectCleanExitWithConnOpen(proc: Proc, name: string, port: number, text: string): Promise<void> {
  const open = await dial(port);
  await expectEcho(open, text);
  await expectCleanExit(proc, name);
  expect((await readAll(open)).length).toBe(0);
  await open.close();
}

describe("echo", () => {
  test("echoes bytes exactly, including a 1 MiB payload, and half-close ends the echo", async () => {
    const { proc, port } = await server("echo.ts", "echo");
    const c = await dial(port);
    await expectEcho(c, "hello\n");
    await expectEchoOf(c, randomBytes(1 << 20));

    await c.closeWrite();
    expect((await readAll(c)).length).toBe(0); // server saw EOF and closed: no stray bytes
    await c.close();

    await expectCleanExitWithConnOpen(proc, "echo", port, "x");
  });

  test("idle deadline: traffic keeps a connection open, silence closes it", async () => {
    const { proc, port } = await server("echo.ts", "echo", { IDLE_TIMEOUT_MS: "300" });
    const c = await dial(port);
    const t0 = performance.now();
    // Active for ~600 ms (twice the idle timeout) with a gap of 150 ms at most.
    for (let i = 0; i < 4; i++) {
      await expectEcho(c, `ping ${i}`);
      await sleep(150);
    }
    const quiet = performance.now();
    expect(quiet - t0).toBeGreaterThan(500);
    // Now idle: the server closes it about 300 ms after the last echo.
    expect((await readAll(c, 3000)).length).toBe(0);
    const idle = performance.now() - quiet;
    expect(idle).toBeGreaterThan(100); // 300 ms minus the 150 ms already slept, minus slack
    expect(idle).toBeLessThan(2000);
    await c.close();
    await proc.waitFor(/idle timeout/, 2000, "err"); // the server's log line
    await expectCleanExit(proc, "echo", "SIGINT");
  });
});

describe("chat", () => {
  /** A new chat client: it is told its name, then each of others is told it joined. */
  async function join(port: number, name: string, ...others: LineConn[]): Promise<LineConn> {
    const c = new LineConn(await dial(port));
    expect(await c.line()).toBe(`* you are ${name}`);
    for (const o of others) expect(await o.line()).toBe(`* ${name} joined`);
    return c;
  }

  test("joins, broadcast, /nick and leaves are announced exactly", async () => {
    const { proc, port } = await server("chat.ts", "chat");
    const a = await join(port, "guest1");
    const b = await join(port, "guest2", a);

    await a.send("hello all");
    expect(await b.line()).toBe("guest1: hello all");

    await b.send("/nick bob");
    expect(await b.line()).toBe("* guest2 is now bob");
    expect(await a.line()).toBe("* guest2 is now bob"); // and not its own "hello all"

    const c = await join(port, "guest3", a, b);

    await b.send("hi from bob\r"); // CRLF clients work too
    expect(await a.line()).toBe("bob: hi from bob");
    expect(await c.line()).toBe("bob: hi from bob");

    await c.send("/nick bob");
    expect(await c.line()).toBe("* nick bob is taken");
    await c.send("/who");
    expect(await c.line()).toBe("* online: guest1, bob, guest3");

    await c.conn.close();
    expect(await a.line()).toBe("* guest3 left");
    expect(await b.line()).toBe("* guest3 left");

    await b.send("/quit");
    expect(await a.line()).toBe("* bob left");
    expect(await b.line()).toBe("* bye");
    expect(await b.line()).toBe(null); // the server closes after the queue is flushed

    await expectCleanExit(proc, "chat");
    expect(await a.line()).toBe(null); // shutdown closed the remaining client
    await a.conn.close();
    await b.conn.close();
  });

  test("a client that never reads is dropped; the others keep getting messages promptly", async () => {
    const { proc, port } = await server("chat.ts", "chat", { QUEUE_MAX_LINES: "200" });
    const slow = await dial(port); // guest1: never reads a byte
    await sleep(50);
    const a = await join(port, "guest2");
    const b = await join(port, "guest3", a);

    // ~10 MB of chat: far more than the slow client's socket buffers hold.
    const N = 10_000;
    const filler = "x".repeat(1000);
    const flood = enc.encode(Array.from({ length: N }, (_, i) => `${i} ${filler}\n`).join(""));
    const t0 = performance.now();
    const sending = a.conn.write(flood);
    let got = 0;
    let dropped = false;
    while (got < N) {
      const line = await b.line(2000); // never a 2 s stall
      if (line === "* guest1 dropped (too slow)") {
        dropped = true;
        continue;
      }
      expect(line).toBe(`guest2: ${got} ${filler}`);
      got++;
    }
    await sending;
    expect(dropped).toBe(true);
    expect(performance.now() - t0).toBeLessThan(8000);
    // A sees the drop announcement as well, and the room still works.
    expect(await a.line()).toBe("* guest1 dropped (too slow)");
    await b.send("still here");
    expect(await a.line(1000)).toBe("guest3: still here");
    await proc.waitFor(/too slow/, 2000, "err");

    await expectCleanExit(proc, "chat");
    await Promise.all([slow.close(), a.conn.close(), b.conn.close()]);
  });
});

describe("proxy", () => {
  test("round-trips exact bytes and forwards half-close both ways", async () => {
    const up = await server("echo.ts", "echo");
    const { proc, port } = await server("proxy.ts", "proxy", { UPSTREAM_PORT: String(up.port) });

    const c = await dial(port);
    await expectEchoOf(c, randomBytes(512 * 1024));
    await c.close();

    // Half-close: the client sends, shuts down its write side, and still gets
    // every echoed byte, then EOF (echo saw EOF through the proxy and closed).
    const h = await dial(port);
    await h.write(enc.encode("part one\n"));
    await h.write(enc.encode("part two\n"));
    await h.closeWrite();
    expect(dec.decode(await readAll(h))).toBe("part one\npart two\n");
    await h.close();

    // SIGTERM with a proxied connection open.
    await expectCleanExitWithConnOpen(proc, "proxy", port, "ok");
    await expectCleanExit(up.proc, "echo");
  });

  test("idle deadline closes a silent proxied pair", async () => {
    const up = await server("echo.ts", "echo");
    const { proc, port } = await server("proxy.ts", "proxy", { UPSTREAM_PORT: String(up.port), IDLE_TIMEOUT_MS: "300" });
    const c = await dial(port);
    await expectEcho(c, "once");
    const t0 = performance.now();
    expect((await readAll(c)).length).toBe(0);
    const idle = performance.now() - t0;
    expect(idle).toBeGreaterThan(200);
    expect(idle).toBeLessThan(2000);
    await c.close();
    await proc.waitFor(/idle timeout/, 2000, "err"); // the server's log line
    await expectCleanExit(proc, "proxy");
    await expectCleanExit(up.proc, "echo");
  });

  test("the log names what ended the pair (an upstream reset), not the close that followed it in the other direction", async () => {
    // An upstream that takes the request and resets the connection (SO_LINGER 0).
    const ln = listen({ hostname: "127.0.0.1", port: 0 });
    const upPort = ln.addr.transport === "tcp" ? ln.addr.port : 0;
    const upstream = (async () => {
      const s = await ln.accept();
      const got = new Uint8Array(new ArrayBuffer(5));
      expect(await s.read(got)).toBe(5);
      expect(dec.decode(got)).toBe("hello");
      s.setLinger(0);
      await s.close();
    })();
    const { proc, port } = await server("proxy.ts", "proxy", { UPSTREAM_PORT: String(upPort) });
    const c = await dial(port);
    await c.write(enc.encode("hello"));
    await upstream;
    // The proxy closes the client side once upstream is gone.
    expect((await readAll(c)).length).toBe(0);
    await c.close();
    await ln.close();
    // The upstream→client copy failed with the reset; the client→upstream
    // copy was then ended by the proxy's own close.
    const m = await proc.waitFor(/^- 127\.0\.0\.1:\d+ \(([^;]*);/m, 2000, "err");
    expect(m[1]).toBe("ECONNRESET");
    await expectCleanExit(proc, "proxy");
  });
});

describe("ffi", () => {
  test("raw-epoll runs on the FFI layer alone and reads hello", async () => {
    const p = new Proc("ffi/raw-epoll.ts");
    expect(await p.exited()).toBe(0);
    expect(p.out).toContain('read "hello"');
    expect(p.out).toMatch(/mask EPOLLIN \(0x1\): read "hello" in \d+ read\(s\), then EAGAIN/);
    expect(p.out).toContain("again: epoll_wait(timeout 0) -> 0 event(s)"); // edge-triggered
    expect(p.out).toMatch(/EPOLLHUP.*then EOF/);
  });

  test("watch: inotify events for a new file, exits 0 after --count 2", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netpoll-watch-test-"));
    try {
      const p = new Proc("ffi/watch.ts", {}, [dir, "--count", "2"]);
      await p.waitFor(/^watching (.+)\n/);
      expect(p.out.split("\n")[0]).toBe(`watching ${dir}`);
      fs.writeFileSync(path.join(dir, "hello.txt"), "hi there");
      expect(await p.exited()).toBe(0);
      const lines = p.out.trimEnd().split("\n").slice(1);
      expect(lines.length).toBe(2);
      expect(lines[0]).toBe("IN_CREATE hello.txt");
      expect(lines[1]).toMatch(/^IN_[A-Z_]+(\|IN_[A-Z_]+)* hello\.txt$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("watch: without a dir it creates one, and SIGTERM exits 0 and removes it", async () => {
    const p = new Proc("ffi/watch.ts");
    const dir = (await p.waitFor(/^watching (.+)\n/))[1]!;
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    fs.mkdirSync(path.join(dir, "sub"));
    await p.waitFor(/^IN_CREATE\|IN_ISDIR sub$/m);
    expect(await p.stop("SIGTERM")).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
