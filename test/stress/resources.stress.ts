// Resource stress (CONFORMANCE I3, M2). Run: bun test ./test/stress/resources.stress.ts
import { afterEach, expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import * as fs from "node:fs";
import * as path from "node:path";
import { ClosedError, type Conn, connect, DeadlineExceededError, type IpAddr, listen, type Listener, NetError, runtimeStats } from "../../src/index.ts";
import { closeAfterEach, expectClean, sleep, tempDirs, within } from "../_support/index.ts";

const SRC = path.resolve(import.meta.dir, "../../src/index.ts");
const BUN = process.execPath;

// After each test: the child processes killed, then what the test opened closed, then its temp dirs removed.
const children: { kill(): void; exited: Promise<number> }[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill();
    await c.exited;
  }
});
const keep = closeAfterEach();
const tempDir = tempDirs();

function openFdCount(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

function heapBytes(): number {
  Bun.gc(true);
  Bun.gc(true);
  return heapStats().heapSize;
}

// ---------------------------------------------------------------- I3

// The client side lives in a child process: 10,000 conns on each side would
// not fit under this process's RLIMIT_NOFILE of 20,000.
const IDLE_CLIENT = `
import net from "node:net";
const port = Number(process.argv[2]);
const n = Number(process.argv[3]);
const socks = [];
let connected = 0;
let started = 0;
function one() {
  if (started >= n) return;
  started++;
  const s = net.connect({ port, host: "127.0.0.1" }, () => {
    connected++;
    if (connected === n) console.log("ready");
    one();
  });
  s.on("error", (e) => { console.error("client error", e.message); process.exit(2); });
  socks.push(s);
}
for (let i = 0; i < 256; i++) one();
process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
`;

test("I3 10,000 idle accepted conns: no CPU while idle, < 10 KiB JS heap per conn, and closing all returns to baseline", async () => {
  const N = 10_000;
  const dir = tempDir();
  const script = path.join(dir, "idle_client.mjs");
  fs.writeFileSync(script, IDLE_CLIENT);
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1", backlog: 4096 }));
  const port = (ln.addr as IpAddr).port;
  await sleep(20);
  const fdBase = openFdCount();
  const statsBase = runtimeStats();
  const heapBase = heapBytes();

  const conns: Conn[] = [];
  const reads: Promise<unknown>[] = [];
  const shared = new Uint8Array(new ArrayBuffer(64));
  const acceptLoop = (async () => {
    while (conns.length < N) {
      const c = await ln.accept();
      conns.push(c);
      // An idle server conn: one read parked, waiting for a request.
      reads.push(c.read(shared).then((v) => v, (e) => e));
    }
  })();
  const child = Bun.spawn([BUN, script, String(port), String(N)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  children.push(child);
  const reader = child.stdout.getReader();
  const ready = (async () => {
    let out = "";
    while (!out.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`client exited before ready: ${out}`);
      out += new TextDecoder().decode(value);
    }
  })();
  await within(Promise.all([ready, acceptLoop]), 20_000, "10,000 connects");
  expect(conns.length).toBe(N);
  await sleep(100);
  const s1 = runtimeStats();
  expect(s1.fds).toBe(statsBase.fds + N);
  expect(s1.parked).toBe(N);
  expect(s1.timers).toBe(0);

  const heapPerConn = (heapBytes() - heapBase) / N;

  // Idle: no CPU.
  const cpu0 = process.cpuUsage();
  const loop0 = runtimeStats().loop;
  await sleep(2000);
  const cpu = process.cpuUsage(cpu0);
  const loop1 = runtimeStats().loop;
  const cpuMs = (cpu.user + cpu.system) / 1000;

  // Close everything; every parked read ends Closed.
  await Promise.all(conns.map((c) => c.close()));
  const outcomes = await Promise.all(reads);
  const notClosed = outcomes.filter((o) => !(o instanceof ClosedError)).length;
  child.stdin.end();
  await within(child.exited, 5000, "client exit");
  children.splice(children.indexOf(child), 1);
  await ln.close();
  await sleep(50);

  expect(heapPerConn).toBeLessThan(10 * 1024);
  expect(cpuMs).toBeLessThan(40); // 2% of one core over 2 s
  expect(loop1.drains - loop0.drains).toBeLessThanOrEqual(5);
  expect(notClosed).toBe(0);
  expect(openFdCount()).toBe(fdBase - 1); // the listener is gone too
  conns.length = 0;
  reads.length = 0;
  const heapAfter = heapBytes();
  expect(heapAfter - heapBase).toBeLessThan(N * 1024); // back near baseline (< 1 KiB/conn left)
  expectClean();
}, 60_000);

// ---------------------------------------------------------------- M2

const SIXTEEN_MIB = 16 << 20;

async function writeToClosedPeer(ln: Listener, dial: () => Promise<Conn>): Promise<unknown> {
  const [a, b] = await Promise.all([dial(), ln.accept()]);
  keep(a);
  keep(b);
  await b.close();
  await sleep(10);
  const data = new Uint8Array(new ArrayBuffer(SIXTEEN_MIB)).fill(0x42);
  let err: unknown = null;
  try {
    await within(a.write(data), 10_000, "16 MiB write");
  } catch (e) {
    err = e;
  }
  await a.close();
  return err;
}

test("M2 16 MiB written to a TCP conn whose peer closed rejects EPIPE or ECONNRESET", async () => {
  const ln = keep(listen({ port: 0, hostname: "127.0.0.1" }));
  const port = (ln.addr as IpAddr).port;
  const err = await writeToClosedPeer(ln, () => connect({ hostname: "127.0.0.1", port }));
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect(err).not.toBeInstanceOf(DeadlineExceededError);
  expect(["EPIPE", "ECONNRESET"]).toContain((err as NetError).code);
  expect((err as NetError).bytesWritten).toBeLessThan(SIXTEEN_MIB);
  await ln.close();
  expectClean();
});

test("M2 16 MiB written to a unix conn whose peer closed rejects EPIPE or ECONNRESET", async () => {
  const p = path.join(tempDir(), "m2.sock");
  const ln = keep(listen({ path: p }));
  const err = await writeToClosedPeer(ln, () => connect({ path: p }));
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect(["EPIPE", "ECONNRESET"]).toContain((err as NetError).code);
  await ln.close();
  expectClean();
});

// A child with SIGPIPE restored to its default action (Bun ignores it), so a
// write without MSG_NOSIGNAL would kill it. Mode "raw" does exactly that with
// a plain write(2), to show the harness would notice.
const SIGPIPE_CHILD = `
import { dlopen, FFIType } from "bun:ffi";
import { readFileSync } from "node:fs";
import { connect, listen } from ${JSON.stringify(SRC)};
const mode = process.argv[2];
const libc = dlopen("libc.so.6", {
  signal: { args: [FFIType.i32, FFIType.u64], returns: FFIType.u64 },
  write: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
});
libc.symbols.signal(13, 0n); // SIGPIPE -> SIG_DFL
const ign = BigInt("0x" + /SigIgn:\\s*([0-9a-f]+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
if ((ign >> 12n) & 1n) { console.log("SIGPIPE still ignored"); process.exit(3); }
const ln = listen({ port: 0, hostname: "127.0.0.1" });
const [a, b] = await Promise.all([connect({ hostname: "127.0.0.1", port: ln.addr.port }), ln.accept()]);
await b.close();
await Bun.sleep(10);
const data = new Uint8Array(new ArrayBuffer(16 << 20)).fill(1);
if (mode === "raw") {
  for (let i = 0; i < 1000; i++) { libc.symbols.write(a.fd, data, data.length); await Bun.sleep(1); }
  console.log("raw survived");
  process.exit(4);
}
try {
  await a.write(data);
  console.log("resolved");
} catch (e) {
  console.log("code=" + e.code);
}
await a.close();
await ln.close();
process.exit(0);
`;

async function runSigpipeChild(mode: string): Promise<{ out: string; exitCode: number | null; signal: string | null }> {
  const dir = tempDir();
  const script = path.join(dir, "sigpipe_child.mjs");
  fs.writeFileSync(script, SIGPIPE_CHILD);
  const child = Bun.spawn([BUN, script, mode], { stdout: "pipe", stderr: "pipe" });
  children.push(child);
  const exitCode = await within(child.exited, 15_000, `sigpipe child (${mode})`);
  children.splice(children.indexOf(child), 1);
  const out = (await new Response(child.stdout).text()).trim();
  return { out, exitCode, signal: child.signalCode === null ? null : String(child.signalCode) };
}

test("M2 with SIGPIPE at its default action, a 16 MiB write to a closed peer rejects instead of killing the process", async () => {
  // Control: a raw write(2) without MSG_NOSIGNAL does kill such a process.
  const control = await runSigpipeChild("raw");
  expect(control.signal).toBe("SIGPIPE");
  const r = await runSigpipeChild("runtime");
  expect(r.signal).toBeNull();
  expect(r.exitCode).toBe(0);
  expect(["code=EPIPE", "code=ECONNRESET"]).toContain(r.out);
  expectClean();
}, 40_000);
