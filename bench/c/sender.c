/*
 * The kernel's limit for the benchmark: the same datagrams as the JavaScript rows, sent
 * from C to the same receiver for the same time, with nothing but the system call.
 *
 *   sender [--rate=DG_PER_S] MODE PORT DURATION_MS MAX_DATAGRAMS BATCH SIZE...
 *
 * MODE: sendto   one buffer (the SIZEs concatenated) per datagram, sendto(2)
 *       sendmsg  one iovec per SIZE, one sendmsg(2) per datagram
 *       sendmmsg BATCH datagrams of those iovecs per sendmmsg(2)
 *       gso      BATCH datagrams in one sendmsg(2) with a UDP_SEGMENT cmsg (UDP GSO):
 *                the iovecs repeated BATCH times, cut by the kernel
 * --rate paces any mode (the receive benchmark's flood: a steady load): before each call it
 * waits (sleeping, then spinning for the last 50 µs) until the datagrams sent so far are at
 * most the time elapsed x RATE; 0 (the default): as fast as the calls go.
 * The buffers hold the same bytes as the bench's (buffer i filled with 'A' + i). It sends
 * to 127.0.0.1:PORT from a socket bound to 127.0.0.1 until DURATION_MS have passed or
 * MAX_DATAGRAMS were sent, then prints one line:
 *   sent <datagrams> <bytes> <calls> <elapsed ns> <cpu µs> <errors> <first errno> <start ns> <end ns>
 * (start and end: CLOCK_MONOTONIC, the clock Node's process.hrtime reads). A hard cap
 * (alarm, DURATION_MS + 5 s) ends it whatever happens.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <netinet/udp.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#endif

#define MAX_BUFS 16
#define MAX_BATCH 1024
#define MAX_IOV 1024 /* UIO_MAXIOV */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u + (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int usage(void) {
  fprintf(stderr, "usage: sender [--rate=DG_PER_S] sendto|sendmsg|sendmmsg|gso PORT DURATION_MS MAX_DATAGRAMS BATCH SIZE...\n");
  return 2;
}

int main(int argc, char** argv) {
  double rate = 0; /* datagrams per second; 0: unpaced */
  if (argc > 1 && strncmp(argv[1], "--rate=", 7) == 0) {
    rate = atof(argv[1] + 7);
    if (!(rate >= 0 && rate <= 1e9)) return usage();
    argv++;
    argc--;
  }
  if (argc < 7) return usage();
  const char* mode = argv[1];
  long port = atol(argv[2]), duration_ms = atol(argv[3]), batch = atol(argv[5]);
  long long max_datagrams = atoll(argv[4]);
  int nbufs = argc - 6;
  int m_sendto = strcmp(mode, "sendto") == 0, m_sendmsg = strcmp(mode, "sendmsg") == 0,
      m_sendmmsg = strcmp(mode, "sendmmsg") == 0, m_gso = strcmp(mode, "gso") == 0;
  if (!(m_sendto || m_sendmsg || m_sendmmsg || m_gso)) return usage();
  if (port < 1 || port > 65535 || duration_ms < 1 || duration_ms > 60000 || max_datagrams < 1 || max_datagrams > 100000000LL ||
      batch < 1 || batch > MAX_BATCH || nbufs > MAX_BUFS) {
    fprintf(stderr, "sender: an argument is out of range\n");
    return usage();
  }
  alarm((unsigned)(duration_ms / 1000 + 5)); /* the hard cap: SIGALRM ends the process */

  size_t sizes[MAX_BUFS], total = 0;
  char* bufs[MAX_BUFS];
  for (int i = 0; i < nbufs; i++) {
    long s = atol(argv[6 + i]);
    if (s < 1 || s > 65507) return usage();
    sizes[i] = (size_t)s;
    total += sizes[i];
    bufs[i] = malloc(sizes[i]);
    if (!bufs[i]) return 1;
    memset(bufs[i], 'A' + i, sizes[i]);
  }
  if (total > 65507 || (m_gso && (total * (size_t)batch > 65507 || (size_t)(nbufs * batch) > MAX_IOV))) {
    fprintf(stderr, "sender: datagrams too large for this mode\n");
    return 2;
  }
  char* whole = malloc(total);
  if (!whole) return 1;
  for (int i = 0, at = 0; i < nbufs; at += (int)sizes[i], i++) memcpy(whole + at, bufs[i], sizes[i]);

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    perror("sender: socket");
    return 1;
  }
  struct timeval tv = {.tv_sec = 0, .tv_usec = 100000}; /* a send never blocks longer than this */
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  struct sockaddr_in local, to;
  memset(&local, 0, sizeof(local));
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&local, sizeof(local)) < 0) {
    perror("sender: bind");
    return 1;
  }
  to = local;
  to.sin_port = htons((uint16_t)port);

  /* One datagram's iovecs; for GSO, BATCH copies of them in a row. */
  static struct iovec iov[MAX_IOV];
  int reps = m_gso ? (int)batch : 1;
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < nbufs; i++) {
      iov[r * nbufs + i].iov_base = bufs[i];
      iov[r * nbufs + i].iov_len = sizes[i];
    }
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &to;
  msg.msg_namelen = sizeof(to);
  msg.msg_iov = iov;
  msg.msg_iovlen = (size_t)(nbufs * reps);
#if defined(__linux__)
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control;
  if (m_gso) {
    memset(&control, 0, sizeof(control));
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)total;
    memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
  }
  static struct mmsghdr mmsgs[MAX_BATCH];
  if (m_sendmmsg)
    for (long i = 0; i < batch; i++) mmsgs[i].msg_hdr = msg;
#else
  if (m_sendmmsg || m_gso) {
    fprintf(stderr, "sender: %s needs Linux\n", mode);
    return 3;
  }
#endif

  uint64_t sent = 0, sent_bytes = 0, calls = 0, errors = 0;
  int first_errno = 0;
  uint64_t cpu0 = cpu_us();
  uint64_t t0 = now_ns();
  uint64_t deadline = t0 + (uint64_t)duration_ms * 1000000u;
  uint64_t t = t0;
  while ((long long)sent < max_datagrams && (t = now_ns()) < deadline) {
    if (rate > 0) {
      /* Paced: the time at which the datagrams sent so far are due; wait for it (bounded by the deadline). */
      uint64_t due = t0 + (uint64_t)((double)sent * 1e9 / rate);
      if (due > deadline) due = deadline;
      if (due > t + 50000) {
        uint64_t ns = due - t - 50000;
        struct timespec pause = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
        nanosleep(&pause, NULL);
      }
      while ((t = now_ns()) < due) {
      }
      if (t >= deadline) break;
    }
    calls++;
    long got; /* datagrams sent by this call, or -1 */
    if (m_sendto) {
      got = sendto(fd, whole, total, 0, (struct sockaddr*)&to, sizeof(to)) < 0 ? -1 : 1;
    } else if (m_sendmsg) {
      got = sendmsg(fd, &msg, 0) < 0 ? -1 : 1;
#if defined(__linux__)
    } else if (m_sendmmsg) {
      int n = sendmmsg(fd, mmsgs, (unsigned)batch, 0);
      got = n < 0 ? -1 : n;
    } else {
      got = sendmsg(fd, &msg, 0) < 0 ? -1 : batch;
#endif
    }
    if (got < 0) {
      errors++;
      if (!first_errno) first_errno = errno;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR) break;
      continue;
    }
    sent += (uint64_t)got;
    sent_bytes += (uint64_t)got * total;
  }
  uint64_t t1 = now_ns();
  uint64_t elapsed = t1 - t0;
  (void)t;
  printf("sent %llu %llu %llu %llu %llu %llu %d %llu %llu\n", (unsigned long long)sent, (unsigned long long)sent_bytes,
         (unsigned long long)calls, (unsigned long long)elapsed, (unsigned long long)(cpu_us() - cpu0),
         (unsigned long long)errors, first_errno, (unsigned long long)t0, (unsigned long long)t1);
  return 0;
}
