/**
 * The one translation from OS errors to Winsock codes (as libuv's
 * `uv_translate_sys_error` is its one translation). Backends report what the OS or
 * Node said, by errno name (`"ENOBUFS"`), by errno number (native, positive), by libuv
 * code (Node's `err.errno`, negative) or as a Node error object; this file alone decides
 * the Winsock code.
 */
import { constants } from "node:os";
import * as C from "./constants.js";

/** errno names (and the Node error codes a dgram socket can raise) to Winsock codes. */
export const OS_ERROR_TO_WSA: Readonly<Record<string, number>> = Object.freeze({
  EINTR: C.WSAEINTR,
  EBADF: C.WSAENOTSOCK,
  ENOTSOCK: C.WSAENOTSOCK,
  EACCES: C.WSAEACCES,
  EPERM: C.WSAEACCES,
  EFAULT: C.WSAEFAULT,
  EINVAL: C.WSAEINVAL,
  EMFILE: C.WSAEMFILE,
  ENFILE: C.WSAEMFILE,
  EAGAIN: C.WSAEWOULDBLOCK,
  EWOULDBLOCK: C.WSAEWOULDBLOCK,
  EINPROGRESS: C.WSAEINPROGRESS,
  EALREADY: C.WSAEALREADY,
  EDESTADDRREQ: C.WSAEDESTADDRREQ,
  EMSGSIZE: C.WSAEMSGSIZE,
  EPROTOTYPE: C.WSAEPROTOTYPE,
  ENOPROTOOPT: C.WSAENOPROTOOPT,
  EPROTONOSUPPORT: C.WSAEPROTONOSUPPORT,
  ESOCKTNOSUPPORT: C.WSAESOCKTNOSUPPORT,
  EOPNOTSUPP: C.WSAEOPNOTSUPP,
  ENOTSUP: C.WSAEOPNOTSUPP,
  EPFNOSUPPORT: C.WSAEPFNOSUPPORT,
  EAFNOSUPPORT: C.WSAEAFNOSUPPORT,
  EADDRINUSE: C.WSAEADDRINUSE,
  EADDRNOTAVAIL: C.WSAEADDRNOTAVAIL,
  ENETDOWN: C.WSAENETDOWN,
  ENETUNREACH: C.WSAENETUNREACH,
  ENETRESET: C.WSAENETRESET,
  ECONNABORTED: C.WSAECONNABORTED,
  ECONNRESET: C.WSAECONNRESET,
  // On a UDP socket Windows reports an ICMP port-unreachable as WSAECONNRESET, where
  // POSIX says ECONNREFUSED; this library only has UDP sockets.
  ECONNREFUSED: C.WSAECONNRESET,
  ENOBUFS: C.WSAENOBUFS,
  ENOMEM: C.WSAENOBUFS,
  EISCONN: C.WSAEISCONN,
  ENOTCONN: C.WSAENOTCONN,
  ESHUTDOWN: C.WSAESHUTDOWN,
  EPIPE: C.WSAESHUTDOWN,
  ETIMEDOUT: C.WSAETIMEDOUT,
  EHOSTDOWN: C.WSAEHOSTDOWN,
  EHOSTUNREACH: C.WSAEHOSTUNREACH,
  ECANCELED: C.WSA_OPERATION_ABORTED,
  ERR_SOCKET_DGRAM_NOT_RUNNING: C.WSAENOTSOCK,
  ERR_SOCKET_DGRAM_IS_CONNECTED: C.WSAEISCONN,
  ERR_SOCKET_DGRAM_NOT_CONNECTED: C.WSAENOTCONN,
  ERR_SOCKET_BAD_PORT: C.WSAEADDRNOTAVAIL,
  ERR_SOCKET_BUFFER_SIZE: C.WSAENOBUFS,
  ERR_INVALID_ARG_TYPE: C.WSAEFAULT,
  ERR_INVALID_ARG_VALUE: C.WSAEINVAL,
  ERR_OUT_OF_RANGE: C.WSAEINVAL,
});

const errnoNames = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno)) {
  // EWOULDBLOCK and EAGAIN share a number; the first name wins, both map alike.
  if (!errnoNames.has(n)) errnoNames.set(n, name);
}

/** The errno name of a positive errno number or a negative libuv code, where known. */
export function errnoName(code: number): string | undefined {
  return typeof code === "number" ? errnoNames.get(Math.abs(code)) : undefined;
}

/**
 * The Winsock code for what the OS or Node reported: an errno name, an errno number
 * (positive) or libuv code (negative), or an error object carrying `code`/`errno`.
 * Anything unknown becomes `fallback` (WSAEINVAL unless given).
 */
export function wsaFromOsError(error: unknown, fallback: number = C.WSAEINVAL): number {
  const otherwise = Number.isInteger(fallback) ? fallback : C.WSAEINVAL;
  try {
    return translate(error, otherwise);
  } catch {
    // An object whose fields cannot be read (a revoked Proxy, a throwing getter).
    return otherwise;
  }
}

/** The row of a name, own rows only ("toString" is no errno). */
function byName(name: string): number | undefined {
  return Object.hasOwn(OS_ERROR_TO_WSA, name) ? OS_ERROR_TO_WSA[name] : undefined;
}

function translate(error: unknown, fallback: number): number {
  if (typeof error === "string") return byName(error) ?? fallback;
  if (typeof error === "number") {
    const name = errnoName(error);
    return (name !== undefined ? byName(name) : undefined) ?? fallback;
  }
  if (typeof error === "object" && error !== null) {
    const { code, errno } = error as { code?: unknown; errno?: unknown };
    const named = typeof code === "string" ? byName(code) : undefined;
    if (named !== undefined) return named;
    if (typeof errno === "number") return translate(errno, fallback);
  }
  return fallback;
}
