// pollFd: any descriptor the caller owns (pipe, eventfd, inotify, timerfd,
// signalfd, a C library's socket) joins the loop.
import type { ErrorContext } from "./errors.ts";
import { optionKeys, optionsError, type SignalOptions } from "./options.ts";
import type { Deadline, Timeout } from "./runtime/deadline.ts";
import { type Dir, FD } from "./runtime/fd.ts";

export interface WaitOptions extends SignalOptions {
  /**
   * Sets this direction's deadline before waiting, exactly as
   * setReadDeadline / setWriteDeadline would (it stays set afterwards): an
   * absolute time (epoch ms or a Date).
   */
  readonly deadline?: Deadline;
  /**
   * The same, as ms from now (setReadTimeout / setWriteTimeout). Give
   * deadline or timeout, not both.
   */
  readonly timeout?: Timeout;
}

const WAIT_KEYS = optionKeys<WaitOptions>({ signal: true, deadline: true, timeout: true });

/**
 * A caller-owned descriptor registered with the netpoller.
 *
 * The registration is edge-triggered: a wait resolves when the descriptor
 * *becomes* readable (or writable) after it was not. So the contract is:
 * read (or write) until the call fails with EAGAIN, and only then wait again.
 * Waiting while data is still unread may park forever. Wakeups may also be
 * spurious: after a wait resolves, the next read may still say EAGAIN; just
 * wait again. The descriptor should be non-blocking (O_NONBLOCK).
 *
 * `close()` takes the descriptor out of the loop and rejects parked waits with
 * ClosedError; closing the descriptor itself stays the caller's job.
 *
 * Ordering: call `p.close()` first, then close the descriptor. The kernel
 * reuses a closed number at once, and the poller deregisters by number; so
 * if the descriptor was closed first, `p.close()` finds (by device and
 * inode, remembered at registration) that the number names another file now
 * and leaves it alone: closing the file already took it out of the poller.
 * (Two open files of one inode, e.g. a FIFO opened twice, cannot be told
 * apart this way: keep the order for those.)
 *
 * ```ts
 * const p = pollFd(pipeReadEnd);
 * for (;;) {
 *   const n = readNonBlocking(pipeReadEnd, buf); // your FFI read
 *   if (n > 0) { use(buf, n); continue; }
 *   if (n === 0) break;                           // EOF
 *   await p.waitReadable();                       // EAGAIN: park
 * }
 * p.close();
 * ```
 */
export class PollFd {
  /** The descriptor number (still the caller's). */
  readonly fd: number;
  readonly #fd: FD;

  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`pollFd: not a file descriptor: ${fd}`);
    const ctx: ErrorContext = { net: "fd", address: String(fd) };
    this.fd = fd;
    this.#fd = new FD(fd, { socket: false, owned: false, ctx });
  }

  /**
   * Resolves when the descriptor becomes readable (or reports EOF / an error,
   * which the caller's next read will show). Rejects with ClosedError after
   * close(), DeadlineExceededError when the read deadline passes, or
   * `signal.reason` on abort. Waits on one PollFd are served in FIFO order.
   */
  waitReadable(opts?: WaitOptions): Promise<void> {
    return this.#wait("r", "waitReadable", opts);
  }

  /** Like waitReadable, for writability and the write deadline. */
  waitWritable(opts?: WaitOptions): Promise<void> {
    return this.#wait("w", "waitWritable", opts);
  }

  async #wait(d: Dir, op: string, opts?: WaitOptions): Promise<void> {
    const bad = optionsError(op, opts, WAIT_KEYS);
    if (bad !== null) throw bad;
    if (opts?.deadline !== undefined && opts.timeout !== undefined) throw new TypeError(`${op}: give deadline or timeout, not both`);
    if (opts?.deadline !== undefined) this.#fd.setDeadline(d, opts.deadline, op);
    if (opts?.timeout !== undefined) this.#fd.setTimeout(d, opts.timeout, op);
    await this.#fd.waitOnce(d, op, opts?.signal);
  }

  /** Sets both deadlines (absolute: epoch ms, a Date, or null for none). */
  setDeadline(t: Deadline): void {
    this.#fd.setDeadline("rw", t, "setDeadline");
  }

  /**
   * Sets the deadline of waitReadable, an absolute time (epoch ms or a
   * Date; null clears it). A number before 1971 throws RangeError: for a
   * duration use setReadTimeout(ms).
   */
  setReadDeadline(t: Deadline): void {
    this.#fd.setDeadline("r", t, "setReadDeadline");
  }

  /** Sets the deadline of waitWritable (absolute); see setReadDeadline. */
  setWriteDeadline(t: Deadline): void {
    this.#fd.setDeadline("w", t, "setWriteDeadline");
  }

  /** Sets the deadline of waitReadable to ms from now (null or 0 clears it). */
  setReadTimeout(ms: Timeout): void {
    this.#fd.setTimeout("r", ms, "setReadTimeout");
  }

  /** Sets the deadline of waitWritable to ms from now (null or 0 clears it). */
  setWriteTimeout(ms: Timeout): void {
    this.#fd.setTimeout("w", ms, "setWriteTimeout");
  }

  /** Sets both deadlines to ms from now (null or 0 clears them). */
  setTimeout(ms: Timeout): void {
    this.#fd.setTimeout("rw", ms, "setTimeout");
  }

  get closed(): boolean {
    return this.#fd.closing;
  }

  /**
   * Takes the descriptor out of the loop and rejects parked waits with
   * ClosedError. Does not close the descriptor. A second call throws ClosedError.
   */
  close(): void {
    void this.#fd.close();
  }
}

/** Registers a caller-owned descriptor with the netpoller. See PollFd. */
export function pollFd(fd: number): PollFd {
  return new PollFd(fd);
}
