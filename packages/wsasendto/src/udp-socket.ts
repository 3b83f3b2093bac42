/**
 * The idiomatic API, for users who are not porting C: a UDP socket object whose sends
 * are Promises and whose failures are thrown as {@link WSAError}. It drives the same core
 * sockets as the Winsock facade: the same checks, the same backends, the same errors.
 */
import {
  type BatchDatagram,
  captureViews,
  type Endpoint,
  MSG_PEEK,
  Operation,
  openSocket,
  parseEndpoint,
  resolveSoon,
  type SocketEntry,
  STARTED_COMPLETED,
  STARTED_PENDING,
  WSA_OPERATION_ABORTED,
  WSAEAFNOSUPPORT,
  WSAEFAULT,
  WSAEINVAL,
  WSAEMSGSIZE,
  WSAENOTCONN,
  WSAENOTSOCK,
  WSAError,
} from "@wsasendto/core";
import { type BackendName, selectBackend } from "./backends.js";

/** Where a datagram goes, or where a socket is bound: an IP literal and a port. */
export interface Address {
  readonly address: string;
  readonly port: number;
}

/** A bound address, with its family. */
export interface LocalAddress extends Address {
  readonly family: "IPv4" | "IPv6";
}

/** Options of {@link openUdpSocket}. */
export interface UdpSocketOptions {
  /** `"ipv4"` (default) or `"ipv6"`. */
  readonly family?: "ipv4" | "ipv6";
  /** Binds at once (the wildcard address and port 0 where omitted); unbound sockets bind at their first send. */
  readonly bind?: Partial<Address>;
  /** The backend; default: `WSASENDTO_BACKEND`, else `auto`. */
  readonly backend?: BackendName;
  /** Allows sends to the broadcast address (`SO_BROADCAST`). */
  readonly broadcast?: boolean;
  /** The most sends in flight before `sendTo` fails with `WSAEWOULDBLOCK` (default 4096). */
  readonly maxOutstandingSends?: number;
  /** `SO_RCVBUF`: how many bytes of datagrams wait for receives before new ones are dropped. */
  readonly receiveBufferSize?: number;
  /**
   * `SO_COALESCE_SENDS`: true (the default) lets the sends posted in one synchronous run of
   * JavaScript leave together in one system call where the backend can (the native backend
   * on Linux: one `sendmmsg`, in order); false sends each during its call.
   */
  readonly coalesceSends?: boolean;
  /**
   * `IPV6_V6ONLY` (IPv6 sockets): true by default, as on Windows. False makes the socket
   * dual-stack: it reaches IPv4 peers as `::ffff:a.b.c.d`, and IPv4 senders appear so.
   */
  readonly ipv6Only?: boolean;
}

/** Options of one send. */
export interface SendOptions {
  /** Winsock send flags (`MSG_DONTROUTE`); others fail with `WSAEOPNOTSUPP`. */
  readonly flags?: number;
  /** Cancels the send while it is pending: it fails with `WSA_OPERATION_ABORTED` and is never sent. */
  readonly signal?: AbortSignal;
}

/** The outcome of a send. */
export interface SendResult {
  readonly bytesSent: number;
  /** True when the kernel took the datagram during the call (Winsock's immediate completion). */
  readonly completedSynchronously: boolean;
}

/** An overlapped send: started at once, its outcome a Promise. */
export interface OverlappedSend {
  /** True when it completed during the call (then `result` is already settled). */
  readonly completedSynchronously: boolean;
  /** Settles with the outcome, or rejects with a {@link WSAError}. */
  readonly result: Promise<SendResult>;
}

/** One datagram of {@link UdpSocket.sendBatch}: its buffers, and where to (the connected peer if omitted). */
export interface Datagram {
  readonly buffers: Uint8Array | readonly Uint8Array[];
  readonly to?: Address;
}

/** The outcome of {@link UdpSocket.sendBatch}: totals, and each datagram's own outcome in order. */
export interface BatchResult {
  readonly datagramsSent: number;
  readonly bytesSent: number;
  readonly results: readonly (SendResult | WSAError)[];
}

/** The outcome of {@link UdpSocket.sendSegments}. */
export interface SegmentsResult {
  readonly bytesSent: number;
  /** How many datagrams the bytes were cut into. */
  readonly datagrams: number;
  readonly completedSynchronously: boolean;
  /** True when the kernel cut the datagrams (UDP GSO) in one send. */
  readonly gso: boolean;
}

/** Options of one receive. */
export interface ReceiveOptions {
  /** Leaves the datagram queued, to be read again (`MSG_PEEK`). */
  readonly peek?: boolean;
  /** Cancels the receive while it waits: it rejects with `WSA_OPERATION_ABORTED`. */
  readonly signal?: AbortSignal;
}

/** The outcome of {@link UdpSocket.receive}. */
export interface ReceiveResult {
  /** Bytes written to the buffers. */
  readonly bytesReceived: number;
  /** The sender. */
  readonly from: LocalAddress;
  /** True when the datagram was larger than the buffers: they hold its first bytes, the rest is gone (Winsock's `WSAEMSGSIZE`). */
  readonly truncated: boolean;
}

/** A datagram of {@link UdpSocket.datagrams}. */
export interface ReceivedDatagram {
  readonly data: Buffer;
  readonly from: LocalAddress;
  readonly truncated: boolean;
}

function toAddress(ep: Endpoint | null): LocalAddress {
  return { address: ep?.address ?? "", port: ep?.port ?? 0, family: ep?.family === 6 ? "IPv6" : "IPv4" };
}

/** A UDP socket of the idiomatic API. */
export class UdpSocket {
  readonly #entry: SocketEntry;
  /** Pending sends by signal: one abort listener per signal, however many sends share it. */
  readonly #bySignal = new WeakMap<AbortSignal, Set<Operation>>();

  /** @internal Use {@link openUdpSocket}. */
  constructor(entry: SocketEntry) {
    this.#entry = entry;
  }

  /** The name of the backend this socket runs on. */
  get backend(): string {
    return this.#entry.backend.name;
  }

  /** Sends `buffers` gathered into one datagram to `to`. Rejects with a {@link WSAError}. */
  sendTo(buffers: Uint8Array | readonly Uint8Array[], to: Address, options?: SendOptions): Promise<SendResult> {
    try {
      return this.sendToOverlapped(buffers, to, options).result;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Starts a send and returns at once: errors found before anything is sent are thrown
   * here (a {@link WSAError}); the outcome of the send is `result`.
   */
  sendToOverlapped(buffers: Uint8Array | readonly Uint8Array[], to: Address, options: SendOptions = {}): OverlappedSend {
    const dest = typeof to === "object" && to !== null ? parseEndpoint(to.address, to.port) : parseEndpoint(null, null);
    return this.#start(buffers, dest, options);
  }

  /** Sends to the connected peer ({@link UdpSocket.connect}). */
  send(buffers: Uint8Array | readonly Uint8Array[], options: SendOptions = {}): Promise<SendResult> {
    try {
      return this.#start(buffers, null, options).result;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #start(buffers: Uint8Array | readonly Uint8Array[], dest: Endpoint | number | null, options: SendOptions): OverlappedSend {
    const entry = this.#entry;
    if (entry.closed) throw new WSAError(WSAENOTSOCK, "sendTo");
    const views = captureViews(buffers);
    if (typeof views === "number") throw new WSAError(views, "sendTo");
    if (typeof dest === "number") throw new WSAError(dest, "sendTo");
    if (dest === null && !entry.peer) throw new WSAError(WSAENOTCONN, "send");
    const { flags = 0, signal } = options ?? {};
    if (signal?.aborted) throw new WSAError(WSA_OPERATION_ABORTED, "sendTo", { cause: signal.reason });
    const pending = this.#operation("sendTo", signal);
    const rc = entry.startSend(views, dest, flags, pending.op);
    pending.started();
    if (rc === STARTED_COMPLETED) return { completedSynchronously: true, result: pending.result };
    if (rc !== STARTED_PENDING) {
      pending.op.abandon();
      throw new WSAError(rc, "sendTo");
    }
    if (signal) this.#watch(signal, pending.op);
    return { completedSynchronously: false, result: pending.result };
  }

  /**
   * Sends many datagrams, in order, in as few system calls as the backend allows (one
   * `sendmmsg` per 1024 on the native backend on Linux; one send each elsewhere). Every
   * datagram is checked first: an error there rejects and nothing is sent. Afterwards
   * each datagram has its own outcome in `results`.
   */
  async sendBatch(datagrams: readonly Datagram[], options: SendOptions = {}): Promise<BatchResult> {
    const entry = this.#entry;
    if (entry.closed) throw new WSAError(WSAENOTSOCK, "sendBatch");
    if (!Array.isArray(datagrams)) throw new WSAError(WSAEFAULT, "sendBatch");
    const { flags = 0, signal } = options ?? {};
    const n = datagrams.length;
    const items: BatchDatagram[] = new Array(n);
    // The same Address object for consecutive datagrams is read once (the usual batch: one destination).
    let lastTo: unknown;
    let lastDest: Endpoint | null = null;
    for (let i = 0; i < n; i++) {
      const d: unknown = datagrams[i];
      const { buffers, to } = (typeof d === "object" && d !== null ? d : {}) as Partial<Datagram>;
      const views = captureViews(buffers);
      if (typeof views === "number") throw new WSAError(views, "sendBatch");
      if (i === 0 || to !== lastTo) {
        const dest =
          to === undefined ? null : typeof to === "object" && to !== null ? parseEndpoint(to.address, to.port) : WSAEFAULT;
        if (typeof dest === "number") throw new WSAError(dest, "sendBatch");
        if (dest === null && !entry.peer) throw new WSAError(WSAENOTCONN, "sendBatch");
        lastTo = to;
        lastDest = dest;
      }
      items[i] = { views, to: lastDest };
    }
    if (signal?.aborted) throw new WSAError(WSA_OPERATION_ABORTED, "sendBatch", { cause: signal.reason });
    // One Promise for the whole batch, settled by a countdown of the datagrams' operations
    // (not a Promise per datagram and Promise.allSettled).
    const results = new Array<SendResult | WSAError>(n);
    let remaining = n;
    let datagramsSent = 0;
    let bytesSent = 0;
    let synchronously = true;
    let resolveBatch!: (r: BatchResult) => void;
    const whenDone = new Promise<BatchResult>((resolve) => {
      resolveBatch = resolve;
    });
    const ops: Operation[] = new Array(n);
    for (let i = 0; i < n; i++) {
      ops[i] = new Operation(null, null, (done) => {
        if (signal) this.#bySignal.get(signal)?.delete(done);
        if (done.status === 0) {
          datagramsSent++;
          bytesSent += done.bytes;
          results[i] = { bytesSent: done.bytes, completedSynchronously: synchronously };
        } else {
          const cause = done.cause ?? (done.status === WSA_OPERATION_ABORTED ? signal?.reason : undefined);
          results[i] = new WSAError(done.status, "sendBatch", { cause });
        }
        if (--remaining === 0) resolveBatch({ datagramsSent, bytesSent, results });
      });
    }
    if (n === 0) return { datagramsSent: 0, bytesSent: 0, results };
    const rc = entry.startBatch(items, flags, ops);
    synchronously = false;
    if (rc !== 0) {
      for (const op of ops) op.abandon();
      throw new WSAError(rc, "sendBatch");
    }
    if (signal) for (const op of ops) if (!op.done) this.#watch(signal, op);
    return whenDone;
  }

  /**
   * UDP GSO: `buffers` leave as datagrams of `segmentSize` bytes (the last may be shorter),
   * cut by the kernel in one send where it can (the native backend on Linux, probed once),
   * else cut here and sent as a batch. At most 64 datagrams and 65507 bytes (65527 for
   * IPv6) in all; `gso` tells which way it went.
   */
  async sendSegments(
    buffers: Uint8Array | readonly Uint8Array[],
    segmentSize: number,
    to: Address,
    options: SendOptions = {},
  ): Promise<SegmentsResult> {
    const entry = this.#entry;
    if (entry.closed) throw new WSAError(WSAENOTSOCK, "sendSegments");
    const views = captureViews(buffers);
    if (typeof views === "number") throw new WSAError(views, "sendSegments");
    const dest = typeof to === "object" && to !== null ? parseEndpoint(to.address, to.port) : WSAEFAULT;
    if (typeof dest === "number") throw new WSAError(dest, "sendSegments");
    const { flags = 0, signal } = options ?? {};
    if (signal?.aborted) throw new WSAError(WSA_OPERATION_ABORTED, "sendSegments", { cause: signal.reason });
    const pending = this.#operation("sendSegments", signal);
    const way = entry.startSegments(views, segmentSize, dest, flags, pending.op);
    pending.started();
    if (typeof way === "number") {
      pending.op.abandon();
      throw new WSAError(way, "sendSegments");
    }
    if (signal && !pending.op.done) this.#watch(signal, pending.op);
    const { bytesSent, completedSynchronously } = await pending.result;
    const byteLength = views.reduce((n, v) => n + v.length, 0);
    return { bytesSent, datagrams: Math.ceil(byteLength / segmentSize), completedSynchronously, gso: way === "gso" };
  }

  /** An operation whose completion settles `result`: a SendResult, or a WSAError. */
  #operation(syscall: string, signal: AbortSignal | undefined): { op: Operation; result: Promise<SendResult>; started(): void } {
    let resolve!: (r: SendResult) => void;
    let reject!: (e: WSAError) => void;
    const result = new Promise<SendResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    let synchronously = true;
    const op = new Operation(null, null, (done) => {
      if (signal) this.#bySignal.get(signal)?.delete(done);
      // A loop of awaited sends must not starve Node's loop (dgram calls back on nextTick).
      if (done.status === 0) resolveSoon(resolve, { bytesSent: done.bytes, completedSynchronously: synchronously });
      else {
        const cause = done.cause ?? (done.status === WSA_OPERATION_ABORTED ? signal?.reason : undefined);
        resolveSoon(reject, new WSAError(done.status, syscall, { cause }));
      }
    });
    return {
      op,
      result,
      started: () => {
        synchronously = false;
      },
    };
  }

  #watch(signal: AbortSignal, op: Operation): void {
    let pending = this.#bySignal.get(signal);
    if (!pending) {
      const ops = new Set<Operation>();
      pending = ops;
      this.#bySignal.set(signal, ops);
      signal.addEventListener(
        "abort",
        () => {
          for (const waiting of [...ops]) this.#entry.cancel(waiting);
          ops.clear();
        },
        { once: true },
      );
    }
    pending.add(op);
  }

  /**
   * Receives one datagram, scattered over `buffers` in order. The socket must be bound
   * (`bind` in {@link openUdpSocket}, or a first send). Datagrams that arrive while no
   * receive waits are kept, in order, up to the receive buffer; a datagram larger than
   * the buffers resolves with `truncated: true`. Rejects with a {@link WSAError}.
   */
  receive(buffers: Uint8Array | readonly Uint8Array[], options: ReceiveOptions = {}): Promise<ReceiveResult> {
    const entry = this.#entry;
    if (entry.closed) return Promise.reject(new WSAError(WSAENOTSOCK, "receive"));
    const views = captureViews(buffers);
    if (typeof views === "number") return Promise.reject(new WSAError(views, "receive"));
    const { peek = false, signal } = options ?? {};
    if (signal?.aborted) return Promise.reject(new WSAError(WSA_OPERATION_ABORTED, "receive", { cause: signal.reason }));
    return new Promise<ReceiveResult>((resolve, reject) => {
      const op = new Operation(null, null, (done) => {
        if (signal) this.#bySignal.get(signal)?.delete(done);
        if (done.status === 0 || done.status === WSAEMSGSIZE) {
          resolve({ bytesReceived: done.bytes, from: toAddress(done.from), truncated: done.status === WSAEMSGSIZE });
        } else {
          const cause = done.cause ?? (done.status === WSA_OPERATION_ABORTED ? signal?.reason : undefined);
          reject(new WSAError(done.status, "receive", { cause }));
        }
      });
      const rc = entry.startReceive(views, peek ? MSG_PEEK : 0, op);
      if (rc !== STARTED_COMPLETED && rc !== STARTED_PENDING) {
        op.abandon();
        reject(new WSAError(rc, "receive"));
      } else if (signal && !op.done) {
        this.#watch(signal, op);
      }
    });
  }

  /**
   * The datagrams as they arrive, each a Buffer of its own bytes (up to `maxSize`, 65535 by
   * default). Ends when the socket closes; an aborted `signal` ends it with a
   * {@link WSAError} (`WSA_OPERATION_ABORTED`).
   */
  async *datagrams(options: { readonly signal?: AbortSignal; readonly maxSize?: number } = {}): AsyncGenerator<ReceivedDatagram> {
    const { signal, maxSize = 65535 } = options;
    const buffer = Buffer.allocUnsafe(maxSize);
    for (;;) {
      let r: ReceiveResult;
      try {
        r = await this.receive(buffer, { signal });
      } catch (error) {
        const closed = this.#entry.closed && error instanceof WSAError && !signal?.aborted;
        if (closed) return;
        throw error;
      }
      yield { data: Buffer.from(buffer.subarray(0, r.bytesReceived)), from: r.from, truncated: r.truncated };
    }
  }

  /** Iterates {@link UdpSocket.datagrams} with the defaults. */
  [Symbol.asyncIterator](): AsyncGenerator<ReceivedDatagram> {
    return this.datagrams();
  }

  /**
   * Datagrams lost on their way to this socket because a receive buffer was full: the
   * kernel's drops included (Linux tells them to both backends), so that received + drops
   * = sent for what reached the host. `undefined` where the platform does not tell the
   * kernel's drops: unknown, not 0.
   */
  get drops(): number | undefined {
    return this.#entry.native.drops();
  }

  /** Sets the default peer for {@link UdpSocket.send} (binding first if needed); `null` dissolves it. */
  connect(to: Address | null): void {
    const peer = to === null ? null : parseEndpoint(to?.address, to?.port);
    if (typeof peer === "number") throw new WSAError(peer, "connect");
    const rc = this.#entry.connect(peer);
    if (rc !== 0) throw new WSAError(rc, "connect");
  }

  /** The bound address, or null before the socket is bound. */
  localAddress(): LocalAddress | null {
    // After connect, the address routing chose for the peer, as getsockname reports it.
    const ep = this.#entry.localAddress();
    return ep && { address: ep.address, port: ep.port, family: ep.family === 4 ? "IPv4" : "IPv6" };
  }

  /** Closes the socket; pending sends complete (sent, or rejected with `WSA_OPERATION_ABORTED`). */
  close(): void {
    this.#entry.close();
  }
}

/** Opens a UDP socket. Throws a {@link WSAError} (`WSASYSNOTREADY` for a backend that cannot load). */
export function openUdpSocket(options: UdpSocketOptions = {}): UdpSocket {
  let read: UdpSocketOptions;
  try {
    // Read once, into a plain object: options whose fields cannot be read (a revoked
    // Proxy, throwing getters) fail here with a WSAError, not a TypeError.
    const { family, bind, backend, broadcast, maxOutstandingSends, receiveBufferSize, ipv6Only, coalesceSends } = options ?? {};
    const where = bind === undefined || bind === null ? undefined : { address: bind.address, port: bind.port };
    read = { family, bind: where, backend, broadcast, maxOutstandingSends, receiveBufferSize, ipv6Only, coalesceSends };
  } catch {
    throw new WSAError(WSAEFAULT, "open");
  }
  return open(read);
}

function open(options: UdpSocketOptions): UdpSocket {
  const { family = "ipv4", bind, backend = process.env.WSASENDTO_BACKEND?.trim() || "auto" } = options;
  if (family !== "ipv4" && family !== "ipv6") throw new WSAError(WSAEAFNOSUPPORT, "open");
  const chosen = selectBackend(backend);
  if (typeof chosen === "string") throw new WSAError(10091, "open", { message: `open: WSASYSNOTREADY: ${chosen}` });
  const entry = openSocket(chosen, family === "ipv4" ? 4 : 6, true);
  if (typeof entry === "number") throw new WSAError(entry, "open");
  const fail = (code: number, syscall: string): never => {
    entry.close();
    throw new WSAError(code, syscall);
  };
  if (options.maxOutstandingSends !== undefined) {
    if (!Number.isInteger(options.maxOutstandingSends) || options.maxOutstandingSends < 1) fail(WSAEINVAL, "open");
    entry.maxOutstanding = options.maxOutstandingSends;
  }
  if (options.broadcast) {
    const rc = entry.setOption("broadcast", 1);
    if (rc !== 0) fail(rc, "setBroadcast");
  }
  if (options.receiveBufferSize !== undefined) {
    const size = options.receiveBufferSize;
    if (!Number.isInteger(size) || size < 1 || size > 0x7fffffff) fail(WSAEINVAL, "open");
    const rc = entry.setOption("rcvbuf", size);
    if (rc !== 0) fail(rc, "setRecvBufferSize");
  }
  if (options.coalesceSends !== undefined) {
    if (typeof options.coalesceSends !== "boolean") fail(WSAEINVAL, "open");
    const rc = entry.setOption("coalesce", options.coalesceSends ? 1 : 0);
    if (rc !== 0) fail(rc, "setCoalesceSends");
  }
  if (options.ipv6Only !== undefined) {
    // Before the bind, as Windows requires; an IPv4 socket has no such option.
    if (typeof options.ipv6Only !== "boolean" || family !== "ipv6") fail(WSAEINVAL, "open");
    const rc = entry.setOption("v6only", options.ipv6Only ? 1 : 0);
    if (rc !== 0) fail(rc, "setIpv6Only");
  }
  if (bind) {
    const local = parseEndpoint(bind.address ?? (family === "ipv4" ? "0.0.0.0" : "::"), bind.port ?? 0);
    if (typeof local === "number") fail(local, "bind");
    const rc = entry.bind(local as Endpoint);
    if (rc !== 0) fail(rc, "bind");
  }
  return new UdpSocket(entry);
}
