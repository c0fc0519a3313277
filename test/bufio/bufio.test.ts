// BufferedReader / BufferedWriter over real socket pairs (TCP and unix):
// exact bytes, delimiter limits, EOF in the middle of a unit, and deadlines,
// close and aborts passing through from the Conn.
import { describe, expect } from "bun:test";
import {
  BufferedReader,
  BufferedWriter,
  type ByteReader,
  ClosedError,
  type Conn,
  DeadlineExceededError,
  NetError,
  TooLongError,
  UnexpectedEofError,
} from "../../src/index.ts";
import { connPairs, type Kind, rejection, sleep, testOn } from "../_support/index.ts";

const { pair } = connPairs();
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Deterministic bytes: byte i of stream `seed` is (i * 31 + seed) & 0xff. */
function pattern(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** Writes the parts with a pause between them, so they arrive as separate reads. */
async function dribble(c: Conn, parts: (string | Uint8Array)[], gapMs = 5): Promise<void> {
  for (const p of parts) {
    await c.write(typeof p === "string" ? enc.encode(p) : p);
    await sleep(gapMs);
  }
}

/** A ByteReader that records the length of every slice the reader hands to read(). */
class Spy implements ByteReader {
  readonly lengths: number[] = [];
  constructor(readonly c: Conn) {}
  read(buf: Uint8Array, opts?: { readonly signal?: AbortSignal }): Promise<number | null> {
    this.lengths.push(buf.length);
    return this.c.read(buf, opts);
  }
}

const KINDS: Kind[] = ["tcp", "unix"];

for (const kind of KINDS) {
  describe(`bufio over ${kind}`, () => {
    testOn("readExactly: length-prefixed frames of 1 B … 300 KB arrive byte-exact across arbitrary splits", () => pair(kind), async ([a, b]) => {
      const sizes = [1, 3, 4095, 4096, 4097, 65535, 65536, 65537, 100_000, 300_000, 0, 17];
      const stream: Uint8Array[] = [];
      for (const [i, n] of sizes.entries()) {
        const hdr = new Uint8Array(4);
        new DataView(hdr.buffer).setUint32(0, n);
        stream.push(hdr, pattern(n, i));
      }
      const all = Buffer.concat(stream);
      // Split the stream at odd places (inside headers and bodies).
      const cuts = [2, 5, 4000, 9000, 70_000, 140_000, 250_000, 400_000, all.length];
      const parts: Uint8Array[] = [];
      let at = 0;
      for (const cut of cuts) {
        parts.push(all.subarray(at, cut));
        at = cut;
      }
      const sending = dribble(a, parts, 2).then(() => a.closeWrite());
      const r = new BufferedReader(b);
      for (const [i, n] of sizes.entries()) {
        const hdr = await r.readExactly(4);
        expect(hdr).not.toBeNull();
        expect(new DataView(hdr!.buffer).getUint32(0)).toBe(n);
        const body = await r.readExactly(n);
        expect(body!.length).toBe(n);
        expect(Buffer.from(body!).equals(Buffer.from(pattern(n, i)))).toBe(true);
      }
      expect(await r.readExactly(4)).toBeNull(); // clean EOF between frames
      await sending;
    });

    testOn("readExactly: EOF in the middle of a frame rejects with UnexpectedEofError carrying the bytes read", () => pair(kind), async ([a, b]) => {
      await a.write(enc.encode("hello"));
      await a.closeWrite();
      const r = new BufferedReader(b);
      const err = await rejection(r.readExactly(8));
      expect(err).toBeInstanceOf(UnexpectedEofError);
      const e = err as UnexpectedEofError;
      expect(e.code).toBe("ERR_UNEXPECTED_EOF");
      expect(e.bytesRead).toBe(5);
      expect(e.expected).toBe(8);
      expect(dec.decode(e.partial)).toBe("hello");
      expect(e.message).toBe("unexpected EOF: 5 of 8 bytes read");
      expect(await r.readExactly(1)).toBeNull(); // and EOF after that
    });

    testOn("readFull: a large destination is read into directly, with the buffered head copied first", () => pair(kind), async ([a, b]) => {
      const data = pattern(200_000);
      const spy = new Spy(b);
      const r = new BufferedReader(spy, { size: 4096 });
      const sending = a.write(data).then(() => a.closeWrite());
      expect(await r.peek(10)).not.toBeNull(); // something is buffered
      const dst = new Uint8Array(new ArrayBuffer(200_000));
      expect(await r.readFull(dst)).toBe(200_000);
      expect(Buffer.from(dst).equals(Buffer.from(data))).toBe(true);
      // After the first fill, reads go straight into dst: slices larger than the 4 KiB buffer.
      expect(spy.lengths[0]).toBe(4096);
      expect(spy.lengths.slice(1).every((n) => n > 4096)).toBe(true);
      await sending;
      expect(await r.readFull(new Uint8Array(1))).toBeNull();
    });

    testOn("readUntil: a multi-byte delimiter split across reads is found; the copy includes it", () => pair(kind), async ([a, b]) => {
      const sending = dribble(a, ["GET / HTTP/1.1\r\nHost: x\r", "\n\r", "\nBODY", "\r\n\r\n"]);
      const r = new BufferedReader(b);
      const head = await r.readUntil("\r\n\r\n");
      expect(dec.decode(head!)).toBe("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      const next = await r.readUntil(enc.encode("\r\n\r\n"));
      expect(dec.decode(next!)).toBe("BODY\r\n\r\n");
      await sending;
    });

    testOn("readUntil: no delimiter within max rejects with TooLongError and keeps the bytes buffered", () => pair(kind), async ([a, b]) => {
      await a.write(enc.encode("x".repeat(100) + "\nrest\n"));
      const r = new BufferedReader(b, { size: 64 });
      const err = await rejection(r.readUntil(0x0a, { max: 50 }));
      expect(err).toBeInstanceOf(TooLongError);
      expect((err as TooLongError).limit).toBe(50);
      expect((err as TooLongError).code).toBe("ERR_TOO_LONG");
      expect(r.buffered).toBeGreaterThanOrEqual(50);
      // With a larger max the same line is found (the buffer grows past 64).
      const line = await r.readUntil(0x0a, { max: 101 });
      expect(dec.decode(line!)).toBe("x".repeat(100) + "\n");
      expect(r.size).toBeGreaterThanOrEqual(101);
      expect(await r.readLine()).toBe("rest");
      // A delimiter exactly at the limit is accepted.
      await a.write(enc.encode("abcd\n"));
      expect(dec.decode((await r.readUntil("\n", { max: 5 }))!)).toBe("abcd\n");
    });

    testOn("readUntil: EOF before the delimiter rejects with UnexpectedEofError; nothing buffered resolves null", () => pair(kind), async ([a, b]) => {
      await dribble(a, ["partial line"]);
      await a.closeWrite();
      const r = new BufferedReader(b);
      const err = await rejection(r.readUntil("\n"));
      expect(err).toBeInstanceOf(UnexpectedEofError);
      expect(dec.decode((err as UnexpectedEofError).partial)).toBe("partial line");
      expect((err as UnexpectedEofError).expected).toBeNull();
      expect(await r.readUntil("\n")).toBeNull();
    });

    testOn("readLine: LF and CR LF lines, UTF-8, an empty line, then EOF", () => pair(kind), async ([a, b]) => {
      await dribble(a, ["+OK\r\n", "héllo wörld\n", "\r\n", "spl", "it\r", "\n"]);
      await a.closeWrite();
      const r = new BufferedReader(b);
      expect(await r.readLine()).toBe("+OK");
      expect(await r.readLine()).toBe("héllo wörld");
      expect(await r.readLine()).toBe("");
      expect(await r.readLine()).toBe("split");
      expect(await r.readLine()).toBeNull();
    });

    testOn("peek: does not consume, grows the buffer past its size, and stops at maxSize", () => pair(kind), async ([a, b]) => {
      const data = pattern(3000);
      const sending = dribble(a, [data.subarray(0, 1000), data.subarray(1000)]);
      const r = new BufferedReader(b, { size: 1024, maxSize: 4096 });
      const p1 = await r.peek(4);
      expect([...p1!]).toEqual([...data.subarray(0, 4)]);
      const p2 = await r.peek(2500); // larger than the 1 KiB buffer
      expect(Buffer.from(p2!).equals(Buffer.from(data.subarray(0, 2500)))).toBe(true);
      expect(r.size).toBeGreaterThanOrEqual(2500);
      expect(await rejection(r.peek(5000))).toBeInstanceOf(TooLongError);
      const all = await r.readExactly(3000);
      expect(Buffer.from(all!).equals(Buffer.from(data))).toBe(true);
      await sending;
      await a.closeWrite();
      expect(await r.peek(1)).toBeNull();
    });

    testOn("peek: EOF with fewer bytes than asked rejects with UnexpectedEofError; discard skips across reads", () => pair(kind), async ([a, b]) => {
      await dribble(a, ["0123456789", "abcdef"]);
      await a.closeWrite();
      const r = new BufferedReader(b, { size: 8 });
      expect(await r.discard(12)).toBe(12);
      const err = await rejection(r.peek(10));
      expect(err).toBeInstanceOf(UnexpectedEofError);
      expect(dec.decode((err as UnexpectedEofError).partial)).toBe("cdef");
      expect(await r.discard(100)).toBe(0); // the error took the partial bytes
    });

    testOn("read(): buffered bytes first, then reads; a large buffer with nothing buffered bypasses the buffer", () => pair(kind), async ([a, b]) => {
      await a.write(enc.encode("line\nabc"));
      const spy = new Spy(b);
      const r = new BufferedReader(spy, { size: 16 });
      expect(await r.readLine()).toBe("line");
      const small = new Uint8Array(2);
      expect(await r.read(small)).toBe(2);
      expect(dec.decode(small)).toBe("ab");
      const big = new Uint8Array(new ArrayBuffer(64));
      expect(await r.read(big)).toBe(1); // just what was buffered, no new read
      expect(dec.decode(big.subarray(0, 1))).toBe("c");
      const reads = spy.lengths.length;
      await a.write(enc.encode("direct"));
      expect(await r.read(big)).toBe(6);
      expect(spy.lengths.length).toBe(reads + 1);
      expect(spy.lengths.at(-1)).toBe(64); // handed the caller's buffer itself
      await a.closeWrite();
      expect(await r.read(big)).toBeNull();
    });

    testOn("the source is never handed a slice smaller than 4 KiB: the tail is compacted first", () => pair(kind), async ([a, b]) => {
      // 2,000 lines of 1–200 bytes, written in uneven batches.
      const lines: string[] = [];
      for (let i = 0; i < 2000; i++) lines.push(`${i}:` + "z".repeat((i * 37) % 200));
      const text = lines.map((l) => l + "\r\n").join("");
      const bytes = enc.encode(text);
      const parts: Uint8Array[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = 1000 + ((i * 7919) % 30_000);
        parts.push(bytes.subarray(at, at + n));
        at += n;
      }
      const sending = dribble(a, parts, 1).then(() => a.closeWrite());
      const spy = new Spy(b);
      const r = new BufferedReader(spy, { size: 16 * 1024 });
      for (const l of lines) expect(await r.readLine()).toBe(l);
      expect(await r.readLine()).toBeNull();
      await sending;
      expect(spy.lengths.length).toBeGreaterThan(3);
      expect(Math.min(...spy.lengths)).toBeGreaterThanOrEqual(4096);
    });

    testOn("deadlines pass through: the Conn's read deadline rejects with DeadlineExceededError and the bytes stay buffered", () => pair(kind), async ([a, b]) => {
      await a.write(enc.encode("abc"));
      const r = new BufferedReader(b);
      b.setReadDeadline(Date.now() + 50);
      const err = await rejection(r.readExactly(10));
      expect(err).toBeInstanceOf(DeadlineExceededError);
      expect((err as DeadlineExceededError).timeout).toBe(true);
      expect((err as Error).message).toContain("i/o timeout");
      expect(r.buffered).toBe(3);
      const err2 = await rejection(r.readLine());
      expect(err2).toBeInstanceOf(DeadlineExceededError);
      b.setReadDeadline(null);
      await a.write(enc.encode("defghij\n"));
      expect(dec.decode((await r.readExactly(10))!)).toBe("abcdefghij");
      expect(await r.readLine()).toBe("");
      // A frame larger than the buffer, read straight into the destination:
      // on the deadline, what arrived is put back, and the retry is whole.
      const big = pattern(100_000);
      const r2 = new BufferedReader(b, { size: 4096 });
      await a.write(big.subarray(0, 30_000));
      await sleep(10);
      b.setReadDeadline(Date.now() + 50);
      expect(await rejection(r2.readExactly(100_000))).toBeInstanceOf(DeadlineExceededError);
      expect(r2.buffered).toBe(30_000);
      b.setReadDeadline(null);
      const sending = a.write(big.subarray(30_000));
      const whole = await r2.readExactly(100_000);
      expect(Buffer.from(whole!).equals(Buffer.from(big))).toBe(true);
      await sending;
    });

    testOn("close and abort pass through: ClosedError, and the signal's reason", () => pair(kind), async ([, b]) => {
      const r = new BufferedReader(b);
      const ac = new AbortController();
      const aborted = rejection(r.readLine({ signal: ac.signal }));
      await sleep(5);
      ac.abort(new Error("stop waiting"));
      expect(((await aborted) as Error).message).toBe("stop waiting");
      const pending = rejection(r.readExactly(4));
      await sleep(5);
      await b.close();
      const err = await pending;
      expect(err).toBeInstanceOf(ClosedError);
      expect((err as Error).message).toContain("use of closed network connection");
    });

    testOn("BufferedWriter: 1,000 small writes reach the peer in one write(2) on flush, byte-exact", () => pair(kind), async ([a, b]) => {
      let writes = 0;
      const w = new BufferedWriter({
        write: (buf) => {
          writes++;
          return a.write(buf);
        },
      });
      let expected = "";
      for (let i = 0; i < 1000; i++) {
        const s = `*3\r\n$3\r\nSET\r\n$${String(i).length}\r\n${i}\r\n`;
        expected += s;
        if (i % 2 === 0) await w.writeString(s);
        else await w.write(enc.encode(s));
      }
      expect(writes).toBe(0);
      expect(w.buffered).toBe(enc.encode(expected).length);
      await w.flush();
      expect(writes).toBe(1);
      expect(w.buffered).toBe(0);
      await w.flush(); // nothing to write
      expect(writes).toBe(1);
      await a.closeWrite();
      const r = new BufferedReader(b);
      const got = await r.readExactly(expected.length);
      expect(dec.decode(got!)).toBe(expected);
      expect(await r.readExactly(1)).toBeNull();
    });

    testOn("BufferedWriter: flushes when the buffer fills; a large write goes out with the buffered head in one writev", () => pair(kind), async ([a, b]) => {
      const calls: string[] = [];
      const w = new BufferedWriter(
        {
          write: (buf) => {
            calls.push(`write ${buf.length}`);
            return a.write(buf);
          },
          writev: (bufs) => {
            calls.push(`writev ${bufs.map((x) => x.length).join("+")}`);
            return a.writev(bufs);
          },
        },
        { size: 1024 },
      );
      const data = pattern(3000 + 5000 + 10);
      const r = new BufferedReader(b);
      const reading = r.readExactly(data.length);
      for (let i = 0; i < 30; i++) await w.write(data.subarray(i * 100, (i + 1) * 100)); // 3000 bytes
      expect(calls).toEqual(["write 1024", "write 1024"]);
      expect(w.buffered).toBe(3000 - 2048);
      await w.write(data.subarray(3000, 8000)); // ≥ size: no copy, one writev
      expect(calls).toEqual(["write 1024", "write 1024", "writev 952+5000"]);
      await w.write(data.subarray(8000));
      await w.flush();
      expect(calls.at(-1)).toBe("write 10");
      const got = await reading;
      expect(Buffer.from(got!).equals(Buffer.from(data))).toBe(true);
    });

    testOn("BufferedWriter: calls made during a flush wait for it and keep their order", () => pair(kind), async ([a, b]) => {
      const w = new BufferedWriter(a, { size: 8 });
      const done = [w.write(enc.encode("0123456789")), w.writeString("ab"), w.flush(), w.writeString("cd"), w.flush()];
      await Promise.all(done);
      await a.closeWrite();
      const r = new BufferedReader(b);
      expect(dec.decode((await r.readExactly(14))!)).toBe("0123456789abcd");
    });

    testOn("BufferedWriter: a failed write is sticky; later writes and flushes reject with the same error", () => pair(kind), async ([a, b]) => {
      const w = new BufferedWriter(a, { size: 16 });
      await b.close();
      await a.close();
      await w.writeString("buffered");
      const err = await rejection(w.flush());
      expect(err).toBeInstanceOf(ClosedError);
      expect(await rejection(w.writeString("more than sixteen bytes"))).toBe(err);
      expect(await rejection(w.flush())).toBe(err);
      expect(await rejection(w.write(new Uint8Array(1)))).toBe(err);
    });
  });
}

testOn("a peer that resets mid-frame: the NetError passes through with its code", () => pair("tcp"), async ([a, b]) => {
  await a.write(enc.encode("abc"));
  a.setLinger(0);
  const r = new BufferedReader(b);
  await sleep(5);
  await a.close();
  const err = await rejection(r.readExactly(10));
  expect(err).toBeInstanceOf(NetError);
  expect((err as NetError).code).toBe("ECONNRESET");
});

testOn("bad arguments are RangeErrors before any read", () => pair("unix"), async ([, b]) => {
  expect(() => new BufferedReader(b, { size: 0 })).toThrow(RangeError);
  expect(() => new BufferedReader(b, { size: 100, maxSize: 50 })).toThrow(RangeError);
  const r = new BufferedReader(b, { maxSize: 1024 * 1024 });
  expect(await rejection(r.readExactly(-1))).toBeInstanceOf(RangeError);
  expect(await rejection(r.readUntil(""))).toBeInstanceOf(RangeError);
  expect(await rejection(r.readUntil(256))).toBeInstanceOf(RangeError);
  expect(await rejection(r.readUntil("\n", { max: 2 * 1024 * 1024 }))).toBeInstanceOf(RangeError);
});
