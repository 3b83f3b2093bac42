/*
 * What both platforms share: socket addresses between ws_endpoint and the system's
 * sockaddr structures, and the socket options by the JavaScript side's numbers.
 */
#include "common.h"

#include <string.h>

#ifndef _WIN32
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

int ws_sockaddr_of(const ws_endpoint* ep, struct sockaddr_storage* ss) {
  memset(ss, 0, sizeof(*ss));
  if (ep->family == 4) {
    struct sockaddr_in* sin = (struct sockaddr_in*)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(ep->port);
    memcpy(&sin->sin_addr, ep->addr, 4);
    return (int)sizeof(*sin);
  }
  struct sockaddr_in6* sin6 = (struct sockaddr_in6*)ss;
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(ep->port);
  memcpy(&sin6->sin6_addr, ep->addr, 16);
  return (int)sizeof(*sin6);
}

int ws_endpoint_of(const struct sockaddr_storage* ss, size_t len, int family, ws_endpoint* out) {
  memset(out, 0, sizeof(*out));
  out->family = family;
  if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in* sin = (const struct sockaddr_in*)ss;
    out->family = 4;
    memcpy(out->addr, &sin->sin_addr, 4);
    out->port = ntohs(sin->sin_port);
    return 0;
  }
  if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6* sin6 = (const struct sockaddr_in6*)ss;
    out->family = 6;
    memcpy(out->addr, &sin6->sin6_addr, 16);
    out->port = ntohs(sin6->sin6_port);
    return 0;
  }
  return -1;
}

int ws_option_of(int family, int option, int* level, int* name) {
  switch (option) {
    case WS_OPT_BROADCAST: *level = SOL_SOCKET; *name = SO_BROADCAST; return 0;
    case WS_OPT_SNDBUF: *level = SOL_SOCKET; *name = SO_SNDBUF; return 0;
    case WS_OPT_RCVBUF: *level = SOL_SOCKET; *name = SO_RCVBUF; return 0;
    case WS_OPT_TTL:
      if (family == 4) { *level = IPPROTO_IP; *name = IP_TTL; }
      else { *level = IPPROTO_IPV6; *name = IPV6_UNICAST_HOPS; }
      return 0;
    default: return -1;
  }
}
