/**
 * `WSAStartup`/`WSACleanup`, the choice of backend, and the table of `SOCKET` handles.
 */
import type { Backend } from "./backend.js";
import { WSAEFAULT, WSAENOTSOCK, WSANOTINITIALISED, WSASYSNOTREADY, WSAVERNOTSUPPORTED } from "./constants.js";
import { setLastError } from "./last-error.js";
import type { SocketEntry } from "./socket.js";

/**
 * Chooses a backend for a requested name (`"dgram"`, `"native"`, `"auto"`): the backend,
 * or a sentence saying why it cannot be had.
 */
export type BackendSelector = (requested: string) => Backend | string;

/** `WSADATA`, as `WSAStartup` fills it. */
export interface WSADATA {
  wVersion?: number;
  wHighVersion?: number;
  szDescription?: string;
  szSystemStatus?: string;
  iMaxSockets?: number;
  iMaxUdpDg?: number;
  lpVendorInfo?: null;
}

const HIGHEST_VERSION = 0x0202;

let selector: BackendSelector | null = null;
let startCount = 0;
let current: Backend | null = null;
let unavailableReason = "";
const sockets = new Map<number, SocketEntry>();
// Windows hands out multiples of 4; never reusing a handle keeps a stale one from
// reaching a newer socket.
let nextHandle = 0x100;

/** Installs how `WSAStartup` finds a backend (the `wsasendto` package does this). */
export function configureBackends(select: BackendSelector): void {
  selector = select;
}

/** A backend by name for one socket (`WSAPROTOCOL_INFO.szProtocol`), or why it cannot be had. */
export function backendByName(name: string): Backend | string {
  return selector ? selector(name) : "no backends are configured";
}

/** The backend `WSAStartup` chose, or null before it. */
export function currentBackend(): Backend | null {
  return current;
}

/** `backendName()`: the name of the backend in use (`"none"` before `WSAStartup`). */
export function backendName(): string {
  return current?.name ?? "none";
}

/** Why the last `WSAStartup` returned `WSASYSNOTREADY` (empty otherwise). */
export function backendUnavailableReason(): string {
  return unavailableReason;
}

/**
 * `WSAStartup(wVersionRequested, lpWSAData)`: 0, or `WSAVERNOTSUPPORTED` (a version
 * below 1.0), `WSAEFAULT` (an `lpWSAData` that is not an object), `WSASYSNOTREADY` (the
 * backend named by `WSASENDTO_BACKEND` cannot load). Reference counted.
 */
export function WSAStartup(wVersionRequested: number, lpWSAData?: WSADATA | null): number {
  if (!Number.isInteger(wVersionRequested) || wVersionRequested < 0 || wVersionRequested > 0xffff) return WSAVERNOTSUPPORTED;
  const major = wVersionRequested & 0xff;
  const minor = wVersionRequested >> 8;
  if (major < 1) return WSAVERNOTSUPPORTED;
  if (lpWSAData !== undefined && lpWSAData !== null && typeof lpWSAData !== "object") return WSAEFAULT;
  const first = startCount === 0;
  if (first) {
    const requested = process.env.WSASENDTO_BACKEND?.trim() || "auto";
    const chosen = selector ? selector(requested) : "no backends are configured (import the wsasendto package)";
    if (typeof chosen === "string") {
      unavailableReason = chosen;
      return WSASYSNOTREADY;
    }
    unavailableReason = "";
    current = chosen;
  }
  if (lpWSAData) {
    const wanted = major > 2 || (major === 2 && minor >= 2) ? HIGHEST_VERSION : wVersionRequested;
    try {
      Object.assign(lpWSAData, {
        wVersion: wanted,
        wHighVersion: HIGHEST_VERSION,
        szDescription: "WinSock 2.0",
        szSystemStatus: `Running (wsasendto, ${current?.name} backend)`,
        iMaxSockets: 0,
        iMaxUdpDg: 0,
        lpVendorInfo: null,
      });
    } catch {
      // A WSADATA that cannot be written (frozen, a throwing Proxy): as a bad pointer.
      if (first) current = null;
      return WSAEFAULT;
    }
  }
  startCount++;
  return 0;
}

/**
 * `WSACleanup()`: 0, or `SOCKET_ERROR` with `WSANOTINITIALISED`. The last cleanup closes
 * every socket still open; their pending operations complete as `closesocket` does.
 */
export function WSACleanup(): number {
  if (startCount === 0) {
    setLastError(WSANOTINITIALISED);
    return -1;
  }
  if (--startCount === 0) {
    for (const entry of sockets.values()) entry.close();
    sockets.clear();
    current = null;
  }
  return 0;
}

/** True between a successful `WSAStartup` and the last `WSACleanup`. */
export function isStarted(): boolean {
  return startCount > 0;
}

/** The socket of a handle, or `WSANOTINITIALISED` / `WSAENOTSOCK`. */
export function lookupSocket(s: unknown): SocketEntry | number {
  if (startCount === 0) return WSANOTINITIALISED;
  return (typeof s === "number" && sockets.get(s)) || WSAENOTSOCK;
}

/** Gives a socket a handle. */
export function registerSocket(entry: SocketEntry): number {
  const handle = nextHandle;
  nextHandle += 4;
  sockets.set(handle, entry);
  return handle;
}

/** Forgets a handle. */
export function unregisterSocket(s: number): void {
  sockets.delete(s);
}
