// iovec arrays and msghdr packing for writev(2) / sendmsg(2), with this OS's
// msghdr layout. The only place outside libc.ts that takes raw pointers:
// each pointer is taken and written into the struct right before the call
// that uses it, in the same synchronous block, and never kept.
import { ptr } from "bun:ffi";
import { type CmsghdrLayout, cmsghdrLayout, getU64, IOVEC, type MsghdrLayout, msghdrLayout, setU64 } from "./layout.ts";
import { platform } from "./platform.ts";


/** This OS's `struct msghdr`. */
export const MSGHDR: MsghdrLayout = msghdrLayout(platform.os);
/** This OS's `struct cmsghdr` and CMSG_* alignment. */
export const CMSGHDR: CmsghdrLayout = cmsghdrLayout(platform.os);

function setWord(v: DataView, at: number, size: 4 | 8, n: number): void {
  if (size === 8) setU64(v, at, n);
  else v.setUint32(at, n, true);
}

/** The address of b's first byte plus `start`. A `.buffer` access first pins a small typed array, which could otherwise move. */
function addressOf(b: Uint8Array, start: number): number {
  void b.buffer;
  return ptr(b) + start;
}

/**
 * A fixed array of `struct iovec` (and the msghdr pointing at it), owned by
 * one long-lived object. Fill with set(), then call writev(bytes, count) or
 * sendmsg(header(count)) before anything else runs.
 */
export class IoVecs {
  readonly capacity: number;
  /** The iovec array (writev's argument). */
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  readonly #hdr: Uint8Array;
  readonly #hdrView: DataView;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.bytes = new Uint8Array(new ArrayBuffer(IOVEC.size * capacity));
    this.#view = new DataView(this.bytes.buffer);
    this.#hdr = new Uint8Array(new ArrayBuffer(MSGHDR.size));
    this.#hdrView = new DataView(this.#hdr.buffer);
  }

  /** Entry i: len bytes of b from start. */
  set(i: number, b: Uint8Array, start: number, len: number): void {
    const at = i * IOVEC.size;
    setU64(this.#view, at + IOVEC.base, addressOf(b, start));
    setU64(this.#view, at + IOVEC.len, len);
  }

  /**
   * A msghdr over the first count entries, with no address and, unless
   * given, no control data (sendmsg's argument).
   */
  header(count: number, control: Uint8Array | null = null, controlLen = 0): Uint8Array {
    const m = this.#hdrView;
    for (let i = 0; i < MSGHDR.size; i += 4) m.setUint32(i, 0, true);
    setU64(m, MSGHDR.iov, addressOf(this.bytes, 0));
    setWord(m, MSGHDR.iovlen, MSGHDR.iovlenSize, count);
    if (control !== null && controlLen > 0) {
      setU64(m, MSGHDR.control, addressOf(control, 0));
      setWord(m, MSGHDR.controllen, MSGHDR.controllenSize, controlLen);
    }
    return this.#hdr;
  }

  /**
   * A msghdr over the first count entries with an address buffer (msg_name,
   * null for none) and a control buffer of controlLen bytes (null for none):
   * recvmsg's argument, or sendmsg's with a destination. The kernel writes
   * back msg_namelen, msg_controllen and msg_flags; read them with
   * nameLen(), controlLen() and flags() right after the call.
   */
  message(count: number, name: Uint8Array | null, nameLen: number, control: Uint8Array | null, controlLen: number): Uint8Array {
    const hdr = this.header(count, control, controlLen);
    if (name !== null && nameLen > 0) {
      setU64(this.#hdrView, MSGHDR.name, addressOf(name, 0));
      this.#hdrView.setUint32(MSGHDR.namelen, nameLen, true);
    }
    return hdr;
  }

  /** msg_namelen as the last recvmsg left it. */
  nameLen(): number {
    return this.#hdrView.getUint32(MSGHDR.namelen, true);
  }

  /** msg_controllen as the last recvmsg left it. */
  controlLen(): number {
    return getWord(this.#hdrView, MSGHDR.controllen, MSGHDR.controllenSize);
  }

  /** msg_flags as the last recvmsg left it (MSG_CTRUNC, MSG_TRUNC, …). */
  flags(): number {
    return this.#hdrView.getInt32(MSGHDR.flags, true);
  }
}

function getWord(v: DataView, at: number, size: 4 | 8): number {
  return size === 8 ? getU64(v, at) : v.getUint32(at, true);
}

/** One control message found in a received control buffer: its level, type, and data bytes. */
export interface Cmsg {
  readonly level: number;
  readonly type: number;
  /** Byte offset of CMSG_DATA in the buffer. */
  readonly data: number;
  /** Data bytes (cmsg_len minus the header, clipped to the buffer). */
  readonly len: number;
}

/**
 * The control messages in the first `len` bytes of a control buffer
 * (CMSG_FIRSTHDR / CMSG_NXTHDR), for a cmsghdr layout (this OS's by
 * default). Stops at a header that does not fit or claims less than itself.
 */
export function readCmsgs(control: Uint8Array, len: number, L: CmsghdrLayout = CMSGHDR): Cmsg[] {
  const v = new DataView(control.buffer, control.byteOffset, control.byteLength);
  const end = Math.min(len, control.byteLength);
  const out: Cmsg[] = [];
  let at = 0;
  while (at + L.data <= end) {
    const clen = getWord(v, at + L.len, L.lenSize);
    if (clen < L.data) break;
    const dataLen = Math.min(clen, end - at) - L.data;
    out.push({ level: v.getInt32(at + L.level, true), type: v.getInt32(at + L.type, true), data: at + L.data, len: dataLen });
    at += Math.ceil(clen / L.align) * L.align;
  }
  return out;
}

/** CMSG_SPACE(n): bytes a control message with n data bytes takes. */
export function cmsgSpace(n: number): number {
  const a = CMSGHDR.align;
  return Math.ceil((CMSGHDR.data + n) / a) * a;
}

/** Writes one control message header (CMSG_LEN(n) = data offset + n) at byte `at` of buf; returns the data offset. */
export function writeCmsg(buf: Uint8Array, at: number, level: number, type: number, n: number): number {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  setWord(v, at + CMSGHDR.len, CMSGHDR.lenSize, CMSGHDR.data + n);
  v.setInt32(at + CMSGHDR.level, level, true);
  v.setInt32(at + CMSGHDR.type, type, true);
  return at + CMSGHDR.data;
}
