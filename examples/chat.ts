// chat: a line-based chat room on bun-netpoll, with per-client backpressure.
//
// Every line a client sends is broadcast to all other clients as
// `<nick>: <line>`. Commands: `/nick NAME` renames (everyone sees
// `* old is now NAME`), `/who` lists who is online, `/quit` leaves. Joins and
// leaves are announced (`* NAME joined`, `* NAME left`); a new client is told
// its name (`* you are guest<N>`).
//
// Fan-out without head-of-line blocking: each client has its own bounded
// outgoing queue and its own writer task. Broadcasting only appends the
// (shared, encoded once) line to each queue; the writer drains its queue with
// one vectored write per batch and parks on the netpoller when that client's
// socket is full. A client that stops reading therefore stalls nobody: its
// queue grows, and once it holds more than QUEUE_MAX_LINES lines or
// QUEUE_MAX_BYTES bytes the client is disconnected and the room is told
// `* NAME dropped (too slow)`.
//
// Try it (in three terminals):
//   PORT=7001 bun examples/chat.ts
//   nc 127.0.0.1 7001        # type lines; "/nick alice" to rename
//   nc 127.0.0.1 7001
// A slow reader: `nc 127.0.0.1 7001 > /dev/null &` then `kill -STOP` it and
// flood from another client (`yes spam | nc 127.0.0.1 7001`): the stopped one
// is dropped, the others keep chatting.
//
// Env: PORT (default 7001; 0 picks a free port), HOST (default 127.0.0.1),
// QUEUE_MAX_LINES (default 1000), QUEUE_MAX_BYTES (default 1 MiB). Prints one
// line on stdout, `bun-netpoll chat listening on <host>:<port>` with the real
// port; logs go to stderr. SIGINT / SIGTERM close everything and exit 0 (a
// second signal exits at once, code 1).
import { type Conn, formatAddr, listen, NetError } from "bun-netpoll";

const port = Number(process.env.PORT ?? 7001);
const hostname = process.env.HOST ?? "127.0.0.1";
const QUEUE_MAX_LINES = Number(process.env.QUEUE_MAX_LINES ?? 1000);
const QUEUE_MAX_BYTES = Number(process.env.QUEUE_MAX_BYTES ?? 1024 * 1024);
/** Longest line accepted from a client (characters, without the newline). */
const MAX_LINE = 8192;
/** How long a leaving client gets to take what is still queued for it. */
const FLUSH_ON_LEAVE_MS = 5000;
const NICK = /^[^\s:*/][^\s:*]{0,31}$/u;

const enc = new TextEncoder();
/** Clients in the room (announcements go to them). */
const room = new Set<Client>();
/** Every connected client, in the room or still flushing on its way out. */
const everyone = new Set<Client>();
let guests = 0;

function nickTaken(nick: string, except?: Client): boolean {
  const key = nick.toLowerCase();
  for (const c of room) if (c !== except && c.nick.toLowerCase() === key) return true;
  return false;
}

/** Queues `text` for every client in the room but `from`; drops the ones that are too far behind. */
function broadcast(text: string, from: Client | null = null): void {
  const line = enc.encode(`${text}\n`); // encoded once, shared by every queue
  const behind: Client[] = [];
  for (const c of room) if (c !== from && !c.enqueue(line)) behind.push(c);
  for (const c of behind) {
    if (!room.has(c)) continue; // already dropped by a nested announcement
    room.delete(c);
    c.kill("too slow");
    broadcast(`* ${c.nick} dropped (too slow)`);
  }
}

class Client {
  nick: string;
  readonly conn: Conn;
  readonly peer: string;
  /** live: in the room. ending: left, flushing its queue. gone: closed. */
  state: "live" | "ending" | "gone" = "live";
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #wake: (() => void) | null = null;

  constructor(conn: Conn) {
    this.conn = conn;
    this.peer = formatAddr(conn.remoteAddr);
    do this.nick = `guest${++guests}`;
    while (nickTaken(this.nick));
  }

  start(): void {
    this.enqueue(enc.encode(`* you are ${this.nick}\n`));
    broadcast(`* ${this.nick} joined`);
    room.add(this);
    everyone.add(this);
    console.error(`+ ${this.peer} as ${this.nick}`);
    void this.#writer();
    void this.#reader();
  }

  /** Appends a line to this client's queue; false when that would exceed its bounds. */
  enqueue(line: Uint8Array): boolean {
    if (this.state === "gone") return true;
    if (this.#queue.length + 1 > QUEUE_MAX_LINES || this.#queuedBytes + line.length > QUEUE_MAX_BYTES) return false;
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    this.#wake?.();
    return true;
  }

  /** Closes at once, discarding the queue (dropped, or server shutdown). */
  kill(why: string): void {
    if (this.state === "gone") return;
    this.state = "gone";
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#wake?.();
    if (!this.conn.closed) this.conn.close().catch(() => {});
    console.error(`- ${this.peer} ${this.nick} (${why})`);
  }

  /** Leaves the room; the writer flushes what is queued, then closes. */
  #leave(why: string): void {
    if (this.state !== "live") return;
    this.state = "ending";
    room.delete(this);
    broadcast(`* ${this.nick} left`);
    console.error(`- ${this.peer} ${this.nick} (${why})`);
    if (!this.conn.closed) this.conn.setWriteDeadline(Date.now() + FLUSH_ON_LEAVE_MS);
    this.#wake?.();
  }

  // The writer: one vectored write per batch of queued lines; parks on the
  // netpoller (inside writev) while this client's socket buffer is full.
  async #writer(): Promise<void> {
    try {
      for (;;) {
        if (this.state === "gone") return;
        if (this.#queue.length === 0) {
          if (this.state === "ending") return;
          await new Promise<void>((resolve) => (this.#wake = resolve));
          this.#wake = null;
          continue;
        }
        const batch = this.#queue;
        this.#queue = [];
        this.#queuedBytes = 0;
        await this.conn.writev(batch);
      }
    } catch (err) {
      // Closed, reset, EPIPE or the flush deadline: this client is gone.
      if (!(err instanceof NetError)) console.error(`writer ${this.nick}: ${err}`);
      this.#leave(err instanceof NetError ? err.code : "error");
    } finally {
      this.state = "gone";
      everyone.delete(this);
      if (!this.conn.closed) this.conn.close().catch(() => {});
    }
  }

  async #reader(): Promise<void> {
    const dec = new TextDecoder();
    let pending = "";
    let why = "eof";
    try {
      for await (const chunk of this.conn) {
        pending += dec.decode(chunk, { stream: true }); // copies out of the pooled chunk
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          if (line.length > MAX_LINE + 1) {
            why = "line too long"; // (+1: a trailing "\r")
            break;
          }
          this.#onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
          if (this.state !== "live") return;
        }
        if (pending.length > MAX_LINE) why = "line too long"; // unfinished, and already too long
        if (why !== "eof") {
          this.enqueue(enc.encode(`* line too long (max ${MAX_LINE} characters)\n`));
          break;
        }
      }
      if (why === "eof" && pending !== "") this.#onLine(pending); // unterminated last line
    } catch (err) {
      why = err instanceof NetError ? err.code : String(err);
    }
    this.#leave(why);
  }

  #onLine(line: string): void {
    if (line === "") return;
    if (!line.startsWith("/")) {
      broadcast(`${this.nick}: ${line}`, this);
      return;
    }
    const [cmd, ...rest] = line.split(/\s+/);
    const arg = rest.join(" ");
    switch (cmd) {
      case "/nick":
        if (!NICK.test(arg)) this.enqueue(enc.encode("* usage: /nick NAME (no spaces, ':' or '*', at most 32)\n"));
        else if (nickTaken(arg, this)) this.enqueue(enc.encode(`* nick ${arg} is taken\n`));
        else if (arg !== this.nick) {
          const old = this.nick;
          this.nick = arg;
          broadcast(`* ${old} is now ${arg}`); // to everyone, the renamer included
        }
        return;
      case "/who":
        this.enqueue(enc.encode(`* online: ${[...room].map((c) => c.nick).join(", ")}\n`));
        return;
      case "/quit":
        this.enqueue(enc.encode("* bye\n"));
        this.#leave("quit");
        return;
      default:
        this.enqueue(enc.encode(`* unknown command ${cmd} (try /nick NAME, /who, /quit)\n`));
    }
  }
}

const ln = listen({ hostname, port });
console.log(`bun-netpoll chat listening on ${formatAddr(ln.addr)}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) process.exit(1); // a second signal: stop waiting for a clean shutdown
  stopping = true;
  console.error(`${signal}: closing listener and ${everyone.size} connection(s)`);
  const closing: Promise<void>[] = [ln.close()];
  for (const c of everyone) {
    room.delete(c);
    if (!c.conn.closed) closing.push(c.conn.close());
    c.kill("shutdown");
  }
  await Promise.allSettled(closing);
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

// The iterator ends when the listener is closed.
for await (const conn of ln) new Client(conn).start();
