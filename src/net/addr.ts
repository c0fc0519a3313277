// Addresses as users see them: the public address types and their text.
import { interfaceName } from "../../ffi/libc.ts";
import type { SockAddr } from "../../ffi/sockaddr.ts";
import type { ErrorContext } from "../errors.ts";

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
