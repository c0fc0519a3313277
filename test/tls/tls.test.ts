// TLS over bun-netpoll connections against real TLS software: openssl
// s_server and s_client, and curl, with a CA and a server certificate made
// for this run (openssl req / x509 in a temp dir). Deadlines and close keep
// the Conn's semantics on the TLS conn.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import { BufferedReader, BufferedWriter, ClosedError, connect, connectTls, DeadlineExceededError, type IpAddr, listen, listenTls, NetError, type TlsConn, type TlsListener, upgradeTls } from "../../src/index.ts";
import { expectClean, rejection, sleep } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
// Outside CI a machine without the tools skips (with the reason); in CI
// (.ci/run installs them) their absence fails the tests.
const ci = process.env["CI"] === "true";
const haveOpenssl = ci || Bun.which("openssl") !== null;
const haveCurl = ci || Bun.which("curl") !== null;
if (!haveOpenssl) console.warn("test/tls: openssl not found (apt-get install -y openssl): TLS tests skipped");
if (!haveCurl) console.warn("test/tls: curl not found (apt-get install -y curl): the curl test skipped");
let dir = "";
let ca = "";
let key = "";
let cert = "";
const procs: Subprocess[] = [];

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

beforeAll(() => {
  if (!haveOpenssl) return;
  dir = fs.mkdtempSync(`${os.tmpdir()}/bnp-tls-`);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  sh(["openssl", "req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bun-netpoll test CA"]);
  sh(["openssl", "req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
  fs.writeFileSync(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  sh(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"]);
  ca = fs.readFileSync(`${dir}/ca.pem`, "utf8");
  key = fs.readFileSync(`${dir}/server.key`, "utf8");
  cert = fs.readFileSync(`${dir}/server.pem`, "utf8");
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** openssl s_server -rev (echoes each line reversed) on a free port; resolves the port. */
async function sServer(): Promise<{ port: number; proc: Subprocess<"pipe", "pipe", "pipe"> }> {
  const proc = Bun.spawn(
    ["openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", `${dir}/server.pem`, "-key", `${dir}/server.key`, "-rev", "-naccept", "1"],
    { stdin: "pipe", stdout: "pipe", stderr: "pipe" },
  );
  procs.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  for (;;) {
    const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(text);
    if (m) {
      reader.releaseLock();
      void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
      return { port: Number(m[1]), proc };
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`s_server exited: ${text}`);
    text += dec.decode(value);
  }
}

/** A listenTls listener on a free loopback port with the test certificate (and any other tls options given), and that port. */
function tlsListener(tls: { ALPNProtocols?: string[] } = {}): { ln: TlsListener; port: number } {
  const ln = listenTls({ port: 0, hostname: "127.0.0.1", tls: { key, cert, ...tls } });
  return { ln, port: (ln.addr as IpAddr).port };
}

/** A connectTls client (verified against the test CA) of a fresh tlsListener, and the server side it accepted, its handshake done. */
async function handshaken(): Promise<{ ln: TlsListener; t: TlsConn; server: TlsConn }> {
  const { ln, port } = tlsListener();
  const accepted = ln.accept();
  const t = await connectTls({ hostname: "localhost", port, tls: { ca } });
  const server = await accepted;
  await server.handshake();
  return { ln, t, server };
}

/**
 * A tlsListener (with any extra tls options) whose first conn, under a
 * 10 s deadline, is handed to serve with a BufferedReader on it and closed
 * when serve is done; `served` settles as serve does.
 */
function serveOne<T>(serve: (c: TlsConn, r: BufferedReader) => Promise<T>, tls: { ALPNProtocols?: string[] } = {}): { ln: TlsListener; port: number; served: Promise<T> } {
  const { ln, port } = tlsListener(tls);
  const served = (async () => {
    const c = await ln.accept();
    c.setDeadline(Date.now() + 10_000);
    try {
      return await serve(c, new BufferedReader(c));
    } finally {
      await c.close();
    }
  })();
  return { ln, port, served };
}

/** A listenTls echo server: every conn echoes until EOF, then closes. */
function echoServer(): { ln: TlsListener; port: number; done: Promise<void> } {
  const { ln, port } = tlsListener();
  const tasks: Promise<void>[] = [];
  const done = (async () => {
    for await (const c of ln) {
      tasks.push(
        (async () => {
          const buf = new Uint8Array(new ArrayBuffer(32 * 1024));
          try {
            for (let n = await c.read(buf); n !== null; n = await c.read(buf)) await c.write(buf.subarray(0, n));
            await c.closeWrite();
          } catch {
            // a client that went away
          } finally {
            await c.close();
          }
        })(),
      );
    }
    await Promise.all(tasks);
  })();
  return { ln, port, done };
}

describe.skipIf(!haveOpenssl)("TLS", () => {
  test("connectTls to openssl s_server: handshake verified against the test CA, exact bytes both ways, close", async () => {
    const { port, proc } = await sServer();
    const t = await connectTls({ hostname: "127.0.0.1", port, timeout: 5000, tls: { ca, servername: "localhost" } });
    expect(t.authorized).toBe(true);
    expect(t.protocol).toMatch(/^TLSv1\.[23]$/);
    const r = new BufferedReader(t);
    await t.write(enc.encode("hello over tls\n"));
    expect(await r.readLine()).toBe("slt revo olleh");
    const big = "x".repeat(10_000) + "y";
    await t.write(enc.encode(big + "\n"));
    expect(await r.readLine()).toBe([...big].reverse().join(""));
    await t.close();
    expect(await rejection(t.close())).toBeInstanceOf(ClosedError);
    proc.kill();
    await proc.exited;
    expectClean();
  });

  test("a certificate from an unknown CA fails the handshake with node:tls's error code and leaks nothing", async () => {
    const { port, proc } = await sServer();
    const err = await rejection(connectTls({ hostname: "127.0.0.1", port, tls: { servername: "localhost" } }));
    expect((err as { code?: string }).code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    proc.kill();
    await proc.exited;
    expectClean();
  });

  test("listenTls served to openssl s_client: verified, the request read and answered byte-exact", async () => {
    const { ln, port, served } = serveOne(async (c, r) => {
      const line = await r.readLine();
      await c.write(enc.encode(`got: ${line}\n`));
    });
    const client = Bun.spawn(
      ["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", `${dir}/ca.pem`, "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost", "-quiet"],
      { stdin: "pipe", stdout: "pipe", stderr: "pipe" },
    );
    procs.push(client);
    client.stdin.write("ping from s_client\n");
    client.stdin.flush();
    const out = await new Response(client.stdout).text();
    client.stdin.end();
    expect(await client.exited).toBe(0);
    expect(out).toBe("got: ping from s_client\n");
    await served;
    await ln.close();
    expectClean();
  });

  test.skipIf(!haveCurl)("curl --cacert fetches from an HTTP server on listenTls (two requests on one keep-alive connection)", async () => {
    const { ln, port, served } = serveOne(async (c, r) => {
      let answered = 0;
      for (;;) {
        let head: Uint8Array | null;
        try {
          head = await r.readUntil("\r\n\r\n", { max: 8192 });
        } catch (err) {
          // curl closes its socket once it has both answers; TLS bytes that
          // reach it after that (the reply to its close_notify) or that it
          // left unread make its kernel reset the connection, so the read
          // here may say ECONNRESET (never EOF) instead of a clean end. That
          // ends the exchange too, once both answers went out.
          if (answered === 2 && err instanceof NetError && err.code === "ECONNRESET") break;
          throw err;
        }
        if (head === null) break;
        answered++;
        const path = /^GET (\S+) HTTP\/1\.1\r\n/.exec(dec.decode(head))?.[1] ?? "?";
        const body = `hello ${path} over ${c.protocol} alpn=${c.alpnProtocol}\n`;
        await c.write(enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nContent-Type: text/plain\r\n\r\n${body}`));
      }
    }, { ALPNProtocols: ["http/1.1"] });
    const url = `https://localhost:${port}`;
    const curl = Bun.spawn(["curl", "-sS", "--http1.1", "--cacert", `${dir}/ca.pem`, "--resolve", `localhost:${port}:127.0.0.1`, `${url}/a`, `${url}/b`], {
      stdout: "pipe",
      stderr: "pipe",
    });
    procs.push(curl);
    const [out, err] = await Promise.all([new Response(curl.stdout).text(), new Response(curl.stderr).text()]);
    expect({ code: await curl.exited, err }).toEqual({ code: 0, err: "" });
    expect(out).toMatch(/^hello \/a over TLSv1\.[23] alpn=http\/1\.1\nhello \/b over TLSv1\.[23] alpn=http\/1\.1\n$/);
    await served;
    await ln.close();
    expectClean();
  });

  test("a read deadline rejects with DeadlineExceededError (i/o timeout) and the session stays usable", async () => {
    const { ln, port, done } = echoServer();
    const t = await connectTls({ hostname: "localhost", port, tls: { ca } });
    t.setReadDeadline(Date.now() + 50);
    const t0 = performance.now();
    const err = await rejection(t.read(new Uint8Array(16)));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as DeadlineExceededError).timeout).toBe(true);
    expect((err as Error).message).toContain("i/o timeout");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
    // A deadline in the past fails at once, even with data on the way.
    await t.write(enc.encode("after the timeout"));
    await sleep(20);
    t.setReadDeadline(Date.now() - 1);
    expect(await rejection(t.read(new Uint8Array(16)))).toBeInstanceOf(DeadlineExceededError);
    // Cleared: the echo is read intact.
    t.setReadDeadline(null);
    const r = new BufferedReader(t);
    expect(dec.decode((await r.readExactly(17))!)).toBe("after the timeout");
    // Moving the deadline while a read is parked re-times it.
    t.setReadDeadline(Date.now() + 60_000);
    const parked = rejection(t.read(new Uint8Array(16)));
    await sleep(10);
    t.setReadDeadline(Date.now() + 20);
    expect(await parked).toBeInstanceOf(DeadlineExceededError);
    await t.close();
    await ln.close();
    await done;
    expectClean();
  });

  test("close() wakes a parked read with ClosedError (use of closed network connection); later calls fail the same way", async () => {
    const { ln, port, done } = echoServer();
    const t: TlsConn = await connectTls({ hostname: "localhost", port, tls: { ca } });
    const parked = rejection(t.read(new Uint8Array(16)));
    await sleep(10);
    await t.close();
    const err = await parked;
    expect(err).toBeInstanceOf(ClosedError);
    expect((err as Error).message).toContain("use of closed network connection");
    expect(await rejection(t.read(new Uint8Array(4)))).toBeInstanceOf(ClosedError);
    expect(await rejection(t.write(new Uint8Array(4)))).toBeInstanceOf(ClosedError);
    expect(() => t.setReadDeadline(null)).toThrow(ClosedError);
    await ln.close();
    await done;
    expectClean();
  });

  test("4 MB through a TLS echo with BufferedReader and BufferedWriter: byte-exact", async () => {
    const { ln, port, done } = echoServer();
    const t = await connectTls({ hostname: "localhost", port, tls: { ca } });
    const data = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 12)) & 0xff;
    const r = new BufferedReader(t);
    const w = new BufferedWriter(t, { size: 16 * 1024 });
    const reading = r.readExactly(data.length);
    for (let at = 0; at < data.length; at += 1000) await w.write(data.subarray(at, at + 1000));
    await w.flush();
    const got = await reading;
    expect(Buffer.from(got!).equals(Buffer.from(data))).toBe(true);
    expect(r.buffered).toBe(0);
    await t.close();
    await ln.close();
    await done;
    expectClean();
  });

  test("closeWrite sends close_notify: the peer reads the bytes before it, then EOF", async () => {
    const { ln, port, served } = serveOne(async (_c, r) => {
      const all = await r.readExactly(12);
      const after = await r.readExactly(1);
      return [dec.decode(all!), after];
    });
    const t = await connectTls({ hostname: "localhost", port, tls: { ca } });
    await t.write(enc.encode("last words\r\n"));
    await t.closeWrite();
    expect(await served).toEqual(["last words\r\n", null]);
    await t.close();
    await ln.close();
    expectClean();
  });

  test("a reset underneath (no close_notify) rejects a parked read with the Conn's ECONNRESET, never EOF", async () => {
    const { ln, t, server } = await handshaken();
    server.conn.setLinger(0);
    const parked = rejection(t.read(new Uint8Array(16)));
    await sleep(10);
    await server.conn.close(); // RST, without TLS's close_notify
    const err = await parked;
    expect(err).toBeInstanceOf(NetError);
    expect((err as NetError).code).toBe("ECONNRESET");
    expect((err as NetError).op).toBe("read");
    await t.close();
    await server.close().catch(() => {});
    await ln.close();
    expectClean();
  });

  test("upgradeTls on both ends of a unix-socket Conn (STARTTLS-style after a plaintext line); an aborted read leaves the session usable", async () => {
    const path = `${dir}/starttls.sock`;
    const ln = listen({ path });
    const served = (async () => {
      const raw = await ln.accept();
      const r = new BufferedReader(raw);
      expect(await r.readLine()).toBe("STARTTLS");
      await raw.write(enc.encode("GO\n"));
      const s = await upgradeTls(raw, { isServer: true, key, cert });
      const sr = new BufferedReader(s);
      const line = await sr.readLine();
      await s.write(enc.encode(`secure: ${line}\n`));
      expect(await sr.readLine()).toBeNull();
      await s.close();
    })();
    const raw = await connect({ path });
    await raw.write(enc.encode("STARTTLS\n"));
    const r = new BufferedReader(raw);
    expect(await r.readLine()).toBe("GO");
    expect(r.buffered).toBe(0); // nothing of the TLS stream was read into the plaintext buffer
    const t = await upgradeTls(raw, { ca, servername: "localhost" });
    expect(t.authorized).toBe(true);
    const ac = new AbortController();
    const aborted = rejection(t.read(new Uint8Array(8), { signal: ac.signal }));
    ac.abort(new Error("not now"));
    expect(((await aborted) as Error).message).toBe("not now");
    await t.write(enc.encode("over unix\n"));
    expect(await new BufferedReader(t).readLine()).toBe("secure: over unix");
    await t.closeWrite();
    await served;
    await t.close();
    await ln.close();
    expectClean();
  });

  test("a write deadline rejects with DeadlineExceededError when the peer does not read, and later writes fail the same way", async () => {
    const { ln, t, server } = await handshaken(); // the server side never reads
    t.setWriteDeadline(Date.now() + 200);
    const chunk = new Uint8Array(1024 * 1024);
    let err: unknown = null;
    for (let i = 0; i < 64 && err === null; i++) err = await t.write(chunk).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    t.setWriteDeadline(null);
    expect(await rejection(t.write(new Uint8Array(1)))).toBe(err);
    await t.close();
    await server.close();
    await ln.close();
    expectClean();
  });
});
