/*
 * Windows: overlapped UDP sockets of the addon's own, each associated with the
 * process's one I/O completion port. A gathered datagram is one WSASendTo with one
 * WSABUF per JavaScript view (the glue fills them: no copy). Where the socket takes
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, a send that succeeds at once completes at once
 * and no packet follows; otherwise (and whenever Winsock says WSA_IO_PENDING) the send
 * completes when its packet reaches the port's service thread, which hands it to the
 * glue (ws_op_done), which hands it to JavaScript through a thread-safe function.
 * Error numbers are WSA codes, as Winsock gives them.
 *
 * Receives take the same road: one overlapped WSARecvFrom straight into the buffers it is
 * given, completed at once when a datagram waits (skip-on-success) or by its packet.
 * Winsock satisfies posted receives in posting order, one datagram each. (The backend gives
 * buffers of its own, never the program's, which the program could detach while Winsock
 * holds them: packages/native/src/index.ts, #postReceive.)
 *
 * WSASENDTO_WIN_SKIP_ON_SUCCESS=0 in the environment (read once, at the first load) leaves
 * the skip mode off, so that every send and receive completes through the port: a test
 * knob for the pending path, which loopback sends seldom take (never, under Wine), nor
 * receives that find a datagram waiting.
 */
#ifdef _WIN32
#include "common.h"

#include <mswsock.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* Completion keys: a socket's packet, a failed send to free, the service thread's stop. */
#define KEY_SOCKET 1
#define KEY_RETIRE 2
#define KEY_STOP 3

/* ws_op.state: set by the sender after WSASendTo returned, or by the thread before that. */
#define OP_SUBMITTING 0
#define OP_ARMED 1  /* pending, the glue is ready: the packet completes it */
#define OP_FAILED 2 /* failed at once: a packet for it is stray; KEY_RETIRE frees it */
#define OP_EARLY 3  /* the packet arrived before the sender armed it: ws_op_arm completes it */

/* The NTSTATUS values a completed send may carry (ntstatus.h clashes with winnt.h). */
#define NT_SUCCESS_ 0x00000000L
#define NT_BUFFER_OVERFLOW 0x80000005L
#define NT_INVALID_HANDLE 0xC0000008L
#define NT_INVALID_PARAMETER 0xC000000DL
#define NT_NO_MEMORY 0xC0000017L
#define NT_ACCESS_DENIED 0xC0000022L
#define NT_BUFFER_TOO_SMALL 0xC0000023L
#define NT_OBJECT_TYPE_MISMATCH 0xC0000024L
#define NT_INSUFFICIENT_RESOURCES 0xC000009AL
#define NT_DEVICE_NOT_READY 0xC00000A3L
#define NT_NOT_SUPPORTED 0xC00000BBL
#define NT_INVALID_NETWORK_RESPONSE 0xC00000C3L
#define NT_UNEXPECTED_NETWORK_ERROR 0xC00000C4L
#define NT_NOT_IMPLEMENTED 0xC0000002L
#define NT_ACCESS_VIOLATION 0xC0000005L
#define NT_PIPE_DISCONNECTED 0xC00000B0L
#define NT_CANCELLED 0xC0000120L
#define NT_LOCAL_DISCONNECT 0xC000013BL
#define NT_REMOTE_DISCONNECT 0xC000013CL
#define NT_INVALID_BUFFER_SIZE 0xC0000206L
#define NT_INVALID_ADDRESS_COMPONENT 0xC0000207L
#define NT_CONNECTION_RESET 0xC000020DL
#define NT_INVALID_CONNECTION 0xC0000140L
#define NT_INVALID_ADDRESS 0xC0000141L
#define NT_NETWORK_UNREACHABLE 0xC000023CL
#define NT_HOST_UNREACHABLE 0xC000023DL
#define NT_PROTOCOL_UNREACHABLE 0xC000023EL
#define NT_PORT_UNREACHABLE 0xC000023FL
#define NT_REQUEST_ABORTED 0xC0000240L
#define NT_CONNECTION_ABORTED 0xC0000241L
#define NT_HOPLIMIT_EXCEEDED 0xC000A012L

/* The port, its thread, and how many environments use them. */
static SRWLOCK g_lock = SRWLOCK_INIT;
static int g_users;
static HANDLE g_port;
static HANDLE g_thread;
static int g_skip_on_success = 1;

/* --- The sockets this addon opened: handle -> whether a success at once posts no packet. */

#define SOCKET_BUCKETS 256

typedef struct ws_sock_entry {
  SOCKET s;
  int skip;
  struct ws_sock_entry* next;
} ws_sock_entry;

static SRWLOCK g_sockets_lock = SRWLOCK_INIT;
static ws_sock_entry* g_sockets[SOCKET_BUCKETS];

static ws_sock_entry** bucket(SOCKET s) { return &g_sockets[((uintptr_t)s >> 2) % SOCKET_BUCKETS]; }

static int sockets_add(SOCKET s, int skip) {
  ws_sock_entry* e = (ws_sock_entry*)malloc(sizeof(*e));
  if (!e) return WSAENOBUFS;
  e->s = s;
  e->skip = skip;
  AcquireSRWLockExclusive(&g_sockets_lock);
  e->next = *bucket(s);
  *bucket(s) = e;
  ReleaseSRWLockExclusive(&g_sockets_lock);
  return 0;
}

/* 1 if the socket is the addon's (*skip filled), else 0. */
static int sockets_find(SOCKET s, int* skip) {
  int found = 0;
  AcquireSRWLockShared(&g_sockets_lock);
  for (ws_sock_entry* e = *bucket(s); e; e = e->next) {
    if (e->s == s) {
      *skip = e->skip;
      found = 1;
      break;
    }
  }
  ReleaseSRWLockShared(&g_sockets_lock);
  return found;
}

static int sockets_remove(SOCKET s) {
  ws_sock_entry* gone = NULL;
  AcquireSRWLockExclusive(&g_sockets_lock);
  for (ws_sock_entry** p = bucket(s); *p; p = &(*p)->next) {
    if ((*p)->s == s) {
      gone = *p;
      *p = gone->next;
      break;
    }
  }
  ReleaseSRWLockExclusive(&g_sockets_lock);
  free(gone);
  return gone != NULL;
}

/* Closes every socket still open (WSACleanup's rule: as if closesocket were called). */
static void sockets_close_all(void) {
  AcquireSRWLockExclusive(&g_sockets_lock);
  for (int i = 0; i < SOCKET_BUCKETS; i++) {
    while (g_sockets[i]) {
      ws_sock_entry* e = g_sockets[i];
      g_sockets[i] = e->next;
      closesocket(e->s);
      free(e);
    }
  }
  ReleaseSRWLockExclusive(&g_sockets_lock);
}

/* --- Completion ------------------------------------------------------------------ */

/* Winsock's code for the NTSTATUS of a completed operation (as msafd maps them). */
static int wsa_from_ntstatus(LONG status) {
  switch ((unsigned long)status) {
    case NT_SUCCESS_: return 0;
    case NT_CANCELLED:
    case NT_REQUEST_ABORTED: return WSA_OPERATION_ABORTED;
    case NT_BUFFER_OVERFLOW:
    case NT_INVALID_BUFFER_SIZE: return WSAEMSGSIZE;
    case NT_BUFFER_TOO_SMALL:
    case NT_ACCESS_VIOLATION: return WSAEFAULT;
    case NT_NO_MEMORY:
    case NT_INSUFFICIENT_RESOURCES: return WSAENOBUFS;
    case NT_INVALID_HANDLE:
    case NT_OBJECT_TYPE_MISMATCH: return WSAENOTSOCK;
    case NT_DEVICE_NOT_READY: return WSAEWOULDBLOCK;
    case NT_INVALID_NETWORK_RESPONSE:
    case NT_UNEXPECTED_NETWORK_ERROR: return WSAENETDOWN;
    case NT_NETWORK_UNREACHABLE:
    case NT_PROTOCOL_UNREACHABLE: return WSAENETUNREACH;
    case NT_HOST_UNREACHABLE: return WSAEHOSTUNREACH;
    case NT_REMOTE_DISCONNECT:
    case NT_CONNECTION_RESET:
    case NT_PORT_UNREACHABLE:
    case NT_HOPLIMIT_EXCEEDED: return WSAECONNRESET;
    case NT_LOCAL_DISCONNECT:
    case NT_CONNECTION_ABORTED: return WSAECONNABORTED;
    case NT_INVALID_CONNECTION: return WSAENOTCONN;
    case NT_PIPE_DISCONNECTED: return WSAESHUTDOWN;
    case NT_INVALID_ADDRESS:
    case NT_INVALID_ADDRESS_COMPONENT: return WSAEADDRNOTAVAIL;
    case NT_NOT_SUPPORTED:
    case NT_NOT_IMPLEMENTED: return WSAEOPNOTSUPP;
    case NT_ACCESS_DENIED: return WSAEACCES;
    case NT_INVALID_PARAMETER: return WSAEINVAL;
    default:
      /* A Win32 error wrapped as an NTSTATUS (FACILITY_NTWIN32) is that error. */
      if (((unsigned long)status & 0x0FFF0000UL) == 0x00070000UL) return (int)(status & 0xFFFF);
      return WSAEINVAL;
  }
}

/* A receive's message flags: MSG_PARTIAL when its datagram did not fit, whatever Winsock says. */
static uint32_t message_flags(DWORD os_flags, int status) {
  return (uint32_t)(os_flags & MSG_PARTIAL) | (status == WSAEMSGSIZE ? MSG_PARTIAL : 0u);
}

/* Fills op->status, op->bytes (and a receive's op->flags) from a completed op, as
   WSAGetOverlappedResult tells. */
static void op_result(ws_op* op, DWORD transferred) {
  LONG nt = (LONG)op->ov.Internal;
  op->bytes = (uint32_t)transferred;
  op->flags = 0;
  if (nt == 0) {
    op->status = 0;
    return;
  }
  DWORD n = 0, flags = 0;
  if (WSAGetOverlappedResult(op->socket, &op->ov, &n, FALSE, &flags)) {
    op->status = 0;
    op->bytes = (uint32_t)n;
    if (op->receive) op->flags = message_flags(flags, 0);
    return;
  }
  int err = WSAGetLastError();
  /* The socket is closed (or its handle reused): say what the NTSTATUS says. */
  if (err == WSAENOTSOCK || err == WSA_INVALID_HANDLE || err == WSANOTINITIALISED || err == 0 ||
      err == WSA_IO_INCOMPLETE)
    err = wsa_from_ntstatus(nt);
  op->status = err;
  if (op->receive) op->flags = message_flags(flags, err);
}

/* A packet for op: deliver it, leave it to the sender, or drop it as stray. */
static void on_packet(ws_op* op, DWORD transferred) {
  op_result(op, transferred);
  LONG prev = InterlockedCompareExchange(&op->state, OP_EARLY, OP_SUBMITTING);
  if (prev == OP_ARMED) ws_op_done(op);
  /* OP_SUBMITTING: now OP_EARLY, ws_op_arm delivers it. OP_FAILED: a stray packet for a
     send that failed at once (Wine posts one for a datagram too large); KEY_RETIRE frees it. */
}

static DWORD WINAPI port_thread(void* arg) {
  HANDLE port = (HANDLE)arg;
  OVERLAPPED_ENTRY entries[64];
  for (;;) {
    ULONG n = 0;
    if (!GetQueuedCompletionStatusEx(port, entries, 64, &n, INFINITE, FALSE)) {
      if (GetLastError() == WAIT_TIMEOUT) continue;
      return 1; /* the port is gone */
    }
    int stop = 0;
    for (ULONG i = 0; i < n; i++) {
      OVERLAPPED_ENTRY* e = &entries[i];
      if (e->lpCompletionKey == KEY_STOP) {
        stop = 1;
        continue;
      }
      if (!e->lpOverlapped) continue;
      ws_op* op = CONTAINING_RECORD(e->lpOverlapped, ws_op, ov);
      if (e->lpCompletionKey == KEY_RETIRE) free(op);
      else on_packet(op, e->dwNumberOfBytesTransferred);
    }
    if (stop) return 0;
  }
}

void ws_op_arm(ws_op* op) {
  LONG prev = InterlockedCompareExchange(&op->state, OP_ARMED, OP_SUBMITTING);
  if (prev == OP_EARLY) ws_op_done(op);
}

/* --- Lifetime -------------------------------------------------------------------- */

int ws_platform_init(void) {
  int err = 0;
  AcquireSRWLockExclusive(&g_lock);
  WSADATA data;
  int rc = WSAStartup(MAKEWORD(2, 2), &data);
  if (rc != 0) {
    err = rc;
  } else if (g_users == 0) {
    char knob[8];
    DWORD len = GetEnvironmentVariableA("WSASENDTO_WIN_SKIP_ON_SUCCESS", knob, sizeof(knob));
    g_skip_on_success = !(len > 0 && len < sizeof(knob) && strcmp(knob, "0") == 0);
    g_port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (!g_port) {
      err = (int)GetLastError();
    } else {
      g_thread = CreateThread(NULL, 64 * 1024, port_thread, g_port, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
      if (!g_thread) {
        err = (int)GetLastError();
        CloseHandle(g_port);
        g_port = NULL;
      }
    }
    if (err) WSACleanup();
  }
  if (!err) g_users++;
  ReleaseSRWLockExclusive(&g_lock);
  return err;
}

void ws_platform_release(void) {
  AcquireSRWLockExclusive(&g_lock);
  if (g_users > 0 && --g_users == 0) {
    sockets_close_all();
    if (PostQueuedCompletionStatus(g_port, 0, KEY_STOP, NULL)) WaitForSingleObject(g_thread, INFINITE);
    else TerminateThread(g_thread, 1);
    CloseHandle(g_thread);
    CloseHandle(g_port);
    g_thread = NULL;
    g_port = NULL;
  }
  WSACleanup();
  ReleaseSRWLockExclusive(&g_lock);
}

/* --- Sockets --------------------------------------------------------------------- */


/* True when the socket's provider hands out real NT handles (no layered provider). */
static int is_ifs(SOCKET s) {
  WSAPROTOCOL_INFOW info;
  int len = (int)sizeof(info);
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char*)&info, &len) != 0) return 0;
  return (info.dwServiceFlags1 & XP1_IFS_HANDLES) != 0;
}

int ws_open(int family, ws_handle* out) {
  int af = family == 4 ? AF_INET : AF_INET6;
  SOCKET s = WSASocketW(af, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
    /* Before Windows 7 SP1: no WSA_FLAG_NO_HANDLE_INHERIT. */
    s = WSASocketW(af, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s != INVALID_SOCKET) SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
  }
  if (s == INVALID_SOCKET) return WSAGetLastError();
  /* IPV6_V6ONLY stays as Windows sets it: on. */
  if (!g_port || CreateIoCompletionPort((HANDLE)s, g_port, KEY_SOCKET, 0) == NULL) {
    int err = g_port ? (int)GetLastError() : WSANOTINITIALISED;
    closesocket(s);
    return err;
  }
  /* Non-blocking, as libuv makes its UDP sockets (src/win/udp.c): the non-overlapped
     WSARecvFrom of ws_recv_now then says WSAEWOULDBLOCK instead of waiting, while the
     overlapped calls still pend as before (Wine's ws2_32 tests, test_nonblocking_async_recv). */
  u_long nonblocking = 1;
  if (ioctlsocket(s, FIONBIO, &nonblocking) != 0) {
    int err = WSAGetLastError();
    closesocket(s);
    return err;
  }
  int skip = g_skip_on_success && is_ifs(s) &&
             SetFileCompletionNotificationModes((HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE);
  int err = sockets_add(s, skip);
  if (err) {
    closesocket(s);
    return err;
  }
  *out = (ws_handle)s;
  return 0;
}

int ws_bind(ws_handle h, const ws_endpoint* local) {
  struct sockaddr_storage ss;
  int len = ws_sockaddr_of(local, &ss);
  return bind((SOCKET)h, (struct sockaddr*)&ss, len) != 0 ? WSAGetLastError() : 0;
}

int ws_local_address(ws_handle h, int family, ws_endpoint* out) {
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);
  if (getsockname((SOCKET)h, (struct sockaddr*)&ss, &len) != 0) return WSAGetLastError();
  return ws_endpoint_of(&ss, (size_t)len, family, out) == 0 ? 0 : WSAEAFNOSUPPORT;
}


int ws_set_option(ws_handle h, int family, int option, int value) {
  int level, name;
  if (ws_option_of(family, option, &level, &name) != 0) return WSAENOPROTOOPT;
  return setsockopt((SOCKET)h, level, name, (const char*)&value, (int)sizeof(value)) != 0 ? WSAGetLastError() : 0;
}

int ws_get_option(ws_handle h, int family, int option, int* value) {
  int level, name;
  if (ws_option_of(family, option, &level, &name) != 0) return WSAENOPROTOOPT;
  int len = (int)sizeof(*value);
  *value = 0;
  return getsockopt((SOCKET)h, level, name, (char*)value, &len) != 0 ? WSAGetLastError() : 0;
}

#ifndef SIO_UDP_CONNRESET
#define SIO_UDP_CONNRESET _WSAIOW(IOC_VENDOR, 12)
#endif

int ws_set_conn_reset(ws_handle h, int on) {
  int skip;
  if (!sockets_find((SOCKET)h, &skip)) return WSAENOTSOCK;
  BOOL value = on ? TRUE : FALSE;
  DWORD returned = 0;
  int rc = WSAIoctl((SOCKET)h, SIO_UDP_CONNRESET, &value, (DWORD)sizeof(value), NULL, 0, &returned, NULL, NULL);
  return rc != 0 ? WSAGetLastError() : 0;
}

/* Failed at once: no packet on Windows, but Wine may post one anyway. The retire packet
   queued behind any such stray one frees op once the thread is past both. */
static void retire(ws_op* op) {
  InterlockedExchange(&op->state, OP_FAILED);
  if (!g_port || !PostQueuedCompletionStatus(g_port, 0, KEY_RETIRE, &op->ov)) {
    /* Cannot hand it over: leaking op is the safe choice. */
  }
}

/* Readies op for a new operation on s. */
static void op_start(ws_op* op, SOCKET s, int receive) {
  memset(&op->ov, 0, sizeof(op->ov));
  op->socket = s;
  op->state = OP_SUBMITTING;
  op->status = 0;
  op->bytes = 0;
  op->receive = receive;
  op->flags = 0;
}

int ws_send_overlapped(ws_handle h, ws_buf* bufs, uint32_t count, const ws_endpoint* to, int flags, ws_op* op,
                       size_t* sent) {
  SOCKET s = (SOCKET)h;
  int skip = 0;
  /* Only the addon's sockets: another handle has no packets coming to this port. */
  if (!sockets_find(s, &skip)) return WSAENOTSOCK;
  op_start(op, s, 0);
  int tolen = ws_sockaddr_of(to, &op->to);
  DWORD n = 0;
  if (WSASendTo(s, bufs, (DWORD)count, &n, (DWORD)flags, (const struct sockaddr*)&op->to, tolen, &op->ov, NULL) == 0) {
    if (skip) {
      *sent = n;
      return 0;
    }
    return WSA_IO_PENDING; /* its packet is on the way */
  }
  int err = WSAGetLastError();
  if (err == WSA_IO_PENDING) return err;
  retire(op);
  return err;
}

/* A non-blocking socket's send: a non-overlapped WSASendTo on the FIONBIO socket, answered
   during the call (no packet follows, as for ws_recv_now). WSAEWOULDBLOCK when Winsock has
   no room for the datagram now: nothing was sent. */
int ws_send(ws_handle h, ws_buf* bufs, uint32_t count, const ws_endpoint* to, int flags, size_t* sent) {
  SOCKET s = (SOCKET)h;
  int skip = 0;
  /* Only the addon's sockets: they alone are known to be non-blocking. */
  if (!sockets_find(s, &skip)) return WSAENOTSOCK;
  struct sockaddr_storage ss;
  int tolen = ws_sockaddr_of(to, &ss);
  DWORD n = 0;
  *sent = 0;
  if (WSASendTo(s, bufs, (DWORD)count, &n, (DWORD)flags, (const struct sockaddr*)&ss, tolen, NULL, NULL) != 0)
    return WSAGetLastError();
  *sent = n;
  return 0;
}

int ws_writable(ws_handle h, int* writable) {
  SOCKET s = (SOCKET)h;
  int skip = 0;
  *writable = 0;
  if (!sockets_find(s, &skip)) return WSAENOTSOCK;
  fd_set w;
  FD_ZERO(&w);
  FD_SET(s, &w);
  struct timeval zero = {0, 0};
  int rc = select(0, NULL, &w, NULL, &zero);
  if (rc == SOCKET_ERROR) return WSAGetLastError();
  *writable = rc > 0 && FD_ISSET(s, &w) ? 1 : 0;
  return 0;
}

void ws_recv_result_of(const ws_op* op, int family, ws_recv_result* out) {
  memset(out, 0, sizeof(*out));
  out->status = op->status;
  out->bytes = op->bytes;
  out->flags = op->flags;
  ws_endpoint_of(&op->from, op->fromlen > 0 ? (size_t)op->fromlen : 0, family, &out->from);
}

int ws_recv_overlapped(ws_handle h, int family, ws_buf* bufs, uint32_t count, int flags, ws_op* op, ws_recv_result* now) {
  SOCKET s = (SOCKET)h;
  int skip = 0;
  if (!sockets_find(s, &skip)) return WSAENOTSOCK;
  op_start(op, s, 1);
  op->recv_flags = (DWORD)flags;
  op->fromlen = (INT)sizeof(op->from);
  memset(&op->from, 0, sizeof(op->from));
  DWORD n = 0;
  if (WSARecvFrom(s, bufs, (DWORD)count, &n, &op->recv_flags, (struct sockaddr*)&op->from, &op->fromlen, &op->ov, NULL) ==
      0) {
    if (!skip) return WSA_IO_PENDING; /* its packet is on the way */
    /* Request completed immediately: a datagram was waiting. */
    op->bytes = (uint32_t)n;
    op->flags = message_flags(op->recv_flags, 0);
    ws_recv_result_of(op, family, now);
    return 0;
  }
  int err = WSAGetLastError();
  if (err == WSA_IO_PENDING) return err; /* Request queued by the kernel: nothing waiting yet. */
  if (err == WSAEMSGSIZE) {
    /* A datagram larger than the buffers was waiting: they hold its first part. The
       status block tells how much; else the buffers are full. A packet may follow (a
       warning status), so op goes the failed way. */
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) total += bufs[i].len;
    if ((unsigned long)op->ov.Internal == (unsigned long)NT_BUFFER_OVERFLOW) total = (uint64_t)op->ov.InternalHigh;
    op->status = WSAEMSGSIZE;
    op->bytes = total > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)total;
    op->flags = message_flags(op->recv_flags, WSAEMSGSIZE);
    ws_recv_result_of(op, family, now);
  }
  retire(op);
  return err;
}

void ws_op_cancel(ws_op* op) { CancelIoEx((HANDLE)op->socket, &op->ov); }

int ws_recv_now(ws_handle h, int family, ws_buf* bufs, uint32_t count, int peek, ws_recv_result* out) {
  SOCKET s = (SOCKET)h;
  int skip = 0;
  /* Only the addon's sockets: they alone are known to be non-blocking. */
  if (!sockets_find(s, &skip)) return WSAENOTSOCK;
  memset(out, 0, sizeof(*out));
  /* Winsock refuses zero buffers (WSAEINVAL); an empty one receives the datagram as POSIX does. */
  WSABUF none = {0, NULL};
  if (count == 0) {
    bufs = &none;
    count = 1;
  }
  struct sockaddr_storage from;
  INT fromlen = (INT)sizeof(from);
  memset(&from, 0, sizeof(from));
  DWORD n = 0, flags = peek ? MSG_PEEK : 0;
  int status = 0;
  if (WSARecvFrom(s, bufs, (DWORD)count, &n, &flags, (struct sockaddr*)&from, &fromlen, NULL, NULL) != 0) {
    status = WSAGetLastError();
    if (status != WSAEMSGSIZE) return status;
    /* Larger than the buffers: they hold its first part, and are full. */
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) total += bufs[i].len;
    n = total > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)total;
  }
  out->status = status;
  out->bytes = (uint32_t)n;
  out->flags = message_flags(flags, status);
  ws_endpoint_of(&from, fromlen > 0 ? (size_t)fromlen : 0, family, &out->from);
  return 0;
}

int ws_pending(ws_handle h, uint32_t* bytes) {
  u_long n = 0;
  int skip = 0;
  *bytes = 0;
  if (!sockets_find((SOCKET)h, &skip)) return WSAENOTSOCK;
  if (ioctlsocket((SOCKET)h, FIONREAD, &n) != 0) return WSAGetLastError();
  *bytes = (uint32_t)n;
  return 0;
}

int ws_close(ws_handle h) {
  SOCKET s = (SOCKET)h;
  /* Cancel what is still pending first: each such send then completes with
     WSA_OPERATION_ABORTED, as closesocket does on Windows. (Wine's closesocket alone
     leaves them to fail later with WSAENOTSOCK.) Only for the addon's sockets. */
  if (sockets_remove(s)) CancelIoEx((HANDLE)s, NULL);
  return closesocket(s) != 0 ? WSAGetLastError() : 0;
}

int ws_is_retryable(int err) { return err == WSAEWOULDBLOCK || err == WSAENOBUFS; }
#endif
