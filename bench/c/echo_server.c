// C reference echo server: single-threaded, epoll edge-triggered, non-blocking.
//
//   echo_server PORT [HOST]
//
// One shared 64 KiB read buffer; per-connection state is a small slot in a
// table indexed by fd, plus a heap buffer only while a write is short (the
// unsent tail). While a tail is pending the connection is not read (back
// pressure); the EPOLLOUT edge flushes it and reading resumes. Prints
// "c-epoll echo listening on HOST:PORT" once listening; SIGUSR2 prints
// "HEAP 0" (no managed heap) for the bench's idle scenario.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
  char *pend;   // unsent bytes (NULL when none)
  size_t len;   // bytes in pend
  size_t off;   // bytes of pend already sent
};

static struct conn *conns;
static int maxfd;
static char buf[65536];
static volatile sig_atomic_t heap_req;

static void on_usr2(int sig) { (void)sig; heap_req = 1; }

static void drop(int ep, int fd) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  free(conns[fd].pend);
  conns[fd].pend = NULL;
  conns[fd].len = conns[fd].off = 0;
}

// Flushes the pending tail. 1: all sent; 0: would block; -1: error.
static int flush(int fd) {
  struct conn *c = &conns[fd];
  while (c->off < c->len) {
    ssize_t n = send(fd, c->pend + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n > 0) { c->off += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    return -1;
  }
  free(c->pend);
  c->pend = NULL;
  c->len = c->off = 0;
  return 1;
}

static void serve(int ep, int fd) {
  for (;;) {
    if (conns[fd].pend) {
      int r = flush(fd);
      if (r < 0) { drop(ep, fd); return; }
      if (r == 0) return;  // wait for EPOLLOUT
    }
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      drop(ep, fd);
      return;
    }
    if (n == 0) { drop(ep, fd); return; }
    size_t off = 0;
    while (off < (size_t)n) {
      ssize_t w = send(fd, buf + off, (size_t)n - off, MSG_NOSIGNAL);
      if (w > 0) { off += (size_t)w; continue; }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) break;
      drop(ep, fd);
      return;
    }
    if (off < (size_t)n) {
      struct conn *c = &conns[fd];
      c->len = (size_t)n - off;
      c->off = 0;
      c->pend = malloc(c->len);
      if (!c->pend) { drop(ep, fd); return; }
      memcpy(c->pend, buf + off, c->len);
    }
  }
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7000;
  const char *host = argc > 2 ? argv[2] : "127.0.0.1";
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  maxfd = (int)rl.rlim_cur;
  conns = calloc((size_t)maxfd, sizeof *conns);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, NULL);

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, host, &a.sin_addr);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) {
    perror("bind/listen");
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  printf("c-epoll echo listening on %s:%d\n", host, port);
  fflush(stdout);

  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno != EINTR) { perror("epoll_wait"); return 1; }
      if (heap_req) { heap_req = 0; printf("HEAP 0\n"); fflush(stdout); }
      continue;
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        for (;;) {
          int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            break;  // EAGAIN, or EMFILE (the next edge retries)
          }
          if (c >= maxfd) { close(c); continue; }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
          serve(ep, c);
        }
        continue;
      }
      serve(ep, fd);
    }
  }
}
