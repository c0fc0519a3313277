// An HTTP/1.1 server on bun-netpoll: one task per connection, written as
// straight-line code (read, parse, answer, repeat) the way a Go server is.
//
// It shows:
//   - keep-alive (the HTTP/1.1 default; `Connection: close` honoured; HTTP/1.0
//     closes unless it asks for keep-alive) and pipelining: every complete
//     request in the read buffer is answered, and the whole batch of responses
//     goes out with ONE write;
//   - request bodies by Content-Length or chunked (trailers skipped), with
//     `Expect: 100-continue`; a streamed chunked response;
//   - limits: header block > 16 KiB → 431, body > 1 MiB → 413, anything
//     malformed → 400, each followed by a close;
//   - deadlines against slow clients: a request must arrive completely within
//     HTTP_READ_TIMEOUT_MS (10 s) of its first byte (else 408 and close), an
//     idle keep-alive connection is closed after HTTP_IDLE_TIMEOUT_MS (30 s),
//     a batch of responses must be written within HTTP_WRITE_TIMEOUT_MS (30 s)
//     (0 turns a timeout off); every write runs under that write deadline;
//   - bounded memory: an idle keep-alive connection holds no buffer (read
//     buffers and response batches are borrowed from a pool only while a
//     request is read or answered), and at most HTTP_MAX_CONNECTIONS (10,000;
//     0: no limit) are served at once: one accepted over the cap is answered
//     `503 Service Unavailable` (Retry-After: 1, Connection: close) and closed;
//   - graceful shutdown on SIGINT/SIGTERM: the listener closes, idle
//     connections are closed at once, requests in flight get their response
//     (with `Connection: close`), then the process exits 0 (or 1 if some
//     connection is still open 5 s later; a second signal exits at once).
//
// Routes: GET / → "Hello, World!"; POST or PUT /echo → the request body;
// GET /stream → 5 chunks "chunk N\n", STREAM_DELAY_MS (100) apart; HEAD works
// where GET does; another method on these paths → 405; other paths → 404.
//
// Try it:
//   bun examples/http.ts                      # PORT=8080 HOST=0.0.0.0 by default
//   curl -i http://127.0.0.1:8080/
//   curl -i --data-binary 'hi there' http://127.0.0.1:8080/echo
//   curl -i -H 'Transfer-Encoding: chunked' --data-binary @package.json http://127.0.0.1:8080/echo
//   curl -iN http://127.0.0.1:8080/stream
//   curl -i http://127.0.0.1:8080/ http://127.0.0.1:8080/      # two requests, one connection
//   printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | nc 127.0.0.1 8080
//   kill -TERM <pid>                          # or Ctrl-C: graceful shutdown
//
// The server itself is examples/http/server.ts (startHttpServer(), shared with
// examples/cluster.ts, which runs it on every core); this file reads the
// environment, prints the address and handles the signals. The parser
// (examples/http/parser.ts) is a pure function over the bytes, so
// test/examples/http.test.ts checks it at every split point (and fuzzes it);
// the response helpers are in examples/http/response.ts.
// `bun examples/http/bench.ts` compares pipelined throughput with Bun.serve
// (about 7-9x at depth 16 on a 2-core machine; about even at depth 1).
import { startHttpServer } from "./http/server.ts";

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

const PORT = envInt("PORT", 8080);
const HOST = process.env.HOST || "0.0.0.0";
const SHUTDOWN_CAP_MS = 5_000;

const server = startHttpServer({
  port: PORT,
  hostname: HOST,
  readTimeoutMs: envInt("HTTP_READ_TIMEOUT_MS", 10_000),
  idleTimeoutMs: envInt("HTTP_IDLE_TIMEOUT_MS", 30_000),
  writeTimeoutMs: envInt("HTTP_WRITE_TIMEOUT_MS", 30_000),
  streamDelayMs: envInt("STREAM_DELAY_MS", 100),
  maxConnections: envInt("HTTP_MAX_CONNECTIONS", 10_000),
});
console.log(`bun-netpoll http listening on http://${HOST.includes(":") ? `[${HOST}]` : HOST}:${server.port}`);

// Graceful shutdown: stop accepting, close idle connections, let requests in
// flight finish, exit 0 (1 if some connection is still open after 5 s; a
// second signal exits at once).
function shutdown(signal: string): void {
  if (server.shuttingDown) {
    console.log(`http: ${signal} again, exiting now`);
    process.exit(1);
  }
  console.log(`http: ${signal}, shutting down (${server.connections} open connection(s))`);
  setTimeout(() => {
    console.log(`http: ${server.connections} connection(s) still open after ${SHUTDOWN_CAP_MS} ms, exiting`);
    process.exit(1);
  }, SHUTDOWN_CAP_MS).unref();
  void server.shutdown().then(() => process.exit(0));
}
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
