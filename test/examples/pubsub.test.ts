// examples/pubsub.ts end to end: started as a subprocess (PORT=0), driven by
// clients on this runtime's connect(), stopped with SIGTERM.
import { afterEach, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { connect, DeadlineExceededError } from "../../src/index.ts";
import { closeAfterEach, LineConn } from "../_support/index.ts";

const EXAMPLE = resolve(import.meta.dir, "../../examples/pubsub.ts");
const enc = new TextEncoder();

interface Server {
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly port: number;
  readonly stderr: Promise<string>;
  readonly restOfStdout: Promise<string>;
}

const running: Server[] = [];
const keep = closeAfterEach();

async function start(env: Record<string, string> = {}): Promise<Server> {
  const proc = Bun.spawn([process.execPath, EXAMPLE], {
    env: { ...process.env, PORT: "0", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = new Response(proc.stderr).text();
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`pubsub exited before listening: ${await stderr}`);
    out += dec.decode(value, { stream: true });
  }
  const first = out.slice(0, out.indexOf("\n"));
  const m = /^bun-netpoll pubsub listening on 127\.0\.0\.1:(\d+)$/.exec(first);
  expect(m).not.toBeNull();
  const port = Number(m![1]);
  expect(port).toBeGreaterThan(0);
  const restOfStdout = (async () => {
    let rest = out.slice(out.indexOf("\n") + 1);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return rest + dec.decode();
      rest += dec.decode(value, { stream: true });
    }
  })();
  const s = { proc, port, stderr, restOfStdout };
  running.push(s);
  return s;
}

afterEach(() => {
  for (const s of running.splice(0)) if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
});

/** A pubsub client: line() waits 5 s for each read; the conn is closed after the test. */
class Client extends LineConn {
  static async open(port: number): Promise<Client> {
    return new Client(keep(await connect({ hostname: "127.0.0.1", port, timeout: 5000 })), 5000);
  }

  /** Sends a command and returns the next line (its reply). */
  async ask(line: string): Promise<string | null> {
    await this.send(line);
    return this.line();
  }

  /** True if nothing arrives within ms. */
  async silent(ms = 100): Promise<boolean> {
    try {
      const l = await this.line(ms);
      throw new Error(`unexpected line: ${l}`);
    } catch (err) {
      if (err instanceof DeadlineExceededError) return true;
      throw err;
    }
  }

  /** Reads until EOF (or a reset), returning the number of bytes skipped. */
  async drain(timeoutMs = 10_000): Promise<number> {
    let total = this.takeRest().length;
    const buf = new Uint8Array(new ArrayBuffer(64 * 1024));
    this.conn.setReadDeadline(Date.now() + timeoutMs);
    for (;;) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch (err) {
        if ((err as { code?: string }).code === "ECONNRESET") return total;
        throw err;
      }
      if (n === null) return total;
      total += n;
    }
  }

  async close(): Promise<void> {
    if (!this.conn.closed) await this.conn.close();
  }
}

describe("examples/pubsub.ts", () => {
  test("two subscribers and a publisher: exact lines delivered; SIGTERM exits 0", async () => {
    const srv = await start();
    const sub1 = await Client.open(srv.port);
    const sub2 = await Client.open(srv.port);
    const pub = await Client.open(srv.port);
    expect(await sub1.ask("SUB news")).toBe("OK SUB news");
    expect(await sub1.ask("SUB sports")).toBe("OK SUB sports");
    expect(await sub2.ask("sub news")).toBe("OK SUB news");

    expect(await pub.ask("PUB news hello  world")).toBe("OK PUB news 2");
    expect(await sub1.line()).toBe("MSG news hello  world");
    expect(await sub2.line()).toBe("MSG news hello  world");

    expect(await pub.ask("PUB sports goal!")).toBe("OK PUB sports 1");
    expect(await sub1.line()).toBe("MSG sports goal!");

    expect(await sub2.ask("UNSUB news")).toBe("OK UNSUB news");
    expect(await pub.ask("PUB news second")).toBe("OK PUB news 1");
    expect(await sub1.line()).toBe("MSG news second");

    expect(await pub.ask("PUB nobody-listens x")).toBe("OK PUB nobody-listens 0");
    expect(await pub.ask("HELLO")).toBe('ERR unknown command "HELLO" (SUB, UNSUB, PUB)');
    expect(await pub.ask("SUB")).toBe("ERR usage: SUB <topic>");
    expect(await pub.ask("SUB a b")).toBe("ERR usage: SUB <topic>");
    expect(await pub.ask("PUB")).toBe("ERR usage: PUB <topic> <message>");
    await pub.send(""); // blank lines are ignored
    // A publisher subscribed to its topic gets its own message; \r\n works.
    await pub.conn.write(enc.encode("SUB echo\r\nPUB echo me\r\n"));
    expect(await pub.line()).toBe("OK SUB echo");
    expect(await pub.line()).toBe("MSG echo me");
    expect(await pub.line()).toBe("OK PUB echo 1");

    expect(await sub1.silent()).toBe(true);
    expect(await sub2.silent()).toBe(true);
    expect(sub1.lines).toEqual(["OK SUB news", "OK SUB sports", "MSG news hello  world", "MSG sports goal!", "MSG news second"]);
    expect(sub2.lines).toEqual(["OK SUB news", "MSG news hello  world", "OK UNSUB news"]);
    expect(pub.lines).toEqual([
      "OK PUB news 2",
      "OK PUB sports 1",
      "OK PUB news 1",
      "OK PUB nobody-listens 0",
      'ERR unknown command "HELLO" (SUB, UNSUB, PUB)',
      "ERR usage: SUB <topic>",
      "ERR usage: SUB <topic>",
      "ERR usage: PUB <topic> <message>",
      "OK SUB echo",
      "MSG echo me",
      "OK PUB echo 1",
    ]);

    // A client that hangs up is unsubscribed, and then the server closes
    // its end. (Its hang-up and another client's PUB are concurrent
    // events; waiting for the server's close orders them.)
    for (const sub of [sub2, sub1]) {
      await sub.conn.closeWrite();
      expect(await sub.drain()).toBe(0);
      await sub.close();
    }
    expect(await pub.ask("PUB news anyone")).toBe("OK PUB news 0");

    srv.proc.kill("SIGTERM");
    expect(await srv.proc.exited).toBe(0);
    expect(await pub.line()).toBeNull(); // the server closed the connection
    expect(await srv.restOfStdout).toBe(""); // exactly one stdout line
    expect(await srv.stderr).toContain("SIGTERM");
  });

  test("a slow subscriber is dropped; the others keep receiving every message in order", async () => {
    const srv = await start({ OUT_CAP: "8" });
    const slow = await Client.open(srv.port);
    const fast = await Client.open(srv.port);
    const pub = await Client.open(srv.port);
    for (const sub of [slow, fast]) expect(await sub.ask("SUB flood")).toBe("OK SUB flood");
    // slow never reads again; fast reads everything, concurrently.
    const got: string[] = [];
    const fastDone = (async () => {
      for (;;) {
        const l = await fast.line(10_000);
        if (l === null) return; // EOF at shutdown
        got.push(l.slice(0, 40));
      }
    })();
    const payload = "x".repeat(32 * 1024);
    let sent = 0;
    let droppedAt = -1;
    for (let i = 0; i < 3000 && droppedAt < 0; i++) {
      const reply = await pub.ask(`PUB flood ${i} ${payload}`);
      sent++;
      if (reply === "OK PUB flood 1") droppedAt = i;
      else expect(reply).toBe("OK PUB flood 2");
    }
    expect(droppedAt).toBeGreaterThan(8); // its queue (8) and socket buffers filled first
    for (let i = sent; i < sent + 5; i++) expect(await pub.ask(`PUB flood ${i} ${payload}`)).toBe("OK PUB flood 1");
    sent += 5;
    while (got.length < sent) await Bun.sleep(5);
    await Bun.sleep(100); // and nothing more arrives
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => `MSG flood ${i} ${payload}`.slice(0, 40)));
    // The slow one's connection was closed by the server: it reads what was
    // already on its socket, then EOF.
    expect(await slow.drain()).toBeGreaterThan(0);
    srv.proc.kill("SIGTERM");
    expect(await srv.proc.exited).toBe(0);
    await fastDone;
    expect(await srv.stderr).toContain("(too slow)");
  });

  test("SIGINT with connected clients also closes everything and exits 0", async () => {
    const srv = await start();
    const a = await Client.open(srv.port);
    const b = await Client.open(srv.port);
    expect(await a.ask("SUB t")).toBe("OK SUB t");
    // b too has been accepted and served (else the listener's close could
    // reset it from the accept queue: a reset, not the EOF asserted below).
    expect(await b.ask("SUB u")).toBe("OK SUB u");
    srv.proc.kill("SIGINT");
    expect(await srv.proc.exited).toBe(0);
    expect(await a.line()).toBeNull();
    expect(await b.line()).toBeNull();
  });
});
