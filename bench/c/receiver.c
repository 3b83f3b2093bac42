/*
 * The benchmark's receiver: one UDP socket on 127.0.0.1 drained with recvmmsg, in a
 * process of its own, counting datagrams and bytes. Its receive buffer is made large
 * (SO_RCVBUFFORCE where allowed, as root; else SO_RCVBUF, capped by net.core.rmem_max)
 * so that a burst never overflows it; the kernel's own drop counter for the socket
 * (SO_MEMINFO, else SO_RXQ_OVFL) tells whether one did.
 *
 *   receiver [--rcvbuf=BYTES] [--max-seconds=N] [--pace-us=N]
 *
 * While datagrams keep coming it drains the socket, then sleeps --pace-us (default 500)
 * before draining again, rather than sleeping in poll until the next datagram: a
 * receiver woken for every datagram preempts the sender about once every three
 * datagrams on a 2-core machine (each wake-up a context switch on the sender's CPU),
 * and the benchmark is about the sender. At 500 µs the queue holds at most a few
 * thousand datagrams, far below the receive buffer. --pace-us=0 wakes per datagram.
 *
 * Prints "ready <port> <rcvbuf bytes> <forced 0|1>" on stdout, then answers commands read
 * line by line on stdin:
 *   count          -> "count <datagrams> <bytes> <wrong size> <drops> <cpu µs> <monotonic µs>"
 *   expect <size>  -> "ok" (datagrams of another size count as wrong from now on; 0: any)
 *   quit           -> exits
 * It exits too when stdin closes (the bench went away) or after --max-seconds (default
 * 900): every loop here is bounded by that alarm.
 *
 * The receive benchmark's C receivers (the limits of a receiving program) are a second
 * mode, one measurement per process:
 *
 *   receiver --once=recvmsg|recvmmsg [--rcvbuf=BYTES] [--batch=N] [--wait-ms=N] [--idle-ms=N] SIZE...
 *
 * It makes one socket on 127.0.0.1 with SO_RCVBUF = BYTES (plain SO_RCVBUF, capped by
 * net.core.rmem_max, as the JavaScript receivers get it; default the kernel's), prints
 * "ready <port> <rcvbuf bytes>", then receives in a blocking loop, each datagram scattered
 * over one iovec per SIZE (the benchmark's shape): one recvmsg(2) per datagram, or
 * recvmmsg(2) of up to --batch (default 64) with MSG_WAITFORONE. It waits --wait-ms
 * (default 5000) for the first datagram, then stops once none came for --idle-ms (default
 * 20; SO_RCVTIMEO), and prints one line:
 *   received <datagrams> <bytes> <wrong size> <drops> <first ns> <last ns> <first batch> <cpu µs> <calls>
 * first/last: CLOCK_MONOTONIC when the first and the last call that got datagrams
 * returned; first batch: the datagrams that first call got; drops: SO_MEMINFO's count for
 * the socket (the kernel dropped them, its receive buffer full); cpu: user + system time
 * from "ready" to the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define BATCH 256      /* datagrams per recvmmsg */
#define SLOT 2048      /* bytes per datagram slot: the bench sends at most 1400 */
#define DRAIN_CALLS 64 /* recvmmsg calls per wake-up before stdin is looked at again */

static uint64_t datagrams, bytes, wrong;
static uint32_t ovfl_drops; /* SO_RXQ_OVFL: the drop count carried by the latest datagram */
static long expected = 0;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static uint64_t drops_of(int fd) {
#if defined(SO_MEMINFO)
  uint32_t mem[16];
  socklen_t len = sizeof(mem);
  memset(mem, 0, sizeof(mem));
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 && len >= 9 * sizeof(uint32_t)) return mem[8]; /* SK_MEMINFO_DROPS */
#endif
  (void)fd;
  return ovfl_drops;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define ONCE_MAX_BATCH 1024
#define ONCE_MAX_BUFS 16

/* --once: one measurement of a blocking C receiver (see the header). */
static int receive_once(const char* mode, long rcvbuf, long batch, long wait_ms, long idle_ms, int nsizes, char** sizes_arg) {
  int mmsg = strcmp(mode, "recvmmsg") == 0;
  if (!mmsg && strcmp(mode, "recvmsg") != 0) {
    fprintf(stderr, "receiver: --once=recvmsg|recvmmsg\n");
    return 2;
  }
  if (nsizes < 1 || nsizes > ONCE_MAX_BUFS || batch < 1 || batch > ONCE_MAX_BATCH || wait_ms < 1 || wait_ms > 600000 ||
      idle_ms < 1 || idle_ms > 60000) {
    fprintf(stderr, "receiver: --once: an argument is out of range\n");
    return 2;
  }
  size_t sizes[ONCE_MAX_BUFS], total = 0;
  for (int i = 0; i < nsizes; i++) {
    long v = atol(sizes_arg[i]);
    if (v < 1 || v > 65507) {
      fprintf(stderr, "receiver: --once: a SIZE is out of range\n");
      return 2;
    }
    sizes[i] = (size_t)v;
    total += sizes[i];
  }
  if (total > 65507) return 2;
  long per_call = mmsg ? batch : 1;
  /* Every slot of the batch has its own buffers, one per SIZE, as the shape's receivers have. */
  char* area = malloc((size_t)per_call * total);
  struct iovec* iov = calloc((size_t)per_call * (size_t)nsizes, sizeof(struct iovec));
  struct mmsghdr* msgs = calloc((size_t)per_call, sizeof(struct mmsghdr));
  struct sockaddr_in* from = calloc((size_t)per_call, sizeof(struct sockaddr_in));
  if (!area || !iov || !msgs || !from) return 1;
  for (long m = 0; m < per_call; m++) {
    char* at = area + m * (long)total;
    for (int i = 0; i < nsizes; i++) {
      iov[m * nsizes + i].iov_base = at;
      iov[m * nsizes + i].iov_len = sizes[i];
      at += sizes[i];
    }
  }

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    perror("receiver: socket");
    return 1;
  }
  if (rcvbuf > 0) {
    int want = (int)rcvbuf;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
  }
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&sin, sizeof(sin)) < 0) {
    perror("receiver: bind");
    return 1;
  }
  socklen_t slen = sizeof(sin);
  getsockname(fd, (struct sockaddr*)&sin, &slen);
  int actual = 0;
  socklen_t alen = sizeof(actual);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &actual, &alen);
  struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  uint64_t cpu0 = cpu_us();
  printf("ready %u %d\n", ntohs(sin.sin_port), actual);
  fflush(stdout);

  uint64_t got = 0, got_bytes = 0, bad = 0, calls = 0, first_ns = 0, last_ns = 0, first_batch = 0;
  for (;;) {
    int n;
    calls++;
    if (mmsg) {
      for (long m = 0; m < per_call; m++) {
        struct msghdr* h = &msgs[m].msg_hdr;
        h->msg_name = &from[m];
        h->msg_namelen = sizeof(from[m]);
        h->msg_iov = &iov[m * nsizes];
        h->msg_iovlen = (size_t)nsizes;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
      }
      n = recvmmsg(fd, msgs, (unsigned)per_call, MSG_WAITFORONE, NULL);
    } else {
      struct msghdr* h = &msgs[0].msg_hdr;
      h->msg_name = &from[0];
      h->msg_namelen = sizeof(from[0]);
      h->msg_iov = iov;
      h->msg_iovlen = (size_t)nsizes;
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
      ssize_t r = recvmsg(fd, h, 0);
      if (r >= 0) msgs[0].msg_len = (unsigned)r;
      n = r < 0 ? -1 : 1;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break; /* nothing for --wait-ms / --idle-ms: done */
      perror("receiver: receive");
      return 1;
    }
    uint64_t t = now_ns();
    if (got == 0) {
      first_ns = t;
      first_batch = (uint64_t)n;
      tv.tv_sec = idle_ms / 1000;
      tv.tv_usec = (idle_ms % 1000) * 1000;
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    last_ns = t;
    for (int i = 0; i < n; i++) {
      got++;
      got_bytes += msgs[i].msg_len;
      if (msgs[i].msg_len != total || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) bad++;
    }
  }
  printf("received %llu %llu %llu %llu %llu %llu %llu %llu %llu\n", (unsigned long long)got, (unsigned long long)got_bytes,
         (unsigned long long)bad, (unsigned long long)drops_of(fd), (unsigned long long)first_ns, (unsigned long long)last_ns,
         (unsigned long long)first_batch, (unsigned long long)(cpu_us() - cpu0), (unsigned long long)calls);
  return 0;
}

int main(int argc, char** argv) {
  long rcvbuf = 256L * 1024 * 1024;
  long max_seconds = 900;
  long pace_us = 500;
  const char* once = NULL;
  long batch = 64, wait_ms = 5000, idle_ms = 20, once_rcvbuf = 0;
  int first_size = argc;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--once=", 7) == 0) once = argv[i] + 7;
    else if (strncmp(argv[i], "--batch=", 8) == 0) batch = atol(argv[i] + 8);
    else if (strncmp(argv[i], "--wait-ms=", 10) == 0) wait_ms = atol(argv[i] + 10);
    else if (strncmp(argv[i], "--idle-ms=", 10) == 0) idle_ms = atol(argv[i] + 10);
    else if (once && argv[i][0] != '-') {
      first_size = i;
      break;
    } else if (strncmp(argv[i], "--rcvbuf=", 9) == 0) rcvbuf = once_rcvbuf = atol(argv[i] + 9);
    else if (strncmp(argv[i], "--pace-us=", 10) == 0) pace_us = atol(argv[i] + 10);
    else if (strncmp(argv[i], "--max-seconds=", 14) == 0) max_seconds = atol(argv[i] + 14);
    else {
      fprintf(stderr, "receiver: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (rcvbuf < 4096 || rcvbuf > 1024L * 1024 * 1024 || max_seconds < 1 || max_seconds > 86400 || pace_us < 0 ||
      pace_us > 100000) {
    fprintf(stderr, "receiver: --rcvbuf, --max-seconds or --pace-us out of range\n");
    return 2;
  }
  alarm((unsigned)max_seconds); /* the hard cap: SIGALRM ends the process */
  signal(SIGPIPE, SIG_IGN);
  if (once) return receive_once(once, once_rcvbuf, batch, wait_ms, idle_ms, argc - first_size, argv + first_size);

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    perror("receiver: socket");
    return 1;
  }
  int want = (int)(rcvbuf / 2); /* the kernel doubles what it is given */
  int forced = 0;
#ifdef SO_RCVBUFFORCE
  forced = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) == 0;
#endif
  if (!forced) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
  int one = 1;
#ifdef SO_RXQ_OVFL
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
#endif
  (void)one;
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&sin, sizeof(sin)) < 0) {
    perror("receiver: bind");
    return 1;
  }
  socklen_t slen = sizeof(sin);
  getsockname(fd, (struct sockaddr*)&sin, &slen);
  int actual = 0;
  socklen_t alen = sizeof(actual);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &actual, &alen);
  printf("ready %u %d %d %ld\n", ntohs(sin.sin_port), actual, forced, pace_us);
  fflush(stdout);

  static char data[BATCH][SLOT];
  static char control[BATCH][CMSG_SPACE(sizeof(uint32_t))];
  static struct iovec iov[BATCH];
  static struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = data[i];
    iov[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  char line[256];
  size_t have = 0;
  struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
  int draining = 0; /* datagrams came in the last pass: pace, rather than wait in poll */
  for (;;) {
    if (poll(fds, 2, draining ? 0 : 1000) < 0) {
      if (errno == EINTR) continue;
      perror("receiver: poll");
      return 1;
    }
    uint64_t before = datagrams;
    if (draining || (fds[0].revents & POLLIN)) {
      for (int call = 0; call < DRAIN_CALLS; call++) {
        for (int i = 0; i < BATCH; i++) {
          msgs[i].msg_hdr.msg_control = control[i];
          msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
          msgs[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) break;
        for (int i = 0; i < n; i++) {
          unsigned len = msgs[i].msg_len;
          datagrams++;
          bytes += len;
          if ((expected > 0 && (long)len != expected) || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) wrong++;
        }
#ifdef SO_RXQ_OVFL
        struct msghdr* last = &msgs[n - 1].msg_hdr;
        for (struct cmsghdr* c = CMSG_FIRSTHDR(last); c; c = CMSG_NXTHDR(last, c))
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&ovfl_drops, CMSG_DATA(c), sizeof(ovfl_drops));
#endif
        if (n < BATCH) break;
      }
    }
    draining = pace_us > 0 && datagrams != before;
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(0, line + have, sizeof(line) - 1 - have);
      if (r <= 0) return 0; /* the bench went away */
      have += (size_t)r;
      line[have] = 0;
      char* nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = 0;
        if (strcmp(line, "count") == 0) {
          printf("count %llu %llu %llu %llu %llu %llu\n", (unsigned long long)datagrams, (unsigned long long)bytes,
                 (unsigned long long)wrong, (unsigned long long)drops_of(fd), (unsigned long long)cpu_us(),
                 (unsigned long long)now_us());
        } else if (strncmp(line, "expect ", 7) == 0) {
          expected = atol(line + 7);
          printf("ok\n");
        } else if (strcmp(line, "quit") == 0) {
          return 0;
        } else {
          printf("error unknown command\n");
        }
        fflush(stdout);
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, nl + 1, have - used + 1);
        have -= used;
      }
      if (have >= sizeof(line) - 1) have = 0; /* a line too long: drop it */
    }
    if (draining) {
      struct timespec pause = {.tv_sec = 0, .tv_nsec = pace_us * 1000};
      nanosleep(&pause, NULL);
    }
  }
}
