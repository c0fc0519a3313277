// Addresses as users see them, and the checks that run before any syscall.
import { interfaceIndex, interfaceName } from "../../ffi/libc.ts";
import { formatSockaddr, ipFamily, type SockAddr } from "../../ffi/sockaddr.ts";
import { platform } from "../../ffi/platform.ts";
import { AddrError, type ErrorContext } from "../errors.ts";

/**
 * An IP endpoint. `hostname` is the numeric address (RFC 5952 text for
 * IPv6), without a zone. A scoped IPv6 address (link-local, fe80::/10) also
 * has `zone` and `scopeId`; unscoped addresses have neither property.
 */
export interface IpAddr {
  readonly transport: "tcp" | "udp";
  readonly family: "IPv4" | "IPv6";
  readonly hostname: string;
  readonly port: number;
  /** IPv6 zone: the interface's name, or its index as decimal text when no interface has that index. */
  readonly zone?: string;
  /** IPv6 scope id (sin6_scope_id): the interface index the zone stands for. */
  readonly scopeId?: number;
}

/** A unix socket endpoint. `path` is "" for an unnamed socket; Linux abstract names start with "\0". */
export interface UnixAddr {
  readonly transport: "unix" | "unixgram";
  readonly path: string;
}

export type Addr = IpAddr | UnixAddr;

/**
 * "127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:80" for a scoped address (the
 * zone, else the scope id), or the unix path ("@name" for abstract names).
 */
export function formatAddr(a: Addr): string {
  if ("path" in a) return a.path.charCodeAt(0) === 0 ? `@${a.path.slice(1)}` : a.path;
  if (a.family !== "IPv6") return `${a.hostname}:${a.port}`;
  const zone = a.zone || (a.scopeId ? String(a.scopeId) : "");
  return zone ? `[${a.hostname}%${zone}]:${a.port}` : `[${a.hostname}]:${a.port}`;
}

/**
 * The error context of a connection to a peer: its address string is made
 * only when an error needs it, so an idle connection does not keep one.
 */
export class PeerContext implements ErrorContext {
  readonly net: string;
  readonly peer: Addr;

  constructor(net: string, peer: Addr) {
    this.net = net;
    this.peer = peer;
  }

  get address(): string {
    return formatAddr(this.peer);
  }

  get port(): number | undefined {
    return "port" in this.peer ? this.peer.port : undefined;
  }
}

export function toAddr(sa: SockAddr, transport: "tcp" | "udp" | "unix" | "unixgram"): Addr {
  switch (sa.family) {
    case "inet":
      return { transport: transport as "tcp" | "udp", family: "IPv4", hostname: sa.address, port: sa.port };
    case "inet6":
      if (sa.scopeId) {
        const zone = interfaceName(sa.scopeId) ?? String(sa.scopeId);
        return { transport: transport as "tcp" | "udp", family: "IPv6", hostname: sa.address, port: sa.port, zone, scopeId: sa.scopeId };
      }
      return { transport: transport as "tcp" | "udp", family: "IPv6", hostname: sa.address, port: sa.port };
    case "unix":
      return { transport: transport as "unix" | "unixgram", path: sa.path };
  }
}

export { formatSockaddr };

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

export type IpNetwork = "tcp" | "tcp4" | "tcp6";

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
export function literalFamily(op: string, net: string, host: string, pinned: "inet" | "inet6" | null): "inet" | "inet6" | null {
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

/** One address found for a host name: an IP literal; `family` (4 or 6) may be left out. */
export interface LookupAddress {
  readonly address: string;
  readonly family?: number;
}

/**
 * Resolves a host name for connect(): its addresses, best first. `family`
 * is 4 or 6 when the network pins one, else 0. `signal` aborts once the
 * dial no longer needs the answer (its timeout, deadline or abort); an
 * answer that arrives later is ignored. `Bun.dns.lookup` fits this shape.
 */
export type LookupFunction = (
  hostname: string,
  options: { readonly family: 0 | 4 | 6; readonly signal: AbortSignal },
) => Promise<readonly LookupAddress[]>;

/** Bun's resolver (getaddrinfo: /etc/hosts, then DNS). */
export const defaultLookup: LookupFunction = (hostname, options) => Bun.dns.lookup(hostname, { family: options.family });

/** Checks an optional lookup option is a function; throws TypeError naming the option. */
export function checkLookup(op: string, lookup: unknown): LookupFunction | undefined {
  if (lookup === undefined || typeof lookup === "function") return lookup as LookupFunction | undefined;
  throw new TypeError(`${op}: lookup must be a function, got ${lookup === null ? "null" : typeof lookup}`);
}

/**
 * Resolves a host name to addresses of the pinned family, with `lookup`
 * (Bun's resolver by default), IPv4 first. A failed lookup, or one that
 * found nothing usable, throws AddrError ENOTFOUND; an answer that is not a
 * list of IP addresses throws AddrError EINVAL.
 */
export async function resolveHost(
  op: string,
  net: string,
  host: string,
  pinned: "inet" | "inet6" | null,
  lookup: LookupFunction = defaultLookup,
  signal: AbortSignal = new AbortController().signal,
): Promise<{ family: "inet" | "inet6"; address: string }[]> {
  let results: readonly LookupAddress[];
  try {
    results = await lookup(host, { family: pinned === "inet" ? 4 : pinned === "inet6" ? 6 : 0, signal });
  } catch (cause) {
    throw new AddrError(op, { net, address: host }, `lookup ${host}: no such host`, "ENOTFOUND", cause);
  }
  if (!Array.isArray(results)) throw new AddrError(op, { net, address: host }, `lookup ${host}: the resolver gave no address list`);
  const out: { family: "inet" | "inet6"; address: string }[] = [];
  for (const r of results as unknown[]) {
    const address = r !== null && typeof r === "object" ? (r as LookupAddress).address : undefined;
    const family = typeof address === "string" ? ipFamily(address) : null;
    if (family === null) throw new AddrError(op, { net, address: host }, `lookup ${host}: the resolver gave an invalid address ${String(address)}`);
    if (pinned !== null && family !== pinned) continue;
    out.push({ family, address: address! });
  }
  // IPv4 first, then IPv6, each in the resolver's order: "localhost" then
  // reaches a listener on 127.0.0.1 (where listen() puts "localhost") first.
  out.sort((a, b) => (a.family === b.family ? 0 : a.family === "inet" ? -1 : 1));
  if (out.length === 0) throw new AddrError(op, { net, address: host }, `lookup ${host}: no suitable address`, "ENOTFOUND");
  return out;
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
