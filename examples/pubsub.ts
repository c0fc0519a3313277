// pubsub: a line-based publish/subscribe broker on bun-netpoll, built from
// the Go-style primitives (Chan, select, go, WaitGroup) instead of shared state.
//
// Protocol (one command per line, replies and messages are lines too):
//   SUB <topic>              → OK SUB <topic>
//   UNSUB <topic>            → OK UNSUB <topic>
//   PUB <topic> <message>    → OK PUB <topic> <n>   (n: subscribers it was queued for)
// and every subscriber of <topic> receives `MSG <topic> <message>`. A bad
// line gets `ERR <reason>`. Topics are one word; the message is the rest of
// the line. A publisher subscribed to its own topic gets its own messages.
//
// Shape, as a Go program would have it:
// - One broker task owns the topic map. Everything that changes it arrives
//   as a command on one channel (`cmds`): join, leave, sub, unsub, pub. No
//   other task touches the map, so there is no lock and no shared mutable state.
// - Each connection has a reader task (parses lines into commands for the
//   broker) and a writer task (drains the connection's buffered outgoing Chan
//   onto the socket, parking on the netpoller while the socket is full).
//   Replies go through the broker too, so a client sees replies and messages
//   in the order the broker handled them.
// - The broker never waits on a client: it queues with
//   `select([{ send: out, value }], { default: true })`. A subscriber whose
//   outgoing channel is full is too slow: it is dropped (its channel closed,
//   its pending write aborted, its connection closed), and nobody else stalls.
//
// Try it (in three terminals):
//   PORT=7000 bun examples/pubsub.ts
//   nc 127.0.0.1 7000          # type: SUB news
//   nc 127.0.0.1 7000          # type: PUB news hello   → the first one prints MSG news hello
// A slow subscriber: `nc 127.0.0.1 7000` and type `SUB flood`, then `kill -STOP`
// it and flood from elsewhere (`yes 'PUB flood spam spam spam' | nc 127.0.0.1 7000 >/dev/null`):
// once its queue is full it is dropped (logged on stderr).
//
// Env: PORT (default 7000; 0 picks a free port), HOST (default 127.0.0.1),
// OUT_CAP (lines queued per client before it counts as too slow; default 256).
// Prints exactly one line on stdout, `bun-netpoll pubsub listening on
// <host>:<port>` with the real port; logs go to stderr. SIGINT / SIGTERM
// close the listener and every connection and exit 0.
import {
  BufferedReader,
  BufferedWriter,
  Chan,
  type Conn,
  formatAddr,
  go,
  listen,
  NetError,
  select,
  TooLongError,
  UnexpectedEofError,
  WaitGroup,
} from "bun-netpoll";

const port = Number(process.env.PORT ?? 7000);
const hostname = process.env.HOST ?? "127.0.0.1";
const OUT_CAP = Number(process.env.OUT_CAP ?? 256);
/** Longest line accepted from a client (bytes, without the line end). */
const MAX_LINE = 64 * 1024;
const TOPIC = /^[^\s]{1,128}$/u;

/** A connected client as the broker sees it. Only the broker sends on `out` or closes it. */
interface Client {
  readonly id: number;
  readonly peer: string;
  /** Lines for this client (each ends in "\n"), drained by its writer task. */
  readonly out: Chan<string>;
  /** Aborted when the client is dropped: cuts short a write parked on a full socket. */
  readonly kill: AbortController;
}

type Command =
  | { readonly op: "join" | "leave"; readonly c: Client }
  | { readonly op: "sub" | "unsub"; readonly c: Client; readonly topic: string }
  | { readonly op: "pub"; readonly c: Client; readonly topic: string; readonly msg: string }
  | { readonly op: "err"; readonly c: Client; readonly text: string }
  | { readonly op: "shutdown" };

const cmds = new Chan<Command>(1024);
/** Aborted at shutdown: cuts short every write still parked (a dropped or leaving client's flush included). */
const halt = new AbortController();
/** How long a client that hung up gets to take the lines still queued for it. */
const FLUSH_ON_LEAVE_MS = 5000;

// The broker: the only owner of the topic map.
async function broker(): Promise<void> {
  const topics = new Map<string, Set<Client>>();
  /** Live clients and their topics. */
  const clients = new Map<Client, Set<string>>();
  let stopping = false;

  const remove = (c: Client, why: string, abort: boolean): void => {
    const mine = clients.get(c);
    if (mine === undefined) return; // already gone
    clients.delete(c);
    for (const t of mine) {
      const subs = topics.get(t)!;
      subs.delete(c);
      if (subs.size === 0) topics.delete(t);
    }
    c.out.close(); // the writer flushes what is queued, then closes the connection
    if (abort) c.kill.abort(new Error(why)); // …or stops at once
    console.error(`- client ${c.id} ${c.peer} (${why})`);
  };

  /** Queues a line for c without ever waiting; a full queue drops c. */
  const deliver = async (c: Client, line: string): Promise<boolean> => {
    if (!clients.has(c)) return false;
    const r = await select([{ send: c.out, value: `${line}\n` }], { default: true });
    if (r.index === -1) {
      remove(c, "too slow", true);
      return false;
    }
    return true;
  };

  for await (const cmd of cmds) {
    switch (cmd.op) {
      case "join":
        clients.set(cmd.c, new Set());
        console.error(`+ client ${cmd.c.id} ${cmd.c.peer}`);
        if (stopping) remove(cmd.c, "shutdown", true);
        break;
      case "leave":
        remove(cmd.c, "left", false);
        break;
      case "sub": {
        const mine = clients.get(cmd.c);
        if (mine === undefined) break;
        mine.add(cmd.topic);
        let subs = topics.get(cmd.topic);
        if (subs === undefined) topics.set(cmd.topic, (subs = new Set()));
        subs.add(cmd.c);
        await deliver(cmd.c, `OK SUB ${cmd.topic}`);
        break;
      }
      case "unsub": {
        const mine = clients.get(cmd.c);
        if (mine === undefined) break;
        mine.delete(cmd.topic);
        const subs = topics.get(cmd.topic);
        subs?.delete(cmd.c);
        if (subs?.size === 0) topics.delete(cmd.topic);
        await deliver(cmd.c, `OK UNSUB ${cmd.topic}`);
        break;
      }
      case "pub": {
        if (!clients.has(cmd.c)) break;
        let n = 0;
        const line = `MSG ${cmd.topic} ${cmd.msg}`;
        for (const s of [...(topics.get(cmd.topic) ?? [])]) if (await deliver(s, line)) n++;
        await deliver(cmd.c, `OK PUB ${cmd.topic} ${n}`);
        break;
      }
      case "err":
        await deliver(cmd.c, `ERR ${cmd.text}`);
        break;
      case "shutdown":
        stopping = true;
        for (const c of [...clients.keys()]) remove(c, "shutdown", true);
        break;
    }
  }
}

/** One line from a client → a command for the broker (null: ignore the line). */
function parse(c: Client, line: string): Command | null {
  if (line.trim() === "") return null;
  const m = /^(\S+)(?:\s+(\S+))?(?:\s(.*))?$/su.exec(line);
  const verb = m?.[1]?.toUpperCase();
  const topic = m?.[2];
  const rest = m?.[3];
  switch (verb) {
    case "SUB":
    case "UNSUB":
      if (topic === undefined || !TOPIC.test(topic) || (rest ?? "").trim() !== "") return { op: "err", c, text: `usage: ${verb} <topic>` };
      return { op: verb === "SUB" ? "sub" : "unsub", c, topic };
    case "PUB":
      if (topic === undefined || !TOPIC.test(topic)) return { op: "err", c, text: "usage: PUB <topic> <message>" };
      return { op: "pub", c, topic, msg: rest ?? "" };
    default:
      return { op: "err", c, text: `unknown command ${JSON.stringify(verb ?? line)} (SUB, UNSUB, PUB)` };
  }
}

// The reader task: lines in, commands out, through a BufferedReader (one
// buffer per connection; readLine strips the LF or CR LF). Ends at EOF, on an
// error, or when the writer closed the connection (the client was dropped).
async function reader(c: Client, conn: Conn): Promise<void> {
  const r = new BufferedReader(conn, { size: 4096, maxSize: MAX_LINE + 2 });
  try {
    for (let line = await r.readLine(); line !== null; line = await r.readLine()) {
      const cmd = parse(c, line);
      if (cmd !== null) await cmds.send(cmd);
    }
  } catch (err) {
    if (err instanceof TooLongError) {
      await cmds.send({ op: "err", c, text: `line too long (max ${MAX_LINE})` });
    } else if (err instanceof UnexpectedEofError) {
      const last = parse(c, new TextDecoder().decode(err.partial)); // an unterminated last line
      if (last !== null) await cmds.send(last);
    } else if (!(err instanceof NetError)) {
      throw err; // closed by the writer, reset, …: just leave
    }
  }
}

// The writer task: drains the outgoing channel onto the socket through a
// BufferedWriter, so what is queued goes out in one write. Ends when the
// broker closes the channel (then the queue is flushed first) or aborts
// `kill`; always closes the connection.
async function writer(c: Client, conn: Conn): Promise<void> {
  const signal = AbortSignal.any([c.kill.signal, halt.signal]);
  const w = new BufferedWriter({ write: (buf) => conn.write(buf, { signal }) }, { size: 16 * 1024 });
  try {
    for await (const first of c.out) {
      await w.writeString(first);
      for (let r = c.out.tryRecv(); r !== null && r.ok; r = c.out.tryRecv()) await w.writeString(r.value ?? "");
      await w.flush();
    }
  } catch (err) {
    if (!(err instanceof NetError) && !signal.aborted) throw err;
  } finally {
    if (!conn.closed) await conn.close().catch(() => {});
  }
}

let nextId = 0;
async function serve(conn: Conn): Promise<void> {
  const c: Client = { id: ++nextId, peer: formatAddr(conn.remoteAddr), out: new Chan<string>(OUT_CAP), kill: new AbortController() };
  await cmds.send({ op: "join", c });
  const writing = go(writer, c, conn);
  await reader(c, conn);
  if (!conn.closed) conn.setWriteDeadline(Date.now() + FLUSH_ON_LEAVE_MS);
  await cmds.send({ op: "leave", c });
  await writing;
}

const ln = listen({ hostname, port });
console.log(`bun-netpoll pubsub listening on ${formatAddr(ln.addr)}`);

const brokerDone = go(broker);
const connections = new WaitGroup();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: closing the listener and ${connections.count} connection(s)`);
  await ln.close(); // ends the accept loop
  halt.abort(new Error("shutdown"));
  await cmds.send({ op: "shutdown" }); // the broker drops every client…
  await connections.wait(); // …whose tasks then end
  cmds.close(); // and the broker with them
  await brokerDone;
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

// The iterator ends when the listener is closed.
for await (const conn of ln) {
  connections.add(1);
  go(async () => {
    try {
      await serve(conn);
    } finally {
      connections.done();
    }
  });
}
