// proxy: a TCP proxy on bun-netpoll, with half-close and an idle deadline.
//
// Listens on PORT; for each client it connects to UPSTREAM_HOST:UPSTREAM_PORT
// and copies bytes both ways. Half-close is forwarded: when one side reaches
// EOF, the proxy shuts down the write side of the other (closeWrite), so a
// client that sends a request and then half-closes still receives the whole
// response. Both connections are closed once both directions are done, or as
// soon as either side fails (reset, error) or the pair has been idle — no
// bytes in either direction — for IDLE_TIMEOUT_MS. The idle deadline is one
// deadline shared by both sockets, pushed forward on every chunk; parked reads
// and writes reject with DeadlineExceededError when it passes.
//
// Try it (with the echo example as the upstream):
//   PORT=7000 bun examples/echo.ts
//   PORT=7002 UPSTREAM_PORT=7000 bun examples/proxy.ts
//   printf 'through the proxy\n' | nc -N 127.0.0.1 7002
//   curl -v http://127.0.0.1:7002/   # with an HTTP upstream instead, e.g.
//   PORT=7002 UPSTREAM_HOST=example.com UPSTREAM_PORT=80 bun examples/proxy.ts
//   curl -H 'Host: example.com' http://127.0.0.1:7002/
//
// Env: PORT (default 7002; 0 picks a free port), HOST (default 127.0.0.1),
// UPSTREAM_HOST (default 127.0.0.1; names are resolved), UPSTREAM_PORT
// (required), IDLE_TIMEOUT_MS (default 30000; 0 disables), CONNECT_TIMEOUT_MS
// (default 5000). Prints one line on stdout,
// `bun-netpoll proxy listening on <host>:<port>` with the real port; logs go
// to stderr. SIGINT / SIGTERM close the listener and every connection, exit 0
// (a second signal exits at once, code 1).
import { ClosedError, type Conn, connect, DeadlineExceededError, formatAddr, listen, NetError } from "bun-netpoll";

const port = Number(process.env.PORT ?? 7002);
const hostname = process.env.HOST ?? "127.0.0.1";
const upstreamHost = process.env.UPSTREAM_HOST ?? "127.0.0.1";
const upstreamPort = Number(process.env.UPSTREAM_PORT);
const idleMs = Number(process.env.IDLE_TIMEOUT_MS ?? 30_000);
const connectTimeoutMs = Number(process.env.CONNECT_TIMEOUT_MS ?? 5000);

if (!process.env.UPSTREAM_PORT || !Number.isInteger(upstreamPort)) {
  console.error("usage: UPSTREAM_PORT=<port> [UPSTREAM_HOST=<host>] [PORT=<port>] bun examples/proxy.ts");
  process.exit(2);
}

const ln = listen({ hostname, port });
console.log(`bun-netpoll proxy listening on ${formatAddr(ln.addr)}`);
console.error(`forwarding to ${upstreamHost}:${upstreamPort}`);

const conns = new Set<Conn>();
let stopping = false;

function why(err: unknown): string {
  if (err instanceof DeadlineExceededError) return "idle timeout";
  if (err instanceof ClosedError) return "closed";
  if (err instanceof NetError) return err.code;
  return String(err);
}

function closeQuietly(c: Conn): Promise<void> {
  return c.closed ? Promise.resolve() : c.close().catch(() => {});
}

/** Copies src to dst until EOF, then half-closes dst. Resolves the byte count. */
async function pipe(src: Conn, dst: Conn, touch: () => void): Promise<number> {
  let n = 0;
  for await (const chunk of src) {
    await dst.write(chunk); // the chunk is valid until the next step: write it first
    n += chunk.length;
    touch();
  }
  // EOF from src: tell dst there is no more. A peer that already went away
  // (ENOTCONN) is not an error here; the other direction will notice.
  await dst.closeWrite().catch((err) => {
    if (err instanceof NetError && err.code === "ENOTCONN") return;
    throw err;
  });
  return n;
}

async function handle(client: Conn): Promise<void> {
  const peer = formatAddr(client.remoteAddr);
  conns.add(client);
  let upstream: Conn;
  try {
    upstream = await connect({ hostname: upstreamHost, port: upstreamPort, timeout: connectTimeoutMs });
  } catch (err) {
    console.error(`! ${peer}: upstream ${upstreamHost}:${upstreamPort}: ${why(err)}`);
    conns.delete(client);
    await closeQuietly(client);
    return;
  }
  if (stopping) {
    conns.delete(client);
    await Promise.all([closeQuietly(client), closeQuietly(upstream)]);
    return;
  }
  conns.add(upstream);
  console.error(`+ ${peer} -> ${formatAddr(upstream.remoteAddr)}`);

  // One idle deadline for the pair, moved forward by traffic either way.
  const touch = () => {
    const t = idleMs > 0 ? Date.now() + idleMs : null;
    for (const c of [client, upstream]) if (!c.closed) c.setDeadline(t);
  };
  touch();

  // When one direction fails, close both so the other stops too. The first
  // failure is what ended the pair: the other direction then fails with the
  // close that followed it (ClosedError).
  const ended = { by: "done" };
  const fail = (err: unknown) => {
    if (ended.by === "done") ended.by = why(err);
    void closeQuietly(client);
    void closeQuietly(upstream);
    throw err;
  };
  const [up, down] = await Promise.allSettled([
    pipe(client, upstream, touch).catch(fail),
    pipe(upstream, client, touch).catch(fail),
  ]);
  await Promise.all([closeQuietly(client), closeQuietly(upstream)]);
  conns.delete(client);
  conns.delete(upstream);
  const count = (r: PromiseSettledResult<number>) => (r.status === "fulfilled" ? `${r.value}` : "?");
  console.error(`- ${peer} (${ended.by}; up ${count(up!)} bytes, down ${count(down!)} bytes)`);
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) process.exit(1); // a second signal: stop waiting for a clean shutdown
  stopping = true;
  console.error(`${signal}: closing listener and ${conns.size} connection(s)`);
  const closing: Promise<void>[] = [ln.close()];
  for (const c of conns) closing.push(closeQuietly(c));
  await Promise.allSettled(closing);
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

// The iterator ends when the listener is closed.
for await (const client of ln) {
  handle(client).catch((err) => console.error(`handler error: ${err}`));
}
