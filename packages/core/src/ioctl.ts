/**
 * `ioctlsocket` and `WSAIoctl`: the control codes a UDP program uses. `FIONBIO` makes the
 * non-overlapped calls return at once (the result, or `WSAEWOULDBLOCK`); `FIONREAD` tells
 * the bytes waiting; `SIO_UDP_CONNRESET` switches the reporting of ICMP port-unreachable
 * errors on a later receive (on by default); `SIO_FLUSH` aborts the sends not yet taken by
 * the transport, each completing once with `WSA_OPERATION_ABORTED`.
 */
import {
  FIONBIO,
  FIONREAD,
  SIO_FLUSH,
  SIO_UDP_CONNRESET,
  SOCKET_ERROR,
  WSAEFAULT,
  WSAEINVAL,
  WSAEOPNOTSUPP,
} from "./constants.js";
import { isU32 } from "./inet.js";
import { setLastError } from "./last-error.js";
import type { SocketEntry } from "./socket.js";
import { lookupSocket } from "./startup.js";

/** `u_long *argp` / an out-parameter: `{ value }`. */
interface Ref {
  value: number;
}

function fail(code: number): number {
  setLastError(code);
  return SOCKET_ERROR;
}

/** `FIONBIO`: non-blocking on (nonzero) or off; off is refused while `WSAEventSelect` holds the socket. */
function setNonBlocking(entry: SocketEntry, on: boolean): number {
  if (!on && entry.networkEvents) return WSAEINVAL;
  entry.nonBlocking = on;
  return 0;
}

/** `FIONREAD`: the bytes waiting to be received (0 before a bind). */
function bytesWaiting(entry: SocketEntry): number {
  return entry.bound && !entry.closed ? entry.native.pending() : 0;
}

function readU32Ref(ref: unknown): number | null {
  if (typeof ref !== "object" || ref === null) return null;
  const v: unknown = (ref as Ref).value;
  return typeof v === "number" || typeof v === "boolean" ? Number(v) >>> 0 : null;
}

function writeRef(ref: unknown, value: number): boolean {
  if (typeof ref !== "object" || ref === null) return false;
  (ref as Ref).value = value;
  return true;
}

/**
 * `ioctlsocket(s, cmd, argp)`: 0 or `SOCKET_ERROR`. `FIONBIO` (`argp.value` nonzero:
 * non-blocking) and `FIONREAD` (`argp.value` gets the bytes waiting); another `cmd` fails
 * with `WSAEINVAL`, a missing or unreadable `argp` with `WSAEFAULT`.
 */
export function ioctlsocket(s: number, cmd: number, argp: Ref): number {
  try {
    const entry = lookupSocket(s);
    if (typeof entry === "number") return fail(entry);
    if (cmd === FIONBIO) {
      const on = readU32Ref(argp);
      if (on === null) return fail(WSAEFAULT);
      const rc = setNonBlocking(entry, on !== 0);
      if (rc !== 0) return fail(rc);
    } else if (cmd === FIONREAD) {
      if (!writeRef(argp, bytesWaiting(entry))) return fail(WSAEFAULT);
    } else {
      return fail(WSAEINVAL);
    }
    setLastError(0);
    return 0;
  } catch {
    return fail(WSAEFAULT);
  }
}

/** A BOOL or DWORD input given as a number or little-endian bytes (`cb` of them, at least 4). */
function readInput(value: unknown, cb: unknown): number | null {
  if (typeof value === "number" || typeof value === "boolean") return Number(value) >>> 0;
  if (!(value instanceof Uint8Array) || !isU32(cb) || cb < 4 || value.byteLength < 4) return null;
  return ((value[0] as number) | ((value[1] as number) << 8) | ((value[2] as number) << 16) | ((value[3] as number) << 24)) >>> 0;
}

/** Writes a DWORD output to `{ value }` or 4 little-endian bytes (`cb` at least 4); false if it cannot. */
function writeOutput(out: unknown, cb: unknown, value: number): boolean {
  if (out instanceof Uint8Array) {
    if (!isU32(cb) || cb < 4 || out.byteLength < 4) return false;
    new DataView(out.buffer, out.byteOffset, 4).setUint32(0, value >>> 0, true);
    return true;
  }
  return writeRef(out, value);
}

/**
 * `WSAIoctl(s, dwIoControlCode, lpvInBuffer, cbInBuffer, lpvOutBuffer, cbOutBuffer,
 * lpcbBytesReturned, lpOverlapped, lpCompletionRoutine)`: 0 or `SOCKET_ERROR`, at once
 * (these codes complete during the call; `lpOverlapped` and the routine are not used).
 * `FIONBIO` and `SIO_UDP_CONNRESET` take a number or 4 bytes in; `FIONREAD` writes 4 bytes
 * (or `{ value }`) out and sets `lpcbBytesReturned.value` to 4; `SIO_FLUSH` takes nothing.
 * An input or output that is missing or too small fails with `WSAEFAULT`; another code with
 * `WSAEOPNOTSUPP`, as Windows answers for an ioctl a datagram socket does not support.
 */
export function WSAIoctl(
  s: number,
  dwIoControlCode: number,
  lpvInBuffer: number | Uint8Array | null,
  cbInBuffer: number,
  lpvOutBuffer: Ref | Uint8Array | null,
  cbOutBuffer: number,
  lpcbBytesReturned: Ref | null,
  _lpOverlapped: unknown,
  _lpCompletionRoutine: unknown,
): number {
  try {
    const entry = lookupSocket(s);
    if (typeof entry === "number") return fail(entry);
    let returned = 0;
    if (dwIoControlCode === FIONBIO || dwIoControlCode === SIO_UDP_CONNRESET) {
      const value = readInput(lpvInBuffer, cbInBuffer);
      if (value === null) return fail(WSAEFAULT);
      const rc =
        dwIoControlCode === FIONBIO ? setNonBlocking(entry, value !== 0) : entry.setOption("connreset", value !== 0 ? 1 : 0);
      if (rc !== 0) return fail(rc);
    } else if (dwIoControlCode === FIONREAD) {
      if (!writeOutput(lpvOutBuffer, cbOutBuffer, bytesWaiting(entry))) return fail(WSAEFAULT);
      returned = 4;
    } else if (dwIoControlCode === SIO_FLUSH) {
      entry.native.flush();
    } else {
      return fail(WSAEOPNOTSUPP);
    }
    if (lpcbBytesReturned !== null && lpcbBytesReturned !== undefined && !writeRef(lpcbBytesReturned, returned)) {
      return fail(WSAEFAULT);
    }
    setLastError(0);
    return 0;
  } catch {
    return fail(WSAEFAULT);
  }
}
