// redis: a small Redis client (RESP2) on bun-netpoll's BufferedReader and
// BufferedWriter, and a check run against a real redis-server.
//
// Commands are encoded straight into the writer's buffer; a pipeline of
// thousands of commands leaves in a few large writes. Replies are parsed
// from the reader: header lines with readSlice (a view, no copy), bulk
// strings with readExactly (binary-safe: values may hold CR, LF, NUL).
//
// Try it:
//   redis-server --port 6379 --save ''                 # somewhere
//   bun examples/redis.ts                              # REDIS_HOST / REDIS_PORT, or REDIS_PATH for a unix socket
//
// It runs PING, 10,000 pipelined SETs and GETs of binary keys and values
// (every value read back and compared), one 100 KB value, INCR and an error
// reply, prints `redis ok: …` and exits 0; any mismatch exits 1.
import { BufferedReader, BufferedWriter, type Conn, connect, TooLongError } from "bun-netpoll";

/** A RESP2 reply: simple and bulk strings as bytes, integers, arrays, nil, or an error reply. */
export type Reply = Uint8Array | number | null | Reply[] | RedisError;

/** An error reply from the server (`-ERR …`). */
export class RedisError extends Error {
  override name = "RedisError";
}

/** A protocol violation from the server. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

export type Arg = string | Uint8Array | number;

const enc = new TextEncoder();
const dec = new TextDecoder();
const CRLF = "\r\n";
/** Longest reply header line accepted (type byte, number, CR LF). */
const MAX_HEADER = 64 * 1024;

/** One connection: commands are written in order and replies read in the same order. */
export class Redis {
  readonly #conn: Conn;
  readonly #r: BufferedReader;
  readonly #w: BufferedWriter;

  constructor(conn: Conn) {
    this.#conn = conn;
    this.#r = new BufferedReader(conn);
    this.#w = new BufferedWriter(conn);
  }

  /** Connects over TCP (`{ hostname, port }`) or a unix socket (`{ path }`). */
  static async connect(where: { hostname?: string; port: number } | { path: string }): Promise<Redis> {
    return new Redis(await connect(where));
  }

  /** Sends one command and reads its reply (an error reply is returned as a RedisError, not thrown). */
  async command(...args: Arg[]): Promise<Reply> {
    const [reply] = await this.pipeline([args]);
    return reply!;
  }

  /** Sends every command, flushes once, then reads one reply per command. */
  async pipeline(commands: readonly (readonly Arg[])[]): Promise<Reply[]> {
    for (const args of commands) await this.#encode(args);
    await this.#w.flush();
    const replies: Reply[] = [];
    for (let i = 0; i < commands.length; i++) replies.push(await this.#reply());
    return replies;
  }

  async close(): Promise<void> {
    await this.#conn.close();
  }

  async #encode(args: readonly Arg[]): Promise<void> {
    const w = this.#w;
    await w.writeString(`*${args.length}${CRLF}`);
    for (const a of args) {
      const bytes = typeof a === "string" ? enc.encode(a) : typeof a === "number" ? enc.encode(String(a)) : a;
      await w.writeString(`$${bytes.length}${CRLF}`);
      await w.write(bytes);
      await w.writeString(CRLF);
    }
  }

  async #reply(): Promise<Reply> {
    const line = await this.#r.readSlice("\r\n", { max: MAX_HEADER }).catch((e: unknown) => {
      if (e instanceof TooLongError) throw new ProtocolError(`reply header longer than ${MAX_HEADER} bytes`);
      throw e;
    });
    if (line === null) throw new ProtocolError("connection closed before the reply");
    const type = line[0];
    const text = dec.decode(line.subarray(1, line.length - 2));
    switch (type) {
      case 0x2b: // +
        return enc.encode(text);
      case 0x2d: // -
        return new RedisError(text);
      case 0x3a: // :
        return Number(text);
      case 0x24: {
        // $
        const n = Number(text);
        if (n === -1) return null;
        const body = await this.#r.readExactly(n + 2);
        if (body === null || body[n] !== 0x0d || body[n + 1] !== 0x0a) throw new ProtocolError("bulk string without CR LF");
        return body.subarray(0, n);
      }
      case 0x2a: {
        // *
        const n = Number(text);
        if (n === -1) return null;
        const items: Reply[] = [];
        for (let i = 0; i < n; i++) items.push(await this.#reply());
        return items;
      }
      default:
        throw new ProtocolError(`unknown reply type ${JSON.stringify(String.fromCharCode(type ?? 0))}`);
    }
  }
}

// ------------------------------------------------------------------ the check

function same(a: Reply, b: Uint8Array): boolean {
  return a instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Deterministic binary bytes (CR, LF and NUL included). */
function bytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 7 === 0 ? [0x0d, 0x0a, 0x00][i % 3]! : x >>> 24;
  }
  return out;
}

async function main(): Promise<number> {
  const path = process.env.REDIS_PATH;
  const where = path ? { path } : { hostname: process.env.REDIS_HOST ?? "127.0.0.1", port: Number(process.env.REDIS_PORT ?? 6379) };
  const db = await Redis.connect(where);
  const fail = (what: string): number => {
    console.error(`redis check failed: ${what}`);
    return 1;
  };
  try {
    const pong = await db.command("PING");
    if (!(pong instanceof Uint8Array) || dec.decode(pong) !== "PONG") return fail(`PING answered ${String(pong)}`);

    const N = 10_000;
    const prefix = `bnp:${process.pid}:`;
    const keys = Array.from({ length: N }, (_, i) => {
      const k = bytes(i, 8 + (i % 24));
      const p = enc.encode(prefix);
      const key = new Uint8Array(p.length + k.length);
      key.set(p);
      key.set(k, p.length);
      return key;
    });
    const values = Array.from({ length: N }, (_, i) => bytes(i + N, i % 300));
    const sets = await db.pipeline(keys.map((k, i) => ["SET", k, values[i]!]));
    if (!sets.every((r) => r instanceof Uint8Array && dec.decode(r) === "OK")) return fail("a SET did not answer OK");
    const gets = await db.pipeline(keys.map((k) => ["GET", k]));
    const wrong = gets.findIndex((r, i) => !same(r, values[i]!));
    if (wrong >= 0) return fail(`GET of key ${wrong} returned other bytes`);

    const big = bytes(7, 100_000);
    await db.command("SET", `${prefix}big`, big);
    if (!same(await db.command("GET", `${prefix}big`), big)) return fail("the 100 KB value came back different");

    await db.command("DEL", `${prefix}n`);
    const incr = await db.pipeline([["INCR", `${prefix}n`], ["INCRBY", `${prefix}n`, 41]]);
    if (incr[0] !== 1 || incr[1] !== 42) return fail(`INCR answered ${String(incr)}`);
    const err = await db.command("NOSUCHCOMMAND");
    if (!(err instanceof RedisError) || !err.message.startsWith("ERR")) return fail("an unknown command did not get an error reply");
    if ((await db.command("GET", `${prefix}missing`)) !== null) return fail("a missing key was not nil");

    const deleted = await db.pipeline([[`DEL`, ...keys.slice(0, 5000)], ["DEL", ...keys.slice(5000), `${prefix}big`, `${prefix}n`]]);
    const total = (deleted[0] as number) + (deleted[1] as number);
    if (total !== N + 2) return fail(`DEL removed ${total} keys, expected ${N + 2}`);

    console.log(`redis ok: ${N} binary keys set and read back, a 100 KB value, INCR, an error reply, nil`);
    return 0;
  } finally {
    await db.close();
  }
}

if (import.meta.main) process.exit(await main());
