// Closing what a test opened: a test that fails midway must not leave conns,
// listeners, descriptors, temp dirs or callbacks behind for the tests after it. Each
// function registers its bun:test hook in the calling test file, so call it
// at the top level of that file.
import { afterAll, afterEach, beforeAll } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import { type PollFd, type PollFdOptions, pollFd } from "../../src/index.ts";
import { closeFd, pipe } from "./fd.ts";
import { tick } from "./time.ts";

/** Anything with close() and a closed flag: Conn, Listener, DatagramConn, PollFd, TLS conns. */
export type Closable = { close(): Promise<void> | void; readonly closed: boolean };

/** Remembers resources to close later; call it with a resource, get the resource back. */
export interface Keep {
  <T extends Closable>(x: T): T;
  /** Forgets x (the test closes it itself). */
  forget(x: Closable): void;
  /** Closes every remembered resource that is still open, in order, ignoring close errors, then forgets them all. */
  closeAll(): Promise<void>;
}

/** A Keep without a hook: the caller runs closeAll() where its own afterEach needs it. */
export function keeper(): Keep {
  const open: Closable[] = [];
  const keep = (<T extends Closable>(x: T): T => {
    open.push(x);
    return x;
  }) as Keep;
  keep.forget = (x) => {
    const i = open.indexOf(x);
    if (i >= 0) open.splice(i, 1);
  };
  keep.closeAll = async () => {
    for (const x of open.splice(0)) {
      if (x.closed) continue;
      try {
        await x.close();
      } catch {
        // Already failing or already closed by the runtime: nothing to undo.
      }
    }
  };
  return keep;
}

/**
 * A Keep whose resources are closed after each test of the calling file
 * (then one macrotask hop, so their releases finish before the next test).
 */
export function closeAfterEach(): Keep {
  const keep = keeper();
  afterEach(async () => {
    await keep.closeAll();
    await tick();
  });
  return keep;
}

/** Closes everything given that is still open and awaits the releases (close errors propagate). */
export async function closeAll(...xs: Closable[]): Promise<void> {
  await Promise.all(xs.filter((x) => !x.closed).map((x) => x.close()));
}

/** Raw pipes and PollFds for the calling file's tests; see pipesAfterEach(). */
export interface Pipes {
  /** A non-blocking pipe [readEnd, writeEnd], closed after the test unless done() closed it. */
  mkpipe(): [number, number];
  /** pollFd(fd, opts), closed after the test if still open. */
  poll(fd: number, opts?: PollFdOptions): PollFd;
  /** Closes a raw fd opened by this test (once). */
  done(fd: number): void;
  /** The raw fds to close after the test; push other fds the test opens. */
  readonly rawFds: number[];
  /** The PollFds to close after the test. */
  readonly polls: PollFd[];
}

/**
 * Raw pipes and PollFds released after each test of the calling file: the
 * PollFds closed first, then one macrotask hop, then the raw fds.
 */
export function pipesAfterEach(): Pipes {
  const rawFds: number[] = [];
  const polls: PollFd[] = [];
  afterEach(async () => {
    for (const p of polls.splice(0)) if (!p.closed) p.close();
    await tick();
    for (const fd of rawFds.splice(0)) closeFd(fd);
  });
  return {
    rawFds,
    polls,
    mkpipe() {
      const p = pipe();
      rawFds.push(...p);
      return p;
    },
    poll(fd, opts) {
      const p = pollFd(fd, opts);
      polls.push(p);
      return p;
    },
    done(fd) {
      const i = rawFds.indexOf(fd);
      if (i >= 0) rawFds.splice(i, 1);
      closeFd(fd);
    },
  };
}

/** Clean-up functions run (last pushed first) after each test of the calling file; push onto the returned list. */
export function cleanupsAfterEach(): (() => Promise<void> | void)[] {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });
  return cleanups;
}

/** A fresh temp dir, removed (recursively) after the current test of the calling file; see tempDirs(). */
export type TempDir = () => string;

/** Temp dirs made on demand by the returned function and removed after each test of the calling file. */
export function tempDirs(): TempDir {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = fs.mkdtempSync(os.tmpdir() + "/bnp-");
    dirs.push(d);
    return d;
  };
}

/** One temp dir for the whole calling file (made before its first test, removed after its last); the returned function gives its path. */
export function fileTempDir(prefix = "bnp-"): () => string {
  let dir = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(`${os.tmpdir()}/${prefix}`);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}
