// The server behind examples/http.ts and examples/cluster.ts: an HTTP/1.1
// server on bun-netpoll, one task per connection, written as straight-line
// code (read, parse, answer, repeat) the way a Go server is. See the header of
// examples/http.ts for what it does; this module only adds a handle:
//
//   const srv = startHttpServer({ port: 0, hostname: "127.0.0.1" });
//   srv.port;             // the bound port
//   srv.buffers;          // { held, heldBytes, free }: what the connections
//                         // borrow from the server's buffer pool right now
//   await srv.shutdown(); // stop accepting, close idle connections, let
//                         // requests in flight finish (with Connection: close)
//
// It never calls process.exit (it may run inside a Worker): the caller decides
// how long to wait for shutdown() and what to exit with.
import { type Conn, DeadlineExceededError, type Listener, listen, NetError } from "bun-netpoll";
import {
  compactChunked,
  decodeChunked,
  DEFAULT_LIMITS,
  newChunkedState,
  parseRequest,
  type Request,
  resetChunked,
} from "./parser.ts";
import { type BufferStats, BufferPool } from "./buffers.ts";
import { busyResponse, bytes, type Canned, canned, CONTINUE, Output, Persist } from "./response.ts";

export interface HttpServerOptions {
  /** 0 picks a free port (see `port` on the result). */
  readonly port: number;
  /** Default "0.0.0.0". */
  readonly hostname?: string;
  /** SO_REUSEPORT: several servers (e.g. one per Worker) share the port. */
  readonly reusePort?: boolean;
  /** A request must arrive completely this long after its first byte, else 408 (0: no limit). Default 10 s. */
  readonly readTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long (0: never). Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** A batch of responses must be written within this long (0: no limit). Default 30 s. */
  readonly writeTimeoutMs?: number;
  /**
   * Connections served at once (0: no limit). Default 10,000. A connection
   * accepted over the cap gets `503 Service Unavailable` (`Retry-After: 1`,
   * `Connection: close`) and is closed; it borrows no buffer and does not
   * count in `connections`. (Leaving it in the kernel's backlog instead would
   * hide the overload from the client until its own timeout.)
   */
  readonly maxConnections?: number;
  /** Delay between the chunks of GET /stream. Default 100 ms. */
  readonly streamDelayMs?: number;
  /** Header lines added to every response after Date/Connection, each ending in CRLF (e.g. "X-Worker: 1\r\n"). */
  readonly extraHeaders?: string;
  /** Prefix of the error lines this server logs. Default "http". */
  readonly name?: string;
}

export interface HttpServer {
  readonly listener: Listener;
  /** The bound port. */
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  readonly shuttingDown: boolean;
  /** The buffers the connections hold now (read buffers and response batches). */
  readonly buffers: BufferStats;
  /**
   * Graceful shutdown: closes the listener and the idle connections at once;
   * connections with a request in flight get their response (with
   * `Connection: close`) and then close. Resolves once no connection is
   * left. Calling it again returns the same promise.
   */
  shutdown(): Promise<void>;
}

/** The deadline `ms` after `now`; a timeout of 0 means none. */
function after(ms: number, now: number): number | null {
  return ms > 0 ? now + ms : null;
}

/** After answering and shutting down our side, how long to drain what the client still sends (avoids a RST eating the response). */
const LINGER_MS = 500;
const LINGER_MAX_BYTES = 4 * 1024 * 1024;

const LIMITS = DEFAULT_LIMITS;
const INITIAL_BUF = 16 * 1024;
/** Room for a whole request at the limits (16 KiB head + 1 MiB body + framing). */
const MAX_BUF = 2 * 1024 * 1024;
/**
 * Free INITIAL_BUF buffers a server keeps for reuse (at most 16 MiB): enough
 * for the response batches of ~1000 connections answering at once, so a busy
 * server does not allocate (and collect) a buffer per batch.
 */
const POOL_MAX_FREE = 1024;

// Pre-encoded response parts: a response is a few memcpys into the batch buffer.
const HELLO = canned("Hello, World!");
const NOT_FOUND = canned("Not Found\n");
const GET_ONLY = canned("Method Not Allowed\n", "Allow: GET, HEAD\r\n");
const POST_ONLY = canned("Method Not Allowed\n", "Allow: POST, PUT\r\n");
const ERRORS: Record<number, Canned> = {
  400: canned("Bad Request\n"),
  408: canned("Request Timeout\n"),
  413: canned("Content Too Large\n"),
  431: canned("Request Header Fields Too Large\n"),
};
const ECHO_HEAD = bytes("Content-Type: application/octet-stream\r\nContent-Length: ");
const END_HEAD = bytes("\r\n\r\n");
const STREAM_HEAD = bytes("Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
const STREAM_CHUNKS = [1, 2, 3, 4, 5].map((n) => bytes(`chunk ${n}\n`));
const LAST_CHUNK = bytes("0\r\n\r\n");


/** Which read deadline is armed. */
const NO_DEADLINE = 0;
const IDLE_DEADLINE = 1;
const REQUEST_DEADLINE = 2;

/** A large echo body is written from the read buffer instead of being copied into the batch. */
const DIRECT_ECHO = 64 * 1024;
const EMPTY = new Uint8Array(new ArrayBuffer(0));

/** Scratch space for the bytes a closing connection still receives (dropped). */
const scratch = new Uint8Array(new ArrayBuffer(64 * 1024));

interface Client {
  readonly conn: Conn;
  /** Parked in read with nothing buffered: closed at once on shutdown. */
  idle: boolean;
}

function checkMs(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new TypeError(`startHttpServer: ${name} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** Listens (synchronously: a bind error throws) and serves until shutdown(). */
export function startHttpServer(opts: HttpServerOptions): HttpServer {
  const READ_TIMEOUT_MS = checkMs("readTimeoutMs", opts.readTimeoutMs, 10_000);
  const IDLE_TIMEOUT_MS = checkMs("idleTimeoutMs", opts.idleTimeoutMs, 30_000);
  const WRITE_TIMEOUT_MS = checkMs("writeTimeoutMs", opts.writeTimeoutMs, 30_000);
  const STREAM_DELAY_MS = checkMs("streamDelayMs", opts.streamDelayMs, 100);
  const MAX_CONNECTIONS = checkMs("maxConnections", opts.maxConnections, 10_000);
  /** Deadlines are pushed forward at most this often (a read batch may reuse the previous one). */
  const IDLE_SLACK_MS = Math.min(1000, IDLE_TIMEOUT_MS / 10);
  const WRITE_SLACK_MS = Math.min(1000, WRITE_TIMEOUT_MS / 10);
  const extra = bytes(opts.extraHeaders ?? "");
  const name = opts.name ?? "http";

  const ln = listen({ port: opts.port, hostname: opts.hostname ?? "0.0.0.0", reusePort: opts.reusePort === true });
  const port = "port" in ln.addr ? ln.addr.port : opts.port;
  const clients = new Set<Client>();
  let shuttingDown = false;
  const drained = Promise.withResolvers<void>();
  const pool = new BufferPool(INITIAL_BUF, POOL_MAX_FREE);
  /** Connections over the cap being answered 503. */
  const rejecting = new Set<Conn>();

  async function serve(conn: Conn): Promise<void> {
    const client: Client = { conn, idle: false };
    clients.add(client);
    // Borrowed from the pool only while a request is being read or answered:
    // between requests (and while parked waiting for one) nothing is held.
    let buf: Uint8Array = EMPTY;
    // buf is either the chunk the last idle read returned (borrowed from the
    // runtime until `chunks` steps again or returns: complete requests are
    // answered straight from it), or a buffer of ours from the pool (`own`).
    let own = false;
    let chunks: AsyncIterator<Uint8Array, undefined> | null = null;
    let start = 0; // first byte not consumed yet
    let end = 0; // end of the bytes read
    let req: Request | null = null; // the head of a request whose body is still coming
    const chunked = newChunkedState(); // its chunked body, if any
    let continued = false; // 100 Continue sent for it
    let armed = NO_DEADLINE;
    let idleArmedAt = 0;
    let writeArmedAt = 0;
    let closing = false; // answer this batch, then close
    const out = new Output(pool, extra);
    // Every write goes through here: each one runs under a write deadline
    // (pushed forward at most every WRITE_SLACK_MS), so a client that stops
    // reading is cut off after WRITE_TIMEOUT_MS whatever is being written.
    const write = (bytes: Uint8Array | readonly Uint8Array[]): Promise<number> => {
      const now = Date.now();
      if (now - writeArmedAt > WRITE_SLACK_MS) {
        conn.setWriteDeadline(after(WRITE_TIMEOUT_MS, now));
        writeArmedAt = now;
      }
      return bytes instanceof Uint8Array ? conn.write(bytes) : conn.writev(bytes);
    };
    try {
      for (;;) {
        const now = Date.now(); // just after a read: the time its bytes arrived
        out.reset(now);

        // Answer every complete request in the buffer, into one output batch.
        while (start < end && !closing) {
          if (req === null) {
            const head = parseRequest(buf, start, end, LIMITS);
            if (head.kind === "incomplete") break;
            if (head.kind === "error") {
              out.canned(head.status, Persist.Close, ERRORS[head.status]!);
              closing = true;
              break;
            }
            req = head;
          }
          let bodyEnd: number;
          let next: number;
          if (req.chunked) {
            const got = decodeChunked(buf, req.bodyStart, end, chunked, LIMITS);
            if (got !== "done") {
              if (got === "incomplete") {
                if (req.expectContinue && !continued) out.put(CONTINUE);
                continued = true;
              } else {
                out.canned(got, Persist.Close, ERRORS[got]!);
                closing = true;
              }
              break;
            }
            bodyEnd = req.bodyStart + chunked.write;
            next = req.bodyStart + chunked.read;
          } else {
            bodyEnd = req.bodyStart + Math.max(0, req.contentLength);
            if (bodyEnd > end) {
              if (req.expectContinue && !continued) out.put(CONTINUE);
              continued = true;
              break;
            }
            next = bodyEnd;
          }

          const persist = !req.keepAlive || shuttingDown ? Persist.Close : req.version === 0 ? Persist.Keep10 : Persist.Keep;
          const path = route(req.path);
          if (path === "/stream" && (req.method === "GET" || req.method === "HEAD")) {
            // Streamed: whatever is batched goes first, then the chunks as they are made.
            if (out.len > 0) await write(out.view());
            await stream(write, out, persist, req.method === "HEAD", STREAM_DELAY_MS);
            out.reset(Date.now());
          } else if (path === "/echo" && (req.method === "POST" || req.method === "PUT") && bodyEnd - req.bodyStart > DIRECT_ECHO) {
            // A large echo goes out straight from the read buffer (no copy into the batch).
            echoHead(out, bodyEnd - req.bodyStart, persist);
            await write([out.view(), buf.subarray(req.bodyStart, bodyEnd)]);
            out.reset(Date.now());
          } else {
            respond(out, req, buf, bodyEnd, persist);
          }
          start = next;
          req = null;
          resetChunked(chunked);
          continued = false;
          if (armed === REQUEST_DEADLINE) armed = NO_DEADLINE;
          if (persist === Persist.Close) closing = true;
        }

        if (out.len > 0) {
          await write(out.view());
          out.shrink();
        }
        if (closing) {
          await lingerClose(conn);
          return;
        }

        if (start === end) {
          // Between requests: an idle keep-alive connection, holding no buffer.
          start = end = 0;
          if (own) pool.give(buf);
          own = false;
          buf = EMPTY;
          if (chunks !== null) void chunks.return?.();
          chunks = null;
          out.release();
          if (shuttingDown) return;
          // Re-arming costs little, but it is needed only now and then (the
          // idle timeout then runs between 90% and 100% of its value).
          if (armed !== IDLE_DEADLINE || now - idleArmedAt > IDLE_SLACK_MS) {
            conn.setReadDeadline(after(IDLE_TIMEOUT_MS, now));
            armed = IDLE_DEADLINE;
            idleArmedAt = now;
          }
          // Wait for the next request without a buffer: a chunk read borrows
          // one only once bytes are there.
          client.idle = true;
          chunks = conn[Symbol.asyncIterator]();
          const step = await chunks.next();
          client.idle = false;
          if (step.done) return; // the client closed
          buf = step.value;
          end = buf.length;
          continue;
        }

        // A request is partly here; its first byte came with the last read.
        if (armed !== REQUEST_DEADLINE) {
          conn.setReadDeadline(after(READ_TIMEOUT_MS, now));
          armed = REQUEST_DEADLINE;
        }
        if (!own) {
          // The rest of a request must be read: move what is here from the
          // chunk into a buffer of ours (head parsed again: its offsets move)
          // and give the chunk back.
          const rest = end - start;
          const mine = pool.take(rest + 1024);
          mine.set(buf.subarray(start, end));
          buf = mine;
          own = true;
          start = 0;
          end = rest;
          req = null;
          if (chunks !== null) void chunks.return?.();
          chunks = null;
        }
        if (buf.length - end < 1024) {
          // Make room: squeeze a chunked body, move the request to the front, grow.
          if (req?.chunked) end = compactChunked(buf, req.bodyStart, end, chunked);
          if (buf.length - end < 1024 && start > 0) {
            buf.copyWithin(0, start, end);
            end -= start;
            start = 0;
            req = null; // its offsets moved: parse the head again (the chunked state is relative)
          }
          if (end === buf.length) {
            if (buf.length >= MAX_BUF) throw new Error("request larger than the read buffer"); // unreachable at these limits
            // A Content-Length body gets room for exactly the whole request; anything else doubles.
            const whole = req !== null && !req.chunked ? req.bodyStart + req.contentLength : 0;
            buf = pool.grow(buf, whole > end ? whole : buf.length * 2, end);
          }
        }

        const n = await conn.read(buf.subarray(end));
        if (n === null) return; // the client closed (a partial request is dropped)
        end += n;
      }
    } catch (err) {
      if (err instanceof DeadlineExceededError && err.op === "read" && start < end && !closing) {
        // Too slow to send a request: say so (best effort), then close.
        out.reset(Date.now());
        out.canned(408, Persist.Close, ERRORS[408]!);
        try {
          conn.setWriteDeadline(Date.now() + 1000);
          await conn.write(out.view());
          await lingerClose(conn);
        } catch {
          // The client is gone or stuck: just close.
        }
      } else if (!(err instanceof NetError)) {
        // ClosedError (shutdown), resets, timeouts and EPIPE are NetErrors: routine.
        console.error(`${name}: connection failed:`, err);
      }
    } finally {
      if (own) pool.give(buf);
      if (chunks !== null) void chunks.return?.();
      out.release();
      try {
        if (!conn.closed) await conn.close();
      } finally {
        clients.delete(client);
        if (shuttingDown && clients.size === 0 && rejecting.size === 0) drained.resolve();
      }
    }
  }

  // Over the cap: a 503 (in a buffer of its own, under a 1 s write deadline),
  // then close. At most MAX_CONNECTIONS of these are in progress (beyond that
  // a connection is closed at once), and they are not counted as connections.
  async function refuse(conn: Conn): Promise<void> {
    if (rejecting.size >= MAX_CONNECTIONS) {
      void conn.close().catch(() => {});
      return;
    }
    rejecting.add(conn);
    try {
      conn.setWriteDeadline(Date.now() + 1000);
      await conn.write(busyResponse(Date.now(), extra));
      await lingerClose(conn);
    } catch {
      // The client is gone or stuck: just close.
    } finally {
      rejecting.delete(conn);
      if (!conn.closed) await conn.close().catch(() => {});
      if (shuttingDown && clients.size === 0 && rejecting.size === 0) drained.resolve();
    }
  }

  void (async () => {
    for await (const conn of ln) {
      if (shuttingDown) {
        void conn.close();
        continue;
      }
      if (MAX_CONNECTIONS > 0 && clients.size >= MAX_CONNECTIONS) {
        void refuse(conn);
        continue;
      }
      serve(conn).catch((err) => console.error(`${name}: bug:`, err));
    }
  })().catch((err) => console.error(`${name}: accept loop failed:`, err));

  return {
    listener: ln,
    port,
    get connections() {
      return clients.size;
    },
    get shuttingDown() {
      return shuttingDown;
    },
    get buffers() {
      return pool.stats;
    },
    shutdown(): Promise<void> {
      if (!shuttingDown) {
        shuttingDown = true;
        void ln.close().catch(() => {});
        for (const c of clients) if (c.idle && !c.conn.closed) void c.conn.close();
        for (const c of rejecting) if (!c.closed) void c.close().catch(() => {});
        if (clients.size === 0 && rejecting.size === 0) drained.resolve();
      }
      return drained.promise;
    },
  };
}

/** The path without its query. */
function route(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

/** Appends the response to req, whose body is buf[req.bodyStart, bodyEnd). */
function respond(out: Output, req: Request, buf: Uint8Array, bodyEnd: number, persist: Persist): void {
  const m = req.method;
  const withBody = m !== "HEAD";
  switch (route(req.path)) {
    case "/":
      out.canned(m === "GET" || m === "HEAD" ? 200 : 405, persist, m === "GET" || m === "HEAD" ? HELLO : GET_ONLY, withBody);
      return;
    case "/echo":
      if (m === "POST" || m === "PUT") {
        echoHead(out, bodyEnd - req.bodyStart, persist);
        out.put(buf.subarray(req.bodyStart, bodyEnd));
      } else {
        out.canned(405, persist, POST_ONLY, withBody);
      }
      return;
    case "/stream": // GET and HEAD are streamed by the caller
      out.canned(405, persist, GET_ONLY, withBody);
      return;
    default:
      out.canned(404, persist, NOT_FOUND, withBody);
  }
}

/** The head of a POST /echo response with an n-byte body. */
function echoHead(out: Output, n: number, persist: Persist): void {
  out.head(200, persist);
  out.put(ECHO_HEAD);
  out.int(n);
  out.put(END_HEAD);
}

/** GET /stream: a chunked response written as it is produced (each write under the connection's write deadline). */
async function stream(
  write: (b: Uint8Array) => Promise<number>,
  out: Output,
  persist: Persist,
  headOnly: boolean,
  STREAM_DELAY_MS: number,
): Promise<void> {
  out.reset(Date.now());
  out.head(200, persist);
  out.put(STREAM_HEAD);
  for (let i = 0; !headOnly && i < STREAM_CHUNKS.length; i++) {
    if (i > 0) {
      await Bun.sleep(STREAM_DELAY_MS);
      out.reset(Date.now());
    }
    out.chunk(STREAM_CHUNKS[i]!);
    if (i === STREAM_CHUNKS.length - 1) out.put(LAST_CHUNK);
    await write(out.view());
  }
  if (headOnly) await write(out.view());
}

/**
 * Closes our side after the last response, then reads and drops whatever the
 * client still sends (for LINGER_MS at most): closing with unread bytes
 * would send a RST, which can destroy the response before the client reads it.
 * The caller closes the connection.
 */
async function lingerClose(conn: Conn): Promise<void> {
  try {
    await conn.closeWrite();
    conn.setReadDeadline(Date.now() + LINGER_MS);
    let total = 0;
    while (total < LINGER_MAX_BYTES) {
      const n = await conn.read(scratch);
      if (n === null) break;
      total += n;
    }
  } catch {
    // Deadline, reset, or closed by shutdown: done either way.
  }
}

