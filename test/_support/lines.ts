// Newline-delimited text over a Conn, for tests that speak a line protocol to
// a server: every read has a deadline, so a silent server fails the test with
// DeadlineExceededError instead of stalling it. No bun:test import.
import type { Conn } from "../../src/index.ts";

const enc = new TextEncoder();

/** A line-oriented client on a Conn; keeps every line it read. */
export class LineConn {
  /** Every line line() returned, in order. */
  readonly lines: string[] = [];
  #text = "";
  #eof = false;
  readonly #buf = new Uint8Array(new ArrayBuffer(64 * 1024));
  readonly #dec = new TextDecoder();

  /** ms: how long each read of line() may wait for data, unless the call says otherwise. */
  constructor(
    readonly conn: Conn,
    readonly ms = 3000,
  ) {}

  /** The next line (without "\n"), or null at EOF. Each read waits at most ms for data. */
  async line(ms = this.ms): Promise<string | null> {
    for (;;) {
      const i = this.#text.indexOf("\n");
      if (i >= 0) {
        const line = this.#text.slice(0, i);
        this.#text = this.#text.slice(i + 1);
        this.lines.push(line);
        return line;
      }
      if (this.#eof) return null;
      this.conn.setReadDeadline(Date.now() + ms);
      const n = await this.conn.read(this.#buf);
      if (n === null) this.#eof = true;
      else this.#text += this.#dec.decode(this.#buf.subarray(0, n), { stream: true });
    }
  }

  /** Writes line and "\n". */
  send(line: string): Promise<number> {
    return this.conn.write(enc.encode(`${line}\n`));
  }

  /** Takes the text read but not yet returned as a line (the start of an unfinished one). */
  takeRest(): string {
    const rest = this.#text;
    this.#text = "";
    return rest;
  }
}
