// The path from an event's socket error to the operation: kqueue reports it
// in the event (fflags with EV_EOF) and libkqueue clears SO_ERROR doing so, so
// the retried syscall sees only EOF or EAGAIN. The drain records it on the
// pollDesc; the next read that sees EOF or EAGAIN throws it, once.
import { afterEach, describe, expect, test } from "bun:test";
import { errno, setNonblockCloexec, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { NetError } from "../../src/errors.ts";
import { FD } from "../../src/runtime/fd.ts";
import { PollDesc } from "../../src/runtime/poll_desc.ts";
import { closeFd, expectClean, rejection, settlement, tick } from "../_support/index.ts";

const raw: number[] = [];
const fds: FD[] = [];
afterEach(async () => {
  for (const f of fds.splice(0)) if (!f.closing) await f.close();
  for (const fd of raw.splice(0)) closeFd(fd);
});

function socketpair(): [number, number] {
  const sv = new Int32Array(new ArrayBuffer(8));
  if (sys.socketpair(C.AF_UNIX, C.SOCK_STREAM, 0, sv) !== 0) throw new Error(`socketpair failed: errno ${errno()}`);
  return [sv[0]!, sv[1]!];
}

function fdOver(s: number): FD {
  const fd = new FD(s, { socket: true, owned: true, ctx: { net: "unix", address: "pair" } });
  fds.push(fd);
  return fd;
}

describe("socket errors carried by events", () => {
  test("noteSocketError keeps a nonzero error until taken; 0 never clears it", () => {
    const pd = new PollDesc(-1);
    expect(pd.takeSocketError()).toBe(0);
    pd.noteSocketError(E.ECONNRESET!);
    pd.noteSocketError(0);
    expect(pd.socketError).toBe(E.ECONNRESET!);
    expect(pd.takeSocketError()).toBe(E.ECONNRESET!);
    expect(pd.takeSocketError()).toBe(0);
  });

  test("a read that sees EOF throws the recorded error (code, syscall, op), once; the next read is EOF", async () => {
    const [a, b] = socketpair();
    raw.push(b);
    setNonblockCloexec(a);
    const fd = fdOver(a);
    fd.pd.noteSocketError(E.ECONNRESET!);
    raw.splice(raw.indexOf(b), 1);
    closeFd(b);
    const buf = new Uint8Array(new ArrayBuffer(16));
    const err = await rejection(fd.read(buf));
    expect(err).toBeInstanceOf(NetError);
    expect((err as NetError).code).toBe("ECONNRESET");
    expect((err as NetError).syscall).toBe("read");
    expect((err as NetError).op).toBe("read");
    expect(await fd.read(buf)).toBeNull();
    await fd.close();
    await tick();
    expectClean();
  });

  test("a parked read (EAGAIN) is failed by an error that arrives with its wakeup", async () => {
    const [a, b] = socketpair();
    raw.push(b);
    setNonblockCloexec(a);
    const fd = fdOver(a);
    const buf = new Uint8Array(new ArrayBuffer(16));
    const p = settlement(fd.read(buf));
    await tick();
    expect(p.settled).toBe(false);
    // What the drain does for an event with an error: record it, wake the reader.
    fd.pd.noteSocketError(E.ECONNREFUSED!);
    fd.pd.ready(fd.pd.r);
    const err = await rejection(p.p);
    expect(err).toBeInstanceOf(NetError);
    expect((err as NetError).code).toBe("ECONNREFUSED");
    await fd.close();
    await tick();
    expectClean();
  });
});
