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
