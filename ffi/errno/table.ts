// errno number <-> name <-> message, one table per OS (libuv's uv-errno style).
// The first row for a number is its primary name; later rows are aliases.

/** One row: [name, number, message]. */
export type ErrnoRow = readonly [name: string, errno: number, message: string];
export type ErrnoTable = readonly ErrnoRow[];

/**
 * errno names every supported OS defines (checked against each table in
 * test/ffi/errno.test.ts): `E.EAGAIN` is a number for these, so code that
 * uses them type-checks under `noPropertyAccessFromIndexSignature`.
 */
export const COMMON_ERRNO_NAMES = [
  "EPERM", "ENOENT", "EINTR", "EIO", "EBADF", "EAGAIN", "EWOULDBLOCK", "ENOMEM", "EACCES", "EFAULT", "EEXIST",
  "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOSPC", "EPIPE", "ERANGE", "ENAMETOOLONG", "ENOSYS",
  "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT", "EOPNOTSUPP",
  "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ECONNABORTED", "ECONNRESET",
  "ENOBUFS", "EISCONN", "ENOTCONN", "ETIMEDOUT", "ECONNREFUSED", "EHOSTUNREACH", "EALREADY", "EINPROGRESS",
  "EPROTO",
] as const;
export type CommonErrnoName = (typeof COMMON_ERRNO_NAMES)[number];
/** errno numbers by name: the common names are always there; others may be undefined on some OS. */
export type ErrnoCodes = Readonly<Record<CommonErrnoName, number>> & Readonly<Record<string, number | undefined>>;

/** Lookups over one OS's errno table. */
export class Errno {
  readonly #byNumber = new Map<number, ErrnoRow>();
  readonly #byName = new Map<string, ErrnoRow>();
  /** name -> number, for code that wants `E.EAGAIN` style constants. */
  readonly codes: ErrnoCodes;

  constructor(table: ErrnoTable) {
    const codes: Record<string, number> = {};
    for (const row of table) {
      if (!this.#byNumber.has(row[1])) this.#byNumber.set(row[1], row);
      this.#byName.set(row[0], row);
      codes[row[0]] = row[1];
    }
    this.codes = codes as ErrnoCodes;
  }

  /** Primary name of an errno number, or `E<number>` when unknown. */
  name(errno: number): string {
    return this.#byNumber.get(errno)?.[0] ?? `E${errno}`;
  }

  /** strerror() text of an errno number. */
  message(errno: number): string {
    return this.#byNumber.get(errno)?.[2] ?? `Unknown error ${errno}`;
  }

  /** Number of an errno name, or undefined when this OS has no such name. */
  number(name: string): number | undefined {
    return this.#byName.get(name)?.[1];
  }
}
