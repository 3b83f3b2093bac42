/**
 * A socket as the core keeps it: its backend socket, its Winsock state (bound,
 * connected peer, shutdown, options) and its in-flight operations. The facade and the
 * idiomatic API both drive sockets through this file, so each rule lives here once.
 */
import { type Backend, type BackendOption, type BackendSocket, type BatchItem, SEND_PENDING } from "./backend.js";
import { byteLengthOf } from "./buffers.js";
import {
  DEFAULT_MAX_OUTSTANDING_SENDS,
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
  MSG_DONTROUTE,
  MSG_PEEK,
  WSA_IO_PENDING,
  WSA_OPERATION_ABORTED,
  WSAEACCES,
  WSAEADDRNOTAVAIL,
  WSAEAFNOSUPPORT,
  WSAEDESTADDRREQ,
  WSAEINVAL,
  WSAEMSGSIZE,
  WSAEOPNOTSUPP,
  WSAESHUTDOWN,
  WSAEWOULDBLOCK,
} from "./constants.js";
import { isU32 } from "./inet.js";
import type { Completion, Operation, OperationOwner } from "./operation.js";
import type { NetworkEvents } from "./readiness.js";
import { routeLocalAddress } from "./route.js";
import { type Endpoint, type IPFamily, isBroadcast, isV4Mapped, isWildcard, wildcard } from "./sockaddr.js";

/** The flags a send accepts on a datagram socket. */
const SEND_FLAGS = MSG_DONTROUTE;

/**
 * What a new socket reports for an option nobody set, as Windows reports it (the kernel
 * underneath may keep another default: Linux's buffers are larger). Windows gives 64 KiB
 * to both buffers of a new UDP socket (the value the OS gives, not .NET's documented 8192:
 * dotnet/dotnet-api-docs#9493) and 128 as its default TTL and hop limit (the `DefaultTTL`
 * of Windows' TCP/IP parameters).
 */
const WINDOWS_DEFAULTS: Readonly<Partial<Record<BackendOption, number>>> = { sndbuf: 65536, rcvbuf: 65536, ttl: 128 };

/** The result of {@link SocketEntry.startSend} besides an error code: completed at once. */
export const STARTED_COMPLETED = 0;
/** The result of {@link SocketEntry.startSend}: pending, the operation completes later. */
export const STARTED_PENDING = WSA_IO_PENDING;

/** A core socket. */
export class SocketEntry implements OperationOwner {
  bound = false;
  peer: Endpoint | null = null;
  sendShutdown = false;
  receiveShutdown = false;
  closed = false;
  broadcast = false;
  maxOutstanding = DEFAULT_MAX_OUTSTANDING_SENDS;
  /** Overlapped operations started and not yet completed. */
  outstanding = 0;
  /** Non-blocking (`FIONBIO`, `WSAEventSelect`): the non-overlapped calls return at once. */
  nonBlocking = false;
  /** What `WSAEventSelect` set up for this socket, if anything. */
  networkEvents: NetworkEvents | null = null;
  readonly maxMessageSize: number;
  readonly #options = new Map<BackendOption, number>();
  /** `IPV6_V6ONLY`: an IPv6 socket is IPv6-only unless told otherwise before its bind, as on Windows. */
  v6only: boolean;
  /** The local address routing chose for the connected peer (text), while connected. */
  #routedLocal: string | null = null;

  constructor(
    readonly backend: Backend,
    readonly native: BackendSocket,
    readonly family: IPFamily,
    readonly overlappedCapable: boolean,
  ) {
    this.maxMessageSize = family === 4 ? MAX_UDP_PAYLOAD_IPV4 : MAX_UDP_PAYLOAD_IPV6;
    this.v6only = family === 6;
  }

  /** Binds to `local`; a socket binds once. */
  bind(local: Endpoint): number {
    if (this.bound) return WSAEINVAL;
    if (local.family !== this.family) return WSAEAFNOSUPPORT;
    const rc = this.native.bind(local);
    if (rc === 0) {
      this.bound = true;
      // What getsockopt reports is what the socket sends with: Windows' TTL, not the kernel's
      // own default (64 on Linux), unless the caller chose one. Bound, every backend can apply it.
      const ttl = WINDOWS_DEFAULTS.ttl as number;
      if (!this.#options.has("ttl")) this.native.setOption("ttl", ttl);
    }
    return rc;
  }

  /** Winsock's implicit bind: the wildcard address and a port the system picks. */
  bindImplicitly(): number {
    return this.bound ? 0 : this.bind(wildcard(this.family));
  }

  /** Checks a destination for this socket: family, wildcard, port 0, broadcast. */
  checkDestination(to: Endpoint): number {
    if (to.family !== this.family) return WSAEAFNOSUPPORT;
    if (isWildcard(to) || to.port === 0) return WSAEADDRNOTAVAIL;
    // An IPv6-only socket cannot reach IPv4 written the IPv6 way; Windows refuses it as an
    // address it cannot use (10049, as a connect there fails: warmcat/libwebsockets#2223).
    if (this.v6only && isV4Mapped(to)) return WSAEADDRNOTAVAIL;
    if (isBroadcast(to) && !this.broadcast) return WSAEACCES;
    return 0;
  }

  /** `connect` on a datagram socket: sets (or with `null`, dissolves) the default peer. */
  connect(peer: Endpoint | null): number {
    if (peer) {
      const rc = this.checkDestination(peer);
      if (rc !== 0) return rc;
    }
    const bound = this.bindImplicitly();
    if (bound !== 0) return bound;
    const rc = this.native.connect(peer);
    if (rc === 0) {
      this.peer = peer;
      this.#routedLocal = peer ? routeLocalAddress(peer, !this.v6only) : null;
    }
    return rc;
  }

  /**
   * The local endpoint `getsockname` reports: the bound one, except that a socket bound to
   * the wildcard and connected reports the address routing chose for its peer (with its own
   * port), as Windows does; a socket bound to a specific address keeps that address.
   */
  localAddress(): Endpoint | null {
    if (!this.bound) return null;
    const local = this.native.localAddress();
    if (!local || this.#routedLocal === null || !isWildcard(local)) return local;
    return { family: local.family, address: this.#routedLocal, port: local.port };
  }

  /** Sets an option on the socket and remembers it. */
  setOption(option: BackendOption, value: number): number {
    if (option === "v6only") {
      // Windows: dual-stack or not is decided before the bind, and only for IPv6 sockets.
      if (this.family !== 6 || this.bound) return WSAEINVAL;
      value = value !== 0 ? 1 : 0;
    }
    if (option === "coalesce") value = value !== 0 ? 1 : 0;
    const rc = this.native.setOption(option, value);
    if (rc === 0) {
      this.#options.set(option, value);
      if (option === "broadcast") this.broadcast = value !== 0;
      if (option === "v6only") this.v6only = value !== 0;
    }
    return rc;
  }

  /**
   * An option's value as Windows reports it: what was set (exactly: Linux doubles the
   * buffer sizes it is given, Windows does not), else Windows' default, else what the OS
   * reports, else undefined.
   */
  getOption(option: BackendOption): number | undefined {
    if (option === "v6only") return this.family === 6 ? Number(this.v6only) : undefined;
    // What is in effect, which a backend that never coalesces does not change.
    if (option === "coalesce") return this.native.getOption(option);
    return this.#options.get(option) ?? WINDOWS_DEFAULTS[option] ?? this.native.getOption(option);
  }

  /**
   * Starts a send of one datagram: every check Winsock makes before anything is sent,
   * the implicit bind, then the backend. Returns {@link STARTED_COMPLETED} (the operation
   * has completed), {@link STARTED_PENDING} (it completes later) or a Winsock error code
   * (nothing was sent and the operation is abandoned). With `now` the backend answers
   * during the call (a non-blocking socket's send): it does not hold the datagram back.
   */
  startSend(views: readonly Uint8Array[], to: Endpoint | null, flags: number, op: Operation, now = false): number {
    const rc = this.#checkSend(to, flags);
    if (rc !== 0) return rc;
    const total = byteLengthOf(views);
    if (total > this.maxMessageSize) return WSAEMSGSIZE;
    if (op.limited && this.outstanding >= this.maxOutstanding) return WSAEWOULDBLOCK;
    const bound = this.bindImplicitly();
    if (bound !== 0) return bound;
    op.owner = this;
    this.outstanding++;
    const outcome = this.native.send(views, total, to ?? (this.peer as Endpoint), flags, op, now);
    if (outcome === SEND_PENDING) return STARTED_PENDING;
    if (outcome >= 0) {
      op.complete(0, outcome);
      return STARTED_COMPLETED;
    }
    this.outstanding--;
    op.owner = null;
    return -outcome;
  }

  /**
   * Starts several datagrams in order (`sendmmsg` where the backend has it). All are
   * checked first: a failure returns its code and nothing is sent. Afterwards each
   * datagram completes through its own operation (`ops[i]`), at once or later.
   */
  startBatch(datagrams: readonly BatchDatagram[], flags: number, ops: readonly Operation[]): number {
    const items: BatchItem[] = new Array(datagrams.length);
    // A run of datagrams to the same endpoint object is checked once: nothing changes the
    // socket between them.
    let checked: Endpoint | null | undefined;
    for (let i = 0; i < datagrams.length; i++) {
      const { views, to } = datagrams[i] as BatchDatagram;
      if (to !== checked) {
        const rc = this.#checkSend(to, flags);
        if (rc !== 0) return rc;
        checked = to;
      }
      const byteLength = byteLengthOf(views);
      if (byteLength > this.maxMessageSize) return WSAEMSGSIZE;
      items[i] = { views, byteLength, to: to ?? (this.peer as Endpoint), completion: ops[i] as Operation };
    }
    const bound = this.bindImplicitly();
    if (bound !== 0) return bound;
    for (const op of ops) {
      op.owner = this;
      this.outstanding++;
    }
    if (this.native.sendMany) {
      this.native.sendMany(items, flags);
      return 0;
    }
    for (const item of items) this.#sendPart(item, flags);
    return 0;
  }

  /**
   * UDP GSO: `views` (one buffer of `byteLength` bytes) leave as datagrams of
   * `segmentSize` bytes, the last possibly shorter, completing `op` once with the total.
   * Where the backend or the kernel cannot, the core cuts the datagrams itself and sends
   * them as a batch. Returns which way it went (`"gso"`, `"cut"`), or a Winsock code
   * (nothing sent).
   */
  startSegments(
    views: readonly Uint8Array[],
    segmentSize: number,
    to: Endpoint | null,
    flags: number,
    op: Operation,
  ): "gso" | "cut" | number {
    const rc = this.#checkSend(to, flags);
    if (rc !== 0) return rc;
    const byteLength = byteLengthOf(views);
    if (!Number.isInteger(segmentSize) || segmentSize < 1 || byteLength === 0) return WSAEINVAL;
    if (segmentSize > this.maxMessageSize || byteLength > this.maxMessageSize) return WSAEMSGSIZE;
    if (Math.ceil(byteLength / segmentSize) > MAX_GSO_SEGMENTS) return WSAEMSGSIZE;
    const bound = this.bindImplicitly();
    if (bound !== 0) return bound;
    const dest = to ?? (this.peer as Endpoint);
    op.owner = this;
    this.outstanding++;
    const outcome = this.native.sendSegments?.(views, byteLength, segmentSize, dest, flags, op);
    if (outcome === undefined) {
      this.#sendCut(views, byteLength, segmentSize, dest, flags, op);
      return "cut";
    }
    if (outcome >= 0) op.complete(0, outcome);
    else if (outcome !== SEND_PENDING) op.complete(-outcome, 0);
    return "gso";
  }

  /** GSO's fallback: the datagrams cut here, sent as a batch, reported as one operation. */
  #sendCut(views: readonly Uint8Array[], byteLength: number, segmentSize: number, to: Endpoint, flags: number, op: Operation) {
    const whole = views.length === 1 ? (views[0] as Uint8Array) : concat(views, byteLength);
    const count = Math.ceil(byteLength / segmentSize);
    let remaining = count;
    let sent = 0;
    let firstError = 0;
    const parts: BatchItem[] = [];
    for (let i = 0; i < count; i++) {
      const view = whole.subarray(i * segmentSize, Math.min(byteLength, (i + 1) * segmentSize));
      const completion: Completion = {
        complete: (status, bytes) => {
          if (status === 0) sent += bytes;
          else firstError ||= status;
          if (--remaining === 0) op.complete(firstError, sent);
        },
      };
      parts.push({ views: [view], byteLength: view.byteLength, to, completion });
    }
    if (this.native.sendMany) this.native.sendMany(parts, flags);
    else for (const part of parts) this.#sendPart(part, flags);
  }

  /** Sends one batch item through `send`, completing it whatever the outcome. */
  #sendPart(item: BatchItem, flags: number): void {
    const outcome = this.native.send(item.views, item.byteLength, item.to, flags, item.completion);
    if (outcome >= 0) item.completion.complete(0, outcome);
    else if (outcome !== SEND_PENDING) item.completion.complete(-outcome, 0);
  }

  /**
   * Starts a receive of one datagram into `views`: Winsock's checks (a bound socket, no
   * `SD_RECEIVE`, flags `MSG_PEEK` at most), then the backend (with `now`, one that must
   * complete during the call, else `WSAEWOULDBLOCK`, where the backend can say so). Returns
   * {@link STARTED_COMPLETED} (a datagram was there), {@link STARTED_PENDING}, or a
   * Winsock code (nothing started).
   */
  startReceive(views: readonly Uint8Array[], flags: number, op: Operation, now = false): number {
    if (!isU32(flags)) return WSAEINVAL;
    if ((flags & ~MSG_PEEK) !== 0) return WSAEOPNOTSUPP;
    if (this.receiveShutdown) return WSAESHUTDOWN;
    if (!this.bound) return WSAEINVAL;
    if (op.limited && this.outstanding >= this.maxOutstanding) return WSAEWOULDBLOCK;
    // A receive that must complete now or not at all (a non-blocking socket), where the
    // backend cannot withdraw a receive it posted (Windows: Winsock holds it).
    const receiveNow = now ? this.native.receiveNow : undefined;
    if (receiveNow) return receiveNow.call(this.native, views, flags, op) ? STARTED_COMPLETED : WSAEWOULDBLOCK;
    op.owner = this;
    this.outstanding++;
    const rc = this.native.receive(views, flags, op);
    if (rc !== 0) {
      this.outstanding--;
      op.owner = null;
      return rc;
    }
    return op.done ? STARTED_COMPLETED : STARTED_PENDING;
  }

  #checkSend(to: Endpoint | null, flags: number): number {
    if (!isU32(flags)) return WSAEINVAL;
    if ((flags & ~SEND_FLAGS) !== 0) return WSAEOPNOTSUPP;
    if (this.sendShutdown) return WSAESHUTDOWN;
    if (to) return this.checkDestination(to);
    return this.peer ? 0 : WSAEDESTADDRREQ;
  }

  operationEnded(_op: Operation): void {
    this.outstanding--;
  }

  /** Withdraws a pending send if the backend still can; it then completes as aborted. */
  cancel(op: Operation): boolean {
    if (op.done || !this.native.cancel(op)) return false;
    op.complete(WSA_OPERATION_ABORTED, 0);
    return true;
  }

  /** Readable for `select`/`WSAPoll`: a receive would complete now (or the socket closed). */
  readable(): boolean {
    return this.closed || this.native.readable();
  }

  /** Writable for `select`/`WSAPoll`: a send would be taken now. */
  writable(): boolean {
    return !this.closed && this.native.writable();
  }

  /** Calls `onChange` when readability or writability (`interest`) may have turned true, and at close. */
  watch(interest: number, onChange: () => void): () => void {
    return this.closed ? () => {} : this.native.watchReadiness(interest, onChange);
  }

  /** Closes the socket; the backend completes every pending operation exactly once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.networkEvents?.stop();
    this.networkEvents = null;
    this.native.close();
  }
}

/** The most datagrams one GSO send may carry (Linux's UDP_MAX_SEGMENTS). */
export const MAX_GSO_SEGMENTS = 64;

/** One datagram of {@link SocketEntry.startBatch}: its captured views and destination (null: the peer). */
export interface BatchDatagram {
  readonly views: readonly Uint8Array[];
  readonly to: Endpoint | null;
}

function concat(views: readonly Uint8Array[], byteLength: number): Uint8Array {
  const out = new Uint8Array(byteLength);
  let at = 0;
  for (const v of views) {
    out.set(v, at);
    at += v.byteLength;
  }
  return out;
}

/** Opens a core socket on `backend`, or returns a Winsock error code. */
export function openSocket(backend: Backend, family: IPFamily, overlappedCapable: boolean): SocketEntry | number {
  const native = backend.open(family);
  if (typeof native === "number") return native;
  return new SocketEntry(backend, native, family, overlappedCapable);
}
