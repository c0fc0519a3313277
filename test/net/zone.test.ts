// IPv6 zones (scope ids) without a link-local address: parsing "addr%zone"
// (an interface name or a decimal index), formatting "[addr%zone]:port",
// decoding a scoped sockaddr into an address, and the typed errors for bad
// zones at every entry point. The end-to-end runs over a link-local address
// are in zone_netns.test.ts.
import { afterEach, describe, expect, test } from "bun:test";
import { interfaceIndex } from "../../ffi/libc.ts";
import { ipLiteral } from "../../src/net/_addr_checks.ts";
import { toAddr } from "../../src/net/addr.ts";
import { AddrError, connect, connectDatagram, type DatagramConn, formatAddr, listen, listenDatagram } from "../../src/index.ts";
import { expectClean, tick } from "../_support/index.ts";

const LO = "lo";
const loIndex = interfaceIndex(LO);

const open: DatagramConn[] = [];
afterEach(async () => {
  for (const x of open.splice(0)) if (!x.closed) await x.close().catch(() => {});
  await tick();
  expectClean();
});

/** The error a call threw or rejected with, as the fields users match on. */
async function failure(f: () => unknown): Promise<Record<string, unknown>> {
  try {
    await f();
  } catch (err) {
    const e = err as AddrError;
    return { cls: e.constructor.name, code: e.code, op: e.op, net: e.net, address: e.address, message: e.message };
  }
  throw new Error("expected a failure");
}

describe("parsing addr%zone", () => {
  test("the loopback interface has an index", () => {
    expect(loIndex).toBeGreaterThan(0);
  });

  test("fe80::1%lo: the interface name resolved with if_nametoindex", () => {
    expect(ipLiteral("dial", "tcp", "fe80::1%lo", null)).toEqual({ family: "inet6", address: "fe80::1", scopeId: loIndex });
  });

  test("fe80::1%2: a decimal zone is the index itself", () => {
    expect(ipLiteral("dial", "tcp", "fe80::1%2", null)).toEqual({ family: "inet6", address: "fe80::1", scopeId: 2 });
    expect(ipLiteral("dial", "tcp", "fe80::1%4294967295", null)).toEqual({ family: "inet6", address: "fe80::1", scopeId: 4294967295 });
  });

  test("%0 is no scope; no zone is no scope", () => {
    expect(ipLiteral("dial", "tcp", "fe80::1%0", null)).toEqual({ family: "inet6", address: "fe80::1" });
    expect(ipLiteral("dial", "tcp", "fe80::1", null)).toEqual({ family: "inet6", address: "fe80::1" });
    expect(ipLiteral("dial", "tcp", "127.0.0.1", null)).toEqual({ family: "inet", address: "127.0.0.1" });
    expect(ipLiteral("dial", "tcp", "example.com", null)).toBeNull();
  });

  test.each([
    ["fe80::1%nosuch0", "ENODEV", 'no network interface named "nosuch0"'],
    ["fe80::1%lo%lo", "ENODEV", 'no network interface named "lo%lo"'],
    ["fe80::1%" + "x".repeat(40), "ENODEV", `no network interface named "${"x".repeat(40)}"`],
    ["fe80::1%", "EINVAL", "empty IPv6 zone"],
    ["fe80::1%4294967296", "EINVAL", "IPv6 zone 4294967296 is out of range"],
    ["127.0.0.1%lo", "EINVAL", "a zone is allowed only on an IPv6 address"],
    ["localhost%lo", "EINVAL", "a zone is allowed only on an IPv6 address"],
    ["%lo", "EINVAL", "a zone is allowed only on an IPv6 address"],
  ])("bad zone %p: AddrError %s", async (host, code, detail) => {
    expect(await failure(() => ipLiteral("dial", "tcp", host, null))).toEqual({
      cls: "AddrError",
      code,
      op: "dial",
      net: "tcp",
      address: host,
      message: `dial tcp ${host}: ${detail}`,
    });
  });

  test("a zoned address on a network pinned to IPv4 is the wrong family", async () => {
    expect(await failure(() => ipLiteral("dial", "tcp4", "fe80::1%lo", "inet"))).toEqual({
      cls: "AddrError",
      code: "EINVAL",
      op: "dial",
      net: "tcp4",
      address: "fe80::1%lo",
      message: "dial tcp4 fe80::1%lo: address fe80::1%lo: wrong address family for tcp4",
    });
  });
});

describe("formatting", () => {
  test("[fe80::1%eth0]:80 from the zone name", () => {
    expect(formatAddr({ transport: "tcp", family: "IPv6", hostname: "fe80::1", port: 80, zone: "eth0", scopeId: 2 })).toBe("[fe80::1%eth0]:80");
    expect(formatAddr({ transport: "udp", family: "IPv6", hostname: "fe80::1", port: 80, zone: "eth0" })).toBe("[fe80::1%eth0]:80");
  });

  test("[fe80::1%2]:80 from a bare scope id; no zone, no %", () => {
    expect(formatAddr({ transport: "tcp", family: "IPv6", hostname: "fe80::1", port: 80, scopeId: 2 })).toBe("[fe80::1%2]:80");
    expect(formatAddr({ transport: "tcp", family: "IPv6", hostname: "fe80::1", port: 80 })).toBe("[fe80::1]:80");
    expect(formatAddr({ transport: "tcp", family: "IPv4", hostname: "1.2.3.4", port: 80 })).toBe("1.2.3.4:80");
  });

  test("a decoded scope id becomes the interface name (if_indextoname), or the number when no interface has it", () => {
    expect(toAddr({ family: "inet6", address: "fe80::1", port: 80, scopeId: loIndex }, "tcp")).toEqual({
      transport: "tcp",
      family: "IPv6",
      hostname: "fe80::1",
      port: 80,
      zone: LO,
      scopeId: loIndex,
    });
    expect(toAddr({ family: "inet6", address: "fe80::1", port: 80, scopeId: 4000000000 }, "udp")).toEqual({
      transport: "udp",
      family: "IPv6",
      hostname: "fe80::1",
      port: 80,
      zone: "4000000000",
      scopeId: 4000000000,
    });
    const unscoped = toAddr({ family: "inet6", address: "::1", port: 80 }, "tcp");
    expect(unscoped).toEqual({ transport: "tcp", family: "IPv6", hostname: "::1", port: 80 });
    expect(Object.keys(unscoped)).toEqual(["transport", "family", "hostname", "port"]);
  });
});

describe("an unknown interface is an AddrError at every entry point, never a DNS lookup", () => {
  const host = "fe80::1%nosuch0";
  const detail = 'no network interface named "nosuch0"';
  /** The AddrError every entry point gives for host, as `failure` reports it. */
  const enodev = (op: string, net: string) => ({ cls: "AddrError", code: "ENODEV", op, net, address: host, message: `${op} ${net} ${host}: ${detail}` });

  test("connect", async () => {
    expect(await failure(() => connect({ hostname: host, port: 80 }))).toEqual(enodev("dial", "tcp"));
  });

  test("listen", async () => {
    expect(await failure(() => listen({ hostname: host, port: 0 }))).toEqual(enodev("listen", "tcp"));
  });

  test("listenDatagram and connectDatagram", async () => {
    expect(await failure(() => listenDatagram({ hostname: host, port: 0 }))).toEqual(enodev("listen", "udp"));
    expect(await failure(() => connectDatagram({ hostname: host, port: 9 }))).toEqual(enodev("dial", "udp"));
  });

  test("send, by hostname text or by an address's zone; a bad scope id", async () => {
    const u = listenDatagram({ hostname: "::1", port: 0, network: "udp6" });
    open.push(u);
    const data = new Uint8Array(new ArrayBuffer(1));
    expect(await failure(() => u.send(data, { hostname: host, port: 9 }))).toEqual(enodev("send", "udp6"));
    expect(await failure(() => u.send(data, { transport: "udp", family: "IPv6", hostname: "fe80::1", port: 9, zone: "nosuch0" }))).toEqual(enodev("send", "udp6"));
    expect(await failure(() => u.send(data, { transport: "udp", family: "IPv6", hostname: "fe80::1", port: 9, scopeId: -1 }))).toEqual({
      cls: "AddrError",
      code: "EINVAL",
      op: "send",
      net: "udp6",
      address: "fe80::1",
      message: "send udp6 fe80::1: invalid IPv6 scope id -1",
    });
    await u.close();
  });
});
