// Shared by the stream-socket tests: connected pairs over TCP or a unix
// path, closed after each test if a failure left them open, and small
// promise helpers.
import { afterAll, afterEach, beforeAll } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { type Conn, connect, type IpAddr, listen } from "../../src/index.ts";
import { sleep } from "../helpers.ts";

export type Kind = "tcp" | "unix";

export interface ConnPairs {
  /** A connected [dialer, accepted] pair; its listener is already closed. */
  pair(kind: Kind): Promise<[Conn, Conn]>;
  /** Conns closed after each test if still open (pair() adds its own). */
  readonly conns: Conn[];
  /** This file's temp dir (valid inside tests). */
  dir(): string;
}

/**
 * Registers this file's temp dir and clean-up hooks. A failed test may leave
 * conns open: they are closed after it so later tests start clean.
 */
export function connPairs(): ConnPairs {
  let dir = "";
  let seq = 0;
  const conns: Conn[] = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(`${os.tmpdir()}/bnp-`);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of conns.splice(0)) if (!c.closed) await c.close().catch(() => {});
  });
  const pair = async (kind: Kind): Promise<[Conn, Conn]> => {
    const path = `${dir}/s${seq++}.sock`;
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
  return { pair, conns, dir: () => dir };
}

/** Outcome of a promise without awaiting it. */
export function track<T>(p: Promise<T>) {
  const t = { settled: false, ok: false, value: undefined as T | undefined, error: undefined as unknown, at: 0 };
  p.then(
    (v) => Object.assign(t, { settled: true, ok: true, value: v, at: performance.now() }),
    (e) => Object.assign(t, { settled: true, ok: false, error: e, at: performance.now() }),
  );
  return t;
}

/** The rejection reason of p; throws if p resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** Polls cond() every ms until it holds; throws after ms. */
export async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("until: timed out");
    await sleep(1);
  }
}
