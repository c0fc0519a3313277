// examples/redis.ts against a real redis-server (Debian's), on a unix socket
// in a temp dir: the example checks every value it reads back and exits 0
// only if all of them match.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const EXAMPLE = path.resolve(import.meta.dir, "../../examples/redis.ts");
// In CI (.ci/run installs redis-server) a missing server fails; elsewhere the test is skipped.
const have = process.env["CI"] === "true" || Bun.which("redis-server") !== null;
if (!have) console.warn("test/examples/redis: redis-server not found (apt-get install -y redis-server): skipped");
let dir = "";
let server: Subprocess | null = null;

beforeAll(async () => {
  if (!have) return;
  dir = fs.mkdtempSync(`${os.tmpdir()}/bnp-redis-`);
  const sock = `${dir}/redis.sock`;
  server = Bun.spawn(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const end = performance.now() + 10_000;
  while (!fs.existsSync(sock)) {
    if (server.exitCode !== null || performance.now() > end) throw new Error("redis-server did not start");
    await Bun.sleep(20);
  }
});

afterAll(async () => {
  if (server !== null) {
    server.kill("SIGTERM");
    await server.exited;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!have)("examples/redis.ts: 10,000 pipelined binary SET/GET, a 100 KB value, INCR, error and nil replies against redis-server", () => {
  const r = Bun.spawnSync([process.execPath, EXAMPLE], { env: { ...process.env, REDIS_PATH: `${dir}/redis.sock` }, stdout: "pipe", stderr: "pipe" });
  expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
  expect(r.stdout.toString()).toBe("redis ok: 10000 binary keys set and read back, a 100 KB value, INCR, an error reply, nil\n");
});

test.skipIf(!have)("examples/redis.ts exits 1 with the reason when the server is not there", () => {
  const r = Bun.spawnSync([process.execPath, EXAMPLE], { env: { ...process.env, REDIS_PATH: `${dir}/nobody.sock` }, stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(1);
  expect(r.stderr.toString()).toContain("ENOENT");
});
