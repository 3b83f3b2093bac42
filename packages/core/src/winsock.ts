/**
 * The Winsock calls of CONTRACT.md over core sockets. Each call validates its
 * arguments, returns the Winsock return value and sets the last error as Winsock does.
 * No call throws: an argument that breaks a call in an unforeseen way (a getter that
 * throws, a detached buffer) becomes `SOCKET_ERROR` with `WSAEFAULT`.
 */

import type { Backend, BackendOption } from "./backend.js";
import { byteLengthOf, captureWsabufs, type WSABUF } from "./buffers.js";
import {
  INVALID_SOCKET,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_UDP,
  IPV6_UNICAST_HOPS,
  IPV6_V6ONLY,
  SD_BOTH,
  SD_RECEIVE,
  SD_SEND,
  SO_BROADCAST,
  SO_COALESCE_SENDS,
  SO_MAX_MSG_SIZE,
  SO_MAX_OUTSTANDING_SENDS,
  SO_RCVBUF,
  SO_SNDBUF,
  SO_TYPE,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOCKET_ERROR,
  SOL_SOCKET,
  WSA_FLAG_OVERLAPPED,
  WSA_IO_INCOMPLETE,
  WSA_IO_PENDING,
  WSA_OPERATION_ABORTED,
  WSAEAFNOSUPPORT,
  WSAEFAULT,
  WSAEINTR,
  WSAEINVAL,
  WSAEINVALIDPROVIDER,
  WSAENOPROTOOPT,
  WSAENOTCONN,
  WSAEPROTONOSUPPORT,
  WSAEPROVIDERFAILEDINIT,
  WSAESOCKTNOSUPPORT,
  WSAEWOULDBLOCK,
  WSANOTINITIALISED,
} from "./constants.js";
import { isU32 } from "./inet.js";
import { setLastError } from "./last-error.js";
import { STATUS_SUCCESS } from "./ntstatus.js";
import { type CompletionRoutine, Operation, operationOf, WSAOVERLAPPED } from "./operation.js";
import { resolveSoon, settled } from "./progress.js";
import { noteReceiveCall, noteSendRefused } from "./readiness.js";
import {
  type Endpoint,
  ipFamilyOf,
  isUnspecifiedFamily,
  isWildcard,
  readSockaddr,
  SIZEOF_SOCKADDR_IN,
  type SOCKADDR,
  sockaddrSize,
  wildcard,
  writeSockaddr,
} from "./sockaddr.js";
import { openSocket, type SocketEntry, STARTED_COMPLETED, STARTED_PENDING } from "./socket.js";
import { backendByName, currentBackend, isStarted, lookupSocket, registerSocket, unregisterSocket } from "./startup.js";

/** `LPDWORD`/`LPINT`: an out-parameter. */
export interface Ref {
  value: number;
}

/** Either a socket, or the error code that stops the call. */
type Found = SocketEntry | number;

function fail(code: number): number {
  setLastError(code);
  return SOCKET_ERROR;
}

function failLater(code: number): Promise<number> {
  return settled(SOCKET_ERROR, code);
}

function isRef(value: unknown): value is Ref {
  return typeof value === "object" && value !== null;
}

/**
 * True for an out-parameter that can be written: its value is read and written back, so a
 * frozen object, a getter-only property or a Proxy that refuses fails here, before anything
 * is sent, rather than after.
 */
function isWritableRef(value: unknown): value is Ref {
  if (!isRef(value)) return false;
  try {
    const v = value.value;
    value.value = v;
    return true;
  } catch {
    return false;
  }
}

/** Runs a call; an unforeseen exception from a hostile argument becomes `WSAEFAULT`. */
function guarded<T>(call: () => T, onThrow: () => T): T {
  try {
    return call();
  } catch {
    return onThrow();
  }
}

const socketError = () => fail(WSAEFAULT);

// ---------------------------------------------------------------------------------
// Sockets

/** `WSAPROTOCOL_INFO`, reduced to what chooses a provider: `szProtocol` names a backend. */
export interface WSAPROTOCOL_INFO {
  szProtocol: string;
}

/**
 * `WSASocket(af, type, protocol, lpProtocolInfo, g, dwFlags)`: a UDP socket
 * (`AF_INET` or `AF_INET6`, `SOCK_DGRAM`, protocol 0 or `IPPROTO_UDP`), or
 * `INVALID_SOCKET`. Overlapped I/O needs `WSA_FLAG_OVERLAPPED`. As in Winsock,
 * `lpProtocolInfo` chooses the provider: `null` for the one `WSAStartup` chose, or
 * `{ szProtocol: "dgram" | "native" }` for that backend (`WSAEINVALIDPROVIDER` for an
 * unknown name, `WSAEPROVIDERFAILEDINIT` for one that cannot load here).
 */
export function WSASocket(
  af: number,
  type: number,
  protocol: number,
  lpProtocolInfo: WSAPROTOCOL_INFO | null,
  g: number,
  dwFlags: number,
): number {
  return guarded(
    () => {
      const started = currentBackend();
      if (!isStarted() || !started) return invalid(WSANOTINITIALISED);
      const family = ipFamilyOf(af);
      if (family === 0) return invalid(WSAEAFNOSUPPORT);
      if (type === SOCK_STREAM || type !== SOCK_DGRAM) return invalid(WSAESOCKTNOSUPPORT);
      if (protocol !== 0 && protocol !== IPPROTO_UDP) return invalid(WSAEPROTONOSUPPORT);
      if (g !== 0 && g !== undefined) return invalid(WSAEINVAL);
      const backend = providerOf(lpProtocolInfo, started);
      if (typeof backend === "number") return invalid(backend);
      const flags = dwFlags ?? 0;
      if (!isU32(flags)) return invalid(WSAEINVAL);
      const entry = openSocket(backend, family, (flags & WSA_FLAG_OVERLAPPED) !== 0);
      if (typeof entry === "number") return invalid(entry);
      setLastError(0);
      return registerSocket(entry);
    },
    () => invalid(WSAEFAULT),
  );
}

/** The backend a `WSAPROTOCOL_INFO` names, the started one for `null`, or an error code. */
function providerOf(info: unknown, started: Backend): Backend | number {
  if (info === null || info === undefined) return started;
  const name = typeof info === "object" ? (info as Partial<WSAPROTOCOL_INFO>).szProtocol : undefined;
  if (typeof name !== "string") return WSAEINVAL;
  if (name === started.name) return started;
  if (name === "auto") return WSAEINVALIDPROVIDER;
  const backend = backendByName(name);
  if (typeof backend !== "string") return backend;
  return backend.startsWith("unknown backend") ? WSAEINVALIDPROVIDER : WSAEPROVIDERFAILEDINIT;
}

function invalid(code: number): number {
  setLastError(code);
  return INVALID_SOCKET;
}

/** `WSASocketW`: as {@link WSASocket}. */
export const WSASocketW: typeof WSASocket = WSASocket;
/** `WSASocketA`: as {@link WSASocket}. */
export const WSASocketA: typeof WSASocket = WSASocket;

/** `socket(af, type, protocol)`: an overlapped-capable socket, as on Windows. */
export function socket(af: number, type: number, protocol: number): number {
  return WSASocket(af, type, protocol, null, 0, WSA_FLAG_OVERLAPPED);
}

/** `closesocket(s)`: 0 or `SOCKET_ERROR`. Pending operations complete once each, sent or `WSA_OPERATION_ABORTED`. */
export function closesocket(s: number): number {
  return guarded(() => {
    const entry = lookupSocket(s);
    if (typeof entry === "number") return fail(entry);
    unregisterSocket(s);
    // Success clears the last error first: blocking sends aborted by the close then set
    // theirs, which their callers read when their Promises settle.
    setLastError(0);
    entry.close();
    return 0;
  }, socketError);
}

function withSocket(s: unknown, call: (entry: SocketEntry) => number): number {
  return guarded(() => {
    const entry: Found = lookupSocket(s);
    if (typeof entry === "number") return fail(entry);
    const rc = call(entry);
    if (rc !== 0) return fail(rc);
    setLastError(0);
    return 0;
  }, socketError);
}

function readAddressFor(entry: SocketEntry, name: unknown, namelen: unknown): Endpoint | number {
  const ep = readSockaddr(name, namelen);
  if (typeof ep === "number") return ep;
  return ep.family === entry.family ? ep : WSAEAFNOSUPPORT;
}

/** `bind(s, name, namelen)`: 0 or `SOCKET_ERROR` (`WSAEINVAL` when already bound, `WSAEADDRINUSE`, ...). */
export function bind(s: number, name: SOCKADDR, namelen: number): number {
  return withSocket(s, (entry) => {
    const local = readAddressFor(entry, name, namelen);
    return typeof local === "number" ? local : entry.bind(local);
  });
}

/**
 * `connect(s, name, namelen)` on a datagram socket: sets the default peer (binding
 * implicitly first); an `AF_UNSPEC` address (`{ sa_family: AF_UNSPEC }`, or either shape
 * with family 0; `namelen` at least `sizeof(SOCKADDR)`, 16) or the all-zero address
 * dissolves it, as on Windows.
 */
export function connect(s: number, name: SOCKADDR | { sa_family: number }, namelen: number): number {
  return withSocket(s, (entry) => {
    if (isUnspecifiedFamily(name)) {
      // sizeof(SOCKADDR) is 16, a SOCKADDR_IN's size.
      return Number.isInteger(namelen) && namelen >= SIZEOF_SOCKADDR_IN ? entry.connect(null) : WSAEFAULT;
    }
    const peer = readAddressFor(entry, name, namelen);
    if (typeof peer === "number") return peer;
    if (isWildcard(peer) && peer.port === 0) return entry.connect(null);
    return entry.connect(peer);
  });
}

function writeName(ep: Endpoint | null, name: unknown, namelen: unknown, ifNone: number): number {
  if (!ep) return ifNone;
  if (!isRef(name) || !isRef(namelen) || !Number.isInteger(namelen.value)) return WSAEFAULT;
  if (namelen.value < sockaddrSize(ep.family)) return WSAEFAULT;
  namelen.value = writeSockaddr(name as unknown as Record<string, unknown>, ep);
  return 0;
}

/**
 * `getsockname(s, name, namelenRef)`: fills `name` and `namelenRef.value`; `WSAEINVAL`
 * before a bind. After `connect`, a socket bound to the wildcard reports the local address
 * routing chose for the peer, as Windows does.
 */
export function getsockname(s: number, name: object, namelen: Ref): number {
  return withSocket(s, (entry) => writeName(entry.localAddress(), name, namelen, WSAEINVAL));
}

/** `getpeername(s, name, namelenRef)`: the connected peer; `WSAENOTCONN` without one. */
export function getpeername(s: number, name: object, namelen: Ref): number {
  return withSocket(s, (entry) => writeName(entry.peer, name, namelen, WSAENOTCONN));
}

/** `shutdown(s, how)`: `SD_RECEIVE`, `SD_SEND` or `SD_BOTH`. */
export function shutdown(s: number, how: number): number {
  return withSocket(s, (entry) => {
    if (how !== SD_RECEIVE && how !== SD_SEND && how !== SD_BOTH) return WSAEINVAL;
    if (how !== SD_RECEIVE) entry.sendShutdown = true;
    if (how !== SD_SEND) entry.receiveShutdown = true;
    return 0;
  });
}

// ---------------------------------------------------------------------------------
// Options

const BACKEND_OPTIONS: ReadonlyMap<string, BackendOption> = new Map([
  [`${SOL_SOCKET}:${SO_BROADCAST}`, "broadcast"],
  [`${SOL_SOCKET}:${SO_SNDBUF}`, "sndbuf"],
  [`${SOL_SOCKET}:${SO_RCVBUF}`, "rcvbuf"],
  [`${IPPROTO_IP}:${IP_TTL}`, "ttl"],
  [`${IPPROTO_IPV6}:${IPV6_UNICAST_HOPS}`, "ttl"],
  [`${IPPROTO_IPV6}:${IPV6_V6ONLY}`, "v6only"],
  [`${SOL_SOCKET}:${SO_COALESCE_SENDS}`, "coalesce"],
]);

function optionOf(entry: SocketEntry, level: number, optname: number): BackendOption | number {
  if (level !== SOL_SOCKET && level !== IPPROTO_IP && level !== IPPROTO_IPV6) return WSAEINVAL;
  if ((level === IPPROTO_IP && entry.family !== 4) || (level === IPPROTO_IPV6 && entry.family !== 6)) return WSAEINVAL;
  return BACKEND_OPTIONS.get(`${level}:${optname}`) ?? WSAENOPROTOOPT;
}

/** Reads an option value given as a number or as little-endian bytes (`optlen` of them). */
function readOptval(optval: unknown, optlen: unknown): number | null {
  if (typeof optval === "number" || typeof optval === "boolean") return Number(optval) >>> 0;
  if (!(optval instanceof Uint8Array) || !Number.isInteger(optlen)) return null;
  const n = Math.min(optlen as number, optval.byteLength, 4);
  if (n < 1) return null;
  let v = 0;
  for (let i = n - 1; i >= 0; i--) v = v * 256 + (optval[i] as number);
  return v;
}

/**
 * `setsockopt(s, level, optname, optval, optlen)`: `SO_BROADCAST`, `SO_SNDBUF`,
 * `SO_RCVBUF`, `IP_TTL`/`IPV6_UNICAST_HOPS`, `IPV6_V6ONLY` (before the bind only, else
 * `WSAEINVAL`), and this library's `SO_MAX_OUTSTANDING_SENDS` and `SO_COALESCE_SENDS`;
 * `optval` a number or bytes.
 */
export function setsockopt(s: number, level: number, optname: number, optval: number | Uint8Array, optlen: number): number {
  return withSocket(s, (entry) => {
    const value = readOptval(optval, optlen);
    if (value === null) return WSAEFAULT;
    if (level === SOL_SOCKET && optname === SO_MAX_OUTSTANDING_SENDS) {
      if (value < 1) return WSAEINVAL;
      entry.maxOutstanding = value;
      return 0;
    }
    const option = optionOf(entry, level, optname);
    return typeof option === "number" ? option : entry.setOption(option, value);
  });
}

/**
 * `getsockopt(s, level, optname, optvalRef, optlenRef)`: `SO_MAX_MSG_SIZE` (65507 for
 * IPv4, 65527 for IPv6), `SO_BROADCAST`, `SO_TYPE`, `SO_SNDBUF`, `SO_RCVBUF`, `IP_TTL`/
 * `IPV6_UNICAST_HOPS`, `IPV6_V6ONLY`, `SO_MAX_OUTSTANDING_SENDS`, `SO_COALESCE_SENDS` (what
 * is in effect: 0 where the backend never coalesces), also on a new unbound
 * socket (Windows' defaults: 65536, 65536, 128, 1) and exactly as set (Linux's doubled
 * buffer sizes are not reported). `optvalRef` is a `{ value }` or a byte array.
 */
export function getsockopt(s: number, level: number, optname: number, optval: Ref | Uint8Array, optlen: Ref): number {
  return withSocket(s, (entry) => {
    if (!isRef(optlen) || !Number.isInteger(optlen.value) || optlen.value < 4) return WSAEFAULT;
    let value: number | undefined;
    if (level === SOL_SOCKET && optname === SO_MAX_MSG_SIZE) value = entry.maxMessageSize;
    else if (level === SOL_SOCKET && optname === SO_TYPE) value = SOCK_DGRAM;
    else if (level === SOL_SOCKET && optname === SO_MAX_OUTSTANDING_SENDS) value = entry.maxOutstanding;
    else {
      const option = optionOf(entry, level, optname);
      if (typeof option === "number") return option;
      value = option === "broadcast" ? Number(entry.broadcast) : entry.getOption(option);
      if (value === undefined) return WSAENOPROTOOPT;
    }
    if (optval instanceof Uint8Array) {
      if (optval.byteLength < 4) return WSAEFAULT;
      new DataView(optval.buffer, optval.byteOffset, 4).setUint32(0, value >>> 0, true);
    } else if (isRef(optval)) {
      optval.value = value;
    } else {
      return WSAEFAULT;
    }
    optlen.value = 4;
    return 0;
  });
}

// ---------------------------------------------------------------------------------
// Sending

/** Checks shared by every send call; the socket, captured views and destination, or an error. */
function prepareSend(
  s: unknown,
  lpBuffers: unknown,
  dwBufferCount: unknown,
  lpTo: unknown,
  iTolen: unknown,
): { entry: SocketEntry; views: Uint8Array[]; to: Endpoint | null } | number {
  const entry = lookupSocket(s);
  if (typeof entry === "number") return entry;
  const views = captureWsabufs(lpBuffers, dwBufferCount);
  if (typeof views === "number") return views;
  let to: Endpoint | null = null;
  if (lpTo !== null && lpTo !== undefined) {
    const ep = readSockaddr(lpTo, iTolen);
    if (typeof ep === "number") return ep;
    to = ep;
  }
  return { entry, views, to };
}

function isOverlappedCall(lpOverlapped: unknown, lpCompletionRoutine: unknown): boolean {
  return (
    (lpOverlapped !== null && lpOverlapped !== undefined) || (lpCompletionRoutine !== null && lpCompletionRoutine !== undefined)
  );
}

/** Writes an out-parameter after the fact: 0, or `WSAEFAULT` if the caller's object refused. */
function writeRef(ref: Ref, value: number): number {
  try {
    ref.value = value;
    return 0;
  } catch {
    return WSAEFAULT;
  }
}

/**
 * What a blocking call reports for an operation `closesocket` (or the last `WSACleanup`)
 * aborted: `WSAEINTR`, "returned when a socket is closed or a process is terminated, on a
 * pending Winsock operation for that socket" (Winsock Error Codes; closesocket and
 * WSACleanup cancel every pending blocking call). Overlapped operations keep
 * `WSA_OPERATION_ABORTED`, and so do the idiomatic API's, which are not Winsock calls.
 */
function interrupted(code: number): number {
  return code === WSA_OPERATION_ABORTED ? WSAEINTR : code;
}

/**
 * A blocking call: a Promise of 0 or `SOCKET_ERROR`, settled when the operation `start`
 * began completes; `report` writes its out-parameters and gives the last error.
 */
function blocking(start: (op: Operation) => number, report: (op: Operation) => number): Promise<number> {
  let settle: ((rc: number) => void) | null = null;
  let code = 0;
  const op = new Operation(null, null, (done) => {
    code = interrupted(report(done));
    if (settle) resolveSoon(settle, code === 0 ? 0 : SOCKET_ERROR, code);
  });
  op.limited = false;
  const rc = start(op);
  if (rc === STARTED_COMPLETED) return settled(code === 0 ? 0 : SOCKET_ERROR, code);
  if (rc !== STARTED_PENDING) {
    op.abandon();
    return failLater(rc);
  }
  return new Promise<number>((resolve) => {
    settle = resolve;
  });
}

/**
 * An overlapped call: 0 when the operation completed at once (`report` then writes its
 * out-parameters), else `SOCKET_ERROR` with `WSA_IO_PENDING` or the error that stopped it.
 * `onDone` runs when it completes, before its routine runs or its event is waited on.
 */
function overlappedCall(
  entry: SocketEntry,
  lpOverlapped: unknown,
  lpCompletionRoutine: unknown,
  start: (op: Operation) => number,
  report: (op: Operation) => number,
  onDone: ((op: Operation) => void) | null,
): number {
  const routine = lpCompletionRoutine ?? null;
  if (routine !== null && typeof routine !== "function") return fail(WSAEFAULT);
  // A routine without an overlapped structure has nothing to report through.
  if (!(lpOverlapped instanceof WSAOVERLAPPED)) return fail(WSAEFAULT);
  if (!entry.overlappedCapable) return fail(WSAEINVAL);
  const previous = operationOf(lpOverlapped);
  if (previous && !previous.done) return fail(WSAEINVAL);
  let op: Operation;
  try {
    op = new Operation(lpOverlapped, routine as CompletionRoutine | null, onDone);
  } catch {
    // A structure that cannot be written (frozen, throwing accessors): nothing started.
    return fail(WSAEFAULT);
  }
  const rc = start(op);
  if (rc === STARTED_COMPLETED) {
    const code = report(op);
    if (code !== 0) return fail(code);
    setLastError(0);
    return 0;
  }
  if (rc === STARTED_PENDING) return fail(WSA_IO_PENDING);
  op.abandon();
  return fail(rc);
}

/** A completed send's report: the byte count written, or the send's error. */
function sendReport(bytesRef: unknown): (op: Operation) => number {
  return (op) => op.status || (isRef(bytesRef) ? writeRef(bytesRef, op.bytes) : 0);
}

/**
 * `WSASendTo(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpTo, iTolen,
 * lpOverlapped, lpCompletionRoutine)`: gathers `dwBufferCount` WSABUFs into one datagram
 * to `lpTo` (or the connected peer). Overlapped (either of the last two given): 0 or
 * `SOCKET_ERROR` synchronously; otherwise a Promise of 0 or `SOCKET_ERROR`.
 */
export function WSASendTo(
  s: number,
  lpBuffers: readonly WSABUF[],
  dwBufferCount: number,
  lpNumberOfBytesSent: Ref | null,
  dwFlags: number,
  lpTo: SOCKADDR | null,
  iTolen: number,
  lpOverlapped: WSAOVERLAPPED | null,
  lpCompletionRoutine: CompletionRoutine | null,
): number | Promise<number> {
  return sendCall(
    s,
    lpBuffers,
    dwBufferCount,
    lpNumberOfBytesSent,
    dwFlags,
    lpTo,
    iTolen,
    lpOverlapped,
    lpCompletionRoutine,
    false,
  );
}

/** The one send path of `WSASendTo`, `WSASend`, `sendto` and `send`; never throws. */
function sendCall(
  s: unknown,
  lpBuffers: unknown,
  dwBufferCount: unknown,
  bytesRef: unknown,
  dwFlags: unknown,
  lpTo: unknown,
  iTolen: unknown,
  lpOverlapped: unknown,
  lpCompletionRoutine: unknown,
  connectedOnly: boolean,
): number | Promise<number> {
  const isOverlapped = isOverlappedCall(lpOverlapped, lpCompletionRoutine);
  try {
    const ready = prepareSend(s, lpBuffers, dwBufferCount, lpTo, iTolen);
    let code = typeof ready === "number" ? ready : 0;
    if (code === 0 && bytesRef !== null && bytesRef !== undefined && !isWritableRef(bytesRef)) code = WSAEFAULT;
    if (code === 0 && !isOverlapped && !isRef(bytesRef)) code = WSAEFAULT;
    if (code === 0 && connectedOnly && !(ready as { entry: SocketEntry }).entry.peer) code = WSAENOTCONN;
    const now = isOverlapped || (typeof ready === "number" ? isNonBlocking(s) : ready.entry.nonBlocking);
    if (code !== 0 || typeof ready === "number") return now ? fail(code) : failLater(code);
    const { entry, views, to } = ready;
    const flags = dwFlags as number;
    // A non-blocking socket's send is answered during the call: never held back to coalesce.
    const answerNow = !isOverlapped && entry.nonBlocking;
    const start = (op: Operation) => {
      const rc = entry.startSend(views, to, flags, op, answerNow);
      if (rc === WSAEWOULDBLOCK) noteSendRefused(entry);
      return rc;
    };
    if (isOverlapped) return overlappedCall(entry, lpOverlapped, lpCompletionRoutine, start, sendReport(bytesRef), null);
    if (!entry.nonBlocking) return blocking(start, sendReport(bytesRef));
    // A send the transport already holds (dgram's window of sends in flight, Winsock's
    // buffers) is on its way, as a send that Winsock buffered: it counts as sent.
    const held = () => (isRef(bytesRef) ? writeRef(bytesRef, byteLengthOf(views)) : 0);
    return nonBlockingCall(entry, start, sendReport(bytesRef), held);
  } catch {
    // A hostile argument (a throwing getter, a detached buffer) broke a check.
    return isOverlapped || isNonBlocking(s) ? fail(WSAEFAULT) : failLater(WSAEFAULT);
  }
}

/** True for a live socket made non-blocking (`FIONBIO`, `WSAEventSelect`). */
function isNonBlocking(s: unknown): boolean {
  const entry = lookupSocket(s);
  return typeof entry !== "number" && entry.nonBlocking;
}

/**
 * A non-overlapped call on a non-blocking socket, answered during the call: 0 when the
 * operation completed at once (`report` writes its out-parameters), else `SOCKET_ERROR`
 * with its error, or `WSAEWOULDBLOCK` when it would have to wait (it is withdrawn:
 * nothing is sent or received). `held` answers for an operation the transport holds and
 * cannot give back (a send on its way).
 */
function nonBlockingCall(
  entry: SocketEntry,
  start: (op: Operation) => number,
  report: (op: Operation) => number,
  held: (() => number) | null,
): number {
  const op = new Operation(null, null, null);
  op.limited = false;
  const rc = start(op);
  if (rc === STARTED_PENDING) {
    if (entry.cancel(op) || !held) {
      // A send refused for lack of room re-enables WSAEventSelect's FD_WRITE.
      if (held) noteSendRefused(entry);
      return fail(WSAEWOULDBLOCK);
    }
    const code = held();
    if (code !== 0) return fail(code);
    setLastError(0);
    return 0;
  }
  if (rc !== STARTED_COMPLETED) {
    op.abandon();
    return fail(rc);
  }
  const code = report(op);
  if (code !== 0) return fail(code);
  setLastError(0);
  return 0;
}

/**
 * `WSASend(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpOverlapped,
 * lpCompletionRoutine)`: as `WSASendTo` to the connected peer; `WSAENOTCONN` on an
 * unconnected socket, as Windows' `send` does.
 */
export function WSASend(
  s: number,
  lpBuffers: readonly WSABUF[],
  dwBufferCount: number,
  lpNumberOfBytesSent: Ref | null,
  dwFlags: number,
  lpOverlapped: WSAOVERLAPPED | null,
  lpCompletionRoutine: CompletionRoutine | null,
): number | Promise<number> {
  return sendCall(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, null, 0, lpOverlapped, lpCompletionRoutine, true);
}

/** `sendto` and `send`: one buffer; a Promise of the bytes sent or `SOCKET_ERROR`. */
function sendOne(
  s: unknown,
  buf: unknown,
  len: unknown,
  flags: unknown,
  to: unknown,
  tolen: unknown,
  connectedOnly: boolean,
): number | Promise<number> {
  const bytes: Ref = { value: 0 };
  const rc = sendCall(s, [{ len, buf }], 1, bytes, flags, to, tolen, null, null, connectedOnly);
  return typeof rc === "number" ? countOf(rc, bytes) : rc.then((r) => countOf(r, bytes));
}

/** The bytes of a call that succeeded (0), or its `SOCKET_ERROR`. */
function countOf(rc: number, bytes: Ref): number {
  return rc === 0 ? bytes.value : rc;
}

/**
 * `sendto(s, buf, len, flags, to, tolen)`: a Promise of the bytes sent or `SOCKET_ERROR`;
 * on a non-blocking socket the number itself, at once.
 */
export function sendto(
  s: number,
  buf: Uint8Array,
  len: number,
  flags: number,
  to: SOCKADDR | null,
  tolen: number,
): number | Promise<number> {
  return sendOne(s, buf, len, flags, to, tolen, false);
}

/** `send(s, buf, len, flags)`: `sendto` to the connected peer; `WSAENOTCONN` without one. */
export function send(s: number, buf: Uint8Array, len: number, flags: number): number | Promise<number> {
  return sendOne(s, buf, len, flags, null, 0, true);
}

// ---------------------------------------------------------------------------------
// Receiving

/** The out-parameters of a receive, checked before it starts. */
interface ReceiveOuts {
  readonly bytes: Ref | null;
  readonly flags: Ref;
  readonly from: Record<string, unknown> | null;
  readonly fromlen: Ref | null;
}

/** Checks a receive's arguments: the socket, the captured views and out-parameters, or an error. */
function prepareReceive(
  s: unknown,
  lpBuffers: unknown,
  dwBufferCount: unknown,
  bytesRef: unknown,
  lpFlags: unknown,
  lpFrom: unknown,
  lpFromlen: unknown,
  overlapped: boolean,
): { entry: SocketEntry; views: Uint8Array[]; outs: ReceiveOuts } | number {
  const entry = lookupSocket(s);
  if (typeof entry === "number") return entry;
  const views = captureWsabufs(lpBuffers, dwBufferCount);
  if (typeof views === "number") return views;
  if (bytesRef !== null && bytesRef !== undefined ? !isWritableRef(bytesRef) : !overlapped) return WSAEFAULT;
  if (!isWritableRef(lpFlags) || !isU32(lpFlags.value)) return WSAEFAULT;
  let from: Record<string, unknown> | null = null;
  let fromlen: Ref | null = null;
  if (lpFrom !== null && lpFrom !== undefined) {
    if (typeof lpFrom !== "object" || !isWritableRef(lpFromlen) || !Number.isInteger(lpFromlen.value)) return WSAEFAULT;
    if (lpFromlen.value < sockaddrSize(entry.family)) return WSAEFAULT;
    from = lpFrom as Record<string, unknown>;
    fromlen = lpFromlen;
    // lpFrom must take an address before anything is received: a frozen or hostile object
    // fails here, as a bad pointer does in Winsock, not after a datagram was consumed.
    try {
      writeSockaddr(from, wildcard(entry.family));
    } catch {
      return WSAEFAULT;
    }
  }
  return { entry, views, outs: { bytes: isRef(bytesRef) ? bytesRef : null, flags: lpFlags, from, fromlen } };
}

/** Writes the source address of a completed receive; `WSAEFAULT` if the caller's objects refuse. */
function writeFrom(outs: ReceiveOuts, op: Operation): number {
  if (!outs.from || !outs.fromlen || !op.from) return 0;
  try {
    outs.fromlen.value = writeSockaddr(outs.from, op.from);
    return 0;
  } catch {
    return WSAEFAULT;
  }
}

/** The one receive path of `WSARecvFrom`, `WSARecv` and `recvfrom`; never throws. */
function receiveCall(
  s: unknown,
  lpBuffers: unknown,
  dwBufferCount: unknown,
  bytesRef: unknown,
  lpFlags: unknown,
  lpFrom: unknown,
  lpFromlen: unknown,
  lpOverlapped: unknown,
  lpCompletionRoutine: unknown,
): number | Promise<number> {
  const isOverlapped = isOverlappedCall(lpOverlapped, lpCompletionRoutine);
  try {
    const ready = prepareReceive(s, lpBuffers, dwBufferCount, bytesRef, lpFlags, lpFrom, lpFromlen, isOverlapped);
    if (typeof ready === "number") return isOverlapped || isNonBlocking(s) ? fail(ready) : failLater(ready);
    const { entry, views, outs } = ready;
    const flags = outs.flags.value;
    const now = !isOverlapped && entry.nonBlocking;
    const start = (op: Operation) => entry.startReceive(views, flags, op, now);
    // A delayed completion writes the source address as it completes (lpFrom must stay
    // valid until then, as in Winsock) but leaves lpFlags alone: WSAGetOverlappedResult
    // reports the flags.
    const rc = isOverlapped
      ? overlappedCall(entry, lpOverlapped, lpCompletionRoutine, start, receiveReport(outs), (done) => writeFrom(outs, done))
      : entry.nonBlocking
        ? nonBlockingCall(entry, start, receiveReport(outs), null)
        : blocking(start, receiveReport(outs));
    // A receive call re-enables WSAEventSelect's FD_READ, once it took what it takes now.
    noteReceiveCall(entry);
    return rc;
  } catch {
    // A hostile argument (a throwing getter, a detached buffer) broke a check.
    return isOverlapped || isNonBlocking(s) ? fail(WSAEFAULT) : failLater(WSAEFAULT);
  }
}

/** What a completed receive reports through its out-parameters; its last error. */
function receiveReport(outs: ReceiveOuts): (op: Operation) => number {
  return (op) =>
    writeFrom(outs, op) || writeRef(outs.flags, op.flags) || (outs.bytes ? writeRef(outs.bytes, op.bytes) : 0) || op.status;
}

/**
 * `WSARecvFrom(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpFrom,
 * lpFromlen, lpOverlapped, lpCompletionRoutine)`: one datagram scattered over the WSABUFs,
 * its source in `lpFrom`. A datagram larger than the buffers fills them and fails with
 * `WSAEMSGSIZE` (`MSG_PARTIAL` in the flags; the rest is discarded). Overlapped: 0 (a
 * datagram was waiting) or `SOCKET_ERROR` (`WSA_IO_PENDING` or an error) synchronously;
 * otherwise a Promise of 0 or `SOCKET_ERROR`.
 */
export function WSARecvFrom(
  s: number,
  lpBuffers: readonly WSABUF[],
  dwBufferCount: number,
  lpNumberOfBytesRecvd: Ref | null,
  lpFlags: Ref,
  lpFrom: object | null,
  lpFromlen: Ref | null,
  lpOverlapped: WSAOVERLAPPED | null,
  lpCompletionRoutine: CompletionRoutine | null,
): number | Promise<number> {
  return receiveCall(
    s,
    lpBuffers,
    dwBufferCount,
    lpNumberOfBytesRecvd,
    lpFlags,
    lpFrom,
    lpFromlen,
    lpOverlapped,
    lpCompletionRoutine,
  );
}

/** `WSARecv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpOverlapped, lpCompletionRoutine)`: as `WSARecvFrom` without the source. */
export function WSARecv(
  s: number,
  lpBuffers: readonly WSABUF[],
  dwBufferCount: number,
  lpNumberOfBytesRecvd: Ref | null,
  lpFlags: Ref,
  lpOverlapped: WSAOVERLAPPED | null,
  lpCompletionRoutine: CompletionRoutine | null,
): number | Promise<number> {
  return receiveCall(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, null, null, lpOverlapped, lpCompletionRoutine);
}

/**
 * `recvfrom(s, buf, len, flags, from, fromlenRef)`: a Promise of the bytes received or
 * `SOCKET_ERROR`; on a non-blocking socket the number itself, at once.
 */
export function recvfrom(
  s: number,
  buf: Uint8Array,
  len: number,
  flags: number,
  from: object | null,
  fromlen: Ref | null,
): number | Promise<number> {
  const bytes: Ref = { value: 0 };
  const flagsRef: Ref = { value: flags };
  const rc = receiveCall(s, [{ len, buf }], 1, bytes, flagsRef, from, fromlen, null, null);
  return typeof rc === "number" ? countOf(rc, bytes) : rc.then((r) => countOf(r, bytes));
}

/**
 * `recv(s, buf, len, flags)`: `recvfrom` without the source. A Promise of the bytes
 * received or `SOCKET_ERROR`; on a non-blocking socket the number itself, at once.
 */
export function recv(s: number, buf: Uint8Array, len: number, flags: number): number | Promise<number> {
  return recvfrom(s, buf, len, flags, null, null);
}

// ---------------------------------------------------------------------------------
// Results

/**
 * The result of a completed (or never started) operation, read from its structure once:
 * the Winsock code its operation completed with (`Internal` holds the NTSTATUS, which a
 * structure that never carried an operation has as 0: success), and the byte count in
 * `InternalHigh`, which must be a 32-bit unsigned number, else `WSAEFAULT`. Never throws.
 */
function overlappedResult(ov: WSAOVERLAPPED, lpcbTransfer: Ref, lpdwFlags: Ref): boolean {
  try {
    const op = operationOf(ov);
    const internal: unknown = ov.Internal;
    const bytes: unknown = ov.InternalHigh;
    if (!isU32(internal) || !isU32(bytes)) return faultResult();
    const status = op ? op.status : internal === STATUS_SUCCESS ? 0 : WSAEINVAL;
    // A receive's flags (MSG_PARTIAL for a truncated datagram) are reported here.
    const flags = op?.flags ?? 0;
    if (writeRef(lpcbTransfer, bytes) !== 0 || writeRef(lpdwFlags, flags) !== 0) return faultResult();
    setLastError(status);
    return status === 0;
  } catch {
    return faultResult();
  }
}

function faultResult(): false {
  setLastError(WSAEFAULT);
  return false;
}

/**
 * `WSAGetOverlappedResult(s, lpOverlapped, lpcbTransfer, fWait, lpdwFlags)`. With
 * `fWait` falsy: `true`/`false` at once (`WSA_IO_INCOMPLETE` while pending); with `fWait`
 * truthy: a Promise of it, settled when the operation completes. `fWait` is read once, by
 * its truth (a Symbol or any object is true, and reading it runs no code). The answer is
 * always of that kind, never a throw nor a rejection: hostile arguments (a revoked Proxy,
 * throwing getters, a frozen or non-`WSAOVERLAPPED` structure, an `Internal` that is not a
 * Winsock code) give `false` with `WSAEFAULT` (or the socket's error).
 */
export function WSAGetOverlappedResult(
  s: number,
  lpOverlapped: WSAOVERLAPPED,
  lpcbTransfer: Ref,
  fWait: boolean,
  lpdwFlags: Ref,
): boolean | Promise<boolean> {
  const wait = Boolean(fWait);
  const result = guarded((): boolean | Promise<boolean> => {
    const entry = lookupSocket(s);
    const code =
      typeof entry === "number"
        ? entry
        : !(lpOverlapped instanceof WSAOVERLAPPED) || !isWritableRef(lpcbTransfer) || !isWritableRef(lpdwFlags)
          ? WSAEFAULT
          : 0;
    if (code !== 0) {
      setLastError(code);
      return false;
    }
    const op = operationOf(lpOverlapped);
    if (!op || op.done) return overlappedResult(lpOverlapped, lpcbTransfer, lpdwFlags);
    if (!wait) {
      setLastError(WSA_IO_INCOMPLETE);
      return false;
    }
    return op.whenDone().then(() => overlappedResult(lpOverlapped, lpcbTransfer, lpdwFlags));
  }, faultResult);
  return wait && typeof result === "boolean" ? Promise.resolve(result) : result;
}
