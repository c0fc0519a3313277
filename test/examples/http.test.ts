// examples/http.ts: the parser at every split point (and a small fuzz), then
// the server as a real child process spoken to over raw TCP and with fetch().
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as net from "node:net";
import * as path from "node:path";
import { decodeChunked, DEFAULT_LIMITS, findHeader, headerCount, headerName, headerValue, type Limits, newChunkedState, parseRequest } from "../../examples/http/parser.ts";
import { decodeStream, type Outcome, sleep, type SpawnedServer, spawnServer } from "../_support/index.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);

// ---------------------------------------------------------------------------
// Parser

const VALID: Array<[string, string, Outcome[]]> = [
  ["simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", [{ method: "GET", path: "/", version: 1, keepAlive: true, body: "" }]],
  [
    "leading empty line, bare LF, OWS, query",
    "\r\nGET /x?y=1 HTTP/1.1\nHost:  a \nConnection: Keep-Alive , close\n\n",
    [{ method: "GET", path: "/x?y=1", version: 1, keepAlive: false, body: "" }],
  ],
  ["HTTP/1.0 default close", "GET / HTTP/1.0\r\n\r\n", [{ method: "GET", path: "/", version: 0, keepAlive: false, body: "" }]],
  [
    "HTTP/1.0 keep-alive",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    [{ method: "GET", path: "/", version: 0, keepAlive: true, body: "" }],
  ],
  [
    "Content-Length body",
    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
    [{ method: "POST", path: "/echo", version: 1, keepAlive: true, body: "hello world" }],
  ],
  [
    "chunked body with extensions and trailers",
    "PUT /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n1 ; x\r\n \r\n0A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n",
    [{ method: "PUT", path: "/echo", version: 1, keepAlive: true, body: "hello 0123456789" }],
  ],
  [
    "pipelined: GET, chunked POST, CL POST, then a partial one",
    "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPOST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxyGET /d HT",
    [
      { method: "GET", path: "/a", version: 1, keepAlive: true, body: "" },
      { method: "POST", path: "/b", version: 1, keepAlive: true, body: "abc" },
      { method: "POST", path: "/c", version: 1, keepAlive: true, body: "xy" },
      { pending: 9 },
    ],
  ],
];

const INVALID: Array<[string, string, number]> = [
  ["garbage request line", "HELLO\r\n\r\n", 400],
  ["bad version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400],
  ["lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
  ["two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["control char in target", "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["bare CR", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400],
  ["header without colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400],
  ["space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 400],
  ["NUL in value", "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400],
  ["missing Host", "GET / HTTP/1.1\r\n\r\n", 400],
  ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["invalid Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400],
  ["negative Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400],
  ["conflicting Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400],
  ["CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
  ["unknown TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400],
  ["TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
  ["bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
  ["chunk size with junk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n", 400],
  ["missing CRLF after chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400],
  ["Content-Length over 1 MiB", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413],
  ["huge Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413],
  ["chunk over 1 MiB", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", 413],
  ["header block over 16 KiB", `GET / HTTP/1.1\r\nHost: a\r\nX: ${"a".repeat(16 * 1024)}\r\n\r\n`, 431],
  ["header line never ends", `GET / HTTP/1.1\r\nHost: a\r\nX: ${"a".repeat(17 * 1024)}`, 431],
];

describe("parser", () => {
  test("reads the request head: method, path, version, headers", () => {
    const buf = b("xxGET /p?q HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nX-Tab:\tv  \t\r\n\r\nBODY");
    const r = parseRequest(buf, 2, buf.length);
    if (r.kind !== "request") throw new Error(`not a request: ${JSON.stringify(r)}`);
    expect([r.method, r.path, r.version, r.start, r.contentLength, r.chunked, r.keepAlive, r.expectContinue]).toEqual([
      "GET",
      "/p?q",
      1,
      2,
      -1,
      false,
      true,
      false,
    ]);
    expect(dec.decode(buf.subarray(r.bodyStart))).toBe("BODY");
    expect(headerCount(r)).toBe(3);
    const fields = Array.from({ length: headerCount(r) }, (_, i) => [headerName(buf, r, i), headerValue(buf, r, i)]);
    expect(fields).toEqual([
      ["Host", "example.com"],
      ["X-Empty", ""],
      ["X-Tab", "v"],
    ]);
    expect(findHeader(buf, r, "host")).toBe("example.com");
    expect(findHeader(buf, r, "missing")).toBeNull();
  });

  test("Expect: 100-continue and Content-Length are reported", () => {
    const buf = b("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 007\r\n\r\n");
    const r = parseRequest(buf, 0, buf.length);
    expect(r.kind === "request" && [r.expectContinue, r.contentLength]).toEqual([true, 7]);
  });

  for (const [name, text, want] of VALID) {
    test(`every split point: ${name}`, () => {
      const input = b(text);
      expect(decodeStream(input, [])).toEqual(want);
      for (let k = 0; k <= input.length; k++) expect(decodeStream(input, [k])).toEqual(want);
      // One byte at a time, and three random cuts many times.
      expect(decodeStream(input, Array.from({ length: input.length }, (_, i) => i))).toEqual(want);
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * input.length;
      for (let i = 0; i < 50; i++) expect(decodeStream(input, [rnd() | 0, rnd() | 0, rnd() | 0])).toEqual(want);
    });
  }

  for (const [name, text, status] of INVALID) {
    test(`${status}: ${name}, at every split point`, () => {
      const input = b(text);
      expect(decodeStream(input, [])).toEqual([{ error: status }]);
      const step = input.length > 2000 ? 97 : 1;
      for (let k = 0; k <= input.length; k += step) expect(decodeStream(input, [k])).toEqual([{ error: status }]);
    });
  }

  test("a request head is never reported before its blank line", () => {
    const input = b("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    const head = input.length - 3;
    for (let k = 0; k < head; k++) expect(parseRequest(input, 0, k).kind).toBe("incomplete");
    for (let k = head; k <= input.length; k++) expect(parseRequest(input, 0, k).kind).toBe("request");
  });

  test("the chunked decoder can resume after the caller moves the request", () => {
    const input = b("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    const buf = new Uint8Array(64);
    const st = newChunkedState();
    buf.set(input.subarray(0, 12), 10);
    expect(decodeChunked(buf, 10, 22, st)).toBe("incomplete");
    // Move everything from 10 down to 0: state offsets are relative to bodyStart.
    buf.copyWithin(0, 10, 22);
    buf.set(input.subarray(12), 12);
    expect(decodeChunked(buf, 0, input.length, st)).toBe("done");
    expect(dec.decode(buf.subarray(0, st.write))).toBe("hello world");
    expect(st.read).toBe(input.length);
  });

  test("fuzz: mutated requests never throw, and cutting the input never changes the outcome", () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const corpus = VALID.map(([, t]) => b(t));
    const alphabet = b("\r\n :;0123456789abcdefGHPTX-\t\x00\x7f\xff");
    const small: Limits = { maxHeaderBytes: 256, maxBodyBytes: 64, maxHeaders: 8 };
    for (let i = 0; i < 3000; i++) {
      const base = corpus[rand(corpus.length)]!;
      const bytes = Array.from(base);
      for (let m = rand(4) + 1; m > 0; m--) {
        const at = rand(bytes.length + 1);
        const op = rand(3);
        const c = alphabet[rand(alphabet.length)]!;
        if (op === 0) bytes.splice(at, 1);
        else if (op === 1) bytes.splice(at, 0, c);
        else bytes[at] = c;
      }
      const input = Uint8Array.from(bytes);
      const limits = i % 3 === 0 ? small : DEFAULT_LIMITS;
      const whole = decodeStream(input, [], limits);
      const cut = decodeStream(input, [rand(input.length), rand(input.length)], limits);
      if (JSON.stringify(cut) !== JSON.stringify(whole)) {
        throw new Error(`outcome depends on cuts for ${JSON.stringify(dec.decode(input))}: ${JSON.stringify(whole)} vs ${JSON.stringify(cut)}`);
      }
    }
  });
});

// ---------------------------------------------------------------------------
// The server, as a child process

type Server = SpawnedServer;

function startServer(env: Record<string, string>): Promise<Server> {
  return spawnServer([process.execPath, "examples/http.ts"], {
    cwd: ROOT,
    env: { PORT: "0", HOST: "127.0.0.1", ...env },
    ready: /bun-netpoll http listening on http:\/\/127\.0\.0\.1:(\d+)\n/,
    ms: 5000,
    name: "server",
  });
}

/** A raw TCP client that collects everything it receives. */
class Raw {
  data = Buffer.alloc(0);
  /** 'data' events seen (one per TCP read on our side). */
  reads = 0;
  closedAt = 0;
  readonly sock: net.Socket;
  readonly closed: Promise<void>;
  #waiters: Array<() => void> = [];

  private constructor(sock: net.Socket) {
    this.sock = sock;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.closed = promise;
    sock.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.reads++;
      this.#wake();
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      this.closedAt = performance.now();
      resolve();
      this.#wake();
    });
  }

  static connect(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ host: "127.0.0.1", port }, () => resolve(new Raw(s)));
      s.once("error", reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  send(x: string | Uint8Array): void {
    this.sock.write(typeof x === "string" ? Buffer.from(x, "latin1") : x);
  }

  get isClosed(): boolean {
    return this.closedAt !== 0;
  }

  /** Waits until pred holds for the data, the socket closes, or ms pass. */
  async until(pred: (r: Raw) => boolean, ms = 3000): Promise<void> {
    const deadline = performance.now() + ms;
    while (!pred(this)) {
      if (this.isClosed) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), sleep(left)]);
    }
  }

  /** Waits for n complete responses (and returns them, consuming the bytes). */
  async responses(n: number, ms = 3000): Promise<Resp[]> {
    await this.until((r) => countResponses(r.data) >= n, ms);
    const out: Resp[] = [];
    for (let i = 0; i < n; i++) {
      const r = parseResponse(this.data);
      if (r === null) throw new Error(`expected ${n} responses, got ${i}; data: ${JSON.stringify(this.data.toString("latin1"))}`);
      out.push(r);
      this.data = this.data.subarray(r.length);
    }
    return out;
  }

  async waitClosed(ms = 3000): Promise<boolean> {
    await this.until(() => false, ms);
    return this.isClosed;
  }

  end(): void {
    this.sock.destroy();
  }
}

interface Resp {
  status: number;
  /** The head as sent, with the Date line taken out. */
  head: string;
  headers: Record<string, string>;
  body: string;
  /** Bytes the response took. */
  length: number;
}

/** Parses one response at the front of data (Content-Length or chunked body), or null if incomplete. */
function parseResponse(data: Buffer): Resp | null {
  const text = data.toString("latin1");
  const headEnd = text.indexOf("\r\n\r\n");
  if (headEnd < 0) return null;
  const lines = text.slice(0, headEnd).split("\r\n");
  const status = Number(lines[0]!.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  const head = lines.filter((l) => !/^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/.test(l)).join("\r\n") + "\r\n\r\n";
  let at = headEnd + 4;
  let body = "";
  if (status < 200) {
    // 1xx: no body
  } else if (headers["transfer-encoding"] === "chunked") {
    for (;;) {
      const lf = text.indexOf("\r\n", at);
      if (lf < 0) return null;
      const size = parseInt(text.slice(at, lf), 16);
      if (size === 0) {
        if (!text.startsWith("\r\n", lf + 2)) return null;
        at = lf + 4;
        break;
      }
      if (text.length < lf + 2 + size + 2) return null;
      body += text.slice(lf + 2, lf + 2 + size);
      at = lf + 2 + size + 2;
    }
  } else {
    const n = Number(headers["content-length"] ?? 0);
    if (text.length < at + n) return null;
    body = text.slice(at, at + n);
    at += n;
  }
  return { status, head, headers, body, length: at };
}

function countResponses(data: Buffer): number {
  let n = 0;
  let d = data;
  for (;;) {
    const r = parseResponse(d);
    if (r === null) return n;
    n++;
    d = d.subarray(r.length);
  }
}

const HELLO = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
const HELLO_CLOSE = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
const GET = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

describe("examples/http.ts", () => {
  let srv: Server;
  const open: Raw[] = [];
  const client = async (): Promise<Raw> => {
    const c = await Raw.connect(srv.port);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    srv = await startServer({ HTTP_READ_TIMEOUT_MS: "300", HTTP_IDLE_TIMEOUT_MS: "1500", STREAM_DELAY_MS: "20" });
  });
  afterAll(() => {
    for (const c of open) c.end();
    if (srv.proc.exitCode === null) srv.proc.kill("SIGKILL");
  });

  test("prints the bound port", () => {
    expect(srv.output()).toStartWith(`bun-netpoll http listening on http://127.0.0.1:${srv.port}\n`);
  });

  test("GET / twice on one keep-alive connection", async () => {
    const c = await client();
    c.send(GET);
    const [r1] = await c.responses(1);
    expect(r1!.head + r1!.body).toBe(`${HELLO}Hello, World!`);
    expect(r1!.headers.date).toMatch(/GMT$/);
    c.send(GET);
    const [r2] = await c.responses(1);
    expect(r2!.head + r2!.body).toBe(`${HELLO}Hello, World!`);
    expect(c.isClosed).toBe(false);
  });

  test("16 pipelined GET / in one write: 16 responses, in order, in few TCP reads", async () => {
    const c = await client();
    c.send(GET.repeat(16));
    const rs = await c.responses(16);
    expect(rs.map((r) => r.head + r.body)).toEqual(Array(16).fill(`${HELLO}Hello, World!`));
    expect(c.data.length).toBe(0);
    // The server answers a read batch with one write: usually one read here.
    expect(c.reads).toBeLessThanOrEqual(3);
  });

  test("pipelined requests of different kinds are answered in order", async () => {
    const c = await client();
    let batch = "";
    for (let i = 0; i < 8; i++) {
      batch +=
        i % 2 === 0
          ? `POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${String(i).length + 4}\r\n\r\nreq ${i}`
          : `PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nreq \r\n${String(i).length}\r\n${i}\r\n0\r\n\r\n`;
    }
    batch += "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n" + GET;
    c.send(batch);
    const rs = await c.responses(10);
    expect(rs.map((r) => `${r.status} ${r.body}`)).toEqual([
      ...Array.from({ length: 8 }, (_, i) => `200 req ${i}`),
      "404 Not Found\n",
      "200 Hello, World!",
    ]);
  });

  test("POST /echo with Content-Length", async () => {
    const c = await client();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello");
    await sleep(30);
    c.send(" world");
    const [r] = await c.responses(1);
    expect(r!.head + r!.body).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 11\r\n\r\nhello world",
    );
  });

  test("POST /echo with a chunked body (extensions, trailers) echoes it exactly", async () => {
    const c = await client();
    const payload = Array.from({ length: 300 }, (_, i) => String.fromCharCode(i & 0xff)).join("");
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.send(`a;ext=1\r\n${payload.slice(0, 10)}\r\n`);
    await sleep(20);
    c.send(`${(290).toString(16)}\r\n${payload.slice(10, 200)}`);
    await sleep(20);
    c.send(`${payload.slice(200)}\r\n0\r\nX-Sum: 300\r\n\r\n`);
    const [r] = await c.responses(1);
    expect(r!.status).toBe(200);
    expect(r!.headers["content-length"]).toBe("300");
    expect(r!.body).toBe(payload);
    // The connection is still usable.
    c.send(GET);
    expect((await c.responses(1))[0]!.body).toBe("Hello, World!");
  });

  test("a 1 MiB body is accepted (Content-Length and chunked)", async () => {
    const big = Buffer.alloc(1024 * 1024, "x");
    const c = await client();
    c.send(`PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ${big.length}\r\n\r\n`);
    c.send(big);
    const [r] = await c.responses(1, 5000);
    expect(r!.status).toBe(200);
    expect(r!.body.length).toBe(big.length);
    let chunked = "";
    for (let i = 0; i < 16; i++) chunked += `10000\r\n${"y".repeat(0x10000)}\r\n`;
    c.send(`POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}0\r\n\r\n`);
    const [r2] = await c.responses(1, 5000);
    expect(r2!.status).toBe(200);
    expect(r2!.body).toBe("y".repeat(1024 * 1024));
  });

  test("Expect: 100-continue gets 100 Continue before the body is sent", async () => {
    const c = await client();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    const [cont] = await c.responses(1);
    expect(cont!.head).toBe("HTTP/1.1 100 Continue\r\n\r\n");
    c.send("ok");
    const [r] = await c.responses(1);
    expect([r!.status, r!.body]).toEqual([200, "ok"]);
  });

  test("GET /stream is a chunked response written as it goes", async () => {
    const c = await client();
    c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    const [r] = await c.responses(1);
    expect(r!.head).toBe("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect(r!.body).toBe("chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n");
    expect(c.reads).toBeGreaterThanOrEqual(3); // 20 ms apart: not one write
  });

  test("404 for an unknown path, 405 (with Allow) for a wrong method, HEAD has no body", async () => {
    const c = await client();
    c.send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\nDELETE / HTTP/1.1\r\nHost: t\r\n\r\nGET /echo HTTP/1.1\r\nHost: t\r\n\r\nHEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + GET);
    await c.until((r) => r.data.toString("latin1").endsWith("Content-Length: 13\r\n\r\nHello, World!"));
    const text = c.data.toString("latin1").replace(/Date: [^\r]*\r\n/g, "");
    expect(text).toBe(
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nNot Found\n" +
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nMethod Not Allowed\n" +
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: POST, PUT\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nMethod Not Allowed\n" +
        HELLO +
        `${HELLO}Hello, World!`,
    );
  });

  test("Connection: close and HTTP/1.0 close after the response; HTTP/1.0 keep-alive stays", async () => {
    const c = await client();
    c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + GET);
    const [r] = await c.responses(1);
    expect(r!.head + r!.body).toBe(`${HELLO_CLOSE}Hello, World!`);
    expect(await c.waitClosed(2000)).toBe(true);
    expect(c.data.length).toBe(0); // the pipelined GET after it is not answered

    const c10 = await client();
    c10.send("GET / HTTP/1.0\r\n\r\n");
    expect((await c10.responses(1))[0]!.head).toBe(HELLO_CLOSE);
    expect(await c10.waitClosed(2000)).toBe(true);

    const ka = await client();
    ka.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect((await ka.responses(1))[0]!.head).toBe(
      "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n",
    );
    ka.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    expect((await ka.responses(1))[0]!.status).toBe(200);
    expect(ka.isClosed).toBe(false);
  });

  const bad: Array<[string, string, number]> = [
    ["malformed request line", "GET /\r\n\r\n", 400],
    ["malformed header", "GET / HTTP/1.1\r\nHost t\r\n\r\n", 400],
    ["bad chunk size", "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400],
    ["both CL and TE", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["invalid Content-Length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: five\r\n\r\n", 400],
    ["header block > 16 KiB", `GET / HTTP/1.1\r\nHost: t\r\n${"X-Pad: 0123456789abcdef\r\n".repeat(800)}\r\n`, 431],
    ["Content-Length > 1 MiB", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n", 413],
  ];
  for (const [name, request, status] of bad) {
    test(`${status} and close: ${name}`, async () => {
      const c = await client();
      c.send(GET + request);
      const [ok, r] = await c.responses(2);
      expect(ok!.status).toBe(200);
      expect(r!.status).toBe(status);
      expect(r!.headers.connection).toBe("close");
      expect(await c.waitClosed(2000)).toBe(true);
    });
  }

  test("413 and close: a chunked body that grows over 1 MiB", async () => {
    const c = await client();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    const piece = `20000\r\n${"z".repeat(0x20000)}\r\n`; // 128 KiB
    for (let i = 0; i < 9; i++) c.send(piece);
    const [r] = await c.responses(1);
    expect(r!.status).toBe(413);
    expect(await c.waitClosed(2000)).toBe(true);
  });

  test("a slow client is cut off by the read deadline (408, then close)", async () => {
    const c = await client();
    c.send(GET); // a first request on the connection is fine
    await c.responses(1);
    const t0 = performance.now();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhalf");
    expect(await c.waitClosed(3000)).toBe(true);
    const ms = c.closedAt - t0;
    expect(ms).toBeGreaterThan(250);
    expect(ms).toBeLessThan(2000);
    expect(parseResponse(c.data)?.status).toBe(408);
  });

  test("a slow header trickle is cut off too, though each byte arrives in time", async () => {
    const c = await client();
    const t0 = performance.now();
    for (const ch of "GET / HTTP/1.1\r\nHost: t\r\n") {
      if (c.isClosed) break;
      c.send(ch);
      await sleep(25);
    }
    expect(await c.waitClosed(2000)).toBe(true);
    expect(c.closedAt - t0).toBeLessThan(1500);
  });

  test("an idle keep-alive connection is closed after HTTP_IDLE_TIMEOUT_MS", async () => {
    const c = await client();
    c.send(GET);
    await c.responses(1);
    const t0 = performance.now();
    expect(await c.waitClosed(4000)).toBe(true);
    const ms = c.closedAt - t0;
    expect(ms).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(2500);
    expect(c.data.length).toBe(0); // no 408 for an idle connection
  });

  test("fetch() works against it", async () => {
    const base = `http://127.0.0.1:${srv.port}`;
    const r1 = await fetch(`${base}/`);
    expect([r1.status, r1.headers.get("content-type"), await r1.text()]).toEqual([200, "text/plain", "Hello, World!"]);
    const r2 = await fetch(`${base}/echo`, { method: "POST", body: "fetched body" });
    expect(await r2.text()).toBe("fetched body");
    const r3 = await fetch(`${base}/stream`);
    expect(await r3.text()).toBe("chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n");
    const r4 = await fetch(`${base}/echo`, { method: "PUT", body: new Blob(["x".repeat(100_000)]) });
    expect((await r4.text()).length).toBe(100_000);
    expect((await fetch(`${base}/missing`)).status).toBe(404);
  });

  test("SIGTERM: a request in flight still gets its response; exit code 0 within 5 s", async () => {
    const s = await startServer({});
    try {
      const idle = await Raw.connect(s.port);
      idle.send(GET);
      await idle.responses(1);
      const busy = await Raw.connect(s.port);
      busy.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
      await sleep(150); // let the server read the head
      const t0 = performance.now();
      s.proc.kill("SIGTERM");
      expect(await idle.waitClosed(1000)).toBe(true); // idle: closed at once
      expect(idle.data.length).toBe(0);
      // The listener is closed: new connections are refused.
      const refused = await Raw.connect(s.port).then(
        (c) => (c.end(), false),
        () => true,
      );
      expect(refused).toBe(true);
      busy.send("12345");
      const [r] = await busy.responses(1);
      expect([r!.status, r!.headers.connection, r!.body]).toEqual([200, "close", "12345"]);
      expect(await busy.waitClosed(2000)).toBe(true);
      const code = await Promise.race([s.proc.exited, sleep(5000).then(() => "timeout")]);
      expect(code).toBe(0);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(s.output()).toContain("SIGTERM");
    } finally {
      if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
    }
  });

  test("SIGTERM with idle connections: exit code 0 at once", async () => {
    const c = await client();
    c.send(GET);
    await c.responses(1);
    const t0 = performance.now();
    srv.proc.kill("SIGTERM");
    const code = await Promise.race([srv.proc.exited, sleep(5000).then(() => "timeout")]);
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await c.waitClosed(1000)).toBe(true);
  });
});
