// Property / fuzz tests for the HTTP example's parser (examples/http/parser.ts):
// grammar-generated valid request streams checked against a model, the same
// streams mutated (byte flips, insertions, deletions, truncations,
// duplications), random bytes, and header blocks around the size limits.
// Every stream is fed at random split points, and through a decoder that
// manages its buffer the way examples/http.ts does (grow, compact chunked
// bodies, move the request to the front and parse its head again).
//
// Properties:
//   - nothing throws (the parser has no exception of its own: any throw is a bug);
//   - every result is well-formed (offsets inside the buffer, statuses 400/413/431);
//   - the outcome of a stream does not depend on where it is split, nor on
//     how the caller moves bytes in its buffer;
//   - valid streams decode to the model, and every prefix of one decodes to
//     the model's complete requests plus a pending tail;
//   - memory is bounded: "incomplete" never asks the caller to hold more than
//     maxHeaderBytes of head (or 4 KiB of chunk-size line, or maxHeaderBytes
//     of trailers), and the heap does not grow across thousands of cases.
//
// Cases run in a Worker (this same file) under a watchdog, so a parser that
// loops forever fails with the case that hung instead of hanging `bun test`.
// Reproduce a failure with the seed it prints: FUZZ_SEED=<n> bun test test/fuzz/http-parser.test.ts
import { expect, test } from "bun:test";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { prng, type Rnd } from "../_support/random.ts";
import { type ChunkedResult, type ChunkedState, compactChunked, DEFAULT_LIMITS, type Limits, type ParseResult } from "../../examples/http/parser.ts";
import { type DecodeChecks, decodeStream, decoding, latin1, type Outcome, pieceEnds, takeRequests } from "../_support/http-stream.ts";

// ---------------------------------------------------------------- decoding

const bytesOf = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0) & 0xff);

const SIZE_LINE_MAX = 4096; // the parser's MAX_SIZE_LINE

/** Checks one parseRequest result; throws a description of what is wrong. */
function checkHead(r: ParseResult, buf: Uint8Array, start: number, end: number, limits: Limits): void {
  if (r.kind === "incomplete") {
    // Memory bound: the caller is never asked to buffer more than the limit.
    if (end - start > limits.maxHeaderBytes + 1) throw new Error(`incomplete with ${end - start} head bytes buffered (limit ${limits.maxHeaderBytes})`);
    return;
  }
  if (r.kind === "error") {
    if (r.status !== 400 && r.status !== 413 && r.status !== 431) throw new Error(`bad status ${r.status}`);
    if (typeof r.reason !== "string" || r.reason === "") throw new Error("error without a reason");
    return;
  }
  if (r.kind !== "request") throw new Error(`unknown kind ${(r as { kind: unknown }).kind}`);
  if (!(r.start >= start && r.start < r.bodyStart && r.bodyStart <= end)) throw new Error(`offsets start=${r.start} bodyStart=${r.bodyStart} outside [${start}, ${end}]`);
  if (r.bodyStart - start > limits.maxHeaderBytes) throw new Error(`head of ${r.bodyStart - start} bytes accepted (limit ${limits.maxHeaderBytes})`);
  if (r.headers.length % 4 !== 0 || r.headers.length / 4 > limits.maxHeaders) throw new Error(`bad header list length ${r.headers.length}`);
  for (let i = 0; i < r.headers.length; i += 4) {
    const [ns, ne, vs, ve] = r.headers.slice(i, i + 4) as [number, number, number, number];
    if (!(r.start < ns && ns < ne && ne < vs + 1 && vs <= ve && ve < r.bodyStart)) throw new Error(`header ${i / 4} offsets ${ns},${ne},${vs},${ve}`);
  }
  if (r.method.length === 0 || r.path.length === 0) throw new Error("empty method or path");
  if (r.version !== 0 && r.version !== 1) throw new Error(`version ${r.version}`);
  if (r.chunked && r.contentLength !== -1) throw new Error("chunked with a Content-Length");
  if (r.contentLength < -1 || r.contentLength > limits.maxBodyBytes) throw new Error(`contentLength ${r.contentLength}`);
}

/** Checks the chunked decoder's state after a call. */
function checkChunked(res: ChunkedResult, s: ChunkedState, bodyStart: number, end: number, limits: Limits): void {
  if (!(0 <= s.write && s.write <= s.read && bodyStart + s.read <= end)) throw new Error(`chunked state write=${s.write} read=${s.read} bodyStart=${bodyStart} end=${end}`);
  if (s.write > limits.maxBodyBytes) throw new Error(`decoded ${s.write} body bytes (limit ${limits.maxBodyBytes})`);
  if (res === "incomplete") {
    // What the caller must keep beyond the decoded data: one size line or the trailers.
    const undecoded = end - (bodyStart + s.read);
    if (s.phase === 0 && undecoded > SIZE_LINE_MAX + 2) throw new Error(`incomplete with a ${undecoded}-byte size line buffered`);
    if (s.phase === 3 && s.trailerBytes + undecoded > limits.maxHeaderBytes) throw new Error(`incomplete with ${s.trailerBytes + undecoded} trailer bytes buffered`);
  } else if (res !== "done" && res !== 400 && res !== 413 && res !== 431) throw new Error(`chunked result ${String(res)}`);
}

/** The checks above, run on every parser call of a decode. */
const checked: DecodeChecks = { head: checkHead, chunked: checkChunked };

/**
 * Decodes input with the buffer handling of examples/http.ts: a small buffer
 * that grows by doubling; when room runs low, a chunked body in progress is
 * compacted and the request is moved to the front (its head parsed again).
 * `pending` is reported in input bytes (compaction shrinks the buffer's copy).
 */
function decodeLikeServer(input: Uint8Array, cuts: readonly number[], limits: Limits, initial: number, room: number): Outcome[] {
  const d = decoding(new Uint8Array(initial));
  let fed = 0; // input bytes fed so far
  const bounds = pieceEnds(cuts, input.length);
  let bi = 0;
  let startFed = 0; // input offset of `d.start`
  for (;;) {
    // Answer every complete request in the buffer.
    const answered = d.out.length;
    if (!takeRequests(d, limits, checked)) return d.out;
    // Input offset of the next request: the bytes between it and the end of the buffer are uncompacted input.
    if (d.out.length > answered) startFed = fed - (d.end - d.start);
    if (bi >= bounds.length) break;
    if (d.start === d.end) {
      d.start = d.end = 0;
    } else if (d.buf.length - d.end < room) {
      if (d.req?.chunked) d.end = compactChunked(d.buf, d.req.bodyStart, d.end, d.st);
      if (d.buf.length - d.end < room && d.start > 0) {
        d.buf.copyWithin(0, d.start, d.end);
        d.end -= d.start;
        d.start = 0;
        d.req = null; // offsets moved: parse the head again (the chunked state is relative)
      }
    }
    // Read: as much of the next piece as fits; grow when full.
    if (d.end === d.buf.length) {
      const bigger = new Uint8Array(d.buf.length * 2);
      bigger.set(d.buf.subarray(0, d.end));
      d.buf = bigger;
    }
    const to = bounds[bi]!;
    const n = Math.min(to - fed, d.buf.length - d.end);
    d.buf.set(input.subarray(fed, fed + n), d.end);
    d.end += n;
    fed += n;
    if (fed === to) bi++;
  }
  if (d.start < d.end) d.out.push({ pending: input.length - startFed });
  return d.out;
}

// ---------------------------------------------------------------- generators

const TCHARS = bytesOf("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
const METHODS = ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];
const RESERVED = new Set(["content-length", "transfer-encoding", "connection", "host", "expect"]);

function token(rnd: Rnd, min: number, max: number): string {
  let s = "";
  const n = min + rnd(max - min + 1);
  for (let i = 0; i < n; i++) s += String.fromCharCode(rnd.pick(TCHARS));
  return s;
}

function randomCase(rnd: Rnd, s: string): string {
  return Array.from(s, (c) => (rnd.one(2) ? c.toUpperCase() : c.toLowerCase())).join("");
}

/** A field value: VCHAR / obs-text with inner SP / HT, no leading or trailing whitespace. */
function fieldValue(rnd: Rnd, max: number): string {
  const n = rnd(max + 1);
  let s = "";
  for (let i = 0; i < n; i++) {
    const k = rnd(10);
    const c = k === 0 ? 0x80 + rnd(128) : k === 1 && i > 0 && i < n - 1 ? rnd.pick([0x20, 0x09]) : 0x21 + rnd(94);
    s += String.fromCharCode(c);
  }
  return s;
}

function randomBody(rnd: Rnd, max: number): string {
  const n = rnd(max + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(rnd.one(8) ? rnd.pick([13, 10, 0, 0x30]) : rnd(256));
  return s;
}

interface Generated {
  text: string;
  model: Outcome;
}

/** One valid request (RFC 9112 as this parser reads it) and what it must decode to. */
function genRequest(rnd: Rnd): Generated {
  const eol = () => (rnd.one(5) ? "\n" : "\r\n");
  let text = "";
  for (let k = rnd.one(6) ? 1 + rnd(2) : 0; k > 0; k--) text += eol(); // leading empty lines
  const method = rnd.one(6) ? token(rnd, 1, 12) : rnd.pick(METHODS);
  let path = rnd.one(10) ? "*" : "/";
  for (let n = rnd(30); n > 0; n--) path += String.fromCharCode(0x21 + rnd(94));
  const version = rnd.one(4) ? 0 : 1;
  const minor = version === 0 ? "0" : rnd.one(10) ? String(1 + rnd(9)) : "1";
  text += `${method} ${path} HTTP/1.${minor}${eol()}`;

  const fields: string[] = [];
  const ows = () => rnd.pick(["", "", " ", "\t", "  "]);
  for (let n = rnd(6); n > 0; n--) {
    let name = token(rnd, 1, 16);
    while (RESERVED.has(name.toLowerCase())) name = token(rnd, 1, 16);
    fields.push(`${name}:${ows()}${fieldValue(rnd, 40)}${ows()}`);
  }
  if (version === 1 || rnd.one(2)) fields.push(`${randomCase(rnd, "host")}:${ows()}${rnd.one(4) ? "" : token(rnd, 1, 20)}${ows()}`);
  let close = false;
  let keepAliveToken = false;
  if (rnd.one(2)) {
    const tokens: string[] = [];
    for (let n = 1 + rnd(3); n > 0; n--) {
      const t = rnd.pick(["close", "keep-alive", "upgrade", "te", token(rnd, 1, 8)]);
      if (t.toLowerCase() === "close") close = true;
      if (t.toLowerCase() === "keep-alive") keepAliveToken = true;
      tokens.push(`${ows()}${randomCase(rnd, t)}${ows()}`);
    }
    fields.push(`${randomCase(rnd, "connection")}:${ows()}${tokens.join(",").trim()}${ows()}`);
  }
  if (rnd.one(8)) fields.push(`${randomCase(rnd, "expect")}: 100-continue`);
  let body = "";
  let framed = "";
  const mode = version === 1 ? rnd(3) : rnd(2); // none, Content-Length, chunked (1.1 only)
  if (mode === 1) {
    body = randomBody(rnd, 300);
    const cl = `${"0".repeat(rnd.one(5) ? rnd(3) : 0)}${body.length}`;
    fields.push(`${randomCase(rnd, "content-length")}:${ows()}${cl}${ows()}`);
    if (rnd.one(8)) fields.push(`Content-Length: ${body.length}`); // a repeated, equal value is allowed
    framed = body;
  } else if (mode === 2) {
    fields.push(`${randomCase(rnd, "transfer-encoding")}:${ows()}${randomCase(rnd, "chunked")}${ows()}`);
    for (let n = rnd(5); n > 0; n--) {
      const data = randomBody(rnd, 64);
      if (data.length === 0) continue;
      body += data;
      const hex = data.length.toString(16);
      const size = `${"0".repeat(rnd.one(4) ? rnd(3) : 0)}${rnd.one(2) ? hex.toUpperCase() : hex}`;
      const ext = rnd.one(4) ? `${rnd.pick(["", " ", "\t"])};${token(rnd, 1, 6)}${rnd.one(2) ? `=${token(rnd, 1, 6)}` : ""}` : "";
      // Chunked framing ends its lines in CRLF only (RFC 9112 §7.1; a bare LF there is a 400).
      framed += `${size}${ext}\r\n${data}\r\n`;
    }
    framed += `${"0".repeat(1 + rnd(3))}${rnd.one(5) ? ";last" : ""}\r\n`;
    for (let n = rnd.one(3) ? 1 + rnd(2) : 0; n > 0; n--) framed += `${token(rnd, 1, 10)}:${ows()}${fieldValue(rnd, 20)}\r\n`;
    framed += "\r\n";
  }
  // Shuffle the fields (Fisher-Yates).
  for (let i = fields.length - 1; i > 0; i--) {
    const j = rnd(i + 1);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  for (const f of fields) text += f + eol();
  text += eol() + framed;
  const keepAlive = version === 1 ? !close : keepAliveToken && !close;
  return { text, model: { method, path, version, keepAlive, body } };
}

/** 1-4 pipelined valid requests: the bytes, each request's end offset, and the model. */
function genStream(rnd: Rnd): { input: Uint8Array; ends: number[]; model: Outcome[] } {
  const parts: Generated[] = [];
  for (let n = 1 + rnd(4); n > 0; n--) parts.push(genRequest(rnd));
  const all: number[] = [];
  const ends: number[] = [];
  for (const p of parts) {
    all.push(...bytesOf(p.text));
    ends.push(all.length);
  }
  return { input: Uint8Array.from(all), ends, model: parts.map((p) => p.model) };
}

const INTERESTING: readonly string[] = [
  "\r\n", "\n", "\r", " ", "\t", ":", ";", ",", "0", "\x00", "\x7f", "\xff", "\x80",
  "\r\n\r\n", "Content-Length: ", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n",
  "Host: a\r\n", "Connection: close\r\n", "99999999999999999999", "-1", "ffffffff", "0\r\n\r\n",
  "HTTP/1.1", "HTTP/1.0", "GET ", " / ", "\r\n ", "x".repeat(300),
];

/** Applies 1-6 random mutations. */
function mutate(rnd: Rnd, input: Uint8Array): Uint8Array {
  const b = Array.from(input);
  for (let m = 1 + rnd(6); m > 0; m--) {
    const at = rnd(b.length + 1);
    switch (rnd(8)) {
      case 0: // bit flip
        if (b.length > 0) b[Math.min(at, b.length - 1)]! ^= 1 << rnd(8);
        break;
      case 1: // random byte
        if (b.length > 0) b[Math.min(at, b.length - 1)] = rnd(256);
        break;
      case 2: // interesting byte
        if (b.length > 0) b[Math.min(at, b.length - 1)] = rnd.pick(bytesOf("\r\n :;,0aF\t\x00\x7f\xff"));
        break;
      case 3: // insert a token
        b.splice(at, 0, ...bytesOf(rnd.pick(INTERESTING)));
        break;
      case 4: // delete a range
        b.splice(at, 1 + rnd(16));
        break;
      case 5: // duplicate a range
        b.splice(at, 0, ...b.slice(rnd(b.length + 1), rnd(b.length + 1)));
        break;
      case 6: // truncate
        b.length = rnd(b.length + 1);
        break;
      default: // swap two bytes
        if (b.length > 1) {
          const j = rnd(b.length);
          const k = Math.min(at, b.length - 1);
          [b[j], b[k]] = [b[k]!, b[j]!];
        }
    }
  }
  return Uint8Array.from(b);
}

function randomCuts(rnd: Rnd, len: number): number[] {
  const cuts: number[] = [];
  for (let n = 1 + rnd(4); n > 0; n--) cuts.push(rnd(len + 1));
  return cuts;
}

const SMALL: Limits = { maxHeaderBytes: 256, maxBodyBytes: 64, maxHeaders: 8 };

function show(input: Uint8Array): string {
  return JSON.stringify(latin1(input.subarray(0, 600))) + (input.length > 600 ? ` … (${input.length} bytes)` : "");
}

function same(a: Outcome[], b: Outcome[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The outcome must not depend on cuts or buffer handling. Returns the whole-input outcome. */
function splitInvariant(rnd: Rnd, input: Uint8Array, limits: Limits, cutSets: number): Outcome[] {
  const whole = decodeStream(input, [], limits, checked);
  for (let k = 0; k < cutSets; k++) {
    const cuts = randomCuts(rnd, input.length);
    const cut = decodeStream(input, cuts, limits, checked);
    if (!same(cut, whole)) throw new Error(`outcome depends on cuts ${JSON.stringify(cuts)} for ${show(input)}: whole ${JSON.stringify(whole)}, cut ${JSON.stringify(cut)}`);
  }
  const cuts = randomCuts(rnd, input.length);
  const initial = 16 << rnd(4);
  const room = 1 + rnd(initial);
  const srv = decodeLikeServer(input, cuts, limits, initial, room);
  if (!same(srv, whole)) {
    throw new Error(`outcome depends on buffer handling (initial ${initial}, room ${room}, cuts ${JSON.stringify(cuts)}) for ${show(input)}: ${JSON.stringify(whole)} vs ${JSON.stringify(srv)}`);
  }
  return whole;
}

// ---------------------------------------------------------------- the jobs

type Stats = Record<string, number>;
const count = (stats: Stats, k: string) => (stats[k] = (stats[k] ?? 0) + 1);
const kindOf = (o: Outcome[]): string => {
  const last = o[o.length - 1];
  if (last === undefined) return "empty";
  if ("error" in last) return `error ${last.error}`;
  if ("pending" in last) return "pending";
  return "requests";
};

const JOBS: Record<string, (rnd: Rnd, stats: Stats) => void> = {
  /** Valid streams decode to the model, at any split, and every prefix to the model's complete requests. */
  valid(rnd, stats) {
    const { input, ends, model } = genStream(rnd);
    const whole = splitInvariant(rnd, input, DEFAULT_LIMITS, 3);
    if (!same(whole, model)) throw new Error(`decoded ${JSON.stringify(whole)}, model ${JSON.stringify(model)} for ${show(input)}`);
    if (input.length <= 400 && rnd.one(4)) {
      const bytewise = decodeStream(input, Array.from({ length: input.length }, (_, i) => i), DEFAULT_LIMITS, checked);
      if (!same(bytewise, model)) throw new Error(`byte-at-a-time gives ${JSON.stringify(bytewise)} for ${show(input)}`);
      count(stats, "byte-at-a-time");
    }
    for (let k = 0; k < 4; k++) {
      const len = rnd(input.length + 1);
      const done = ends.filter((e) => e <= len).length;
      const want: Outcome[] = model.slice(0, done);
      const lastEnd = done === 0 ? 0 : ends[done - 1]!;
      if (len > lastEnd) want.push({ pending: len - lastEnd });
      const got = decodeStream(input.subarray(0, len), randomCuts(rnd, len), DEFAULT_LIMITS, checked);
      if (!same(got, want)) throw new Error(`prefix of ${len} bytes decodes to ${JSON.stringify(got)}, want ${JSON.stringify(want)}; input ${show(input)}`);
    }
    count(stats, `requests ${model.length}`);
  },

  /** Mutated valid streams: no throw, well-formed results, split-independent. */
  mutated(rnd, stats) {
    const input = mutate(rnd, genStream(rnd).input);
    const limits = rnd.one(3) ? SMALL : DEFAULT_LIMITS;
    count(stats, kindOf(splitInvariant(rnd, input, limits, 2)));
  },

  /** Random bytes, uniform or from an HTTP-ish alphabet. */
  random(rnd, stats) {
    const alphabet = bytesOf("GETPOSTHUD /1.0:\r\n\t;,abcdefABCDEF0123456789chunkedContent-LengthTransfer-Encoding\x00\x7f\xff");
    const n = rnd(2000);
    const input = new Uint8Array(n);
    const uniform = rnd.one(2);
    for (let i = 0; i < n; i++) input[i] = uniform ? rnd(256) : rnd.pick(alphabet);
    // Half the time behind a valid request line, so the header and body code is reached.
    const prefixed = rnd.one(2) ? Uint8Array.from([...bytesOf(rnd.pick(["GET / HTTP/1.1\r\n", "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"])), ...input]) : input;
    count(stats, kindOf(splitInvariant(rnd, prefixed, rnd.one(3) ? SMALL : DEFAULT_LIMITS, 2)));
  },

  /** Header blocks, chunk-size lines and trailers around the limits. */
  huge(rnd, stats) {
    const limits = rnd.one(2) ? SMALL : DEFAULT_LIMITS;
    const max = limits.maxHeaderBytes;
    const which = rnd(5);
    let text: string;
    let want: string;
    if (which === 0 || which === 1) {
      // One big field, or many small ones plus a filler, sized so the head
      // (blank line included) is exactly max - 1, max or max + 1 bytes.
      const target = max + rnd(3) - 1;
      const line = "GET / HTTP/1.1\r\nHost: a\r\n";
      const SMALL_FIELD = 9; // "Xnnn: v\r\n"
      const FILLER = 5; // "F: \r\n" before its padding
      const many = which === 1 ? Math.max(0, Math.min(limits.maxHeaders - 2, Math.floor((target - line.length - 2 - FILLER) / SMALL_FIELD))) : 0;
      let fields = "";
      for (let i = 0; i < many; i++) fields += `X${String(i).padStart(3, "0")}: v\r\n`;
      const fill = target - line.length - 2 - fields.length - FILLER;
      fields += `F: ${"f".repeat(fill)}\r\n`;
      text = `${line}${fields}\r\n`;
      if (text.length !== target) throw new Error(`generator: head of ${text.length} bytes, wanted ${target}`);
      want = target > max ? "error 431" : "requests";
    } else if (which === 2) {
      // maxHeaders fields exactly, or one more.
      const extra = rnd(2);
      let fields = "";
      for (let i = 0; i < limits.maxHeaders - 1 + extra; i++) fields += `A${i}: 1\r\n`;
      text = `GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`;
      want = text.length > max || extra === 1 ? "error 431" : "requests";
    } else if (which === 3) {
      // A head that never ends: 431 as soon as more than max bytes are in.
      text = `GET / HTTP/1.1\r\nHost: a\r\nX: ${"z".repeat(max + rnd(max))}`;
      want = "error 431";
    } else {
      // A huge chunk-size line or trailer section.
      const big = rnd.one(2);
      text = big
        ? `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;${"e".repeat(SIZE_LINE_MAX + rnd(100))}`
        : `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ${"t".repeat(max + rnd(100))}`;
      want = big ? "error 400" : "error 431";
    }
    const input = Uint8Array.from(bytesOf(text));
    const got = kindOf(splitInvariant(rnd, input, limits, 2));
    if (got !== want) throw new Error(`case ${which}: ${got}, want ${want} (limits ${JSON.stringify(limits)}, ${input.length} bytes)`);
    count(stats, `${which}: ${got}`);
  },

  /** Never returns: only for the watchdog's own control test. */
  spin() {
    for (;;);
  },
};

// ---------------------------------------------------------------- worker role

interface Job {
  name: string;
  seed: number;
  cases: number;
  progress: SharedArrayBuffer;
}
interface Failure {
  index: number;
  message: string;
}
interface Result {
  failures: Failure[];
  stats: Stats;
  maxCaseMs: number;
  heapGrowth: number;
}

if (!isMainThread && (workerData as { fuzz?: boolean } | null)?.fuzz) {
  parentPort!.on("message", (job: Job) => {
    const progress = new Int32Array(job.progress);
    const run = JOBS[job.name]!;
    const stats: Stats = {};
    const failures: Failure[] = [];
    let maxCaseMs = 0;
    Bun.gc(true);
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < job.cases && failures.length < 5; i++) {
      Atomics.store(progress, 0, i);
      const t0 = performance.now();
      try {
        run(prng(job.seed, i), stats);
      } catch (e) {
        failures.push({ index: i, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
      }
      maxCaseMs = Math.max(maxCaseMs, performance.now() - t0);
    }
    Bun.gc(true);
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    parentPort!.postMessage({ failures, stats, maxCaseMs, heapGrowth } satisfies Result);
  });
}

// ---------------------------------------------------------------- tests

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 10)) >>> 0;
const REPRO = `FUZZ_SEED=${SEED} bun test test/fuzz/http-parser.test.ts`;
/** FUZZ_SCALE=10 runs ten times the cases (for a deeper local run; CI keeps 1). */
const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);
/** A case that makes no progress for this long is a hang. */
const HANG_MS = 2000;

async function runJob(name: string, cases: number, hangMs = HANG_MS): Promise<Result> {
  const progress = new SharedArrayBuffer(4);
  const cell = new Int32Array(progress);
  Atomics.store(cell, 0, -1);
  const worker = new Worker(import.meta.url, { workerData: { fuzz: true } } as WorkerOptions);
  try {
    const done = new Promise<Result>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent) => resolve(e.data as Result);
      worker.onerror = (e: ErrorEvent) => reject(new Error(`fuzz worker failed: ${e.message}`));
    });
    worker.postMessage({ name, seed: SEED, cases, progress } satisfies Job);
    let last = -2;
    let lastMoved = performance.now();
    for (;;) {
      const r = await Promise.race([done, Bun.sleep(50).then(() => null)]);
      if (r !== null) return r;
      const now = Atomics.load(cell, 0);
      if (now !== last) {
        last = now;
        lastMoved = performance.now();
      } else if (performance.now() - lastMoved > hangMs) {
        throw new Error(`${name}: case ${now} made no progress for ${hangMs} ms (a hang); reproduce with ${REPRO}`);
      }
    }
  } finally {
    worker.terminate();
  }
}

async function fuzz(name: string, cases: number): Promise<void> {
  const r = await runJob(name, cases * SCALE);
  if (r.failures.length > 0) {
    const detail = r.failures.map((f) => `  case ${f.index}: ${f.message}`).join("\n");
    console.error(`http-parser fuzz "${name}" failed with seed ${SEED}; reproduce with ${REPRO}\n${detail}`);
  }
  expect(r.failures).toEqual([]);
  expect(r.maxCaseMs).toBeLessThan(HANG_MS / 2);
  // Thousands of cases leave no heap behind (results are dropped as they go).
  expect(r.heapGrowth).toBeLessThan(16 << 20);
  expect(Object.keys(r.stats).length).toBeGreaterThan(0);
}

if (isMainThread) {
  test(`valid pipelined streams decode to the model at any split, byte by byte, and prefix by prefix (seed ${SEED})`, async () => {
    await fuzz("valid", 2500);
  }, 10_000 * SCALE);

  test(`mutated streams (flips, inserts, deletes, truncations, duplications): no throw, well-formed, split-independent (seed ${SEED})`, async () => {
    await fuzz("mutated", 5000);
  }, 10_000 * SCALE);

  test(`random bytes, bare and behind a valid head: no throw, well-formed, split-independent (seed ${SEED})`, async () => {
    await fuzz("random", 2500);
  }, 10_000 * SCALE);

  test(`header blocks, field counts, chunk-size lines and trailers at and past the limits give 431/400 exactly at the boundary (seed ${SEED})`, async () => {
    await fuzz("huge", 600);
  }, 10_000 * SCALE);

  test("control: the watchdog reports a case that never returns instead of hanging the suite", async () => {
    const t0 = performance.now();
    const err = await runJob("spin", 1, 300).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message ?? "").toContain("spin: case 0 made no progress");
    expect(performance.now() - t0).toBeLessThan(1500);
  });
}
