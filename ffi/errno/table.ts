// errno number <-> name <-> message, one table per OS (libuv's uv-errno style).
// The first row for a number is its primary name; later rows are aliases.

/** One row: [name, number, message]. */
export type ErrnoRow = readonly [name: string, errno: number, message: string];
export type ErrnoTable = readonly ErrnoRow[];

/** Lookups over one OS's errno table. */
export class Errno {
  readonly #byNumber = new Map<number, ErrnoRow>();
  readonly #byName = new Map<string, ErrnoRow>();
  /** name -> number, for code that wants `E.EAGAIN` style constants. */
  readonly codes: Readonly<Record<string, number>>;

  constructor(table: ErrnoTable) {
    const codes: Record<string, number> = {};
    for (const row of table) {
      if (!this.#byNumber.has(row[1])) this.#byNumber.set(row[1], row);
      this.#byName.set(row[0], row);
      codes[row[0]] = row[1];
    }
    this.codes = codes;
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
