// Reading a conn to its end.
import type { Conn } from "../../src/index.ts";

/** Reads c until EOF; returns every byte, in order. */
export async function readToEof(c: Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of c) parts.push(chunk.slice());
  return new Uint8Array(Buffer.concat(parts));
}
