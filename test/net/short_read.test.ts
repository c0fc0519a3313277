// A short read does not mean the socket is drained: the kernel ends a read
// early with bytes still queued (TCP urgent mark, an AF_UNIX message that
// carried descriptors, a change of writer under SO_PASSCRED). With
// edge-triggered readiness those bytes raise no new edge, so the next read
// must try the syscall before it parks.
import { expect, test } from "bun:test";
import { errno, sys } from "../../ffi/libc.ts";
import { CMSGHDR, cmsgSpace, IoVecs, writeCmsg } from "../../ffi/iovec.ts";
import { C, platform } from "../../ffi/platform.ts";
import { type Conn, DeadlineExceededError, runtimeStats } from "../../src/index.ts";
import { connPairs, sleep, testOn } from "../_support/index.ts";

const { pair } = connPairs();
const enc = new TextEncoder();
const dec = new TextDecoder();
const linux = platform.os === "linux";
// Socket-level numbers these tests need beyond the runtime's own table
// (the same on Linux, FreeBSD and macOS except SO_PASSCRED, Linux-only).
const MSG_OOB = 0x1;
const SCM_RIGHTS = 0x1;
const SO_PASSCRED_LINUX = 16;

/**
 * Reads until want bytes arrived (the peer sends nothing more); fails on the
 * read deadline. The first read is already parked (started before the bytes
 * were sent), so every byte comes in with the one edge that resumes it.
 */
async function readExactly(c: Conn, first: Promise<number | null>, buf: Uint8Array, want: number): Promise<{ text: string; reads: number[] }> {
  c.setReadDeadline(Date.now() + 2000);
  let text = "";
  const reads: number[] = [];
  while (text.length < want) {
    const n = reads.length === 0 ? await first : await c.read(buf);
    if (n === null) throw new Error("unexpected EOF");
    reads.push(n);
    text += dec.decode(buf.subarray(0, n));
  }
  c.setReadDeadline(null);
  return { text, reads };
}

function rawSend(fd: number, s: string, flags: number): void {
  const b = new Uint8Array(new ArrayBuffer(s.length));
  b.set(enc.encode(s));
  const n = sys.send(fd, b, b.length, flags);
  if (n !== b.length) throw new Error(`send: ${n} (errno ${errno()})`);
}

testOn("C-short-read: TCP in-band bytes after the urgent mark arrive without more traffic; the urgent byte stays out of band; no spin", () => pair("tcp"), async ([a, b]) => {
  const buf = new Uint8Array(64);
  const first = b.read(buf);
  await sleep(10);
  // In-band A, the urgent byte, in-band B, in one synchronous block.
  rawSend(a.fd, "AAAA", 0);
  rawSend(a.fd, "U", MSG_OOB);
  rawSend(a.fd, "BBBB", 0);
  const got = await readExactly(b, first, buf, 8);
  // The urgent byte never shows in-band (SO_OOBINLINE is off).
  expect(got.text).toBe("AAAABBBB");
  // The kernel stops at the mark: the first read is short.
  expect(got.reads).toEqual([4, 4]);
  // With urgent data seen, a parked read does not make the loop spin.
  const before = runtimeStats().loop.drains;
  const parked = b.read(new Uint8Array(8));
  await sleep(200);
  const drains = runtimeStats().loop.drains - before;
  expect(drains).toBeLessThan(50);
  await a.write(enc.encode("C"));
  expect(await parked).toBe(1);
});

testOn.skipIf(!linux)("C-short-read: AF_UNIX stream read stops after a message with SCM_RIGHTS; the next message still arrives", () => pair("unix"), async ([a, b]) => {
  const buf = new Uint8Array(64);
  const first = b.read(buf);
  await sleep(10);
  // Message 1 "AB" carries a descriptor (a dup of a's own fd), message 2 "CD" does not.
  const vecs = new IoVecs(1);
  const data = new Uint8Array(new ArrayBuffer(2));
  data.set(enc.encode("AB"));
  vecs.set(0, data, 0, 2);
  const space = cmsgSpace(4);
  const control = new Uint8Array(new ArrayBuffer(space));
  const at = writeCmsg(control, 0, C.SOL_SOCKET, SCM_RIGHTS, 4);
  const passed = sys.dup(a.fd);
  new DataView(control.buffer).setInt32(at, passed, true);
  expect(CMSGHDR.data + 4).toBeLessThanOrEqual(space);
  const n = sys.sendmsg(a.fd, vecs.header(1, control, space), 0);
  sys.close(passed); // the kernel holds its own reference in flight
  expect(n).toBe(2);
  await a.write(enc.encode("CD"));
  const got = await readExactly(b, first, buf, 4);
  expect(got.text).toBe("ABCD");
  expect(got.reads).toEqual([2, 2]);
});

testOn.skipIf(!linux)("C-short-read: AF_UNIX stream with SO_PASSCRED reads stop at a change of writer; the second writer's bytes arrive", () => pair("unix"), async ([a, b]) => {
  const on = new Int32Array(new ArrayBuffer(4));
  on[0] = 1;
  expect(sys.setsockopt(b.fd, C.SOL_SOCKET, SO_PASSCRED_LINUX, on, 4)).toBe(0);
  const buf = new Uint8Array(64);
  const first = b.read(buf);
  await sleep(10);
  // Both writers' bytes land before the loop's next drain (spawnSync holds
  // the main thread): one edge for both. The second writer is another process.
  const wrote = a.write(enc.encode("AB"));
  const child = Bun.spawnSync(["sh", "-c", "printf CD"], { stdout: a.fd, stderr: "inherit" });
  expect(child.exitCode).toBe(0);
  expect(await wrote).toBe(2);
  const got = await readExactly(b, first, buf, 4);
  expect(got.text).toBe("ABCD");
  expect(got.reads).toEqual([2, 2]);
});

testOn("C-short-read: a read deadline still fails a read that finds nothing", () => pair("tcp"), async ([a, b]) => {
  await a.write(enc.encode("xy"));
  await sleep(20);
  const buf = new Uint8Array(64);
  expect(await b.read(buf)).toBe(2);
  b.setReadDeadline(Date.now() + 30);
  await expect(b.read(buf)).rejects.toBeInstanceOf(DeadlineExceededError);
});
