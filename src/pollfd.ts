// pollFd: any descriptor the caller owns (pipe, eventfd, inotify, timerfd,
// signalfd, a C library's socket) joins the loop.
//
// Level mode, and why it is built this way. The registration stays the
// edge-triggered one every descriptor has (one epoll_ctl at pollFd(), none on
// the wait path). A level wait asks the kernel, not a stored flag: poll(2)
// with a zero timeout on this one descriptor; ready → resolve, not ready →
// park on the edge registration, and ask again after any wakeup. Nothing runs
// between that poll and the park, so an edge after the poll is queued by the
// poller and wakes the park. Three known pitfalls of readiness wrappers:
// - A readiness flag the caller clears races with a new edge that arrives
//   between its EAGAIN and the clear (tokio's AsyncFd clear_ready, tokio
//   #6302): here there is no flag to clear; each wait reads the kernel's state.
// - Hang-up readiness that no clear removes makes "readable" true forever
//   while reads say EAGAIN, spinning the caller (tokio #4549: a socket
//   registered before connect reports HUP): here HUP counts only while
//   poll(2) reports it now, and the loop never re-reports an edge on its own,
//   so a hung-up descriptor with nobody waiting costs nothing.
// - A wrapper that forwards only the events it subscribed to can miss EOF, so
//   the caller never reads the 0 that ends its stream (libuv #2428, uv_poll on
//   a descriptor at EOF): here POLLHUP and POLLERR always resolve a level wait,
//   read or write, and the caller's own read or write then shows EOF or the
//   error. Descriptors the poller cannot watch at all (regular files on epoll)
//   fail pollFd() with a typed error instead of never waking.
import { type ErrorContext, NetError } from "./errors.ts";
import { checkOptions, optionKeys, optionsError, type SignalOptions } from "./options.ts";
import type { Deadline, Timeout } from "./runtime/deadline.ts";
import { type Dir, FD } from "./runtime/fd.ts";
import { DeadlineSetters } from "./deadlines.ts";

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
const POLLFD_KEYS = optionKeys<PollFdOptions>({ mode: true });
/** How a PollFd's waits read readiness. */
export type PollMode = "edge" | "level";

export interface PollFdOptions {
  /**
   * "edge" (the default): a wait resolves when the descriptor *becomes*
   * ready; read or write until EAGAIN before waiting again. "level": a wait
   * resolves at once while the descriptor *is* ready (or hung up, or in
   * error); for C libraries that read once per wakeup (libpq, libcurl).
   * See PollFd.
   */
  readonly mode?: PollMode;
}

/**
 * A caller-owned descriptor registered with the netpoller.
 *
 * Edge mode (the default): a wait resolves when the descriptor *becomes*
 * readable (or writable) after it was not. So the contract is: read (or
 * write) until the call fails with EAGAIN, and only then wait again.
 * Waiting while data is still unread may park forever. Wakeups may also be
 * spurious: after a wait resolves, the next read may still say EAGAIN; just
 * wait again. The descriptor should be non-blocking (O_NONBLOCK).
 *
 * Level mode (`pollFd(fd, { mode: "level" })`): a wait first asks the kernel
 * whether the descriptor is ready now (poll(2) on this one descriptor, zero
 * timeout) and resolves at once if it is readable (writable), hung up or in
 * error; otherwise it parks on the same edge-triggered registration and asks
 * again after each wakeup. This is the contract of C libraries that own
 * their socket and do one recv per "readable" (libpq's PQconsumeInput) or
 * report "want write" again without having written: waiting while the
 * descriptor is still ready never hangs. Nothing is stored between waits, so
 * there is no readiness flag to clear and none to go stale. A hung-up
 * descriptor stays "readable" to every level wait (the caller's read then
 * sees EOF or the error); a caller that waits again without reading spins by
 * its own choice, while the loop itself sees one edge and stays idle.
 *
 * Replaced descriptors: each wait (both modes) first checks that the number
 * still names the file it named at registration (device and inode). A C
 * library that closes its socket and opens a new one, which gets the same
 * number (libpq trying the next address), silently loses the old
 * registration; the wait registers the new file in its place and goes on.
 * A wait already parked when that happens is not woken by it. If the number
 * was closed, the wait rejects with NetError EBADF; if it now names a
 * descriptor this runtime watches for someone else, NetError EEXIST.
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
export class PollFd extends DeadlineSetters {
  /** The descriptor number (still the caller's). */
  readonly fd: number;
  /** "edge" or "level" (see PollFdOptions). */
  readonly mode: PollMode;
  readonly #fd: FD;

  /**
   * Registers fd. Throws TypeError for a bad fd or mode, and NetError (op
   * "register") when the poller refuses the descriptor: EPERM on epoll for
   * a regular file or a directory (always ready: read it directly), EEXIST
   * when it is registered already, EBADF when it is not open.
   *
   * @throws {TypeError} fd is not a descriptor number, an unknown option, or a bad mode
   * @throws {NetError} the poller refused the descriptor (op "register": EPERM, EEXIST, EBADF)
   */
  constructor(fd: number, opts?: PollFdOptions) {
    super();
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`pollFd: not a file descriptor: ${fd}`);
    checkOptions("pollFd", opts, POLLFD_KEYS);
    const mode = opts?.mode ?? "edge";
    if (mode !== "edge" && mode !== "level") throw new TypeError(`pollFd: mode must be "edge" or "level", not ${String(mode)}`);
    const ctx: ErrorContext = { net: "fd", address: String(fd) };
    this.fd = fd;
    this.mode = mode;
    try {
      this.#fd = new FD(fd, { socket: false, owned: false, ctx });
    } catch (err) {
      if (err instanceof NetError && err.code === "EPERM" && err.syscall === "epoll_ctl") {
        throw new NetError(
          { op: err.op, code: err.code, errno: err.errno, syscall: err.syscall, net: err.net, address: err.address },
          "epoll cannot watch this kind of file (a regular file or a directory is always ready: read it directly)",
        );
      }
      throw err;
    }
  }

  /** @internal */
  protected override get deadlineFd(): FD {
    return this.#fd;
  }

  /**
   * Edge mode: resolves when the descriptor becomes readable (or reports EOF
   * / an error, which the caller's next read will show). Level mode:
   * resolves at once while it is readable, hung up or in error, else as in
   * edge mode. Rejects with ClosedError after close(),
   * DeadlineExceededError when the read deadline passes, `signal.reason` on
   * abort, or NetError when the number was closed (EBADF), taken by
   * another registered descriptor (EEXIST), or (level mode) poll(2) failed.
   * Waits on one PollFd are served in FIFO order.
   *
   * Errors are rejections of the returned promise.
   * @throws {ClosedError} after close()
   * @throws {DeadlineExceededError} the read deadline passed (timeout === true)
   * @throws {NetError} the number was closed (EBADF) or taken by another registered descriptor (EEXIST); level mode: poll(2) failed
   * @throws {TypeError} an unknown option, both deadline and timeout, or a bad timeout
   * @throws {RangeError} a deadline number before 1971 (a misplaced duration)
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  waitReadable(opts?: WaitOptions): Promise<void> {
    return this.#wait("r", "waitReadable", opts);
  }

  /**
   * Like waitReadable, for writability and the write deadline.
   *
   * Errors are rejections of the returned promise.
   * @throws {ClosedError} after close()
   * @throws {DeadlineExceededError} the write deadline passed (timeout === true)
   * @throws {NetError} EBADF / EEXIST as for waitReadable
   * @throws {TypeError} an unknown option, both deadline and timeout, or a bad timeout
   * @throws {RangeError} a deadline number before 1971
   * @throws {DOMException} AbortError (or the signal's own reason) when opts.signal aborts
   */
  waitWritable(opts?: WaitOptions): Promise<void> {
    return this.#wait("w", "waitWritable", opts);
  }

  // Not async: an edge wait returns the FD's own promise, so a wakeup
  // settles the caller's await with no extra hop. Errors are rejections.
  #wait(d: Dir, op: string, opts?: WaitOptions): Promise<void> {
    if (opts !== undefined) {
      try {
        this.#options(d, op, opts);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.mode === "level") return this.#fd.waitLevel(d, op, opts?.signal);
    return this.#fd.waitOnce(d, op, opts?.signal);
  }

  #options(d: Dir, op: string, opts: WaitOptions): void {
    const bad = optionsError(op, opts, WAIT_KEYS);
    if (bad !== null) throw bad;
    if (opts.deadline !== undefined && opts.timeout !== undefined) throw new TypeError(`${op}: give deadline or timeout, not both`);
    if (opts.deadline !== undefined) this.#fd.setDeadline(d, opts.deadline, op);
    if (opts.timeout !== undefined) this.#fd.setTimeout(d, opts.timeout, op);
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

/**
 * Registers a caller-owned descriptor with the netpoller, edge-triggered
 * unless `{ mode: "level" }`. See PollFd (and its constructor for what it
 * throws).
 *
 * @throws {TypeError} fd is not a descriptor number, an unknown option, or a bad mode
 * @throws {NetError} the poller refused the descriptor (EPERM for a regular file on epoll, EEXIST, EBADF)
 */
export function pollFd(fd: number, opts?: PollFdOptions): PollFd {
  return new PollFd(fd, opts);
}
