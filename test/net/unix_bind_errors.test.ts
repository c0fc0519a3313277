// Unix socket error paths after bind: when stat of the freshly bound socket
// file throws (it records dev/inode so close() unlinks only its own file),
// listen() and listenDatagram() throw a NetError and leave nothing behind:
// no descriptor, no pollDesc in the loop's table, no socket file on disk.
// The failure is injected by mocking node:fs statSync for one path only.
import { afterAll, afterEach, describe, expect, mock, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { listen, listenDatagram, NetError, runtimeStats } from "../../src/index.ts";
import { expectClean, sleep, tempDirs, thrown } from "../_support/index.ts";

const realFs = { ...fs };
const realStat = fs.statSync;
let failPath: string | null = null;
mock.module("node:fs", () => ({
  ...realFs,
  statSync: ((p: fs.PathLike, o?: fs.StatSyncOptions) => {
    if (failPath !== null && p === failPath) {
      failPath = null;
      const err = new Error(`EIO: i/o error, stat '${String(p)}'`) as NodeJS.ErrnoException;
      err.code = "EIO";
      err.errno = -5;
      err.syscall = "stat";
      throw err;
    }
    return realStat(p, o as never);
  }) as typeof fs.statSync,
}));
afterAll(() => {
  mock.module("node:fs", () => realFs);
});

const tempDir = tempDirs();
afterEach(async () => {
  failPath = null;
  await sleep(1);
  expectClean();
});

describe("stat of the bound socket file throws", () => {
  const cases = [
    { name: "listenDatagram({ path }): NetError, no pollDesc left in the table, the bound file unlinked", file: "dg.sock", open: (p: string) => listenDatagram({ path: p }) },
    { name: "listen({ path }): NetError, no descriptor left, the bound file unlinked", file: "ln.sock", open: (p: string) => listen({ path: p }) },
  ];
  for (const { name, file, open } of cases) {
    test(name, async () => {
      const p = path.join(tempDir(), file);
      failPath = p;
      const err = thrown(() => open(p));
      expect(failPath).toBeNull(); // the stat was reached
      expect(err).toBeInstanceOf(NetError);
      expect({ code: (err as NetError).code, syscall: (err as NetError).syscall }).toEqual({ code: "EIO", syscall: "stat" });
      expect({ pollDescs: runtimeStats().pollDescs, fds: runtimeStats().fds }).toEqual({ pollDescs: 0, fds: 0 });
      expect(fs.existsSync(p)).toBe(false);
      // The path is free again: the same bind now works, and its close unlinks the file.
      await open(p).close();
      expect(fs.existsSync(p)).toBe(false);
    });
  }
});
