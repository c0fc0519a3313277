// The io_uring bridge (Linux): the kernel itself wakes Bun's event loop when
// the poller has events, with no thread of ours in between.
//
//   setup:  a socketpair; one end is handed to Bun (`Bun.connect({ fd })`),
//           so Bun's own loop watches it and calls `data` when a byte lands;
//           the other end stays ours. A small io_uring with no setup flags.
//   arm():  two linked SQEs, one io_uring_enter: POLL_ADD(poller fd, POLLIN)
//           → SEND(our end, 1 byte). When the poller fd turns readable the
//           kernel completes the poll, queues task work on this thread (which
//           interrupts Bun's epoll_wait), runs the linked send, and Bun's loop
//           sees its end readable: one wake of this thread, no other thread.
//   data:   reap the two completions from the shared ring (no syscall) and
//           run the loop's drain.
//
// An arm that finds the poller already readable completes at once (the poll
// is level-style on the poller fd), so an event landing between the last
// drain and the arm is never lost. Bun's socket is unref'd: the loop's own
// keep-alive decides whether the process lives.
import { C, platform } from "../../ffi/platform.ts";
import { IoUring, IOSQE_IO_LINK, POLLIN } from "../../ffi/uring.ts";
import { errno, sys } from "../../ffi/libc.ts";
import { type Bridge, BridgeStartError, type BridgeStats } from "./bridge.ts";

const UD_POLL = 1;
const UD_SEND = 2;
/** Submission slots: one arm is two SQEs. */
const RING_ENTRIES = 4;
const MSG_NOSIGNAL = C.MSG_NOSIGNAL > 0 ? C.MSG_NOSIGNAL : 0;

/** Set in tests to make io_uring_setup look refused (as a sandbox would). */
const DENY_ENV = "BUN_NETPOLL_DENY_URING";

export class UringBridge implements Bridge {
  readonly name = "uring";
  readonly cheapArm = true;
  readonly stats: BridgeStats = { arms: 0, rings: 0 };
  readonly #pollFd: number;
  readonly #ring: IoUring;
  /** Our end of the socketpair: the linked send writes here. */
  readonly #ours: number;
  /** The byte the kernel sends on each wake; read by the kernel after submit. */
  readonly #byte = new Uint8Array(new ArrayBuffer(8));
  readonly #started = Promise.withResolvers<void>();
  #socket: { unref(): void; terminate(): void } | null = null;
  #pending: (() => void) | null = null;
  /** A poll+send pair is submitted and has not completed. */
  #inFlight = false;
  #closed = false;

  /** Throws BridgeStartError when io_uring or the socketpair is refused. */
  constructor(pollFd: number) {
    this.#pollFd = pollFd;
    const ring = process.env[DENY_ENV] ? { errno: platform.errno.codes.EPERM!, step: "io_uring_setup" } : IoUring.open(RING_ENTRIES);
    if (!(ring instanceof IoUring)) throw new BridgeStartError("uring", ring.step, ring.errno);
    this.#ring = ring;
    const sv = new Int32Array(new ArrayBuffer(8));
    if (sys.socketpair(C.AF_UNIX, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0, sv) !== 0) {
      const e = errno();
      ring.close();
      throw new BridgeStartError("uring", "socketpair", e);
    }
    this.#ours = sv[1]!;
    this.#byte[0] = 1;
    this.#started.promise.catch(() => {});
    // Bytes sent before Bun attaches wait in the socket, so no wake is lost
    // while this settles.
    Bun.connect({ fd: sv[0]!, socket: { data: this.#onData } } as unknown as Parameters<typeof Bun.connect>[0]).then(
      (s) => {
        const sock = s as unknown as { unref(): void; terminate(): void };
        if (this.#closed) {
          sock.terminate();
          return;
        }
        sock.unref();
        this.#socket = sock;
        this.#started.resolve();
      },
      (err: unknown) => {
        this.#started.reject(new Error(`wake bridge failed to start: ${(err as Error).message}`));
      },
    );
  }

  get started(): Promise<void> {
    return this.#started.promise;
  }

  arm(onWake: () => void): void {
    if (this.#closed) return;
    this.stats.arms++;
    this.#pending = onWake;
    if (this.#inFlight) return;
    const ring = this.#ring;
    ring.prepPoll(this.#pollFd, POLLIN, UD_POLL, IOSQE_IO_LINK);
    ring.prepSend(this.#ours, this.#byte, 1, MSG_NOSIGNAL, UD_SEND);
    const r = ring.submit();
    if (r < 0) throw new BridgeStartError("uring", "io_uring_enter", -r);
    this.#inFlight = true;
  }

  #onData = (): void => {
    // Bun has read the byte(s); the completions say the pair is done.
    let done = false;
    this.#ring.reap((ud, res) => {
      if (ud === UD_SEND || res < 0) done = true;
    });
    if (!done) return;
    this.#inFlight = false;
    const cb = this.#pending;
    if (cb === null) return;
    this.#pending = null;
    this.stats.rings++;
    cb();
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = null;
    this.#ring.close();
    this.#socket?.terminate();
    this.#socket = null;
    sys.close(this.#ours);
  }
}
