// Reading a conn to its end: every byte at once, or chunk by chunk. No
// bun:test import.
import type { Conn } from "../../src/index.ts";

/** Reads c until EOF; returns every byte, in order. */
export async function readToEof(c: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of c) parts.push(chunk.slice());
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * Reads c into one buffer of size bytes until EOF, calling onChunk with a
 * view of each chunk read (valid until what onChunk returns settles; it is
 * awaited before the next read). Resolves the number of bytes read.
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
