// Property / fuzz tests for the address codecs (ffi/sockaddr.ts) and for the
// runtime's input validation (listen / connect with random option values).
//
// Properties:
//   - parseIPv4 / parseIPv6 never throw; on random and mutated text they
//     accept exactly what glibc's inet_pton accepts (and a strict dotted-quad
//     regex for IPv4), with the same bytes;
//   - 100k random addresses of each family round-trip: parse(format(bytes))
//     equals bytes, format(...) is the canonical RFC 5952 text, and every
//     non-canonical spelling of the same bytes (leading zeros, upper case,
//     "::" at any zero run, a dotted-quad tail) parses to the same bytes;
//   - decodeSockaddr on random bytes (Linux and BSD layouts) throws only
//     RangeError, and what it decodes re-encodes to the same address;
//     encodeSockaddr on random field values throws only RangeError or the
//     ENAMETOOLONG error;
//   - listen / connect with random option values fail only with TypeError,
//     AddrError or NetError (never a crash or another class), and leave no
//     descriptor, pollDesc, timer or parked task behind.
// Seeded: reproduce a failure with the seed it prints, FUZZ_SEED=<n> bun test test/fuzz/address.test.ts
import { afterAll, expect, test } from "bun:test";
import { dlopen, FFIType } from "bun:ffi";
import * as fs from "node:fs";
import * as os from "node:os";
import { darwinConstants } from "../../ffi/constants/darwin.ts";
import { linuxConstants } from "../../ffi/constants/linux.ts";
import type { OsConstants } from "../../ffi/constants/types.ts";
import { decodeSockaddr, encodeSockaddr, formatIPv4, formatIPv6, ipFamily, parseIPv4, parseIPv6, type SockAddr } from "../../ffi/sockaddr.ts";
import { AddrError, connect, type IpAddr, listen, NetError, netpollReady, runtimeStats } from "../../src/index.ts";
import { expectClean, sleep } from "../_support/index.ts";
import { prng as seeded, type Rnd } from "../_support/random.ts";

const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 10)) >>> 0;
const REPRO = `FUZZ_SEED=${SEED} bun test test/fuzz/address.test.ts`;

/** Each test draws from its own stream of SEED. */
const prng = (stream: number): Rnd => seeded(SEED, stream);

/** Collects property failures (the first few, with the seed) instead of stopping at the first. */
class Failures {
  readonly list: string[] = [];
  add(msg: string): void {
    if (this.list.length < 10) this.list.push(msg);
  }
  /** fn()'s value, or undefined after recording that `what` threw. */
  attempt<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.add(`${what} threw ${String(e)}`);
      return undefined;
    }
  }
  check(): void {
    if (this.list.length > 0) console.error(`address fuzz failed with seed ${SEED}; reproduce with ${REPRO}\n  ${this.list.join("\n  ")}`);
    expect(this.list).toEqual([]);
  }
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const eq = (a: Uint8Array | null, b: Uint8Array | null): boolean => (a === null || b === null ? a === b : a.length === b.length && a.every((x, i) => x === b[i]));

// ---------------------------------------------------------------- references

const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

// glibc's inet_pton, the reference for what RFC 4291 text is (four hex
// digits a group at most, one "::" standing for one or more groups, a dotted
// quad without leading zeros as the last 32 bits). (Bun's URL parser is no
// reference here: it rejects valid mixed forms such as "1::0.0.55.128" and
// accepts a trailing single colon.)
const libc = dlopen("libc.so.6", { inet_pton: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } });
const ptonSrc = new Uint8Array(new ArrayBuffer(256));
const ptonDst = new Uint8Array(new ArrayBuffer(16));

/** inet_pton(family, s): the bytes, or null when glibc rejects the text. */
function pton(family: "inet" | "inet6", s: string): Uint8Array | null {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length >= ptonSrc.length || bytes.includes(0)) return null;
  ptonSrc.fill(0);
  ptonSrc.set(bytes);
  const ok = libc.symbols.inet_pton(family === "inet" ? linuxConstants.AF_INET : linuxConstants.AF_INET6, ptonSrc, ptonDst);
  return ok === 1 ? ptonDst.slice(0, family === "inet" ? 4 : 16) : null;
}

function isMapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** RFC 5952 text computed independently: lowercase, no leading zeros, first longest zero run (>= 2) as "::". */
function canonicalV6(b: Uint8Array): string {
  if (isMapped(b)) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const part = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  return best < 0 ? part(g) : `${part(g.slice(0, best))}::${part(g.slice(best + bestLen))}`;
}

/** Random 16 bytes, biased towards zero runs, small groups and mapped addresses. */
function randomV6(rnd: Rnd): Uint8Array {
  const b = new Uint8Array(16);
  const shape = rnd(20);
  if (shape === 0) return b; // ::
  if (shape === 1) {
    b[15] = 1; // ::1
    return b;
  }
  if (shape === 2) {
    b[10] = b[11] = 0xff;
    for (let i = 12; i < 16; i++) b[i] = rnd(256);
    return b;
  }
  for (let i = 0; i < 8; i++) {
    const k = rnd(10);
    const v = k < 5 ? 0 : k < 7 ? rnd(256) : rnd(65536);
    b[2 * i] = v >> 8;
    b[2 * i + 1] = v & 0xff;
  }
  return b;
}

/** A random non-canonical spelling of the same 16 bytes. */
function spellV6(rnd: Rnd, b: Uint8Array): string {
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  const tail = rnd.one(3); // last 32 bits as a dotted quad
  const n = tail ? 6 : 8;
  const words = g.slice(0, n).map((x) => {
    let s = x.toString(16);
    s = s.padStart(s.length + rnd(5 - s.length), "0");
    return rnd.one(2) ? s.toUpperCase() : s;
  });
  // Replace one run of zero groups (length >= 1) with "::" sometimes.
  const runs: [number, number][] = [];
  for (let i = 0; i < n; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && g[j] === 0) j++;
    runs.push([i, j]);
    i = j;
  }
  let text: string;
  if (runs.length > 0 && rnd.one(2)) {
    const [i, j0] = rnd.pick(runs);
    const j = i + 1 + rnd(j0 - i); // any non-empty part of the run
    const left = words.slice(0, i).join(":");
    const right = words.slice(j).join(":");
    text = `${left}::${right}`;
    if (tail) text += `${right === "" ? "" : ":"}${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  } else {
    text = words.join(":");
    if (tail) text += `:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  return text;
}

/** Mutates text: drop, duplicate, insert or replace characters. */
function mutateText(rnd: Rnd, s: string, alphabet: string): string {
  const a = Array.from(s);
  for (let m = 1 + rnd(3); m > 0; m--) {
    const at = rnd(a.length + 1);
    const c = alphabet[rnd(alphabet.length)]!;
    switch (rnd(4)) {
      case 0:
        a.splice(at, 1);
        break;
      case 1:
        a.splice(at, 0, c);
        break;
      case 2:
        if (a.length > 0) a[Math.min(at, a.length - 1)] = c;
        break;
      default:
        a.splice(at, 0, ...a.slice(rnd(a.length + 1), rnd(a.length + 1)));
    }
  }
  return a.join("");
}

// ---------------------------------------------------------------- IPv4

test(`IPv4 text: random and mutated strings are accepted exactly when a strict dotted-quad regex and inet_pton accept them, and the accepted ones are canonical (seed ${SEED})`, () => {
  const rnd = prng(1);
  const f = new Failures();
  const alphabet = "0123456789..........-+ x:\u0661\uff11";
  let accepted = 0;
  for (let i = 0; i < 50_000; i++) {
    let s: string;
    if (rnd.one(2)) {
      s = Array.from({ length: 4 }, () => String(rnd.one(4) ? rnd(1000) : rnd(256)).padStart(rnd.one(8) ? 2 + rnd(2) : 0, "0")).join(".");
      if (rnd.one(2)) s = mutateText(rnd, s, alphabet);
    } else {
      s = Array.from({ length: rnd(18) }, () => alphabet[rnd(alphabet.length)]).join("");
    }
    const got = f.attempt(`parseIPv4(${JSON.stringify(s)})`, () => parseIPv4(s));
    if (got === undefined) continue;
    if ((got !== null) !== V4_RE.test(s)) f.add(`parseIPv4(${JSON.stringify(s)}) = ${got && hex(got)}, regex ${V4_RE.test(s)}`);
    const ref = pton("inet", s);
    if (!eq(got, ref)) f.add(`parseIPv4(${JSON.stringify(s)}) = ${got && hex(got)}, inet_pton ${ref && hex(ref)}`);
    if (got !== null) {
      accepted++;
      if (got.length !== 4 || formatIPv4(got) !== s) f.add(`parseIPv4(${JSON.stringify(s)}) = ${hex(got)} formats back as ${formatIPv4(got)}`);
      if (ipFamily(s) !== "inet") f.add(`ipFamily(${JSON.stringify(s)}) = ${ipFamily(s)}`);
    }
  }
  f.check();
  expect(accepted).toBeGreaterThan(5000);
});

test(`IPv4: 100k random addresses round-trip, parse(format(bytes)) === bytes (seed ${SEED})`, () => {
  const rnd = prng(2);
  const f = new Failures();
  for (let i = 0; i < 100_000; i++) {
    const b = Uint8Array.from({ length: 4 }, () => (rnd.one(4) ? rnd.pick([0, 1, 255]) : rnd(256)));
    const s = formatIPv4(b);
    const back = parseIPv4(s);
    if (!eq(back, b)) f.add(`${hex(b)} → ${s} → ${back && hex(back)}`);
  }
  f.check();
});

// ---------------------------------------------------------------- IPv6

test(`IPv6: 100k random addresses round-trip; format is canonical RFC 5952 (checked against an independent formatter); every other spelling parses to the same bytes, as inet_pton reads it (seed ${SEED})`, () => {
  const rnd = prng(3);
  const f = new Failures();
  let ptonChecked = 0;
  for (let i = 0; i < 100_000; i++) {
    const b = randomV6(rnd);
    const text = formatIPv6(b);
    if (text !== canonicalV6(b)) f.add(`formatIPv6(${hex(b)}) = ${text}, canonical ${canonicalV6(b)}`);
    const back = parseIPv6(text);
    if (!eq(back, b)) f.add(`${hex(b)} → ${text} → ${back && hex(back)}`);
    if (ipFamily(text) !== "inet6") f.add(`ipFamily(${text}) = ${ipFamily(text)}`);
    const other = spellV6(rnd, b);
    const parsed = parseIPv6(other);
    if (!eq(parsed, b)) f.add(`${other} (a spelling of ${text}) → ${parsed && hex(parsed)}`);
    else if (formatIPv6(parsed!) !== text) f.add(`format(parse(${other})) = ${formatIPv6(parsed!)}, want ${text}`);
    if (i % 4 === 0) {
      const ref = pton("inet6", other);
      if (!eq(ref, b)) f.add(`inet_pton reads ${other} as ${ref && hex(ref)}, we read ${hex(b)}`);
      ptonChecked++;
    }
  }
  f.check();
  expect(ptonChecked).toBe(25_000);
});

test(`IPv6 text: random and mutated strings are accepted exactly when inet_pton accepts them, with the same bytes (seed ${SEED})`, () => {
  const rnd = prng(4);
  const f = new Failures();
  const alphabet = "0123456789abcdefABCDEF::::::....gx% ";
  let accepted = 0;
  for (let i = 0; i < 50_000; i++) {
    const s = rnd.one(3) ? Array.from({ length: rnd(46) }, () => alphabet[rnd(alphabet.length)]).join("") : mutateText(rnd, spellV6(rnd, randomV6(rnd)), alphabet);
    const got = f.attempt(`parseIPv6(${JSON.stringify(s)})`, () => parseIPv6(s));
    if (got === undefined) continue;
    const ref = pton("inet6", s);
    if (!eq(got, ref)) {
      f.add(`parseIPv6(${JSON.stringify(s)}) = ${got && formatIPv6(got)}, inet_pton: ${ref && formatIPv6(ref)}`);
      continue;
    }
    if (got !== null) {
      accepted++;
      if (formatIPv6(got) !== canonicalV6(got)) f.add(`formatIPv6 of ${JSON.stringify(s)} = ${formatIPv6(got)}, canonical ${canonicalV6(got)}`);
    }
  }
  f.check();
  expect(accepted).toBeGreaterThan(3000);
});

// ---------------------------------------------------------------- sockaddr codecs

const LAYOUTS: [string, OsConstants][] = [
  ["linux", linuxConstants],
  ["darwin", darwinConstants],
];

function normalized(a: SockAddr): SockAddr {
  if (a.family === "unix") return a;
  const address = a.family === "inet" ? formatIPv4(parseIPv4(a.address)!) : formatIPv6(parseIPv6(a.address)!);
  if (a.family === "inet") return { family: "inet", address, port: a.port + 0 };
  return a.scopeId ? { family: "inet6", address, port: a.port + 0, scopeId: a.scopeId } : { family: "inet6", address, port: a.port + 0 };
}

test(`decodeSockaddr on random bytes (Linux and BSD layouts) throws only RangeError, and what it decodes re-encodes to the same address (seed ${SEED})`, () => {
  const rnd = prng(5);
  const f = new Failures();
  const tally: Record<string, number> = {};
  for (const [name, C] of LAYOUTS) {
    for (let i = 0; i < 30_000; i++) {
      const buf = new Uint8Array(C.SOCKADDR_STORAGE_SIZE);
      for (let k = 0; k < buf.length; k++) buf[k] = rnd.one(3) ? 0 : rnd(256);
      // Point the family at a real one most of the time.
      const fam = rnd.one(5) ? rnd(256) : rnd.pick([C.AF_INET, C.AF_INET6, C.AF_UNIX]);
      if (C.SOCKADDR_HAS_LEN) {
        buf[0] = rnd(256);
        buf[1] = fam;
      } else {
        buf[0] = fam;
        buf[1] = 0;
      }
      if (fam === C.AF_UNIX && rnd.one(2)) for (let k = 2 + rnd(100); k < buf.length; k++) buf[k] = 0; // a NUL-terminated path
      const len = rnd.one(4) ? rnd(buf.length + 8) : rnd.pick([0, 1, 2, 3, 16, 28, 110, 128, 129]);
      let sa: SockAddr;
      try {
        sa = decodeSockaddr(buf, len, C);
      } catch (e) {
        if (!(e instanceof RangeError)) f.add(`${name}: decode(${hex(buf.subarray(0, 32))}…, ${len}) threw ${String(e)}`);
        tally.rangeError = (tally.rangeError ?? 0) + 1;
        continue;
      }
      tally[sa.family] = (tally[sa.family] ?? 0) + 1;
      const out = new Uint8Array(C.SOCKADDR_STORAGE_SIZE).fill(0xaa);
      let n: number;
      try {
        n = encodeSockaddr(sa, out, C);
      } catch (e) {
        // A decoded unix path may not re-encode: U+FFFD replacements take 3 bytes.
        if (sa.family === "unix" && (e as { code?: string }).code === "ENAMETOOLONG") {
          tally.unixTooLong = (tally.unixTooLong ?? 0) + 1;
          continue;
        }
        f.add(`${name}: re-encoding ${JSON.stringify(sa)} threw ${String(e)}`);
        continue;
      }
      const again = decodeSockaddr(out, n, C);
      if (JSON.stringify(again) !== JSON.stringify(sa)) f.add(`${name}: ${JSON.stringify(sa)} re-encodes and decodes as ${JSON.stringify(again)}`);
      if (sa.family === "inet" && (n !== 16 || hex(out.subarray(2, 8)) !== hex(buf.subarray(2, 8)))) f.add(`${name}: inet port/address bytes differ after re-encoding`);
      if (sa.family === "inet6" && (n !== 28 || hex(out.subarray(8, 28)) !== hex(buf.subarray(8, 28)) || hex(out.subarray(2, 4)) !== hex(buf.subarray(2, 4)))) {
        f.add(`${name}: inet6 port/address/scope bytes differ after re-encoding`);
      }
    }
  }
  f.check();
  for (const k of ["inet", "inet6", "unix", "rangeError"]) expect(tally[k] ?? 0).toBeGreaterThan(1000);
});

test(`encodeSockaddr with random field values throws only RangeError or ENAMETOOLONG, and what it encodes decodes to the normalized input (seed ${SEED})`, () => {
  const rnd = prng(6);
  const f = new Failures();
  const ports = [0, 1, 80, 65535, 65536, -1, 1.5, Number.NaN, Infinity, -0, 2 ** 32, 2 ** 53];
  const v4s = ["127.0.0.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "01.2.3.4", " 1.2.3.4", "", "::1", "1.2.3.4\0"];
  const v6s = ["::", "::1", "fe80::1", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "[::1]", "fe80::1%eth0", "", "1.2.3.4", ":::", "0:0:0:0:0:0:0:0"];
  const scopes = [undefined, 0, 1, 2 ** 32 - 1, 2 ** 32, -1, 1.5, Number.NaN];
  const pathChars = "abc/._-\u00e9\u4e2d\ud83d\ude00\0";
  const tally: Record<string, number> = {};
  for (const [name, C] of LAYOUTS) {
    for (let i = 0; i < 20_000; i++) {
      let sa: SockAddr;
      const kind = rnd(3);
      if (kind === 0) sa = { family: "inet", address: rnd.one(2) ? formatIPv4(Uint8Array.from({ length: 4 }, () => rnd(256))) : rnd.pick(v4s), port: rnd.one(2) ? rnd(65536) : rnd.pick(ports) };
      else if (kind === 1) {
        const address = rnd.one(2) ? spellV6(rnd, randomV6(rnd)) : rnd.pick(v6s);
        const scopeId = rnd.pick(scopes);
        sa = scopeId === undefined ? { family: "inet6", address, port: rnd.pick(ports) } : { family: "inet6", address, port: rnd.pick(ports), scopeId };
      } else {
        let path = Array.from({ length: rnd.one(3) ? 90 + rnd(30) : rnd(20) }, () => pathChars[rnd(pathChars.length)]).join("");
        if (rnd.one(4)) path = `\0${path}`;
        sa = { family: "unix", path };
      }
      const out = new Uint8Array(C.SOCKADDR_STORAGE_SIZE).fill(0xaa);
      let n: number;
      try {
        n = encodeSockaddr(sa, out, C);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (!(e instanceof RangeError) && code !== "ENAMETOOLONG") f.add(`${name}: encode(${JSON.stringify(sa)}) threw ${String(e)}`);
        tally[code ?? "RangeError"] = (tally[code ?? "RangeError"] ?? 0) + 1;
        continue;
      }
      tally.ok = (tally.ok ?? 0) + 1;
      const back = decodeSockaddr(out, n, C);
      const want = normalized(sa);
      // A surrogate pair split by the generator encodes as U+FFFD: compare unix paths through UTF-8.
      const same =
        sa.family === "unix" && back.family === "unix"
          ? back.path === new TextDecoder().decode(new TextEncoder().encode(sa.path)) || (sa.path === "" && back.path === "")
          : JSON.stringify(back) === JSON.stringify(want);
      if (!same) f.add(`${name}: ${JSON.stringify(sa)} encodes and decodes as ${JSON.stringify(back)}`);
    }
  }
  f.check();
  for (const k of ["ok", "RangeError", "ENAMETOOLONG"]) expect(tally[k] ?? 0).toBeGreaterThan(100);
});

// ---------------------------------------------------------------- runtime input validation

const tmp = fs.mkdtempSync(`${os.tmpdir()}/bnp-fuzz-`);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fdCount(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

/** The error classes bad input may produce. */
function allowed(e: unknown): string | null {
  if (e instanceof AddrError) return "AddrError";
  if (e instanceof NetError) return `NetError ${e.code}`;
  if (e instanceof TypeError) return "TypeError";
  return null;
}

test(`listen() with random option values: only TypeError, AddrError or NetError; every listener that opens closes; runtime clean (seed ${SEED})`, async () => {
  const rnd = prng(7);
  await netpollReady();
  const fd0 = fdCount();
  const bad: string[] = [];
  const outcomes: Record<string, number> = {};
  const junk = () => rnd.pick<unknown>([undefined, null, 0, -1, 1.5, Number.NaN, Infinity, "", "x", "80", {}, [], true, 2 ** 53, -0]);
  const hosts = ["127.0.0.1", "::1", "::", "0.0.0.0", "localhost", "", "256.0.0.1", "1.2.3", "::ffff:127.0.0.1", "fe80::1", "192.0.2.1", "127.0.0.1\0", " 127.0.0.1", "[::1]", "example.com", "x".repeat(300), "\ud800"];
  for (let i = 0; i < 400; i++) {
    let opts: Record<string, unknown>;
    if (rnd.one(4)) {
      const path = rnd.pick<unknown>([
        `${tmp}/s${i}.sock`,
        `\0bnp-fuzz-${SEED}-${i}`,
        "",
        `${tmp}/${"p".repeat(120)}`,
        `${tmp}/a\0b`,
        `${tmp}/missing-dir/x.sock`,
        42,
        null,
        undefined,
      ]);
      opts = { path };
      if (rnd.one(2)) opts.backlog = rnd.one(2) ? rnd.pick([0, 1, 128]) : junk();
    } else {
      opts = {};
      opts.port = rnd.one(2) ? rnd.pick([0, 0, 0, 65536, -1, 1.5, Number.NaN, "0", null]) : junk();
      if (rnd.one(4) || opts.port === undefined) opts.port = rnd.one(2) ? 0 : opts.port;
      if (!rnd.one(4)) opts.hostname = rnd.one(5) ? junk() : rnd.pick(hosts);
      if (rnd.one(3)) opts.network = rnd.pick<unknown>(["tcp", "tcp4", "tcp6", "udp", "unix", "", "TCP", 4, null]);
      if (rnd.one(3)) opts.backlog = rnd.one(2) ? rnd.pick([0, 1, 4096, 1e9]) : junk();
      if (rnd.one(4)) opts.reusePort = rnd.pick<unknown>([true, false, "yes", 1]);
    }
    const arg = rnd.one(40) ? rnd.pick<unknown>([null, undefined, 42, "x"]) : opts;
    try {
      const ln = listen(arg as Parameters<typeof listen>[0]);
      outcomes.listening = (outcomes.listening ?? 0) + 1;
      await ln.close();
    } catch (e) {
      const k = allowed(e);
      if (k === null) bad.push(`listen(${String(JSON.stringify(arg))}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      else outcomes[k] = (outcomes[k] ?? 0) + 1;
    }
  }
  if (bad.length > 0) console.error(`reproduce with ${REPRO}`);
  console.log(JSON.stringify({ seed: SEED, listenOutcomes: outcomes }));
  expect(bad).toEqual([]);
  expect(outcomes.listening ?? 0).toBeGreaterThan(20);
  expect(outcomes.AddrError ?? 0).toBeGreaterThan(20);
  expect(outcomes.TypeError ?? 0).toBeGreaterThan(5);
  await sleep(10);
  expect(fdCount()).toBe(fd0);
  expectClean();
});

test(`connect() with random option values (literal addresses only, no DNS): only TypeError, AddrError or NetError, each settles within its timeout; runtime clean (seed ${SEED})`, async () => {
  const rnd = prng(8);
  await netpollReady();
  const fd0 = fdCount();
  const ln = listen({ port: 0, hostname: "127.0.0.1" });
  const live = (ln.addr as IpAddr).port;
  const accepted: Promise<void>[] = [];
  const acceptLoop = (async () => {
    for await (const c of ln) accepted.push(c.close());
  })();
  const bad: string[] = [];
  const outcomes: Record<string, number> = {};
  const junk = () => rnd.pick<unknown>([undefined, null, 0, -1, 1.5, Number.NaN, Infinity, "", "x", "80", {}, [], true, 2 ** 53]);
  // IP literals only (plus "localhost", from /etc/hosts): a random name would go to DNS.
  const hosts = ["127.0.0.1", "::1", "::", "0.0.0.0", "localhost", "::ffff:127.0.0.1", "127.1.2.3", "224.0.0.1", "255.255.255.255", "fe80::1", "ff02::1"];
  const aborted = AbortSignal.abort(new Error("pre-aborted"));
  const t0 = performance.now();
  for (let i = 0; i < 400; i++) {
    let opts: Record<string, unknown>;
    if (rnd.one(3)) {
      // Mostly valid: the live listener through one spelling of its address.
      opts = { port: live, hostname: rnd.pick(["127.0.0.1", "localhost", "::ffff:127.0.0.1", "0.0.0.0"]), timeout: 100 };
      if (rnd.one(4)) opts.network = rnd.pick(["tcp", "tcp4", "tcp6"]);
    } else if (rnd.one(5)) {
      opts = { path: rnd.pick<unknown>([`${tmp}/none-${i}.sock`, `\0bnp-none-${SEED}-${i}`, "", `${tmp}/${"q".repeat(120)}`, `${tmp}/a\0b`, 7, null, undefined, "//"]) };
    } else {
      opts = { port: rnd.one(3) ? live : rnd.one(2) ? rnd(65536) : junk(), hostname: rnd.pick(hosts) };
      if (rnd.one(3)) opts.network = rnd.pick<unknown>(["tcp", "tcp4", "tcp6", "udp", "", "unix", null]);
    }
    // Every connect is bounded: a timeout (sometimes junk, then a deadline backs it up) or a deadline.
    if (opts.timeout === undefined) opts.timeout = rnd.one(4) ? junk() : rnd.pick([1, 20, 50, 0.001]);
    if (rnd.one(3) || typeof opts.timeout !== "number" || !(opts.timeout > 0) || opts.timeout === Infinity) {
      opts.deadline = rnd.one(4) ? rnd.pick<unknown>([Number.NaN, "soon", new Date(Number.NaN), Date.now() - 1000]) : Date.now() + 50;
    }
    if (rnd.one(6)) opts.signal = rnd.pick<unknown>([aborted, AbortSignal.timeout(5), new AbortController().signal]);
    const arg = rnd.one(40) ? rnd.pick<unknown>([null, undefined, 42, "x"]) : opts;
    const started = performance.now();
    try {
      const c = await Promise.race([
        connect(arg as Parameters<typeof connect>[0]),
        sleep(2000).then(() => {
          throw new Error("hung");
        }),
      ]);
      outcomes.connected = (outcomes.connected ?? 0) + 1;
      await c.close();
    } catch (e) {
      const k = allowed(e);
      const aborts = (e as Error)?.message === "pre-aborted" || (e as Error)?.name === "TimeoutError";
      if (k === null && !aborts) bad.push(`connect(${describe(arg)}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} after ${Math.round(performance.now() - started)} ms`);
      else outcomes[k ?? "abort reason"] = (outcomes[k ?? "abort reason"] ?? 0) + 1;
    }
  }
  const elapsed = performance.now() - t0;
  console.log(JSON.stringify({ seed: SEED, connectOutcomes: outcomes, elapsedMs: Math.round(elapsed) }));
  await ln.close();
  await acceptLoop;
  await Promise.all(accepted);
  if (bad.length > 0) console.error(`reproduce with ${REPRO}`);
  expect(bad).toEqual([]);
  expect(outcomes.connected ?? 0).toBeGreaterThan(40);
  expect(outcomes.AddrError ?? 0).toBeGreaterThan(5);
  expect(outcomes.TypeError ?? 0).toBeGreaterThan(5);
  expect(elapsed).toBeLessThan(4000);
  await sleep(10);
  expect(fdCount()).toBe(fd0);
  expect(runtimeStats().timers).toBe(0);
  expectClean();
}, 10_000);

function describe(x: unknown): string {
  if (x === null || typeof x !== "object") return String(JSON.stringify(x));
  return `{ ${Object.entries(x)
    .map(([k, v]) => `${k}: ${v instanceof AbortSignal ? `AbortSignal(aborted=${v.aborted})` : v instanceof Date ? `Date(${v.getTime()})` : typeof v === "number" ? String(v) : JSON.stringify(v)}`)
    .join(", ")} }`;
}
