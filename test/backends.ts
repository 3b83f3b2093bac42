/**
 * The backends the behaviour suite runs against. A backend joins the suite by one line
 * here; every behaviour file iterates over BACKENDS (`describe.each(BACKENDS)`).
 *
 * Each backend carries ONE table of named deviations: the places where it is allowed to
 * differ from Winsock on Windows, and in which direction. A test whose outcome depends
 * on one of them branches on the named entry and asserts the backend's documented
 * behaviour in each branch (never a silent skip).
 */
import type { BackendName } from "wsasendto";

/** Where a backend is allowed to differ from Winsock on Windows. */
export interface Deviations {
  /**
   * Whether an overlapped send completes during its call (returns 0, the bytes counter is
   * filled, `sendToOverlapped().completedSynchronously` is true), as Winsock does when the
   * kernel takes the datagram at once:
   * - `"always"`: every send the kernel takes at once (Windows' own Winsock; the native
   *   backend where it cannot coalesce, or with `SO_COALESCE_SENDS` off);
   * - `"lone"`: the first send of a synchronous run of JavaScript; the sends posted after
   *   it in the same run (a burst) return WSA_IO_PENDING and complete together at the end
   *   of the run, coalesced into one `sendmmsg`, in order (the native backend on Linux);
   * - `"never"`: every overlapped send returns SOCKET_ERROR with WSA_IO_PENDING and
   *   completes later (node:dgram calls back after the call).
   * `sendBatch` and `sendSegments` complete during the call except where it is `"never"`.
   */
  readonly immediateCompletion: "always" | "lone" | "never";
  /**
   * MSG_DONTROUTE reaches the kernel (SO_DONTROUTE semantics). False: the flag is
   * accepted and ignored, which Winsock allows ("A Windows Socket service provider may
   * choose to ignore this flag"). On loopback both deliver the datagram.
   */
  readonly dontRouteReachesKernel: boolean;
  /**
   * `sendSegments` hands the kernel one UDP GSO send (`UDP_SEGMENT`) that it cuts into
   * datagrams (`gso: true`). False: the core cuts the datagrams and sends them as a batch.
   * Both deliver the same datagrams.
   */
  readonly kernelGso: boolean;
  /**
   * An ICMP port-unreachable for an earlier send from an unconnected socket comes back as
   * WSAECONNRESET on the socket's next receive, as on Windows (Linux: IP_RECVERR). The
   * error is reported once; a later receive works normally. False: the error is never
   * reported (node:dgram does not report ICMP errors on unconnected sockets), and the
   * receive stays pending until a datagram arrives or the socket closes.
   */
  readonly icmpErrorOnReceive: boolean;
  /**
   * `drops` (idiomatic API) counts every datagram lost on the way to the caller, the
   * kernel's drops included, as a number. False: the platform does not tell the kernel's
   * drops, and `drops` is `undefined` ("unknown"), never a 0 that could be a lie.
   */
  readonly dropsCounted: boolean;
  /**
   * `FIONREAD` counts the bytes of every datagram waiting, as Windows does for a datagram
   * socket. False: it reports the size of the first datagram waiting (what Linux's FIONREAD
   * tells about the kernel's queue); either way it is 0 exactly when nothing waits.
   */
  readonly fionreadCountsAll: boolean;
  /**
   * A datagram sent from a socket bound to a specific loopback address other than
   * 127.0.0.1 (127.0.0.2) leaves from that address, as on Windows and Linux, where every
   * 127/8 address is local. False (Wine 8): Wine's server binds the Unix socket to 0.0.0.0
   * instead (server/sock.c, IOCTL_AFD_BIND) while getsockname still reports 127.0.0.2, so
   * the datagram leaves from 127.0.0.1. Both backends see it: it is the lane's, not theirs.
   */
  readonly boundSourceKept: boolean;
  /**
   * A send that has to wait for room in the kernel (a throttled loopback) is delivered
   * later with its bytes, as on Windows, whose Winsock captures the destination at the
   * call. False (Wine 8, dgram backend): Wine keeps the caller's pointer to the
   * destination of an overlapped WSASendTo that pends and reads it only when it retries
   * the send (dlls/ntdll/unix/socket.c, sock_ioctl_send: `async->addr = addr`; try_send
   * converts it then). libuv, under node:dgram, passes an address that lived on the
   * caller's stack, so such a send completes, once, with WSAEFAULT or WSAEINVAL (Node's
   * EFAULT, EINVAL) and never arrives. The native addon keeps the address with the
   * operation until it completes. Only seen where sends wait: the Wine lane's throttled
   * steps (THROTTLED); on plain loopback Wine never lets a send wait.
   */
  readonly pendingSendsDelivered: boolean;
  /**
   * A pending receive whose buffers the caller detached (transferred) or shrank before a
   * datagram came fails with WSAEFAULT and leaves the datagram for the next receive: the
   * backend reaches the buffers only with a datagram in hand. False: the receive was
   * handed to Winsock at its call (native on Windows), and Winsock took the next datagram
   * for it; the receive fails with WSAEFAULT and that datagram is lost. Either way the
   * caller's memory is never written after it changed (on Windows the backend receives
   * into a buffer of its own and copies).
   */
  readonly detachedReceiveKeepsDatagram: boolean;
  /**
   * An overlapped receive that finds a datagram waiting completes during its call (returns
   * 0, flags and bytes filled), as Winsock does with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS.
   * False: it returns WSA_IO_PENDING and completes through the completion port (the native
   * addon on Windows with WSASENDTO_WIN_SKIP_ON_SUCCESS=0, the Wine lane's second mode).
   */
  readonly immediateReceive: boolean;
  /**
   * A send that does not complete during its call can wait in the backend (for room, or
   * coalesced, or beyond dgram's 64 in flight), where an AbortSignal, closesocket or
   * SIO_FLUSH withdraws it (WSA_OPERATION_ABORTED, never sent, or WSAEINTR for a blocking
   * one) and a buffer detached meanwhile fails it with WSAEFAULT. False (native on
   * Windows): every send is with Winsock from its call (an overlapped WSASendTo that pends
   * inside Winsock, or whose completion comes through the port), so nothing waits in the
   * backend: such a send completes with its real outcome.
   */
  readonly sendsWaitInBackend: boolean;
  /**
   * A non-blocking socket's send is handed to the kernel during its call (a non-blocking
   * sendmsg, or a non-overlapped WSASendTo, in either completion mode), so on plain
   * loopback it is taken at once and never refused with WSAEWOULDBLOCK. False: the backend
   * cannot send during the call (node:dgram calls back later); a non-blocking send is
   * refused with WSAEWOULDBLOCK once the sends it has in flight fill its window, and
   * FD_WRITE is re-enabled when room comes.
   */
  readonly nonBlockingSendAtCall: boolean;
}

/**
 * Where the suite runs. "wine" is Windows' node.exe under Wine on Linux (the Wine lane,
 * scripts/wine/run.sh, sets WSASENDTO_WINE=1): Windows code paths over Wine's Winsock,
 * which differs from Windows' in places. Those places are Wine's, not the library's:
 * each "wine" entry below that differs from "win32" names the Wine behaviour and where
 * Windows' behaviour is shown (README.md, "Windows, tested on Linux under Wine", has the table with sources).
 */
export type Lane = "linux" | "darwin" | "win32" | "wine";
export const LANE: Lane =
  process.platform === "win32"
    ? process.env.WSASENDTO_WINE === "1"
      ? "wine"
      : "win32"
    : process.platform === "darwin"
      ? "darwin"
      : "linux";

/**
 * True in the Wine lane's throttled steps (scripts/wine/netns.sh, WSASENDTO_WINE_NETNS=1):
 * the whole run is inside a network namespace whose loopback is rate-limited, so sends
 * really wait (WSA_IO_PENDING), which Wine's plain loopback never makes them do.
 */
export const THROTTLED = LANE === "wine" && process.env.WSASENDTO_WINE_NETNS === "1";

/**
 * The native addon on Windows completes at the call what Winsock completes at once
 * (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), unless WSASENDTO_WIN_SKIP_ON_SUCCESS=0 sends every
 * completion through the port: the Wine lane runs the suite both ways.
 */
const SKIP_ON_SUCCESS = process.env.WSASENDTO_WIN_SKIP_ON_SUCCESS !== "0";

/** One deviation's value on each lane: a column per lane. */
type PerLane<T> = Readonly<Record<Lane, T>>;
type DeviationTable = { readonly [K in keyof Deviations]: PerLane<Deviations[K]> };
function onThisLane(table: DeviationTable): Deviations {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v[LANE]])) as unknown as Deviations;
}

/** A backend under test: its name (as WSASENDTO_BACKEND / `backend:` spell it) and its deviations. */
export interface BackendUnderTest {
  readonly name: Exclude<BackendName, "auto">;
  readonly deviations: Deviations;
}

/** The registry: one line per backend, one column per lane. */
export const BACKENDS: readonly BackendUnderTest[] = [
  // node:dgram completes every send from dgram's callback (never during the call) and
  // cannot pass MSG_DONTROUTE down.
  {
    name: "dgram",
    deviations: onThisLane({
      immediateCompletion: { linux: "never", darwin: "never", win32: "never", wine: "never" },
      dontRouteReachesKernel: { linux: false, darwin: false, win32: false, wine: false },
      kernelGso: { linux: false, darwin: false, win32: false, wine: false },
      icmpErrorOnReceive: { linux: false, darwin: false, win32: false, wine: false },
      // The kernel's share is read from the socket's row of /proc/net/udp (Linux).
      dropsCounted: { linux: true, darwin: false, win32: false, wine: false },
      // The backend's own queue knows every datagram it holds.
      fionreadCountsAll: { linux: true, darwin: true, win32: true, wine: true },
      boundSourceKept: { linux: true, darwin: true, win32: true, wine: false },
      pendingSendsDelivered: { linux: true, darwin: true, win32: true, wine: false },
      detachedReceiveKeepsDatagram: { linux: true, darwin: true, win32: true, wine: true },
      immediateReceive: { linux: true, darwin: true, win32: true, wine: true },
      sendsWaitInBackend: { linux: true, darwin: true, win32: true, wine: true },
      nonBlockingSendAtCall: { linux: false, darwin: false, win32: false, wine: false },
    }),
  },
  // The addon sends with sendmsg during the call (immediate completion when the kernel
  // takes the datagram; on Linux a burst's later sends coalesce) and passes MSG_DONTROUTE
  // down; the core keeps the peer. GSO is Linux's (UDP_SEGMENT, kernel 4.18 and later).
  {
    name: "native",
    deviations: onThisLane({
      // Coalescing needs sendmmsg (Linux); Windows' WSASendTo completes each send at its call
      // (through the port instead with WSASENDTO_WIN_SKIP_ON_SUCCESS=0: never during it).
      immediateCompletion: {
        linux: "lone",
        darwin: "always",
        win32: SKIP_ON_SUCCESS ? "always" : "never",
        wine: SKIP_ON_SUCCESS ? "always" : "never",
      },
      dontRouteReachesKernel: { linux: true, darwin: true, win32: true, wine: true },
      kernelGso: { linux: true, darwin: false, win32: false, wine: false },
      // Linux through IP_RECVERR; Windows' own Winsock reports it (SIO_UDP_CONNRESET is on
      // by default). Wine 8 ignores the ICMP error: the receive waits for the next datagram.
      icmpErrorOnReceive: { linux: true, darwin: false, win32: true, wine: false },
      // SO_MEMINFO (Linux).
      dropsCounted: { linux: true, darwin: false, win32: false, wine: false },
      // POSIX: the kernel's queue is read with a peek, the first datagram's size. Windows:
      // Winsock's own FIONREAD, every datagram waiting; Wine 8 counts only the first.
      fionreadCountsAll: { linux: false, darwin: false, win32: true, wine: false },
      boundSourceKept: { linux: true, darwin: true, win32: true, wine: false },
      pendingSendsDelivered: { linux: true, darwin: true, win32: true, wine: true },
      detachedReceiveKeepsDatagram: { linux: true, darwin: true, win32: false, wine: false },
      immediateReceive: { linux: true, darwin: true, win32: SKIP_ON_SUCCESS, wine: SKIP_ON_SUCCESS },
      sendsWaitInBackend: { linux: true, darwin: true, win32: false, wine: false },
      nonBlockingSendAtCall: { linux: true, darwin: true, win32: true, wine: true },
    }),
  },
];
/** True where an overlapped send may complete during its call (`immediateCompletion` not "never"). */
export function completesDuringCall(backend: BackendUnderTest): boolean {
  return backend.deviations.immediateCompletion !== "never";
}

/** True when the registry has a backend of this name. */
export function hasBackend(name: string): boolean {
  return BACKENDS.some((b) => b.name === name);
}
