/*
 * The one header between the addon's N-API glue (addon.c) and its platform code
 * (posix.c, win.c). The glue validates every JavaScript argument and turns it into
 * these C types; the platform code makes the system calls. Errors are returned as
 * numbers: positive errno values on POSIX, WSA codes on Windows. Never strings.
 */
#ifndef WSASENDTO_COMMON_H
#define WSASENDTO_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
/* A WSABUF array is what WSASendTo takes: the glue fills it in place, no copy. */
typedef WSABUF ws_buf;
#define WS_BUF_SET(b, p, l) ((b)->buf = (char*)(p), (b)->len = (ULONG)(l))
#else
#include <sys/uio.h>
/* A struct iovec array is what sendmsg takes: the glue fills it in place, no copy. */
typedef struct iovec ws_buf;
#define WS_BUF_SET(b, p, l) ((b)->iov_base = (void*)(p), (b)->iov_len = (size_t)(l))
#endif

#ifdef _WIN32
#define WS_ERR_FAULT WSAEFAULT
#define WS_ERR_INVAL WSAEINVAL
#define WS_ERR_NOMEM WSAENOBUFS
#define WS_ERR_BADF WSAENOTSOCK
#define WS_ERR_NETDOWN WSAENETDOWN
#else
#include <errno.h>
#define WS_ERR_FAULT EFAULT
#define WS_ERR_INVAL EINVAL
#define WS_ERR_NOMEM ENOMEM
#define WS_ERR_BADF EBADF
#define WS_ERR_NETDOWN ENETDOWN
#endif

/* The most buffers one datagram may gather (Linux's UIO_MAXIOV). */
#define WS_MAX_BUFS 1024
/* The most datagrams one batch may carry. */
#define WS_MAX_BATCH 1024
/* The most views one batch call may carry, all its datagrams together. */
#define WS_MAX_BATCH_VIEWS 4096

/* Options, as the JavaScript side numbers them (WS_OPT_V6ONLY: IPv6 sockets only, before bind). */
enum ws_option { WS_OPT_BROADCAST = 0, WS_OPT_SNDBUF = 1, WS_OPT_RCVBUF = 2, WS_OPT_TTL = 3, WS_OPT_V6ONLY = 4 };
/* The highest option number. */
#define WS_OPT_LAST WS_OPT_V6ONLY

/* An IP endpoint: family 4 or 6, address bytes in network order, host-order port. */
typedef struct {
  int family;
  uint8_t addr[16];
  uint16_t port;
} ws_endpoint;

/* A socket handle as JavaScript holds it: an fd on POSIX, a SOCKET on Windows. */
typedef int64_t ws_handle;

#ifndef _WIN32
#include <sys/socket.h>
#endif

/* common.c: the system's sockaddr of an endpoint (returns its length); the endpoint of a
   sockaddr of `len` bytes (0, or -1 for another family); the level and name of an option
   (0, or -1 for an unknown option). */
int ws_sockaddr_of(const ws_endpoint* ep, struct sockaddr_storage* ss);
int ws_endpoint_of(const struct sockaddr_storage* ss, size_t len, int family, ws_endpoint* out);
int ws_option_of(int family, int option, int* level, int* name);

/*
 * A set of handles (common.c): the sockets one Node environment opened and has not closed
 * yet. Only that environment's thread touches it, so it takes no lock. Ownership is what
 * makes a close happen exactly once: whoever removes a handle from the set closes it.
 */
typedef struct {
  ws_handle* slots; /* open addressing; WS_SET_EMPTY and WS_SET_GONE mark free slots */
  size_t capacity;  /* a power of two, or 0 */
  size_t used;      /* live handles plus WS_SET_GONE slots */
  size_t count;     /* live handles */
} ws_handle_set;

/* 0, or WS_ERR_NOMEM. A handle is never negative. */
int ws_set_add(ws_handle_set* set, ws_handle h);
/* 1 if h was in the set (and is no longer), else 0. */
int ws_set_remove(ws_handle_set* set, ws_handle h);
/* Empties the set, calling fn on each handle it held, then frees its memory. */
void ws_set_drain(ws_handle_set* set, void (*fn)(ws_handle h));

int ws_platform_init(void);
int ws_open(int family, ws_handle* out);
int ws_bind(ws_handle h, const ws_endpoint* local);
int ws_local_address(ws_handle h, int family, ws_endpoint* out);
int ws_set_option(ws_handle h, int family, int option, int value);
int ws_get_option(ws_handle h, int family, int option, int* value);
/* Sends one datagram without blocking; *sent is the byte count on success. */
int ws_send(ws_handle h, ws_buf* bufs, uint32_t count, const ws_endpoint* to, int flags, size_t* sent);
int ws_close(ws_handle h);

#ifndef _WIN32
/* What one receive got: bytes written to the buffers, the datagram's whole length, and its source. */
typedef struct {
  size_t filled;
  size_t length;
  int truncated;
  ws_endpoint from;
} ws_received;

/*
 * Receives one datagram without blocking, scattered over the buffers (the caller's bytes,
 * no copy); MSG_PEEK leaves it queued. A pending socket error (an ICMP error reported
 * through IP_RECVERR) comes back as that error, and the error queue is drained.
 */
int ws_recv(ws_handle h, int family, ws_buf* bufs, uint32_t count, int peek, ws_received* out);
/* Datagrams the kernel dropped on this socket for a full receive buffer (Linux SO_MEMINFO). */
int ws_drops(ws_handle h, uint32_t* drops);
/* Takes the socket's pending error (SO_ERROR; else the first error its queue held, which a
   send that failed with SO_ERROR leaves behind; 0 if none) and empties its error queue. */
int ws_take_error(ws_handle h, int* error);

/* One datagram of a batch: its buffers and destination; `bytes` is filled once sent. */
typedef struct {
  ws_buf* bufs;
  uint32_t count;
  ws_endpoint to;
  size_t bytes;
} ws_datagram;

/*
 * Sends datagrams in order in as few system calls as the platform allows (sendmmsg on
 * Linux, a sendmsg loop elsewhere). *done is how many left; the error (0 if none) is
 * the one that stopped the first datagram not sent.
 */
int ws_send_batch(ws_handle h, ws_datagram* datagrams, uint32_t n, int flags, uint32_t* done);
/* UDP GSO: one send the kernel cuts into `segment`-byte datagrams (Linux UDP_SEGMENT). */
int ws_send_segments(ws_handle h, ws_buf* bufs, uint32_t count, const ws_endpoint* to, uint16_t segment, int flags,
                     size_t* sent);
/* True where the kernel takes UDP_SEGMENT (probed once). */
int ws_gso_supported(void);

/* One datagram of a receive batch: its buffers (the caller's bytes), then what it got. */
typedef struct {
  ws_buf* bufs;
  uint32_t count;
  ws_received got;
  uint16_t segment; /* UDP GRO: the size of the segments coalesced into it, 0 if none */
} ws_recv_datagram;

/*
 * Receives up to n datagrams without blocking, in order, each scattered over its own
 * buffers (no copy), in one system call where the platform has one (recvmmsg on Linux; a
 * loop of recvmsg elsewhere). `peek` peeks at the first datagram only (n is then 1).
 * Returns 0 with *done >= 1, or the error that stopped the first datagram (EAGAIN when
 * nothing waits; a pending socket error as ws_recv reports it, the error queue drained).
 * An error met after the first datagram is left for the next call.
 */
int ws_recv_batch(ws_handle h, int family, ws_recv_datagram* d, uint32_t n, int peek, uint32_t* done);
/* UDP GRO (Linux UDP_GRO): coalesced receives, each reporting its segment size. 0 or ENOPROTOOPT/errno. */
int ws_set_gro(ws_handle h, int on);
/* True where the kernel takes UDP_GRO (probed once). */
int ws_gro_supported(void);
#endif
/* True when the error means "try again when writable" (EAGAIN, ENOBUFS). */
int ws_is_retryable(int err);

#ifdef _WIN32
/*
 * Windows: overlapped sends, completed through the process's I/O completion port
 * (win.c). ws_platform_init starts the port and its service thread (reference counted:
 * once per Node environment); ws_platform_release, from the environment's cleanup hook,
 * stops them with the last environment. js_send calls ws_send_overlapped; ws_send (a
 * non-overlapped WSASendTo on the non-blocking socket) serves a non-blocking socket's
 * send, answered during the call (js_send_now_win).
 */
void ws_platform_release(void);

/*
 * One overlapped send. It must be the first member of a block from malloc (the glue
 * puts its own fields after it): the platform code frees that block itself when the
 * send failed at once. `state` and `to` are the platform code's.
 */
typedef struct {
  WSAOVERLAPPED ov;
  SOCKET socket;
  volatile LONG state;
  int status;     /* on completion: 0 or a WSA code */
  uint32_t bytes; /* on completion: the bytes sent */
  struct sockaddr_storage to;
  /* Receives only (ws_recv_overlapped), the platform code's; WSARecvFrom writes them when
     the receive completes, so they live in the op, not on a stack. */
  int receive;                  /* 1 for a receive, 0 for a send */
  uint32_t flags;               /* on completion: the message's flags (MSG_PARTIAL) */
  DWORD recv_flags;             /* WSARecvFrom's lpFlags, in and out */
  INT fromlen;                  /* WSARecvFrom's lpFromlen */
  struct sockaddr_storage from; /* WSARecvFrom's lpFrom */
} ws_op;

/*
 * Sends one datagram with WSASendTo on the socket's overlapped handle, with the caller's
 * buffers as the WSABUFs. Returns:
 *   0: completed at once, *sent is the byte count; no completion follows and op is the
 *      caller's again (to free);
 *   WSA_IO_PENDING: op belongs to the port; the caller must call ws_op_arm(op) once its
 *      own bookkeeping is ready, after which ws_op_done(op) is called exactly once;
 *   another WSA code: failed at once; op now belongs to the platform code, which frees it.
 */
int ws_send_overlapped(ws_handle h, ws_buf* bufs, uint32_t count, const ws_endpoint* to, int flags, ws_op* op,
                       size_t* sent);
/* Declares a pending op's bookkeeping ready; may call ws_op_done(op) before returning. */
void ws_op_arm(ws_op* op);
/*
 * Implemented by the glue: a pending op completed (op->status, op->bytes are set).
 * Called once per op, on the port's service thread or inside ws_op_arm; the glue then
 * owns op and frees it.
 */
void ws_op_done(ws_op* op);

/* What a receive got: its status, the bytes written to the buffers, flags, source. */
typedef struct {
  int status;     /* 0, WSAEMSGSIZE (the datagram did not fit: the rest is gone), or a WSA code */
  uint32_t bytes; /* bytes written to the buffers */
  uint32_t flags; /* MSG_PARTIAL with WSAEMSGSIZE */
  ws_endpoint from;
} ws_recv_result;

/*
 * Receives one datagram with WSARecvFrom on the socket's overlapped handle, scattered over
 * the caller's buffers (no copy); MSG_PEEK passes through. `family` is the socket's (the
 * source's family when Winsock gives none). Returns:
 *   0: completed at once, *now filled (status 0); op is the caller's again (to free);
 *   WSAEMSGSIZE: completed at once with a datagram larger than the buffers, *now filled
 *      (the bytes that fit, MSG_PARTIAL); op now belongs to the platform code;
 *   WSA_IO_PENDING: as ws_send_overlapped (ws_op_arm, then ws_op_done once); the result
 *      is then read with ws_recv_result_of;
 *   another WSA code: failed at once, nothing received; op belongs to the platform code.
 */
int ws_recv_overlapped(ws_handle h, int family, ws_buf* bufs, uint32_t count, int flags, ws_op* op, ws_recv_result* now);
/* The result of a completed receive (inside ws_op_done or after it). */
void ws_recv_result_of(const ws_op* op, int family, ws_recv_result* out);
/* Asks Winsock to cancel a pending op (CancelIoEx): it then completes, aborted, as usual. */
void ws_op_cancel(ws_op* op);
/*
 * Receives one datagram during the call, with a non-overlapped WSARecvFrom on the socket's
 * overlapped handle (ws_open makes it non-blocking, FIONBIO: overlapped calls still pend),
 * scattered over the caller's buffers (no copy); `peek` leaves it queued. 0 with *out
 * filled (status 0, or WSAEMSGSIZE with the bytes that fit and MSG_PARTIAL), or a WSA code:
 * WSAEWOULDBLOCK when nothing waits.
 */
int ws_recv_now(ws_handle h, int family, ws_buf* bufs, uint32_t count, int peek, ws_recv_result* out);
/* Whether a send would be taken now: select() with the socket in writefds and a zero
   timeout (*writable 1 or 0). 0 or a WSA code. */
int ws_writable(ws_handle h, int* writable);
/* FIONREAD: the bytes of every datagram waiting (Windows counts them all). 0 or a WSA code. */
int ws_pending(ws_handle h, uint32_t* bytes);
/* SIO_UDP_CONNRESET (on by default): whether an ICMP port-unreachable for an earlier send
   fails a later receive with WSAECONNRESET. 0 or a WSA code. */
int ws_set_conn_reset(ws_handle h, int on);
#endif

#endif
