// PollFd.close() after the caller already closed the descriptor must not
// touch whatever now has that number (the kernel reuses numbers at once).
import { expect, test } from "bun:test";
import { type Conn, connect, type IpAddr, listen, pollFd } from "../../src/index.ts";
import { closeFd, expectClean, pipe } from "../_support/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

test("N-pollfd-reuse: p.close() after the caller closed its fd leaves the Conn that reuses the number working", async () => {
  const ln = listen({ port: 0, hostname: "127.0.0.1" });
  const port = (ln.addr as IpAddr).port;
  const [r, w] = pipe();
  const p = pollFd(r);
  // Wrong order on purpose: the caller closes first. The lowest free number
  // goes to the next socket: the dialer's.
  closeFd(r);
  closeFd(w);
  const conns: Conn[] = [];
  let reused: Conn | null = null;
  let peer: Conn | null = null;
  for (let i = 0; i < 8 && reused === null; i++) {
    const [c, s] = await Promise.all([connect({ hostname: "127.0.0.1", port }), ln.accept()]);
    conns.push(c, s);
    if (c.fd === r) [reused, peer] = [c, s];
    else if (s.fd === r) [reused, peer] = [s, c];
  }
  expect(reused).not.toBeNull();
  p.close();
  // The Conn now holding the number still hears its peer.
  reused!.setReadDeadline(Date.now() + 2000);
  const buf = new Uint8Array(16);
  const n = reused!.read(buf);
  await peer!.write(enc.encode("still here"));
  expect(await n).toBe(10);
  expect(dec.decode(buf.subarray(0, 10))).toBe("still here");
  for (const c of conns) await c.close();
  await ln.close();
  expectClean();
});

test("N-pollfd-reuse: p.close() before the caller closes still deregisters (the ordering the doc asks for)", async () => {
  const [r, w] = pipe();
  const p = pollFd(r);
  const waiting = p.waitReadable();
  p.close();
  await expect(waiting).rejects.toThrow("use of closed");
  closeFd(r);
  closeFd(w);
  expectClean();
});
