// Bytes for the socket tests: buffers whose memory does not move while the
// kernel reads or writes them, and one datagram received and checked.
import { expect } from "bun:test";
import type { Addr, Datagram, DatagramConn } from "../../src/index.ts";

/** A stable (non-relocating) buffer of n bytes. */
export function buf(n: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(n));
}

/**
 * A string's UTF-8 bytes, or the byte values given, in a stable buffer of
 * exactly their length (an empty one is a view of a 1-byte buffer, so the
 * pointer handed to the kernel is never null).
 */
export function bytes(s: string | number[]): Uint8Array {
  const src = typeof s === "string" ? new TextEncoder().encode(s) : Uint8Array.from(s);
  const b = buf(Math.max(1, src.length)).subarray(0, src.length);
  b.set(src);
  return b;
}

/**
 * Receives one datagram on c (into a 16-byte buffer) and asserts it holds
 * exactly `want` (text, or byte values) and, when `from` is given, that it
 * came from there. Returns it, so a reply can go to its addr.
 */
export async function expectDatagram(c: DatagramConn, want: string | number[], from?: Addr): Promise<Datagram> {
  const r = buf(16);
  const got = await c.receive(r);
  const body = r.subarray(0, got.n);
  expect(got.n).toBe(bytes(want).length);
  if (typeof want === "string") expect(new TextDecoder().decode(body)).toBe(want);
  else expect([...body]).toEqual(want);
  if (from !== undefined) expect(got.addr).toEqual(from);
  return got;
}
