// go(): start a task. As in Go, an error that escapes a task is not
// swallowed: it is reported as an uncaught exception (which ends the
// process, like a panic in a goroutine) unless a handler is installed.

/** Receives errors that escape tasks started with go(). */
export type TaskErrorHandler = (err: unknown) => void;

let handler: TaskErrorHandler | null = null;

/**
 * Installs a handler for errors escaping tasks (null restores the default:
 * rethrow as an uncaught exception). Returns the previous handler.
 */
export function setTaskErrorHandler(h: TaskErrorHandler | null): TaskErrorHandler | null {
  const prev = handler;
  handler = h;
  return prev;
}

/**
 * Starts fn as a task and returns at once. The returned promise settles when
 * the task ends and never rejects: an error is reported (see
 * setTaskErrorHandler) instead.
 *
 * ```ts
 * go(async () => { for await (const v of ch) console.log(v); });
 * ```
 */
export function go<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Promise<void> {
  let result: unknown;
  try {
    result = fn(...args);
  } catch (err) {
    report(err);
    return Promise.resolve();
  }
  return Promise.resolve(result).then(
    () => undefined,
    (err) => report(err),
  );
}

function report(err: unknown): void {
  if (handler !== null) {
    try {
      handler(err);
      return;
    } catch (handlerErr) {
      err = handlerErr; // a throwing handler is itself reported the default way
    }
  }
  // Rethrown outside any promise chain: an uncaught exception, never an
  // unnoticed rejection.
  setTimeout(() => {
    throw err;
  }, 0);
}
