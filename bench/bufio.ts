// BufferedReader beside hand-written read loops. Run: bun bench/bufio.ts
//
// A server process streams length-prefixed frames (4-byte big-endian length,
// then a 100 KB value; BUFIO_VALUE to change) over TCP on 127.0.0.1; the
// client reads BUFIO_MB megabytes of them (default 200) in one of five ways
// and checks the first and last byte of every value:
//
//   concat    hand-written: read 64 KiB chunks, append each to a pending
//             buffer (a new allocation per chunk), cut frames off the front
//   tail      hand-written: one 256 KiB buffer, read into whatever tail is
//             left, compact only when it is full, values checked in place
//             (no copy; the reads just before a compaction get small)
//   readExactly  BufferedReader.readExactly(4) + readExactly(len): a fresh
//             copy of every value
//   readFull  BufferedReader.readFull into one reused value buffer (no
//             allocation per frame, one copy)
//   peek      BufferedReader.peek(4 + len) + discard: the value is looked at
//             in the reader's buffer (grown to hold a frame), no copy
//
// Each measurement is a fresh connection; the five variants are interleaved
// BUFIO_RUNS times (default 5) and the median MB/s (10^6 bytes) is printed as
// a markdown table with the ratio to `concat`. Server and client are pinned
// to different cores with taskset when it exists. The machine is shared:
// compare ratios within one run.
import { BufferedReader, type Conn, connect, type IpAddr, listen } from "../src/index.ts";

const VALUE = Number(process.env.BUFIO_VALUE ?? 100_000);
const TOTAL_MB = Number(process.env.BUFIO_MB ?? 200);
const RUNS = Number(process.env.BUFIO_RUNS ?? 5);
const FRAMES = Math.ceil((TOTAL_MB * 1e6) / (VALUE + 4));

function frameBlock(): Uint8Array {
  // 8 frames per block, values filled with (frame index) so first/last bytes are checkable.
  const per = 8;
  const block = new Uint8Array(new ArrayBuffer(per * (VALUE + 4)));
  const dv = new DataView(block.buffer);
  for (let i = 0; i < per; i++) {
    const at = i * (VALUE + 4);
    dv.setUint32(at, VALUE);
    block.fill(i + 1, at + 4, at + 4 + VALUE);
  }
  return block;
}

async function serve(): Promise<void> {
  const ln = listen({ port: 0, hostname: "127.0.0.1" });
  console.log(`PORT ${(ln.addr as IpAddr).port}`);
  const block = frameBlock();
  const blocks = Math.ceil(FRAMES / 8);
  for await (const c of ln) {
    void (async () => {
      try {
        for (let i = 0; i < blocks; i++) await c.write(block);
        await c.closeWrite();
        const sink = new Uint8Array(16);
        while ((await c.read(sink)) !== null);
      } catch {
        // the client hung up early
      } finally {
        await c.close();
      }
    })();
  }
}

type Variant = (c: Conn) => Promise<number>;

function check(first: number, last: number, frame: number): void {
  const want = (frame % 8) + 1;
  if (first !== want || last !== want) throw new Error(`frame ${frame}: bytes ${first}/${last}, want ${want}`);
}

const variants: Record<string, Variant> = {
  async concat(c) {
    const chunk = new Uint8Array(new ArrayBuffer(64 * 1024));
    let pending = new Uint8Array(0);
    let frames = 0;
    let bytes = 0;
    while (frames < FRAMES) {
      const n = await c.read(chunk);
      if (n === null) throw new Error("early EOF");
      const next = new Uint8Array(pending.length + n);
      next.set(pending);
      next.set(chunk.subarray(0, n), pending.length);
      pending = next;
      while (pending.length >= 4) {
        const len = new DataView(pending.buffer, pending.byteOffset).getUint32(0);
        if (pending.length < 4 + len) break;
        const value = pending.subarray(4, 4 + len);
        check(value[0]!, value[len - 1]!, frames);
        frames++;
        bytes += 4 + len;
        pending = pending.subarray(4 + len);
        if (frames === FRAMES) break;
      }
    }
    return bytes;
  },

  async tail(c) {
    const buf = new Uint8Array(new ArrayBuffer(256 * 1024));
    const dv = new DataView(buf.buffer);
    let r = 0;
    let w = 0;
    let frames = 0;
    let bytes = 0;
    while (frames < FRAMES) {
      if (w === buf.length) {
        buf.copyWithin(0, r, w);
        w -= r;
        r = 0;
      }
      const n = await c.read(buf.subarray(w));
      if (n === null) throw new Error("early EOF");
      w += n;
      while (w - r >= 4) {
        const len = dv.getUint32(r);
        if (w - r < 4 + len) break;
        check(buf[r + 4]!, buf[r + 3 + len]!, frames);
        frames++;
        bytes += 4 + len;
        r += 4 + len;
        if (r === w) r = w = 0;
        if (frames === FRAMES) break;
      }
    }
    return bytes;
  },

  async readExactly(c) {
    const br = new BufferedReader(c);
    let bytes = 0;
    for (let f = 0; f < FRAMES; f++) {
      const hdr = await br.readExactly(4);
      const len = new DataView(hdr!.buffer).getUint32(0);
      const value = (await br.readExactly(len))!;
      check(value[0]!, value[len - 1]!, f);
      bytes += 4 + len;
    }
    return bytes;
  },

  async peek(c) {
    const br = new BufferedReader(c);
    let bytes = 0;
    for (let f = 0; f < FRAMES; f++) {
      const hdr = (await br.peek(4))!;
      const len = ((hdr[0]! << 24) | (hdr[1]! << 16) | (hdr[2]! << 8) | hdr[3]!) >>> 0;
      const frame = (await br.peek(4 + len))!;
      check(frame[4]!, frame[3 + len]!, f);
      await br.discard(4 + len);
      bytes += 4 + len;
    }
    return bytes;
  },

  async readFull(c) {
    const br = new BufferedReader(c);
    const hdr = new Uint8Array(new ArrayBuffer(4));
    const hv = new DataView(hdr.buffer);
    let value = new Uint8Array(new ArrayBuffer(VALUE));
    let bytes = 0;
    for (let f = 0; f < FRAMES; f++) {
      await br.readFull(hdr);
      const len = hv.getUint32(0);
      if (value.length < len) value = new Uint8Array(new ArrayBuffer(len));
      const v = value.subarray(0, len);
      await br.readFull(v);
      check(v[0]!, v[len - 1]!, f);
      bytes += 4 + len;
    }
    return bytes;
  },
};

async function measure(port: number, name: string): Promise<number> {
  const c = await connect({ hostname: "127.0.0.1", port });
  try {
    const t0 = performance.now();
    const bytes = await variants[name]!(c);
    const secs = (performance.now() - t0) / 1000;
    return bytes / 1e6 / secs;
  } finally {
    await c.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  const pin = Bun.which("taskset") !== null;
  const self = [process.execPath, import.meta.path, "--serve"];
  const server = Bun.spawn(pin ? ["taskset", "-c", "1", ...self] : self, { stdout: "pipe", stderr: "inherit", env: process.env });
  try {
    const reader = server.stdout.getReader();
    let text = "";
    while (!/PORT (\d+)/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("server exited before printing its port");
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const port = Number(/PORT (\d+)/.exec(text)![1]);
    const names = Object.keys(variants);
    const results: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (const n of names) await measure(port, n); // warm-up (JIT), not counted
    for (let run = 0; run < RUNS; run++) {
      for (const n of names) results[n]!.push(await measure(port, n));
    }
    const base = median(results.concat!);
    console.log(`### Framed reads: ${VALUE}-byte values with a 4-byte length prefix, ${TOTAL_MB} MB per run, median of ${RUNS}\n`);
    console.log("| reader | MB/s (median) | min–max | vs concat |");
    console.log("|---|---:|---:|---:|");
    for (const n of names) {
      const xs = results[n]!;
      console.log(
        `| ${n} | ${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} | ${(median(xs) / base).toFixed(2)}× |`,
      );
    }
  } finally {
    server.kill();
    await server.exited;
  }
}

if (process.argv.includes("--serve")) await serve();
else await main();
