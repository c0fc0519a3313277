// zeromq: a libzmq DEALER (or REQ) socket through bun:ffi, on pollFd edge
// mode.
//
// libzmq owns its sockets and runs their I/O on its own threads; what it
// hands out for an event loop is ZMQ_FD, a descriptor that zmq.h documents
// as edge-triggered and as signalling only that ZMQ_EVENTS *may* have
// changed. It is not the TCP socket and it says nothing about the direction:
// it becomes readable when a command reaches the socket's mailbox, and the
// mailbox is drained (the descriptor reset) by whichever libzmq call
// processes commands next: zmq_getsockopt(ZMQ_EVENTS), but also zmq_send and
// zmq_recv. So the rule is:
//
//   send / recv:  try the call with ZMQ_DONTWAIT; on EAGAIN read ZMQ_EVENTS,
//                 and while it lacks ZMQ_POLLOUT / ZMQ_POLLIN wait for the
//                 descriptor to become readable (both directions wait for
//                 *readable*), then read ZMQ_EVENTS again.
//
// Never wait on the descriptor without a ZMQ_EVENTS check since the last
// libzmq call. The classic hang is "wait readable, recv one, wait again":
// when several messages arrived on one signal (a pipelined burst), or a
// zmq_send already drained the signal for replies that are queued now, the
// descriptor stays quiet while messages wait. naiveRecv() below does exactly
// that, to show it (see test/examples/zeromq.test.ts).
//
// Edge mode fits: the descriptor's own readiness is meaningless between
// ZMQ_EVENTS checks, and an edge after a check is a real "look again".
//
// Try it (a ROUTER or REP peer that answers, e.g. test/fixtures/zmq_echo.py):
//   bun examples/ffi/zeromq.ts tcp://127.0.0.1:5555 hello world
// sends each argument as one message and prints each reply's frames,
// space-separated, one reply per line.
import { type Deadline, pollFd, type PollFd } from "bun-netpoll";
import { E, errnoName } from "bun-netpoll/ffi";
import {
  cstr,
  EFSM,
  ETERM,
  type Handle,
  zmq,
  ZMQ_DEALER,
  ZMQ_DONTWAIT,
  ZMQ_EVENTS,
  ZMQ_FD,
  ZMQ_LINGER,
  ZMQ_POLLIN,
  ZMQ_POLLOUT,
  ZMQ_RCVMORE,
  ZMQ_REQ,
  ZMQ_SNDMORE,
} from "./_libzmq.ts";

/** A failed libzmq call: its errno, the errno's name, and zmq_strerror's text. */
export class ZmqError extends Error {
  override name = "ZmqError";
  constructor(
    /** The libzmq function that failed. */
    readonly op: string,
    readonly errno: number,
    /** The errno name: an OS one (ECONNREFUSED…) or libzmq's EFSM / ETERM. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Reads zmq_errno() at once and builds the error of the call that just failed. */
function lastError(op: string): ZmqError {
  const e = zmq.zmq_errno();
  const code = e === EFSM ? "EFSM" : e === ETERM ? "ETERM" : errnoName(e);
  return new ZmqError(op, e, code, `${op}: ${String(zmq.zmq_strerror(e))}`);
}

export interface ZmqOptions {
  /** "dealer" (the default: any number of requests in flight) or "req" (strict send / recv alternation). */
  readonly type?: "dealer" | "req";
  /** The largest frame recv accepts, in bytes (default 1 MiB); a larger one fails the recv with ZmqError EMSGSIZE. */
  readonly maxFrame?: number;
}

export interface ZmqWaitOptions {
  /** Epoch ms (or a Date) after which the operation fails with DeadlineExceededError. */
  readonly deadline?: Deadline;
  readonly signal?: AbortSignal;
}

/** One frame as given to send: bytes, or a string sent as UTF-8. */
export type Frame = Uint8Array | string;

/**
 * One libzmq socket connected to an endpoint, with its own context.
 * Operations (send, recv) run one at a time, in call order: a DEALER can
 * queue many sends and then read the replies. Close it with close().
 */
export class ZmqSocket {
  #ctx: Handle | null;
  #sock: Handle | null;
  readonly #poll: PollFd;
  readonly #buf: Uint8Array;
  // zmq_getsockopt's int value and its size_t length, reused for every call.
  readonly #int = new Int32Array(new ArrayBuffer(4));
  readonly #len = new BigUint64Array(new ArrayBuffer(8));
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(ctx: Handle, sock: Handle, poll: PollFd, maxFrame: number) {
    this.#ctx = ctx;
    this.#sock = sock;
    this.#poll = poll;
    this.#buf = new Uint8Array(new ArrayBuffer(maxFrame));
  }

  /**
   * Creates a context and a socket, sets ZMQ_LINGER 0 (so close() never
   * waits for unsent messages), connects it to endpoint (libzmq connects in
   * the background and reconnects by itself) and registers ZMQ_FD with the
   * netpoller. Throws ZmqError when libzmq refuses (EINVAL for a malformed
   * endpoint, EPROTONOSUPPORT for an unknown transport), TypeError for bad
   * options.
   */
  static connect(endpoint: string, opts: ZmqOptions = {}): ZmqSocket {
    const type = opts.type ?? "dealer";
    if (type !== "dealer" && type !== "req") throw new TypeError(`ZmqSocket.connect: type must be "dealer" or "req", not ${String(type)}`);
    const maxFrame = opts.maxFrame ?? 1 << 20;
    if (!Number.isInteger(maxFrame) || maxFrame < 1) throw new TypeError(`ZmqSocket.connect: maxFrame must be a positive integer, not ${maxFrame}`);
    const ctx = zmq.zmq_ctx_new();
    if (ctx === null) throw lastError("zmq_ctx_new");
    let sock: Handle | null = null;
    try {
      sock = zmq.zmq_socket(ctx, type === "dealer" ? ZMQ_DEALER : ZMQ_REQ);
      if (sock === null) throw lastError("zmq_socket");
      const linger = new Int32Array(new ArrayBuffer(4));
      if (zmq.zmq_setsockopt(sock, ZMQ_LINGER, linger, 4) !== 0) throw lastError("zmq_setsockopt");
      if (zmq.zmq_connect(sock, cstr(endpoint)) !== 0) throw lastError("zmq_connect");
      const fd = new Int32Array(new ArrayBuffer(4));
      const len = new BigUint64Array(new ArrayBuffer(8));
      len[0] = 4n;
      if (zmq.zmq_getsockopt(sock, ZMQ_FD, fd, len) !== 0) throw lastError("zmq_getsockopt");
      return new ZmqSocket(ctx, sock, pollFd(fd[0]!), maxFrame);
    } catch (err) {
      if (sock !== null) zmq.zmq_close(sock);
      zmq.zmq_ctx_term(ctx);
      throw err;
    }
  }

  /** ZMQ_FD: libzmq's descriptor, watched by this socket (do not read it). */
  get fd(): number {
    return this.#poll.fd;
  }

  /**
   * Sends one message of one or more frames (ZMQ_SNDMORE on all but the
   * last), waiting while libzmq's queue is full. Rejects with ZmqError (EFSM:
   * a REQ socket sending before it received the last reply), the wait's
   * error (DeadlineExceededError past opts.deadline, the signal's reason),
   * or ClosedError when close() runs meanwhile.
   */
  send(message: Frame | readonly Frame[], opts: ZmqWaitOptions = {}): Promise<void> {
    const frames = (Array.isArray(message) ? message : [message]) as readonly Frame[];
    return this.#queue("zmq_send", () => this.#send(frames, opts));
  }

  /**
   * Receives one message: all its frames. Rejects with ZmqError (EFSM: a REQ
   * socket receiving before it sent; EMSGSIZE: a frame larger than
   * maxFrame, the rest of that message dropped), or the wait's error as for
   * send.
   */
  recv(opts: ZmqWaitOptions = {}): Promise<Uint8Array[]> {
    return this.#queue("zmq_recv", () => this.#recv(opts, false));
  }

  /**
   * recv without the ZMQ_EVENTS rule: "wait for ZMQ_FD readable, then
   * recv". Exists only to show the hang it causes (messages queued, the
   * descriptor quiet): do not use it. Rejects like recv.
   */
  naiveRecv(opts: ZmqWaitOptions = {}): Promise<Uint8Array[]> {
    return this.#queue("zmq_recv", () => this.#recv(opts, true));
  }

  /**
   * Takes ZMQ_FD out of the loop (a pending operation rejects with
   * ClosedError), closes the socket and terminates the context (no linger:
   * unsent messages are dropped). Idempotent.
   */
  close(): void {
    if (this.#sock === null) return;
    // The PollFd first: zmq_close lets libzmq close the descriptor.
    this.#poll.close();
    zmq.zmq_close(this.#sock);
    zmq.zmq_ctx_term(this.#ctx!);
    this.#sock = null;
    this.#ctx = null;
  }

  // ---- one operation at a time ---------------------------------------------

  #queue<T>(name: string, op: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(async () => {
      if (this.#sock === null) throw new ZmqError(name, ETERM, "ETERM", `${name} on a closed ZmqSocket`);
      // One deadline per operation: the PollFd's read deadline (ZMQ_FD is
      // only ever waited on for readable), set by the operation and cleared
      // when it ends.
      try {
        return await op();
      } finally {
        if (!this.#poll.closed) this.#poll.setReadDeadline(null);
      }
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  async #send(frames: readonly Frame[], o: ZmqWaitOptions): Promise<void> {
    this.#setDeadline(o);
    const enc = new TextEncoder();
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      const bytes = typeof f === "string" ? enc.encode(f) : f;
      // libzmq copies the frame during the call; its own buffer keeps the
      // pointer valid (and non-null for an empty frame).
      const buf = new Uint8Array(new ArrayBuffer(Math.max(bytes.length, 1)));
      buf.set(bytes);
      const flags = ZMQ_DONTWAIT | (i < frames.length - 1 ? ZMQ_SNDMORE : 0);
      while (zmq.zmq_send(this.#sock!, buf, bytes.length, flags) < 0) {
        const err = lastError("zmq_send");
        if (err.errno !== E.EAGAIN) throw err;
        await this.#until(ZMQ_POLLOUT, o);
      }
    }
  }

  async #recv(o: ZmqWaitOptions, naive: boolean): Promise<Uint8Array[]> {
    this.#setDeadline(o);
    const frames: Uint8Array[] = [];
    let tooBig = 0;
    for (;;) {
      const n = await this.#recvFrame(o, naive && frames.length === 0);
      if (n > this.#buf.length) tooBig ||= n;
      else frames.push(this.#buf.slice(0, n));
      // The other frames of a message arrive with its first (libzmq delivers messages whole).
      if (!this.#more()) break;
    }
    if (tooBig > 0) {
      throw new ZmqError("zmq_recv", E.EMSGSIZE, "EMSGSIZE", `zmq_recv: a frame of ${tooBig} bytes exceeds maxFrame (${this.#buf.length})`);
    }
    return frames;
  }

  /** One frame into #buf; resolves its full size (larger than #buf when truncated). */
  async #recvFrame(o: ZmqWaitOptions, naive: boolean): Promise<number> {
    if (naive) await this.#poll.waitReadable(signalOf(o));
    for (;;) {
      const n = zmq.zmq_recv(this.#sock!, this.#buf, this.#buf.length, ZMQ_DONTWAIT);
      if (n >= 0) return n;
      const err = lastError("zmq_recv");
      if (err.errno !== E.EAGAIN) throw err;
      if (naive) await this.#poll.waitReadable(signalOf(o));
      else await this.#until(ZMQ_POLLIN, o);
    }
  }

  /**
   * ZeroMQ's rule for ZMQ_FD: wait for the descriptor only while ZMQ_EVENTS
   * lacks the flag, and read ZMQ_EVENTS again after every wake (reading it
   * also resets the descriptor, so the next command raises a new edge).
   */
  async #until(flag: number, o: ZmqWaitOptions): Promise<void> {
    while ((this.#getInt(ZMQ_EVENTS) & flag) === 0) await this.#poll.waitReadable(signalOf(o));
  }

  #more(): boolean {
    return this.#getInt(ZMQ_RCVMORE) !== 0;
  }

  #getInt(option: number): number {
    this.#len[0] = 4n;
    if (zmq.zmq_getsockopt(this.#sock!, option, this.#int, this.#len) !== 0) throw lastError("zmq_getsockopt");
    return this.#int[0]!;
  }

  #setDeadline(o: ZmqWaitOptions): void {
    if (o.deadline !== undefined) this.#poll.setReadDeadline(o.deadline);
  }
}

function signalOf(o: ZmqWaitOptions): { signal?: AbortSignal } {
  return o.signal === undefined ? {} : { signal: o.signal };
}

async function main(args: string[]): Promise<number> {
  const [endpoint, ...messages] = args;
  if (endpoint === undefined || messages.length === 0) {
    console.error("usage: bun examples/ffi/zeromq.ts ENDPOINT MESSAGE...");
    return 2;
  }
  const s = ZmqSocket.connect(endpoint);
  const dec = new TextDecoder();
  try {
    const deadline = Date.now() + 10_000;
    await Promise.all(messages.map((m) => s.send(m, { deadline })));
    for (let i = 0; i < messages.length; i++) {
      const reply = await s.recv({ deadline });
      console.log(reply.map((f) => dec.decode(f)).join(" "));
    }
    return 0;
  } finally {
    s.close();
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(String(err instanceof Error ? err.message : err));
      process.exit(1);
    },
  );
}
