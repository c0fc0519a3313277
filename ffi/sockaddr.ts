// Socket address codecs: IP text <-> bytes, and SockAddr <-> the kernel's
// sockaddr_in / sockaddr_in6 / sockaddr_un bytes. Pure byte code, no FFI
// calls, so every platform's layout is tested on any machine.
//
// Two family-header styles exist:
//   Linux:      u16 sa_family (host order, little-endian on every target) @0
//   BSD/macOS:  u8 sa_len @0, u8 sa_family @1   (C.SOCKADDR_HAS_LEN === 1)
import type { OsConstants } from "./constants/types.ts";
import { platform } from "./platform.ts";

/** A decoded socket address. */
export type SockAddr =
  | { family: "inet"; address: string; port: number }
  /** `address` is canonical RFC 5952 text; `scopeId` is omitted (or 0) for no scope. */
  | { family: "inet6"; address: string; port: number; scopeId?: number }
  /** Filesystem path; a Linux abstract name starts with "\0"; "" is unnamed. */
  | { family: "unix"; path: string };

/** The Error thrown for a unix path that does not fit sun_path. */
export interface SockaddrPathError extends Error {
  code: "ENAMETOOLONG";
  path: string;
}

// ---- struct layouts -------------------------------------------------------

/** Common header: Linux u16 family, or BSD u8 len + u8 family. */
const SA_FAMILY = 0;
const SA_BSD_LEN = 0;
const SA_BSD_FAMILY = 1;
const SA_HEADER_SIZE = 2;

/** `struct sockaddr_in` */
const SIN_PORT = 2;
const SIN_ADDR = 4;
const SIN_SIZE = 16;

/** `struct sockaddr_in6` */
const SIN6_PORT = 2;
const SIN6_FLOWINFO = 4;
const SIN6_ADDR = 8;
const SIN6_SCOPE_ID = 24;
const SIN6_SIZE = 28;

/** `struct sockaddr_un`: sun_path follows the header, C.SUN_PATH_MAX bytes. */
const SUN_PATH = 2;

// ---- address text ---------------------------------------------------------

const IPV4_BYTES = 4;
const IPV6_BYTES = 16;
const IPV6_GROUPS = 8;
/** Groups an embedded dotted-quad tail occupies. */
const IPV4_TAIL_GROUPS = 2;
/** "255.255.255.255" */
const IPV4_TEXT_MIN = 7;
const IPV4_TEXT_MAX = 15;
/** "::" .. "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */
const IPV6_TEXT_MIN = 2;
const IPV6_TEXT_MAX = 45;
const IPV4_OCTET_DIGITS = 3;
const IPV4_OCTET_MAX = 255;
const IPV6_GROUP_DIGITS = 4;
const DECIMAL = 10;
const HEX = 16;
const BYTE_BITS = 8;
const BYTE_MASK = 0xff;
const PORT_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** ::ffff:0:0/96 — bytes 0..9 zero, 10..11 0xff. */
const V4MAPPED_PREFIX_ZEROS = 10;
const V4MAPPED_MARKER = 0xff;

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_A = 0x41;
const CH_F = 0x46;
const CH_LOWER_A = 0x61;
const CH_LOWER_F = 0x66;
const CH_DOT = 0x2e;
const CH_COLON = 0x3a;
const NUL = 0;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  if (c >= CH_LOWER_A && c <= CH_LOWER_F) return c - CH_LOWER_A + DECIMAL;
  if (c >= CH_A && c <= CH_F) return c - CH_A + DECIMAL;
  return -1;
}

/** Parses dotted-quad text at s[start..] into out[off..off+4); false when invalid. */
function parseIPv4Into(s: string, start: number, out: Uint8Array, off: number): boolean {
  const n = s.length;
  const textLen = n - start;
  if (textLen < IPV4_TEXT_MIN || textLen > IPV4_TEXT_MAX) return false;
  let i = start;
  for (let part = 0; part < IPV4_BYTES; part++) {
    if (part > 0) {
      if (s.charCodeAt(i) !== CH_DOT) return false;
      i++;
    }
    const first = i;
    let v = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < CH_0 || c > CH_9) break;
      v = v * DECIMAL + (c - CH_0);
      i++;
      if (i - first > IPV4_OCTET_DIGITS) return false;
    }
    const digits = i - first;
    if (digits === 0 || v > IPV4_OCTET_MAX) return false;
    if (digits > 1 && s.charCodeAt(first) === CH_0) return false; // no leading zeros
    out[off + part] = v;
  }
  return i === n;
}

/**
 * Parses a strict dotted quad ("127.0.0.1"): exactly four decimal parts,
 * each 0-255, no leading zeros except "0" itself. Returns 4 bytes or null.
 */
export function parseIPv4(s: string): Uint8Array | null {
  const out = new Uint8Array(IPV4_BYTES);
  return parseIPv4Into(s, 0, out, 0) ? out : null;
}

/**
 * Parses RFC 4291 IPv6 text: full form, one "::" (standing for one or more
 * zero groups), hex digits in either case, and an embedded dotted-quad tail
 * ("::ffff:1.2.3.4"). Zone ids ("%eth0") and brackets are not accepted.
 * Returns 16 bytes or null.
 */
export function parseIPv6(s: string): Uint8Array | null {
  const n = s.length;
  if (n < IPV6_TEXT_MIN || n > IPV6_TEXT_MAX) return null;
  const out = new Uint8Array(IPV6_BYTES);
  let i = 0;
  let groups = 0;
  let gap = -1; // group index the "::" stands at
  if (s.charCodeAt(0) === CH_COLON) {
    if (s.charCodeAt(1) !== CH_COLON) return null;
    gap = 0;
    i = 2;
    if (i === n) return out;
  }
  for (;;) {
    if (groups === IPV6_GROUPS) return null;
    const first = i;
    let v = 0;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = v * HEX + h;
      i++;
    }
    if (i < n && s.charCodeAt(i) === CH_DOT) {
      // Dotted-quad tail: must be last and fit in the remaining groups.
      if (groups > IPV6_GROUPS - IPV4_TAIL_GROUPS) return null;
      if (!parseIPv4Into(s, first, out, groups * 2)) return null;
      groups += IPV4_TAIL_GROUPS;
      break;
    }
    const digits = i - first;
    if (digits === 0 || digits > IPV6_GROUP_DIGITS) return null;
    out[groups * 2] = v >> BYTE_BITS;
    out[groups * 2 + 1] = v & BYTE_MASK;
    groups++;
    if (i === n) break;
    if (s.charCodeAt(i) !== CH_COLON) return null;
    i++;
    if (i === n) return null; // trailing single ":"
    if (s.charCodeAt(i) === CH_COLON) {
      if (gap >= 0) return null; // second "::"
      gap = groups;
      i++;
      if (i === n) break;
    }
  }
  if (gap < 0) return groups === IPV6_GROUPS ? out : null;
  if (groups === IPV6_GROUPS) return null; // "::" must stand for at least one group
  const tailStart = gap * 2;
  const tailEnd = groups * 2;
  const dest = IPV6_BYTES - (tailEnd - tailStart);
  out.copyWithin(dest, tailStart, tailEnd);
  out.fill(0, tailStart, dest);
  return out;
}

/** Formats 4 bytes at b[off..] as a dotted quad. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

// Decoded IPv4 addresses, shared: a server's peers are mostly a few hosts,
// and each accepted connection keeps its peer's address string.
const IPV4_CACHE_MAX = 1024;
const ipv4Cache = new Map<number, string>();

function peerIPv4(buf: Uint8Array, view: DataView): string {
  const key = view.getUint32(SIN_ADDR, false);
  let s = ipv4Cache.get(key);
  if (s === undefined) {
    if (ipv4Cache.size >= IPV4_CACHE_MAX) ipv4Cache.clear();
    s = formatIPv4(buf, SIN_ADDR);
    ipv4Cache.set(key, s);
  }
  return s;
}

/**
 * Formats 16 bytes at b[off..] as canonical RFC 5952 text: lowercase, no
 * leading zeros, the longest run (>= 2) of zero groups as "::" (the first on a
 * tie), and IPv4-mapped addresses as "::ffff:1.2.3.4".
 */
export function formatIPv6(b: Uint8Array, off = 0): string {
  let mapped = b[off + V4MAPPED_PREFIX_ZEROS] === V4MAPPED_MARKER && b[off + V4MAPPED_PREFIX_ZEROS + 1] === V4MAPPED_MARKER;
  for (let k = 0; mapped && k < V4MAPPED_PREFIX_ZEROS; k++) mapped = b[off + k] === 0;
  if (mapped) return `::ffff:${formatIPv4(b, off + IPV6_BYTES - IPV4_BYTES)}`;

  const words = new Array<number>(IPV6_GROUPS);
  let bestStart = -1;
  let bestLen = 1; // a run must be >= 2 groups to be compressed
  let runStart = -1;
  for (let g = 0; g < IPV6_GROUPS; g++) {
    const w = (b[off + g * 2]! << BYTE_BITS) | b[off + g * 2 + 1]!;
    words[g] = w;
    if (w === 0) {
      if (runStart < 0) runStart = g;
      const runLen = g - runStart + 1;
      if (runLen > bestLen) {
        bestStart = runStart;
        bestLen = runLen;
      }
    } else {
      runStart = -1;
    }
  }
  let text = "";
  for (let g = 0; g < IPV6_GROUPS; g++) {
    if (g === bestStart) {
      text += "::";
      g += bestLen - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(":")) text += ":";
    text += words[g]!.toString(HEX);
  }
  return text;
}

/** "inet" for a strict dotted quad, "inet6" for IPv6 text (no zone), else null. */
export function ipFamily(s: string): "inet" | "inet6" | null {
  if (parseIPv4(s) !== null) return "inet";
  if (parseIPv6(s) !== null) return "inet6";
  return null;
}

// ---- sockaddr codecs ------------------------------------------------------

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > PORT_MAX) {
    throw new RangeError(`invalid port ${port}: must be an integer 0..${PORT_MAX}`);
  }
}

function writeHeader(view: DataView, family: number, len: number, C: OsConstants): void {
  if (C.SOCKADDR_HAS_LEN) {
    view.setUint8(SA_BSD_LEN, len);
    view.setUint8(SA_BSD_FAMILY, family);
  } else {
    view.setUint16(SA_FAMILY, family, true);
  }
}

function nameTooLong(path: string, max: number): SockaddrPathError {
  const err = new Error(`unix socket path too long (sun_path holds ${max} bytes): ${JSON.stringify(path)}`);
  return Object.assign(err, { code: "ENAMETOOLONG" as const, path });
}

/**
 * Encodes addr into out (length >= C.SOCKADDR_STORAGE_SIZE) from offset 0 and
 * returns the socklen to pass to bind/connect/sendto. The whole struct is
 * zeroed first, so out may be reused.
 *
 * Throws RangeError for bad IP text, a port outside 0..65535 or not an
 * integer, a scopeId outside u32, a NUL inside a non-abstract unix path, an
 * abstract name on a BSD layout, or a too-short out. Throws an Error with
 * `code === "ENAMETOOLONG"` when a unix path's UTF-8 bytes (+1 NUL unless
 * abstract) do not fit C.SUN_PATH_MAX.
 */
export function encodeSockaddr(addr: SockAddr, out: Uint8Array, C: OsConstants = platform.constants): number {
  if (out.length < C.SOCKADDR_STORAGE_SIZE) {
    throw new RangeError(`sockaddr buffer is ${out.length} bytes, need ${C.SOCKADDR_STORAGE_SIZE}`);
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  switch (addr.family) {
    case "inet": {
      checkPort(addr.port);
      out.fill(0, 0, SIN_SIZE);
      if (!parseIPv4Into(addr.address, 0, out, SIN_ADDR)) {
        throw new RangeError(`invalid IPv4 address: ${JSON.stringify(addr.address)}`);
      }
      writeHeader(view, C.AF_INET, SIN_SIZE, C);
      view.setUint16(SIN_PORT, addr.port, false);
      return SIN_SIZE;
    }
    case "inet6": {
      checkPort(addr.port);
      const scopeId = addr.scopeId ?? 0;
      if (!Number.isInteger(scopeId) || scopeId < 0 || scopeId > U32_MAX) {
        throw new RangeError(`invalid IPv6 scope id ${scopeId}`);
      }
      const bytes = parseIPv6(addr.address);
      if (bytes === null) throw new RangeError(`invalid IPv6 address: ${JSON.stringify(addr.address)}`);
      out.fill(0, 0, SIN6_SIZE);
      writeHeader(view, C.AF_INET6, SIN6_SIZE, C);
      view.setUint16(SIN6_PORT, addr.port, false);
      view.setUint32(SIN6_FLOWINFO, 0, true);
      out.set(bytes, SIN6_ADDR);
      view.setUint32(SIN6_SCOPE_ID, scopeId, true);
      return SIN6_SIZE;
    }
    case "unix": {
      const path = addr.path;
      const max = C.SUN_PATH_MAX;
      const abstract = path.length > 0 && path.charCodeAt(0) === NUL;
      if (abstract && C.SOCKADDR_HAS_LEN) {
        throw new RangeError("abstract unix socket names exist only on Linux");
      }
      if (!abstract && path.includes("\0")) {
        throw new RangeError(`unix socket path contains a NUL byte: ${JSON.stringify(path)}`);
      }
      out.fill(0, 0, SUN_PATH + max);
      const { read, written } = utf8Encoder.encodeInto(path, out.subarray(SUN_PATH, SUN_PATH + max));
      const needed = abstract ? written : written + 1;
      if (read !== path.length || needed > max) {
        out.fill(0, SUN_PATH, SUN_PATH + max);
        throw nameTooLong(path, max);
      }
      const socklen = path.length === 0 ? SA_HEADER_SIZE : SUN_PATH + needed;
      writeHeader(view, C.AF_UNIX, socklen, C);
      return socklen;
    }
  }
}

function needLen(len: number, size: number, what: string): void {
  if (len < size) throw new RangeError(`${what} truncated: ${len} bytes, need ${size}`);
}

/**
 * Decodes the first len bytes of buf, as filled by accept / getsockname /
 * getpeername / recvfrom. An inet6 scopeId is present only when nonzero.
 * Unix: len <= 2 is unnamed (""); on Linux a leading NUL in sun_path is an
 * abstract name ("\0" + the rest of the len bytes); otherwise the path runs
 * to the first NUL or len. Throws RangeError for an unknown family or a
 * length too short for its family.
 */
export function decodeSockaddr(buf: Uint8Array, len: number, C: OsConstants = platform.constants): SockAddr {
  if (!Number.isInteger(len) || len < 0) throw new RangeError(`invalid sockaddr length ${len}`);
  const n = Math.min(len, buf.length);
  needLen(n, SA_HEADER_SIZE, "sockaddr");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const family = C.SOCKADDR_HAS_LEN ? view.getUint8(SA_BSD_FAMILY) : view.getUint16(SA_FAMILY, true);
  switch (family) {
    case C.AF_INET:
      needLen(n, SIN_SIZE, "sockaddr_in");
      return { family: "inet", address: peerIPv4(buf, view), port: view.getUint16(SIN_PORT, false) };
    case C.AF_INET6: {
      needLen(n, SIN6_SIZE, "sockaddr_in6");
      const address = formatIPv6(buf, SIN6_ADDR);
      const port = view.getUint16(SIN6_PORT, false);
      const scopeId = view.getUint32(SIN6_SCOPE_ID, true);
      return scopeId === 0 ? { family: "inet6", address, port } : { family: "inet6", address, port, scopeId };
    }
    case C.AF_UNIX: {
      if (n <= SUN_PATH) return { family: "unix", path: "" };
      if (buf[SUN_PATH] === NUL && !C.SOCKADDR_HAS_LEN) {
        return { family: "unix", path: "\0" + utf8Decoder.decode(buf.subarray(SUN_PATH + 1, n)) };
      }
      const end = buf.subarray(SUN_PATH, n).indexOf(NUL);
      return { family: "unix", path: utf8Decoder.decode(buf.subarray(SUN_PATH, end < 0 ? n : SUN_PATH + end)) };
    }
    default:
      throw new RangeError(`unknown address family ${family}`);
  }
}

/**
 * Human-readable address for error messages: "127.0.0.1:80", "[::1]:80",
 * "[fe80::1%2]:80" with a scope, or the unix path (abstract names shown with
 * a leading "@" in place of the NUL).
 */
export function formatSockaddr(a: SockAddr): string {
  switch (a.family) {
    case "inet":
      return `${a.address}:${a.port}`;
    case "inet6":
      return a.scopeId ? `[${a.address}%${a.scopeId}]:${a.port}` : `[${a.address}]:${a.port}`;
    case "unix":
      return a.path.charCodeAt(0) === NUL ? `@${a.path.slice(1)}` : a.path;
  }
}
