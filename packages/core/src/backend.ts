/**
 * The interface a backend implements. It is kept small: everything Winsock decides
 * (validation, connect and implicit-bind emulation, limits, overlapped bookkeeping,
 * error translation) happens in the core before a backend is called.
 */
import type { Completion, ReceiveCompletion } from "./operation.js";
import type { BufferReceiveCompletion } from "./receive.js";
import type { Endpoint, IPFamily } from "./sockaddr.js";

/**
 * Socket options a backend applies for the core. `v6only` (`IPV6_V6ONLY`, IPv6 sockets) is
 * set before the bind only (the core refuses it afterwards), and the socket is dual-stack
 * from that bind on when it is 0. `connreset` (`SIO_UDP_CONNRESET`, 1 by default): whether an
 * ICMP port-unreachable for an earlier send fails a later receive with `WSAECONNRESET`; 0
 * drops it, and receives wait for datagrams. `coalesce` (`SO_COALESCE_SENDS`): whether sends
 * posted in one synchronous run of JavaScript may leave together (one `sendmmsg`); a backend
 * that never coalesces reports 0 and accepts only 0.
 */
export type BackendOption = "broadcast" | "sndbuf" | "rcvbuf" | "ttl" | "v6only" | "connreset" | "coalesce";

/**
 * What `send` returns, one of three named outcomes:
 * - `completedNow(bytes)` (a number >= 0): the kernel took the datagram during the call;
 *   the core completes the operation itself and the backend never calls `complete`;
 * - {@link SEND_PENDING}: the backend will call `complete` exactly once, later;
 * - `failedNow(code)` (a number <= -2): nothing was sent and nothing will complete.
 */
export type SendOutcome = number;

/** Interest in readability, for {@link BackendSocket.watchReadiness}. */
export const READY_READ = 1;
/** Interest in writability, for {@link BackendSocket.watchReadiness}. */
export const READY_WRITE = 2;

/** The outcome of a send the backend will complete later. */
export const SEND_PENDING = -1;

/** The outcome of a send the kernel took during the call. */
export function completedNow(bytes: number): SendOutcome {
  return bytes;
}

/** The outcome of a send that failed at once with a Winsock code. */
export function failedNow(code: number): SendOutcome {
  return -code;
}

/** One datagram of a batch, as a backend receives it. */
export interface BatchItem {
  readonly views: readonly Uint8Array[];
  readonly byteLength: number;
  readonly to: Endpoint;
  readonly completion: Completion;
}

/**
 * What the caller of a receive may tell the backend on its completion object. `mayWait`
 * true: nobody can tell whether the receive completes during the call or later (the
 * idiomatic API's `receive`, a Promise), so a backend may hold it even when a datagram
 * waits, to serve it together with the receives posted after it in the same synchronous
 * run of JavaScript (the native backend: one `recvmmsg` at the end of the run), in order.
 * Without it a receive completes during the call when a datagram waits (Winsock's
 * immediate completion: an overlapped `WSARecvFrom` returns 0).
 */
export interface ReceiveHints {
  mayWait?: boolean;
}

/**
 * The completion of {@link BackendSocket.receiveMany}: `datagram` once for each datagram
 * received, in order, then `complete(0, count)` once; or `complete(error, 0)` alone (an
 * ICMP error as `WSAECONNRESET`, `WSA_OPERATION_ABORTED` at close).
 */
export interface ManyReceiveCompletion extends Completion {
  /**
   * A datagram arrived in `slots[slot]`: `bytes` written there (from its start), `truncated`
   * when it was larger than the slot (the rest is gone), its source, and with UDP GRO its
   * `segmentSize` (0 for a datagram as it was sent; else it holds several datagrams of that
   * size sent back to back by one sender, the last maybe shorter). Slots are used in order;
   * a slot may be skipped (a connected socket's datagram from another sender, dropped).
   */
  datagram(slot: number, bytes: number, truncated: boolean, from: Endpoint, segmentSize: number): void;
}

/** One socket of a backend. Every method returns a Winsock code (0: success), never throws. */
export interface BackendSocket {
  /** Binds to a local endpoint (the wildcard for the core's implicit bind). */
  bind(local: Endpoint): number;
  /** Associates a default peer, or dissolves it (`null`). The core passes the destination on every send anyway. */
  connect(peer: Endpoint | null): number;
  /**
   * Sends `views` (already captured, exactly the bytes to send, `byteLength` in all) as
   * one datagram to `to`. The views stay valid until the operation completes. With `now`
   * (a non-blocking socket's send, which must be answered during the call) the backend
   * does not hold the datagram back to coalesce it with later sends.
   */
  send(
    views: readonly Uint8Array[],
    byteLength: number,
    to: Endpoint,
    flags: number,
    completion: Completion,
    now?: boolean,
  ): SendOutcome;
  /**
   * Optional: sends many datagrams, in order, in as few system calls as the backend can
   * (`sendmmsg`). Every item's completion is called exactly once, during the call or later.
   */
  sendMany?(items: readonly BatchItem[], flags: number): void;
  /**
   * Optional: UDP GSO. One send of `byteLength` bytes that the kernel cuts into
   * `segmentSize`-byte datagrams (the last may be shorter). Returns `undefined` where the
   * kernel does not support it (the core then splits the datagrams itself).
   */
  sendSegments?(
    views: readonly Uint8Array[],
    byteLength: number,
    segmentSize: number,
    to: Endpoint,
    flags: number,
    completion: Completion,
  ): SendOutcome | undefined;
  /**
   * Receives one datagram into `views`, in order with the other receives. The backend
   * sets `completion.from` and `completion.flags`, then calls `complete` exactly once:
   * during the call when a datagram is already there, else when one arrives. Status 0;
   * `WSAEMSGSIZE` with the bytes that fit and `MSG_PARTIAL` for a datagram larger than
   * the views (the rest is discarded); an OS error (an ICMP error as `WSAECONNRESET`);
   * `WSA_OPERATION_ABORTED` at close. With `MSG_PEEK` in `flags` the datagram stays queued.
   * On a connected socket only datagrams from the peer are received. Returns 0, or a
   * Winsock code when the receive could not start (then nothing completes).
   */
  receive(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): number;
  /**
   * Optional: receives up to `slots.length` datagrams (at most 64) in one system call where
   * the backend can (`recvmmsg`), datagram i into the whole of `slots[i]`; for an iterator
   * of datagrams, whose buffers are its own. It takes its turn with the other receives, as
   * one posted receive: the datagrams waiting when its turn comes (at least one; it waits
   * for the first like a receive). Completes exactly once (see
   * {@link ManyReceiveCompletion}): during the call when something waits, else later;
   * withdrawn by `cancel(completion)`, aborted at close. On a connected socket, datagrams
   * from others are dropped. Returns 0, or a Winsock code (nothing started).
   */
  receiveMany?(slots: readonly Uint8Array[], completion: ManyReceiveCompletion): number;
  /**
   * Optional, for a backend that already holds each datagram in a buffer of its own
   * (dgram): every datagram queued when its turn comes (at least one; it waits for the
   * first like a receive), handed over as held, not copied; see
   * {@link BufferReceiveCompletion}. It takes its turn with the other receives, as one
   * posted receive; withdrawn by `cancel(completion)`, aborted at close. Returns 0, or a
   * Winsock code (nothing started).
   */
  receiveBuffers?(completion: BufferReceiveCompletion): number;
  /**
   * Optional: UDP GRO on or off (Linux `UDP_GRO`, where the kernel has it); returns whether
   * it is on now (false where it cannot be had). While it is on the kernel may coalesce
   * datagrams of one sender, and `receiveMany` reports them with their segment size; any
   * other receive gets them as one datagram. The segment size of what the kernel coalesced
   * is told only while GRO is on: read it before turning GRO off.
   */
  setGro?(on: boolean): boolean;
  /**
   * `FIONREAD`: bytes waiting to be received, 0 when none (dgram: every queued datagram's,
   * as Windows counts; native: what the kernel reports).
   */
  pending(): number;
  /** Whether a receive would complete now: a datagram, or an error to report, waits. */
  readable(): boolean;
  /** Whether a send would be taken now, with no send of this socket waiting for room. */
  writable(): boolean;
  /**
   * Calls `onChange` whenever what `readable()` (`interest & READY_READ`) or `writable()`
   * (`interest & READY_WRITE`) says may have turned true, and at close, until the returned
   * stop is called. It may be called when nothing changed; never from inside this call.
   */
  watchReadiness(interest: number, onChange: () => void): () => void;
  /**
   * `SIO_FLUSH`: every send not yet taken by the transport completes with
   * `WSA_OPERATION_ABORTED`. Sends the backend coalesced were taken at their call: they
   * leave first (so do they at `close`).
   */
  flush(): void;
  /**
   * Optional: receives one datagram during the call if one (or an error) waits, completing
   * `completion` then; returns false, posting nothing, when nothing waits. For a backend
   * that cannot withdraw a posted receive (`cancel`); the others are asked to `receive`,
   * then to `cancel` what did not complete.
   */
  receiveNow?(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): boolean;
  /** Datagrams dropped because the receive buffer was full, where the backend can tell. */
  drops(): number | undefined;
  /** Withdraws a pending operation (a send not yet at the kernel, a receive); true if it was withdrawn (the core then completes it as aborted). */
  cancel(completion: Completion): boolean;
  /** The bound local endpoint, or null before a bind. */
  localAddress(): Endpoint | null;
  setOption(option: BackendOption, value: number): number;
  /** The option's value as the OS reports it, or undefined where the backend cannot tell. */
  getOption(option: BackendOption): number | undefined;
  /**
   * Closes the socket. Every pending send completes exactly once afterwards: with its
   * real outcome if it reached the kernel, else with `WSA_OPERATION_ABORTED`.
   */
  close(): void;
}

/** A backend: a name and a way to open sockets. */
export interface Backend {
  readonly name: string;
  /** Opens a UDP socket of the family, or returns a Winsock error code. */
  open(family: IPFamily): BackendSocket | number;
}
