// The checks that run on addresses and their options before any syscall,
// and the socket addresses they turn into.
import { interfaceIndex } from "../../ffi/libc.ts";
import { ipFamily, type SockAddr } from "../../ffi/sockaddr.ts";
import { platform } from "../../ffi/platform.ts";
import { AddrError } from "../errors.ts";

/** The network name used in errors: tcp/tcp6/udp/udp6/unix/unixgram. */
export function netName(kind: "tcp" | "udp", family: "inet" | "inet6"): string {
  return family === "inet6" ? `${kind}6` : kind;
}

/** Validates a port number; throws AddrError naming the bad value. */
export function checkPort(op: string, net: string, port: unknown, hostname = ""): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    const shown = typeof port === "string" ? JSON.stringify(port) : String(port);
    throw new AddrError(op, { net, address: hostname ? `${hostname}:${shown}` : shown }, `invalid port ${shown}`);
  }
  return port;
}

/** Validates a `network` option. */
export function checkNetwork(op: string, network: unknown, kinds: readonly string[]): void {
  if (network !== undefined && !kinds.includes(network as string)) {
    throw new AddrError(op, { net: String(network), address: "" }, `unknown network ${JSON.stringify(network)}`);
  }
}

/** Family a network option pins, or null for either. */
export function networkFamily(network: string | undefined): "inet" | "inet6" | null {
  if (network === undefined) return null;
  if (network.endsWith("4")) return "inet";
  if (network.endsWith("6")) return "inet6";
  return null;
}

/**
 * IP literal checks: returns the family of `host`, or throws AddrError when it
 * is not a literal of the pinned family. Returns null for a name to resolve.
 */
function literalFamily(op: string, net: string, host: string, pinned: "inet" | "inet6" | null): "inet" | "inet6" | null {
  const fam = ipFamily(host);
  if (fam !== null && pinned !== null && fam !== pinned) {
    throw new AddrError(op, { net, address: host }, `address ${host}: wrong address family for ${net}`);
  }
  return fam;
}

/** A numeric IP address to use as is: the address text without its zone, and the zone's scope id. */
export interface IpLiteral {
  readonly family: "inet" | "inet6";
  readonly address: string;
  /** Present (nonzero) only for an IPv6 literal with a zone. */
  readonly scopeId?: number | undefined;
}

const ZONE_SEPARATOR = "%";
const DECIMAL_ZONE = /^[0-9]+$/;
const SCOPE_ID_MAX = 0xffffffff;

/**
 * The scope id of an IPv6 zone: a decimal zone is the interface index itself
 * (RFC 4007 section 11.2), anything else an interface name looked up with
 * if_nametoindex. `address` names the whole address in errors. Throws
 * AddrError: EINVAL for an empty zone or an index beyond 32 bits, ENODEV
 * for a name no interface has.
 */
export function zoneScopeId(op: string, net: string, address: string, zone: string): number {
  if (zone === "") throw new AddrError(op, { net, address }, "empty IPv6 zone");
  if (DECIMAL_ZONE.test(zone)) {
    const n = Number(zone);
    if (n > SCOPE_ID_MAX) throw new AddrError(op, { net, address }, `IPv6 zone ${zone} is out of range`);
    return n;
  }
  const index = interfaceIndex(zone);
  if (index === 0) throw new AddrError(op, { net, address }, `no network interface named ${JSON.stringify(zone)}`, "ENODEV");
  return index;
}

/** Checks a scope id given as a number (an address's `scopeId`); throws AddrError when it is not a u32. */
export function checkScopeId(op: string, net: string, address: string, scopeId: unknown): number {
  if (typeof scopeId !== "number" || !Number.isInteger(scopeId) || scopeId < 0 || scopeId > SCOPE_ID_MAX) {
    throw new AddrError(op, { net, address }, `invalid IPv6 scope id ${String(scopeId)}`);
  }
  return scopeId;
}

/**
 * Parses `host` as an IP literal, IPv6 with an optional `%zone`
 * ("fe80::1%eth0", "fe80::1%2"). Returns null for a name to resolve. Throws
 * AddrError for a zone on anything but an IPv6 literal, a bad zone (see
 * zoneScopeId), or a literal of the wrong family for `pinned`.
 */
export function ipLiteral(op: string, net: string, host: string, pinned: "inet" | "inet6" | null): IpLiteral | null {
  const cut = host.indexOf(ZONE_SEPARATOR);
  if (cut < 0) {
    const family = literalFamily(op, net, host, pinned);
    return family === null ? null : { family, address: host };
  }
  const address = host.slice(0, cut);
  if (ipFamily(address) !== "inet6") throw new AddrError(op, { net, address: host }, "a zone is allowed only on an IPv6 address");
  if (pinned === "inet") throw new AddrError(op, { net, address: host }, `address ${host}: wrong address family for ${net}`);
  const scopeId = zoneScopeId(op, net, host, host.slice(cut + 1));
  return scopeId === 0 ? { family: "inet6", address } : { family: "inet6", address, scopeId };
}

/** The socket address of an IP literal (or a resolved address) and a port. */
export function ipSockAddr(t: IpLiteral, port: number): SockAddr {
  if (t.family === "inet") return { family: "inet", address: t.address, port };
  return t.scopeId ? { family: "inet6", address: t.address, port, scopeId: t.scopeId } : { family: "inet6", address: t.address, port };
}

/** Checks a unix path fits sun_path; throws AddrError ENAMETOOLONG / EINVAL. */
export function checkUnixPath(op: string, net: string, path: unknown): string {
  if (typeof path !== "string") throw new AddrError(op, { net, address: String(path) }, "unix path must be a string");
  const bytes = new TextEncoder().encode(path).length;
  const abstract = path.charCodeAt(0) === 0;
  const room = platform.constants.SUN_PATH_MAX - (abstract ? 0 : 1);
  if (bytes > room) {
    throw new AddrError(op, { net, address: path }, `unix path too long: ${bytes} bytes, at most ${room}`, "ENAMETOOLONG");
  }
  if (path.length === 0) throw new AddrError(op, { net, address: path }, "empty unix path");
  if (!abstract && path.includes("\0")) throw new AddrError(op, { net, address: path }, "unix path contains NUL");
  if (abstract && platform.os !== "linux") throw new AddrError(op, { net, address: path }, "abstract unix names are Linux-only");
  return path;
}

/** Checks an optional hostname option is a string; throws TypeError naming the option. */
export function checkHostname(op: string, hostname: unknown): string | undefined {
  if (hostname === undefined || typeof hostname === "string") return hostname;
  throw new TypeError(`${op}: hostname must be a string, got ${hostname === null ? "null" : typeof hostname}`);
}

/** Checks an optional signal option is an AbortSignal. */
export function checkSignal(op: string, signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(`${op}: signal must be an AbortSignal`);
}

/** Where a listening socket binds, worked out from the options before any syscall. */
export interface BindTarget {
  readonly net: string;
  readonly family: "inet" | "inet6";
  readonly host: string;
  readonly port: number;
  /** The wildcard with no family pinned: IPv6 "::" with IPV6_V6ONLY off. */
  readonly dualStack: boolean;
  /** The IPv6 scope of a zoned host ("fe80::1%eth0"): its text and scope id; "" and 0 for none. */
  readonly zone: string;
  readonly scopeId: number;
}

/** The socket address a bind target binds. */
export function bindSockAddr(t: BindTarget): SockAddr {
  return ipSockAddr({ family: t.family, address: t.host, scopeId: t.scopeId }, t.port);
}

/** The address of a bind target as errors name it: "0.0.0.0:80", "[::]:80", "[fe80::1%eth0]:80". */
export function bindText(t: BindTarget): string {
  if (t.family === "inet") return `${t.host}:${t.port}`;
  return t.zone ? `[${t.host}%${t.zone}]:${t.port}` : `[${t.host}]:${t.port}`;
}

/**
 * Checks listen options for an IP socket (`kind` tcp or udp) and resolves
 * the bind address: an IP literal (IPv6 with an optional %zone),
 * "localhost", or every address (dual-stack "::" unless the network pins a
 * family). Throws TypeError / AddrError.
 */
export function bindTarget(kind: "tcp" | "udp", opts: { port: unknown; hostname?: unknown; network?: unknown }): BindTarget {
  checkHostname("listen", opts.hostname);
  checkNetwork("listen", opts.network, [kind, `${kind}4`, `${kind}6`]);
  const net = (opts.network as string | undefined) ?? kind;
  const pinned = networkFamily(opts.network as string | undefined);
  const hostname = opts.hostname as string | undefined;
  const port = checkPort("listen", net, opts.port, hostname);
  let host = hostname ?? "";
  if (host === "localhost") host = pinned === "inet6" ? "::1" : "127.0.0.1";
  if (host === "") {
    const family = pinned ?? "inet6";
    return { net, family, host: family === "inet6" ? "::" : "0.0.0.0", port, dualStack: pinned === null, zone: "", scopeId: 0 };
  }
  const lit = ipLiteral("listen", net, host, pinned);
  if (lit === null) {
    throw new AddrError("listen", { net, address: host }, `listen needs an IP address or "localhost", not ${JSON.stringify(host)}`);
  }
  const scopeId = lit.scopeId ?? 0;
  const zone = scopeId === 0 ? "" : host.slice(host.indexOf(ZONE_SEPARATOR) + 1);
  return { net, family: lit.family, host: lit.address, port, dualStack: false, zone, scopeId };
}
