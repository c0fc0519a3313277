// FreeBSD constants (sys/socket.h, sys/event.h, …). -1 marks what FreeBSD
// does not have (epoll, Linux AIO). EVFILT_USER is -11 here (macOS: -10).
import type { OsConstants } from "./types.ts";

export const freebsdConstants: OsConstants = {
  // fcntl / open
  O_NONBLOCK: 0x4,
  O_CLOEXEC: 0x100000,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  FD_CLOEXEC: 1,

  // socket(2)
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 28,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0x20000000,
  SOCK_CLOEXEC: 0x10000000,
  SOMAXCONN: 128,

  // setsockopt levels and names
  SOL_SOCKET: 0xffff,
  SO_REUSEADDR: 0x4,
  SO_TYPE: 0x1008,
  SO_ERROR: 0x1007,
  SO_SNDBUF: 0x1001,
  SO_RCVBUF: 0x1002,
  SO_KEEPALIVE: 0x8,
  SO_LINGER: 0x80,
  // SO_LINGER itself takes seconds.
  SO_LINGER_SECONDS: 0x80,
  SO_REUSEPORT: 0x200,
  SO_NOSIGPIPE: 0x800,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPPROTO_IPV6: 41,
  TCP_NODELAY: 1,
  TCP_KEEPIDLE: 256,
  TCP_KEEPINTVL: 512,
  TCP_KEEPCNT: 1024,
  IPV6_V6ONLY: 27,

  // shutdown(2), send/recv flags
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
  MSG_PEEK: 0x2,
  MSG_TRUNC: 0x10,
  MSG_DONTWAIT: 0x80,
  MSG_NOSIGNAL: 0x20000,

  // descriptor passing and peer credentials (AF_UNIX)
  MSG_CTRUNC: 0x20,
  MSG_CMSG_CLOEXEC: 0x40000,
  SCM_RIGHTS: 0x1,
  SO_ACCEPTCONN: 0x2,
  SO_PEERCRED: -1,
  // getsockopt(SOL_LOCAL, LOCAL_PEERCRED): struct xucred (cr_pid since FreeBSD 13)
  SOL_LOCAL: 0,
  LOCAL_PEERCRED: 0x1,
  LOCAL_PEERPID: -1,

  // limits and struct sizes
  IOV_MAX: 1024,
  SUN_PATH_MAX: 104,
  /** Interface name buffer for if_indextoname, NUL included. */
  IF_NAMESIZE: 16,
  SOCKADDR_STORAGE_SIZE: 128,
  SOCKADDR_HAS_LEN: 1,
  RLIMIT_NOFILE: 8,

  // epoll / eventfd
  EPOLL_CLOEXEC: -1,
  EPOLL_CTL_ADD: -1,
  EPOLL_CTL_DEL: -1,
  EPOLL_CTL_MOD: -1,
  EPOLLIN: -1,
  EPOLLPRI: -1,
  EPOLLOUT: -1,
  EPOLLERR: -1,
  EPOLLHUP: -1,
  EPOLLRDHUP: -1,
  EPOLLET: -1,
  EFD_CLOEXEC: -1,
  EFD_NONBLOCK: -1,

  // kqueue
  EVFILT_READ: -1,
  EVFILT_WRITE: -2,
  EVFILT_USER: -11,
  EV_ADD: 0x1,
  EV_DELETE: 0x2,
  EV_ENABLE: 0x4,
  EV_CLEAR: 0x20,
  EV_ERROR: 0x4000,
  EV_EOF: 0x8000,
  NOTE_TRIGGER: 0x01000000,

  // Linux AIO (IOCB_CMD_POLL bridge)
  IOCB_CMD_POLL: -1,
  IOCB_FLAG_RESFD: -1,
  // poll(2) events (the same bits on Linux, macOS and FreeBSD)
  POLLIN: 0x001,
  POLLPRI: 0x002,
  POLLOUT: 0x004,
  POLLERR: 0x008,
  POLLHUP: 0x010,
  POLLNVAL: 0x020,
};
