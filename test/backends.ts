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
}

/** A backend under test: its name (as WSASENDTO_BACKEND / `backend:` spell it) and its deviations. */
export interface BackendUnderTest {
  readonly name: Exclude<BackendName, "auto">;
  readonly deviations: Deviations;
}

/** The registry: one line per backend. */
export const BACKENDS: readonly BackendUnderTest[] = [
  // node:dgram completes every send from dgram's callback (never during the call) and
  // cannot pass MSG_DONTROUTE down.
  {
    name: "dgram",
    deviations: {
      immediateCompletion: "never",
      dontRouteReachesKernel: false,
      kernelGso: false,
      icmpErrorOnReceive: false,
      // The kernel's share is read from the socket's row of /proc/net/udp (Linux).
      dropsCounted: process.platform === "linux",
      // The backend's own queue knows every datagram it holds.
      fionreadCountsAll: true,
    },
  },
  // The addon sends with sendmsg during the call (immediate completion when the kernel
  // takes the datagram; on Linux a burst's later sends coalesce) and passes MSG_DONTROUTE down; the core keeps the peer. GSO is
  // Linux's (UDP_SEGMENT, kernel 4.18 and later).
  {
    name: "native",
    deviations: {
      // Coalescing needs sendmmsg (Linux); Windows' WSASendTo completes each send at its call.
      immediateCompletion: process.platform === "linux" ? "lone" : "always",
      dontRouteReachesKernel: true,
      kernelGso: process.platform === "linux",
      // Linux through IP_RECVERR; Windows' own Winsock reports it (SIO_UDP_CONNRESET is on by default).
      icmpErrorOnReceive: process.platform === "linux" || process.platform === "win32",
      // SO_MEMINFO (Linux).
      dropsCounted: process.platform === "linux",
      // POSIX: the kernel's queue is read with a peek, the first datagram's size. Windows:
      // Winsock's own FIONREAD, every datagram waiting (Wine 8 counts only the first).
      fionreadCountsAll: process.platform === "win32",
    },
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
