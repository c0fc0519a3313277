// A byte stream decoded into HTTP requests by the example server's parser
// (examples/http/parser.ts), called the way a server loop calls it: every
// complete request taken from the buffer, the rest kept, the chunked decoder
// resumed when more bytes arrive. No bun:test import.
import {
  type ChunkedResult,
  type ChunkedState,
  decodeChunked,
  DEFAULT_LIMITS,
  type Limits,
  newChunkedState,
  parseRequest,
  type ParseResult,
  type Request,
  resetChunked,
} from "../../examples/http/parser.ts";

/** What a stream decodes to, request by request (bodies as latin1). */
export type Outcome =
  | { method: string; path: string; version: number; keepAlive: boolean; body: string }
  | { error: number }
  | { pending: number };

/** Bytes [from, to) of b as a latin1 string: one character per byte. */
export function latin1(b: Uint8Array, from = 0, to = b.length): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Checks run on every parser result; each throws a description of what is wrong. */
export interface DecodeChecks {
  head(r: ParseResult, buf: Uint8Array, start: number, end: number, limits: Limits): void;
  chunked(res: ChunkedResult, st: ChunkedState, bodyStart: number, end: number, limits: Limits): void;
}

/** A buffer being decoded: bytes [start, end) are not taken yet. */
export interface Decoding {
  buf: Uint8Array;
  start: number;
  end: number;
  /** The request at start whose head is parsed (its body is not complete yet), or null. */
  req: Request | null;
  /** The chunked decoder's state for req's body. */
  readonly st: ChunkedState;
  /** What the stream decoded to so far. */
  readonly out: Outcome[];
}

/** A Decoding of buf, nothing in it yet. */
export function decoding(buf: Uint8Array): Decoding {
  return { buf, start: 0, end: 0, req: null, st: newChunkedState(), out: [] };
}

/**
 * Takes every complete request in d.buf[d.start, d.end) onto d.out. Returns
 * false when the stream ends in an error (pushed onto d.out too), true when
 * what is left, if anything, is incomplete.
 */
export function takeRequests(d: Decoding, limits: Limits, checks?: DecodeChecks): boolean {
  while (d.start < d.end) {
    if (d.req === null) {
      const h = parseRequest(d.buf, d.start, d.end, limits);
      checks?.head(h, d.buf, d.start, d.end, limits);
      if (h.kind === "incomplete") return true;
      if (h.kind === "error") {
        d.out.push({ error: h.status });
        return false;
      }
      d.req = h;
    }
    const req = d.req;
    let bodyEnd: number;
    let next: number;
    if (req.chunked) {
      const r = decodeChunked(d.buf, req.bodyStart, d.end, d.st, limits);
      checks?.chunked(r, d.st, req.bodyStart, d.end, limits);
      if (r === "incomplete") return true;
      if (r !== "done") {
        d.out.push({ error: r });
        return false;
      }
      bodyEnd = req.bodyStart + d.st.write;
      next = req.bodyStart + d.st.read;
    } else {
      bodyEnd = req.bodyStart + Math.max(0, req.contentLength);
      if (bodyEnd > d.end) return true;
      next = bodyEnd;
    }
    d.out.push({ method: req.method, path: req.path, version: req.version, keepAlive: req.keepAlive, body: latin1(d.buf, req.bodyStart, bodyEnd) });
    d.start = next;
    d.req = null;
    resetChunked(d.st);
  }
  return true;
}

/** Where each piece of a length-byte stream cut at cuts ends, in order (cuts outside (0, length) ignored). */
export function pieceEnds(cuts: readonly number[], length: number): number[] {
  return [...cuts.filter((c) => c > 0 && c < length).sort((x, y) => x - y), length];
}

/**
 * Feeds input cut at cuts to the parser the simple way: one buffer the size
 * of the input, every complete request taken after each piece. A tail that
 * is not a complete request ends the outcome as { pending: its length }.
 */
export function decodeStream(input: Uint8Array, cuts: readonly number[], limits: Limits = DEFAULT_LIMITS, checks?: DecodeChecks): Outcome[] {
  const d = decoding(new Uint8Array(input.length + 1));
  for (const to of pieceEnds(cuts, input.length)) {
    d.buf.set(input.subarray(d.end, to), d.end);
    d.end = to;
    if (!takeRequests(d, limits, checks)) return d.out;
  }
  if (d.start < d.end) d.out.push({ pending: d.end - d.start });
  return d.out;
}
