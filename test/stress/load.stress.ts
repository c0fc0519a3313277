// Load: 10,000 concurrent connections through an echo server on the runtime.
// The server runs in this process; the 10,000 clients run in a child process
// (also on the runtime), because both ends would not fit under RLIMIT_NOFILE
// 20,000 in one process (DESIGN §11). Run: bun test ./test/stress/load.stress.ts
//
// Phases, driven over the child's stdin/stdout (one JSON line per phase):
//   1. the child opens N connections and reports; the server must hold N
//      conns, each with one read parked and one deadline timer armed;
//   2. on "go" every conn sends 1 KiB of its own bytes and reads the echo back,
//      checked byte for byte; both sides' byte totals must be exact;
//   3. on "close" the child closes everything; every server handler sees EOF
//      and closes; descriptors, pollDescs and timers return to the baseline.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Conn, type IpAddr, listen, type Listener, netpollReady, runtimeStats } from "../../src/index.ts";
import { cleanupsAfterEach, expectClean, sleep, until, within } from "../_support/index.ts";

const SRC = path.resolve(import.meta.dir, "../../src/index.ts");
const BUN = process.execPath;
const N = 10_000;
/** Server read deadline: far enough never to fire, so each parked read holds one timer. */
const IDLE_MS = 120_000;

const cleanups = cleanupsAfterEach();

function procFds(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

// The client process. Payload of conn i: 1 KiB from an xorshift32 stream
// seeded by i, with i itself in the first 4 bytes, so no two conns send the
// same bytes and a crossed echo is caught.
const CLIENT = `
import { connect, runtimeStats } from ${JSON.stringify(SRC)};
const port = Number(process.argv[2]);
const n = Number(process.argv[3]);
const size = Number(process.argv[4]);
const out = (o) => console.log(JSON.stringify(o));
function payload(i) {
  const b = new Uint8Array(new ArrayBuffer(size));
  let x = (i * 2654435761 + 1) >>> 0 || 1;
  for (let k = 0; k < size; k++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[k] = x & 0xff;
  }
  b[0] = i & 0xff; b[1] = (i >> 8) & 0xff; b[2] = (i >> 16) & 0xff; b[3] = 0xa5;
  return b;
}
// Lines from the parent, one at a time.
const stdin = process.stdin;
let pending = "";
const waiters = [];
stdin.on("data", (d) => {
  pending += d.toString();
  let nl;
  while ((nl = pending.indexOf("\\n")) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    waiters.shift()?.(line);
  }
});
const nextLine = () => new Promise((r) => waiters.push(r));

const conns = new Array(n).fill(null);
const errors = [];
let next = 0;
const t0 = performance.now();
async function dialer() {
  while (next < n) {
    const i = next++;
    try {
      conns[i] = await connect({ hostname: "127.0.0.1", port, timeout: 30000 });
    } catch (e) {
      errors.push("connect " + i + ": " + (e.code ?? String(e)));
    }
  }
}
await Promise.all(Array.from({ length: 256 }, dialer));
out({ phase: "connected", connected: conns.filter((c) => c !== null).length, errors, ms: Math.round(performance.now() - t0) });

if ((await nextLine()) !== "go") process.exit(3);
let sent = 0, received = 0, mismatches = 0, eofs = 0;
const t1 = performance.now();
await Promise.all(conns.map(async (c, i) => {
  if (c === null) return;
  const p = payload(i);
  const got = new Uint8Array(new ArrayBuffer(size));
  try {
    const w = c.write(p).then((k) => { sent += k; });
    let off = 0;
    while (off < size) {
      const k = await c.read(got.subarray(off));
      if (k === null) { eofs++; break; }
      off += k;
    }
    await w;
    received += off;
    for (let k = 0; k < size; k++) if (got[k] !== p[k]) { mismatches++; break; }
  } catch (e) {
    errors.push("echo " + i + ": " + (e.code ?? String(e)));
  }
}));
out({ phase: "echoed", sent, received, mismatches, eofs, errors, ms: Math.round(performance.now() - t1) });

if ((await nextLine()) !== "close") process.exit(3);
await Promise.all(conns.map((c) => c?.close()));
const s = runtimeStats();
out({ phase: "closed", fds: s.fds, pollDescs: s.pollDescs, timers: s.timers, parked: s.parked });
process.exit(0);
`;

interface Phase {
  phase: string;
  [k: string]: unknown;
}

/** JSON lines from the child's stdout, one per next() call. */
function phaseReader(stream: ReadableStream<Uint8Array>): () => Promise<Phase> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let buf = "";
  return async () => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return JSON.parse(line) as Phase;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`client ended before the next phase; output so far: ${JSON.stringify(buf)}`);
      buf += dec.decode(value, { stream: true });
    }
  };
}

// 1 KiB fits one segment; 8 KiB per conn (80 MiB each way in all) makes
// partial reads and writes likely on both sides.
for (const SIZE of [1024, 8192]) {
  test(`load: ${N.toLocaleString("en")} concurrent conns x ${SIZE} B echo (client in a child process): exact bytes both sides, then fds, pollDescs and timers back to baseline`, async () => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/bnp-load-`);
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const script = path.join(dir, "load_client.mjs");
    fs.writeFileSync(script, CLIENT);

    await netpollReady(); // the loop's own descriptors are part of the baseline
    await sleep(20);
    const fdBase = procFds();
    const base = runtimeStats();

    const ln: Listener = listen({ port: 0, hostname: "127.0.0.1", backlog: 4096 });
    cleanups.push(async () => {
      if (!ln.closed) await ln.close();
    });
    const port = (ln.addr as IpAddr).port;

    // Server: one task per conn, echoing until EOF.
    const server = { accepted: 0, open: 0, peak: 0, bytesIn: 0, bytesOut: 0, eofs: 0, errors: [] as string[], perConn: new Map<number, number>() };
    const handlers: Promise<void>[] = [];
    const handle = async (c: Conn, id: number) => {
      server.open++;
      server.peak = Math.max(server.peak, server.open);
      let bytes = 0;
      try {
        c.setReadDeadline(Date.now() + IDLE_MS);
        for await (const chunk of c) {
          server.bytesIn += chunk.length;
          bytes += chunk.length;
          await c.write(chunk);
          server.bytesOut += chunk.length;
        }
        server.eofs++;
      } catch (e) {
        server.errors.push(String(e));
      } finally {
        server.perConn.set(id, bytes);
        await c.close();
        server.open--;
      }
    };
    const acceptLoop = (async () => {
      for await (const c of ln) handlers.push(handle(c, server.accepted++));
    })();

    const child = Bun.spawn([BUN, script, String(port), String(N), String(SIZE)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      await child.exited;
    });
    // The child's pipes, before any connection can be accepted (synchronously after spawn).
    const fdSpawned = procFds();
    const next = phaseReader(child.stdout as ReadableStream<Uint8Array>);
    const stderr = new Response(child.stderr).text();

    // 1. All N connected and held.
    const connected = await within(next(), 60_000, "client connect phase");
    expect(connected).toMatchObject({ phase: "connected", connected: N, errors: [] });
    await within(until(() => server.accepted === N && runtimeStats().parked === N + 1, 10_000, "server holding all conns"), 11_000, "hold");
    const held = runtimeStats();
    const fdsHeld = procFds();
    expect({
      accepted: server.accepted,
      open: server.open,
      fds: held.fds - base.fds,
      pollDescs: held.pollDescs - base.pollDescs,
      parked: held.parked,
      timers: held.timers - base.timers,
      procFds: fdsHeld - fdSpawned,
    }).toEqual({
      accepted: N,
      open: N,
      fds: N + 1, // the conns and the listener
      pollDescs: N + 1,
      parked: N + 1, // N reads and the accept
      timers: N, // one deadline timer per parked read
      procFds: N, // fdSpawned already counts the listener
    });

    // 2. Echo: exact bytes on both sides.
    child.stdin.write("go\n");
    child.stdin.flush();
    const echoed = await within(next(), 60_000, "client echo phase");
    expect(echoed).toMatchObject({ phase: "echoed", sent: N * SIZE, received: N * SIZE, mismatches: 0, eofs: 0, errors: [] });
    expect({ bytesIn: server.bytesIn, bytesOut: server.bytesOut, open: server.open, errors: server.errors }).toEqual({
      bytesIn: N * SIZE,
      bytesOut: N * SIZE,
      open: N,
      errors: [],
    });
    expect(server.peak).toBe(N);

    // 3. Close: every handler sees EOF and closes its side.
    child.stdin.write("close\n");
    child.stdin.end();
    const closed = await within(next(), 30_000, "client close phase");
    expect(closed).toEqual({ phase: "closed", fds: 0, pollDescs: 0, timers: 0, parked: 0 });
    expect(await within(child.exited, 10_000, "client exit")).toBe(0);
    await within(Promise.all(handlers), 30_000, "server handlers");
    const sizes = new Map<number, number>();
    for (const b of server.perConn.values()) sizes.set(b, (sizes.get(b) ?? 0) + 1);
    expect({ eofs: server.eofs, errors: server.errors, open: server.open, perConnSizes: [...sizes] }).toEqual({
      eofs: N,
      errors: [],
      open: 0,
      perConnSizes: [[SIZE, N]],
    });
    const drained = runtimeStats();
    expect({ fds: drained.fds - base.fds, pollDescs: drained.pollDescs - base.pollDescs, timers: drained.timers, parked: drained.parked }).toEqual({
      fds: 1, // the listener
      pollDescs: 1,
      timers: 0,
      parked: 1, // the accept
    });

    await ln.close();
    await acceptLoop;
    await sleep(20);
    expect(procFds()).toBe(fdBase);
    expectClean();
    expect((await stderr).trim()).toBe("");
    console.log(
      JSON.stringify({
        conns: N,
        size: SIZE,
        connectMs: connected.ms,
        echoMs: echoed.ms,
        bytesEachWay: N * SIZE,
        fdBase,
        fdSpawned,
        fdsHeld,
        fdsAfter: procFds(),
        timersHeld: held.timers,
      }),
    );
  }, 150_000);
}
