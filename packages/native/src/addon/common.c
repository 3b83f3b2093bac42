/*
 * What both platforms share: socket addresses between ws_endpoint and the system's
 * sockaddr structures, the socket options by the JavaScript side's numbers, and the set
 * of handles an environment owns.
 */
#include "common.h"

#include <stdlib.h>
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
    case WS_OPT_V6ONLY:
      if (family != 6) return -1;
      *level = IPPROTO_IPV6; *name = IPV6_V6ONLY;
      return 0;
    default: return -1;
  }
}

#define WS_SET_EMPTY ((ws_handle)-1)
#define WS_SET_GONE ((ws_handle)-2)

static size_t slot_of(const ws_handle_set* set, ws_handle h) {
  uint64_t x = (uint64_t)h * 0x9E3779B97F4A7C15ull; /* handles are small and clustered: spread them */
  return (size_t)(x >> 32) & (set->capacity - 1);
}

/* Rebuilds the table at twice the live count (at least 16 slots), dropping GONE marks. */
static int set_grow(ws_handle_set* set) {
  size_t capacity = 16;
  while (capacity < (set->count + 1) * 4) capacity *= 2;
  ws_handle* slots = (ws_handle*)malloc(capacity * sizeof(ws_handle));
  if (!slots) return WS_ERR_NOMEM;
  for (size_t i = 0; i < capacity; i++) slots[i] = WS_SET_EMPTY;
  ws_handle_set next = {slots, capacity, 0, 0};
  for (size_t i = 0; i < set->capacity; i++) {
    ws_handle h = set->slots[i];
    if (h < 0) continue;
    size_t j = slot_of(&next, h);
    while (slots[j] != WS_SET_EMPTY) j = (j + 1) & (capacity - 1);
    slots[j] = h;
    next.used++, next.count++;
  }
  free(set->slots);
  *set = next;
  return 0;
}

int ws_set_add(ws_handle_set* set, ws_handle h) {
  /* At most half full (GONE marks count), so that every probe ends at an EMPTY slot. */
  if ((set->used + 1) * 2 > set->capacity && set_grow(set) != 0) return WS_ERR_NOMEM;
  size_t i = slot_of(set, h);
  while (set->slots[i] >= 0) i = (i + 1) & (set->capacity - 1);
  if (set->slots[i] == WS_SET_EMPTY) set->used++;
  set->slots[i] = h;
  set->count++;
  return 0;
}

int ws_set_remove(ws_handle_set* set, ws_handle h) {
  if (set->capacity == 0 || h < 0) return 0;
  for (size_t i = slot_of(set, h); set->slots[i] != WS_SET_EMPTY; i = (i + 1) & (set->capacity - 1)) {
    if (set->slots[i] == h) {
      set->slots[i] = WS_SET_GONE;
      set->count--;
      return 1;
    }
  }
  return 0;
}

void ws_set_drain(ws_handle_set* set, void (*fn)(ws_handle h)) {
  ws_handle* slots = set->slots;
  size_t capacity = set->capacity;
  /* Emptied first: whatever fn does, no handle is handed out twice. */
  memset(set, 0, sizeof(*set));
  for (size_t i = 0; i < capacity; i++)
    if (slots[i] >= 0) fn(slots[i]);
  free(slots);
}
