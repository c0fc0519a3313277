// The I/O operations an FD runs, as data, and the one attempt loop that runs
// them (Go: internal/poll/fd_unix.go). An attempt checks the direction
// (closed, deadline), makes the syscall, and on EINTR makes it again: EINTR
// is retried here and nowhere else. EAGAIN ends the attempt with AGAIN (the
// caller parks and attempts again on readiness). A short read is never
// taken to mean "drained": after one, the next read tries the syscall
// first, because the kernel ends reads early with data still queued (the
// TCP urgent mark, an AF_UNIX message carrying descriptors, a change of
// writer under SO_PASSCRED) and edge-triggered readiness would not repeat.
//
// Read-ahead (TCP conns only, see FD.readAhead): once a read has filled the
// caller's buffer, more is likely queued, so the next read with a buffer
// smaller than a pooled one reads up to 64 KiB into a pooled buffer and
// keeps what the caller's buffer could not take; later reads and chunk
// steps are served from it without a syscall (after the same closed and
// deadline checks) until it is used up. A read that comes back short of its
// buffer turns it off again, so request/response traffic reads straight
// into the caller's buffer as before. Never on unix sockets: a read there
// stops at a message carrying descriptors or credentials, and reading past
// it would drop them.
import { IoVecs } from "../../ffi/iovec.ts";
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { type ErrorContext, NetError, sysError } from "../errors.ts";
import { type BufferPool, chunkPool } from "./buffer_pool.ts";
import type { Half } from "./poll_desc.ts";

const EAGAIN = E.EAGAIN!;
const EINTR = E.EINTR!;
// Writes to a closed peer are EPIPE, never SIGPIPE: MSG_NOSIGNAL where it
// exists, SO_NOSIGPIPE on the socket elsewhere (see net/sys.ts).
const MSG_NOSIGNAL = C.MSG_NOSIGNAL > 0 ? C.MSG_NOSIGNAL : 0;

/** An attempt that would block (EAGAIN): park, then attempt again. */
export const AGAIN: unique symbol = Symbol("again");
/** A write made progress and has more to write: make the syscall again now. */
const MORE: unique symbol = Symbol("more");

/**
 * Where readChunk() records what it lends (an async iterator's state): the
 * pooled buffer behind the chunk, for the iterator to give back whole on its
 * next step (null when the chunk is a copy).
 */
export interface ChunkSink {
  /** The sink is its own read operation (nothing allocated per step). */
  readonly kind: "chunk";
  readonly pool: BufferPool;
  lent: Uint8Array | null;
}

/**
 * A non-blocking attempt for io(): its result, or a negative number
 * (-errno) read right after the failing call. May throw its own error.
 */
export type Attempt<T> = () => T | number;

/** A read-side operation: into the caller's buffer, a pooled chunk, an iterator step, an io() attempt, or a readiness wait. */
export type ReadOp =
  | { readonly kind: "read"; readonly buf: Uint8Array }
  | { readonly kind: "pooled"; readonly pool: BufferPool }
  | ChunkSink
  | IoOp
  | WaitOp;

/** A write-side operation, with its progress, or a readiness wait. */
export type WriteOp =
  | { readonly kind: "write"; readonly buf: Uint8Array; off: number }
  | { readonly kind: "writev"; readonly bufs: readonly Uint8Array[]; readonly total: number; idx: number; off: number; written: number }
  | IoOp
  | WaitOp;

/**
 * One edge-triggered readiness wait (pollFd's edge mode): no syscall of its
 * own. Its first attempt follows a replaced descriptor (FD.followFile) and
 * would block; any later one (a latched edge, or the wakeup of its park) is
 * the readiness it waited for, and completes with undefined.
 */
export interface WaitOp {
  readonly kind: "wait";
  readonly op: string;
  fresh: boolean;
}

/** accept, recvfrom, sendto, connect and friends. */
export interface IoOp {
  readonly kind: "io";
  readonly op: string;
  readonly syscall: string;
  readonly attempt: Attempt<unknown>;
}

export type Op = ReadOp | WriteOp;

/** FD.readAhead: off (not a TCP conn, or its descriptor was handed out). */
export const AHEAD_OFF = 0;
/** FD.readAhead: on; reads go straight into the caller's buffer. */
export const AHEAD_ON = 1;
/** FD.readAhead: the last read filled the caller's buffer; the next one reads ahead. */
export const AHEAD_EAGER = 2;

/** What the attempt needs from its FD. */
export interface IoTarget {
  readonly sysfd: number;
  /** AHEAD_OFF, AHEAD_ON or AHEAD_EAGER. */
  readAhead: number;
  /** Bytes read ahead and not yet handed out: a view into a chunkPool buffer, or null. */
  ahead: Uint8Array | null;
  /** Writes use send(MSG_NOSIGNAL) / sendmsg instead of write / writev. */
  readonly socket: boolean;
  readonly ctx: ErrorContext;
  /** Throws the closed / timeout error if h must fail before a syscall. */
  check(h: Half, op: string): void;
  /**
   * A socket error the poller reported with an event (kqueue's fflags with
   * EV_EOF), cleared; 0 if none. libkqueue clears SO_ERROR when it reads it,
   * so a read can then see only EOF or EAGAIN.
   */
  takeSocketError(): number;
  /** For a caller-owned descriptor: re-registers it if its number names a new file (throws EBADF / EEXIST). */
  followFile(op: string): void;
}

/** The operation name errors carry. */
export function opName(op: Op): string {
  return op.kind === "io" || op.kind === "wait" ? op.op : op.kind === "write" || op.kind === "writev" ? "write" : "read";
}

function syscallName(t: IoTarget, op: Op): string {
  switch (op.kind) {
    case "io":
      return op.syscall;
    case "wait":
      return "";
    case "write":
      return t.socket ? "send" : "write";
    case "writev":
      return t.socket ? "sendmsg" : "writev";
    default:
      return "read";
  }
}

/** A failed write's error says how many bytes the kernel had accepted. */
export function withProgress(op: Op | null, err: unknown): unknown {
  if (err instanceof NetError && op !== null) {
    if (op.kind === "write") err.bytesWritten = op.off;
    else if (op.kind === "writev") err.bytesWritten = op.written;
  }
  return err;
}

/**
 * Runs op until it completes or would block: the value to settle with, or
 * AGAIN. Throws the closed / timeout / system error.
 */
export function attempt(t: IoTarget, h: Half, op: Op): unknown {
  const name = opName(op);
  if (op.kind === "wait") {
    t.check(h, name);
    if (!op.fresh) return undefined;
    op.fresh = false;
    t.followFile(name);
    return AGAIN;
  }
  for (;;) {
    t.check(h, name);
    const r = step(t, op);
    if (r === MORE) continue;
    if (typeof r !== "number" || r >= 0) {
      if (isEof(r) && !isWrite(op)) throwSocketError(t, op, name);
      return r;
    }
    const e = -r;
    if (e === EINTR) continue;
    if (e === EAGAIN) {
      if (!isWrite(op)) throwSocketError(t, op, name);
      return AGAIN;
    }
    throw sysError(name, syscallName(t, op), e, t.ctx);
  }
}

const isWrite = (op: Op): boolean => op.kind === "write" || op.kind === "writev";
const isEof = (r: unknown): boolean => r === null || (typeof r === "object" && (r as { done?: boolean }).done === true);

// A read side that sees EOF or EAGAIN after the poller reported a socket
// error with the event: the error, once (then EOF as usual).
function throwSocketError(t: IoTarget, op: Op, name: string): void {
  const e = t.takeSocketError();
  if (e !== 0) throw sysError(name, syscallName(t, op), e, t.ctx);
}

// One syscall of op: its final value, MORE, or -errno (read at once).
function step(t: IoTarget, op: Op): unknown {
  switch (op.kind) {
    case "read": {
      const len = op.buf.length;
      if (len === 0) return 0;
      if (t.ahead !== null) return fromAhead(t, op.buf);
      if (t.readAhead === AHEAD_EAGER && len < chunkPool.size) {
        const b = chunkPool.takeFree();
        if (b !== null) return readAhead(t, op.buf, b);
      }
      const n = sys.read(t.sysfd, op.buf, len);
      if (n < 0) return -errno();
      if (n === len && t.readAhead === AHEAD_ON) t.readAhead = AHEAD_EAGER;
      return n > 0 ? n : null;
    }
    case "pooled":
    case "chunk":
      return readPooled(t, op);
    case "io":
      return op.attempt();
    case "wait":
      return undefined; // attempt() answers waits itself
    case "write":
      return writeStep(t, op);
    case "writev":
      return writevStep(t, op);
  }
}

// A read into chunkPool buffer b for the caller's smaller buf: copies what
// fits, keeps the rest in t.ahead (b is lent to it), or gives b back.
function readAhead(t: IoTarget, buf: Uint8Array, b: Uint8Array): unknown {
  const n = sys.read(t.sysfd, b, b.length);
  // errno first, before any other work: nothing may run between the failed call and it.
  const e = n < 0 ? errno() : 0;
  const len = buf.length;
  if (n > len) {
    buf.set(b.subarray(0, len));
    t.ahead = b.subarray(len, n);
    return len;
  }
  if (n > 0) buf.set(b.subarray(0, n));
  chunkPool.giveWhole(b);
  if (n < len) t.readAhead = AHEAD_ON;
  return n > 0 ? n : n === 0 ? null : -e;
}

// A read served from bytes read ahead; the pooled buffer goes back once they are used up.
function fromAhead(t: IoTarget, buf: Uint8Array): number {
  const a = t.ahead!;
  if (a.length > buf.length) {
    buf.set(a.subarray(0, buf.length));
    t.ahead = a.subarray(buf.length);
    return buf.length;
  }
  buf.set(a);
  t.ahead = null;
  chunkPool.give(a);
  return a.length;
}

/** Gives bytes read ahead back to the pool (the FD is released; nobody can read them). */
export function dropAhead(t: IoTarget): void {
  if (t.ahead === null) return;
  chunkPool.give(t.ahead);
  t.ahead = null;
}

function readPooled(t: IoTarget, op: Extract<ReadOp, { kind: "pooled" | "chunk" }>): unknown {
  const sink = op.kind === "chunk" ? op : null;
  // Bytes read ahead first, lent as they are (chunk iteration and the
  // readable stream use chunkPool, the pool they came from).
  const a = t.ahead;
  if (a !== null) {
    t.ahead = null;
    if (sink === null) return a;
    sink.lent = new Uint8Array(a.buffer, 0, chunkPool.size);
    return { value: a, done: false };
  }
  const pool = sink !== null ? sink.pool : (op as { pool: BufferPool }).pool;
  const pooled = pool.takeFree();
  const b = pooled ?? pool.scratch;
  const n = sys.read(t.sysfd, b, b.length);
  if (n > 0) {
    const chunk = pooled !== null ? pooled.subarray(0, n) : b.slice(0, n);
    if (sink === null) return chunk;
    sink.lent = pooled;
    return { value: chunk, done: false };
  }
  // errno first, before any other work: nothing may run between the failed call and it.
  const e = n < 0 ? errno() : 0;
  if (pooled !== null) pool.giveWhole(pooled);
  if (n < 0) return -e;
  return sink === null ? null : { value: undefined, done: true };
}

function writeStep(t: IoTarget, op: Extract<WriteOp, { kind: "write" }>): unknown {
  const { buf } = op;
  const len = buf.length;
  if (op.off === len) return len;
  const view = op.off === 0 ? buf : buf.subarray(op.off);
  const n = t.socket ? sys.send(t.sysfd, view, len - op.off, MSG_NOSIGNAL) : sys.write(t.sysfd, view, len - op.off);
  if (n < 0) return -errno();
  op.off += n;
  return op.off === len ? len : MORE;
}

// Scratch for vectored writes: filled right before sendmsg/writev, used in
// the same synchronous block, never across an await.
const vecs = new IoVecs(C.IOV_MAX);

function writevStep(t: IoTarget, op: Extract<WriteOp, { kind: "writev" }>): unknown {
  const { bufs } = op;
  while (op.idx < bufs.length && op.off === bufs[op.idx]!.length) {
    op.idx++;
    op.off = 0;
  }
  if (op.idx >= bufs.length) return op.total;
  let count = 0;
  for (let i = op.idx; i < bufs.length && count < vecs.capacity; i++) {
    const b = bufs[i]!;
    const start = i === op.idx ? op.off : 0;
    if (b.length - start === 0) continue;
    vecs.set(count++, b, start, b.length - start);
  }
  const n = t.socket ? sys.sendmsg(t.sysfd, vecs.header(count), MSG_NOSIGNAL) : sys.writev(t.sysfd, vecs.bytes, count);
  if (n < 0) return -errno();
  op.written += n;
  let left = n;
  while (left > 0) {
    const room = bufs[op.idx]!.length - op.off;
    if (left < room) {
      op.off += left;
      left = 0;
    } else {
      left -= room;
      op.idx++;
      op.off = 0;
    }
  }
  return op.written === op.total ? op.total : MORE;
}
