// A conn read chunk by chunk to EOF, each chunk handed to the test (to echo
// it, keep it, or pace the reading). No bun:test import.
import type { Conn } from "../../src/index.ts";

/**
 * Reads c into one buffer of size bytes until EOF, calling onChunk with a
 * view of each chunk read (valid until what onChunk returns settles; it is
 * awaited before the next read). Resolves the number of bytes read. (To
 * collect every byte, readToEof.)
 */
export async function eachChunk(c: Conn, size: number, onChunk: (chunk: Uint8Array) => unknown): Promise<number> {
  const buf = new Uint8Array(new ArrayBuffer(size));
  let total = 0;
  for (;;) {
    const n = await c.read(buf);
    if (n === null) return total;
    await onChunk(buf.subarray(0, n));
    total += n;
  }
}
