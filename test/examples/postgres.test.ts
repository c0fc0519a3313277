// examples/ffi/postgres.ts (libpq through bun:ffi on pollFd level mode)
// against a throwaway PostgreSQL cluster: initdb into a temp dir (as the
// postgres user when running as root: the server refuses root), the server
// on a unix socket in that dir and on a free 127.0.0.1 port, stopped by pid
// at the end.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Pg, PgError } from "../../examples/ffi/postgres.ts";
import { DeadlineExceededError, listen } from "../../src/index.ts";
import { expectClean, sleep, tickMonitor } from "../_support/index.ts";

/** The directory of initdb and postgres: Debian's newest /usr/lib/postgresql/N/bin, pg_config --bindir, or PATH. */
function pgBinDir(): string | null {
  const root = "/usr/lib/postgresql";
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, "bin", "postgres")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0]!, "bin");
  }
  const pgConfig = Bun.which("pg_config");
  if (pgConfig !== null) {
    const r = Bun.spawnSync([pgConfig, "--bindir"]);
    const dir = r.stdout.toString().trim();
    if (r.exitCode === 0 && fs.existsSync(path.join(dir, "postgres"))) return dir;
  }
  const initdb = Bun.which("initdb");
  return initdb === null ? null : path.dirname(initdb);
}

function haveLibpq(): boolean {
  try {
    require("../../examples/ffi/_libpq.ts");
    return true;
  } catch {
    return false;
  }
}

const BIN = pgBinDir();
// In CI (.ci/run installs postgresql and libpq5) a missing server fails; elsewhere the tests are skipped.
const have = process.env["CI"] === "true" || (BIN !== null && haveLibpq());
if (!have) console.warn("test/examples/postgres: PostgreSQL or libpq5 not found (apt-get install -y postgresql libpq5): skipped");

const asRoot = process.getuid?.() === 0;
const libkqueue = process.platform === "linux" && process.env["BUN_NETPOLL_BACKEND"] === "kqueue";
let dir = "";
let sockDir = "";
let port = 0;
let server: Subprocess | null = null;

/** argv run as the postgres user when we are root. */
function asPostgres(argv: string[]): string[] {
  return asRoot ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
}

/** A TCP port free on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const ln = listen({ hostname: "127.0.0.1", port: 0 });
  const p = (ln.addr as { port: number }).port;
  await ln.close();
  return p;
}

function conninfo(extra = ""): string {
  return `host=${sockDir} port=${port} user=postgres dbname=postgres ${extra}`.trim();
}

beforeAll(async () => {
  if (!have) return;
  if (BIN === null) throw new Error("PostgreSQL binaries not found (apt-get install -y postgresql)");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bnp-pg-"));
  sockDir = path.join(dir, "sock");
  fs.mkdirSync(sockDir);
  if (asRoot) {
    const r = Bun.spawnSync(["chown", "-R", "postgres:postgres", dir]);
    if (r.exitCode !== 0) throw new Error(`chown failed: ${r.stderr.toString()}`);
  }
  const data = path.join(dir, "data");
  const init = Bun.spawnSync(asPostgres([path.join(BIN, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]), {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  port = await freePort();
  server = Bun.spawn(
    asPostgres([
      path.join(BIN, "postgres"),
      "-D",
      data,
      "-k",
      sockDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "max_connections=50",
    ]),
    { stdout: "ignore", stderr: "pipe" },
  );
  // Ready once a connection succeeds (the socket file comes first, then
  // "the database system is starting up" for a moment).
  const end = performance.now() + 20_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited: ${await new Response(server.stderr as ReadableStream).text()}`);
    if (fs.existsSync(path.join(sockDir, `.s.PGSQL.${port}`))) {
      try {
        const c = await Pg.connect(conninfo(), { deadline: Date.now() + 2000 });
        c.close();
        break;
      } catch (err) {
        if (performance.now() > end) throw err;
      }
    }
    if (performance.now() > end) throw new Error("postgres did not start");
    await sleep(50);
  }
}, 60_000);

afterAll(async () => {
  if (server !== null) {
    // Stop the postmaster by its pid (the first line of postmaster.pid; with
    // runuser in between it is not our child's pid): SIGINT, a fast shutdown.
    const pidFile = path.join(dir, "data", "postmaster.pid");
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]) : server.pid;
    process.kill(pid, "SIGINT");
    await server.exited;
    const end = performance.now() + 10_000;
    while (alive(pid) && performance.now() < end) await sleep(20);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, 30_000);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const open: Pg[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await sleep(10);
  expectClean();
});

async function connect(info = conninfo(), mode: "level" | "edge" = "level", ms = 4000): Promise<Pg> {
  const c = await Pg.connect(info, { deadline: Date.now() + ms, mode });
  open.push(c);
  return c;
}

describe.skipIf(!have)("examples/ffi/postgres.ts against a real PostgreSQL", () => {
  test("200 queries of pg_sleep(10 ms) on 20 connections run concurrently, every result checked, timers keep ticking", async () => {
    // allSettled: a failed connect must not leave the others to finish after
    // the test (connect() hands each one to afterEach only once it is up).
    const up = await Promise.allSettled(Array.from({ length: 20 }, () => connect()));
    for (const u of up) if (u.status === "rejected") throw u.reason;
    const conns = up.map((u) => (u as PromiseFulfilledResult<Pg>).value);
    const mon = tickMonitor(5);
    const t0 = performance.now();
    let checked = 0;
    try {
      const runs = await Promise.allSettled(
        conns.map(async (c, i) => {
          for (let k = 0; k < 10; k++) {
            const tag = `conn ${i} query ${k} ✓`;
            const r = await c.query("select pg_sleep(0.01), $1", [tag], { deadline: Date.now() + 5000 });
            expect(r.rows).toEqual([["", tag]]);
            checked++;
          }
        }),
      );
      for (const r of runs) if (r.status === "rejected") throw r.reason;
    } finally {
      mon.stop();
    }
    const elapsed = performance.now() - t0;
    expect(checked).toBe(200);
    // 10 sequential 10 ms queries per connection: about 100 ms; serially 2 s.
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(2500);
    expect(mon.ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
    expect(mon.maxGap).toBeLessThan(250);
  }, 30_000);

  test("a 1,000-row result (about 110 KB, many 16 KB PQconsumeInput reads) arrives complete", async () => {
    const c = await connect();
    const r = await c.query("select i, repeat(chr(97 + i % 26), 100) from generate_series(1, 1000) i", [], { deadline: Date.now() + 10_000 });
    expect(r.rows.length).toBe(1000);
    let bytes = 0;
    for (let i = 0; i < 1000; i++) {
      const n = i + 1;
      expect(r.rows[i]).toEqual([String(n), String.fromCharCode(97 + (n % 26)).repeat(100)]);
      bytes += r.rows[i]![0]!.length + r.rows[i]![1]!.length;
    }
    expect(bytes).toBe(100_000 + 2893);
  });

  // With the whole result in the kernel before libpq's first read, there is
  // one edge for all of it; PQconsumeInput takes about 16 KB per call. The
  // thread is held (in a test only) for 300 ms after the query is sent so
  // that the server's writes all land first.
  for (const mode of ["level", "edge"] as const) {
    test(`${mode}: a 1,000-row result entirely queued before the first read ${mode === "level" ? "arrives complete" : "parks forever"}`, async () => {
      const c = await connect(conninfo(), mode);
      const q = c.query("select i, repeat('x', 100) from generate_series(1, 1000) i", [], { deadline: Date.now() + 1000 });
      setTimeout(() => Bun.sleepSync(300), 0);
      const r = await q.catch((e: unknown) => e);
      if (mode === "level") expect((r as { rows: unknown[] }).rows.length).toBe(1000);
      else expect(r).toBeInstanceOf(DeadlineExceededError);
    });
  }

  test("connecting over TCP on an edge-triggered pollFd: PQconnectPoll asks for writability again with no new edge coming", async () => {
    const err = await connect(`host=127.0.0.1 port=${port} user=postgres dbname=postgres`, "edge", 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
  });

  test("over TCP on 127.0.0.1: connect, query, SQL error keeps the connection usable", async () => {
    const c = await connect(`host=127.0.0.1 port=${port} user=postgres dbname=postgres sslmode=disable gssencmode=disable`);
    expect((await c.query("select $1::int + 1", ["41"])).rows).toEqual([["42"]]);
    const err = await c.query("select * from no_such_table").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgError);
    expect((err as PgError).message).toContain('relation "no_such_table" does not exist');
    expect((await c.query("select null::text, 'x'")).rows).toEqual([[null, "x"]]);
  });

  // Not on libkqueue: it clears the refused socket's SO_ERROR (see below), so
  // libpq takes the first address as connected and gives up on the failed
  // startup instead of trying the next one.
  test.skipIf(libkqueue)("a refused first address: libpq opens its next socket under the same number and the connection still comes up", async () => {
    const dead = await freePort();
    const c = await connect(
      `host=127.0.0.1,127.0.0.1 port=${dead},${port} user=postgres dbname=postgres sslmode=disable gssencmode=disable`,
    );
    expect((await c.query("select inet_server_port()")).rows).toEqual([[String(port)]]);
  });

  test("run as a program: the server version, 200 queries' timing and the 1,000-row result", async () => {
    const example = path.resolve(import.meta.dir, "../../examples/ffi/postgres.ts");
    const proc = Bun.spawn([process.execPath, example, conninfo()], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const lines = out.trimEnd().split("\n");
    expect(lines.length).toBe(3);
    expect(lines[0]).toMatch(/^PostgreSQL \d+/);
    expect(lines[1]).toMatch(/^200 queries of 10 ms on 20 connections: \d+ ms$/);
    expect(lines[2]).toBe("1000 rows, 102893 bytes of values");
  }, 20_000);

  test("a server that is not there: PgError with libpq's message, nothing left open", async () => {
    const dead = await freePort();
    const err = await Pg.connect(`host=127.0.0.1 port=${dead} user=postgres connect_timeout=5`, { deadline: Date.now() + 5000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PgError);
    // libkqueue (the kqueue backend on Linux) reads SO_ERROR itself while
    // it watches the socket, which clears it: libpq then finds no connect
    // error, writes, and learns of the refusal from the failed write instead.
    if (libkqueue) expect((err as PgError).message).toMatch(/Connection refused|server closed the connection unexpectedly/);
    else expect((err as PgError).message).toContain("Connection refused");
  });
});
