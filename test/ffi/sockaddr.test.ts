import { describe, expect, test } from "bun:test";
import { linuxConstants } from "../../ffi/constants/linux.ts";
import type { OsConstants } from "../../ffi/constants/types.ts";
import {
  decodeSockaddr,
  encodeSockaddr,
  formatIPv4,
  formatIPv6,
  formatSockaddr,
  ipFamily,
  parseIPv4,
  parseIPv6,
  type SockAddr,
} from "../../ffi/sockaddr.ts";

const LINUX: OsConstants = linuxConstants;
const BSD: OsConstants = { ...linuxConstants, SOCKADDR_HAS_LEN: 1, AF_INET6: 30, SUN_PATH_MAX: 104 };

/** A dirty buffer, so tests prove the encoder zeroes what it writes. */
function dirty(C: OsConstants): Uint8Array {
  return new Uint8Array(C.SOCKADDR_STORAGE_SIZE).fill(0xaa);
}

function encode(addr: SockAddr, C: OsConstants): { bytes: Uint8Array; len: number; buf: Uint8Array } {
  const buf = dirty(C);
  const len = encodeSockaddr(addr, buf, C);
  return { bytes: buf.slice(0, len), len, buf };
}

function bytes(...parts: (number | number[])[]): number[] {
  return parts.flat();
}

function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}

function ascii(s: string): number[] {
  return [...new TextEncoder().encode(s)];
}

describe("parseIPv4 / formatIPv4", () => {
  test("valid dotted quads", () => {
    expect(parseIPv4("127.0.0.1")).toEqual(new Uint8Array([127, 0, 0, 1]));
    expect(parseIPv4("0.0.0.0")).toEqual(new Uint8Array([0, 0, 0, 0]));
    expect(parseIPv4("255.255.255.255")).toEqual(new Uint8Array([255, 255, 255, 255]));
    expect(parseIPv4("10.200.30.4")).toEqual(new Uint8Array([10, 200, 30, 4]));
  });

  test.each(["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.04", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "1.2.3.a", "0x1.2.3.4", "1.2.3.1000", "☺", "", "::1"])(
    "rejects %p",
    (s) => {
      expect(parseIPv4(s)).toBeNull();
    },
  );

  test("formatIPv4 with offset", () => {
    expect(formatIPv4(new Uint8Array([9, 192, 168, 1, 254]), 1)).toBe("192.168.1.254");
    expect(formatIPv4(new Uint8Array([0, 0, 0, 0]))).toBe("0.0.0.0");
  });
});

describe("parseIPv6", () => {
  test("full form and ::", () => {
    expect(parseIPv6("2001:db8:0:0:0:0:0:1")).toEqual(
      new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    );
    expect(parseIPv6("::")).toEqual(new Uint8Array(16));
    expect(parseIPv6("::1")).toEqual(new Uint8Array([...zeros(15), 1]));
    expect(parseIPv6("1::")).toEqual(new Uint8Array([0, 1, ...zeros(14)]));
    expect(parseIPv6("1:2:3:4:5:6:7::")).toEqual(new Uint8Array([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]));
    expect(parseIPv6("::2:3:4:5:6:7:8")).toEqual(new Uint8Array([0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]));
    expect(parseIPv6("FFFF:AbCd::0001")).toEqual(new Uint8Array([0xff, 0xff, 0xab, 0xcd, ...zeros(10), 0, 1]));
  });

  test("embedded IPv4 tail", () => {
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual(new Uint8Array([...zeros(10), 0xff, 0xff, 1, 2, 3, 4]));
    expect(parseIPv6("::1.2.3.4")).toEqual(new Uint8Array([...zeros(12), 1, 2, 3, 4]));
    expect(parseIPv6("1:2:3:4:5:6:1.2.3.4")).toEqual(new Uint8Array([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4]));
    expect(parseIPv6("64:ff9b::192.0.2.33")).toEqual(new Uint8Array([0, 0x64, 0xff, 0x9b, ...zeros(8), 192, 0, 2, 33]));
  });

  test.each([
    "1:2:3:4:5:6:7:8:9",
    ":::",
    "1::2::3",
    "☺",
    "",
    ":",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    ":1::",
    "1::2:",
    "1:",
    "12345::",
    "g::",
    "fe80::1%eth0",
    "fe80::1%1",
    "[::1]",
    "::ffff:1.2.3",
    "::ffff:256.1.1.1",
    "::ffff:01.2.3.4",
    "::1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1:2:3:4:5:6:1.2.3.4",
    "1.2.3.4",
    " ::1",
    "::1 ",
  ])("rejects %p", (s) => {
    expect(parseIPv6(s)).toBeNull();
  });
});

describe("formatIPv6 (RFC 5952)", () => {
  const cases: [string, string][] = [
    ["2001:db8::1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
    ["0:0:0:0:0:ffff:0102:0304", "::ffff:1.2.3.4"],
    ["2001:DB8::ABCD:EF", "2001:db8::abcd:ef"],
    ["FE80::1", "fe80::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // single zero group is not compressed
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // longest run wins
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first run on a tie
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["::1.2.3.4", "::102:304"],
  ];
  test.each(cases)("%p -> %p", (input, expected) => {
    const b = parseIPv6(input);
    expect(b).not.toBeNull();
    expect(formatIPv6(b!)).toBe(expected);
    // canonical text round-trips to the same bytes
    expect(parseIPv6(expected)).toEqual(b!);
  });

  test("offset", () => {
    const buf = new Uint8Array(20);
    buf.set(parseIPv6("fe80::abcd")!, 3);
    expect(formatIPv6(buf, 3)).toBe("fe80::abcd");
  });
});

describe("ipFamily", () => {
  test("classifies", () => {
    expect(ipFamily("127.0.0.1")).toBe("inet");
    expect(ipFamily("::1")).toBe("inet6");
    expect(ipFamily("::ffff:1.2.3.4")).toBe("inet6");
    expect(ipFamily("localhost")).toBeNull();
    expect(ipFamily("01.2.3.4")).toBeNull();
    expect(ipFamily("fe80::1%eth0")).toBeNull();
    expect(ipFamily("")).toBeNull();
  });
});

describe("sockaddr_in", () => {
  const addr: SockAddr = { family: "inet", address: "192.168.1.2", port: 0x1f90 };

  test("Linux layout", () => {
    const { bytes: b, len } = encode(addr, LINUX);
    expect(len).toBe(16);
    expect([...b]).toEqual(bytes([2, 0], [0x1f, 0x90], [192, 168, 1, 2], zeros(8)));
    expect(decodeSockaddr(b, len, LINUX)).toEqual(addr);
  });

  test("BSD layout", () => {
    const { bytes: b, len } = encode(addr, BSD);
    expect(len).toBe(16);
    expect([...b]).toEqual(bytes([16, 2], [0x1f, 0x90], [192, 168, 1, 2], zeros(8)));
    expect(decodeSockaddr(b, len, BSD)).toEqual(addr);
  });

  test("port extremes", () => {
    for (const port of [0, 1, 80, 65535]) {
      const a: SockAddr = { family: "inet", address: "0.0.0.0", port };
      const { bytes: b, len } = encode(a, LINUX);
      expect(b[2]).toBe(port >> 8);
      expect(b[3]).toBe(port & 0xff);
      expect(decodeSockaddr(b, len, LINUX)).toEqual(a);
    }
  });

  test.each([-1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects port %p", (port) => {
    expect(() => encodeSockaddr({ family: "inet", address: "1.2.3.4", port }, dirty(LINUX), LINUX)).toThrow(RangeError);
    expect(() => encodeSockaddr({ family: "inet6", address: "::1", port }, dirty(LINUX), LINUX)).toThrow(RangeError);
  });

  test.each(["256.1.1.1", "1.2.3", "01.2.3.4", "::1", "localhost", ""])("rejects address %p", (address) => {
    expect(() => encodeSockaddr({ family: "inet", address, port: 1 }, dirty(LINUX), LINUX)).toThrow(RangeError);
  });
});

describe("sockaddr_in6", () => {
  const addr: SockAddr = { family: "inet6", address: "2001:db8::1", port: 443 };
  const addrBytes = [0x20, 0x01, 0x0d, 0xb8, ...zeros(11), 1];

  test("Linux layout", () => {
    const { bytes: b, len } = encode(addr, LINUX);
    expect(len).toBe(28);
    expect([...b]).toEqual(bytes([10, 0], [0x01, 0xbb], zeros(4), addrBytes, zeros(4)));
    expect(decodeSockaddr(b, len, LINUX)).toEqual(addr);
  });

  test("BSD layout", () => {
    const { bytes: b, len } = encode(addr, BSD);
    expect(len).toBe(28);
    expect([...b]).toEqual(bytes([28, 30], [0x01, 0xbb], zeros(4), addrBytes, zeros(4)));
    expect(decodeSockaddr(b, len, BSD)).toEqual(addr);
  });

  test("scopeId little-endian at 24, both layouts", () => {
    const scoped: SockAddr = { family: "inet6", address: "fe80::1", port: 8080, scopeId: 0x01020304 };
    const fe80 = [0xfe, 0x80, ...zeros(13), 1];
    const linux = encode(scoped, LINUX);
    expect([...linux.bytes]).toEqual(bytes([10, 0], [0x1f, 0x90], zeros(4), fe80, [4, 3, 2, 1]));
    expect(decodeSockaddr(linux.bytes, linux.len, LINUX)).toEqual(scoped);
    const bsd = encode(scoped, BSD);
    expect([...bsd.bytes]).toEqual(bytes([28, 30], [0x1f, 0x90], zeros(4), fe80, [4, 3, 2, 1]));
    expect(decodeSockaddr(bsd.bytes, bsd.len, BSD)).toEqual(scoped);
  });

  test("decode canonicalizes the address text", () => {
    const { bytes: b, len } = encode({ family: "inet6", address: "2001:0DB8:0:0:1:0:0:1", port: 1 }, LINUX);
    expect(decodeSockaddr(b, len, LINUX)).toEqual({ family: "inet6", address: "2001:db8::1:0:0:1", port: 1 });
    const m = encode({ family: "inet6", address: "::FFFF:10.0.0.1", port: 2 }, LINUX);
    expect(decodeSockaddr(m.bytes, m.len, LINUX)).toEqual({ family: "inet6", address: "::ffff:10.0.0.1", port: 2 });
  });

  test.each(["fe80::1%eth0", "[::1]", "1.2.3.4", ":::", ""])("rejects address %p", (address) => {
    expect(() => encodeSockaddr({ family: "inet6", address, port: 1 }, dirty(LINUX), LINUX)).toThrow(RangeError);
  });

  test.each([-1, 1.5, 2 ** 32])("rejects scopeId %p", (scopeId) => {
    expect(() => encodeSockaddr({ family: "inet6", address: "::1", port: 1, scopeId }, dirty(LINUX), LINUX)).toThrow(
      RangeError,
    );
  });
});

describe("sockaddr_un", () => {
  // The 2-byte header is sun_family on Linux, sun_len and sun_family on BSD;
  // after it "/tmp/a.sock" (11 bytes) and its NUL: socklen 14.
  for (const { name, C, header, sunPath } of [
    { name: "path, Linux layout", C: LINUX, header: [1, 0], sunPath: 108 },
    { name: "path, BSD layout (len byte = socklen)", C: BSD, header: [14, 1], sunPath: 104 },
  ]) {
    test(name, () => {
      const addr: SockAddr = { family: "unix", path: "/tmp/a.sock" };
      const { bytes: b, len, buf } = encode(addr, C);
      expect(len).toBe(2 + 11 + 1);
      expect([...b]).toEqual(bytes(header, ascii("/tmp/a.sock"), [0]));
      // the whole sun_path is zeroed, not just the bytes inside socklen
      expect([...buf.subarray(len, 2 + sunPath)]).toEqual(zeros(sunPath - 12));
      expect(decodeSockaddr(b, len, C)).toEqual(addr);
      // the kernel may report the full struct length; the path stops at NUL
      expect(decodeSockaddr(buf, 2 + sunPath, C)).toEqual(addr);
    });
  }

  test("UTF-8 path", () => {
    const addr: SockAddr = { family: "unix", path: "/tmp/☺" };
    const { bytes: b, len } = encode(addr, LINUX);
    expect(len).toBe(2 + 5 + 3 + 1);
    expect([...b]).toEqual(bytes([1, 0], ascii("/tmp/"), [0xe2, 0x98, 0xba], [0]));
    expect(decodeSockaddr(b, len, LINUX)).toEqual(addr);
  });

  test("abstract name (Linux)", () => {
    const addr: SockAddr = { family: "unix", path: "\0my-name" };
    const { bytes: b, len } = encode(addr, LINUX);
    expect(len).toBe(2 + 8);
    expect([...b]).toEqual(bytes([1, 0], [0], ascii("my-name")));
    expect(decodeSockaddr(b, len, LINUX)).toEqual(addr);
    expect(formatSockaddr(addr)).toBe("@my-name");
  });

  test("abstract name rejected on BSD", () => {
    expect(() => encodeSockaddr({ family: "unix", path: "\0x" }, dirty(BSD), BSD)).toThrow(RangeError);
  });

  test("unnamed", () => {
    const addr: SockAddr = { family: "unix", path: "" };
    const linux = encode(addr, LINUX);
    expect(linux.len).toBe(2);
    expect([...linux.bytes]).toEqual([1, 0]);
    expect(decodeSockaddr(linux.bytes, 2, LINUX)).toEqual(addr);
    const bsd = encode(addr, BSD);
    expect(bsd.len).toBe(2);
    expect([...bsd.bytes]).toEqual([2, 1]);
    expect(decodeSockaddr(bsd.bytes, 2, BSD)).toEqual(addr);
  });

  test("BSD: a zeroed sun_path decodes as unnamed, not abstract", () => {
    const buf = new Uint8Array(128);
    buf[0] = 16;
    buf[1] = 1;
    expect(decodeSockaddr(buf, 16, BSD)).toEqual({ family: "unix", path: "" });
  });

  test("Linux: 107-byte path fits, 108 bytes is ENAMETOOLONG", () => {
    const ok = "/" + "a".repeat(106);
    const { len, buf } = encode({ family: "unix", path: ok }, LINUX);
    expect(len).toBe(110);
    expect(buf[109]).toBe(0);
    expect(decodeSockaddr(buf, len, LINUX)).toEqual({ family: "unix", path: ok });

    const tooLong = "/" + "a".repeat(107);
    let err: unknown;
    try {
      encodeSockaddr({ family: "unix", path: tooLong }, dirty(LINUX), LINUX);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe("ENAMETOOLONG");

    const wayTooLong = "/" + "a".repeat(500);
    expect(() => encodeSockaddr({ family: "unix", path: wayTooLong }, dirty(LINUX), LINUX)).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
  });

  test("Linux: multibyte path counted in UTF-8 bytes", () => {
    // 35 × 3-byte chars = 105 bytes + "/" + NUL = 107: fits; one more char does not
    const fits = "/" + "☺".repeat(35);
    expect(encodeSockaddr({ family: "unix", path: fits }, dirty(LINUX), LINUX)).toBe(2 + 106 + 1);
    expect(() => encodeSockaddr({ family: "unix", path: fits + "☺" }, dirty(LINUX), LINUX)).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
  });

  test("Linux: abstract name may use all 108 bytes", () => {
    const name = "\0" + "b".repeat(107);
    const { len, buf } = encode({ family: "unix", path: name }, LINUX);
    expect(len).toBe(110);
    expect(decodeSockaddr(buf, len, LINUX)).toEqual({ family: "unix", path: name });
    expect(() => encodeSockaddr({ family: "unix", path: name + "b" }, dirty(LINUX), LINUX)).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
  });

  test("BSD: 103-byte path fits, 104 bytes is ENAMETOOLONG", () => {
    const ok = "/" + "a".repeat(102);
    const { len, bytes: b } = encode({ family: "unix", path: ok }, BSD);
    expect(len).toBe(106);
    expect(b[0]).toBe(106);
    expect(decodeSockaddr(b, len, BSD)).toEqual({ family: "unix", path: ok });
    expect(() => encodeSockaddr({ family: "unix", path: ok + "a" }, dirty(BSD), BSD)).toThrow(
      expect.objectContaining({ code: "ENAMETOOLONG" }),
    );
  });

  test("embedded NUL in a filesystem path is rejected", () => {
    expect(() => encodeSockaddr({ family: "unix", path: "/tmp/a\0b" }, dirty(LINUX), LINUX)).toThrow(RangeError);
  });
});

describe("buffer reuse and bounds", () => {
  test("encoding a short address over a long one leaves no stale bytes", () => {
    const buf = dirty(LINUX);
    encodeSockaddr({ family: "unix", path: "/" + "z".repeat(100) }, buf, LINUX);
    const len = encodeSockaddr({ family: "inet", address: "1.2.3.4", port: 5 }, buf, LINUX);
    expect([...buf.subarray(0, len)]).toEqual(bytes([2, 0, 0, 5], [1, 2, 3, 4], zeros(8)));
  });

  test("works on a subarray with a nonzero byteOffset", () => {
    const backing = new Uint8Array(200).fill(0x55);
    const out = backing.subarray(7, 7 + 128);
    const len = encodeSockaddr({ family: "inet6", address: "::1", port: 0x1234, scopeId: 7 }, out, LINUX);
    expect([...backing.subarray(7, 7 + len)]).toEqual(bytes([10, 0, 0x12, 0x34], zeros(4), zeros(15), [1], [7, 0, 0, 0]));
    expect(backing[6]).toBe(0x55);
    expect(decodeSockaddr(out, len, LINUX)).toEqual({ family: "inet6", address: "::1", port: 0x1234, scopeId: 7 });
  });

  test("out shorter than sockaddr_storage is rejected", () => {
    expect(() => encodeSockaddr({ family: "inet", address: "1.2.3.4", port: 1 }, new Uint8Array(16), LINUX)).toThrow(
      RangeError,
    );
  });

  test("decode rejects unknown families and truncated structs", () => {
    const buf = new Uint8Array(128);
    buf[0] = 99;
    expect(() => decodeSockaddr(buf, 16, LINUX)).toThrow(RangeError);
    buf[0] = 0;
    expect(() => decodeSockaddr(buf, 16, LINUX)).toThrow(RangeError); // AF_UNSPEC
    expect(() => decodeSockaddr(buf, 1, LINUX)).toThrow(RangeError);
    const v4 = encode({ family: "inet", address: "1.2.3.4", port: 1 }, LINUX);
    expect(() => decodeSockaddr(v4.buf, 8, LINUX)).toThrow(RangeError);
    const v6 = encode({ family: "inet6", address: "::1", port: 1 }, LINUX);
    expect(() => decodeSockaddr(v6.buf, 27, LINUX)).toThrow(RangeError);
    // Linux AF_INET6 (10) is not a family under the BSD numbering used here
    expect(() => decodeSockaddr(v6.buf, 28, BSD)).toThrow(RangeError);
  });

  test("default constants are this platform's", () => {
    const buf = new Uint8Array(128);
    const len = encodeSockaddr({ family: "inet", address: "127.0.0.1", port: 80 }, buf);
    expect(decodeSockaddr(buf, len)).toEqual({ family: "inet", address: "127.0.0.1", port: 80 });
  });
});

describe("formatSockaddr", () => {
  test("formats each family", () => {
    expect(formatSockaddr({ family: "inet", address: "127.0.0.1", port: 80 })).toBe("127.0.0.1:80");
    expect(formatSockaddr({ family: "inet6", address: "::1", port: 80 })).toBe("[::1]:80");
    expect(formatSockaddr({ family: "inet6", address: "fe80::1", port: 80, scopeId: 2 })).toBe("[fe80::1%2]:80");
    expect(formatSockaddr({ family: "unix", path: "/tmp/s" })).toBe("/tmp/s");
    expect(formatSockaddr({ family: "unix", path: "\0abs" })).toBe("@abs");
    expect(formatSockaddr({ family: "unix", path: "" })).toBe("");
  });
});
