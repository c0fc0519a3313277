// Socket activation (listenSystemd): the environment protocol of
// sd_listen_fds(3), and end to end with this test playing the service
// manager: it binds the sockets, starts the server with them at fd 3 and 4,
// and talks to it.
import { afterEach, expect, test } from "bun:test";
import * as path from "node:path";
import { AddrError, connect, formatAddr, type IpAddr, listen, listenDatagram, listenSystemd } from "../../src/index.ts";
import { closeFd, expectClean, pipe } from "../_support/index.ts";

const VARS = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] as const;
const dec = new TextDecoder();

afterEach(() => {
  for (const v of VARS) delete process.env[v];
});

function setEnv(vars: Partial<Record<(typeof VARS)[number], string>>): void {
  for (const [k, v] of Object.entries(vars)) process.env[k] = v;
}
const envLeft = () => VARS.filter((v) => process.env[v] !== undefined);

test("listenSystemd: nothing for this process when LISTEN_PID is unset or names another process; the variables are unset", () => {
  expect(listenSystemd()).toEqual([]);
  setEnv({ LISTEN_FDS: "2" });
  expect(listenSystemd()).toEqual([]);
  expect(envLeft()).toEqual([]);
  setEnv({ LISTEN_PID: String(process.pid + 1), LISTEN_FDS: "2", LISTEN_FDNAMES: "a:b" });
  expect(listenSystemd()).toEqual([]);
  expect(envLeft()).toEqual([]);
  setEnv({ LISTEN_PID: String(process.pid), LISTEN_FDS: "0" });
  expect(listenSystemd()).toEqual([]);
  expect(envLeft()).toEqual([]);
  // unsetEnvironment: false leaves them for a child (sd_listen_fds(0)).
  setEnv({ LISTEN_PID: String(process.pid + 1), LISTEN_FDS: "1" });
  expect(listenSystemd({ unsetEnvironment: false })).toEqual([]);
  expect(envLeft()).toEqual(["LISTEN_PID", "LISTEN_FDS"]);
  expectClean();
});

test("listenSystemd: malformed variables throw AddrError EINVAL, and are unset all the same", () => {
  const cases: [Partial<Record<(typeof VARS)[number], string>>, string][] = [
    [{ LISTEN_PID: "12x", LISTEN_FDS: "1" }, 'listenSystemd fd LISTEN_PID: LISTEN_PID must be a non-negative integer, got "12x"'],
    [{ LISTEN_PID: String(process.pid), LISTEN_FDS: "-1" }, 'listenSystemd fd LISTEN_FDS: LISTEN_FDS must be a non-negative integer, got "-1"'],
    [{ LISTEN_PID: String(process.pid), LISTEN_FDS: "2", LISTEN_FDNAMES: "only-one" }, "listenSystemd fd LISTEN_FDNAMES: LISTEN_FDNAMES has 1 names for 2 descriptors"],
  ];
  for (const [vars, message] of cases) {
    setEnv(vars);
    let err: unknown;
    try {
      listenSystemd();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AddrError);
    expect([(err as AddrError).code, (err as AddrError).message]).toEqual(["EINVAL", message]);
    expect(envLeft()).toEqual([]);
  }
  expect(() => listenSystemd(null as unknown as undefined)).toThrow(TypeError);
  expectClean();
});

test("socket activation end to end: a TCP listener and a UDP socket at fd 3 and 4, LISTEN_PID set after fork, names from LISTEN_FDNAMES", async () => {
  const ln = listen({ port: 0, hostname: "127.0.0.1" });
  const udp = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  const port = (ln.addr as IpAddr).port;
  const udpPort = (udp.addr as IpAddr).port;
  // systemd sets LISTEN_PID in the child after fork; `exec` keeps the shell's pid for bun.
  const fixture = path.join(import.meta.dir, "../fixtures/activated.ts");
  const child = Bun.spawn(["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$1"', process.execPath, fixture], {
    env: { ...process.env, LISTEN_FDS: "2", LISTEN_FDNAMES: "http:stats" },
    stdio: ["ignore", "pipe", "inherit", ln.fd, udp.fd],
  });
  // The child holds its own copies: this process lets go of the sockets at once.
  await ln.close();
  const probe = listenDatagram({ port: 0, hostname: "127.0.0.1" });
  await udp.close();
  try {
    const c = await connect({ hostname: "127.0.0.1", port });
    const buf = new Uint8Array(128);
    let text = "";
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
    await c.close();
    expect(text).toBe(`hello from ${child.pid} on http\n`);
    await probe.send(new TextEncoder().encode("ping"), { hostname: "127.0.0.1", port: udpPort });
    probe.setReadDeadline(Date.now() + 5000);
    const d = await probe.receive(buf);
    expect(dec.decode(buf.subarray(0, d.n))).toBe("ping");
    expect(await child.exited).toBe(0);
    const out = JSON.parse(await new Response(child.stdout).text());
    expect(out).toEqual({
      pid: child.pid,
      seen: [
        { name: "http", fd: 3, kind: "listener", addr: `127.0.0.1:${port}` },
        { name: "stats", fd: 4, kind: "datagram", addr: formatAddr({ transport: "udp", family: "IPv4", hostname: "127.0.0.1", port: udpPort }) },
      ],
      env: { LISTEN_PID: null, LISTEN_FDS: null, LISTEN_FDNAMES: null },
    });
  } finally {
    child.kill();
    await probe.close();
  }
  expectClean();
});

test("socket activation: a connected socket (Accept=yes) becomes a Conn; a pipe comes back unwrapped; names are \"unknown\" without LISTEN_FDNAMES", async () => {
  const fixture = path.join(import.meta.dir, "../fixtures/activated.ts");
  const [r, w] = pipe();
  // Bun passes an extra "pipe" stdio entry as one end of a connected unix socket pair.
  const child = Bun.spawn(["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$1"', process.execPath, fixture], {
    env: { ...process.env, LISTEN_FDS: "2" },
    stdio: ["ignore", "pipe", "inherit", "pipe", r],
  });
  closeFd(r);
  closeFd(w);
  try {
    expect(await child.exited).toBe(0);
    const out = JSON.parse(await new Response(child.stdout).text());
    expect(out.seen).toEqual([
      { name: "unknown", fd: 3, kind: "conn", addr: null },
      { name: "unknown", fd: 4, kind: null, addr: null },
    ]);
  } finally {
    child.kill();
  }
  expectClean();
});
