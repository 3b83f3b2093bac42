/**
 * @wsasendto/dgram: the backend over `node:dgram`, on any operating system.
 *
 * Two things make `dgram` fit Winsock's synchronous calls. The core only ever hands
 * it literal IP addresses, so the socket's `lookup` answers at once and `bind` and
 * `send` run to the kernel inside the call (no DNS hop per send). And sends beyond a
 * small in-flight window wait in a queue of the backend's own, where they can still
 * be withdrawn (an `AbortSignal`, `closesocket`) before they reach the kernel.
 */
import dgram from "node:dgram";
import {
  type Backend,
  type BackendOption,
  type BackendSocket,
  type BufferReceiveCompletion,
  type Completion,
  type Endpoint,
  failedNow,
  type IPFamily,
  literalLookup,
  PendingQueue,
  parseEndpoint,
  READY_READ,
  READY_WRITE,
  ReadinessWatchers,
  type ReceiveCompletion,
  ReceiveQueue,
  SEND_PENDING,
  type SendOutcome,
  viewsIntact,
  WSA_OPERATION_ABORTED,
  WSAEFAULT,
  WSAEINVAL,
  WSAENETDOWN,
  WSAENOTSOCK,
  wsaFromOsError,
} from "@wsasendto/core";
import { kernelDrops } from "./kernel-drops.js";

/**
 * The backend's queue of received datagrams holds, unless SO_RCVBUF is set, what Windows
 * gives a new UDP socket (its default SO_RCVBUF, which getsockopt reports): 64 KiB.
 */
const DEFAULT_RECEIVE_BUFFER = 65536;

/** Sends handed to `dgram` and not yet called back, at most; the rest wait in the backlog. */
export const DGRAM_IN_FLIGHT = 64;

/** Gathered datagrams up to this size are copied into one staging Buffer before dgram sends them. */
const GATHER_COPY_LIMIT = 4096;

interface Queued {
  readonly views: readonly Uint8Array[];
  readonly byteLength: number;
  readonly to: Endpoint;
  readonly completion: Completion;
}

class DgramSocket implements BackendSocket {
  #socket: dgram.Socket;
  readonly #family: IPFamily;
  /** IPV6_V6ONLY, which dgram takes only when it creates the socket. */
  #v6only: boolean;
  #bound = false;
  #closed = false;
  #error: unknown = null;
  #inFlight = 0;
  readonly #backlog = new PendingQueue<Completion, Queued>();
  readonly #watchers = new ReadinessWatchers();
  readonly #deferred = new Map<BackendOption, number>();
  /** SIO_UDP_CONNRESET as set (1 by default, as in Winsock). */
  #connReset = 1;
  /** dgram reads every datagram as it arrives: they wait here, up to SO_RCVBUF. */
  readonly #received = new ReceiveQueue(DEFAULT_RECEIVE_BUFFER);
  #receiveBufferSet = false;
  #peer: Endpoint | null = null;
  #lastSource: Endpoint | null = null;
  #lastSourceText = "";
  #referenced = false;
  /**
   * Buffers that gathered datagrams were copied into, free again once dgram called their
   * send back (the kernel has the bytes then): at most one per send in flight, reused.
   */
  readonly #staging: Buffer[] = [];
  /**
   * The kernel's drops as last read, once someone asked (undefined before): read again at
   * close, since a closed socket has no row to read.
   */
  #kernelDrops: number | undefined = undefined;
  #dropsAsked = false;

  constructor(family: IPFamily) {
    this.#family = family;
    // Windows' AF_INET6 sockets are IPv6-only unless told otherwise.
    this.#v6only = family === 6;
    this.#socket = this.#create();
  }

  /** The node:dgram socket, made with the IPV6_V6ONLY it has now (dgram fixes it at creation). */
  #create(): dgram.Socket {
    const socket = dgram.createSocket({
      type: this.#family === 4 ? "udp4" : "udp6",
      ipv6Only: this.#v6only,
      lookup: literalLookup as unknown as dgram.SocketOptions["lookup"],
    });
    // Errors of bind are emitted synchronously (the lookup is synchronous); sends report
    // through their callbacks. Nothing else may crash the process.
    socket.on("error", (err) => {
      this.#error = err;
    });
    socket.on("message", (msg, rinfo) => this.#arrived(msg, rinfo));
    // An idle socket does not keep Node alive; a send in flight does, through its request.
    socket.unref();
    return socket;
  }

  /**
   * IPV6_V6ONLY, before the bind (the core refuses it after): dgram takes it only when it
   * creates a socket, and an unbound one holds nothing yet, so it is made again.
   */
  #setV6Only(on: boolean): number {
    if (this.#bound || this.#closed) return WSAEINVAL;
    if (on === this.#v6only) return 0;
    try {
      this.#socket.close();
    } catch {
      // Never bound: nothing left to release.
    }
    this.#v6only = on;
    this.#socket = this.#create();
    return 0;
  }

  bind(local: Endpoint): number {
    this.#error = null;
    try {
      this.#socket.bind({ address: local.address, port: local.port, exclusive: true });
    } catch (err) {
      return wsaFromOsError(err);
    }
    if (this.#error) return wsaFromOsError(this.#error);
    this.#bound = true;
    for (const [option, value] of this.#deferred) this.#apply(option, value);
    this.#deferred.clear();
    return 0;
  }

  connect(peer: Endpoint | null): number {
    // dgram refuses an address on a connected socket, and lpTo must be able to override
    // the peer: the core names the destination on every send, and this backend keeps the
    // peer only to receive from it alone, as a connected socket does.
    this.#peer = peer;
    return 0;
  }

  #arrived(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const from = this.#sourceOf(rinfo.address, rinfo.port);
    if (from === null) return;
    const peer = this.#peer;
    if (peer && (peer.address !== from.address || peer.port !== from.port)) return;
    this.#received.push(msg, from);
    this.#holdOpen();
    if (this.#received.hasQueued) this.#watchers.notify(READY_READ);
  }

  /**
   * The Endpoint of a datagram's source; the last one is kept, so that datagrams from the
   * same peer (the usual case) reuse it without parsing its text (nor the shared one-entry
   * cache of parseEndpoint, which every send by text address replaces).
   */
  #sourceOf(address: string, port: number): Endpoint | null {
    const last = this.#lastSource;
    if (last !== null && port === last.port && address === this.#lastSourceText) return last;
    // dgram names an IPv6 source with its zone (fe80::1%eth0); Winsock's SOCKADDR_IN6 has
    // none in the text.
    const from = parseEndpoint(address.includes("%") ? address.replace(/%.*$/, "") : address, port);
    if (typeof from === "number") return null;
    this.#lastSource = from;
    this.#lastSourceText = address;
    return from;
  }

  receive(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): number {
    if (this.#closed) return WSAENOTSOCK;
    this.#received.post(views, flags, completion);
    this.#holdOpen();
    return 0;
  }

  /**
   * Every datagram queued when its turn comes (at least one), as node:dgram's own Buffers,
   * not copied: see {@link BufferReceiveCompletion}. It takes its turn with the posted
   * receives, as one of them. Returns 0, or a Winsock code (nothing started).
   */
  receiveBuffers(completion: BufferReceiveCompletion): number {
    if (this.#closed) return WSAENOTSOCK;
    this.#received.postBuffers(completion);
    this.#holdOpen();
    return 0;
  }

  /** A posted receive keeps Node alive, as a pending dgram operation does; an idle socket does not. */
  #holdOpen(): void {
    const wanted = this.#received.waiting > 0 && !this.#closed;
    if (wanted === this.#referenced) return;
    this.#referenced = wanted;
    if (wanted) this.#socket.ref();
    else this.#socket.unref();
  }

  /**
   * Datagrams lost on the way to the caller: dropped by the kernel (its buffer full while
   * Node was busy; Linux tells, through /proc/net/udp) plus dropped by this backend's own
   * queue (past SO_RCVBUF). Undefined where the kernel's share cannot be told.
   */
  drops(): number | undefined {
    this.#dropsAsked = true;
    if (!this.#closed) this.#kernelDrops = this.#readKernelDrops();
    const kernel = this.#kernelDrops;
    return kernel === undefined ? undefined : kernel + this.#received.drops;
  }

  #readKernelDrops(): number | undefined {
    const local = this.localAddress();
    // An unbound socket has no kernel socket yet: nothing can have been dropped.
    return local ? kernelDrops(local) : 0;
  }

  send(views: readonly Uint8Array[], byteLength: number, to: Endpoint, _flags: number, completion: Completion): SendOutcome {
    // MSG_DONTROUTE cannot reach the kernel through dgram; Winsock lets a provider ignore it.
    if (this.#backlog.length === 0 && this.#inFlight < DGRAM_IN_FLIGHT) {
      const rc = this.#submit(views, byteLength, to, completion);
      return rc === 0 ? SEND_PENDING : failedNow(rc);
    }
    this.#backlog.push(completion, { views, byteLength, to, completion });
    return SEND_PENDING;
  }

  #submit(views: readonly Uint8Array[], byteLength: number, to: Endpoint, completion: Completion): number {
    // One view goes as itself (a list would cost dgram a new array and a Buffer per view);
    // several small ones are copied into one staging buffer (#stage); larger datagrams go
    // as a list, gathered by the kernel.
    const staged = views.length > 1 && byteLength <= GATHER_COPY_LIMIT ? this.#stage(views, byteLength) : null;
    const payload = staged ?? (views.length === 1 ? (views[0] as Uint8Array) : (views as Uint8Array[]));
    try {
      this.#socket.send(payload, to.port, to.address, (err) => {
        this.#inFlight--;
        if (staged !== null) this.#unstage(staged);
        if (err) completion.complete(wsaFromOsError(err, WSAENETDOWN), 0, err);
        else completion.complete(0, byteLength);
        this.#pump();
      });
    } catch (err) {
      return wsaFromOsError(err, WSAENETDOWN);
    }
    this.#inFlight++;
    return 0;
  }

  /**
   * The views copied into one buffer of exactly `byteLength` bytes. dgram's list path
   * (fixBufferList) makes a new Buffer per view and libuv one uv_buf each, which costs more
   * than copying up to a few KiB; a staging buffer of an earlier send is reused (a new
   * Buffer per send would cost an allocation, and an ArrayBuffer to sweep, each time).
   */
  #stage(views: readonly Uint8Array[], byteLength: number): Buffer {
    const free = this.#staging.pop();
    const buffer =
      free === undefined || free.length < byteLength
        ? Buffer.allocUnsafeSlow(byteLength)
        : free.length === byteLength
          ? free
          : free.subarray(0, byteLength);
    let at = 0;
    for (let i = 0; i < views.length; i++) {
      const v = views[i] as Uint8Array;
      buffer.set(v, at);
      at += v.length;
    }
    return buffer;
  }

  /** A staging buffer is free again (its send was called back): kept for the next send. */
  #unstage(buffer: Buffer): void {
    // A shorter view of a larger staging buffer gives back the whole of it.
    const whole = buffer.byteOffset === 0 && buffer.length === buffer.buffer.byteLength ? buffer : Buffer.from(buffer.buffer);
    if (this.#staging.length < DGRAM_IN_FLIGHT && !this.#closed) this.#staging.push(whole);
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight < DGRAM_IN_FLIGHT) {
      const next = this.#backlog.shift();
      if (!next) {
        this.#watchers.notify(READY_WRITE);
        return;
      }
      // The caller's buffers are read only now: one detached or shrunk since the call
      // fails its send (WSAEFAULT) instead of throwing out of dgram's callback.
      const rc = viewsIntact(next.views, next.byteLength)
        ? this.#submit(next.views, next.byteLength, next.to, next.completion)
        : WSAEFAULT;
      if (rc !== 0) next.completion.complete(rc, 0);
    }
  }

  pending(): number {
    return this.#received.queuedBytes;
  }

  readable(): boolean {
    return this.#received.hasQueued;
  }

  /** A send goes to dgram at once while fewer than 64 are in flight and none waits. */
  writable(): boolean {
    return !this.#closed && this.#backlog.length === 0 && this.#inFlight < DGRAM_IN_FLIGHT;
  }

  watchReadiness(interest: number, onChange: () => void): () => void {
    return this.#watchers.add(interest, onChange);
  }

  flush(): void {
    for (const queued of this.#backlog.drain()) queued.completion.complete(WSA_OPERATION_ABORTED, 0);
  }

  cancel(completion: Completion): boolean {
    if (this.#received.cancel(completion)) {
      this.#holdOpen();
      return true;
    }
    // Only the withdrawn send leaves the backlog (in O(1)); the others keep their order.
    return this.#backlog.remove(completion);
  }

  localAddress(): Endpoint | null {
    if (!this.#bound) return null;
    try {
      const { address, port } = this.#socket.address();
      const ep = parseEndpoint(address, port);
      return typeof ep === "number" ? null : ep;
    } catch {
      return null;
    }
  }

  setOption(option: BackendOption, value: number): number {
    if (option === "v6only") return this.#setV6Only(value !== 0);
    // node:dgram sends each datagram by itself: coalescing is asked for and never in effect.
    if (option === "coalesce") return 0;
    if (option === "connreset") {
      // node:dgram never reports ICMP errors on this (unconnected) socket: nothing to turn
      // off; the value is kept to be read back.
      this.#connReset = value !== 0 ? 1 : 0;
      return 0;
    }
    if (option === "rcvbuf") {
      this.#received.limit = value;
      this.#receiveBufferSet = true;
    }
    if (!this.#bound) {
      // dgram applies options to a bound socket only; they are applied at the bind.
      this.#deferred.set(option, value);
      return 0;
    }
    return this.#apply(option, value);
  }

  #apply(option: BackendOption, value: number): number {
    try {
      if (option === "broadcast") this.#socket.setBroadcast(value !== 0);
      else if (option === "sndbuf") this.#socket.setSendBufferSize(value);
      // dgram reads every datagram at once; the limit is this backend's queue's. The
      // kernel's buffer only absorbs bursts between reads: it never shrinks below its
      // default, so no datagram that fits the queue is lost in the kernel first.
      else if (option === "rcvbuf") this.#socket.setRecvBufferSize(Math.max(value, this.#kernelReceiveBuffer()));
      else this.#socket.setTTL(value);
      return 0;
    } catch (err) {
      return wsaFromOsError(err);
    }
  }

  #kernelDefault = 0;

  #kernelReceiveBuffer(): number {
    if (this.#kernelDefault === 0) {
      try {
        this.#kernelDefault = this.#socket.getRecvBufferSize();
      } catch {
        this.#kernelDefault = DEFAULT_RECEIVE_BUFFER;
      }
    }
    return this.#kernelDefault;
  }

  getOption(option: BackendOption): number | undefined {
    if (option === "connreset") return this.#connReset;
    if (option === "coalesce") return 0;
    if (option === "rcvbuf" && this.#receiveBufferSet) return this.#received.limit;
    if (!this.#bound) return this.#deferred.get(option);
    try {
      if (option === "sndbuf") return this.#socket.getSendBufferSize();
      if (option === "rcvbuf") return this.#socket.getRecvBufferSize();
    } catch {
      return undefined;
    }
    return undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Sends still in the backlog never reached the kernel: aborted, never sent. Sends
    // handed to dgram complete through their callbacks: sent, or ECANCELED (aborted)
    // when libuv drops them at close.
    this.flush();
    this.#staging.length = 0;
    if (this.#dropsAsked) this.#kernelDrops = this.#readKernelDrops();
    this.#received.abort();
    try {
      this.#socket.close();
    } catch {
      // Already closed by dgram itself: nothing left to release.
    }
    this.#watchers.notify(0);
  }
}

/** The dgram backend. */
export const dgramBackend: Backend = {
  name: "dgram",
  open(family: IPFamily): BackendSocket {
    return new DgramSocket(family);
  },
};

export default dgramBackend;
