// Addresses as users see them, and the checks that run before any syscall.
import { formatSockaddr, ipFamily, type SockAddr } from "../../ffi/sockaddr.ts";
import { platform } from "../../ffi/platform.ts";
import { AddrError, type ErrorContext } from "../errors.ts";

/** An IP endpoint. `hostname` is the numeric address (RFC 5952 text for IPv6). */
export interface IpAddr {
  readonly transport: "tcp" | "udp";
  readonly family: "IPv4" | "IPv6";
  readonly hostname: string;
  readonly port: number;
}

/** A unix socket endpoint. `path` is "" for an unnamed socket; Linux abstract names start with "\0". */
export interface UnixAddr {
  readonly transport: "unix" | "unixgram";
  readonly path: string;
}

export type Addr = IpAddr | UnixAddr;

/** "127.0.0.1:80", "[::1]:80", or the unix path ("@name" for abstract names). */
export function formatAddr(a: Addr): string {
  if ("path" in a) return a.path.charCodeAt(0) === 0 ? `@${a.path.slice(1)}` : a.path;
  return a.family === "IPv6" ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
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
}

/**
 * Checks listen options for an IP socket (`kind` tcp or udp) and resolves
 * the bind address: an IP literal, "localhost", or every address (dual-stack
 * "::" unless the network pins a family). Throws TypeError / AddrError.
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
    return { net, family, host: family === "inet6" ? "::" : "0.0.0.0", port, dualStack: pinned === null };
  }
  const family = literalFamily("listen", net, host, pinned);
  if (family === null) {
    throw new AddrError("listen", { net, address: host }, `listen needs an IP address or "localhost", not ${JSON.stringify(host)}`);
  }
  return { net, family, host, port, dualStack: false };
}
