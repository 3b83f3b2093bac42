/**
 * The one table of Winsock error codes. Every constant, lookup and message of the
 * library derives from it (as libuv's `UV_ERRNO_MAP` does for libuv's codes).
 * Numbers and messages are those of winerror.h / the Winsock error-code reference.
 */
export const WSA_ERROR_TABLE = [
  ["WSA_INVALID_HANDLE", 6, "Specified event object handle is invalid."],
  ["WSA_INVALID_PARAMETER", 87, "One or more parameters are invalid."],
  ["WSA_OPERATION_ABORTED", 995, "Overlapped operation aborted."],
  ["WSA_IO_INCOMPLETE", 996, "Overlapped I/O event object not in signaled state."],
  ["WSA_IO_PENDING", 997, "Overlapped operations will complete later."],
  ["WSAEINTR", 10004, "Interrupted function call."],
  ["WSAEBADF", 10009, "File handle is not valid."],
  ["WSAEACCES", 10013, "Permission denied."],
  ["WSAEFAULT", 10014, "Bad address."],
  ["WSAEINVAL", 10022, "Invalid argument."],
  ["WSAEMFILE", 10024, "Too many open files."],
  ["WSAEWOULDBLOCK", 10035, "Resource temporarily unavailable."],
  ["WSAEINPROGRESS", 10036, "Operation now in progress."],
  ["WSAEALREADY", 10037, "Operation already in progress."],
  ["WSAENOTSOCK", 10038, "Socket operation on nonsocket."],
  ["WSAEDESTADDRREQ", 10039, "Destination address required."],
  ["WSAEMSGSIZE", 10040, "Message too long."],
  ["WSAEPROTOTYPE", 10041, "Protocol wrong type for socket."],
  ["WSAENOPROTOOPT", 10042, "Bad protocol option."],
  ["WSAEPROTONOSUPPORT", 10043, "Protocol not supported."],
  ["WSAESOCKTNOSUPPORT", 10044, "Socket type not supported."],
  ["WSAEOPNOTSUPP", 10045, "Operation not supported."],
  ["WSAEPFNOSUPPORT", 10046, "Protocol family not supported."],
  ["WSAEAFNOSUPPORT", 10047, "Address family not supported by protocol family."],
  ["WSAEADDRINUSE", 10048, "Address already in use."],
  ["WSAEADDRNOTAVAIL", 10049, "Cannot assign requested address."],
  ["WSAENETDOWN", 10050, "Network is down."],
  ["WSAENETUNREACH", 10051, "Network is unreachable."],
  ["WSAENETRESET", 10052, "Network dropped connection on reset."],
  ["WSAECONNABORTED", 10053, "Software caused connection abort."],
  ["WSAECONNRESET", 10054, "Connection reset by peer."],
  ["WSAENOBUFS", 10055, "No buffer space available."],
  ["WSAEISCONN", 10056, "Socket is already connected."],
  ["WSAENOTCONN", 10057, "Socket is not connected."],
  ["WSAESHUTDOWN", 10058, "Cannot send after socket shutdown."],
  ["WSAETIMEDOUT", 10060, "Connection timed out."],
  ["WSAECONNREFUSED", 10061, "Connection refused."],
  ["WSAEHOSTDOWN", 10064, "Host is down."],
  ["WSAEHOSTUNREACH", 10065, "No route to host."],
  ["WSASYSNOTREADY", 10091, "Network subsystem is unavailable."],
  ["WSAVERNOTSUPPORTED", 10092, "Winsock.dll version out of range."],
  ["WSANOTINITIALISED", 10093, "Successful WSAStartup not yet performed."],
  ["WSAEINVALIDPROVIDER", 10105, "Service provider is invalid."],
  ["WSAEPROVIDERFAILEDINIT", 10106, "Service provider failed to initialize."],
] as const;

type Row = (typeof WSA_ERROR_TABLE)[number];

/** The name of a Winsock error code, such as `"WSAEMSGSIZE"`. */
export type WSAErrorName = Row[0];

/** Maps each error name to its number, with literal types. */
export type WSAErrorCodes = { readonly [R in Row as R[0]]: R[1] };

/** Every Winsock error code by name, derived from {@link WSA_ERROR_TABLE}. */
export const WSA_ERRORS = Object.freeze(Object.fromEntries(WSA_ERROR_TABLE.map(([name, code]) => [name, code]))) as WSAErrorCodes;

const nameByCode = new Map<number, WSAErrorName>(WSA_ERROR_TABLE.map(([name, code]) => [code, name]));
const messageByCode = new Map<number, string>(WSA_ERROR_TABLE.map(([, code, message]) => [code, message]));

/** The name of a Winsock error number, or `undefined` for anything not in the table; never throws. */
export function wsaErrorName(code: number): WSAErrorName | undefined {
  return nameByCode.get(code);
}

/**
 * The message of a Winsock error number (Winsock's own wording); for a number not in the
 * table `"Unknown Winsock error <n>."`, and for what is not a number
 * `"Unknown Winsock error."`. Always a string, never a throw.
 */
export function wsaErrorMessage(code: number): string {
  const message = messageByCode.get(code);
  if (message !== undefined) return message;
  return typeof code === "number" ? `Unknown Winsock error ${code}.` : "Unknown Winsock error.";
}

/** Options of {@link WSAError}. */
export interface WSAErrorOptions {
  /** The OS or Node error this one was translated from. */
  readonly cause?: unknown;
  /** A message to use instead of Winsock's. */
  readonly message?: string;
}

/** Reads the options of a {@link WSAError}; what cannot be read (a throwing getter, a revoked Proxy) is left out. */
function readOptions(options: unknown): { cause: unknown; message: string | undefined } {
  let cause: unknown;
  let message: string | undefined;
  if (typeof options === "object" && options !== null) {
    try {
      cause = (options as WSAErrorOptions).cause;
    } catch {
      cause = undefined;
    }
    try {
      const m = (options as WSAErrorOptions).message;
      message = typeof m === "string" ? m : undefined;
    } catch {
      message = undefined;
    }
  }
  return { cause, message };
}

/**
 * A Winsock error, as the idiomatic API throws it: `code` is the name (`"WSAEMSGSIZE"`),
 * `errno` the number (10040), `syscall` the call that failed, and `cause` the OS or Node
 * error it was translated from, when there was one.
 *
 * The constructor never throws: an `errno` that is not an integer becomes `WSAEINVAL`
 * (10022), as does the `code` of a number outside the table; a `syscall` that is not a
 * string becomes `""` (and the message then has no call name); options that cannot be
 * read are left out. So `new WSAError()` is a `WSAEINVAL` error.
 */
export class WSAError extends Error {
  /** The Winsock name of the error, such as `"WSAEMSGSIZE"`. */
  readonly code: WSAErrorName;
  /** The Winsock number of the error, such as 10040. */
  readonly errno: number;
  /** The call that failed, such as `"sendTo"`. */
  readonly syscall: string;

  constructor(errno: number, syscall: string, options: WSAErrorOptions = {}) {
    const number = typeof errno === "number" && Number.isInteger(errno) ? errno : WSA_ERRORS.WSAEINVAL;
    const call = typeof syscall === "string" ? syscall : "";
    const code = nameByCode.get(number) ?? "WSAEINVAL";
    const { cause, message } = readOptions(options);
    const text = `${code} (${number}): ${wsaErrorMessage(number)}`;
    super(message ?? (call ? `${call}: ${text}` : text), { cause });
    this.name = "WSAError";
    this.code = code;
    this.errno = number;
    this.syscall = call;
  }
}
