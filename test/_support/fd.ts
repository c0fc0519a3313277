// Raw descriptors through the FFI layer: non-blocking pipes and plain
// read/write on them. No bun:test import, so child scripts spawned by the
// tests can import this file too.
import { errno, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";

/** A non-blocking pipe: [readEnd, writeEnd]. Close both with closeFd. */
export function pipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: ${errno()}`);
  return [fds[0]!, fds[1]!];
}

/** Closes a raw fd (close(2), result ignored). */
export function closeFd(fd: number): void {
  sys.close(fd);
}

/** Writes bytes to a raw fd (all at once or throws). */
export function writeFd(fd: number, data: Uint8Array | string): number {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const buf = new Uint8Array(new ArrayBuffer(Math.max(bytes.length, 1)));
  buf.set(bytes);
  const n = sys.write(fd, buf, bytes.length);
  if (n < 0) throw new Error(`write failed: errno ${errno()}`);
  return n;
}

/** Non-blocking read from a raw fd: bytes, null on EAGAIN, empty on EOF. */
export function readFd(fd: number, max = 65536): Uint8Array | null {
  const buf = new Uint8Array(new ArrayBuffer(max));
  const n = sys.read(fd, buf, max);
  if (n < 0) {
    if (errno() === E.EAGAIN) return null;
    throw new Error(`read failed: errno ${errno()}`);
  }
  return buf.slice(0, n);
}
