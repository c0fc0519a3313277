// Buffered I/O over any stream (Go's bufio): BufferedReader for framing
// (exact lengths, delimiters, lines, peeking) and BufferedWriter for
// coalescing small writes.
//
// The reader owns one buffer, grown on demand up to a maximum. Buffered bytes
// live in buf[r, w). A fill reads once into the free tail buf[w, cap); when
// that tail is small it first moves the buffered bytes to the front, so the
// source is never handed a tiny slice (each read(2) costs a syscall, and a
// small one many). Reads of at least a buffer's worth bypass the buffer and
// go straight into the caller's memory.
//
// Errors from the source (DeadlineExceededError, ClosedError, NetError, an
// abort reason) pass through unchanged, and the bytes already buffered stay
// buffered, so a read that timed out can be retried. An unknown key in any
// options object is a TypeError (thrown by the constructors, a rejection of
// the methods).
import { checkOptions, optionKeys, type SignalOptions } from "./options.ts";

/** What a BufferedReader reads from: a Conn, a TlsConn, or anything with the same read(). */
export interface ByteReader {
  /** Reads into buf: bytes read (> 0 for a non-empty buf), or null at EOF. */
  read(buf: Uint8Array, opts?: SignalOptions): Promise<number | null>;
}

/** What a BufferedWriter writes to. `writev`, when present, is used to write buffered and large data in one call. */
export interface ByteWriter {
  /** Writes all of buf (or rejects). */
  write(buf: Uint8Array, opts?: SignalOptions): Promise<number>;
  writev?(bufs: readonly Uint8Array[], opts?: SignalOptions): Promise<number>;
}

/** Options of the reading operations that can wait: on abort they reject with `signal.reason` and buffered bytes stay buffered. */
export type BufioReadOptions = SignalOptions;

/** Options of readUntil, readSlice and readLine. */
export interface ReadUntilOptions extends BufioReadOptions {
  /** Most bytes (delimiter included) to look through before failing with TooLongError. Default: the reader's maxSize. */
  readonly max?: number;
}

export interface BufferedReaderOptions {
  /** Initial buffer size in bytes (default 64 KiB). */
  readonly size?: number;
  /** The buffer never grows past this (default 16 MiB): it bounds peek() and readUntil(). */
  readonly maxSize?: number;
}

export interface BufferedWriterOptions {
  /** Buffer size in bytes (default 64 KiB): a write that would overflow it flushes first. */
  readonly size?: number;
}

// Unknown keys in any of these are a TypeError (see options.ts).
const READ_KEYS = optionKeys<BufioReadOptions>({ signal: true });
const UNTIL_KEYS = optionKeys<ReadUntilOptions>({ signal: true, max: true });
const READER_KEYS = optionKeys<BufferedReaderOptions>({ size: true, maxSize: true });
const WRITER_KEYS = optionKeys<BufferedWriterOptions>({ size: true });

/**
 * The stream ended in the middle of something: a frame of known length, a
 * peek, or before a delimiter. `bytesRead` says how many bytes of it arrived;
 * `partial` holds them (a copy).
 */
export class UnexpectedEofError extends Error {
  override name = "UnexpectedEofError";
  readonly code = "ERR_UNEXPECTED_EOF";
  /** Bytes of the unit that arrived before EOF. */
  readonly bytesRead: number;
  /** Bytes the unit needed (the length asked for), or null when looking for a delimiter. */
  readonly expected: number | null;
  /** The bytes that arrived (a copy, owned by the error). */
  readonly partial: Uint8Array;

  constructor(partial: Uint8Array, expected: number | null) {
    super(
      expected === null
        ? `unexpected EOF: ${partial.length} bytes read, no delimiter`
        : `unexpected EOF: ${partial.length} of ${expected} bytes read`,
    );
    this.bytesRead = partial.length;
    this.expected = expected;
    this.partial = partial;
  }
}

/**
 * No delimiter within `limit` bytes, or a peek larger than the reader's
 * maximum buffer size. The bytes stay buffered (discard them, or close).
 */
export class TooLongError extends Error {
  override name = "TooLongError";
  readonly code = "ERR_TOO_LONG";
  /** The limit that was reached. */
  readonly limit: number;

  constructor(what: string, limit: number) {
    super(`${what} longer than ${limit} bytes`);
    this.limit = limit;
  }
}

const DEFAULT_SIZE = 64 * 1024;
const DEFAULT_MAX = 16 * 1024 * 1024;
/** A fill never offers the source less than this (unless the buffer itself is smaller). */
const MIN_READ = 4096;
const LF = 0x0a;
const CR = 0x0d;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toDelim(delim: number | string | Uint8Array): Uint8Array {
  if (typeof delim === "number") {
    if (!Number.isInteger(delim) || delim < 0 || delim > 255) throw new RangeError(`delimiter byte out of range: ${delim}`);
    return Uint8Array.of(delim);
  }
  const d = typeof delim === "string" ? encoder.encode(delim) : delim;
  if (d.length === 0) throw new RangeError("empty delimiter");
  return d;
}

function checkLength(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer: ${n}`);
}

/**
 * A read buffer over a ByteReader (Go's bufio.Reader). One task reads at a
 * time: concurrent calls on one reader are not supported.
 *
 * Every method that can wait rejects with whatever the source's read()
 * rejects with — on a Conn that is DeadlineExceededError after its read
 * deadline, ClosedError after close(), the signal's reason after an abort —
 * and keeps every byte of the unit it was reading buffered, so the call can
 * be retried. At EOF, methods resolve `null` when nothing of the next unit
 * had arrived, and reject with UnexpectedEofError when only part of it had
 * (those bytes move into the error's `partial`; the next call sees EOF).
 *
 * ```ts
 * const r = new BufferedReader(conn);
 * const line = await r.readLine();             // "+OK" (no CR LF), or null at EOF
 * const header = await r.readExactly(4);       // a fresh 4-byte copy
 * const len = new DataView(header!.buffer).getUint32(0);
 * const body = await r.readExactly(len);
 * ```
 */
export class BufferedReader {
  readonly #src: ByteReader;
  readonly #max: number;
  #buf: Uint8Array;
  #r = 0;
  #w = 0;
  #eof = false;

  /**
   * @throws {TypeError} an unknown option
   * @throws {RangeError} size or maxSize is not a non-negative integer, size is 0, or maxSize is below size
   */
  constructor(src: ByteReader, opts: BufferedReaderOptions = {}) {
    checkOptions("BufferedReader", opts, READER_KEYS);
    const size = opts.size ?? DEFAULT_SIZE;
    const max = opts.maxSize ?? Math.max(DEFAULT_MAX, size);
    checkLength(size, "size");
    checkLength(max, "maxSize");
    if (size < 1 || max < size) throw new RangeError(`invalid buffer sizes: size ${size}, maxSize ${max}`);
    this.#src = src;
    this.#max = max;
    this.#buf = new Uint8Array(new ArrayBuffer(size));
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.#w - this.#r;
  }

  /** The current buffer capacity (grows up to maxSize when peek or readUntil need it). */
  get size(): number {
    return this.#buf.length;
  }

  /**
   * Reads into buf like Conn.read: copies what is buffered, or (with nothing
   * buffered) reads once from the source — straight into buf when buf is at
   * least as large as the buffer. Resolves the byte count, or null at EOF.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async read(buf: Uint8Array, opts?: BufioReadOptions): Promise<number | null> {
    checkOptions("read", opts, READ_KEYS);
    if (buf.length === 0) return 0;
    if (this.#r === this.#w) {
      if (this.#eof) return null;
      if (buf.length >= this.#buf.length) {
        const n = await this.#src.read(buf, opts);
        if (n === null) this.#eof = true;
        return n;
      }
      if (!(await this.#fill(opts))) return null;
    }
    const n = Math.min(buf.length, this.#w - this.#r);
    buf.set(this.#buf.subarray(this.#r, this.#r + n));
    this.#consume(n);
    return n;
  }

  /**
   * Fills all of dst (Go's io.ReadFull). Buffered bytes are copied; the rest
   * is read straight into dst when it is large. Resolves dst.length, or null
   * when EOF came before any byte; rejects with UnexpectedEofError (bytes so
   * far in `partial`) when EOF came in the middle.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {UnexpectedEofError} EOF after part of the unit (partial, expected)
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async readFull(dst: Uint8Array, opts?: BufioReadOptions): Promise<number | null> {
    checkOptions("readFull", opts, READ_KEYS);
    let got = this.#take(dst, 0);
    while (got < dst.length) {
      if (this.#eof) return this.#eofIn(dst, got);
      const rest = dst.length - got;
      let n: number | null;
      try {
        if (rest >= this.#buf.length) {
          // Large remainder: no detour through the buffer.
          n = await this.#src.read(dst.subarray(got), opts);
          if (n === null) this.#eof = true;
        } else {
          n = (await this.#fill(opts)) ? 0 : null;
        }
      } catch (e) {
        // A deadline, close or abort: the bytes already moved into dst are
        // unread again, so a retry sees the whole unit.
        if (got > 0) this.#unread(dst.subarray(0, got));
        throw e;
      }
      if (n === null) return this.#eofIn(dst, got);
      got = this.#take(dst, got + n);
    }
    return dst.length;
  }

  /**
   * Reads exactly n bytes into a fresh Uint8Array (owned by the caller).
   * Resolves null when EOF came before any byte; rejects with
   * UnexpectedEofError when it came after some.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {RangeError} n is not a non-negative integer
   * @throws {UnexpectedEofError} EOF after part of the unit (partial, expected)
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async readExactly(n: number, opts?: BufioReadOptions): Promise<Uint8Array | null> {
    checkOptions("readExactly", opts, READ_KEYS);
    checkLength(n, "length");
    const out = new Uint8Array(new ArrayBuffer(n));
    if (n === 0) return out;
    return (await this.readFull(out, opts)) === null ? null : out;
  }

  /**
   * The next n bytes without consuming them: a view into the buffer, valid
   * until the next call on this reader. Grows the buffer when n is larger
   * (TooLongError past maxSize). Resolves null at EOF with nothing buffered;
   * rejects with UnexpectedEofError when EOF leaves fewer than n.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {RangeError} n is not a non-negative integer
   * @throws {TooLongError} n is larger than maxSize (limit)
   * @throws {UnexpectedEofError} EOF after part of the unit (partial, expected)
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async peek(n: number, opts?: BufioReadOptions): Promise<Uint8Array | null> {
    checkOptions("peek", opts, READ_KEYS);
    checkLength(n, "length");
    if (n > this.#max) throw new TooLongError("peek", this.#max);
    while (this.#w - this.#r < n) {
      if (this.#eof || !(await this.#fill(opts, n))) {
        if (this.#r === this.#w) return null;
        throw new UnexpectedEofError(this.#drain(), n);
      }
    }
    return this.#buf.subarray(this.#r, this.#r + n);
  }

  /**
   * Skips n bytes (buffered or not). Resolves the number skipped, which is
   * less than n only at EOF.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {RangeError} n is not a non-negative integer
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async discard(n: number, opts?: BufioReadOptions): Promise<number> {
    checkOptions("discard", opts, READ_KEYS);
    checkLength(n, "length");
    let left = n;
    while (left > 0) {
      if (this.#r === this.#w && !(await this.#fill(opts))) break;
      const k = Math.min(left, this.#w - this.#r);
      this.#consume(k);
      left -= k;
    }
    return n - left;
  }

  /**
   * Reads up to and including the first occurrence of delim (a byte, a
   * string in UTF-8, or a byte sequence) and returns a view into the buffer,
   * valid until the next call on this reader (Go's ReadSlice). No copy.
   * Rejects with TooLongError when `max` bytes (default maxSize) hold no
   * delimiter — the bytes stay buffered — and with UnexpectedEofError when
   * the stream ends before one; resolves null at EOF with nothing buffered.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {RangeError} a delimiter byte out of 0–255, an empty delimiter, or a bad `max` (not a non-negative integer, above maxSize, shorter than the delimiter)
   * @throws {TooLongError} `max` bytes hold no delimiter (limit); the bytes stay buffered
   * @throws {UnexpectedEofError} the stream ended before a delimiter (partial; expected null)
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async readSlice(delim: number | string | Uint8Array, opts?: ReadUntilOptions): Promise<Uint8Array | null> {
    checkOptions("readSlice", opts, UNTIL_KEYS);
    const d = toDelim(delim);
    const max = opts?.max ?? this.#max;
    // The source takes the signal only (`max` is this reader's).
    const signal = opts?.signal;
    const fillOpts: BufioReadOptions | undefined = signal === undefined ? undefined : { signal };
    checkLength(max, "max");
    if (max > this.#max) throw new RangeError(`max ${max} exceeds the reader's maxSize ${this.#max}`);
    if (max < d.length) throw new RangeError(`max ${max} is shorter than the delimiter`);
    // Bytes before `scanned` (relative to r) hold no complete delimiter start.
    let scanned = 0;
    for (;;) {
      const end = this.#find(d, scanned, max);
      if (end >= 0) {
        const view = this.#buf.subarray(this.#r, this.#r + end);
        this.#consume(end);
        return view;
      }
      const have = this.#w - this.#r;
      if (have >= max) throw new TooLongError("no delimiter: line", max);
      // The last d.length - 1 bytes could start a delimiter split by the fill.
      scanned = Math.max(0, have - d.length + 1);
      if (this.#eof || !(await this.#fill(fillOpts, Math.min(max, have + 1)))) {
        if (this.#r === this.#w) return null;
        throw new UnexpectedEofError(this.#drain(), null);
      }
    }
  }

  /**
   * readSlice, returning a fresh copy (delimiter included) owned by the
   * caller (Go's ReadBytes).
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {RangeError} a delimiter byte out of 0–255, an empty delimiter, or a bad `max` (not a non-negative integer, above maxSize, shorter than the delimiter)
   * @throws {TooLongError} `max` bytes hold no delimiter (limit); the bytes stay buffered
   * @throws {UnexpectedEofError} the stream ended before a delimiter (partial; expected null)
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async readUntil(delim: number | string | Uint8Array, opts?: ReadUntilOptions): Promise<Uint8Array | null> {
    checkOptions("readUntil", opts, UNTIL_KEYS);
    const view = await this.readSlice(delim, opts);
    return view === null ? null : view.slice();
  }

  /**
   * Reads a line ending in LF and decodes it as UTF-8 without the LF (or
   * CR LF). Resolves null at EOF with nothing buffered; a last line without
   * LF rejects with UnexpectedEofError. `max` counts the line terminator.
   *
   * Errors are rejections of the returned promise.
   * @throws {TypeError} an unknown option
   * @throws {RangeError} a bad `max` (not a non-negative integer, above maxSize, 0)
   * @throws {TooLongError} `max` bytes hold no delimiter (limit); the bytes stay buffered
   * @throws {UnexpectedEofError} the stream ended before a delimiter (partial; expected null)
   * @throws {DeadlineExceededError} the source's read deadline passed (passed through from a Conn or TlsConn; buffered bytes stay buffered)
   * @throws {ClosedError} the source was closed
   * @throws {NetError} the source's read failed: ECONNRESET and other socket errors (code, syscall)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  async readLine(opts?: ReadUntilOptions): Promise<string | null> {
    checkOptions("readLine", opts, UNTIL_KEYS);
    const view = await this.readSlice(LF, opts);
    if (view === null) return null;
    const len = view.length >= 2 && view[view.length - 2] === CR ? view.length - 2 : view.length - 1;
    return decoder.decode(view.subarray(0, len));
  }

  // Offset (relative to r) just past the first delimiter within the first
  // max bytes, or -1. Searches from `from`.
  #find(d: Uint8Array, from: number, max: number): number {
    const buf = this.#buf;
    const limit = Math.min(this.#w, this.#r + max);
    const first = d[0]!;
    let i = this.#r + from;
    while (i < limit) {
      const at = buf.indexOf(first, i);
      if (at < 0 || at + d.length > limit) return -1;
      let k = 1;
      while (k < d.length && buf[at + k] === d[k]) k++;
      if (k === d.length) return at + d.length - this.#r;
      i = at + 1;
    }
    return -1;
  }

  // Copies buffered bytes into dst at `at`; returns the new fill level of dst.
  #take(dst: Uint8Array, at: number): number {
    const n = Math.min(dst.length - at, this.#w - this.#r);
    if (n > 0) {
      dst.set(this.#buf.subarray(this.#r, this.#r + n), at);
      this.#consume(n);
    }
    return at + n;
  }

  // Takes every buffered byte (a copy) out of the buffer.
  #drain(): Uint8Array {
    const out = this.#buf.slice(this.#r, this.#w);
    this.#r = this.#w = 0;
    return out;
  }

  // Puts bytes taken by a readFull that then failed back in front of the buffer.
  #unread(bytes: Uint8Array): void {
    const have = this.#w - this.#r;
    if (bytes.length <= this.#r) {
      this.#r -= bytes.length;
      this.#buf.set(bytes, this.#r);
      return;
    }
    const need = bytes.length + have;
    const buf = need <= this.#buf.length ? this.#buf : new Uint8Array(new ArrayBuffer(need));
    buf.copyWithin(bytes.length, this.#r, this.#w);
    if (buf !== this.#buf) buf.set(this.#buf.subarray(this.#r, this.#w), bytes.length);
    buf.set(bytes, 0);
    this.#buf = buf;
    this.#r = 0;
    this.#w = need;
  }

  #consume(n: number): void {
    this.#r += n;
    if (this.#r === this.#w) this.#r = this.#w = 0;
  }

  #eofIn(dst: Uint8Array, got: number): null {
    if (got === 0) return null;
    throw new UnexpectedEofError(dst.slice(0, got), dst.length);
  }

  /**
   * Reads once from the source into the free tail. `need` is how many
   * buffered bytes the caller wants in total: the buffer grows (to a power
   * of two, at most maxSize) when it cannot hold them. Resolves false at EOF.
   */
  async #fill(opts: BufioReadOptions | undefined, need = 0): Promise<boolean> {
    if (this.#eof) return false;
    const have = this.#w - this.#r;
    let buf = this.#buf;
    if (need > buf.length) {
      let cap = buf.length;
      while (cap < need) cap *= 2;
      const grown = new Uint8Array(new ArrayBuffer(Math.min(cap, this.#max)));
      grown.set(buf.subarray(this.#r, this.#w));
      this.#buf = buf = grown;
      this.#r = 0;
      this.#w = have;
    } else if (this.#r > 0 && buf.length - this.#w < Math.min(MIN_READ, buf.length - have)) {
      // The tail is small: compact so the source gets a real slice.
      buf.copyWithin(0, this.#r, this.#w);
      this.#r = 0;
      this.#w = have;
    }
    const n = await this.#src.read(buf.subarray(this.#w), opts);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#w += n;
    return true;
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A write buffer over a ByteWriter (Go's bufio.Writer): small writes are
 * copied into one buffer and reach the destination in one write when the
 * buffer fills or on flush(). Writes at least as large as the buffer go out
 * directly (with the buffered bytes in front, in one writev when the
 * destination has it). Nothing is sent until the buffer fills or you call
 * flush().
 *
 * A failed write is sticky, as in Go: once the destination has rejected,
 * every later write and flush rejects with the same error (bytes that were
 * buffered then are lost). Calls are served in order; they are meant for one
 * task at a time, and calls made while a flush is under way wait for it.
 *
 * ```ts
 * const w = new BufferedWriter(conn);
 * for (const cmd of commands) w.writeString(cmd);   // no syscalls yet
 * await w.flush();                                   // one write(2)
 * ```
 */
export class BufferedWriter {
  readonly #dst: ByteWriter;
  readonly #buf: Uint8Array;
  #n = 0;
  #busy: Promise<void> | null = null;
  #err: unknown = undefined;
  #failed = false;

  /**
   * @throws {TypeError} an unknown option
   * @throws {RangeError} size is not a positive integer
   */
  constructor(dst: ByteWriter, opts: BufferedWriterOptions = {}) {
    checkOptions("BufferedWriter", opts, WRITER_KEYS);
    const size = opts.size ?? DEFAULT_SIZE;
    checkLength(size, "size");
    if (size < 1) throw new RangeError(`invalid buffer size: ${size}`);
    this.#dst = dst;
    this.#buf = new Uint8Array(new ArrayBuffer(size));
  }

  /** Bytes buffered and not yet written. */
  get buffered(): number {
    return this.#n;
  }

  /** Free space in the buffer. */
  get available(): number {
    return this.#buf.length - this.#n;
  }

  /** The buffer size. */
  get size(): number {
    return this.#buf.length;
  }

  /**
   * Buffers data (copied: the caller may reuse it at once). Resolves at
   * once when it fits; otherwise after the buffer has been flushed and, for
   * data at least a buffer long, data itself written. Rejects with the
   * destination's error (and stays failed).
   *
   * Errors are rejections of the returned promise.
   * @throws {NetError} the destination's write failed: EPIPE, ECONNRESET, … (code, syscall); sticky: every later call rejects with it
   * @throws {DeadlineExceededError} the destination's write deadline passed (sticky)
   * @throws {ClosedError} the destination was closed (sticky)
   */
  write(data: Uint8Array): Promise<void> {
    if (this.#busy === null && !this.#failed && data.length <= this.#buf.length - this.#n) {
      this.#buf.set(data, this.#n);
      this.#n += data.length;
      return RESOLVED;
    }
    return this.#serial(() => this.#writeSlow(data));
  }

  /**
   * Buffers s as UTF-8, encoding straight into the buffer when it fits.
   *
   * Errors are rejections of the returned promise.
   * @throws {NetError} the destination's write failed: EPIPE, ECONNRESET, … (code, syscall); sticky: every later call rejects with it
   * @throws {DeadlineExceededError} the destination's write deadline passed (sticky)
   * @throws {ClosedError} the destination was closed (sticky)
   */
  writeString(s: string): Promise<void> {
    if (this.#busy === null && !this.#failed && s.length * 3 <= this.#buf.length - this.#n) {
      const { written } = encoder.encodeInto(s, this.#buf.subarray(this.#n));
      this.#n += written;
      return RESOLVED;
    }
    return this.write(encoder.encode(s));
  }

  /**
   * Writes everything buffered. Resolves once the destination has accepted it.
   *
   * Errors are rejections of the returned promise.
   * @throws {NetError} the destination's write failed: EPIPE, ECONNRESET, … (code, syscall); sticky: every later call rejects with it
   * @throws {DeadlineExceededError} the destination's write deadline passed (sticky)
   * @throws {ClosedError} the destination was closed (sticky)
   */
  flush(): Promise<void> {
    if (this.#busy === null && !this.#failed && this.#n === 0) return RESOLVED;
    return this.#serial(() => this.#flushNow());
  }

  async #writeSlow(data: Uint8Array): Promise<void> {
    const space = this.#buf.length - this.#n;
    if (data.length <= space) {
      this.#buf.set(data, this.#n);
      this.#n += data.length;
      return;
    }
    if (data.length >= this.#buf.length) {
      // Large: buffered bytes and data in one vectored write when possible.
      if (this.#n > 0 && this.#dst.writev !== undefined) {
        const head = this.#buf.subarray(0, this.#n);
        await this.#guard(this.#dst.writev([head, data]));
        this.#n = 0;
        return;
      }
      await this.#flushNow();
      await this.#guard(this.#dst.write(data));
      return;
    }
    // Fill the buffer, flush it, buffer the rest (which now fits).
    this.#buf.set(data.subarray(0, space), this.#n);
    this.#n = this.#buf.length;
    await this.#flushNow();
    this.#buf.set(data.subarray(space), 0);
    this.#n = data.length - space;
  }

  async #flushNow(): Promise<void> {
    if (this.#n === 0) return;
    await this.#guard(this.#dst.write(this.#buf.subarray(0, this.#n)));
    this.#n = 0;
  }

  async #guard(p: Promise<number>): Promise<void> {
    try {
      await p;
    } catch (e) {
      this.#failed = true;
      this.#err = e;
      this.#n = 0;
      throw e;
    }
  }

  // Runs op after every earlier slow call, and fails at once if the writer failed.
  #serial(op: () => Promise<void>): Promise<void> {
    const prev = this.#busy;
    const run = async (): Promise<void> => {
      if (prev !== null) await prev.catch(() => {});
      if (this.#failed) throw this.#err;
      await op();
    };
    const p = run();
    const tail = p.then(
      () => {},
      () => {},
    );
    this.#busy = tail;
    void tail.then(() => {
      if (this.#busy === tail) this.#busy = null;
    });
    return p;
  }
}
