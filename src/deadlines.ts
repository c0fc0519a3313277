// The deadline setters Conn, DatagramConn and PollFd share: Go's absolute
// deadlines and the relative form (ms from now), per direction. The read
// side governs read / receive / waitReadable, the write side write / send /
// waitWritable.
import type { Deadline, Timeout } from "./runtime/deadline.ts";
import type { FD } from "./runtime/fd.ts";

/** Deadlines of a descriptor's two directions, in both forms. */
export abstract class DeadlineSetters {
  /** @internal The descriptor whose directions the deadlines govern. */
  protected abstract get deadlineFd(): FD;

  /**
   * Sets the read and write deadlines (absolute: epoch ms, a Date, or null for none); see setReadDeadline.
   *
   * @throws {TypeError} t is not a number, a Date or null, or is NaN or an invalid Date
   * @throws {RangeError} a number before 1971, taken for a misplaced duration
   * @throws {ClosedError} after close()
   */
  setDeadline(t: Deadline): void { this.deadlineFd.setDeadline("rw", t, "setDeadline"); }

  /**
   * Sets the read deadline, an absolute time as in Go (epoch ms, e.g.
   * `Date.now() + 5000`, or a Date): a read (receive, waitReadable) parked
   * or started after it passes rejects with DeadlineExceededError. A past
   * time fails reads at once (even with data buffered); null, 0 or Infinity
   * clears it. Moving it while a read is parked re-times that read. For
   * "5 s from now" use setReadTimeout(5000). A number before 1971 (e.g.
   * 1000) is taken for a misplaced duration and throws RangeError; a Date is
   * never second-guessed.
   *
   * @throws {TypeError} t is not a number, a Date or null, or is NaN or an invalid Date
   * @throws {RangeError} a number before 1971, taken for a misplaced duration
   * @throws {ClosedError} after close()
   */
  setReadDeadline(t: Deadline): void { this.deadlineFd.setDeadline("r", t, "setReadDeadline"); }

  /**
   * Sets the write deadline (absolute) of write, send and waitWritable; see setReadDeadline.
   *
   * @throws {TypeError} t is not a number, a Date or null, or is NaN or an invalid Date
   * @throws {RangeError} a number before 1971, taken for a misplaced duration
   * @throws {ClosedError} after close()
   */
  setWriteDeadline(t: Deadline): void { this.deadlineFd.setDeadline("w", t, "setWriteDeadline"); }

  /**
   * Sets the read deadline to ms from now: `setReadTimeout(5000)` is
   * `setReadDeadline(Date.now() + 5000)` on the monotonic clock. It is one
   * deadline, not a per-read idle timer: call it again before each read to
   * bound each one. null or 0 clears it; a negative ms fails reads at once.
   *
   * @throws {TypeError} ms is not a number or null, or is NaN
   * @throws {ClosedError} after close()
   */
  setReadTimeout(ms: Timeout): void { this.deadlineFd.setTimeout("r", ms, "setReadTimeout"); }

  /**
   * Sets the write deadline to ms from now; see setReadTimeout.
   *
   * @throws {TypeError} ms is not a number or null, or is NaN
   * @throws {ClosedError} after close()
   */
  setWriteTimeout(ms: Timeout): void { this.deadlineFd.setTimeout("w", ms, "setWriteTimeout"); }

  /**
   * Sets the read and write deadlines to ms from now; see setReadTimeout.
   *
   * @throws {TypeError} ms is not a number or null, or is NaN
   * @throws {ClosedError} after close()
   */
  setTimeout(ms: Timeout): void { this.deadlineFd.setTimeout("rw", ms, "setTimeout"); }
}
