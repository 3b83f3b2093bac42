/**
 * Winsock constants with their winsock2.h / ws2def.h values. Error codes come from the
 * one table in errors.ts; this file only names them.
 */
import { WSA_ERRORS } from "./errors.js";

export const {
  WSA_INVALID_HANDLE,
  WSA_INVALID_PARAMETER,
  WSA_OPERATION_ABORTED,
  WSA_IO_INCOMPLETE,
  WSA_IO_PENDING,
  WSAEINTR,
  WSAEBADF,
  WSAEACCES,
  WSAEFAULT,
  WSAEINVAL,
  WSAEMFILE,
  WSAEWOULDBLOCK,
  WSAEINPROGRESS,
  WSAEALREADY,
  WSAENOTSOCK,
  WSAEDESTADDRREQ,
  WSAEMSGSIZE,
  WSAEPROTOTYPE,
  WSAENOPROTOOPT,
  WSAEPROTONOSUPPORT,
  WSAESOCKTNOSUPPORT,
  WSAEOPNOTSUPP,
  WSAEPFNOSUPPORT,
  WSAEAFNOSUPPORT,
  WSAEADDRINUSE,
  WSAEADDRNOTAVAIL,
  WSAENETDOWN,
  WSAENETUNREACH,
  WSAENETRESET,
  WSAECONNABORTED,
  WSAECONNRESET,
  WSAENOBUFS,
  WSAEISCONN,
  WSAENOTCONN,
  WSAESHUTDOWN,
  WSAETIMEDOUT,
  WSAECONNREFUSED,
  WSAEHOSTDOWN,
  WSAEHOSTUNREACH,
  WSASYSNOTREADY,
  WSAVERNOTSUPPORTED,
  WSANOTINITIALISED,
  WSAEINVALIDPROVIDER,
  WSAEPROVIDERFAILEDINIT,
} = WSA_ERRORS;

/** Address families. */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 23;

/** Socket types and protocols. */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const IPPROTO_IP = 0;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;

/** Send and receive flags. */
export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_PARTIAL = 0x8000;

/** Socket options (level `SOL_SOCKET`). */
export const SOL_SOCKET = 0xffff;
export const SO_BROADCAST = 0x0020;
export const SO_SNDBUF = 0x1001;
export const SO_RCVBUF = 0x1002;
export const SO_TYPE = 0x1008;
export const SO_MAX_MSG_SIZE = 0x2003;
/**
 * Not Winsock: the most overlapped sends a socket may have outstanding before
 * `WSASendTo` fails with `WSAEWOULDBLOCK` (Windows' limit is its non-paged pool;
 * this library's is a number). Level `SOL_SOCKET`; default {@link DEFAULT_MAX_OUTSTANDING_SENDS}.
 */
export const SO_MAX_OUTSTANDING_SENDS = 0x7001;
/** The default of {@link SO_MAX_OUTSTANDING_SENDS}. */
export const DEFAULT_MAX_OUTSTANDING_SENDS = 4096;
/**
 * Not Winsock: whether overlapped and blocking sends posted in one synchronous run of
 * JavaScript may leave the process together, in one system call (`sendmmsg`), in order.
 * Level `SOL_SOCKET`, a BOOL. 1 by default where the backend coalesces (the native
 * backend on Linux), 0 where it cannot (there only 0 may be set).
 */
export const SO_COALESCE_SENDS = 0x7002;

/** Options at level `IPPROTO_IP` / `IPPROTO_IPV6`. */
export const IP_TTL = 4;
export const IPV6_UNICAST_HOPS = 4;
/** `IPPROTO_IPV6`: 1 (the default on Windows) makes an `AF_INET6` socket IPv6-only; 0, set before bind, dual-stack. */
export const IPV6_V6ONLY = 27;

/** `shutdown` directions. */
export const SD_RECEIVE = 0;
export const SD_SEND = 1;
export const SD_BOTH = 2;

/** `WSASocket` flags. */
export const WSA_FLAG_OVERLAPPED = 0x01;

/** Return values and special handles. */
export const SOCKET_ERROR = -1;
export const INVALID_SOCKET = 0xffffffff;
export const INADDR_ANY = 0;
export const INADDR_NONE = 0xffffffff;
export const INADDR_BROADCAST = 0xffffffff;
/** 127.0.0.1 in host byte order, as in C: pass it through `htonl`. */
export const INADDR_LOOPBACK = 0x7f000001;

/** Waits. */
export const WSA_INFINITE = 0xffffffff;
export const INFINITE = 0xffffffff;
export const WSA_WAIT_EVENT_0 = 0;
export const WSA_WAIT_TIMEOUT = 258;
export const WSA_WAIT_IO_COMPLETION = 0xc0;
export const WAIT_IO_COMPLETION = 0xc0;
export const WSA_WAIT_FAILED = 0xffffffff;
export const WSA_MAXIMUM_WAIT_EVENTS = 64;
export const WSA_INVALID_EVENT = null;

/** The largest UDP payload of each family (`SO_MAX_MSG_SIZE`). */
export const MAX_UDP_PAYLOAD_IPV4 = 65507;
export const MAX_UDP_PAYLOAD_IPV6 = 65527;

/** `NTSTATUS` `STATUS_PENDING`: `WSAOVERLAPPED.Internal` while an operation is in flight. */
export const STATUS_PENDING = 0x103;

/** `ioctlsocket` and `WSAIoctl` control codes. */
export const FIONBIO = 0x8004667e;
export const FIONREAD = 0x4004667f;
export const SIO_UDP_CONNRESET = 0x9800000c;
export const SIO_FLUSH = 0x28000004;

/** `select`: the most sockets an `fd_set` holds. */
export const FD_SETSIZE = 64;

/** `WSAPoll` event flags. */
export const POLLRDNORM = 0x100;
export const POLLRDBAND = 0x200;
export const POLLIN = 0x300;
export const POLLPRI = 0x400;
export const POLLWRNORM = 0x10;
export const POLLOUT = 0x10;
export const POLLWRBAND = 0x20;
export const POLLERR = 0x1;
export const POLLHUP = 0x2;
export const POLLNVAL = 0x4;

/** `WSAEventSelect` network events, and their bit numbers in `WSANETWORKEVENTS.iErrorCode`. */
export const FD_READ = 0x1;
export const FD_WRITE = 0x2;
export const FD_OOB = 0x4;
export const FD_ACCEPT = 0x8;
export const FD_CONNECT = 0x10;
export const FD_CLOSE = 0x20;
export const FD_QOS = 0x40;
export const FD_GROUP_QOS = 0x80;
export const FD_ROUTING_INTERFACE_CHANGE = 0x100;
export const FD_ADDRESS_LIST_CHANGE = 0x200;
export const FD_ALL_EVENTS = 0x3ff;
export const FD_READ_BIT = 0;
export const FD_WRITE_BIT = 1;
export const FD_OOB_BIT = 2;
export const FD_ACCEPT_BIT = 3;
export const FD_CONNECT_BIT = 4;
export const FD_CLOSE_BIT = 5;
export const FD_QOS_BIT = 6;
export const FD_GROUP_QOS_BIT = 7;
export const FD_ROUTING_INTERFACE_CHANGE_BIT = 8;
export const FD_ADDRESS_LIST_CHANGE_BIT = 9;
export const FD_MAX_EVENTS = 10;
