// Linux constants shared by x86_64 and aarch64 (asm-generic numbering).
// Every key here exists in every other OS constants file (tested), with
// -1 for "this OS has no such thing".
import type { OsConstants } from "./types.ts";

export const linuxConstants: OsConstants = {
  // fcntl / open
  O_NONBLOCK: 0o4000,
  O_CLOEXEC: 0o2000000,
  F_GETFD: 1,
  F_SETFD: 2,
  F_GETFL: 3,
  F_SETFL: 4,
  FD_CLOEXEC: 1,

  // socket(2)
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOMAXCONN: 4096,

  // setsockopt levels and names
  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_TYPE: 3,
  SO_ERROR: 4,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_KEEPALIVE: 9,
  SO_LINGER: 13,
  // SO_LINGER itself takes seconds.
  SO_LINGER_SECONDS: 13,
  SO_REUSEPORT: 15,
  SO_NOSIGPIPE: -1,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPPROTO_IPV6: 41,
  TCP_NODELAY: 1,
  TCP_KEEPIDLE: 4,
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  IPV6_V6ONLY: 26,

  // shutdown(2), send/recv flags
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
  MSG_PEEK: 0x2,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
  MSG_NOSIGNAL: 0x4000,

  // descriptor passing and peer credentials (AF_UNIX)
  MSG_CTRUNC: 0x8,
  MSG_CMSG_CLOEXEC: 0x40000000,
  SCM_RIGHTS: 0x1,
  SO_ACCEPTCONN: 30,
  // getsockopt(SOL_SOCKET, SO_PEERCRED): struct ucred
  SO_PEERCRED: 17,
  SOL_LOCAL: -1,
  LOCAL_PEERCRED: -1,
  LOCAL_PEERPID: -1,

  // limits and struct sizes
  IOV_MAX: 1024,
  SUN_PATH_MAX: 108,
  /** Interface name buffer for if_indextoname, NUL included. */
  IF_NAMESIZE: 16,
  SOCKADDR_STORAGE_SIZE: 128,
  SOCKADDR_HAS_LEN: 0,
  RLIMIT_NOFILE: 7,

  // epoll / eventfd
  EPOLL_CLOEXEC: 0o2000000,
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLLIN: 0x001,
  EPOLLPRI: 0x002,
  EPOLLOUT: 0x004,
  EPOLLERR: 0x008,
  EPOLLHUP: 0x010,
  EPOLLRDHUP: 0x2000,
  EPOLLET: 0x80000000,
  EFD_CLOEXEC: 0o2000000,
  EFD_NONBLOCK: 0o4000,

  // kqueue: the numbers libkqueue uses on Linux (FreeBSD's)
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
  IOCB_CMD_POLL: 5,
  IOCB_FLAG_RESFD: 1,
  // poll(2) events (the same bits on Linux, macOS and FreeBSD)
  POLLIN: 0x001,
  POLLPRI: 0x002,
  POLLOUT: 0x004,
  POLLERR: 0x008,
  POLLHUP: 0x010,
  POLLNVAL: 0x020,
};
