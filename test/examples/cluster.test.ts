// examples/cluster.ts as a real process: WORKERS=2 on PORT=0, many fresh
// connections (SO_REUSEPORT spreads them over both Workers' listeners), then a
// graceful SIGTERM.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import * as path from "node:path";
import { sleep, type SpawnedServer, spawnServer } from "../_support/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");

type Cluster = SpawnedServer;

function startCluster(env: Record<string, string> = {}): Promise<Cluster> {
  return spawnServer([process.execPath, "examples/cluster.ts"], {
    cwd: ROOT,
    env: { WORKERS: "2", PORT: "0", HOST: "127.0.0.1", ...env },
    ready: /bun-netpoll cluster listening on http:\/\/127\.0\.0\.1:(\d+) \(2 workers\)\n/,
    ms: 15_000,
    name: "cluster",
    killSignal: "SIGKILL",
  });
}

interface Resp {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parse(text: string): Resp {
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) throw new Error(`incomplete response: ${JSON.stringify(text)}`);
  const lines = text.slice(0, headEnd).split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status: Number(lines[0]!.split(" ")[1]), headers, body: text.slice(headEnd + 4) };
}

/** A raw TCP client: connects, sends `request` (in pieces, `gapMs` apart), reads until the server closes. */
function exchange(port: number, request: string | string[], gapMs = 0, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no end of response within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString("latin1"))}`));
    }, timeoutMs);
    sock.on("connect", async () => {
      const parts = typeof request === "string" ? [request] : request;
      for (let i = 0; i < parts.length; i++) {
        if (i > 0) await sleep(gapMs);
        sock.write(parts[i]!);
      }
    });
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on("end", () => {
      clearTimeout(timer);
      sock.end();
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
  });
}

const GET_CLOSE = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

describe("examples/cluster.ts (WORKERS=2)", () => {
  let c: Cluster;

  beforeAll(async () => {
    c = await startCluster();
  }, 20_000);
  afterAll(() => {
    if (c && c.proc.exitCode === null) c.proc.kill("SIGKILL");
  });

  test("prints the address and the worker count", () => {
    expect(c.output()).toStartWith(`bun-netpoll cluster listening on http://127.0.0.1:${c.port} (2 workers)\n`);
  });

  test("a response names its worker in X-Worker, after Date and Connection", async () => {
    const r = await exchange(c.port, GET_CLOSE);
    expect(r.replace(/Date: [^\r]*\r\n/, "")).toMatch(
      /^HTTP\/1\.1 200 OK\r\nConnection: close\r\nX-Worker: [01]\r\nContent-Type: text\/plain\r\nContent-Length: 13\r\n\r\nHello, World!$/,
    );
  });

  test("200 fresh connections, one GET each (16 at a time): all Hello, World!, served by both workers", async () => {
    const TOTAL = 200;
    const CONCURRENCY = 16;
    const served = new Map<string, number>();
    let next = 0;
    const lane = async () => {
      while (next < TOTAL) {
        next++;
        const r = parse(await exchange(c.port, GET_CLOSE));
        expect([r.status, r.body]).toEqual([200, "Hello, World!"]);
        const w = r.headers["x-worker"];
        expect(w === "0" || w === "1").toBe(true);
        served.set(w!, (served.get(w!) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
    expect([...served.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);
    // The kernel hashes each connection onto one of the two listeners: with
    // 200 connections both get some, barring a 2^-199 coincidence.
    expect(served.size).toBe(2);
  }, 30_000);

  test("keep-alive and pipelining work inside a worker", async () => {
    const r = await exchange(c.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(3) + GET_CLOSE);
    const workers = r.match(/X-Worker: (\d)\r\n/g) ?? [];
    expect(workers.length).toBe(4);
    expect(new Set(workers).size).toBe(1); // one connection, one worker
    expect(r.split("Hello, World!").length - 1).toBe(4);
  });

  test("SIGTERM: requests in flight on either worker finish; exit code 0 within 5 s", async () => {
    // Half-sent requests on several connections: some land on each worker.
    const inFlight = Array.from({ length: 8 }, () =>
      exchange(c.port, ["POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n", "12345"], 400),
    );
    await sleep(150); // the heads have arrived; the bodies come 250 ms after SIGTERM
    const t0 = performance.now();
    c.proc.kill("SIGTERM");
    const rs = (await Promise.all(inFlight)).map(parse);
    for (const r of rs) {
      expect([r.status, r.headers.connection, r.body]).toEqual([200, "close", "12345"]);
    }
    const code = await Promise.race([c.proc.exited, sleep(5000).then(() => "timeout")]);
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(c.output()).toContain("cluster: SIGTERM, shutting down 2 worker(s)");
  }, 10_000);
});
