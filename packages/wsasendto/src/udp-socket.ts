/**
 * The idiomatic API, for users who are not porting C: a UDP socket object whose sends
 * are Promises and whose failures are thrown as {@link WSAError}. It drives the same core
 * sockets as the Winsock facade: the same checks, the same backends, the same errors.
 */
import {
  type BackendSocket,
  type BatchDatagram,
  type BufferReceiveCompletion,
  captureViews,
  Deque,
  type Endpoint,
  type ManyReceiveCompletion,
  MSG_PEEK,
  Operation,
  openSocket,
  parseEndpoint,
  type ReceiveHints,
  resolveSoon,
  type SocketEntry,
  STARTED_COMPLETED,
  STARTED_PENDING,
  scatter,
  WSA_OPERATION_ABORTED,
  WSAEAFNOSUPPORT,
  WSAEFAULT,
  WSAEINVAL,
  WSAEMSGSIZE,
  WSAENOTCONN,
  WSAENOTSOCK,
  WSAError,
  WSAESHUTDOWN,
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

/** Options of {@link UdpSocket.datagrams}. */
export interface DatagramsOptions {
  /** Ends the iteration with a {@link WSAError} (`WSA_OPERATION_ABORTED`) once aborted. */
  readonly signal?: AbortSignal;
  /** The most bytes of one datagram (65535 by default); a larger one is cut there (`truncated: true`). */
  readonly maxSize?: number;
  /**
   * UDP GRO (generic receive offload, as quinn-udp uses it); false by default. True lets
   * the kernel hand over, in one buffer, several datagrams that one sender sent back to back
   * with the same size (UDP GSO sends especially): fewer, larger receives for bulk flows.
   * The iterator splits them again: each is yielded as the datagram it was, in order, with
   * its source; what the loop sees does not change. Only where the kernel supports it
   * (Linux, the native backend); elsewhere the option is accepted and ignored. While such an
   * iteration runs, a `receive()` on the same socket may get several of those datagrams as
   * one. When the last one ends, the datagrams waiting are read (the coalesced ones split)
   * and kept, in order, for the socket's next receives, then GRO goes off; under a flood
   * that does not pause, this stops after a receive buffer's worth, and datagrams coalesced
   * just before GRO went off may still reach a later `receive()` as one. The kernel counts
   * a coalesced buffer it drops (a full receive buffer) as one drop: {@link UdpSocket.drops}
   * may then count fewer than the datagrams lost.
   */
  readonly gro?: boolean;
}

function toAddress(ep: Endpoint | null): LocalAddress {
  return { address: ep?.address ?? "", port: ep?.port ?? 0, family: ep?.family === 6 ? "IPv6" : "IPv4" };
}

/** The most datagrams one batch of {@link UdpSocket.datagrams} takes (one recvmmsg). */
const DATAGRAMS_WINDOW = 64;
/** The most bytes of buffers one {@link UdpSocket.datagrams} iteration holds (fewer slots for larger datagrams). */
const DATAGRAMS_ARENA = 4 << 20;
/** The largest buffer UDP GRO may fill (the largest IP datagram). */
const GRO_MAX_BYTES = 65535;
/** Datagrams of this size and more are copied into blocks of {@link COPY_BLOCK} bytes, not Node's pool. */
const COPY_BLOCK_FROM = 512;
const COPY_BLOCK = 64 << 10;
/** Batches completed during their call in a row before the iterator lets Node's loop turn. */
const TURN_EVERY_BATCHES = 64;

function aborted(signal: AbortSignal): WSAError {
  return new WSAError(WSA_OPERATION_ABORTED, "receive", { cause: signal.reason });
}

/** What a socket's receives share: datagrams read but not handed out, UDP GRO users, senders. */
class ReceiveState {
  /**
   * Datagrams read from the socket but not handed out: the rest of a batch of an iteration
   * of {@link UdpSocket.datagrams} that ended (a `break`), or coalesced by UDP GRO when it
   * was turned off. They are the next ones received, in order, by `receive()` and by
   * iterations.
   */
  readonly kept = new Deque<ReceivedDatagram>();
  /** Iterations of {@link UdpSocket.datagrams} running with `gro`. */
  groIterations = 0;
  #lastSource: Endpoint | null = null;
  #lastAddress: LocalAddress = toAddress(null);

  /** A sender as handed out: the same (frozen) object while the sender stays the same. */
  addressOf(ep: Endpoint): LocalAddress {
    if (ep !== this.#lastSource) {
      this.#lastSource = ep;
      this.#lastAddress = Object.freeze(toAddress(ep));
    }
    return this.#lastAddress;
  }
}

const DONE: IteratorResult<ReceivedDatagram> = Object.freeze({ value: undefined, done: true });

/**
 * What the datagram iterators share: the AsyncGenerator side (each call is answered after
 * the ones before it: a `next` while one waits is chained to it; `return` and `throw` end
 * the iteration in turn), the datagrams taken and not yet handed out, and what a step
 * answers without the backend ({@link DatagramIterator.answerNow}). A subclass takes the
 * steps: `step` (the next datagram, at once or a Promise that waits) and `stepWaits`
 * (whether the step just taken waits).
 */
abstract class DatagramIterator implements AsyncGenerator<ReceivedDatagram> {
  /** The last answer still pending: later calls wait for it. */
  #tail: Promise<IteratorResult<ReceivedDatagram>> | null = null;
  /** The datagrams taken and not yet handed out, from `at`. */
  protected readonly ready: ReceivedDatagram[] = [];
  protected at = 0;
  protected finished = false;

  constructor(
    protected readonly entry: SocketEntry,
    protected readonly state: ReceiveState,
    protected readonly signal: AbortSignal | undefined,
    protected readonly maxSize: number,
  ) {}

  protected abstract step(): Promise<IteratorResult<ReceivedDatagram>>;
  protected abstract get stepWaits(): boolean;

  /**
   * What a step answers without asking the backend: done once ended or closed, the abort,
   * a kept datagram (cut at this iteration's maxSize), the next one taken; else a Winsock
   * code that ends the iteration before anything is asked (no bind, `SD_RECEIVE`), or 0.
   */
  protected answerNow(): Promise<IteratorResult<ReceivedDatagram>> | number {
    if (this.finished) return Promise.resolve(DONE);
    const signal = this.signal;
    if (signal?.aborted) {
      this.finish();
      return Promise.reject(aborted(signal));
    }
    const kept = this.state.kept;
    if (kept.length > 0) return Promise.resolve({ value: this.#fitted(kept.shift() as ReceivedDatagram), done: false });
    if (this.at < this.ready.length) return Promise.resolve({ value: this.ready[this.at++] as ReceivedDatagram, done: false });
    const entry = this.entry;
    if (entry.closed) {
      this.finish();
      return Promise.resolve(DONE);
    }
    return !entry.bound ? WSAEINVAL : entry.receiveShutdown ? WSAESHUTDOWN : 0;
  }

  /** A kept datagram as this iteration hands it out: cut at its maxSize, as it would have been read. */
  #fitted(d: ReceivedDatagram): ReceivedDatagram {
    const maxSize = this.maxSize;
    return d.data.length <= maxSize ? d : { data: Buffer.from(d.data.subarray(0, maxSize)), from: d.from, truncated: true };
  }

  /** Ends the iteration: what was taken and not handed out is kept for the socket's next receives. */
  protected finish(): void {
    if (this.finished) return;
    this.finished = true;
    const kept = this.state.kept;
    while (this.at < this.ready.length) kept.push(this.ready[this.at++] as ReceivedDatagram);
    this.ready.length = 0;
  }

  next(): Promise<IteratorResult<ReceivedDatagram>> {
    if (this.#tail !== null) return this.#after(() => this.step());
    const answer = this.step();
    if (this.stepWaits) this.#track(answer);
    return answer;
  }

  return(value?: unknown): Promise<IteratorResult<ReceivedDatagram>> {
    const end = (): Promise<IteratorResult<ReceivedDatagram>> => {
      this.finish();
      return Promise.resolve({ value, done: true } as IteratorResult<ReceivedDatagram>);
    };
    return this.#tail !== null ? this.#after(end) : end();
  }

  throw(e: unknown): Promise<IteratorResult<ReceivedDatagram>> {
    const end = (): Promise<IteratorResult<ReceivedDatagram>> => {
      this.finish();
      return Promise.reject(e);
    };
    return this.#tail !== null ? this.#after(end) : end();
  }

  [Symbol.asyncIterator](): AsyncGenerator<ReceivedDatagram> {
    return this;
  }

  /** Runs `fn` once the answers pending are given. */
  #after(fn: () => Promise<IteratorResult<ReceivedDatagram>>): Promise<IteratorResult<ReceivedDatagram>> {
    const answer = (this.#tail as Promise<IteratorResult<ReceivedDatagram>>).then(fn, fn);
    this.#track(answer);
    return answer;
  }

  #track(answer: Promise<IteratorResult<ReceivedDatagram>>): void {
    this.#tail = answer;
    const clear = (): void => {
      if (this.#tail === answer) this.#tail = null;
    };
    answer.then(clear, clear);
  }
}

/**
 * {@link UdpSocket.datagrams} where the backend receives in batches (`receiveMany`): one
 * batch of up to 64 datagrams per system call, into slots of its own, each datagram then
 * copied into a Buffer of its own. Written out as an iterator (an async generator costs
 * two more microtask hops per datagram); it behaves as the generator did: `next` calls
 * are answered in order, `return` (a `break`) ends it and keeps the datagrams read and
 * not handed out for the socket's next receives, and after an error or the end it is done.
 */
class DatagramBatches extends DatagramIterator implements ManyReceiveCompletion {
  readonly #native: BackendSocket;
  readonly #gro: boolean;
  readonly #slotSize: number;
  readonly #slots: Uint8Array[];
  readonly #arena: ArrayBuffer;
  readonly #base: number;
  /** The current batch's outcome: -1 while it is with the backend, then a Winsock code. */
  #status = 0;
  /** The current batch's datagrams and bytes as received (before GRO's split). */
  #received = 0;
  #receivedBytes = 0;
  /** This iteration counts in {@link ReceiveState.groIterations} (from its first batch on). */
  #groHeld = false;
  /** The step waiting for the current batch, and its abort listener. */
  #resume: ((r: Promise<IteratorResult<ReceivedDatagram>>) => void) | null = null;
  #onAbort: (() => void) | null = null;
  #inRow = 0;
  /** The block the larger datagrams are copied into, and what of it is free. */
  #block: ArrayBuffer | null = null;
  #blockAt = 0;
  #blockEnd = 0;

  constructor(entry: SocketEntry, state: ReceiveState, signal: AbortSignal | undefined, maxSize: number, gro: boolean) {
    super(entry, state, signal, maxSize);
    this.#native = entry.native;
    this.#gro = gro;
    // Every slot holds the largest datagram (with GRO, the largest coalesced buffer);
    // allocated, not filled: the pages of a slot are touched only as datagrams fill it.
    const slotSize = gro ? Math.max(maxSize, GRO_MAX_BYTES) : maxSize;
    const count = Math.max(1, Math.min(DATAGRAMS_WINDOW, Math.floor(DATAGRAMS_ARENA / Math.max(slotSize, 1))));
    const arena = Buffer.allocUnsafeSlow(count * slotSize);
    this.#slotSize = slotSize;
    this.#arena = arena.buffer;
    this.#base = arena.byteOffset;
    this.#slots = new Array(count);
    for (let i = 0; i < count; i++) this.#slots[i] = new Uint8Array(arena.buffer, arena.byteOffset + i * slotSize, slotSize);
  }

  protected get stepWaits(): boolean {
    return this.#resume !== null;
  }

  protected step(): Promise<IteratorResult<ReceivedDatagram>> {
    const now = this.answerNow();
    if (typeof now !== "number") return now;
    const signal = this.signal;
    let error = now;
    if (error === 0) {
      if (this.#gro && !this.#groHeld) {
        this.#groHeld = true;
        if (this.state.groIterations++ === 0) this.#native.setGro?.(true);
      }
      error = this.#post();
    }
    if (error !== 0) {
      this.finish();
      return Promise.reject(new WSAError(error, "receive"));
    }
    if (this.#status === -1) {
      this.#inRow = 0;
      return new Promise((resolve) => {
        this.#resume = resolve;
        if (signal) {
          const native = this.#native;
          this.#onAbort = () => {
            if (native.cancel(this)) this.complete(WSA_OPERATION_ABORTED, 0);
          };
          signal.addEventListener("abort", this.#onAbort, { once: true });
        }
      });
    }
    if (++this.#inRow >= TURN_EVERY_BATCHES) {
      // Batches keep completing during the call (a flood): let Node's loop turn.
      this.#inRow = 0;
      return new Promise((resolve) => setImmediate(() => resolve(this.#outcome())));
    }
    return this.#outcome();
  }

  /** Hands the current batch to the backend (its datagrams come to {@link datagram}); 0 or a Winsock code. */
  #post(): number {
    this.ready.length = 0;
    this.at = 0;
    this.#received = 0;
    this.#receivedBytes = 0;
    this.#status = -1;
    const native = this.#native;
    return (native.receiveMany as NonNullable<BackendSocket["receiveMany"]>).call(native, this.#slots, this);
  }

  /** The answer once the current batch completed. */
  #outcome(): Promise<IteratorResult<ReceivedDatagram>> {
    const status = this.#status;
    if (status === 0) {
      if (this.at < this.ready.length) return Promise.resolve({ value: this.ready[this.at++] as ReceivedDatagram, done: false });
      return this.step(); // nothing for this loop (not expected): the next batch
    }
    this.finish();
    const signal = this.signal;
    if (this.entry.closed && !signal?.aborted) return Promise.resolve(DONE);
    const cause = status === WSA_OPERATION_ABORTED ? signal?.reason : undefined;
    return Promise.reject(new WSAError(status, "receive", { cause }));
  }

  datagram(slot: number, bytes: number, truncated: boolean, from: Endpoint, segmentSize: number): void {
    this.#received++;
    this.#receivedBytes += bytes;
    const at = this.#base + slot * this.#slotSize;
    const sender = this.state.addressOf(from);
    const maxSize = this.maxSize;
    if (segmentSize > 0 && bytes > segmentSize) {
      // UDP GRO: several datagrams of segmentSize bytes (the last maybe shorter), split.
      for (let off = 0; off < bytes; off += segmentSize) {
        const n = Math.min(segmentSize, bytes - off);
        const take = Math.min(n, maxSize);
        const cut = take < n || (truncated && off + n >= bytes);
        this.ready.push({ data: this.#copy(at + off, take), from: sender, truncated: cut });
      }
      return;
    }
    const take = Math.min(bytes, maxSize);
    this.ready.push({ data: this.#copy(at, take), from: sender, truncated: truncated || take < bytes });
  }

  complete(status: number, _count: number): void {
    if (this.#status !== -1) return;
    this.#status = status;
    const resume = this.#resume;
    if (resume === null) return;
    this.#resume = null;
    if (this.#onAbort !== null) this.signal?.removeEventListener("abort", this.#onAbort);
    this.#onAbort = null;
    resume(this.#outcome());
  }

  /** A Buffer of its own with `n` bytes of the arena from `at`. */
  #copy(at: number, n: number): Buffer {
    let data: Buffer;
    if (n < COPY_BLOCK_FROM) {
      data = Buffer.allocUnsafe(n); // Node's pool: 8 KiB shared by small Buffers
    } else {
      // Larger ones would empty Node's pool every few datagrams: a block of this
      // iteration's own, shared the same way (never reused: each Buffer keeps its bytes).
      if (this.#blockEnd - this.#blockAt < n) {
        const size = Math.max(n, COPY_BLOCK);
        this.#block = Buffer.allocUnsafeSlow(size).buffer;
        this.#blockAt = 0;
        this.#blockEnd = size;
      }
      data = Buffer.from(this.#block as ArrayBuffer, this.#blockAt, n);
      this.#blockAt += n;
    }
    data.set(new Uint8Array(this.#arena, at, n));
    return data;
  }

  /** Ends the iteration (see {@link DatagramIterator.finish}); the last one with UDP GRO turns it off. */
  protected override finish(): void {
    if (this.finished) return;
    super.finish();
    if (this.#groHeld && --this.state.groIterations === 0 && !this.entry.closed) this.#groOff();
  }

  /**
   * The last iteration with UDP GRO ended: what the kernel holds is read first, while GRO is
   * still on (only then does the kernel tell the segment size of what it coalesced), split,
   * and kept for the socket's next receives; then GRO goes off. Read up to an empty queue,
   * or a receive buffer's worth of bytes under a flood that does not pause (then datagrams
   * coalesced just before GRO went off may still reach a later receive as one).
   */
  #groOff(): void {
    const native = this.#native;
    const kept = this.state.kept;
    let budget = native.getOption("rcvbuf") ?? 1 << 20;
    while (this.#post() === 0) {
      if (this.#status === -1) {
        // Nothing waits: withdrawn, it will not complete.
        native.cancel(this);
        this.#status = WSA_OPERATION_ABORTED;
        break;
      }
      for (const d of this.ready) kept.push(d);
      this.ready.length = 0;
      budget -= this.#receivedBytes;
      if (this.#status !== 0 || budget <= 0 || this.#received < this.#slots.length) break;
    }
    native.setGro?.(false);
  }
}

/**
 * {@link UdpSocket.datagrams} on the dgram backend (`receiveBuffers`): node:dgram has read
 * every datagram into a Buffer of its own already, so each next() that finds none at hand
 * takes every datagram queued then (waiting for the first), and hands out those very
 * Buffers, not copied (cut at maxSize with `subarray`). It behaves as {@link DatagramBatches}:
 * `next` calls are answered in order, `return` (a `break`) keeps the datagrams taken and not
 * handed out for the socket's next receives, and after an error or the end it is done.
 */
class DgramDatagrams extends DatagramIterator implements BufferReceiveCompletion {
  readonly #native: BackendSocket & Required<Pick<BackendSocket, "receiveBuffers">>;
  /** The current receive's outcome: -1 while it is with the backend, then a Winsock code. */
  #status = 0;
  /** How to settle the step waiting for the current receive, and its abort listener. */
  #resolve: ((r: IteratorResult<ReceivedDatagram> | Promise<IteratorResult<ReceivedDatagram>>) => void) | null = null;
  #onAbort: (() => void) | null = null;
  #inRow = 0;
  /**
   * A waiting step was woken by a datagram during this turn of Node's loop: the datagrams
   * after it in the same turn (node:dgram calls back once per datagram, up to 32 in a row)
   * wake the loop once, at its check phase, together, not once each.
   */
  #wokeThisTurn = false;
  readonly #endTurn = (): void => {
    this.#wokeThisTurn = false;
    if (this.#resolve !== null && this.#status === 0 && this.at < this.ready.length)
      this.#settled()({ value: this.ready[this.at++] as ReceivedDatagram, done: false });
  };
  /** The executor of the Promise of a step that waits (made once). */
  readonly #wait: (resolve: (r: IteratorResult<ReceivedDatagram> | Promise<IteratorResult<ReceivedDatagram>>) => void) => void;

  constructor(entry: SocketEntry, state: ReceiveState, signal: AbortSignal | undefined, maxSize: number) {
    super(entry, state, signal, maxSize);
    this.#native = entry.native as BackendSocket & Required<Pick<BackendSocket, "receiveBuffers">>;
    this.#wait = (resolve) => {
      this.#resolve = resolve;
    };
  }

  protected get stepWaits(): boolean {
    return this.#resolve !== null;
  }

  protected step(): Promise<IteratorResult<ReceivedDatagram>> {
    const now = this.answerNow();
    if (typeof now !== "number") return now;
    const signal = this.signal;
    let error = now;
    if (error === 0) {
      if (this.ready.length !== 0) {
        this.ready.length = 0;
        this.at = 0;
      }
      this.#status = -1;
      error = this.#native.receiveBuffers(this);
    }
    if (error !== 0) {
      this.#status = 0;
      this.finish();
      return Promise.reject(new WSAError(error, "receive"));
    }
    if (this.#status === -1) {
      this.#inRow = 0;
      const answer = new Promise(this.#wait);
      if (signal) {
        const native = this.#native;
        this.#onAbort = () => {
          if (native.cancel(this)) this.complete(WSA_OPERATION_ABORTED, 0);
          else if (this.#resolve !== null) this.#settled()(this.step()); // datagrams waited for the turn's end
        };
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
      return answer;
    }
    if (++this.#inRow >= TURN_EVERY_BATCHES) {
      // Receives keep completing during the call: let Node's loop turn (the answer is
      // taken now, so that calls made meanwhile get the datagrams after it).
      this.#inRow = 0;
      const value = this.#status === 0 && this.at < this.ready.length ? (this.ready[this.at++] as ReceivedDatagram) : null;
      return new Promise((resolve) => setImmediate(() => resolve(value !== null ? { value, done: false } : this.#outcome())));
    }
    return this.#outcome();
  }

  /** The answer once the current receive completed. */
  #outcome(): Promise<IteratorResult<ReceivedDatagram>> {
    const status = this.#status;
    if (status === 0) {
      if (this.at < this.ready.length) return Promise.resolve({ value: this.ready[this.at++] as ReceivedDatagram, done: false });
      return this.step(); // nothing for this loop (not expected): the next receive
    }
    this.finish();
    const signal = this.signal;
    if (this.entry.closed && !signal?.aborted) return Promise.resolve(DONE);
    const cause = status === WSA_OPERATION_ABORTED ? signal?.reason : undefined;
    return Promise.reject(new WSAError(status, "receive", { cause }));
  }

  datagram(bytes: Uint8Array, from: Endpoint): void {
    // node:dgram's own Buffer (no copy); any other bytes are viewed as one.
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const sender = this.state.addressOf(from);
    const maxSize = this.maxSize;
    const d: ReceivedDatagram =
      data.length <= maxSize
        ? { data, from: sender, truncated: false }
        : { data: data.subarray(0, maxSize), from: sender, truncated: true };
    // The first datagram of a turn that a step waits for settles it at once, with the
    // datagram itself (not a Promise of it: fewer hops); the others are handed out by the
    // next steps, or at the end of the turn (see #wokeThisTurn).
    if (this.#resolve !== null && this.at === this.ready.length && !this.#wokeThisTurn) {
      this.#wokeThisTurn = true;
      setImmediate(this.#endTurn);
      this.#settled()({ value: d, done: false });
    } else this.ready.push(d);
  }

  complete(status: number, _count: number): void {
    if (this.#status !== -1) return;
    this.#status = status;
    if (this.#resolve === null) return;
    // Datagrams arriving after the first of this turn wait for its end (#endTurn).
    if (status === 0 && this.#wokeThisTurn && this.at < this.ready.length) return;
    this.#settled()(this.#outcome());
  }

  /** The waiting step's resolve, no longer waiting. */
  #settled(): (r: IteratorResult<ReceivedDatagram> | Promise<IteratorResult<ReceivedDatagram>>) => void {
    const resolve = this.#resolve as (r: IteratorResult<ReceivedDatagram> | Promise<IteratorResult<ReceivedDatagram>>) => void;
    this.#resolve = null;
    if (this.#onAbort !== null) this.signal?.removeEventListener("abort", this.#onAbort);
    this.#onAbort = null;
    return resolve;
  }
}

/** A UDP socket of the idiomatic API. */
export class UdpSocket {
  readonly #entry: SocketEntry;
  /** Pending sends by signal: one abort listener per signal, however many sends share it. */
  readonly #bySignal = new WeakMap<AbortSignal, Set<Operation>>();
  /** Datagrams read and not handed out (see {@link ReceiveState.kept}), UDP GRO's users. */
  readonly #receiving = new ReceiveState();

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
   * Receives posted together (in one synchronous run of JavaScript) are served together
   * where the backend can: the native backend reads them in one `recvmmsg` on Linux.
   */
  receive(buffers: Uint8Array | readonly Uint8Array[], options: ReceiveOptions = {}): Promise<ReceiveResult> {
    const entry = this.#entry;
    if (entry.closed) return Promise.reject(new WSAError(WSAENOTSOCK, "receive"));
    const views = captureViews(buffers);
    if (typeof views === "number") return Promise.reject(new WSAError(views, "receive"));
    const { peek = false, signal } = options ?? {};
    if (signal?.aborted) return Promise.reject(new WSAError(WSA_OPERATION_ABORTED, "receive", { cause: signal.reason }));
    if (this.#receiving.kept.length > 0) return Promise.resolve(this.#takeKept(views, peek));
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
      // A Promise: whether it completes during the call cannot be told, so the backend may
      // serve it together with the receives posted after it in this run.
      (op as ReceiveHints).mayWait = true;
      const rc = entry.startReceive(views, peek ? MSG_PEEK : 0, op);
      if (rc !== STARTED_COMPLETED && rc !== STARTED_PENDING) {
        op.abandon();
        reject(new WSAError(rc, "receive"));
      } else if (signal && !op.done) {
        this.#watch(signal, op);
      }
    });
  }

  /** A receive served by the oldest kept datagram (left kept by a peek). */
  #takeKept(views: readonly Uint8Array[], peek: boolean): ReceiveResult {
    const kept = this.#receiving.kept;
    const d = (peek ? kept.peek() : kept.shift()) as ReceivedDatagram;
    const bytesReceived = scatter(d.data, views);
    return { bytesReceived, from: { ...d.from }, truncated: d.truncated || bytesReceived < d.data.length };
  }

  /**
   * The datagrams as they arrive, each a Buffer of its own bytes (up to `maxSize`, 65535 by
   * default), in order. Ends when the socket closes; an aborted `signal` ends it with a
   * {@link WSAError} (`WSA_OPERATION_ABORTED`). Where the backend can (the native backend on
   * Linux: one `recvmmsg`), it reads the datagrams waiting in batches of up to 64; those a
   * batch read and the loop did not get (it broke out) are kept, in order, for the next
   * receive. `gro`: UDP GRO, see {@link DatagramsOptions.gro}.
   */
  datagrams(options: DatagramsOptions = {}): AsyncGenerator<ReceivedDatagram> {
    const { signal, maxSize = 65535, gro = false } = options ?? {};
    if (this.#entry.native.receiveMany) {
      return new DatagramBatches(this.#entry, this.#receiving, signal, maxSize, gro === true);
    }
    if (typeof this.#entry.native.receiveBuffers === "function") {
      return new DgramDatagrams(this.#entry, this.#receiving, signal, maxSize);
    }
    return this.#oneByOne(signal, maxSize);
  }

  /** {@link UdpSocket.datagrams} one receive at a time (a backend with neither receiveMany nor receiveBuffers). */
  async *#oneByOne(signal: AbortSignal | undefined, maxSize: number): AsyncGenerator<ReceivedDatagram> {
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
