// C epoll load generator for the echo scenarios (one thread; pin it with taskset).
//
//   echo_client --port P [--host 127.0.0.1] --mode ping|bulk|idle --conns N
//               [--size 64] [--warmup 1] [--duration 3] [--server-pid PID]
//               [--idle-ping 1] [--pace-us 0]
//
// ping: N connections, each keeps exactly one SIZE-byte message in flight
//       (send, wait for all SIZE bytes back, send again). Latency = send to
//       last byte back, in a 0.1 µs histogram. With --pace-us P each
//       connection waits P µs after its echo before sending the next message
//       (first sends staggered over P), so a lightly loaded server finds its
//       loop idle at every message.
// bulk: N connections, each writes a SIZE-byte block (default 64 KiB) and
//       reads it all back before the next block; throughput = echoed bytes/s.
// idle: opens N connections at most 256 at a time (with --idle-ping 1 each
//       one sends 1 byte and waits for the echo, so the server has accepted
//       and served it), prints "READY <n> <ms>" and holds them until stdin
//       reaches EOF, then resets them all (SO_LINGER 0: no TIME_WAIT).
//
// ping/bulk run WARMUP seconds, then a DURATION-second window; counters,
// the histogram, the client's own CPU (getrusage) and the server's CPU
// (/proc/PID/stat utime+stime, and the sum of /proc/PID/task/*/schedstat)
// are sampled exactly at the window's edges. One JSON line on stdout.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIST_BUCKETS 2000000 /* 0.1 µs buckets up to 200 ms */

struct conn {
  int fd;
  int state;        /* idle mode: 0 connecting, 1 pinging, 2 done */
  size_t sent;      /* bytes of the current message/block written */
  size_t got;       /* bytes of the current message/block read back */
  uint64_t t0;      /* send time of the current message/block, ns */
  uint64_t due;     /* paced ping: when to send the next message (0: not waiting) */
};

static const char *host = "127.0.0.1";
static int port = 0, nconns = 1, size = 64, server_pid = 0, idle_ping = 1;
static double warmup = 1, duration = 3, pace_us = 0;
static const char *mode = "ping";
static uint32_t *hist;
static uint64_t hist_over, hist_n;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "echo_client: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void record(uint64_t ns) {
  uint64_t b = ns / 100;
  if (b >= HIST_BUCKETS) hist_over++;
  else hist[b]++;
  hist_n++;
}

static double pct(double q) {
  if (hist_n == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)hist_n);
  if (want == 0) want = 1;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < HIST_BUCKETS; i++) {
    acc += hist[i];
    if (acc >= want) return (double)i / 10.0;
  }
  return HIST_BUCKETS / 10.0;
}

/* Server CPU: utime+stime ticks from /proc/PID/stat (seconds). */
static double server_cpu_stat(void) {
  if (!server_pid) return 0;
  char path[64], b[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", server_pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return -1;
  b[n] = 0;
  char *p = strrchr(b, ')');
  if (!p) return -1;
  /* after ") " : field 3 is state; utime is field 14, stime 15 */
  p += 2;
  int field = 3;
  unsigned long long ut = 0, st = 0;
  char *save = NULL;
  for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
    if (field == 14) ut = strtoull(tok, NULL, 10);
    if (field == 15) { st = strtoull(tok, NULL, 10); break; }
  }
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Server CPU: sum of per-thread schedstat run time (ns precision), seconds. */
static double server_cpu_sched(void) {
  if (!server_pid) return 0;
  char path[320], b[256];
  snprintf(path, sizeof path, "/proc/%d/task", server_pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  double total = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", server_pid, e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n <= 0) continue;
    b[n] = 0;
    total += (double)strtoull(b, NULL, 10) / 1e9;
  }
  closedir(d);
  return total;
}

/* Whole machine: idle CPU seconds (idle + iowait) from the aggregate line of
   /proc/stat. Idle time there is exact (NO_HZ idle accounting), while the
   busy fields are tick samples, so busy = wall x CPUs - idle. */
static double machine_idle(void) {
  char b[512];
  int fd = open("/proc/stat", O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  if (n <= 0) return -1;
  b[n] = 0;
  unsigned long long v[5] = {0};
  if (sscanf(b, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]) < 5) return -1;
  return (double)(v[3] + v[4]) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static struct sockaddr_in addr;

static int open_socket(int nonblock_connect) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock_connect ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  if (r < 0 && !(nonblock_connect && errno == EINPROGRESS)) die("connect");
  if (!nonblock_connect) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void reset_close(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

/* ------------------------------------------------------------------ idle */

static int run_idle(void) {
  struct conn *cs = calloc((size_t)nconns, sizeof *cs);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event evs[512];
  int next = 0, inflight = 0, done = 0, retries = 0;
  uint64_t t0 = now_ns();
  char b[64];
  while (done < nconns) {
    while (inflight < 256 && next < nconns) {
      struct conn *c = &cs[next];
      c->fd = open_socket(1);
      c->state = 0;
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)next};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
      next++;
      inflight++;
    }
    int n = epoll_wait(ep, evs, 512, 1000);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    if (now_ns() - t0 > 120ull * 1000000000ull) { errno = ETIMEDOUT; die("idle connect"); }
    for (int i = 0; i < n; i++) {
      int k = (int)evs[i].data.u32;
      struct conn *c = &cs[k];
      if (c->state == 0) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err != 0) {
          /* refused / reset (backlog overflow): retry this slot */
          if (++retries > 1000) { errno = err; die("idle connect retries"); }
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd);
          c->fd = open_socket(1);
          struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)k};
          epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
          continue;
        }
        if (!idle_ping) {
          c->state = 2;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          inflight--;
          done++;
          continue;
        }
        c->state = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)k};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        if (send(c->fd, "x", 1, MSG_NOSIGNAL) != 1) die("idle ping send");
        continue;
      }
      if (c->state == 1) {
        ssize_t r = read(c->fd, b, sizeof b);
        if (r > 0) {
          c->state = 2;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          inflight--;
          done++;
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          errno = r == 0 ? ECONNRESET : errno;
          die("idle ping read");
        }
      }
    }
  }
  printf("READY %d %.0f %d\n", done, (double)(now_ns() - t0) / 1e6, retries);
  fflush(stdout);
  /* hold until stdin closes */
  while (read(0, b, sizeof b) > 0) {
  }
  for (int i = 0; i < nconns; i++) reset_close(cs[i].fd);
  return 0;
}

/* ------------------------------------------------------------ ping / bulk */

static int run_load(int bulk) {
  struct conn *cs = calloc((size_t)nconns, sizeof *cs);
  char *out = malloc((size_t)size);
  memset(out, 'x', (size_t)size);
  size_t inbuf = bulk ? 65536 : 4096;
  char *in = malloc(inbuf);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < nconns; i++) {
    cs[i].fd = open_socket(0);
    struct epoll_event ev = {.events = bulk ? (EPOLLIN | EPOLLOUT | EPOLLET) : EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
  }
  uint64_t msgs = 0, bytes = 0, total_msgs = 0;
  uint64_t start = now_ns();
  uint64_t wend = start + (uint64_t)(warmup * 1e9);
  uint64_t end = wend + (uint64_t)(duration * 1e9);
  int in_window = warmup <= 0;
  double scpu0 = 0, ssch0 = 0, ccpu0 = 0, mb0 = 0;
  uint64_t t_begin = start;
  if (in_window) { scpu0 = server_cpu_stat(); ssch0 = server_cpu_sched(); ccpu0 = self_cpu(); mb0 = machine_idle(); }
  uint64_t pace_ns = (uint64_t)(pace_us * 1000);
  /* kick off: one message/block per connection (paced: staggered over one pace) */
  for (int i = 0; i < nconns; i++) {
    struct conn *c = &cs[i];
    c->t0 = now_ns();
    if (pace_ns && !bulk) {
      c->due = start + 1 + pace_ns * (uint64_t)i / (uint64_t)nconns;
      continue;
    }
    if (!bulk) {
      if (send(c->fd, out, (size_t)size, MSG_NOSIGNAL) != size) die("send");
      c->sent = (size_t)size;
    }
  }
  struct epoll_event evs[1024];
  for (;;) {
    uint64_t t = now_ns();
    if (!in_window && t >= wend) {
      in_window = 1;
      msgs = bytes = 0;
      memset(hist, 0, HIST_BUCKETS * sizeof *hist);
      hist_n = hist_over = 0;
      scpu0 = server_cpu_stat();
      ssch0 = server_cpu_sched();
      ccpu0 = self_cpu();
      mb0 = machine_idle();
      t_begin = now_ns();
    }
    if (t >= end) break;
    struct timespec tmo = {0, 10000000};
    if (pace_ns) {
      uint64_t next = t + 10000000ull;
      for (int i = 0; i < nconns; i++) {
        struct conn *c = &cs[i];
        if (!c->due) continue;
        if (c->due <= t) {
          c->due = 0;
          c->t0 = now_ns();
          if (send(c->fd, out, (size_t)size, MSG_NOSIGNAL) != size) die("send");
        } else if (c->due < next) {
          next = c->due;
        }
      }
      uint64_t wait = next - t;
      tmo.tv_sec = (time_t)(wait / 1000000000ull);
      tmo.tv_nsec = (long)(wait % 1000000000ull);
    }
    int n = epoll_pwait2(ep, evs, 1024, &tmo, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = &cs[evs[i].data.u32];
      if (!bulk) {
        ssize_t r = read(c->fd, in, inbuf);
        if (r < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          die("read");
        }
        if (r == 0) { errno = ECONNRESET; die("read: server closed"); }
        c->got += (size_t)r;
        bytes += (uint64_t)r;
        if (c->got >= (size_t)size) {
          uint64_t tn = now_ns();
          record(tn - c->t0);
          msgs++;
          total_msgs++;
          c->got -= (size_t)size;
          if (pace_ns) {
            c->due = tn + pace_ns;
            continue;
          }
          c->t0 = tn;
          if (send(c->fd, out, (size_t)size, MSG_NOSIGNAL) != size) die("send");
        }
        continue;
      }
      /* bulk: edge-triggered, progress both directions until EAGAIN */
      for (;;) {
        int progress = 0;
        while (c->sent < (size_t)size) {
          ssize_t w = send(c->fd, out + c->sent, (size_t)size - c->sent, MSG_NOSIGNAL);
          if (w > 0) { c->sent += (size_t)w; progress = 1; continue; }
          if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
          die("bulk send");
        }
        for (;;) {
          ssize_t r = read(c->fd, in, inbuf);
          if (r > 0) {
            c->got += (size_t)r;
            bytes += (uint64_t)r;
            progress = 1;
            if (c->got >= (size_t)size && c->sent >= (size_t)size) break;
            continue;
          }
          if (r == 0) { errno = ECONNRESET; die("bulk read: server closed"); }
          if (errno == EAGAIN || errno == EINTR) break;
          die("bulk read");
        }
        if (c->got >= (size_t)size && c->sent >= (size_t)size) {
          uint64_t tn = now_ns();
          record(tn - c->t0);
          msgs++;
          total_msgs++;
          c->got -= (size_t)size;
          c->sent = 0;
          c->t0 = tn;
          continue; /* start the next block at once */
        }
        if (!progress) break;
      }
    }
  }
  double scpu1 = server_cpu_stat(), ssch1 = server_cpu_sched(), ccpu1 = self_cpu(), mb1 = machine_idle();
  double secs = (double)(now_ns() - t_begin) / 1e9;
  printf("{\"mode\":\"%s\",\"conns\":%d,\"size\":%d,\"seconds\":%.4f,\"ops\":%llu,\"bytes\":%llu,"
         "\"ops_per_s\":%.1f,\"mb_per_s\":%.2f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
         "\"pace_us\":%.0f,\"over_200ms\":%llu,\"server_cpu_s\":%.3f,\"server_cpu_sched_s\":%.4f,\"client_cpu_s\":%.3f,"
         "\"machine_idle_s\":%.3f,\"ncpu\":%ld,\"total_ops\":%llu}\n",
         bulk ? "bulk" : "ping", nconns, size, secs, (unsigned long long)msgs, (unsigned long long)bytes,
         (double)msgs / secs, (double)bytes / secs / 1e6, pct(0.5), pct(0.99), pct(0.999),
         pace_us, (unsigned long long)hist_over, scpu1 - scpu0, ssch1 - ssch0, ccpu1 - ccpu0, mb1 - mb0, sysconf(_SC_NPROCESSORS_ONLN), (unsigned long long)total_msgs);
  fflush(stdout);
  for (int i = 0; i < nconns; i++) close(cs[i].fd);
  return 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--host")) host = v;
    else if (!strcmp(k, "--mode")) mode = v;
    else if (!strcmp(k, "--conns")) nconns = atoi(v);
    else if (!strcmp(k, "--size")) size = atoi(v);
    else if (!strcmp(k, "--warmup")) warmup = atof(v);
    else if (!strcmp(k, "--duration")) duration = atof(v);
    else if (!strcmp(k, "--server-pid")) server_pid = atoi(v);
    else if (!strcmp(k, "--idle-ping")) idle_ping = atoi(v);
    else if (!strcmp(k, "--pace-us")) pace_us = atof(v);
    else { fprintf(stderr, "echo_client: unknown option %s\n", k); return 2; }
  }
  if (!port || nconns < 1 || size < 1) { fprintf(stderr, "echo_client: need --port, --conns >= 1, --size >= 1\n"); return 2; }
  signal(SIGPIPE, SIG_IGN);
  /* Paced sends must not be late by the default 50 µs timer slack. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "echo_client: bad host\n"); return 2; }
  if (!strcmp(mode, "idle")) return run_idle();
  hist = calloc(HIST_BUCKETS, sizeof *hist);
  if (!strcmp(mode, "ping")) return run_load(0);
  if (!strcmp(mode, "bulk")) return run_load(1);
  fprintf(stderr, "echo_client: unknown mode %s\n", mode);
  return 2;
}
