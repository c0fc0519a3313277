// Connected stream pairs for the socket tests, over TCP loopback or a unix
// path, closed after each test if a failure left them open; and reading a
// fixed number of bytes from a conn.
import { afterEach } from "bun:test";
import { type Conn, connect, type IpAddr, type Listener, listen } from "../../src/index.ts";
import { type Closable, fileTempDir, type Keep, keeper } from "./resources.ts";

export type Kind = "tcp" | "unix";

export interface ConnPairs {
  /** A connected [dialer, accepted] pair; its listener is already closed. */
  pair(kind: Kind): Promise<[Conn, Conn]>;
  /** Resources pushed here are closed after each test if still open (pair() adds its own). */
  readonly conns: { push(...xs: Closable[]): void };
  /** This file's temp dir (valid inside tests). */
  dir(): string;
}

/**
 * Registers this file's temp dir and clean-up hooks. A failed test may leave
 * conns open: they are closed after it so later tests start clean.
 */
export function connPairs(): ConnPairs {
  const dir = fileTempDir();
  let seq = 0;
  const keep = keeper();
  afterEach(() => keep.closeAll());
  const conns = { push: (...xs: Closable[]) => void xs.forEach((x) => keep(x)) };
  const pair = async (kind: Kind): Promise<[Conn, Conn]> => {
    const path = `${dir()}/s${seq++}.sock`;
    const ln = kind === "tcp" ? listen({ port: 0, hostname: "127.0.0.1" }) : listen({ path });
    try {
      const [a, b] = await Promise.all([
        kind === "tcp" ? connect({ port: (ln.addr as IpAddr).port, hostname: "127.0.0.1" }) : connect({ path }),
        ln.accept(),
      ]);
      conns.push(a, b);
      return [a, b];
    } finally {
      await ln.close();
    }
  };
  return { pair, conns, dir };
}

/** A connected loopback TCP pair through ln: [dialer, accepted], both given to keep. */
export async function pairOn(ln: Listener, keep: Keep): Promise<[Conn, Conn]> {
  const port = (ln.addr as IpAddr).port;
  const [a, b] = await Promise.all([connect({ hostname: "127.0.0.1", port }), ln.accept()]);
  return [keep(a), keep(b)];
}

/** A loopback TCP listener and a pair connected through it. */
export interface TcpPair {
  ln: Listener;
  /** The dialing side. */
  a: Conn;
  /** The accepted side. */
  b: Conn;
}

/** A new loopback TCP listener and a pair connected through it, all three given to keep. */
export async function listenAndPair(keep: Keep): Promise<TcpPair> {
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const [a, b] = await pairOn(ln, keep);
  return { ln, a, b };
}

/** Reads exactly n bytes (or fewer at EOF). */
export async function readN(c: Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  const buf = new Uint8Array(new ArrayBuffer(Math.max(n, 1)));
  while (off < n) {
    const k = await c.read(buf.subarray(0, n - off));
    if (k === null) break;
    out.set(buf.subarray(0, k), off);
    off += k;
  }
  return out.subarray(0, off);
}
