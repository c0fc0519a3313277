// Host name resolution for connect(): the lookup option and its answers.
import { ipFamily } from "../../ffi/sockaddr.ts";
import { AddrError } from "../errors.ts";

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
const defaultLookup: LookupFunction = (hostname, options) => Bun.dns.lookup(hostname, { family: options.family });

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
