// TLS echo throughput: bun-netpoll's TLS (node:tls over a Conn) beside Bun's
// native TLS (Bun.listen / Bun.connect with `tls`). Run: bun bench/tls.ts
//
// A CA and a server certificate (P-256) are made with openssl in a temp dir.
// Each server is its own process (pinned to core 1 with taskset when it
// exists); the client runs in this process (core 0). The client keeps one
// 64 KiB block in flight on each of TLS_CONNS (4) connections: write it,
// read all of it back, write again, for TLS_SECS (2) seconds after a 0.5 s
// warm-up; MB/s counts echoed bytes (10^6). Client × server: bun-netpoll ×
// bun-netpoll, Bun × Bun, and the two crossings; TLS_RUNS (3) interleaved
// rounds, median shown. The machine is shared: compare ratios in one run.
// `--markdown FILE` also writes the table there (npm run bench uses it).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectTls, type IpAddr, listenTls } from "../src/index.ts";

const CONNS = Number(process.env.TLS_CONNS ?? 4);
const SECS = Number(process.env.TLS_SECS ?? 2);
const RUNS = Number(process.env.TLS_RUNS ?? 3);
const BLOCK = 64 * 1024;
const WARMUP_MS = 500;

type Side = "netpoll" | "bun";

function certs(): { dir: string; key: string; cert: string; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), "bnp-tls-bench-"));
  const sh = (args: string[]): void => {
    const r = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    if (!r.success) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  sh(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench CA"]);
  sh(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  sh(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf"]);
  const read = (f: string): string => readFileSync(join(dir, f), "utf8");
  return { dir, key: read("server.key"), cert: read("server.pem"), ca: read("ca.pem") };
}

// ---------------------------------------------------------------- servers

async function serveNetpoll(key: string, cert: string): Promise<void> {
  const ln = listenTls({ port: 0, hostname: "127.0.0.1", tls: { key, cert } });
  console.log(`PORT ${(ln.addr as IpAddr).port}`);
  for await (const c of ln) {
    void (async () => {
      const buf = new Uint8Array(new ArrayBuffer(BLOCK));
      try {
        for (let n = await c.read(buf); n !== null; n = await c.read(buf)) await c.write(buf.subarray(0, n));
      } catch {
        // client gone
      } finally {
        await c.close().catch(() => {});
      }
    })();
  }
}

function serveBun(key: string, cert: string): void {
  type State = { pending: Uint8Array | null };
  const server = Bun.listen<State>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { key, cert },
    socket: {
      open(s) {
        s.data = { pending: null };
        s.setNoDelay(true); // as a Conn (TCP_NODELAY by default)
      },
      data(s, d) {
        const st = s.data;
        if (st.pending !== null) {
          const p = new Uint8Array(st.pending.length + d.length);
          p.set(st.pending);
          p.set(d, st.pending.length);
          st.pending = p;
          return;
        }
        const n = s.write(d);
        if (n < d.length) st.pending = d.slice(Math.max(0, n));
      },
      drain(s) {
        const st = s.data;
        if (st.pending === null) return;
        const n = s.write(st.pending);
        st.pending = n < st.pending.length ? st.pending.subarray(Math.max(0, n)) : null;
      },
      error() {},
      close() {},
    },
  });
  console.log(`PORT ${server.port}`);
}

// ---------------------------------------------------------------- clients

/** Runs one connection's block ping-pong until `stop()` is true; returns echoed bytes counted after warm-up. */
async function clientNetpoll(port: number, ca: string, counting: () => boolean, stop: () => boolean): Promise<number> {
  const t = await connectTls({ hostname: "localhost", port, tls: { ca } });
  const block = new Uint8Array(new ArrayBuffer(BLOCK)).fill(0x5a);
  const buf = new Uint8Array(new ArrayBuffer(BLOCK));
  let bytes = 0;
  try {
    while (!stop()) {
      await t.write(block);
      let got = 0;
      while (got < BLOCK) {
        const n = await t.read(buf);
        if (n === null) throw new Error("early EOF");
        got += n;
      }
      if (counting()) bytes += BLOCK;
    }
  } finally {
    await t.close();
  }
  return bytes;
}

function clientBun(port: number, ca: string, counting: () => boolean, stop: () => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const block = new Uint8Array(BLOCK).fill(0x5a);
    let bytes = 0;
    let got = 0;
    let off = 0; // unsent part of the current block
    const send = (s: Bun.Socket<undefined>): void => {
      while (off < BLOCK) {
        const n = s.write(block.subarray(off));
        if (n <= 0) return; // wait for drain
        off += n;
      }
    };
    Bun.connect({
      hostname: "localhost",
      port,
      tls: { ca, serverName: "localhost" },
      socket: {
        open(s) {
          s.setNoDelay(true);
          off = 0;
          send(s);
        },
        drain(s) {
          send(s);
        },
        data(s, d) {
          got += d.length;
          if (got >= BLOCK) {
            got -= BLOCK;
            if (counting()) bytes += BLOCK;
            if (stop()) {
              s.end();
              return;
            }
            off = 0;
            send(s);
          }
        },
        close() {
          resolve(bytes);
        },
        error(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
}

async function measure(client: Side, port: number, ca: string): Promise<number> {
  const t0 = performance.now();
  const counting = (): boolean => performance.now() - t0 >= WARMUP_MS;
  const stop = (): boolean => performance.now() - t0 >= WARMUP_MS + SECS * 1000;
  const run = client === "netpoll" ? clientNetpoll : clientBun;
  const totals = await Promise.all(Array.from({ length: CONNS }, () => run(port, ca, counting, stop)));
  const secs = (performance.now() - t0 - WARMUP_MS) / 1000;
  return totals.reduce((a, b) => a + b, 0) / 1e6 / secs;
}

async function startServer(side: Side, dir: string): Promise<{ port: number; proc: ReturnType<typeof Bun.spawn> }> {
  const pin = Bun.which("taskset") !== null;
  const self = [process.execPath, import.meta.path, "--serve", side, dir];
  const proc = Bun.spawn(pin ? ["taskset", "-c", "1", ...self] : self, { stdout: "pipe", stderr: "inherit" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!/PORT (\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${side} server exited before printing its port`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { port: Number(/PORT (\d+)/.exec(text)![1]), proc };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (Bun.which("openssl") === null) throw new Error("bench/tls.ts needs openssl (apt-get install -y openssl)");
  const { dir, ca } = certs();
  const servers: Record<Side, { port: number; proc: ReturnType<typeof Bun.spawn> }> = {
    netpoll: await startServer("netpoll", dir),
    bun: await startServer("bun", dir),
  };
  try {
    const pairs: [Side, Side][] = [
      ["netpoll", "netpoll"],
      ["bun", "bun"],
      ["netpoll", "bun"],
      ["bun", "netpoll"],
    ];
    const results = new Map<string, number[]>(pairs.map(([c, s]) => [`${c}/${s}`, []]));
    for (let run = 0; run < RUNS; run++) {
      for (const [c, s] of pairs) results.get(`${c}/${s}`)!.push(await measure(c, servers[s].port, ca));
    }
    const base = median(results.get("bun/bun")!);
    const label: Record<Side, string> = { netpoll: "bun-netpoll (connectTls / listenTls)", bun: "Bun.connect / Bun.listen { tls }" };
    const lines = [
      `### TLS echo: ${CONNS} connections, one 64 KiB block in flight each, ${SECS} s, median of ${RUNS}`,
      "",
      "| client | server | MB/s (median) | min–max | vs Bun/Bun |",
      "|---|---|---:|---:|---:|",
    ];
    for (const [c, s] of pairs) {
      const xs = results.get(`${c}/${s}`)!;
      lines.push(`| ${label[c]} | ${label[s]} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} | ${(median(xs) / base).toFixed(2)}× |`);
    }
    console.log(lines.join("\n"));
    // --markdown FILE: the table for bench/RESULTS.md (npm run bench).
    const md = process.argv.indexOf("--markdown");
    if (md >= 0) writeFileSync(process.argv[md + 1]!, `${lines.join("\n")}\n`);
  } finally {
    for (const s of Object.values(servers)) s.proc.kill();
    await Promise.all(Object.values(servers).map((s) => s.proc.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

const serveAt = process.argv.indexOf("--serve");
if (serveAt >= 0) {
  const side = process.argv[serveAt + 1] as Side;
  const dir = process.argv[serveAt + 2]!;
  const key = readFileSync(join(dir, "server.key"), "utf8");
  const cert = readFileSync(join(dir, "server.pem"), "utf8");
  if (side === "netpoll") await serveNetpoll(key, cert);
  else serveBun(key, cert);
} else {
  await main();
}
