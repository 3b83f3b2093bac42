/**
 * The idiomatic API, for users who are not porting C: a UDP socket object whose sends
 * are Promises and whose failures are thrown as {@link WSAError}. It drives the same core
 * sockets as the Winsock facade: the same checks, the same backends, the same errors.
 */
import {
  captureViews,
  type Endpoint,
  Operation,
  openSocket,
  parseEndpoint,
  type SocketEntry,
  STARTED_COMPLETED,
  STARTED_PENDING,
  WSA_OPERATION_ABORTED,
  WSAEAFNOSUPPORT,
  WSAEINVAL,
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
    let resolve!: (r: SendResult) => void;
    let reject!: (e: WSAError) => void;
    const result = new Promise<SendResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    let synchronously = true;
    const op = new Operation(null, null, (done) => {
      if (signal) this.#bySignal.get(signal)?.delete(done);
      if (done.status === 0) resolve({ bytesSent: done.bytes, completedSynchronously: synchronously });
      else
        reject(
          new WSAError(done.status, "sendTo", {
            cause: done.cause ?? (done.status === WSA_OPERATION_ABORTED ? signal?.reason : undefined),
          }),
        );
    });
    const rc = entry.startSend(views, dest, flags, op);
    synchronously = false;
    if (rc === STARTED_COMPLETED) return { completedSynchronously: true, result };
    if (rc !== STARTED_PENDING) {
      op.abandon();
      throw new WSAError(rc, "sendTo");
    }
    if (signal) this.#watch(signal, op);
    return { completedSynchronously: false, result };
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

  /** Sets the default peer for {@link UdpSocket.send} (binding first if needed); `null` dissolves it. */
  connect(to: Address | null): void {
    const peer = to === null ? null : parseEndpoint(to?.address, to?.port);
    if (typeof peer === "number") throw new WSAError(peer, "connect");
    const rc = this.#entry.connect(peer);
    if (rc !== 0) throw new WSAError(rc, "connect");
  }

  /** The bound address, or null before the socket is bound. */
  localAddress(): LocalAddress | null {
    const ep = this.#entry.bound ? this.#entry.native.localAddress() : null;
    return ep && { address: ep.address, port: ep.port, family: ep.family === 4 ? "IPv4" : "IPv6" };
  }

  /** Closes the socket; pending sends complete (sent, or rejected with `WSA_OPERATION_ABORTED`). */
  close(): void {
    this.#entry.close();
  }
}

/** Opens a UDP socket. Throws a {@link WSAError} (`WSASYSNOTREADY` for a backend that cannot load). */
export function openUdpSocket(options: UdpSocketOptions = {}): UdpSocket {
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
  if (bind) {
    const local = parseEndpoint(bind.address ?? (family === "ipv4" ? "0.0.0.0" : "::"), bind.port ?? 0);
    if (typeof local === "number") fail(local, "bind");
    const rc = entry.bind(local as Endpoint);
    if (rc !== 0) fail(rc, "bind");
  }
  return new UdpSocket(entry);
}
