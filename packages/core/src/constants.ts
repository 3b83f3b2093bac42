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

/** Options at level `IPPROTO_IP` / `IPPROTO_IPV6`. */
export const IP_TTL = 4;
export const IPV6_UNICAST_HOPS = 4;

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
