// examples/ffi/curl.ts (libcurl's multi-socket interface on pollFd level
// mode) fetching 100 URLs at once: half from the project's HTTP example
// server running in this very process and loop, half from
// `python3 -m http.server` serving a temp dir.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CurlError, CurlMulti } from "../../examples/ffi/curl.ts";
import { type HttpServer, startHttpServer } from "../../examples/http/server.ts";
import { listen } from "../../src/index.ts";
import { expectClean, sleep } from "../_support/index.ts";

function haveLibcurl(): boolean {
  try {
    require("../../examples/ffi/_libcurl.ts");
    return true;
  } catch {
    return false;
  }
}
const python = Bun.which("python3");
// In CI (.ci/run installs libcurl4; python3 is there) a missing one fails; elsewhere the tests are skipped.
const have = process.env["CI"] === "true" || (haveLibcurl() && python !== null);
if (!have) console.warn("test/examples/curl: libcurl.so.4 or python3 not found (apt-get install -y libcurl4 python3): skipped");

let dir = "";
let pyPort = 0;
let py: Subprocess | null = null;
let srv: HttpServer | null = null;
const FILES = 50;

/** The body of file i: distinct per file; file 0 is 300 KB, many reads' worth. */
function fileBody(i: number): string {
  return i === 0 ? "0123456789abcdef".repeat(300 * 64) : `file ${i}\n`.repeat(i * 37);
}

async function freePort(): Promise<number> {
  const ln = listen({ hostname: "127.0.0.1", port: 0 });
  const p = (ln.addr as { port: number }).port;
  await ln.close();
  return p;
}

beforeAll(async () => {
  if (!have) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bnp-curl-"));
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(dir, `f${i}.txt`), fileBody(i));
  pyPort = await freePort();
  py = Bun.spawn([python ?? "python3", "-m", "http.server", String(pyPort), "--bind", "127.0.0.1", "--directory", dir], {
    stdout: "ignore",
    stderr: "ignore",
  });
  // Up once it answers.
  const end = performance.now() + 10_000;
  for (;;) {
    const m = new CurlMulti();
    try {
      await m.get(`http://127.0.0.1:${pyPort}/f1.txt`, { timeoutMs: 1000 });
      break;
    } catch (err) {
      if (py.exitCode !== null || performance.now() > end) throw err;
      await sleep(50);
    } finally {
      m.close();
    }
  }
}, 30_000);

afterAll(async () => {
  if (py !== null) {
    py.kill("SIGTERM");
    await py.exited;
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  if (srv !== null) await srv.shutdown();
  srv = null;
  await sleep(20);
  expectClean();
});

const dec = new TextDecoder();

describe.skipIf(!have)("examples/ffi/curl.ts", () => {
  test("100 URLs at once: 50 from the HTTP example in this process, 50 from python3 -m http.server; every body checked", async () => {
    srv = startHttpServer({ port: 0, hostname: "127.0.0.1", streamDelayMs: 5 });
    const ours = srv.port;
    // python's http.server listens with a backlog of 5: 50 SYNs at once
    // would mostly be dropped and retried a second or more later.
    const m = new CurlMulti({ maxHostConnections: 5 });
    let ticks = 0;
    const iv = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    try {
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        jobs.push(
          m.get(`http://127.0.0.1:${ours}/?n=${i}`).then((r) => {
            expect({ status: r.status, body: dec.decode(r.body) }).toEqual({ status: 200, body: "Hello, World!" });
          }),
        );
      }
      for (let i = 0; i < 10; i++) {
        jobs.push(
          m.get(`http://127.0.0.1:${ours}/stream`).then((r) => {
            expect({ status: r.status, body: dec.decode(r.body) }).toEqual({
              status: 200,
              body: "chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n",
            });
          }),
        );
      }
      for (let i = 0; i < FILES; i++) {
        jobs.push(
          m.get(`http://127.0.0.1:${pyPort}/f${i}.txt`).then((r) => {
            const body = dec.decode(r.body);
            expect({ i, status: r.status, length: body.length }).toEqual({ i, status: 200, length: fileBody(i).length });
            expect(body === fileBody(i)).toBe(true);
          }),
        );
      }
      expect(jobs.length).toBe(100);
      await Promise.all(jobs);
    } finally {
      clearInterval(iv);
      m.close();
    }
    const elapsed = performance.now() - t0;
    expect(m.pending).toBe(0);
    expect(elapsed).toBeLessThan(5000);
    expect(ticks).toBeGreaterThan(0);
  }, 30_000);

  test("a 404 is a response, a refused connection is CurlError 7, and close() abandons what is left", async () => {
    const m = new CurlMulti();
    try {
      const nf = await m.get(`http://127.0.0.1:${pyPort}/no-such-file`);
      expect(nf.status).toBe(404);
      const dead = await freePort();
      const err = await m.get(`http://127.0.0.1:${dead}/`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CurlError);
      expect((err as CurlError).code).toBe(7); // CURLE_COULDNT_CONNECT
      // A transfer in flight when close() runs rejects.
      srv = startHttpServer({ port: 0, hostname: "127.0.0.1", streamDelayMs: 200 });
      const slow = m.get(`http://127.0.0.1:${srv.port}/stream`);
      await sleep(50);
      m.close();
      const e2 = await slow.catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(CurlError);
      expect((e2 as CurlError).message).toContain("abandoned by close()");
    } finally {
      m.close();
    }
  });

  test("run as a program: one line per URL", async () => {
    const example = path.resolve(import.meta.dir, "../../examples/ffi/curl.ts");
    const urls = [1, 2, 3].map((i) => `http://127.0.0.1:${pyPort}/f${i}.txt`);
    const proc = Bun.spawn([process.execPath, example, ...urls], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out.trimEnd().split("\n").sort()).toEqual(urls.map((u, k) => `200 ${fileBody(k + 1).length} ${u}`).sort());
  });
});
