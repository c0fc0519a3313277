// echo: a TCP echo server on bun-netpoll.
//
// Shows the basic server shape: listen(), `for await` over accepted
// connections, one task per connection that echoes with
//
//     for await (const chunk of conn) await conn.write(chunk);
//
// and an idle deadline per connection: every chunk pushes the connection's
// deadline IDLE_TIMEOUT_MS into the future, so a connection that sends nothing
// (or stops reading our replies) for that long is closed. The read parked on
// the netpoller rejects with DeadlineExceededError when the deadline passes;
// no per-connection timer has to be managed by hand.
//
// Try it:
//   PORT=7000 bun examples/echo.ts
//   nc 127.0.0.1 7000                        # type lines, they come back
//   printf 'hello\n' | nc -N 127.0.0.1 7000  # -N: half-close after stdin EOF
//   IDLE_TIMEOUT_MS=2000 PORT=7000 bun examples/echo.ts   # idle conns closed after 2 s
//
// Env: PORT (default 7000; 0 picks a free port), HOST (default 127.0.0.1),
// IDLE_TIMEOUT_MS (default 30000; 0 disables). Prints one line on stdout,
// `bun-netpoll echo listening on <host>:<port>` with the real port; connection
// logs go to stderr. SIGINT / SIGTERM close the listener and every connection
// and exit 0 (a second signal exits at once, code 1).
import { ClosedError, type Conn, DeadlineExceededError, formatAddr, listen, NetError } from "bun-netpoll";

const port = Number(process.env.PORT ?? 7000);
const hostname = process.env.HOST ?? "127.0.0.1";
const idleMs = Number(process.env.IDLE_TIMEOUT_MS ?? 30_000);

const ln = listen({ hostname, port });
console.log(`bun-netpoll echo listening on ${formatAddr(ln.addr)}`);

const conns = new Set<Conn>();
let stopping = false;

async function handle(conn: Conn): Promise<void> {
  const peer = formatAddr(conn.remoteAddr);
  // One deadline for both directions: "idle" means no chunk in, and no
  // progress out, for idleMs.
  const touch = () => conn.setDeadline(idleMs > 0 ? Date.now() + idleMs : null);
  let bytes = 0;
  let why = "eof";
  conns.add(conn);
  console.error(`+ ${peer}`);
  try {
    touch();
    for await (const chunk of conn) {
      await conn.write(chunk); // chunk is only valid until the next step: write it now
      bytes += chunk.length;
      touch();
    }
  } catch (err) {
    if (err instanceof DeadlineExceededError) why = "idle timeout";
    else if (err instanceof ClosedError) why = "closed";
    else if (err instanceof NetError) why = err.code;
    else throw err;
  } finally {
    conns.delete(conn);
    if (!conn.closed) await conn.close();
    console.error(`- ${peer} (${why}, ${bytes} bytes echoed)`);
  }
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) process.exit(1); // a second signal: stop waiting for a clean shutdown
  stopping = true;
  console.error(`${signal}: closing listener and ${conns.size} connection(s)`);
  const closing: Promise<void>[] = [ln.close()];
  for (const c of conns) if (!c.closed) closing.push(c.close());
  await Promise.allSettled(closing);
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

// The iterator ends when the listener is closed.
for await (const conn of ln) {
  handle(conn).catch((err) => console.error(`handler error: ${err}`));
}
