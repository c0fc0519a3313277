// Options objects from plain JavaScript (cast so the type checker cannot
// help): every public entry point rejects a key it does not take with a
// TypeError naming it, and suggests the right one where there is one. A
// Node-style `host` must not silently mean "every interface" or "localhost".
import { afterEach, describe, expect, test } from "bun:test";
import {
  after,
  BufferedReader,
  BufferedWriter,
  Chan,
  connect,
  connectDatagram,
  connectTls,
  type IpAddr,
  listen,
  listenDatagram,
  listenTls,
  Mutex,
  pollFd,
  RWMutex,
  select,
  sleep,
  upgradeTls,
  WaitGroup,
} from "../../src/index.ts";
import { closeFd, connPairs, expectClean, pipe, rejection } from "../_support/index.ts";

const pairs = connPairs();
afterEach(() => expectClean());

/** The error fn throws, or the rejection of the promise it returns; "ok" if neither. */
async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return "ok";
}

/** fn fails with a TypeError whose message is `message` (a string, or a matcher such as expect.stringContaining). */
async function expectUnknown(fn: () => unknown, message: unknown): Promise<void> {
  const e = await failure(fn);
  expect(e).toBeInstanceOf(TypeError);
  expect((e as Error).message).toEqual(message as string);
}

describe("Node-style names", () => {
  test('listen({ host }) throws instead of listening on every interface (did you mean "hostname"?)', async () => {
    let ln: { close(): Promise<void> } | null = null;
    const e = await failure(() => {
      ln = listen({ host: "127.0.0.1", port: 0 } as never);
    });
    if (ln !== null) await (ln as { close(): Promise<void> }).close();
    expect(e).toBeInstanceOf(TypeError);
    expect((e as Error).message).toBe('listen: unknown option "host" (did you mean "hostname"?)');
  });

  test("connect({ host }) rejects instead of connecting to localhost", async () => {
    const ln = listen({ hostname: "127.0.0.1", port: 0 });
    const port = (ln.addr as IpAddr).port;
    try {
      const e = await failure(async () => {
        const c = await connect({ host: "10.0.0.5", port } as never);
        await c.close();
      });
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toBe('connect: unknown option "host" (did you mean "hostname"?)');
    } finally {
      await ln.close();
    }
  });

  test("listenDatagram and connectDatagram reject host; unix forms reject IP keys", async () => {
    await expectUnknown(() => listenDatagram({ host: "127.0.0.1", port: 0 } as never), 'listenDatagram: unknown option "host" (did you mean "hostname"?)');
    await expectUnknown(() => connectDatagram({ host: "127.0.0.1", port: 9 } as never), 'connectDatagram: unknown option "host" (did you mean "hostname"?)');
    await expectUnknown(() => listenDatagram({ path: `${pairs.dir()}/d.sock`, port: 0 } as never), 'listenDatagram: unknown option "port"');
    await expectUnknown(() => listen({ path: `${pairs.dir()}/l.sock`, hostname: "x" } as never), 'listen: unknown option "hostname"');
    await expectUnknown(() => connect({ path: `${pairs.dir()}/c.sock`, port: 1 } as never), 'connect: unknown option "port"');
    await expectUnknown(() => connect({ socketPath: "/tmp/x" } as never), 'connect: unknown option "socketPath"');
    await expectUnknown(() => listen({ port: 0, family: 4 } as never), 'listen: unknown option "family" (did you mean "network"?)');
    await expectUnknown(() => listen({ port: 0, exclusive: false } as never), 'listen: unknown option "exclusive" (did you mean "reusePort"?)');
  });

  test("near-miss spellings are suggested; an unknown key set to undefined is still unknown", async () => {
    await expectUnknown(() => connect({ port: 1, hostName: "127.0.0.1" } as never), 'connect: unknown option "hostName" (did you mean "hostname"?)');
    await expectUnknown(() => listen({ port: 0, reuseport: true } as never), 'listen: unknown option "reuseport" (did you mean "reusePort"?)');
    await expectUnknown(() => connect({ port: 1, timout: 5 } as never), 'connect: unknown option "timout" (did you mean "timeout"?)');
    await expectUnknown(() => listen({ port: 0, host: undefined } as never), 'listen: unknown option "host" (did you mean "hostname"?)');
    await expectUnknown(() => listen({ port: 0, flavour: 1 } as never), 'listen: unknown option "flavour"');
  });
});

describe("every options object", () => {
  test("Listener.accept, Conn.read / write / writev (with a hint about per-direction deadlines)", async () => {
    const ln = listen({ hostname: "127.0.0.1", port: 0 });
    await expectUnknown(() => ln.accept({ timeout: 10 } as never), 'accept: unknown option "timeout"');
    await ln.close();
    const [a, b] = await pairs.pair("tcp");
    const buf = new Uint8Array(4);
    const hint = "deadlines are per direction: call setReadTimeout(ms) / setWriteTimeout(ms) or setReadDeadline(t) / setWriteDeadline(t) first";
    await expectUnknown(() => a.read(buf, { timeout: 100 } as never), `read: unknown option "timeout" (${hint})`);
    await expectUnknown(() => a.write(buf, { timeout: 100 } as never), `write: unknown option "timeout" (${hint})`);
    await expectUnknown(() => a.writev([buf], { abortSignal: null } as never), 'writev: unknown option "abortSignal" (did you mean "signal"?)');
    await expectUnknown(() => a.read(buf, 1000 as never), "read: options must be an object, got number");
    // Nothing was read or written: the pair still works.
    expect(await a.write(new Uint8Array([1, 2]), { signal: undefined })).toBe(2);
    expect(await b.read(buf, { signal: undefined })).toBe(2);
    await a.close();
    await b.close();
  });

  test("DatagramConn send (options and address), receive, read, write", async () => {
    const d = listenDatagram({ hostname: "127.0.0.1", port: 0 });
    const c = await connectDatagram({ hostname: "127.0.0.1", port: (d.addr as IpAddr).port });
    try {
      const buf = new Uint8Array(4);
      await expectUnknown(() => d.send(buf, { host: "127.0.0.1", port: 9 } as never), 'send: addr: unknown option "host" (did you mean "hostname"?)');
      await expectUnknown(() => d.send(buf, { hostname: "127.0.0.1", port: 9 }, { timeout: 1 } as never), expect.stringContaining('send: unknown option "timeout"'));
      await expectUnknown(() => d.receive(buf, { timeout: 1 } as never), expect.stringContaining('receive: unknown option "timeout"'));
      await expectUnknown(() => c.write(buf, { deadline: 1 } as never), 'write: unknown option "deadline" (deadlines are per direction: call setReadDeadline(t) / setWriteDeadline(t) first)');
      await expectUnknown(() => c.read(buf, { sigal: undefined } as never), 'read: unknown option "sigal" (did you mean "signal"?)');
      // An Addr this library returned is a valid target (transport and family included).
      expect(await c.write(new Uint8Array([7]))).toBe(1);
      const got = await d.receive(buf);
      expect(await d.send(new Uint8Array([8, 9]), got.addr)).toBe(2);
      expect(await c.read(buf)).toBe(2);
    } finally {
      await c.close();
      await d.close();
    }
  });

  test("PollFd waits", async () => {
    const [r, w] = pipe();
    const p = pollFd(r);
    try {
      await expectUnknown(() => p.waitReadable({ timeoutMs: 5 } as never), 'waitReadable: unknown option "timeoutMs" (did you mean "timeout"?)');
      await expectUnknown(() => p.waitReadable({ dedline: 5 } as never), 'waitReadable: unknown option "dedline" (did you mean "deadline"?)');
      await expectUnknown(() => p.waitWritable({ signl: undefined } as never), 'waitWritable: unknown option "signl" (did you mean "signal"?)');
    } finally {
      p.close();
      closeFd(r);
      closeFd(w);
    }
  });

  test("sleep, after, channels, select, locks, WaitGroup", async () => {
    await expectUnknown(() => sleep(1, { timeout: 1 } as never), 'sleep: unknown option "timeout"');
    await expectUnknown(() => after(1, { abortSignal: null } as never), 'after: unknown option "abortSignal" (did you mean "signal"?)');
    const ch = new Chan<number>();
    await expectUnknown(() => ch.send(1, { timeout: 1 } as never), 'send: unknown option "timeout"');
    await expectUnknown(() => ch.recv({ timeout: 1 } as never), 'recv: unknown option "timeout"');
    await expectUnknown(() => select([{ recv: ch }], { defualt: true } as never), 'select: unknown option "defualt" (did you mean "default"?)');
    await expectUnknown(() => new Mutex().lock({ timeout: 1 } as never), 'lock: unknown option "timeout"');
    await expectUnknown(() => new RWMutex().rlock({ timeout: 1 } as never), 'rlock: unknown option "timeout"');
    await expectUnknown(() => new RWMutex().lock({ timeout: 1 } as never), 'lock: unknown option "timeout"');
    await expectUnknown(() => new WaitGroup().wait({ timeout: 1 } as never), 'wait: unknown option "timeout"');
    expect((await select([{ recv: ch }], { default: true })).index).toBe(-1);
  });

  test("BufferedReader and BufferedWriter, and their methods", async () => {
    const [a, b] = await pairs.pair("tcp");
    await expectUnknown(() => new BufferedReader(a, { bufferSize: 4096 } as never), 'BufferedReader: unknown option "bufferSize" (did you mean "size"?)');
    await expectUnknown(() => new BufferedWriter(a, { maxSize: 4096 } as never), 'BufferedWriter: unknown option "maxSize"');
    const br = new BufferedReader(b);
    await expectUnknown(() => br.readLine({ maxLength: 10 } as never), 'readLine: unknown option "maxLength" (did you mean "max"?)');
    await expectUnknown(() => br.readUntil("\n", { limit: 10 } as never), 'readUntil: unknown option "limit" (did you mean "max"?)');
    await expectUnknown(() => br.readSlice("\n", { timeout: 1 } as never), 'readSlice: unknown option "timeout"');
    await expectUnknown(() => br.read(new Uint8Array(1), { max: 1 } as never), 'read: unknown option "max"');
    await expectUnknown(() => br.readFull(new Uint8Array(1), { max: 1 } as never), 'readFull: unknown option "max"');
    await expectUnknown(() => br.readExactly(1, { max: 1 } as never), 'readExactly: unknown option "max"');
    await expectUnknown(() => br.peek(1, { max: 1 } as never), 'peek: unknown option "max"');
    await expectUnknown(() => br.discard(1, { max: 1 } as never), 'discard: unknown option "max"');
    // readLine's max stays the reader's: the Conn underneath is handed the signal only.
    await a.write(new TextEncoder().encode("hi\n"));
    expect(await br.readLine({ max: 10, signal: new AbortController().signal })).toBe("hi");
    await a.close();
    await b.close();
  });

  test("TLS: connectTls, listenTls (and their tls options), upgradeTls, handshake, read, write", async () => {
    await expectUnknown(() => connectTls({ host: "127.0.0.1", port: 1 } as never), 'connectTls: unknown option "host" (did you mean "hostname"?)');
    await expectUnknown(
      () => connectTls({ hostname: "127.0.0.1", port: 1, tls: { host: "example.com" } } as never),
      'connectTls: tls: unknown option "host" (the TLS session runs over a connection that is already open: give connectTls a hostname, and servername for SNI)',
    );
    await expectUnknown(() => listenTls({ host: "127.0.0.1", port: 0, tls: {} } as never), 'listenTls: unknown option "host" (did you mean "hostname"?)');
    await expectUnknown(
      () => listenTls({ hostname: "127.0.0.1", port: 0, tls: { handshakeTimeout: 5 } } as never),
      'listenTls: tls: unknown option "handshakeTimeout" (set a read deadline on the TlsConn before handshake())',
    );
    const [a, b] = await pairs.pair("tcp");
    await expectUnknown(() => upgradeTls(a, { port: 443 } as never), 'upgradeTls: unknown option "port" (the TLS session runs over a connection that is already open: give connectTls a port)');
    await expectUnknown(() => upgradeTls(a, {}, { timeout: 5 } as never), 'upgradeTls: unknown option "timeout"');
    expect(a.closed).toBe(false); // left as it was
    const t = await upgradeTls(b, { isServer: true });
    await expectUnknown(() => t.handshake({ timeout: 5 } as never), 'handshake: unknown option "timeout"');
    await expectUnknown(() => t.read(new Uint8Array(1), { timeout: 5 } as never), expect.stringContaining('read: unknown option "timeout"'));
    await expectUnknown(() => t.write(new Uint8Array(1), { timeout: 5 } as never), expect.stringContaining('write: unknown option "timeout"'));
    await t.close();
    await a.close();
  });
});

test("known keys set to undefined are the same as absent", async () => {
  const ln = listen({ port: 0, hostname: "127.0.0.1", network: undefined, backlog: undefined, reusePort: undefined });
  const port = (ln.addr as IpAddr).port;
  const [c, s] = await Promise.all([connect({ port, hostname: "127.0.0.1", network: undefined, signal: undefined, timeout: undefined, deadline: undefined }), ln.accept({ signal: undefined })]);
  await ln.close();
  expect(await c.write(new Uint8Array([1]), { signal: undefined })).toBe(1);
  expect(await s.read(new Uint8Array(1), { signal: undefined })).toBe(1);
  await c.close();
  await s.close();
  const d = listenDatagram({ port: 0, hostname: "127.0.0.1", network: undefined, reusePort: undefined });
  await d.close();
  await sleep(0, { signal: undefined });
  expect(await rejection(connect({ port: 1, hostname: "127.0.0.1", timeout: undefined }))).toHaveProperty("code", "ECONNREFUSED");
});

test("descriptor passing and socket activation check their options too", async () => {
  const { listenSystemd } = await import("../../src/index.ts");
  expect(() => listenSystemd({ unset: false } as never)).toThrow('listenSystemd: unknown option "unset"');
  const [a, b] = await pairs.pair("unix");
  await expect(a.writeWithFds(new Uint8Array([1]), [], { sig: 1 } as never)).rejects.toThrow('writeWithFds: unknown option "sig"');
  await expect(b.readWithFds(new Uint8Array(4), { maxfds: 1 } as never)).rejects.toThrow('readWithFds: unknown option "maxfds" (did you mean "maxFds"?)');
});
