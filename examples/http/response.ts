// Response building for examples/http/server.ts: one growing output buffer per
// connection that a batch of responses is appended to (then written with one
// write), the pre-encoded constant parts, and a Date header cached per second.

/** How the response's Connection header reads. */
export const Persist = {
  /** HTTP/1.1 keep-alive: no Connection header. */
  Keep: 0,
  /** The connection closes after this response: `Connection: close`. */
  Close: 1,
  /** HTTP/1.0 keep-alive: `Connection: keep-alive`. */
  Keep10: 2,
} as const;
export type Persist = (typeof Persist)[keyof typeof Persist];

import type { BufferPool } from "./buffers.ts";

const enc = new TextEncoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);

export const STATUS: Record<number, Uint8Array> = {};
for (const [code, reason] of [
  [100, "Continue"],
  [200, "OK"],
  [400, "Bad Request"],
  [404, "Not Found"],
  [405, "Method Not Allowed"],
  [408, "Request Timeout"],
  [413, "Content Too Large"],
  [431, "Request Header Fields Too Large"],
  [500, "Internal Server Error"],
  [503, "Service Unavailable"],
] as const) {
  STATUS[code] = bytes(`HTTP/1.1 ${code} ${reason}\r\n`);
}

const CONNECTION: readonly Uint8Array[] = [new Uint8Array(0), bytes("Connection: close\r\n"), bytes("Connection: keep-alive\r\n")];

export const CONTINUE = bytes("HTTP/1.1 100 Continue\r\n\r\n");
const CRLF = bytes("\r\n");

/** A fixed text/plain body with its Content-Type and Content-Length lines, pre-encoded. */
export interface Canned {
  /** Header lines after Date/Connection, the blank line, and the body. */
  readonly full: Uint8Array;
  /** The same without the body (for HEAD). */
  readonly head: Uint8Array;
}

export function canned(body: string, extraHeaders = ""): Canned {
  const b = bytes(body);
  const head = bytes(`${extraHeaders}Content-Type: text/plain\r\nContent-Length: ${b.length}\r\n\r\n`);
  const full = new Uint8Array(head.length + b.length);
  full.set(head);
  full.set(b, head.length);
  return { full, head };
}

// --- Date: "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", re-encoded once a second.
let dateSecond = -1;
let dateLine: Uint8Array = new Uint8Array(0);

function dateHeader(now: number): Uint8Array {
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateLine = bytes(`Date: ${new Date(sec * 1000).toUTCString()}\r\n`);
  }
  return dateLine;
}

const KEEP_OUT = 64 * 1024;
const EMPTY = new Uint8Array(new ArrayBuffer(0));

/**
 * The bytes to write for one read batch, in a buffer borrowed from the
 * server's pool (FFI-safe: its own ArrayBuffer) on the first append and
 * given back by release(): an idle connection holds none.
 */
export class Output {
  buf: Uint8Array = EMPTY;
  len = 0;
  /** Epoch ms for the Date header of the responses in this batch. */
  now = 0;
  readonly #pool: BufferPool;

  /** `extra`: header lines (each ending in CRLF) added to every response head, after Date and Connection. */
  constructor(pool: BufferPool, readonly extra: Uint8Array = new Uint8Array(0)) {
    this.#pool = pool;
  }

  reset(now: number): void {
    this.len = 0;
    this.now = now;
  }

  #room(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    this.buf = this.buf.length === 0 ? this.#pool.take(need) : this.#pool.grow(this.buf, Math.max(need, this.buf.length * 2), this.len);
  }

  put(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Appends an ASCII string. */
  ascii(s: string): void {
    this.#room(s.length);
    const buf = this.buf;
    let at = this.len;
    for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
    this.len = at;
  }

  /** Appends a non-negative integer in decimal (or hex). */
  int(n: number, radix = 10): void {
    this.ascii(n.toString(radix));
  }

  /** Status line, Date and Connection headers, and the extra headers. */
  head(status: number, persist: Persist): void {
    this.put(STATUS[status]!);
    this.put(dateHeader(this.now));
    if (persist !== Persist.Keep) this.put(CONNECTION[persist]!);
    if (this.extra.length > 0) this.put(this.extra);
  }

  /** A complete response with a canned body. */
  canned(status: number, persist: Persist, c: Canned, withBody = true): void {
    this.head(status, persist);
    this.put(withBody ? c.full : c.head);
  }

  /** One chunk of a chunked body: size CRLF data CRLF. */
  chunk(data: Uint8Array): void {
    this.int(data.length, 16);
    this.put(CRLF);
    this.put(data);
    this.put(CRLF);
  }

  /** The bytes of the batch. Kept while the length repeats (typed-array views are not free). */
  view(): Uint8Array {
    let v = this.#view;
    if (v === null || v.length !== this.len || this.#viewOf !== this.buf) {
      v = this.buf.subarray(0, this.len);
      this.#view = v;
      this.#viewOf = this.buf;
    }
    return v;
  }

  #view: Uint8Array | null = null;
  #viewOf: Uint8Array | null = null;

  /** After a write: gives back a buffer that grew for a large response. */
  shrink(): void {
    if (this.buf.length > KEEP_OUT) this.release();
  }

  /** Gives the buffer back to the pool (the batch is written); the next append borrows one again. */
  release(): void {
    if (this.buf.length > 0) {
      this.#pool.give(this.buf);
      this.buf = EMPTY;
      this.#view = null;
      this.#viewOf = null;
    }
    this.len = 0;
  }
}

const BUSY = canned("Service Unavailable\n", "Retry-After: 1\r\n");

/**
 * A 503 with `Connection: close`, in a small buffer of its own (FFI-safe):
 * the answer to a connection over the server's cap, which borrows nothing
 * from the pool.
 */
export function busyResponse(now: number, extra: Uint8Array): Uint8Array {
  const parts = [STATUS[503]!, dateHeader(now), CONNECTION[Persist.Close]!, extra, BUSY.full];
  const out = new Uint8Array(new ArrayBuffer(parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
