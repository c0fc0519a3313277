// io_uring (Linux ≥ 5.6) through bun:ffi, just enough for the wake bridge:
// set up a small ring, map it, queue SQEs, submit, and reap CQEs from the
// shared completion ring without a syscall.
//
// ABI: there is no libc wrapper for io_uring_setup/enter, so they go through
// libc's variadic `syscall(long number, ...)` bound with a fixed prototype of
// integer arguments. That is correct where variadic integer arguments are
// passed like named ones, in the same registers: x86_64 (SysV) and Linux
// aarch64 (AAPCS64). io_uring exists only on Linux, and both architectures
// share the unified syscall numbers used here (asm-generic: 425, 426).
// Pointer arguments are passed as ptr() numbers computed in the same
// statement as the call, never kept.
//
// Memory: the rings are kernel memory mapped into this process (mmap of the
// ring fd). They do not move and live until munmap, so viewing them through
// toArrayBuffer() is safe while the IoUring object is open; every view is
// dropped by close() before the unmap. Buffers the kernel reads later (a SEND's
// data) must be `new Uint8Array(new ArrayBuffer(n))` held by the caller for as
// long as the request can run.
import { dlopen, FFIType, type Pointer, ptr, read, toArrayBuffer } from "bun:ffi";
import { getU64, setU64 } from "./layout.ts";
import { platform } from "./platform.ts";

const { i32, i64, u64, ptr: P, i64_fast } = FFIType;

/** Syscall numbers (asm-generic and x86_64 agree for io_uring). */
const NR = { io_uring_setup: 425, io_uring_enter: 426 } as const;

/** `struct io_uring_params` (120 bytes) and its two offset blocks. */
export const URING_PARAMS = {
  size: 120,
  sq_entries: 0,
  cq_entries: 4,
  flags: 8,
  features: 20,
  sq_off: 40,
  cq_off: 80,
} as const;
/** `struct io_sqring_offsets` (inside the params, at sq_off). */
export const SQRING_OFF = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, flags: 16, dropped: 20, array: 24 } as const;
/** `struct io_cqring_offsets` (inside the params, at cq_off). */
export const CQRING_OFF = { head: 0, tail: 4, ring_mask: 8, ring_entries: 12, overflow: 16, cqes: 20 } as const;
/** `struct io_uring_sqe` (64 bytes). */
export const SQE = {
  size: 64,
  opcode: 0,
  flags: 1,
  ioprio: 2,
  fd: 4,
  off: 8,
  addr: 16,
  len: 24,
  /** poll32_events, rw_flags, msg_flags … (a union) */
  op_flags: 28,
  user_data: 32,
} as const;
/** `struct io_uring_cqe` (16 bytes, without IORING_SETUP_CQE32). */
export const CQE = { size: 16, user_data: 0, res: 8, flags: 12 } as const;

export const IORING_OP_POLL_ADD = 6;
export const IORING_OP_SEND = 26;
/** sqe.flags: the next SQE starts only after this one completes successfully. */
export const IOSQE_IO_LINK = 1 << 2;
const IORING_OFF_SQ_RING = 0;
const IORING_OFF_SQES = 0x10000000;
/** One mmap covers the SQ and CQ rings (Linux ≥ 5.4). */
const IORING_FEAT_SINGLE_MMAP = 1 << 0;
export const POLLIN = 0x001;

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x01;
const MAP_POPULATE = 0x08000;

let lib: ReturnType<typeof load> | null = null;
function load() {
  const l = dlopen(platform.libc, {
    // Variadic: see the ABI note at the top of this file.
    syscall: { args: [i64, i64, i64, i64, i64, i64, i64], returns: i64_fast },
    // Returns void*; as an integer so MAP_FAILED is exactly -1.
    mmap: { args: [P, u64, i32, i32, i32, i64], returns: i64_fast },
    munmap: { args: [P, u64], returns: i32 },
    close: { args: [i32], returns: i32 },
    __errno_location: { args: [], returns: P },
  });
  const s = l.symbols;
  // i64_fast returns a number whenever the value fits in 53 bits, which every
  // result here (an fd, a count, -1) does.
  const syscall = (nr: number, a: number, b: number, c: number, d: number, e: number, f: number): number =>
    s.syscall(nr, a, b, c, d, e, f) as number;
  const mmap = (len: number, prot: number, flags: number, fd: number, off: number): number =>
    s.mmap(null, len, prot, flags, fd, off) as number;
  return { s: { ...s, syscall, mmap }, errnoPtr: s.__errno_location() as Pointer };
}
function libc() {
  if (platform.os !== "linux") throw new Error("io_uring is Linux-only");
  lib ??= load();
  return lib;
}

/**
 * A small io_uring, set up with no flags: completions that need task work
 * interrupt the submitting thread's sleep (TWA_SIGNAL), which is what lets a
 * completion wake Bun's own event loop on the main thread.
 */
export class IoUring {
  readonly fd: number;
  readonly #ringPtr: Pointer;
  readonly #ringLen: number;
  readonly #sqesPtr: Pointer;
  readonly #sqesLen: number;
  #ring: DataView | null;
  #ring32: Uint32Array | null;
  #sqes: DataView | null;
  #sqes8: Uint8Array | null;
  readonly #sqHead: number;
  readonly #sqTail: number;
  readonly #sqMask: number;
  readonly #sqArray: number;
  readonly #cqHead: number;
  readonly #cqTail: number;
  readonly #cqMask: number;
  readonly #cqes: number;
  #queued = 0;

  private constructor(fd: number, p: DataView, ringPtr: Pointer, ringLen: number, sqesPtr: Pointer, sqesLen: number) {
    this.fd = fd;
    this.#ringPtr = ringPtr;
    this.#ringLen = ringLen;
    this.#sqesPtr = sqesPtr;
    this.#sqesLen = sqesLen;
    this.#ring = new DataView(toArrayBuffer(ringPtr, 0, ringLen));
    this.#ring32 = new Uint32Array(this.#ring.buffer);
    this.#sqes = new DataView(toArrayBuffer(sqesPtr, 0, sqesLen));
    this.#sqes8 = new Uint8Array(this.#sqes.buffer);
    const sq = URING_PARAMS.sq_off;
    const cq = URING_PARAMS.cq_off;
    this.#sqHead = p.getUint32(sq + SQRING_OFF.head, true);
    this.#sqTail = p.getUint32(sq + SQRING_OFF.tail, true);
    this.#sqMask = this.#ring.getUint32(p.getUint32(sq + SQRING_OFF.ring_mask, true), true);
    this.#sqArray = p.getUint32(sq + SQRING_OFF.array, true);
    this.#cqHead = p.getUint32(cq + CQRING_OFF.head, true);
    this.#cqTail = p.getUint32(cq + CQRING_OFF.tail, true);
    this.#cqMask = this.#ring.getUint32(p.getUint32(cq + CQRING_OFF.ring_mask, true), true);
    this.#cqes = p.getUint32(cq + CQRING_OFF.cqes, true);
  }

  /**
   * Sets up a ring with `entries` submission slots. Returns the ring, or the
   * errno of the step that failed (`step` names it: io_uring_setup is refused
   * with EPERM/ENOSYS where a sandbox forbids io_uring).
   */
  static open(entries: number): IoUring | { errno: number; step: string } {
    const { s, errnoPtr } = libc();
    const params = new Uint8Array(new ArrayBuffer(URING_PARAMS.size));
    const fd = s.syscall(NR.io_uring_setup, entries, ptr(params), 0, 0, 0, 0);
    if (fd < 0) return { errno: read.i32(errnoPtr, 0), step: "io_uring_setup" };
    const p = new DataView(params.buffer);
    if ((p.getUint32(URING_PARAMS.features, true) & IORING_FEAT_SINGLE_MMAP) === 0) {
      s.close(fd);
      return { errno: 0, step: "io_uring_setup (no IORING_FEAT_SINGLE_MMAP)" };
    }
    const sqLen = p.getUint32(URING_PARAMS.sq_off + SQRING_OFF.array, true) + p.getUint32(URING_PARAMS.sq_entries, true) * 4;
    const cqLen = p.getUint32(URING_PARAMS.cq_off + CQRING_OFF.cqes, true) + p.getUint32(URING_PARAMS.cq_entries, true) * CQE.size;
    const ringLen = Math.max(sqLen, cqLen);
    const sqesLen = p.getUint32(URING_PARAMS.sq_entries, true) * SQE.size;
    const prot = PROT_READ | PROT_WRITE;
    const flags = MAP_SHARED | MAP_POPULATE;
    const ring = s.mmap(ringLen, prot, flags, fd, IORING_OFF_SQ_RING) as Pointer;
    if (ring === -1) {
      const e = read.i32(errnoPtr, 0);
      s.close(fd);
      return { errno: e, step: "mmap" };
    }
    const sqes = s.mmap(sqesLen, prot, flags, fd, IORING_OFF_SQES) as Pointer;
    if (sqes === -1) {
      const e = read.i32(errnoPtr, 0);
      s.munmap(ring, ringLen);
      s.close(fd);
      return { errno: e, step: "mmap" };
    }
    return new IoUring(fd, p, ring, ringLen, sqes, sqesLen);
  }

  #sqe(): number {
    const r32 = this.#ring32!;
    const tail = (Atomics.load(r32, this.#sqTail >> 2) + this.#queued) >>> 0;
    const head = Atomics.load(r32, this.#sqHead >> 2);
    if (((tail - head) >>> 0) > this.#sqMask) throw new Error("io_uring submission queue full");
    const idx = tail & this.#sqMask;
    this.#ring!.setUint32(this.#sqArray + idx * 4, idx, true);
    const at = idx * SQE.size;
    this.#sqes8!.fill(0, at, at + SQE.size);
    this.#queued++;
    return at;
  }

  /** Queues a one-shot poll of `fd` for `events` (POLLIN …). */
  prepPoll(fd: number, events: number, userData: number, sqeFlags: number): void {
    const at = this.#sqe();
    const v = this.#sqes!;
    v.setUint8(at + SQE.opcode, IORING_OP_POLL_ADD);
    v.setUint8(at + SQE.flags, sqeFlags);
    v.setInt32(at + SQE.fd, fd, true);
    v.setUint32(at + SQE.op_flags, events, true);
    setU64(v, at + SQE.user_data, userData);
  }

  /** Queues a send of `len` bytes of `buf` (the caller keeps buf alive). */
  prepSend(fd: number, buf: Uint8Array, len: number, msgFlags: number, userData: number): void {
    const at = this.#sqe();
    const v = this.#sqes!;
    v.setUint8(at + SQE.opcode, IORING_OP_SEND);
    v.setInt32(at + SQE.fd, fd, true);
    setU64(v, at + SQE.addr, ptr(buf));
    v.setUint32(at + SQE.len, len, true);
    v.setUint32(at + SQE.op_flags, msgFlags, true);
    setU64(v, at + SQE.user_data, userData);
  }

  /** Publishes the queued SQEs and submits them. Returns the count, or −errno. */
  submit(): number {
    const n = this.#queued;
    if (n === 0) return 0;
    const r32 = this.#ring32!;
    Atomics.store(r32, this.#sqTail >> 2, (Atomics.load(r32, this.#sqTail >> 2) + n) >>> 0);
    this.#queued = 0;
    const { s, errnoPtr } = libc();
    const r = s.syscall(NR.io_uring_enter, this.fd, n, 0, 0, 0, 0);
    return r < 0 ? -read.i32(errnoPtr, 0) : r;
  }

  /** Calls `each` for every completion posted so far and frees their slots. No syscall. */
  reap(each: (userData: number, res: number) => void): number {
    const r32 = this.#ring32!;
    const v = this.#ring!;
    let head = Atomics.load(r32, this.#cqHead >> 2);
    const tail = Atomics.load(r32, this.#cqTail >> 2);
    let n = 0;
    while (head !== tail) {
      const at = this.#cqes + (head & this.#cqMask) * CQE.size;
      each(getU64(v, at + CQE.user_data), v.getInt32(at + CQE.res, true));
      head = (head + 1) >>> 0;
      n++;
    }
    Atomics.store(r32, this.#cqHead >> 2, head);
    return n;
  }

  /** Unmaps the rings and closes the ring fd (which cancels what is in flight). */
  close(): void {
    if (this.#ring === null) return;
    this.#ring = null;
    this.#ring32 = null;
    this.#sqes = null;
    this.#sqes8 = null;
    const { s } = libc();
    s.munmap(this.#sqesPtr, this.#sqesLen);
    s.munmap(this.#ringPtr, this.#ringLen);
    s.close(this.fd);
  }
}
