// Conformance J1–J6: unix domain sockets (stream and unixgram), plus the
// unixgram half of the zero-byte rules.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  AddrError,
  ClosedError,
  type Conn,
  connect,
  DeadlineExceededError,
  listen,
  listenDatagram,
  NetError,
} from "../../src/index.ts";
import { closeAfterEach, closeAll, expectClean, tick } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A stable (non-relocating) buffer of n bytes. */
function buf(n: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(n));
}
function bytes(s: string): Uint8Array {
  const b = buf(s.length);
  b.set(enc.encode(s));
  return b;
}

let dir = "";
let seq = 0;
function sockPath(name = "s"): string {
  return path.join(dir, `${name}${seq++}.sock`);
}
function abstractName(): string {
  return `\0bnp-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

// Everything a test opens, closed in afterEach if the test failed midway.
const keep = closeAfterEach();

beforeAll(() => {
  dir = fs.mkdtempSync(os.tmpdir() + "/bnp-");
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Reads exactly n bytes from a stream conn (fails on early EOF). */
async function readN(c: Conn, n: number): Promise<string> {
  const out = buf(n);
  let got = 0;
  while (got < n) {
    const k = await c.read(out.subarray(got));
    if (k === null) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += k;
  }
  return dec.decode(out);
}

/** Whether /proc/net/unix lists a socket bound to "@name" (abstract) or "path". */
function procNetUnixHas(shown: string): boolean {
  return fs
    .readFileSync("/proc/net/unix", "utf8")
    .split("\n")
    .some((line) => line.trimEnd().endsWith(" " + shown));
}

// ---------------------------------------------------------------- J1

test("J1 listen/dial on a path: addresses echo the path, an unnamed client's localAddr is empty", async () => {
  const p = sockPath();
  const ln = keep(listen({ path: p }));
  expect(ln.addr).toEqual({ transport: "unix", path: p });
  expect(fs.statSync(p).isSocket()).toBe(true);

  const [client, server] = await Promise.all([connect({ path: p }), ln.accept()]);
  keep(client);
  keep(server);
  expect(client.remoteAddr).toEqual({ transport: "unix", path: p });
  expect(client.localAddr).toEqual({ transport: "unix", path: "" });
  expect(server.localAddr).toEqual({ transport: "unix", path: p });
  expect(server.remoteAddr).toEqual({ transport: "unix", path: "" });

  await closeAll(client, server, ln);
  expectClean();
});

test("J1 data and EOF over a unix stream behave as over TCP", async () => {
  const p = sockPath();
  const ln = keep(listen({ path: p }));
  const [client, server] = await Promise.all([connect({ path: p }), ln.accept()]);
  keep(client);
  keep(server);

  expect(await client.write(bytes("hello, unix"))).toBe(11);
  expect(await readN(server, 11)).toBe("hello, unix");
  expect(await server.write(bytes("pong"))).toBe(4);
  expect(await readN(client, 4)).toBe("pong");

  await client.closeWrite();
  const b = buf(16);
  expect(await server.read(b)).toBeNull();
  expect(await server.read(b)).toBeNull(); // EOF is sticky
  // The other direction still works after the half-close.
  expect(await server.write(bytes("bye"))).toBe(3);
  expect(await readN(client, 3)).toBe("bye");
  await server.close();
  expect(await client.read(b)).toBeNull();

  await closeAll(client, ln);
  expectClean();
});

// ---------------------------------------------------------------- J2

test("J2 listener close unlinks the socket file", async () => {
  const p = sockPath();
  const ln = keep(listen({ path: p }));
  expect(fs.existsSync(p)).toBe(true);
  await ln.close();
  expect(fs.existsSync(p)).toBe(false);
  // The path is free again: listen on it succeeds first try.
  const ln2 = keep(listen({ path: p }));
  await ln2.close();
  expect(fs.existsSync(p)).toBe(false);
  expectClean();
});

test("J2 a second close throws Closed and does not unlink a file recreated at the path", async () => {
  const p = sockPath();
  const ln = keep(listen({ path: p }));
  await ln.close();
  expect(fs.existsSync(p)).toBe(false);
  fs.writeFileSync(p, "someone else's file");
  let err: unknown;
  try {
    void ln.close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ClosedError);
  expect(fs.readFileSync(p, "utf8")).toBe("someone else's file");
  fs.unlinkSync(p);
  expectClean();
});

test("J2 closing a listener whose file was replaced by another listener leaves the new file", async () => {
  const p = sockPath();
  const ln1 = keep(listen({ path: p }));
  fs.unlinkSync(p); // removed by hand
  const ln2 = keep(listen({ path: p })); // a new socket file at the same path
  await ln1.close();
  expect(fs.existsSync(p)).toBe(true);
  expect(fs.statSync(p).isSocket()).toBe(true);

  // The path still reaches the second listener.
  const [client, server] = await Promise.all([connect({ path: p }), ln2.accept()]);
  keep(client);
  keep(server);
  expect(await client.write(bytes("x"))).toBe(1);
  expect(await readN(server, 1)).toBe("x");

  await closeAll(client, server, ln2);
  expect(fs.existsSync(p)).toBe(false);
  expectClean();
});

test("J2 a unixgram socket's close unlinks its file, and only its own", async () => {
  const p = sockPath("g");
  const g = keep(listenDatagram({ path: p }));
  expect(fs.statSync(p).isSocket()).toBe(true);
  await g.close();
  expect(fs.existsSync(p)).toBe(false);

  const g1 = keep(listenDatagram({ path: p }));
  fs.unlinkSync(p);
  fs.writeFileSync(p, "replacement");
  await g1.close();
  expect(fs.readFileSync(p, "utf8")).toBe("replacement");
  fs.unlinkSync(p);
  expectClean();
});

// ---------------------------------------------------------------- J3

test("J3 dial to a missing path rejects ENOENT", async () => {
  const p = sockPath("missing");
  const err = await connect({ path: p }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(AddrError);
  const ne = err as NetError;
  expect(ne.code).toBe("ENOENT");
  expect(ne.op).toBe("dial");
  expect(ne.net).toBe("unix");
  expect(ne.address).toBe(p);
  expectClean();
});

test("J3 dial to a regular file rejects ECONNREFUSED", async () => {
  const p = sockPath("regular");
  fs.writeFileSync(p, "not a socket");
  const err = await connect({ path: p }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetError);
  const ne = err as NetError;
  expect(ne.code).toBe("ECONNREFUSED"); // Linux; BSDs may say ENOTSOCK / EACCES
  expect(ne.op).toBe("dial");
  expect(ne.address).toBe(p);
  expect(fs.readFileSync(p, "utf8")).toBe("not a socket");
  fs.unlinkSync(p);
  expectClean();
});

// ---------------------------------------------------------------- J4

/** A filesystem path in the temp dir of exactly `len` UTF-8 bytes. */
function pathOfBytes(len: number, fill = "p"): string {
  const prefix = dir + "/";
  const room = len - enc.encode(prefix).length;
  expect(room).toBeGreaterThan(8);
  const p = prefix + fill.repeat(Math.floor(room / enc.encode(fill).length)) + "x".repeat(room % enc.encode(fill).length);
  expect(enc.encode(p).length).toBe(len);
  return p;
}

test("J4 a 108-byte path throws AddrError ENAMETOOLONG synchronously from listen, no truncated file", () => {
  const p = pathOfBytes(108);
  let err: unknown;
  try {
    keep(listen({ path: p }));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AddrError);
  expect((err as AddrError).code).toBe("ENAMETOOLONG");
  expect((err as AddrError).op).toBe("listen");
  // Never silently truncated: neither the path nor its 107-byte prefix exists.
  expect(fs.existsSync(p)).toBe(false);
  expect(fs.existsSync(p.slice(0, 107))).toBe(false);
  expect(fs.readdirSync(dir).filter((f) => f.startsWith("ppp"))).toEqual([]);
  expectClean();
});

test("J4 a 108-byte path fails dial and listenDatagram with AddrError ENAMETOOLONG", async () => {
  const p = pathOfBytes(108);
  const dialErr = await connect({ path: p }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(dialErr).toBeInstanceOf(AddrError);
  expect((dialErr as AddrError).code).toBe("ENAMETOOLONG");

  let dgErr: unknown;
  try {
    keep(listenDatagram({ path: p }));
  } catch (e) {
    dgErr = e;
  }
  expect(dgErr).toBeInstanceOf(AddrError);
  expect((dgErr as AddrError).code).toBe("ENAMETOOLONG");
  expect(fs.existsSync(p.slice(0, 107))).toBe(false);
  expectClean();
});

test("J4 the limit counts UTF-8 bytes: a path under 108 UTF-16 units but 108 bytes is too long", () => {
  // "é" is 2 bytes in UTF-8, 1 UTF-16 unit.
  const p = pathOfBytes(108, "é");
  expect(p.length).toBeLessThan(108);
  let err: unknown;
  try {
    keep(listen({ path: p }));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AddrError);
  expect((err as AddrError).code).toBe("ENAMETOOLONG");
  expectClean();
});

test("J4 a 107-byte path (the most sun_path holds) works, unchanged", async () => {
  const p = pathOfBytes(107);
  const ln = keep(listen({ path: p }));
  expect(ln.addr).toEqual({ transport: "unix", path: p });
  expect(fs.statSync(p).isSocket()).toBe(true);
  const [client, server] = await Promise.all([connect({ path: p }), ln.accept()]);
  keep(client);
  keep(server);
  expect(client.remoteAddr).toEqual({ transport: "unix", path: p });
  expect(server.localAddr).toEqual({ transport: "unix", path: p });
  expect(await client.write(bytes("ok"))).toBe(2);
  expect(await readN(server, 2)).toBe("ok");
  await closeAll(client, server, ln);
  expect(fs.existsSync(p)).toBe(false);
  expectClean();
});

test("J4 abstract names: 108 bytes including the leading NUL fit, 109 throw ENAMETOOLONG", async () => {
  const base = abstractName();
  const fits = base + "a".repeat(108 - base.length);
  const over = fits + "a";
  let err: unknown;
  try {
    keep(listen({ path: over }));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(AddrError);
  expect((err as AddrError).code).toBe("ENAMETOOLONG");

  const ln = keep(listen({ path: fits }));
  expect(ln.addr).toEqual({ transport: "unix", path: fits });
  const [client, server] = await Promise.all([connect({ path: fits }), ln.accept()]);
  keep(client);
  keep(server);
  expect(client.remoteAddr).toEqual({ transport: "unix", path: fits });
  expect(server.localAddr).toEqual({ transport: "unix", path: fits });
  await closeAll(client, server, ln);
  expectClean();
});

// ---------------------------------------------------------------- J5

test("J5 an abstract name listens and dials, creates no file, and round-trips in addresses", async () => {
  const name = abstractName();
  const before = fs.readdirSync(dir);
  const ln = keep(listen({ path: name }));
  expect(ln.addr).toEqual({ transport: "unix", path: name });
  expect(procNetUnixHas("@" + name.slice(1))).toBe(true);

  const [client, server] = await Promise.all([connect({ path: name }), ln.accept()]);
  keep(client);
  keep(server);
  expect(client.remoteAddr).toEqual({ transport: "unix", path: name });
  expect(server.localAddr).toEqual({ transport: "unix", path: name });
  expect(await client.write(bytes("abstract"))).toBe(8);
  expect(await readN(server, 8)).toBe("abstract");

  // No file anywhere we can see.
  expect(fs.readdirSync(dir)).toEqual(before);
  expect(fs.existsSync(name.slice(1))).toBe(false);

  await closeAll(client, server, ln);
  expect(procNetUnixHas("@" + name.slice(1))).toBe(false);
  // The name is gone with the socket: a dial is refused, and it can be reused.
  const err = await connect({ path: name }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetError);
  expect((err as NetError).code).toBe("ECONNREFUSED");
  const again = keep(listen({ path: name }));
  await again.close();
  expectClean();
});

test("J5 abstract unixgram: the sender's abstract name round-trips through receive", async () => {
  const na = abstractName();
  const nb = abstractName();
  const a = keep(listenDatagram({ path: na }));
  const b = keep(listenDatagram({ path: nb }));
  expect(a.addr).toEqual({ transport: "unixgram", path: na });
  expect(await b.send(bytes("hi"), { path: na })).toBe(2);
  const r = buf(16);
  const got = await a.receive(r);
  expect(got.n).toBe(2);
  expect(dec.decode(r.subarray(0, 2))).toBe("hi");
  expect(got.addr).toEqual({ transport: "unixgram", path: nb });
  // Reply to the address we were given.
  expect(await a.send(bytes("yo"), got.addr)).toBe(2);
  const back = await b.receive(r);
  expect(back.n).toBe(2);
  expect(back.addr).toEqual({ transport: "unixgram", path: na });
  await closeAll(a, b);
  expectClean();
});

// ---------------------------------------------------------------- J6

test("J6 unixgram: a zero-byte send returns 0 and the reader gets an empty message, not EOF", async () => {
  const pa = sockPath("ga");
  const pb = sockPath("gb");
  const a = keep(listenDatagram({ path: pa }));
  const b = keep(listenDatagram({ path: pb }));
  expect(a.addr).toEqual({ transport: "unixgram", path: pa });

  expect(await b.send(buf(0), { path: pa })).toBe(0);
  const r = buf(16);
  const got = await a.receive(r);
  expect(got).not.toBeNull();
  expect(got.n).toBe(0);
  expect(got.addr).toEqual({ transport: "unixgram", path: pb });

  // The empty message was one datagram: the next one is delivered whole.
  expect(await b.send(bytes("next"), { path: pa })).toBe(4);
  const got2 = await a.receive(r);
  expect(got2.n).toBe(4);
  expect(dec.decode(r.subarray(0, 4))).toBe("next");

  // Nothing else is queued: a short deadline gives Timeout, never EOF or n=0.
  a.setReadDeadline(Date.now() + 30);
  const err = await a.receive(r).then(
    (d) => d,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeadlineExceededError);
  expect((err as DeadlineExceededError).timeout).toBe(true);

  await closeAll(a, b);
  expectClean();
});

test("J6 unixgram: receiving into an empty Uint8Array(0) resolves (datagram truncated to 0)", async () => {
  const pa = sockPath("ga");
  const pb = sockPath("gb");
  const a = keep(listenDatagram({ path: pa }));
  const b = keep(listenDatagram({ path: pb }));

  expect(await b.send(bytes("payload"), { path: pa })).toBe(7);
  const got = await a.receive(new Uint8Array(0));
  expect(got.n).toBe(0);
  expect(got.addr).toEqual({ transport: "unixgram", path: pb });

  // The truncated datagram was consumed; the next read gets the next one.
  expect(await b.send(bytes("second"), { path: pa })).toBe(6);
  const r = buf(16);
  const got2 = await a.receive(r);
  expect(got2.n).toBe(6);
  expect(dec.decode(r.subarray(0, 6))).toBe("second");

  await closeAll(a, b);
  expectClean();
});

test("J6 unixgram: a receive into an empty buffer parks until a datagram arrives", async () => {
  const pa = sockPath("ga");
  const pb = sockPath("gb");
  const a = keep(listenDatagram({ path: pa }));
  const b = keep(listenDatagram({ path: pb }));

  let settled = false;
  const p = a.receive(new Uint8Array(0)).finally(() => {
    settled = true;
  });
  await tick();
  await tick();
  expect(settled).toBe(false);
  expect(await b.send(buf(0), { path: pa })).toBe(0);
  const got = await p;
  expect(got.n).toBe(0);
  expect(got.addr).toEqual({ transport: "unixgram", path: pb });

  await closeAll(a, b);
  expectClean();
});
