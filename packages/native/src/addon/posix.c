/*
 * POSIX (Linux, macOS): a non-blocking UDP socket of the addon's own; one sendmsg per
 * gathered datagram with one iovec per WSABUF, on the calling thread.
 */
#ifndef _WIN32
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/errqueue.h>
#endif

int ws_platform_init(void) { return 0; }


int ws_open(int family, ws_handle* out) {
  int domain = family == 4 ? AF_INET : AF_INET6;
#ifdef SOCK_NONBLOCK
  int fd = socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return errno;
#else
  int fd = socket(domain, SOCK_DGRAM, IPPROTO_UDP);
  if (fd < 0) return errno;
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    int err = errno;
    close(fd);
    return err;
  }
#endif
#ifdef SO_NOSIGPIPE
  int one_nosig = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one_nosig, sizeof(one_nosig));
#endif
#if defined(__linux__)
  /*
   * ICMP errors (port unreachable above all) reach an unconnected socket's next receive,
   * as Windows reports them (WSAECONNRESET): IP_RECVERR makes Linux do the same.
   */
  int on = 1;
  if (family == 4) setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
  else setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
#endif
  if (family == 6) {
    /* Windows' AF_INET6 sockets are IPv6-only unless told otherwise. */
    int one = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
      int err = errno;
      close(fd);
      return err;
    }
  }
  *out = fd;
  return 0;
}

int ws_bind(ws_handle h, const ws_endpoint* local) {
  struct sockaddr_storage ss;
  socklen_t len = (socklen_t)ws_sockaddr_of(local, &ss);
  return bind((int)h, (struct sockaddr*)&ss, len) < 0 ? errno : 0;
}

int ws_local_address(ws_handle h, int family, ws_endpoint* out) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname((int)h, (struct sockaddr*)&ss, &len) < 0) return errno;
  return ws_endpoint_of(&ss, len, family, out) == 0 ? 0 : EAFNOSUPPORT;
}


int ws_set_option(ws_handle h, int family, int option, int value) {
  int level, name;
  if (ws_option_of(family, option, &level, &name) != 0) return ENOPROTOOPT;
  return setsockopt((int)h, level, name, &value, sizeof(value)) < 0 ? errno : 0;
}

int ws_get_option(ws_handle h, int family, int option, int* value) {
  int level, name;
  if (ws_option_of(family, option, &level, &name) != 0) return ENOPROTOOPT;
  socklen_t len = sizeof(*value);
  return getsockopt((int)h, level, name, value, &len) < 0 ? errno : 0;
}

/* Winsock's MSG_DONTROUTE (4) reaches the kernel as the platform's own. */
static int sys_flags_of(int flags) {
  int sys_flags = 0;
  if (flags & 4) sys_flags |= MSG_DONTROUTE;
#ifdef MSG_NOSIGNAL
  sys_flags |= MSG_NOSIGNAL;
#endif
  return sys_flags;
}


int ws_send(ws_handle h, ws_buf* bufs, uint32_t count, const ws_endpoint* to, int flags, size_t* sent) {
  struct sockaddr_storage ss;
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &ss;
  msg.msg_namelen = (socklen_t)ws_sockaddr_of(to, &ss);
  msg.msg_iov = bufs;
  msg.msg_iovlen = count;
  ssize_t n;
  do {
    n = sendmsg((int)h, &msg, sys_flags_of(flags));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  *sent = (size_t)n;
  return 0;
}

int ws_send_batch(ws_handle h, ws_datagram* d, uint32_t n, int flags, uint32_t* done) {
  *done = 0;
  if (n == 0) return 0;
#if defined(__linux__)
  struct mmsghdr* msgs = calloc(n, sizeof(struct mmsghdr));
  struct sockaddr_storage* names = calloc(n, sizeof(struct sockaddr_storage));
  if (!msgs || !names) {
    free(msgs);
    free(names);
    return ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++) {
    msgs[i].msg_hdr.msg_name = &names[i];
    msgs[i].msg_hdr.msg_namelen = (socklen_t)ws_sockaddr_of(&d[i].to, &names[i]);
    msgs[i].msg_hdr.msg_iov = d[i].bufs;
    msgs[i].msg_hdr.msg_iovlen = d[i].count;
  }
  int err = 0;
  while (*done < n) {
    int r = sendmmsg((int)h, msgs + *done, n - *done, sys_flags_of(flags));
    if (r < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    for (int i = 0; i < r; i++) d[*done + i].bytes = msgs[*done + i].msg_len;
    *done += (uint32_t)r;
  }
  free(msgs);
  free(names);
  return err;
#else
  for (; *done < n; (*done)++) {
    int err = ws_send(h, d[*done].bufs, d[*done].count, &d[*done].to, flags, &d[*done].bytes);
    if (err) return err;
  }
  return 0;
#endif
}

#if defined(__linux__)
#include <netinet/udp.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#endif

int ws_send_segments(ws_handle h, ws_buf* bufs, uint32_t count, const ws_endpoint* to, uint16_t segment, int flags,
                     size_t* sent) {
#if defined(__linux__)
  struct sockaddr_storage ss;
  struct msghdr msg;
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } control;
  memset(&msg, 0, sizeof(msg));
  memset(&control, 0, sizeof(control));
  msg.msg_name = &ss;
  msg.msg_namelen = (socklen_t)ws_sockaddr_of(to, &ss);
  msg.msg_iov = bufs;
  msg.msg_iovlen = count;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  memcpy(CMSG_DATA(cm), &segment, sizeof(segment));
  ssize_t n;
  do {
    n = sendmsg((int)h, &msg, sys_flags_of(flags));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  *sent = (size_t)n;
  return 0;
#else
  (void)h; (void)bufs; (void)count; (void)to; (void)segment; (void)flags; (void)sent;
  return EOPNOTSUPP;
#endif
}

int ws_gso_supported(void) {
#if defined(__linux__)
  static int probed = -1;
  if (probed < 0) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    int seg = 1200;
    probed = fd >= 0 && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg)) == 0;
    if (fd >= 0) close(fd);
  }
  return probed;
#else
  return 0;
#endif
}


/*
 * Empties the socket's error queue (IP_RECVERR), so that its errors are reported once.
 * Returns the errno of the first error it held (0 if none): the error stays queued after a
 * send consumed the socket's pending error (SO_ERROR) by failing with it.
 */
static int drain_error_queue(int fd) {
  int first = 0;
#if defined(__linux__)
  char data[64];
  char control[512];
  for (int i = 0; i < 64; i++) {
    struct iovec iov = {data, sizeof(data)};
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm && first == 0; cm = CMSG_NXTHDR(&msg, cm)) {
      int ip = cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR;
      int ip6 = cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR;
      if (!ip && !ip6) continue;
      struct sock_extended_err ee;
      memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
      first = (int)ee.ee_errno;
    }
  }
#else
  (void)fd;
#endif
  return first;
}

int ws_recv(ws_handle h, int family, ws_buf* bufs, uint32_t count, int peek, ws_received* out) {
  struct sockaddr_storage ss;
  struct msghdr msg;
  memset(&ss, 0, sizeof(ss));
  memset(&msg, 0, sizeof(msg));
  msg.msg_name = &ss;
  msg.msg_namelen = sizeof(ss);
  msg.msg_iov = bufs;
  msg.msg_iovlen = count;
  int flags = peek ? MSG_PEEK : 0;
#if defined(__linux__)
  /* With MSG_TRUNC Linux returns the datagram's real length, beyond the buffers. */
  flags |= MSG_TRUNC;
#endif
  ssize_t n;
  do {
    n = recvmsg((int)h, &msg, flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    if (err != EAGAIN && err != EWOULDBLOCK) drain_error_queue((int)h);
    return err;
  }
  size_t capacity = 0;
  for (uint32_t i = 0; i < count; i++) capacity += bufs[i].iov_len;
  out->truncated = (msg.msg_flags & MSG_TRUNC) != 0 || (size_t)n > capacity;
  out->length = (size_t)n;
  out->filled = (size_t)n < capacity ? (size_t)n : capacity;
  ws_endpoint_of(&ss, msg.msg_namelen, family, &out->from);
  return 0;
}

/* A datagram's source as recvmmsg writes it (either family). */
typedef union {
  struct sockaddr sa;
  struct sockaddr_in sin;
  struct sockaddr_in6 sin6;
} recv_name;

/*
 * Room for one control message per datagram: the UDP_GRO segment size (an int). Linux
 * puts it first (udp_recvmsg writes it before any IP-level one), and the addon enables
 * no option that adds others; one that did not fit would only set MSG_CTRUNC.
 */
typedef union {
  char buf[CMSG_SPACE(sizeof(int))];
  size_t align; /* a cmsghdr's alignment (its first member); not the struct itself, whose
                   flexible array member an array of these may not hold */
} recv_control;

/* What one message of a batch got: lengths, truncation, source, GRO segment size. */
static void batch_received(ws_recv_datagram* d, const struct msghdr* m, size_t len, int family) {
  size_t capacity = 0;
  for (uint32_t i = 0; i < d->count; i++) capacity += d->bufs[i].iov_len;
  d->got.length = len;
  d->got.filled = len < capacity ? len : capacity;
  d->got.truncated = (m->msg_flags & MSG_TRUNC) != 0 || len > capacity;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  size_t namelen = m->msg_namelen < sizeof(recv_name) ? m->msg_namelen : sizeof(recv_name);
  memcpy(&ss, m->msg_name, namelen);
  ws_endpoint_of(&ss, namelen, family, &d->got.from);
  d->segment = 0;
#if defined(__linux__)
  if (m->msg_controllen == 0) return;
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR((struct msghdr*)m, cm)) {
    if (cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO || cm->cmsg_len < CMSG_LEN(sizeof(int))) continue;
    int segment;
    memcpy(&segment, CMSG_DATA(cm), sizeof(segment));
    d->segment = segment <= 0 ? 0 : segment > 65535 ? 65535 : (uint16_t)segment;
    break;
  }
#endif
}

/*
 * Linux: one recvmmsg (MSG_DONTWAIT; MSG_TRUNC, so that each datagram's whole length
 * comes back). When a later datagram meets an error, the kernel returns the ones before
 * it and keeps the error (sk_err) for the next call, whose first datagram then reports it
 * as ws_recv does. Elsewhere (macOS has no recvmmsg): a loop of recvmsg, which asks
 * FIONREAD before each datagram after the first, so that a pending socket error (which a
 * BSD receive reports only once the queue is empty) is left for the next call too.
 */
int ws_recv_batch(ws_handle h, int family, ws_recv_datagram* d, uint32_t n, int peek, uint32_t* done) {
  *done = 0;
  if (n == 0) return 0;
  if (peek) n = 1;
  int fd = (int)h;
  int flags = MSG_DONTWAIT | (peek ? MSG_PEEK : 0);
  int err = 0;
#if defined(__linux__)
  flags |= MSG_TRUNC;
  struct mmsghdr stack_msgs[16];
  recv_control stack_controls[16];
  recv_name stack_names[16];
  struct mmsghdr* msgs = stack_msgs;
  recv_control* controls = stack_controls;
  recv_name* names = stack_names;
  void* heap = NULL;
  if (n > 16) {
    /* One block: the headers, then the control buffers, then the names (alignments in that order). */
    heap = malloc((size_t)n * (sizeof(struct mmsghdr) + sizeof(recv_control) + sizeof(recv_name)));
    if (!heap) return ENOMEM;
    msgs = (struct mmsghdr*)heap;
    controls = (recv_control*)(msgs + n);
    names = (recv_name*)(controls + n);
  }
  memset(msgs, 0, (size_t)n * sizeof(struct mmsghdr));
  for (uint32_t i = 0; i < n; i++) {
    struct msghdr* m = &msgs[i].msg_hdr;
    m->msg_name = &names[i];
    m->msg_namelen = sizeof(recv_name);
    m->msg_iov = d[i].bufs;
    m->msg_iovlen = d[i].count;
    m->msg_control = controls[i].buf;
    m->msg_controllen = sizeof(controls[i].buf);
  }
  int r;
  do {
    r = recvmmsg(fd, msgs, n, flags, NULL);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    err = errno;
    if (err != EAGAIN && err != EWOULDBLOCK) drain_error_queue(fd);
  } else if (r == 0) {
    err = EAGAIN;
  } else {
    for (int i = 0; i < r; i++) batch_received(&d[i], &msgs[i].msg_hdr, msgs[i].msg_len, family);
    *done = (uint32_t)r;
  }
  free(heap);
  return err;
#else
  for (uint32_t i = 0; i < n; i++) {
    if (i > 0) {
      int waiting = 0;
      if (ioctl(fd, FIONREAD, &waiting) < 0 || waiting <= 0) break;
    }
    recv_name name;
    struct msghdr m;
    memset(&name, 0, sizeof(name));
    memset(&m, 0, sizeof(m));
    m.msg_name = &name;
    m.msg_namelen = sizeof(name);
    m.msg_iov = d[i].bufs;
    m.msg_iovlen = (int)d[i].count;
    ssize_t got;
    do {
      got = recvmsg(fd, &m, flags);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      if (i == 0) err = errno;
      break;
    }
    batch_received(&d[i], &m, (size_t)got, family);
    *done = i + 1;
  }
  return err;
#endif
}

int ws_set_gro(ws_handle h, int on) {
#if defined(__linux__)
  int value = on ? 1 : 0;
  return setsockopt((int)h, SOL_UDP, UDP_GRO, &value, sizeof(value)) < 0 ? errno : 0;
#else
  (void)h;
  (void)on;
  return ENOPROTOOPT;
#endif
}

int ws_gro_supported(void) {
#if defined(__linux__)
  static int probed = -1;
  if (probed < 0) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    int on = 1;
    probed = fd >= 0 && setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
    if (fd >= 0) close(fd);
  }
  return probed;
#else
  return 0;
#endif
}

int ws_drops(ws_handle h, uint32_t* drops) {
#if defined(__linux__) && defined(SO_MEMINFO)
  /* The socket's counters; SK_MEMINFO_DROPS (index 8) counts the datagrams it dropped. */
  uint32_t meminfo[16];
  socklen_t len = sizeof(meminfo);
  memset(meminfo, 0, sizeof(meminfo));
  if (getsockopt((int)h, SOL_SOCKET, SO_MEMINFO, meminfo, &len) < 0) return errno;
  if (len < 9 * sizeof(uint32_t)) return ENOPROTOOPT;
  *drops = meminfo[8];
  return 0;
#else
  (void)h;
  *drops = 0;
  return ENOPROTOOPT;
#endif
}

int ws_take_error(ws_handle h, int* error) {
  socklen_t len = sizeof(*error);
  *error = 0;
  int rc = getsockopt((int)h, SOL_SOCKET, SO_ERROR, error, &len) < 0 ? errno : 0;
  int queued = drain_error_queue((int)h);
  if (rc == 0 && *error == 0) *error = queued;
  return rc;
}

int ws_close(ws_handle h) { return close((int)h) < 0 ? errno : 0; }

int ws_is_retryable(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS; }
#endif
