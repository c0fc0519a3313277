// epoll backend (Linux). Go: runtime/netpoll_epoll.go; mio: sys/unix/selector/epoll.rs.
import { C, E, platform } from "../../ffi/platform.ts";
import { errno, sys } from "../../ffi/libc.ts";
import { EVENTFD_COUNTER_SIZE, writeEpollEvent } from "../../ffi/layout.ts";
import { HUP, type Poller, PollerOpenError, READ, WAKE_SLOT, WRITE } from "./poller.ts";

const layout = platform.epollEvent;
const EINTR = E.EINTR!;
const EAGAIN = E.EAGAIN!;
const REGISTER_MASK = (C.EPOLLIN | C.EPOLLOUT | C.EPOLLRDHUP | C.EPOLLET) >>> 0;
const READ_MASK = C.EPOLLIN | C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR | C.EPOLLPRI;
const WRITE_MASK = C.EPOLLOUT | C.EPOLLHUP | C.EPOLLERR;
const HUP_MASK = C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR;

export class EpollPoller implements Poller {
  readonly name = "epoll";
  readonly registerSyscall = "epoll_ctl";
  readonly fd: number;
  readonly capacity: number;
  readonly #events: Uint8Array;
  readonly #view: DataView;
  readonly #ctl: Uint8Array;
  readonly #ctlView: DataView;
  readonly #wakefd: number;
  readonly #counter: Uint8Array;
  #wakePending = false;
  #closed = false;

  constructor(capacity = 256) {
    this.capacity = capacity;
    this.#events = new Uint8Array(new ArrayBuffer(layout.size * capacity));
    this.#view = new DataView(this.#events.buffer);
    this.#ctl = new Uint8Array(new ArrayBuffer(layout.size));
    this.#ctlView = new DataView(this.#ctl.buffer);
    this.#counter = new Uint8Array(new ArrayBuffer(EVENTFD_COUNTER_SIZE));
    const ep = sys.epoll_create1(C.EPOLL_CLOEXEC);
    if (ep < 0) throw new PollerOpenError("epoll_create1", errno());
    const wfd = sys.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
    if (wfd < 0) {
      const e = errno();
      sys.close(ep);
      throw new PollerOpenError("eventfd", e);
    }
    this.fd = ep;
    this.#wakefd = wfd;
    // The wake source is level-triggered for read only: it stays readable
    // until poll() drains the counter, so a wake is never lost.
    this.#setCtl(C.EPOLLIN, WAKE_SLOT, 0);
    if (sys.epoll_ctl(ep, C.EPOLL_CTL_ADD, wfd, this.#ctl) < 0) {
      const e = errno();
      sys.close(wfd);
      sys.close(ep);
      throw new PollerOpenError("epoll_ctl", e);
    }
  }

  #setCtl(mask: number, slot: number, gen: number): void {
    writeEpollEvent(this.#ctlView, 0, layout, mask, slot, gen);
  }

  register(fd: number, slot: number, gen: number): number {
    this.#setCtl(REGISTER_MASK, slot, gen);
    return sys.epoll_ctl(this.fd, C.EPOLL_CTL_ADD, fd, this.#ctl) < 0 ? errno() : 0;
  }

  deregister(fd: number): number {
    // Linux < 2.6.9 needed a non-null event for DEL; passing one is harmless.
    return sys.epoll_ctl(this.fd, C.EPOLL_CTL_DEL, fd, this.#ctl) < 0 ? errno() : 0;
  }

  poll(timeoutMs: number): number {
    const n = sys.epoll_wait(this.fd, this.#events, this.capacity, timeoutMs);
    if (n >= 0) {
      if (this.#wakePending) this.#drainWake(n);
      return n;
    }
    const e = errno();
    if (e === EINTR) return 0;
    throw new PollerOpenError("epoll_wait", e);
  }

  #drainWake(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.isWake(i)) {
        const r = sys.read(this.#wakefd, this.#counter, EVENTFD_COUNTER_SIZE);
        if (r >= 0 || errno() === EAGAIN) this.#wakePending = false;
        return;
      }
    }
  }

  slot(i: number): number {
    return this.#view.getUint32(i * layout.size + layout.data, true);
  }

  gen(i: number): number {
    return this.#view.getUint32(i * layout.size + layout.data + 4, true);
  }

  modes(i: number): number {
    const ev = this.#view.getUint32(i * layout.size + layout.events, true);
    return (ev & READ_MASK ? READ : 0) | (ev & WRITE_MASK ? WRITE : 0) | (ev & HUP_MASK ? HUP : 0);
  }

  isWake(i: number): boolean {
    return this.slot(i) === WAKE_SLOT;
  }

  wake(): void {
    if (this.#wakePending || this.#closed) return;
    this.#wakePending = true;
    const one = this.#counter;
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    sys.write(this.#wakefd, one, EVENTFD_COUNTER_SIZE);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sys.close(this.#wakefd);
    sys.close(this.fd);
  }
}
