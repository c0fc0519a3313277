// restart: zero-downtime restart by handing the listening socket to the next
// process over a unix socket (SCM_RIGHTS).
//
// A running server keeps a control socket at CONTROL. A new instance started
// with the same CONTROL connects to it and asks for the listener; the running
// one sends its descriptor with writeWithFds(), the new one adopts it with
// listen({ fd }) and starts accepting. Only then does the old one close its
// copy and drain: it accepts nothing more, finishes the connections it has
// (up to DRAIN_MS), and exits. The socket itself is never closed, so
// connections arriving during the handover wait in its accept queue for
// whichever process accepts next: no client sees a refused connection.
//
// The service is a line protocol: each line `x` is answered `<pid> x`.
//
// Try it:
//   PORT=7100 bun examples/restart.ts &           # generation 1
//   while :; do echo hi | nc -N 127.0.0.1 7100; done   # in another terminal
//   PORT=7100 bun examples/restart.ts &           # generation 2 takes over
//   kill -HUP <pid>                               # or: the server starts its own successor
//
// Env: PORT (default 7100; 0 picks a free port), HOST (default 127.0.0.1),
// CONTROL (default $TMPDIR/bun-netpoll-restart.sock), DRAIN_MS (default
// 10000). Prints `restart listening on <host>:<port> pid <pid>` on stdout,
// with ` (taken over from pid <old>)` when it took the socket over, then
// `draining <n> connection(s)` and `drained` when it hands over. SIGHUP
// starts a successor (the same command); SIGINT / SIGTERM close and exit 0.
import * as fs from "node:fs";
import * as os from "node:os";
import { ClosedError, type Conn, connect, formatAddr, type Listener, listen, NetError } from "bun-netpoll";

const port = Number(process.env.PORT ?? 7100);
const hostname = process.env.HOST ?? "127.0.0.1";
const control = process.env.CONTROL ?? `${os.tmpdir()}/bun-netpoll-restart.sock`;
const drainMs = Number(process.env.DRAIN_MS ?? 10_000);
const enc = new TextEncoder();
const dec = new TextDecoder();

// Control messages, one byte each: T (take: send me the listener), L (here
// it is, with the descriptor attached), R (ready: I am accepting).
const TAKE = 0x54;
const LISTENER = 0x4c;
const READY = 0x52;

/** Takes the listener over from a running generation; null when none answers at CONTROL. */
async function takeOver(): Promise<{ ln: Listener; from: number; ctl: Conn } | null> {
  let ctl: Conn;
  try {
    ctl = await connect({ path: control });
  } catch (err) {
    if (err instanceof NetError && (err.code === "ENOENT" || err.code === "ECONNREFUSED")) return null;
    throw err;
  }
  ctl.setDeadline(Date.now() + 5000);
  await ctl.write(Uint8Array.of(TAKE));
  const buf = new Uint8Array(1);
  const { n, fds } = await ctl.readWithFds(buf);
  if (n !== 1 || buf[0] !== LISTENER || fds.length !== 1) {
    for (const fd of fds) fs.closeSync(fd); // received descriptors are ours to close
    throw new Error("takeover: unexpected answer on the control socket");
  }
  ctl.setDeadline(null);
  // The received descriptor is ours: the Listener owns it from here on.
  return { ln: listen({ fd: fds[0]! }), from: ctl.peerCredentials().pid, ctl };
}

const taken = await takeOver();
const ln = taken?.ln ?? listen({ hostname, port });
console.log(`restart listening on ${formatAddr(ln.addr)} pid ${process.pid}${taken ? ` (taken over from pid ${taken.from})` : ""}`);

const conns = new Set<Conn>();
let draining = false;

async function serve(conn: Conn): Promise<void> {
  conns.add(conn);
  let pending = "";
  try {
    for await (const chunk of conn) {
      pending += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        await conn.write(enc.encode(`${process.pid} ${pending.slice(0, nl)}\n`));
        pending = pending.slice(nl + 1);
      }
    }
  } catch (err) {
    if (!(err instanceof NetError)) throw err;
  } finally {
    conns.delete(conn);
    if (!conn.closed) await conn.close();
    if (draining && conns.size === 0) finish();
  }
}

async function acceptLoop(): Promise<void> {
  for await (const conn of ln) serve(conn).catch((err) => console.error(`connection error: ${err}`));
}

// The control socket: the next generation connects here. The file of an old
// generation is replaced; the old one's close() leaves a file that is no
// longer its own alone.
fs.rmSync(control, { force: true });
const ctlLn = listen({ path: control });
const accepting = acceptLoop();
if (taken) {
  // Accepting now: let the old generation go.
  await taken.ctl.write(Uint8Array.of(READY));
  await taken.ctl.close();
}

async function controlLoop(): Promise<void> {
  for await (const c of ctlLn) {
    handOver(c).catch((err) => console.error(`handover failed, still serving: ${err}`));
  }
}

/** One control byte, or null at EOF. */
async function readByte(c: Conn): Promise<number | null> {
  const buf = new Uint8Array(1);
  return (await c.read(buf)) === 1 ? buf[0]! : null;
}

async function handOver(c: Conn): Promise<void> {
  try {
    c.setDeadline(Date.now() + 5000);
    if ((await readByte(c)) !== TAKE || draining) return;
    await c.writeWithFds(Uint8Array.of(LISTENER), [ln.fd]);
    // Keep serving until the new generation says it is accepting.
    if ((await readByte(c)) !== READY) return;
  } finally {
    await c.close();
  }
  draining = true;
  await Promise.allSettled([ln.close(), ctlLn.close()]);
  console.log(`draining ${conns.size} connection(s)`);
  if (conns.size === 0) finish();
  else setTimeout(() => conns.forEach((k) => !k.closed && void k.close()), drainMs).unref();
}

function finish(): void {
  console.log("drained");
  process.exit(0);
}

process.on("SIGHUP", () => {
  // A successor with the same command line; it takes the listener over through CONTROL.
  Bun.spawn([process.execPath, ...process.argv.slice(1)], { stdio: ["ignore", "inherit", "inherit"] }).unref();
});
const stop = async () => {
  await Promise.allSettled([ln.closed ? undefined : ln.close(), ctlLn.closed ? undefined : ctlLn.close(), ...[...conns].map((c) => c.close())]);
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());

await Promise.all([
  accepting,
  controlLoop().catch((err) => {
    if (!(err instanceof ClosedError)) throw err;
  }),
]);
