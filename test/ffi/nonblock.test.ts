// O_NONBLOCK must stick wherever the runtime sets it: a blocking socket
// freezes the loop on its first read. Checked with F_GETFL on this platform's
// own binding, and the failure path with stand-in fcntl functions.
import { afterEach, describe, expect, test } from "bun:test";
import { errno, FdFlagError, setFdFlags, setNonblockCloexec, sys } from "../../ffi/libc.ts";
import { C, E } from "../../ffi/platform.ts";
import { connect, connectDatagram, type IpAddr, listen, listenDatagram } from "../../src/index.ts";
import { closeFd, expectClean, thrown, tick } from "../_support/index.ts";

const raw: number[] = [];
afterEach(() => {
  for (const fd of raw.splice(0)) closeFd(fd);
});

function blockingPipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (sys.pipe(fds) !== 0) throw new Error(`pipe failed: errno ${errno()}`);
  raw.push(fds[0]!, fds[1]!);
  return [fds[0]!, fds[1]!];
}

const flags = (fd: number) => sys.fcntl(fd, C.F_GETFL, 0);
const fdFlags = (fd: number) => sys.fcntl(fd, C.F_GETFD, 0);

describe("O_NONBLOCK sticks", () => {
  test("setNonblockCloexec on a blocking pipe: F_GETFL has O_NONBLOCK, F_GETFD has FD_CLOEXEC, a read says EAGAIN", () => {
    const [r, w] = blockingPipe();
    expect(flags(r) & C.O_NONBLOCK).toBe(0);
    expect(fdFlags(r) & C.FD_CLOEXEC).toBe(0);
    setNonblockCloexec(r);
    setNonblockCloexec(w);
    expect(flags(r) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
    expect(flags(w) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
    expect(fdFlags(r) & C.FD_CLOEXEC).toBe(C.FD_CLOEXEC);
    // If the flag had not stuck, this read would block the thread for ever.
    const buf = new Uint8Array(new ArrayBuffer(8));
    expect(sys.read(r, buf, 8)).toBe(-1);
    expect(errno()).toBe(E.EAGAIN!);
  });

  test("every socket the runtime opens is non-blocking: listener, dialled and accepted conns, UDP", async () => {
    const ln = listen({ port: 0, hostname: "127.0.0.1" });
    const port = (ln.addr as IpAddr).port;
    const [c, s] = await Promise.all([connect({ port, hostname: "127.0.0.1" }), ln.accept()]);
    const u = listenDatagram({ port: 0, hostname: "127.0.0.1" });
    const cu = await connectDatagram({ port: (u.localAddr as IpAddr).port, hostname: "127.0.0.1" });
    for (const fd of [ln.fd, c.fd, s.fd, u.fd, cu.fd]) {
      expect(flags(fd) & C.O_NONBLOCK).toBe(C.O_NONBLOCK);
      expect(fdFlags(fd) & C.FD_CLOEXEC).toBe(C.FD_CLOEXEC);
    }
    await Promise.all([c.close(), s.close(), ln.close(), u.close(), cu.close()]);
    await tick();
    expectClean();
  });
});

describe("a flag that does not stick fails loudly", () => {
  test("fcntl says success but F_GETFL shows no O_NONBLOCK: FdFlagError ERR_FLAG_NOT_SET", () => {
    const [r] = blockingPipe();
    // A binding whose F_SETFL value goes nowhere (the Apple arm64 trap): the
    // call returns 0, the flag stays off.
    const lost = (fd: number, cmd: number, arg: number) => (cmd === C.F_SETFL ? 0 : sys.fcntl(fd, cmd, arg));
    const err = thrown(() => setFdFlags(lost, r, C.O_NONBLOCK));
    expect(err).toBeInstanceOf(FdFlagError);
    expect((err as FdFlagError).code).toBe("ERR_FLAG_NOT_SET");
    expect((err as FdFlagError).flag).toBe("O_NONBLOCK");
    expect((err as FdFlagError).syscall).toBe("fcntl");
    expect((err as FdFlagError).fd).toBe(r);
    expect(flags(r) & C.O_NONBLOCK).toBe(0);
  });

  test("FD_CLOEXEC lost the same way: FdFlagError for FD_CLOEXEC", () => {
    const [r] = blockingPipe();
    const lost = (fd: number, cmd: number, arg: number) => (cmd === C.F_SETFD ? 0 : sys.fcntl(fd, cmd, arg));
    expect(() => setFdFlags(lost, r, C.O_CLOEXEC)).toThrow(FdFlagError);
    expect(() => setFdFlags(lost, r, C.O_CLOEXEC)).toThrow("FD_CLOEXEC");
  });

  test("fcntl failing: FdFlagError with the errno name (EBADF on a closed fd)", () => {
    const [r] = blockingPipe();
    raw.splice(raw.indexOf(r), 1);
    closeFd(r);
    const err = thrown(() => setFdFlags(sys.fcntl, r, C.O_NONBLOCK | C.O_CLOEXEC));
    expect(err).toBeInstanceOf(FdFlagError);
    expect((err as FdFlagError).code).toBe("EBADF");
  });
});
