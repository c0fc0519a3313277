// raw-epoll: the FFI layer on its own, without the runtime.
//
// What bun-netpoll is built on, in one straight-line script: a non-blocking
// pipe (pipe2 O_NONBLOCK), an epoll instance, the pipe's read end registered
// edge-triggered using this platform's `struct epoll_event` layout (12 packed
// bytes on x86_64, 16 elsewhere: platform.epollEvent gives size and offsets),
// then "hello" written, epoll_wait, and a read loop that runs until EAGAIN —
// the edge-triggered contract: drain fully, or the next wait may never fire.
//
// This standalone script calls epoll_wait with a 1000 ms timeout, which
// blocks the thread for up to a second; fine here. The runtime itself never
// blocks the main thread: it polls with timeout 0 and lets a Worker sleep in
// the kernel for it (src/runtime/loop.ts, bridge.ts).
//
// FFI memory rule: every buffer handed to the kernel is
// `new Uint8Array(new ArrayBuffer(n))` (its own, non-moving backing store),
// held in a variable for as long as the kernel may use it.
//
// Try it:  bun examples/ffi/raw-epoll.ts
import { C, E, errno, errnoName, platform, sys } from "bun-netpoll/ffi";

function check(what: string, r: number): number {
  if (r < 0) {
    const e = errno(); // read at once: the next FFI call may overwrite it
    throw new Error(`${what}: ${errnoName(e)} (${e})`);
  }
  return r;
}
function maskNames(m: number): string {
  const names = ["EPOLLIN", "EPOLLPRI", "EPOLLOUT", "EPOLLERR", "EPOLLHUP", "EPOLLRDHUP"] as const;
  return names.filter((n) => m & C[n]).join("|") || "0";
}

// The pipe: fds[0] reads, fds[1] writes; both non-blocking and close-on-exec.
const fds = new Int32Array(new ArrayBuffer(8));
check("pipe2", sys.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC));
const [rfd, wfd] = [fds[0]!, fds[1]!];
const ep = check("epoll_create1", sys.epoll_create1(C.EPOLL_CLOEXEC));

// Register the read end: events = IN | RDHUP | ET, data.u64 = the fd (a cookie we get back).
const L = platform.epollEvent;
const ev = new Uint8Array(new ArrayBuffer(L.size));
const evView = new DataView(ev.buffer);
evView.setUint32(L.events, (C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLET) >>> 0, true);
evView.setBigUint64(L.data, BigInt(rfd), true);
check("epoll_ctl", sys.epoll_ctl(ep, C.EPOLL_CTL_ADD, rfd, ev));

const msg = new Uint8Array(new ArrayBuffer(5));
msg.set(new TextEncoder().encode("hello"));
check("write", sys.write(wfd, msg, msg.length));

const MAX_EVENTS = 8;
const events = new Uint8Array(new ArrayBuffer(L.size * MAX_EVENTS));
const eventsView = new DataView(events.buffer);
const buf = new Uint8Array(new ArrayBuffer(4)); // small on purpose: several reads before EAGAIN

function waitAndDrain(label: string, timeoutMs: number): void {
  let n: number;
  do n = sys.epoll_wait(ep, events, MAX_EVENTS, timeoutMs);
  while (n < 0 && errno() === E.EINTR);
  check("epoll_wait", n);
  console.log(`${label}: epoll_wait(timeout ${timeoutMs}) -> ${n} event(s)`);
  for (let i = 0; i < n; i++) {
    const mask = eventsView.getUint32(i * L.size + L.events, true);
    const fd = Number(eventsView.getBigUint64(i * L.size + L.data, true));
    let got = "";
    let reads = 0;
    let end = "EAGAIN";
    for (;;) {
      const r = sys.read(fd, buf, buf.length);
      if (r < 0) {
        const e = errno();
        if (e === E.EAGAIN) break; // drained: only now may we wait again
        if (e === E.EINTR) continue;
        check("read", r);
      }
      if (r === 0) {
        end = "EOF";
        break;
      }
      reads++;
      got += new TextDecoder().decode(buf.subarray(0, r));
    }
    console.log(`  fd ${fd} mask ${maskNames(mask)} (0x${mask.toString(16)}): read ${JSON.stringify(got)} in ${reads} read(s), then ${end}`);
  }
}

waitAndDrain("after write", 1000);
// Edge-triggered: nothing new arrived, so there is no new edge to report.
waitAndDrain("again", 0);
// Closing the write end is a new edge: HUP, and read returns 0 (EOF).
sys.close(wfd);
waitAndDrain("after closing the write end", 1000);

sys.close(rfd);
sys.close(ep);
