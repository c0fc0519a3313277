// postgres: libpq's asynchronous API through bun:ffi, on pollFd level mode.
//
// libpq owns its socket and does its own reads and writes; the program only
// waits for the readiness libpq asks for, with the loop libpq's
// documentation gives:
//
//   connect:  PQconnectStart, then until PGRES_POLLING_OK: wait for what the
//             last PQconnectPoll returned (READING / WRITING; WRITING at
//             first), call PQconnectPoll again. PQsocket may change between
//             calls (a new socket per host / address tried).
//   query:    PQsendQueryParams; PQflush until 0 (when it says 1, wait for
//             readable or writable: consume input if readable, flush again);
//             then until PQgetResult returns null: while PQisBusy, wait
//             readable and PQconsumeInput.
//
// Why the level mode: libpq does not read until EAGAIN. PQconsumeInput does
// one recv of about 16 KB, so the rest of a larger result waits in the
// kernel without ever raising another edge; PQconnectPoll may ask for
// writability twice in a row without having written. An edge-triggered wait
// parks forever in both cases; a level wait resolves while the socket is
// still readable (writable). And when libpq closes a socket during connect
// and opens the next one, the new one usually gets the same number: the
// PollFd's waits notice the new file behind the number and register it.
//
// Try it (a running server; the conninfo is libpq's, e.g. from PGHOST etc.):
//   bun examples/ffi/postgres.ts "host=/var/run/postgresql dbname=postgres"
// prints the server version, 20 concurrent queries' timing and a 1,000-row
// result's size.
import { type PollFd, pollFd, type WaitOptions } from "bun-netpoll";
import {
  CONNECTION_BAD,
  cstr,
  cstrArray,
  type Handle,
  PGRES_COMMAND_OK,
  PGRES_EMPTY_QUERY,
  PGRES_POLLING_FAILED,
  PGRES_POLLING_OK,
  PGRES_POLLING_READING,
  PGRES_POLLING_WRITING,
  PGRES_TUPLES_OK,
  pq,
} from "./_libpq.ts";

/** A libpq failure: the connection's or the result's error message. */
export class PgError extends Error {
  override name = "PgError";
}

/** One result: its rows as text (null for SQL NULL), and how many there are. */
export interface PgResult {
  readonly rows: (string | null)[][];
}

export interface PgOptions {
  /** Epoch ms after which connecting fails (DeadlineExceededError). */
  readonly deadline?: number;
  /** pollFd mode; "edge" exists to show what goes wrong without the level mode. */
  readonly mode?: "level" | "edge";
}

/**
 * One libpq connection. Queries on it run one at a time (FIFO); open more
 * connections for concurrency.
 */
export class Pg {
  #conn: Handle | null;
  #poll: PollFd;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(conn: Handle, poll: PollFd) {
    this.#conn = conn;
    this.#poll = poll;
  }

  /**
   * Connects without blocking the thread (PQconnectStart / PQconnectPoll).
   * Rejects with PgError (libpq's message) or the wait's error
   * (DeadlineExceededError past opts.deadline).
   */
  static async connect(conninfo: string, opts: PgOptions = {}): Promise<Pg> {
    const mode = opts.mode ?? "level";
    const conn = pq.PQconnectStart(cstr(conninfo));
    if (conn === null) throw new PgError("PQconnectStart: out of memory");
    let poll: PollFd | null = null;
    try {
      if (pq.PQstatus(conn) === CONNECTION_BAD) throw new PgError(String(pq.PQerrorMessage(conn)).trim());
      const wait: WaitOptions = opts.deadline === undefined ? {} : { deadline: opts.deadline };
      for (let st = PGRES_POLLING_WRITING; st !== PGRES_POLLING_OK; ) {
        poll = follow(poll, pq.PQsocket(conn), mode);
        if (st === PGRES_POLLING_READING) await poll.waitReadable(wait);
        else await poll.waitWritable(wait);
        st = pq.PQconnectPoll(conn);
        if (st === PGRES_POLLING_FAILED) throw new PgError(String(pq.PQerrorMessage(conn)).trim());
      }
      if (pq.PQsetnonblocking(conn, 1) !== 0) throw new PgError(String(pq.PQerrorMessage(conn)).trim());
      // The socket may have changed on the last PQconnectPoll.
      poll = follow(poll, pq.PQsocket(conn), mode);
      const pg = new Pg(conn, poll);
      poll = null;
      return pg;
    } catch (err) {
      // The PollFd first, then the socket (PQfinish closes it).
      if (poll !== null && !poll.closed) poll.close();
      pq.PQfinish(conn);
      throw err;
    }
  }

  /**
   * Runs one statement with text parameters ($1, $2, …) and resolves its
   * last result's rows as text. Rejects with PgError for an SQL error (the
   * connection stays usable) or a broken connection, or with the wait's
   * error (opts.deadline, opts.signal).
   */
  query(sql: string, params: readonly string[] = [], opts: WaitOptions = {}): Promise<PgResult> {
    const run = this.#tail.then(() => this.#query(sql, params, opts));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #query(sql: string, params: readonly string[], opts: WaitOptions): Promise<PgResult> {
    const conn = this.#live();
    const p = this.#poll;
    const values = cstrArray(params);
    const sent = pq.PQsendQueryParams(conn, cstr(sql), params.length, null, values.array, null, null, 0);
    values.keep.length = 0; // libpq copied them into its output buffer
    if (sent !== 1) throw new PgError(String(pq.PQerrorMessage(conn)).trim());
    // Flush: PQflush says 1 while output is left; the server may be waiting
    // for us to read first, so wait for either direction.
    for (let f = pq.PQflush(conn); f !== 0; f = pq.PQflush(conn)) {
      if (f < 0) throw new PgError(String(pq.PQerrorMessage(conn)).trim());
      if ((await this.#readableOrWritable(opts)) === "r" && pq.PQconsumeInput(conn) !== 1) {
        throw new PgError(String(pq.PQerrorMessage(conn)).trim());
      }
    }
    let last: PgResult = { rows: [] };
    let failure: PgError | null = null;
    for (;;) {
      while (pq.PQisBusy(conn) === 1) {
        await p.waitReadable(opts);
        if (pq.PQconsumeInput(conn) !== 1) throw new PgError(String(pq.PQerrorMessage(conn)).trim());
      }
      const res = pq.PQgetResult(conn);
      if (res === null) break;
      try {
        const status = pq.PQresultStatus(res);
        if (status === PGRES_TUPLES_OK) last = { rows: rowsOf(res) };
        else if (status === PGRES_COMMAND_OK || status === PGRES_EMPTY_QUERY) last = { rows: [] };
        else failure ??= new PgError(String(pq.PQresultErrorMessage(res)).trim());
      } finally {
        pq.PQclear(res);
      }
    }
    if (failure !== null) throw failure;
    return last;
  }

  /** Waits until the socket is readable or writable, whichever comes first. */
  async #readableOrWritable(opts: WaitOptions): Promise<"r" | "w"> {
    const ac = new AbortController();
    const signal = opts.signal === undefined ? ac.signal : AbortSignal.any([ac.signal, opts.signal]);
    const both = { ...opts, signal };
    const r = this.#poll.waitReadable(both).then(() => "r" as const);
    const w = this.#poll.waitWritable(both).then(() => "w" as const);
    try {
      return await Promise.race([r, w]);
    } finally {
      ac.abort();
      await Promise.allSettled([r, w]);
    }
  }

  #live(): Handle {
    if (this.#conn === null) throw new PgError("query on a closed connection");
    return this.#conn;
  }

  /** Closes the connection: the PollFd first, then PQfinish (which closes the socket). Idempotent. */
  close(): void {
    if (this.#conn === null) return;
    this.#poll.close();
    pq.PQfinish(this.#conn);
    this.#conn = null;
  }
}

/**
 * The PollFd for libpq's socket now: a new one when the number changed.
 * The same number over a new socket (libpq closed one and opened the next)
 * needs nothing here: the PollFd's next wait follows the file behind it.
 */
function follow(poll: PollFd | null, fd: number, mode: "level" | "edge"): PollFd {
  if (poll !== null && poll.fd === fd) return poll;
  poll?.close();
  return pollFd(fd, { mode });
}

function rowsOf(res: Handle): (string | null)[][] {
  const n = pq.PQntuples(res);
  const m = pq.PQnfields(res);
  const rows: (string | null)[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row: (string | null)[] = new Array(m);
    for (let j = 0; j < m; j++) row[j] = pq.PQgetisnull(res, i, j) === 1 ? null : String(pq.PQgetvalue(res, i, j));
    rows[i] = row;
  }
  return rows;
}

async function main(): Promise<number> {
  const conninfo = process.argv[2] ?? "";
  const deadline = Date.now() + 10_000;
  const conns = await Promise.all(Array.from({ length: 20 }, () => Pg.connect(conninfo, { deadline })));
  try {
    const version = await conns[0]!.query("select version()");
    console.log(version.rows[0]![0]);
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (c, i) => {
        for (let k = 0; k < 10; k++) {
          const tag = `q${i}-${k}`;
          const r = await c.query("select pg_sleep(0.01), $1", [tag]);
          if (r.rows[0]![1] !== tag) throw new Error(`query ${tag}: got ${JSON.stringify(r.rows)}`);
        }
      }),
    );
    console.log(`200 queries of 10 ms on 20 connections: ${Math.round(performance.now() - t0)} ms`);
    const big = await conns[0]!.query("select i, repeat('x', 100) from generate_series(1, 1000) i");
    console.log(`1000 rows, ${big.rows.reduce((n, r) => n + r[0]!.length + r[1]!.length, 0)} bytes of values`);
    return 0;
  } finally {
    for (const c of conns) c.close();
  }
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(String(err instanceof Error ? err.message : err));
      process.exit(1);
    },
  );
}
