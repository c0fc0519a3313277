// Options objects are checked against the keys each one takes. An unknown key
// is a TypeError naming it, never ignored: TypeScript flags excess keys only
// in object literals, and a Node-style `{ host: "127.0.0.1" }` where
// `hostname` is meant would otherwise listen on every interface or connect
// to localhost. A known key whose value is undefined is the same as absent.

/**
 * The options of every operation whose only option is cancellation (and the
 * base of those that take more): `signal` aborts the wait, which rejects
 * with `signal.reason`.
 */
export interface SignalOptions {
  readonly signal?: AbortSignal;
}

/** The keys an options object takes, built from its interface so the two cannot drift apart. */
export function optionKeys<T extends object>(keys: { readonly [K in keyof Required<T>]: true }): ReadonlySet<string> {
  return new Set(Object.keys(keys));
}

/** Keys other APIs (node:net, node:dgram, Deno, …) use, and the one this API means. */
const ALIASES: Readonly<Record<string, string>> = {
  host: "hostname",
  address: "hostname",
  addr: "hostname",
  ip: "hostname",
  socketPath: "path",
  family: "network",
  ipv6Only: "network",
  transport: "network",
  exclusive: "reusePort",
  reuseAddress: "reusePort",
  reuseAddr: "reusePort",
  abortSignal: "signal",
  timeoutMs: "timeout",
  connectTimeout: "timeout",
  bufferSize: "size",
  highWaterMark: "size",
  maxBuffer: "maxSize",
  maxLength: "max",
  limit: "max",
};

/** Extra words for an unknown key that has no counterpart here: what to do instead. */
export type OptionHints = Readonly<Record<string, string>>;

/**
 * Throws TypeError `op: unknown option "k"` for the first own key of opts
 * that is not in `known`, with `(did you mean "x"?)` when a known key is
 * what other APIs call k or k is a near-miss spelling of it, or with the
 * matching hint. undefined and null opts pass (optional options); anything
 * else that is not an object is a TypeError.
 */
export function checkOptions(op: string, opts: unknown, known: ReadonlySet<string>, hints?: OptionHints): void {
  const err = optionsError(op, opts, known, hints);
  if (err !== null) throw err;
}

/** checkOptions' error, returned instead of thrown (for functions that reject rather than throw); null if the options are fine. */
export function optionsError(op: string, opts: unknown, known: ReadonlySet<string>, hints?: OptionHints): TypeError | null {
  if (opts === undefined || opts === null) return null;
  if (typeof opts !== "object") return new TypeError(`${op}: options must be an object, got ${typeof opts}`);
  for (const k in opts) {
    if (!Object.hasOwn(opts, k) || known.has(k)) continue;
    return new TypeError(`${op}: unknown option ${JSON.stringify(k)}${suggestion(k, known, hints)}`);
  }
  return null;
}

function suggestion(key: string, known: ReadonlySet<string>, hints: OptionHints | undefined): string {
  const hint = hints !== undefined && Object.hasOwn(hints, key) ? hints[key] : undefined;
  if (hint !== undefined) return ` (${hint})`;
  const alias = Object.hasOwn(ALIASES, key) ? ALIASES[key]! : undefined;
  if (alias !== undefined && known.has(alias)) return ` (did you mean ${JSON.stringify(alias)}?)`;
  let best: string | null = null;
  let bestDist = 3; // at most two edits away, case aside
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best !== null && bestDist <= Math.max(1, Math.floor(Math.min(key.length, best.length) / 3)) ? ` (did you mean ${JSON.stringify(best)}?)` : "";
}

// Levenshtein distance (short strings only: option names).
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * For options passed on to another API (node:tls): throws TypeError
 * `op: unknown option "k" (why)` for the first own key of opts that is one
 * of `banned`'s keys; other keys pass.
 */
export function rejectOptions(op: string, opts: unknown, banned: OptionHints): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== "object") throw new TypeError(`${op}: options must be an object, got ${typeof opts}`);
  for (const k in opts) {
    if (Object.hasOwn(opts, k) && Object.hasOwn(banned, k)) throw new TypeError(`${op}: unknown option ${JSON.stringify(k)} (${banned[k]})`);
  }
}

/** The options of an operation that only takes a signal (reads, writes, accept, waits). */
export const SIGNAL_ONLY: ReadonlySet<string> = new Set(["signal"]);

/** What to say about per-call timeouts on a socket read or write: deadlines are per direction, as in Go. */
export const IO_HINTS: OptionHints = {
  timeout: "deadlines are per direction: call setReadTimeout(ms) / setWriteTimeout(ms) or setReadDeadline(t) / setWriteDeadline(t) first",
  deadline: "deadlines are per direction: call setReadDeadline(t) / setWriteDeadline(t) first",
};
