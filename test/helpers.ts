// Test helpers: raw pipes and eventfds through the FFI layer, and leak checks.
import { expect } from "bun:test";
import { errno, sys } from "../ffi/libc.ts";
import { C, E } from "../ffi/platform.ts";
import { runtimeStats } from "../src/index.ts";

/** A non-blocking pipe: [readEnd, writeEnd]. Close both with closeFd. */
export function pipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC) !== 0) throw new Error(`pipe2 failed: ${errno()}`);
  return [fds[0]!, fds[1]!];
}

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

/** Asserts the runtime holds no fd, pollDesc, timer or parked task. */
export function expectClean(): void {
  const s = runtimeStats();
  expect({ fds: s.fds, pollDescs: s.pollDescs, timers: s.timers, parked: s.parked, holds: s.holds }).toEqual({
    fds: 0,
    pollDescs: 0,
    timers: 0,
    parked: 0,
    holds: 0,
  });
}

/** Resolves after ms (a ref'd timer). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Lets pending promise continuations and one macrotask run. */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
