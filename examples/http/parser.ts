// An HTTP/1.1 request parser (RFC 9112) over a byte buffer: pure, incremental,
// allocation-light, so it can be unit-tested at every split point and fuzzed.
//
//   parseRequest(buf, start, end, limits)   the request line and header block
//       → { kind: "incomplete" }            need more bytes (call again from `start`)
//       | { kind: "error", status, reason } 400 / 413 / 431: answer and close
//       | { kind: "request", … }            the head; the body starts at bodyStart
//
//   decodeChunked(buf, bodyStart, end, state, limits)   a chunked body, resumable:
//       → "incomplete" | "done" | 400 | 413 | 431
//       The data is decoded in place (moved down over the framing), so after
//       "done" the body is buf[bodyStart, bodyStart + state.write) and the next
//       request starts at bodyStart + state.read. State offsets are relative to
//       bodyStart, so the caller may move the whole request in its buffer
//       between calls (see compactChunked).
//
// Nothing here decodes the whole buffer into a string: lines are found with
// indexOf(LF) and fields are checked byte by byte; only the method (interned
// for the usual ones) and the request-target become strings. Header fields are
// reported as offsets; use headerName / headerValue / findHeader to read them.

export interface Limits {
  /** Request line + header fields + the blank line, in bytes (over it: 431). */
  readonly maxHeaderBytes: number;
  /** Decoded body bytes, by Content-Length or chunked (over it: 413). */
  readonly maxBodyBytes: number;
  /** Header field lines (over it: 431). */
  readonly maxHeaders: number;
}

export const DEFAULT_LIMITS: Limits = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024 * 1024, maxHeaders: 100 };

export interface Incomplete {
  readonly kind: "incomplete";
}

export type ErrorStatus = 400 | 413 | 431;

export interface ParseError {
  readonly kind: "error";
  readonly status: ErrorStatus;
  /** Why, for logs and tests (never sent to the client). */
  readonly reason: string;
}

export interface Request {
  readonly kind: "request";
  /** "GET", "POST", … (the common ones are interned: no allocation). */
  readonly method: string;
  /** The request-target as sent, query included ("/echo?x=1"). */
  readonly path: string;
  /** The minor version: 1 for HTTP/1.1 (and 1.x), 0 for HTTP/1.0. */
  readonly version: 0 | 1;
  /** Where the request line starts (leading empty lines are skipped). */
  readonly start: number;
  /** First byte after the blank line that ends the header block. */
  readonly bodyStart: number;
  /**
   * Header fields as offsets into buf, four per field: nameStart, nameEnd,
   * valueStart, valueEnd (the value without surrounding whitespace).
   */
  readonly headers: number[];
  /** Content-Length, or -1 when absent (0 when chunked is false and absent means no body). */
  readonly contentLength: number;
  /** Transfer-Encoding: chunked. */
  readonly chunked: boolean;
  /** Whether the connection may stay open after the response (version and Connection header). */
  readonly keepAlive: boolean;
  /** Expect: 100-continue. */
  readonly expectContinue: boolean;
}

export type ParseResult = Incomplete | ParseError | Request;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

const INCOMPLETE: Incomplete = Object.freeze({ kind: "incomplete" as const });

function fail(status: ErrorStatus, reason: string): ParseError {
  return { kind: "error", status, reason };
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

// field-vchar = VCHAR / obs-text; plus SP and HTAB inside a value.
const VALUE_CHAR = new Uint8Array(256);
VALUE_CHAR[HT] = 1;
for (let c = 0x20; c <= 0x7e; c++) VALUE_CHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) VALUE_CHAR[c] = 1;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c <= 9; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

const METHODS = ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"].map((m) => ({
  name: m,
  bytes: Uint8Array.from(m, (ch) => ch.charCodeAt(0)),
}));

/** The header names the parser acts on, lower-case. */
const H_CONTENT_LENGTH = ascii("content-length");
const H_TRANSFER_ENCODING = ascii("transfer-encoding");
const H_CONNECTION = ascii("connection");
const H_HOST = ascii("host");
const H_EXPECT = ascii("expect");
const V_CHUNKED = ascii("chunked");
const V_CLOSE = ascii("close");
const V_KEEP_ALIVE = ascii("keep-alive");
const V_100_CONTINUE = ascii("100-continue");

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}

/** Case-insensitive compare of buf[a, b) with a lower-case ASCII word. */
function eqLower(buf: Uint8Array, a: number, b: number, word: Uint8Array): boolean {
  if (b - a !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    let c = buf[a + i]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== word[i]) return false;
  }
  return true;
}

/** buf[a, b) as a string; the bytes are known to be printable ASCII. */
function text(buf: Uint8Array, a: number, b: number): string {
  if (b - a === 1 && buf[a] === 0x2f) return "/";
  let s = "";
  for (let i = a; i < b; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

function methodName(buf: Uint8Array, a: number, b: number): string {
  for (const m of METHODS) {
    const w = m.bytes;
    if (w.length !== b - a) continue;
    let i = 0;
    while (i < w.length && buf[a + i] === w[i]) i++;
    if (i === w.length) return m.name;
  }
  return text(buf, a, b);
}

/**
 * End of line content: lf, or lf-1 when the line ends with CRLF. For the
 * request line and header fields only: RFC 9112 §2.2 lets a recipient take a
 * single LF as the line terminator there (a CR not followed by LF is still an
 * error). The chunked framing (size lines, the CRLF after data, trailers) gets
 * no such leniency (§7.1): decodeChunked requires CRLF.
 */
function contentEnd(buf: Uint8Array, lineStart: number, lf: number): number {
  return lf > lineStart && buf[lf - 1] === CR ? lf - 1 : lf;
}

/**
 * Parses the request head starting at `start`. Returns "incomplete" until the
 * blank line that ends the header block is in [start, end); a request line
 * that is already complete is checked at once, so garbage gets its 400
 * without waiting for more bytes.
 */
export function parseRequest(buf: Uint8Array, start: number, end: number, limits: Limits = DEFAULT_LIMITS): ParseResult {
  const maxHead = limits.maxHeaderBytes;
  // RFC 9112 §2.2: ignore empty lines before the request line.
  let p = start;
  while (p < end) {
    const c = buf[p]!;
    if (c === LF) p++;
    else if (c === CR) {
      if (p + 1 >= end) return INCOMPLETE;
      if (buf[p + 1] !== LF) return fail(400, "bare CR");
      p += 2;
    } else break;
    if (p - start > maxHead) return fail(431, "header block too large");
  }
  if (p >= end) return INCOMPLETE;

  // --- request line: method SP request-target SP HTTP-version
  // Only the first maxHead+1 bytes are ever looked at here, so the answer
  // does not depend on how the input was split: a control character or bare
  // CR in that window is 400; no line end inside it is 431 (once that many
  // bytes are in) or "incomplete" (before).
  const windowEnd = Math.min(end, start + maxHead + 1);
  const lineLf = buf.indexOf(LF, p);
  if (lineLf < 0 || lineLf >= windowEnd) {
    for (let i = p; i < windowEnd; i++) {
      const c = buf[i]!;
      if (c < 0x20 && c !== CR) return fail(400, "control character in request line");
      if (c === CR && i + 1 < windowEnd) return fail(400, "bare CR");
    }
    if (end - start > maxHead) return fail(431, "header block too large");
    return INCOMPLETE;
  }
  const lineEnd = contentEnd(buf, p, lineLf);
  let i = p;
  while (i < lineEnd && TCHAR[buf[i]!] === 1) i++;
  if (i === p || i >= lineEnd || buf[i] !== SP) return fail(400, "bad method");
  const method = methodName(buf, p, i);
  const targetStart = ++i;
  while (i < lineEnd && buf[i]! > 0x20 && buf[i]! < 0x7f) i++;
  if (i === targetStart || i >= lineEnd || buf[i] !== SP) return fail(400, "bad request-target");
  const targetEnd = i++;
  // "HTTP/1.x" exactly, then the end of the line.
  if (
    lineEnd - i !== 8 ||
    buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
    buf[i + 4] !== 0x2f || buf[i + 5] !== 0x31 || buf[i + 6] !== 0x2e ||
    buf[i + 7]! < 0x30 || buf[i + 7]! > 0x39
  ) {
    return fail(400, "bad HTTP version");
  }
  const version: 0 | 1 = buf[i + 7] === 0x30 ? 0 : 1;

  // --- find the blank line that ends the header block
  let blankLf = -1; // the LF of the empty line
  if (lineLf + 1 < end && buf[lineLf + 1] === LF) blankLf = lineLf + 1;
  else if (lineLf + 2 < end && buf[lineLf + 1] === CR && buf[lineLf + 2] === LF) blankLf = lineLf + 2;
  else {
    let lf = lineLf;
    for (;;) {
      lf = buf.indexOf(LF, lf + 1);
      if (lf < 0 || lf >= end) break;
      const n1 = lf + 1;
      if (n1 < end && buf[n1] === LF) {
        blankLf = n1;
        break;
      }
      if (n1 + 1 < end && buf[n1] === CR && buf[n1 + 1] === LF) {
        blankLf = n1 + 1;
        break;
      }
    }
  }
  if (blankLf < 0) {
    if (end - start > maxHead) return fail(431, "header block too large");
    return INCOMPLETE;
  }
  const bodyStart = blankLf + 1;
  if (bodyStart - start > maxHead) return fail(431, "header block too large");

  // --- header fields
  const headers: number[] = [];
  let contentLength = -1;
  let clTooLarge = false;
  let chunked = false;
  let teSeen = false;
  let hosts = 0;
  let close = false;
  let keepAliveToken = false;
  let expectContinue = false;
  let ls = lineLf + 1;
  while (ls < bodyStart) {
    const lf = buf.indexOf(LF, ls);
    const le = contentEnd(buf, ls, lf);
    if (le === ls) break; // the blank line
    if (headers.length >= limits.maxHeaders * 4) return fail(431, "too many header fields");
    const first = buf[ls]!;
    if (first === SP || first === HT) return fail(400, "obsolete line folding");
    let j = ls;
    while (j < le && TCHAR[buf[j]!] === 1) j++;
    if (j === ls || j >= le || buf[j] !== COLON) return fail(400, "bad header field name");
    const nameEnd = j++;
    while (j < le && (buf[j] === SP || buf[j] === HT)) j++;
    const valueStart = j;
    let valueEnd = j;
    for (; j < le; j++) {
      const c = buf[j]!;
      if (VALUE_CHAR[c] !== 1) return fail(400, "bad character in header value");
      if (c !== SP && c !== HT) valueEnd = j + 1;
    }
    headers.push(ls, nameEnd, valueStart, valueEnd);

    const nameLen = nameEnd - ls;
    if (nameLen === 14 && eqLower(buf, ls, nameEnd, H_CONTENT_LENGTH)) {
      if (valueStart === valueEnd) return fail(400, "empty Content-Length");
      let n = 0;
      for (let k = valueStart; k < valueEnd; k++) {
        const d = buf[k]! - 0x30;
        if (d < 0 || d > 9) return fail(400, "invalid Content-Length");
        if (n <= limits.maxBodyBytes) n = n * 10 + d; // stops growing once too large
      }
      if (n > limits.maxBodyBytes) {
        if (contentLength >= 0 && !clTooLarge) return fail(400, "conflicting Content-Length");
        clTooLarge = true;
        contentLength = n;
      } else {
        if (clTooLarge || (contentLength >= 0 && contentLength !== n)) return fail(400, "conflicting Content-Length");
        contentLength = n;
      }
    } else if (nameLen === 17 && eqLower(buf, ls, nameEnd, H_TRANSFER_ENCODING)) {
      // Only "chunked" is supported; anything else (or a second coding) is refused.
      if (teSeen || !eqLower(buf, valueStart, valueEnd, V_CHUNKED)) return fail(400, "unsupported Transfer-Encoding");
      teSeen = true;
      chunked = true;
    } else if (nameLen === 10 && eqLower(buf, ls, nameEnd, H_CONNECTION)) {
      // A comma-separated list of options.
      let a = valueStart;
      while (a < valueEnd) {
        let b = a;
        while (b < valueEnd && buf[b] !== 0x2c) b++;
        let ta = a;
        let tb = b;
        while (ta < tb && (buf[ta] === SP || buf[ta] === HT)) ta++;
        while (tb > ta && (buf[tb - 1] === SP || buf[tb - 1] === HT)) tb--;
        if (eqLower(buf, ta, tb, V_CLOSE)) close = true;
        else if (eqLower(buf, ta, tb, V_KEEP_ALIVE)) keepAliveToken = true;
        a = b + 1;
      }
    } else if (nameLen === 4 && eqLower(buf, ls, nameEnd, H_HOST)) {
      hosts++;
    } else if (nameLen === 6 && eqLower(buf, ls, nameEnd, H_EXPECT)) {
      if (eqLower(buf, valueStart, valueEnd, V_100_CONTINUE)) expectContinue = true;
    }
    ls = lf + 1;
  }

  // --- framing rules (RFC 9112 §6.1, §6.3)
  if (teSeen && contentLength >= 0) return fail(400, "both Content-Length and Transfer-Encoding");
  if (teSeen && version === 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
  if (version === 1 && hosts !== 1) return fail(400, hosts === 0 ? "missing Host" : "several Host fields");
  if (hosts > 1) return fail(400, "several Host fields");
  if (clTooLarge) return fail(413, "Content-Length over the limit");

  return {
    kind: "request",
    method,
    path: text(buf, targetStart, targetEnd),
    version,
    start: p,
    bodyStart,
    headers,
    contentLength,
    chunked,
    keepAlive: version === 1 ? !close : keepAliveToken && !close,
    expectContinue: expectContinue && version === 1,
  };
}

/** The number of header fields in req. */
export function headerCount(req: Request): number {
  return req.headers.length >> 2;
}

/** The i-th header field name as sent. */
export function headerName(buf: Uint8Array, req: Request, i: number): string {
  return text(buf, req.headers[i * 4]!, req.headers[i * 4 + 1]!);
}

/** The i-th header field value (latin1), without surrounding whitespace. */
export function headerValue(buf: Uint8Array, req: Request, i: number): string {
  return latin1(buf, req.headers[i * 4 + 2]!, req.headers[i * 4 + 3]!);
}

/** The value of the first field named `name` (case-insensitive), or null. */
export function findHeader(buf: Uint8Array, req: Request, name: string): string | null {
  const want = ascii(name.toLowerCase());
  for (let i = 0; i < req.headers.length; i += 4) {
    if (eqLower(buf, req.headers[i]!, req.headers[i + 1]!, want)) return latin1(buf, req.headers[i + 2]!, req.headers[i + 3]!);
  }
  return null;
}

function latin1(buf: Uint8Array, a: number, b: number): string {
  let s = "";
  for (let i = a; i < b; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

// ---------------------------------------------------------------------------
// Chunked transfer coding (RFC 9112 §7.1)

const SIZE = 0; // expecting a chunk-size line
const DATA = 1; // inside chunk data
const DATA_END = 2; // expecting the CRLF after chunk data
const TRAILER = 3; // inside the trailer section
const DONE = 4;

/** The longest chunk-size line accepted (size, extensions, CRLF). */
const MAX_SIZE_LINE = 4096;

export interface ChunkedState {
  /** Offset from bodyStart of the next framing byte to look at. */
  read: number;
  /** Offset from bodyStart where the next decoded byte goes; the body length once done. */
  write: number;
  /** Bytes of the current chunk's data still to come. */
  left: number;
  /** Trailer section bytes seen so far. */
  trailerBytes: number;
  phase: number;
}

export function newChunkedState(): ChunkedState {
  return { read: 0, write: 0, left: 0, trailerBytes: 0, phase: SIZE };
}

export function resetChunked(s: ChunkedState): void {
  s.read = 0;
  s.write = 0;
  s.left = 0;
  s.trailerBytes = 0;
  s.phase = SIZE;
}

export type ChunkedResult = "incomplete" | "done" | ErrorStatus;

/**
 * Decodes as much of a chunked body as [bodyStart + state.read, end) holds,
 * moving chunk data down to bodyStart + state.write. Call again with the same
 * state when more bytes arrive. Trailer fields are skipped (their size counts
 * against maxHeaderBytes). Returns "done" after the trailer section's blank line.
 */
export function decodeChunked(
  buf: Uint8Array,
  bodyStart: number,
  end: number,
  s: ChunkedState,
  limits: Limits = DEFAULT_LIMITS,
): ChunkedResult {
  for (;;) {
    const r = bodyStart + s.read;
    switch (s.phase) {
      case SIZE: {
        const lf = buf.indexOf(LF, r);
        if (lf < 0 || lf >= end) {
          if (end - r > MAX_SIZE_LINE) return 400;
          for (let i = r; i < end; i++) if (HEX[buf[i]!]! < 0) return sizeLineTail(buf, r, i, end);
          return "incomplete";
        }
        if (lf - r > MAX_SIZE_LINE) return 400;
        // RFC 9112 §7.1: chunk-size CRLF. A bare LF is refused: a proxy that
        // ends lines only at CRLF would read the next line as an extension.
        if (lf === r || buf[lf - 1] !== CR) return 400;
        const le = lf - 1;
        let size = 0;
        let i = r;
        for (; i < le; i++) {
          const d = HEX[buf[i]!]!;
          if (d < 0) break;
          if (size <= limits.maxBodyBytes) size = size * 16 + d;
        }
        if (i === r) return 400; // no hex digits
        // chunk-ext: BWS ";" name [ "=" value ] … — skipped, but no control characters.
        if (i < le) {
          while (i < le && (buf[i] === SP || buf[i] === HT)) i++;
          if (i >= le || buf[i] !== 0x3b) return 400;
          for (; i < le; i++) if (VALUE_CHAR[buf[i]!] !== 1) return 400;
        }
        if (size > limits.maxBodyBytes - s.write) return 413;
        s.read = lf + 1 - bodyStart;
        if (size === 0) s.phase = TRAILER;
        else {
          s.left = size;
          s.phase = DATA;
        }
        break;
      }
      case DATA: {
        const n = Math.min(s.left, end - r);
        if (n <= 0) return "incomplete";
        if (s.read !== s.write) buf.copyWithin(bodyStart + s.write, r, r + n);
        s.read += n;
        s.write += n;
        s.left -= n;
        if (s.left > 0) return "incomplete";
        s.phase = DATA_END;
        break;
      }
      case DATA_END: {
        // The CRLF after chunk-data (RFC 9112 §7.1): exactly CR LF.
        if (r >= end) return "incomplete";
        if (buf[r] !== CR) return 400;
        if (r + 1 >= end) return "incomplete";
        if (buf[r + 1] !== LF) return 400;
        s.read += 2;
        s.phase = SIZE;
        break;
      }
      case TRAILER: {
        const lf = buf.indexOf(LF, r);
        if (lf < 0 || lf >= end) {
          if (s.trailerBytes + (end - r) > limits.maxHeaderBytes) return 431;
          return "incomplete";
        }
        // Trailer lines, the last (empty) one included, end in CRLF: inside a
        // chunked body a bare LF is a framing error, as in the size lines.
        if (lf === r || buf[lf - 1] !== CR) return 400;
        const le = lf - 1;
        s.read = lf + 1 - bodyStart;
        if (le === r) {
          s.phase = DONE;
          return "done";
        }
        s.trailerBytes += lf + 1 - r;
        if (s.trailerBytes > limits.maxHeaderBytes) return 431;
        // A trailer field: name ":" value, like a header field.
        let j = r;
        while (j < le && TCHAR[buf[j]!] === 1) j++;
        if (j === r || j >= le || buf[j] !== COLON) return 400;
        for (j++; j < le; j++) if (VALUE_CHAR[buf[j]!] !== 1) return 400;
        break;
      }
      default:
        return "done";
    }
  }
}

// An incomplete size line with a non-hex byte at i: fine if it is the start
// of extensions (or whitespace / CR before them); an error otherwise.
function sizeLineTail(buf: Uint8Array, r: number, i: number, end: number): ChunkedResult {
  if (i === r) return 400;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === CR) return i + 1 < end ? 400 : "incomplete";
    if (VALUE_CHAR[c] !== 1) return 400;
  }
  return "incomplete";
}

/**
 * Closes the gap between decoded data and undecoded bytes of a chunked body in
 * progress: moves [bodyStart + read, end) down to bodyStart + write. Returns
 * the new end. Lets a caller keep a 1 MiB body in a buffer of about that size.
 */
export function compactChunked(buf: Uint8Array, bodyStart: number, end: number, s: ChunkedState): number {
  const gap = s.read - s.write;
  if (gap <= 0) return end;
  buf.copyWithin(bodyStart + s.write, bodyStart + s.read, end);
  s.read = s.write;
  return end - gap;
}
