// Conformance J1–J6: unix domain sockets (stream and unixgram), plus the
// unixgram half of the zero-byte rules.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as path from "node:path";
import { AddrError, ClosedError, type Conn, connect, type DatagramConn, DeadlineExceededError, type Listener, listen, listenDatagram, NetError, type UnixAddr } from "../../src/index.ts";
import { buf, bytes, closeAfterEach, closeAll, expectClean, expectDatagram, fileTempDir, readN, rejection, settlement, thrown, tick } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Everything a test opens, closed in afterEach if the test failed midway.
const keep = closeAfterEach();
const dir = fileTempDir();

let seq = 0;
function sockPath(name = "s"): string {
  return path.join(dir(), `${name}${seq++}.sock`);
}
function abstractName(): string {
  return `\0bnp-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/** A listener (kept) on p, which it names as its address. */
function listenOn(p: string): Listener {
  const ln = keep(listen({ path: p }));
  expect(ln.addr).toEqual({ transport: "unix", path: p });
  return ln;
}

/** Dials p and accepts on ln: [client, server], both kept; both name p as the listener's address. */
async function dialAccept(ln: Listener, p: string): Promise<[Conn, Conn]> {
  const [client, server] = await Promise.all([connect({ path: p }), ln.accept()]);
  keep(client);
  keep(server);
  expect(client.remoteAddr).toEqual({ transport: "unix", path: p });
  expect(server.localAddr).toEqual({ transport: "unix", path: p });
  return [client, server];
}

/** Writes text on `from` and asserts `to` reads exactly that text. */
async function expectCarries(from: Conn, to: Conn, text: string): Promise<void> {
  expect(await from.write(bytes(text))).toBe(text.length);
  expect(dec.decode(await readN(to, text.length))).toBe(text);
}

/** Asserts a conn dialed to p reaches ln and carries text; then closes them all and asserts ln's socket file is gone. */
async function servesThenUnlinks(ln: Listener, p: string, text: string): Promise<void> {
  const [client, server] = await dialAccept(ln, p);
  await expectCarries(client, server, text);
  await closeAll(client, server, ln);
  expect(fs.existsSync(p)).toBe(false);
}

/** A unixgram address. */
const gram = (path: string): UnixAddr => ({ transport: "unixgram", path });

/** Two unixgram sockets (kept): a bound to pa, b to pb (paths or abstract names; fresh paths by default). */
function grams(pa = sockPath("ga"), pb = sockPath("gb")): { a: DatagramConn; b: DatagramConn; pa: string; pb: string } {
  return { a: keep(listenDatagram({ path: pa })), b: keep(listenDatagram({ path: pb })), pa, pb };
}

/** Asserts err is AddrError ENAMETOOLONG. */
function expectTooLong(err: unknown): void {
  expect(err).toBeInstanceOf(AddrError);
  expect((err as AddrError).code).toBe("ENAMETOOLONG");
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
  const ln = listenOn(p);
  expect(fs.statSync(p).isSocket()).toBe(true);

  const [client, server] = await dialAccept(ln, p);
  expect(client.localAddr).toEqual({ transport: "unix", path: "" });
  expect(server.remoteAddr).toEqual({ transport: "unix", path: "" });

  await closeAll(client, server, ln);
  expectClean();
});

test("J1 data and EOF over a unix stream behave as over TCP", async () => {
  const p = sockPath();
  const ln = listenOn(p);
  const [client, server] = await dialAccept(ln, p);

  await expectCarries(client, server, "hello, unix");
  await expectCarries(server, client, "pong");

  await client.closeWrite();
  const b = buf(16);
  expect(await server.read(b)).toBeNull();
  expect(await server.read(b)).toBeNull(); // EOF is sticky
  // The other direction still works after the half-close.
  await expectCarries(server, client, "bye");
  await server.close();
  expect(await client.read(b)).toBeNull();

  await closeAll(client, ln);
  expectClean();
});

// ---------------------------------------------------------------- J2

test("J2 listener close unlinks the socket file", async () => {
  const p = sockPath();
  const ln = listenOn(p);
  expect(fs.existsSync(p)).toBe(true);
  await ln.close();
  expect(fs.existsSync(p)).toBe(false);
  // The path is free again: listen on it succeeds first try.
  const ln2 = listenOn(p);
  await ln2.close();
  expect(fs.existsSync(p)).toBe(false);
  expectClean();
});

test("J2 a second close throws Closed and does not unlink a file recreated at the path", async () => {
  const p = sockPath();
  const ln = listenOn(p);
  await ln.close();
  expect(fs.existsSync(p)).toBe(false);
  fs.writeFileSync(p, "someone else's file");
  expect(thrown(() => void ln.close())).toBeInstanceOf(ClosedError);
  expect(fs.readFileSync(p, "utf8")).toBe("someone else's file");
  fs.unlinkSync(p);
  expectClean();
});

test("J2 closing a listener whose file was replaced by another listener leaves the new file", async () => {
  const p = sockPath();
  const ln1 = listenOn(p);
  fs.unlinkSync(p); // removed by hand
  const ln2 = listenOn(p); // a new socket file at the same path
  await ln1.close();
  expect(fs.existsSync(p)).toBe(true);
  expect(fs.statSync(p).isSocket()).toBe(true);

  // The path still reaches the second listener.
  await servesThenUnlinks(ln2, p, "x");
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
  const err = await rejection(connect({ path: p }));
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
  const err = await rejection(connect({ path: p }));
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
  const prefix = dir() + "/";
  const room = len - enc.encode(prefix).length;
  expect(room).toBeGreaterThan(8);
  const p = prefix + fill.repeat(Math.floor(room / enc.encode(fill).length)) + "x".repeat(room % enc.encode(fill).length);
  expect(enc.encode(p).length).toBe(len);
  return p;
}

test("J4 a 108-byte path throws AddrError ENAMETOOLONG synchronously from listen, no truncated file", () => {
  const p = pathOfBytes(108);
  const err = thrown(() => keep(listen({ path: p })));
  expectTooLong(err);
  expect((err as AddrError).op).toBe("listen");
  // Never silently truncated: neither the path nor its 107-byte prefix exists.
  expect(fs.existsSync(p)).toBe(false);
  expect(fs.existsSync(p.slice(0, 107))).toBe(false);
  expect(fs.readdirSync(dir()).filter((f) => f.startsWith("ppp"))).toEqual([]);
  expectClean();
});

test("J4 a 108-byte path fails dial and listenDatagram with AddrError ENAMETOOLONG", async () => {
  const p = pathOfBytes(108);
  expectTooLong(await rejection(connect({ path: p })));
  expectTooLong(thrown(() => keep(listenDatagram({ path: p }))));
  expect(fs.existsSync(p.slice(0, 107))).toBe(false);
  expectClean();
});

test("J4 the limit counts UTF-8 bytes: a path under 108 UTF-16 units but 108 bytes is too long", () => {
  // "é" is 2 bytes in UTF-8, 1 UTF-16 unit.
  const p = pathOfBytes(108, "é");
  expect(p.length).toBeLessThan(108);
  expectTooLong(thrown(() => keep(listen({ path: p }))));
  expectClean();
});

test("J4 a 107-byte path (the most sun_path holds) works, unchanged", async () => {
  const p = pathOfBytes(107);
  const ln = listenOn(p);
  expect(fs.statSync(p).isSocket()).toBe(true);
  await servesThenUnlinks(ln, p, "ok");
  expectClean();
});

test("J4 abstract names: 108 bytes including the leading NUL fit, 109 throw ENAMETOOLONG", async () => {
  const base = abstractName();
  const fits = base + "a".repeat(108 - base.length);
  const over = fits + "a";
  expectTooLong(thrown(() => keep(listen({ path: over }))));

  const ln = listenOn(fits);
  const [client, server] = await dialAccept(ln, fits);
  await closeAll(client, server, ln);
  expectClean();
});

// ---------------------------------------------------------------- J5

test("J5 an abstract name listens and dials, creates no file, and round-trips in addresses", async () => {
  const name = abstractName();
  const before = fs.readdirSync(dir());
  const ln = listenOn(name);
  expect(procNetUnixHas("@" + name.slice(1))).toBe(true);

  const [client, server] = await dialAccept(ln, name);
  await expectCarries(client, server, "abstract");

  // No file anywhere we can see.
  expect(fs.readdirSync(dir())).toEqual(before);
  expect(fs.existsSync(name.slice(1))).toBe(false);

  await closeAll(client, server, ln);
  expect(procNetUnixHas("@" + name.slice(1))).toBe(false);
  // The name is gone with the socket: a dial is refused, and it can be reused.
  const err = await rejection(connect({ path: name }));
  expect(err).toBeInstanceOf(NetError);
  expect((err as NetError).code).toBe("ECONNREFUSED");
  const again = listenOn(name);
  await again.close();
  expectClean();
});

test("J5 abstract unixgram: the sender's abstract name round-trips through receive", async () => {
  const na = abstractName();
  const nb = abstractName();
  const { a, b } = grams(na, nb);
  expect(a.addr).toEqual(gram(na));
  expect(await b.send(bytes("hi"), { path: na })).toBe(2);
  const got = await expectDatagram(a, "hi", gram(nb));
  // Reply to the address we were given.
  expect(await a.send(bytes("yo"), got.addr)).toBe(2);
  await expectDatagram(b, "yo", gram(na));
  await closeAll(a, b);
  expectClean();
});

// ---------------------------------------------------------------- J6

test("J6 unixgram: a zero-byte send returns 0 and the reader gets an empty message, not EOF", async () => {
  const { a, b, pa, pb } = grams();
  expect(a.addr).toEqual(gram(pa));

  expect(await b.send(buf(0), { path: pa })).toBe(0);
  const got = await expectDatagram(a, "", gram(pb));
  expect(got).not.toBeNull();

  // The empty message was one datagram: the next one is delivered whole.
  expect(await b.send(bytes("next"), { path: pa })).toBe(4);
  await expectDatagram(a, "next");

  // Nothing else is queued: a short deadline gives Timeout, never EOF or n=0.
  a.setReadDeadline(Date.now() + 30);
  const err = await rejection(a.receive(buf(16)));
  expect(err).toBeInstanceOf(DeadlineExceededError);
  expect((err as DeadlineExceededError).timeout).toBe(true);

  await closeAll(a, b);
  expectClean();
});

test("J6 unixgram: receiving into an empty Uint8Array(0) resolves (datagram truncated to 0)", async () => {
  const { a, b, pa, pb } = grams();

  expect(await b.send(bytes("payload"), { path: pa })).toBe(7);
  const got = await a.receive(new Uint8Array(0));
  expect(got.n).toBe(0);
  expect(got.addr).toEqual(gram(pb));

  // The truncated datagram was consumed; the next read gets the next one.
  expect(await b.send(bytes("second"), { path: pa })).toBe(6);
  await expectDatagram(a, "second");

  await closeAll(a, b);
  expectClean();
});

test("J6 unixgram: a receive into an empty buffer parks until a datagram arrives", async () => {
  const { a, b, pa, pb } = grams();

  const r = settlement(a.receive(new Uint8Array(0)));
  await tick();
  await tick();
  expect(r.settled).toBe(false);
  expect(await b.send(buf(0), { path: pa })).toBe(0);
  const got = await r.p;
  expect(got.n).toBe(0);
  expect(got.addr).toEqual(gram(pb));

  await closeAll(a, b);
  expectClean();
});
