/**
 * @wsasendto/native: the backend over the Node-API addon. On POSIX a gathered send is
 * one `sendmsg` on the calling thread, with iovecs pointing at the caller's bytes: when
 * the kernel takes it at once the operation completes immediately (overlapped
 * `WSASendTo` returns 0). On Linux the sends posted after it in the same synchronous run
 * of JavaScript are coalesced: they pend, and leave together in one `sendmmsg` at the end
 * of the run (see {@link NativeSocket.send}). `EAGAIN`/`ENOBUFS` make sends wait, in
 * order, until a poll handle on Node's loop reports the socket writable.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Backend,
  type BackendOption,
  type BackendSocket,
  type BatchItem,
  byteLengthOf,
  type Completion,
  completedNow,
  type Endpoint,
  failedNow,
  formatIPv6,
  type IPFamily,
  type ManyReceiveCompletion,
  MSG_PARTIAL,
  MSG_PEEK,
  PendingQueue,
  parseIPv4,
  parseIPv6,
  READY_READ,
  READY_WRITE,
  ReadinessWatchers,
  type ReceiveCompletion,
  type ReceiveHints,
  SEND_PENDING,
  type SendOutcome,
  viewsIntact,
  WSA_IO_PENDING,
  WSA_OPERATION_ABORTED,
  WSAECONNRESET,
  WSAEFAULT,
  WSAEINVAL,
  WSAEMSGSIZE,
  WSAENETDOWN,
  WSAENETRESET,
  WSAENOTSOCK,
  WSAEOPNOTSUPP,
  WSAEWOULDBLOCK,
  wsaFromOsError,
} from "@wsasendto/core";

/** The addon's functions: numbers in, numbers out (a negated error code on failure). */
export interface NativeBinding {
  readonly errors: "posix" | "win32";
  open(family: IPFamily): number;
  bind(handle: number, family: IPFamily, address: Uint8Array, port: number): number;
  localAddress(handle: number, family: IPFamily, out: Uint8Array): number;
  setOption(handle: number, family: IPFamily, option: number, value: number): number;
  getOption(handle: number, family: IPFamily, option: number): number;
  /**
   * Sends one datagram. POSIX: the bytes sent, or -errno (EAGAIN/ENOBUFS: retry when
   * writable). Windows: the bytes sent (completed at once), -WSA_IO_PENDING (completes
   * later through the `onComplete` callback with this `id`), or -WSA code.
   */
  send(
    handle: number,
    family: IPFamily,
    views: readonly Uint8Array[],
    address: Uint8Array,
    port: number,
    flags: number,
    id: number,
  ): number;
  /**
   * Windows: registers this thread's completion callback, `(id, status, bytes, flags)`,
   * status a WSA code, flags a receive's message flags (`MSG_PARTIAL`; 0 for a send).
   */
  onComplete?(callback: (id: number, status: number, bytes: number, flags: number) => void): number;
  /** POSIX: `send` with the views as arguments (cheaper than an array to read); bytes, or -errno. */
  sendArgs?(handle: number, family: IPFamily, address: Uint8Array, port: number, flags: number, ...views: Uint8Array[]): number;
  /**
   * Windows: one overlapped WSARecvFrom straight into `views` (no copy), `flags` 0 or
   * `MSG_PEEK`. The bytes received (completed at once, `out` filled), -WSA_IO_PENDING
   * (completes later through the `onComplete` callback with this `id`, `out` filled
   * first; the addon keeps `views` and `out` alive until then, but cannot stop the caller
   * detaching them: the backend passes a view of its own), or -WSA code (failed at
   * once: nothing completes). `out` (24 bytes): the source address (0..15), port (16..17,
   * big-endian), family (18), whether the datagram was truncated (19: `WSAEMSGSIZE`), the
   * message flags (20..23, little-endian).
   */
  recvOverlapped?(
    handle: number,
    family: IPFamily,
    views: readonly Uint8Array[],
    flags: number,
    id: number,
    out: Uint8Array,
  ): number;
  /**
   * POSIX: one sendmmsg; how many datagrams were sent, or -errno. `desc[0]` is the count
   * n, then three words per datagram: how many of `views` it gathers (in order), its
   * port, and the slot of its address in `addresses` (16 bytes a slot, an IPv4 address
   * in the first 4). The views of every datagram follow as arguments (at most 4096).
   */
  sendBatch?(
    handle: number,
    family: IPFamily,
    desc: Uint32Array,
    addresses: Uint8Array,
    flags: number,
    ...views: Uint8Array[]
  ): number;
  /** POSIX: one UDP GSO send cut into `segment`-byte datagrams, the views as arguments; the bytes sent, or -errno. */
  sendSegments?(
    handle: number,
    family: IPFamily,
    address: Uint8Array,
    port: number,
    segment: number,
    flags: number,
    ...views: Uint8Array[]
  ): number;
  /** Windows: asks Winsock to cancel the pending receive posted with `id` (CancelIoEx); 0 or -WSA code. */
  cancelReceive?(id: number): number;
  /** POSIX: whether the kernel takes UDP_SEGMENT (probed once). */
  gsoSupported?(): boolean;
  /**
   * POSIX: receives up to n datagrams in one recvmmsg (Linux; a loop of recvmsg elsewhere,
   * macOS having no recvmmsg), in order, straight into `views` (no copy). `desc[0]` is n
   * (1..1024), then one word per datagram: how many of `views` it scatters into (in order,
   * consecutive; the counts add up to the views, at most 4096; a detached view is -EFAULT,
   * nothing received). `flags`: 0, or MSG_PEEK (2: the first datagram only, left queued).
   * How many datagrams were received (>= 1), or -errno: -EAGAIN when nothing waits; a
   * pending socket error (an ICMP error) only when nothing was received, as `recv` reports it. `out` (at least 32n bytes) gets at 32i,
   * per datagram i received: the bytes written (0..3, uint32 LE), its whole length (4..7,
   * uint32 LE; with GRO, all its segments together), the source address (8..23, IPv4 in
   * the first 4), port (24..25, big-endian), family (26: 4 or 6), truncated (27: 1 or 0),
   * the UDP GRO segment size (28..29, uint16 LE; 0 if not coalesced), 0 (30..31).
   */
  recvBatch?(handle: number, family: IPFamily, desc: Uint32Array, out: Uint8Array, flags: number, ...views: Uint8Array[]): number;
  /**
   * POSIX: UDP GRO on or off (Linux UDP_GRO): with it on, one datagram `recvBatch` receives
   * may hold several coalesced segments of its reported segment size (the last maybe
   * shorter). 0, or -errno (-ENOPROTOOPT where the kernel or platform lacks it).
   */
  setGro?(handle: number, on: boolean): number;
  /** POSIX: whether the kernel takes UDP_GRO (probed once). */
  groSupported?(): boolean;
  close(handle: number): number;
  isRetryable(error: number): boolean;
  /** POSIX: a poll handle on the socket; `onEvent(status, events)` (status < 0: an error condition, watching stopped). */
  watch?(handle: number, onEvent: (status: number, events: number) => void): unknown;
  /** POSIX: watch for readability (1) and/or writability (2), or stop (0). */
  want?(watcher: unknown, events: number): number;
  unwatch?(watcher: unknown): number;
  /**
   * Receives one datagram into `views` during the call (no copy); the bytes that fit, or
   * -errno (POSIX) / -WSA code (Windows; -WSAEWOULDBLOCK when nothing waits: the addon's
   * sockets are non-blocking, and the receive is a non-overlapped WSARecvFrom). `out` (24
   * bytes) gets the source address (0..15), port (16..17, big-endian), family (18), whether
   * it was truncated (19), and (20..23, little-endian) its whole length on POSIX, its
   * message flags on Windows (`MSG_PARTIAL` when truncated; Winsock does not tell the length).
   */
  recv?(handle: number, family: IPFamily, views: readonly Uint8Array[], peek: boolean, out: Uint8Array): number;
  /** Windows: FIONREAD, the bytes of every datagram waiting; or -WSA code. */
  pending?(handle: number): number;
  /**
   * Windows: a non-blocking socket's send, answered during the call (a non-overlapped
   * WSASendTo on the addon's FIONBIO socket; nothing completes later): the bytes sent, or
   * -WSA code (-WSAEWOULDBLOCK: no room now, nothing sent).
   */
  sendNow?(
    handle: number,
    family: IPFamily,
    views: readonly Uint8Array[],
    address: Uint8Array,
    port: number,
    flags: number,
  ): number;
  /** Windows: 1 when a send would be taken now (select with a zero timeout), 0 if not, or -WSA code. */
  writable?(handle: number): number;
  /** POSIX: datagrams the kernel dropped for a full receive buffer (Linux), or -errno. */
  drops?(handle: number): number;
  /**
   * POSIX: the socket's pending error (0: none; else the first one its error queue held,
   * which a send that failed with the pending error leaves behind) and an emptied queue.
   */
  takeError?(handle: number): number;
  /** Windows: `WSAIoctl(SIO_UDP_CONNRESET)` with the BOOL `on` (0 or 1); 0 or -WSA code. */
  setConnReset?(handle: number, on: number): number;
}

/** The most datagrams one sendmmsg call carries (the addon's limit). */
const MAX_BATCH = 1024;
/** The most views one sendBatch call carries, all its datagrams together (the addon's limit). */
const MAX_BATCH_VIEWS = 4096;
// One sendBatch call's arguments (see NativeBinding.sendBatch), filled by packBatch: the
// descriptor and the address slots are reused (the addon reads them during the call).
const batchDesc = new Uint32Array(1 + 3 * MAX_BATCH);
const batchAddresses = new Uint8Array(16 * MAX_BATCH);
const batchViews: Uint8Array[] = [];

/**
 * Packs datagrams from `items[from]` on into the next sendBatch call, as many as one call
 * carries; returns how many. Consecutive datagrams to the same endpoint share its slot.
 */
function packBatch(items: readonly BatchItem[], from: number): number {
  let n = 0;
  let word = 1;
  let slot = -1;
  let last: Endpoint | null = null;
  let k = 0;
  for (let i = from; i < items.length && n < MAX_BATCH; i++, n++) {
    const { views, to } = items[i] as BatchItem;
    if (n > 0 && k + views.length > MAX_BATCH_VIEWS) break;
    if (to !== last) {
      last = to;
      batchAddresses.set(bytesOf(to), ++slot * 16);
    }
    batchDesc[word++] = views.length;
    batchDesc[word++] = to.port;
    batchDesc[word++] = slot;
    for (let j = 0; j < views.length; j++) batchViews[k++] = views[j] as Uint8Array;
  }
  batchViews.length = k;
  batchDesc[0] = n;
  return n;
}

/** Sends taken from the queue for one sendmmsg (reused: read during the call only). */
const sendable: Waiting[] = [];

const READABLE = 1;
const WRITABLE = 2;
/**
 * How often one send is tried again after failing with an ICMP error of an earlier send
 * (each failure takes that error, so one retry is enough unless another ICMP error arrives
 * in between).
 */
const MAX_SEND_RETRIES = 3;
/** Datagrams from others a connected socket's receive reads and drops before it waits. */
const MAX_DROPPED_PER_RECEIVE = 64;
// recv's out-parameter and the sink for dropped datagrams; one receive runs at a time.
const received = new Uint8Array(24);
const scratch = new Uint8Array(1);
/**
 * Windows: the most bytes a datagram can carry (IPv6's 65527 and IPv4's 65507 fit), so the
 * size of the backend's own buffer for a receive posted over more than that.
 */
const MAX_DATAGRAM = 65536;
/** Windows: how many spare MAX_DATAGRAM buffers one socket keeps for its next receives. */
const MAX_SPARE_BUFFERS = 4;

/** Copies the first `bytes` bytes of `from` over `views`, in order (they were checked intact). */
function scatter(from: Uint8Array, bytes: number, views: readonly Uint8Array[]): void {
  let at = 0;
  for (let i = 0; i < views.length && at < bytes; i++) {
    const view = views[i] as Uint8Array;
    const n = Math.min(view.length, bytes - at);
    view.set(from.subarray(at, at + n));
    at += n;
  }
}

// The source of the last datagram received and its Endpoint: a flood from one sender gets
// one object (one address string) for all its datagrams, not one each. Endpoints are
// never changed once made, so sharing them is safe.
let lastSource: Endpoint | null = null;
/** lastSource's address (0..15) and port (16..17, big-endian), as the addon reports them. */
const lastSourceBytes = new Uint8Array(18);

/**
 * The Endpoint of a source the addon wrote into `out`: its address at `at` (16 bytes, IPv4
 * in the first 4), its port at `portAt` (big-endian).
 */
function sourceOf(family: IPFamily, out: Uint8Array, at: number, portAt: number): Endpoint {
  const last = lastSource;
  const n = family === 4 ? 4 : 16;
  if (
    last !== null &&
    last.family === family &&
    out[portAt] === lastSourceBytes[16] &&
    out[portAt + 1] === lastSourceBytes[17] &&
    out[at] === lastSourceBytes[0] &&
    out[at + n - 1] === lastSourceBytes[n - 1]
  ) {
    let same = true;
    for (let i = 1; i < n - 1; i++) {
      if (out[at + i] !== lastSourceBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return last;
  }
  for (let i = 0; i < n; i++) lastSourceBytes[i] = out[at + i] as number;
  lastSourceBytes[16] = out[portAt] as number;
  lastSourceBytes[17] = out[portAt + 1] as number;
  const port = ((out[portAt] as number) << 8) | (out[portAt + 1] as number);
  const address =
    family === 4 ? `${out[at]}.${out[at + 1]}.${out[at + 2]}.${out[at + 3]}` : formatIPv6(out.subarray(at, at + 16));
  lastSource = { family, address, port };
  return lastSource;
}

function endpointOf(family: IPFamily, out: Uint8Array): Endpoint {
  return sourceOf(family, out, 0, 16);
}

/** The most datagrams one recvBatch call takes here: a batch of posted receives, or one receiveMany. */
const MAX_RECEIVE_BATCH = 64;
/** The most views one recvBatch call takes (the addon's limit), and one datagram (WS_MAX_BUFS). */
const MAX_RECEIVE_VIEWS = 4096;
const MAX_VIEWS_PER_DATAGRAM = 1024;
/** The bytes of recvBatch's out record per datagram. */
const RECORD = 32;
/** Errors a receive drops (SIO_UDP_CONNRESET off), or datagrams from others, in a row before it waits. */
const MAX_SKIPPED_PER_DRAIN = 64;
// One recvBatch call's descriptor, views and out records, and the receives it serves
// (reused: the addon reads and writes them during the call only).
const recvDesc = new Uint32Array(1 + MAX_RECEIVE_BATCH);
const recvOut = new Uint8Array(RECORD * MAX_RECEIVE_BATCH);
const recvViews: Uint8Array[] = [];
const recvServed: PostedReceive[] = [];

/** The bytes recvBatch wrote for datagram i (its record's uint32 LE at 0). */
function recordFilled(i: number): number {
  const at = RECORD * i;
  return (
    ((recvOut[at] as number) |
      ((recvOut[at + 1] as number) << 8) |
      ((recvOut[at + 2] as number) << 16) |
      ((recvOut[at + 3] as number) << 24)) >>>
    0
  );
}

const OPTION_NUMBER: Record<Exclude<BackendOption, "connreset" | "coalesce">, number> = {
  broadcast: 0,
  sndbuf: 1,
  rcvbuf: 2,
  ttl: 3,
  v6only: 4,
};

const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));

let binding: NativeBinding | null = null;
let loadFailure = "";

/** Loads the addon once: the binding, or a sentence saying why it is not here. */
export function loadBinding(): NativeBinding | string {
  if (binding) return binding;
  if (loadFailure) return loadFailure;
  try {
    const require = createRequire(import.meta.url);
    const load = require("node-gyp-build") as (dir: string) => NativeBinding;
    const loaded = load(packageRoot);
    if (loaded.errors === "win32") loaded.onComplete?.(onWindowsCompletion);
    binding = loaded;
    return binding;
  } catch (error) {
    loadFailure = `the native addon did not load (${(error as Error).message.split("\n")[0]})`;
    return loadFailure;
  }
}

/** Winsock code of an addon error: errno on POSIX (through the core's table), WSA codes as they are on Windows. */
function toWsa(b: NativeBinding, error: number): number {
  return b.errors === "win32" ? error : wsaFromOsError(error, WSAENETDOWN);
}

// The core hands out one Endpoint object per destination while it stays the same, so
// one remembered conversion serves a loop of sends.
let lastEndpoint: Endpoint | null = null;
let lastBytes: Uint8Array = new Uint8Array(16);

function bytesOf(ep: Endpoint): Uint8Array {
  if (ep !== lastEndpoint) {
    lastBytes = (ep.family === 4 ? parseIPv4(ep.address) : parseIPv6(ep.address)) ?? new Uint8Array(16);
    lastEndpoint = ep;
  }
  return lastBytes;
}

// Windows: operations the completion port will report, by the id given to the addon:
// sends (what to do with their outcome) and receives (what to do with the datagram).
const pendingById = new Map<number, (status: number, bytes: number) => void>();
const receivesById = new Map<number, (status: number, bytes: number, flags: number) => void>();
let nextOperationId = 1;

function onWindowsCompletion(id: number, status: number, bytes: number, flags = 0): void {
  const receive = receivesById.get(id);
  if (receive) {
    receivesById.delete(id);
    receive(status, bytes, flags);
    return;
  }
  const send = pendingById.get(id);
  pendingById.delete(id);
  send?.(status, bytes);
}

/**
 * Windows: readiness by polling. An overlapped socket has no readiness event that would not
 * also change how its completions arrive (WSAEventSelect, WSAAsyncSelect), and a zero-byte
 * overlapped receive would take a datagram's place in the posted-receive order; so while
 * any socket has readiness watchers, one timer asks each of them every
 * {@link READINESS_POLL_MS} ms (a one-byte MSG_PEEK WSARecvFrom per socket watching for
 * reads, nothing more for writes). The cost: a wakeup of Node's loop every few
 * milliseconds while someone waits in select, WSAPoll or WSAEventSelect, and a readiness
 * seen up to that late (later where Windows' timer resolution is coarser, 15.6 ms by
 * default). Completions of the socket's own sends and receives tell the watchers at once.
 * The timer is referenced, as POSIX's poll handle is: a wait for readiness keeps Node alive.
 */
const READINESS_POLL_MS = 4;
const readinessPolls = new Set<() => void>();
let readinessTimer: ReturnType<typeof setInterval> | null = null;

function pollReadiness(check: () => void, on: boolean): void {
  if (on) readinessPolls.add(check);
  else readinessPolls.delete(check);
  if (readinessPolls.size > 0 && readinessTimer === null) {
    readinessTimer = setInterval(() => {
      for (const poll of [...readinessPolls]) poll();
    }, READINESS_POLL_MS);
  } else if (readinessPolls.size === 0 && readinessTimer !== null) {
    clearInterval(readinessTimer);
    readinessTimer = null;
  }
}

/**
 * A receive the core asked for, until it completes. Windows: from the moment it goes to
 * Winsock. POSIX: while it waits here for a datagram.
 */
interface PostedReceive {
  readonly views: readonly Uint8Array[];
  /** What the views held when the receive was posted. */
  readonly byteLength: number;
  readonly flags: number;
  readonly completion: ReceiveCompletion;
  /**
   * POSIX: a receiveMany's completion (`completion` is the same object): one datagram into
   * each of `views`, as many as wait, rather than one datagram scattered over them.
   */
  readonly many?: ManyReceiveCompletion;
}

/** The message flags in a Windows receive's out-parameter (20..23, little-endian). */
function messageFlags(out: Uint8Array): number {
  return ((out[20] as number) | ((out[21] as number) << 8) | ((out[22] as number) << 16) | ((out[23] as number) << 24)) >>> 0;
}

interface Waiting {
  readonly views: readonly Uint8Array[];
  /** What the views held at the call. */
  readonly byteLength: number;
  readonly to: Endpoint;
  readonly flags: number;
  readonly completion: Completion;
}

class NativeSocket implements BackendSocket {
  readonly #b: NativeBinding;
  readonly #h: number;
  readonly #family: IPFamily;
  #closed = false;
  readonly #waiting = new PendingQueue<Completion, Waiting>();
  readonly #watchers = new ReadinessWatchers();
  #watcher: unknown = null;
  #watching = 0;
  readonly #receives = new PendingQueue<Completion, PostedReceive>();
  #socketError = 0;
  /** A send met a full buffer (EAGAIN/ENOBUFS) and the kernel has not reported room since. */
  #full = false;
  /** SO_COALESCE_SENDS: 1 where sends may be coalesced (POSIX with sendmmsg), unless turned off. */
  #coalesce: number;
  /** A send went during this synchronous run: the ones after it wait for {@link #endRun}. */
  #runOpen = false;
  /** The end of a synchronous run that sent: the sends coalesced behind the first one leave. */
  readonly #endRun = (): void => {
    this.#runOpen = false;
    if (this.#closed || this.#full || this.#waiting.length === 0) return;
    this.#sendWaiting();
    this.#watch();
  };
  /** SIO_UDP_CONNRESET: 1 (Winsock's default) reports a port-unreachable on a receive; 0 drops it. */
  #connReset = 1;
  #peer: Endpoint | null = null;
  /** Windows: the id of each receive Winsock holds, by completion (to cancel it). */
  readonly #withWinsock = new Map<Completion, number>();
  /** Windows: receives whose cancellation was asked (not posted again after a dropped datagram). */
  readonly #cancelled = new WeakSet<Completion>();
  /** Windows: receives handed to Winsock (or about to be handed again) and not yet complete. */
  #posted = 0;
  /** Windows: MAX_DATAGRAM buffers of the backend's own that Winsock let go, for the next receives. */
  readonly #spare: Uint8Array[] = [];
  /** Windows: this socket's turn of the readiness poll ({@link pollReadiness}), while it is in. */
  readonly #pollReady = (): void => this.#notifyReady();
  #polling = false;
  /**
   * POSIX: a receive that may wait (see {@link ReceiveHints}) completed during its call in
   * this synchronous run; those posted after it in the same run wait for
   * {@link #endReceiveRun}, to be served together.
   */
  #receiveRunOpen = false;
  /** The end of a synchronous run that received: the receives posted behind the first one are served (one recvmmsg). */
  readonly #endReceiveRun = (): void => {
    this.#receiveRunOpen = false;
    if (this.#closed || this.#receives.length === 0) return;
    this.#drainReceives();
    this.#watch();
  };
  /** POSIX: UDP GRO is on ({@link NativeSocket.setGro}). */
  #gro = false;
  /**
   * A receive that completes during the call or posts nothing (a non-blocking socket's).
   * Windows: Winsock cannot give back a receive it holds (see {@link NativeSocket.#receiveNow}).
   * POSIX: the receives of this run that wait to be served together go first.
   */
  readonly receiveNow?: (views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion) => boolean;
  /** POSIX with recvBatch: see {@link BackendSocket.receiveMany}. */
  readonly receiveMany?: (slots: readonly Uint8Array[], completion: ManyReceiveCompletion) => number;
  /** POSIX with recvBatch: see {@link BackendSocket.setGro}. */
  readonly setGro?: (on: boolean) => boolean;

  constructor(b: NativeBinding, handle: number, family: IPFamily) {
    this.#b = b;
    this.#h = handle;
    this.#family = family;
    this.#coalesce = b.errors !== "win32" && b.sendBatch ? 1 : 0;
    if (b.errors === "win32") {
      this.receiveNow = (views, flags, completion) => this.#receiveNow(views, flags, completion);
    } else if (b.recvBatch) {
      this.receiveNow = (views, flags, completion) => this.#receiveNowPosix(views, flags, completion);
      this.receiveMany = (slots, completion) => this.#receiveMany(slots, completion);
      this.setGro = (on) => this.#setGro(on);
    }
  }

  bind(local: Endpoint): number {
    const rc = this.#b.bind(this.#h, this.#family, bytesOf(local), local.port);
    return rc < 0 ? toWsa(this.#b, -rc) : 0;
  }

  connect(peer: Endpoint | null): number {
    // The core names the destination on every send, so lpTo can override the peer; the
    // peer is kept here to receive from it alone, as a connected socket does.
    this.#peer = peer;
    return 0;
  }

  /**
   * POSIX: the first send of a synchronous run of JavaScript goes during the call (one
   * sendmsg: a lone send completes at once, as Winsock's usually does). With coalescing on
   * (Linux, SO_COALESCE_SENDS), the sends posted after it in the same run pend, queued in
   * order, and leave together at the end of the run (`process.nextTick`: once the run's
   * microtasks are drained too, so that loops of awaited sends resumed together post
   * together): one sendmmsg for a burst instead of a system call each. Each still completes once, with its own bytes or error.
   * A send with `now` (non-blocking) first sends what was coalesced, then goes itself.
   */
  send(
    views: readonly Uint8Array[],
    byteLength: number,
    to: Endpoint,
    flags: number,
    completion: Completion,
    now = false,
  ): SendOutcome {
    if (this.#b.errors === "win32") {
      return now && this.#b.sendNow ? this.#sendNowWin(views, to, flags) : this.#sendOverlapped(views, to, flags, completion);
    }
    if (now && this.#waiting.length > 0 && !this.#full) this.#sendWaiting();
    if (this.#waiting.length === 0 && (now || !this.#runOpen)) {
      if (this.#coalesce !== 0 && !this.#runOpen) {
        this.#runOpen = true;
        process.nextTick(this.#endRun);
      }
      const n = this.#sendPastErrors(views, to, flags);
      if (n >= 0) return completedNow(n);
      if (!this.#b.isRetryable(-n)) return failedNow(toWsa(this.#b, -n));
      this.#full = true;
    }
    // Coalesced behind this run's first send, or behind sends waiting for room: wait, in
    // order. The views keep the caller's bytes alive until the send completes.
    this.#waiting.push(completion, { views, byteLength, to, flags, completion });
    if (this.#full) this.#watch();
    return SEND_PENDING;
  }

  /**
   * Sends what waits here, oldest first, in as few sendmmsg calls as it allows (a call
   * carries a run of sends with the same flags). Each completes once: sent, with its own
   * error (the ones after it go on), `WSAEFAULT` for buffers detached or shrunk since the
   * call; an earlier send's ICMP error is kept for the next receive and the send goes
   * again. Stops when the kernel has no room (the rest wait for writability, in order).
   */
  #sendWaiting(): void {
    const b = this.#b;
    let retries = 0;
    while (!this.#closed) {
      const count = this.#waiting.peekMany(sendable, MAX_BATCH);
      if (count === 0) break;
      const head = sendable[0] as Waiting;
      let k = 1;
      if (viewsIntact(head.views, head.byteLength)) {
        while (k < count) {
          const w = sendable[k] as Waiting;
          if (w.flags !== head.flags || !viewsIntact(w.views, w.byteLength)) break;
          k++;
        }
      } else {
        k = 0;
      }
      let packed = 1;
      let done: number;
      if (k === 0) {
        done = -1;
      } else if (k === 1 || !b.sendBatch) {
        const n = this.#sendNow(head.views, head.to, head.flags);
        done = n >= 0 ? 1 : n;
      } else {
        sendable.length = k;
        packed = packBatch(sendable, 0);
        done = b.sendBatch(this.#h, this.#family, batchDesc, batchAddresses, head.flags, ...batchViews);
        batchViews.length = 0;
      }
      sendable.length = 0;
      if (k === 0) {
        // The caller's buffers changed since the call: never sent short.
        (this.#waiting.shift() as Waiting).completion.complete(WSAEFAULT, 0);
        continue;
      }
      if (done > 0) {
        retries = 0;
        const finished: Waiting[] = new Array(done);
        for (let i = 0; i < done; i++) finished[i] = this.#waiting.shift() as Waiting;
        // sendmmsg loses the error that stopped it short: an earlier send's ICMP error
        // waits in the error queue (kept for the next receive); any other comes back when
        // the next call starts with that send.
        if (done < packed) this.#takeEarlierError(0, true);
        for (const w of finished) w.completion.complete(0, w.byteLength);
        continue;
      }
      const errno = -done;
      if (b.isRetryable(errno)) {
        this.#full = true;
        break;
      }
      if (retries++ < MAX_SEND_RETRIES && this.#takeEarlierError(errno, false)) continue;
      retries = 0;
      (this.#waiting.shift() as Waiting).completion.complete(toWsa(b, errno), 0);
    }
  }

  sendMany(items: readonly BatchItem[], flags: number): void {
    const b = this.#b;
    if (b.errors === "win32") {
      // Windows: one overlapped WSASendTo each, completed at once or through the port.
      for (const { views, to, completion } of items) {
        const outcome = this.#sendOverlapped(views, to, flags, completion);
        if (outcome >= 0) completion.complete(0, outcome);
        else if (outcome !== SEND_PENDING) completion.complete(-outcome, 0);
      }
      return;
    }
    // Sends coalesced before these go first.
    if (this.#waiting.length > 0 && !this.#full) this.#sendWaiting();
    let next = 0;
    // One sendmmsg per chunk, straight from the items, while nothing waits; a chunk cut
    // short, and what follows it, queue and go as the sends waiting here go (each error
    // its own, the rest on; no room: they wait, in order).
    while (b.sendBatch && this.#waiting.length === 0 && next < items.length) {
      const count = packBatch(items, next);
      const done = b.sendBatch(this.#h, this.#family, batchDesc, batchAddresses, flags, ...batchViews);
      batchViews.length = 0;
      for (let i = 0; i < done; i++) {
        const item = items[next + i] as BatchItem;
        item.completion.complete(0, item.byteLength);
      }
      if (done > 0) next += done;
      if (done === count) continue;
      if (done > 0) this.#takeEarlierError(0, true);
      break;
    }
    if (next === items.length) return;
    for (; next < items.length; next++) {
      const { views, byteLength, to, completion } = items[next] as BatchItem;
      this.#waiting.push(completion, { views, byteLength, to, flags, completion });
    }
    if (!this.#full) this.#sendWaiting();
    this.#watch();
  }

  sendSegments(
    views: readonly Uint8Array[],
    _byteLength: number,
    segmentSize: number,
    to: Endpoint,
    flags: number,
    _completion: Completion,
  ): SendOutcome | undefined {
    const b = this.#b;
    if (this.#waiting.length > 0 && !this.#full) this.#sendWaiting();
    if (!b.sendSegments || !b.gsoSupported?.() || this.#waiting.length > 0) return undefined;
    const send = b.sendSegments;
    let n = send(this.#h, this.#family, bytesOf(to), to.port, segmentSize, flags, ...views);
    for (let i = 0; n < 0 && i < MAX_SEND_RETRIES && this.#takeEarlierError(-n, false); i++) {
      n = send(this.#h, this.#family, bytesOf(to), to.port, segmentSize, flags, ...views);
    }
    if (n >= 0) return completedNow(n);
    // No room now, or GSO refused for this route: the core cuts the datagrams itself.
    return undefined;
  }

  /**
   * One send as Winsock sends: the bytes sent, or -errno. Linux fails the next send of a
   * socket with an ICMP error of an earlier send (ECONNREFUSED for a port-unreachable,
   * through IP_RECVERR) without sending; Winsock reports that error on a later receive
   * and sends. So the error is kept for the next receive and the datagram sent again.
   */
  #sendPastErrors(views: readonly Uint8Array[], to: Endpoint, flags: number): number {
    let n = this.#sendNow(views, to, flags);
    for (let i = 0; n < 0 && i < MAX_SEND_RETRIES && this.#takeEarlierError(-n, false); i++) {
      n = this.#sendNow(views, to, flags);
    }
    return n;
  }

  /**
   * After a send failed with `errno`, takes an earlier send's ICMP error and keeps it for
   * the next receive; true when there was one (the send may go again). A UDP send never
   * fails with ECONNREFUSED (WSAECONNRESET) for its own datagram: that is always an
   * earlier send's port-unreachable, whose entry the addon then takes from the error queue.
   * With `lookInQueue` (a batch stopped short, `errno` 0 or any), an ICMP error waiting in
   * the queue counts too; a single failed send does not look, to stay one system call.
   */
  #takeEarlierError(errno: number, lookInQueue: boolean): boolean {
    const b = this.#b;
    const consumed = errno > 0 && toWsa(b, errno) === WSAECONNRESET;
    if ((!consumed && !lookInQueue) || !b.takeError) return false;
    const queued = b.takeError(this.#h);
    if (!consumed && queued <= 0) return false;
    this.#keepError(consumed ? WSAECONNRESET : toWsa(b, queued));
    return true;
  }

  /** Whether a receive reports `code`: a port-unreachable (WSAECONNRESET) not while SIO_UDP_CONNRESET is off. */
  #reports(code: number): boolean {
    return code !== WSAECONNRESET || this.#connReset !== 0;
  }

  /** Keeps an earlier send's ICMP error for the next receive, where Winsock reports it (or drops it, see {@link #reports}). */
  #keepError(code: number): void {
    if (code !== 0 && this.#reports(code)) this.#socketError = code;
  }

  /** One sendmsg during the call: the bytes sent, or -errno. */
  #sendNow(views: readonly Uint8Array[], to: Endpoint, flags: number): number {
    const b = this.#b;
    if (!b.sendArgs) return b.send(this.#h, this.#family, views, bytesOf(to), to.port, flags, 0);
    return views.length === 1
      ? b.sendArgs(this.#h, this.#family, bytesOf(to), to.port, flags, views[0] as Uint8Array)
      : b.sendArgs(this.#h, this.#family, bytesOf(to), to.port, flags, ...views);
  }

  /**
   * Windows: the addon's overlapped WSASendTo with the caller's buffers as WSABUFs. It
   * completed at once, or is pending until the completion port reports it (the addon
   * keeps the buffers alive until then), or failed at once.
   */
  #sendOverlapped(views: readonly Uint8Array[], to: Endpoint, flags: number, completion: Completion): SendOutcome {
    const id = nextOperationId++;
    const n = this.#b.send(this.#h, this.#family, views, bytesOf(to), to.port, flags, id);
    if (n >= 0) return completedNow(n);
    if (n !== -WSA_IO_PENDING) return failedNow(-n);
    pendingById.set(id, (status, bytes) => {
      completion.complete(status, bytes);
      this.#readinessMayHaveChanged();
    });
    return SEND_PENDING;
  }

  /**
   * Windows: a non-blocking socket's send, answered during the call: taken, failed, or
   * refused with WSAEWOULDBLOCK (nothing sent). An overlapped send would pend inside
   * Winsock instead and could not be withdrawn. After a refusal the socket is not writable
   * until the addon's probe says a send would be taken ({@link NativeSocket.writable}).
   */
  #sendNowWin(views: readonly Uint8Array[], to: Endpoint, flags: number): SendOutcome {
    const b = this.#b;
    const n = (b.sendNow as NonNullable<NativeBinding["sendNow"]>)(this.#h, this.#family, views, bytesOf(to), to.port, flags);
    if (n >= 0) {
      this.#full = false;
      return completedNow(n);
    }
    if (-n === WSAEWOULDBLOCK) this.#full = true;
    return failedNow(-n);
  }

  /** Watches the socket for what waits: receives (readable), sends (writable), or nothing. */
  #watch(): void {
    const b = this.#b;
    if (b.errors === "win32") {
      // No poll handle on Windows: the readiness poll serves the watchers (pollReadiness).
      const poll = !this.#closed && this.#watchers.interest !== 0;
      if (poll !== this.#polling) pollReadiness(this.#pollReady, poll);
      this.#polling = poll;
      return;
    }
    if (this.#closed || !b.watch || !b.want) return;
    const wantRead = this.#receives.length > 0 || (this.#watchers.interest & READY_READ) !== 0;
    // Room is awaited for the sends waiting for it, or for a watcher after a send was
    // refused for lack of room (a non-blocking send withdrawn at once). Sends coalesced in
    // this run wait for its end, not for room.
    const wantWrite = this.#full && (this.#waiting.length > 0 || (this.#watchers.interest & READY_WRITE) !== 0);
    const events = (wantRead ? READABLE : 0) | (wantWrite ? WRITABLE : 0);
    if (events === this.#watching) return;
    this.#watcher ??= b.watch(this.#h, (status, ready) => this.#onEvent(status, ready));
    if (typeof this.#watcher === "number") {
      // No watcher could be made: fail what waits rather than leave it hanging.
      const code = toWsa(b, -this.#watcher);
      this.#watcher = null;
      this.#failWaiting(code);
      return;
    }
    if (b.want(this.#watcher, events) === 0) this.#watching = events;
  }

  #onEvent(status: number, events = 0): void {
    const b = this.#b;
    // The kernel reports room: a send refused for lack of it may go again.
    if ((events & WRITABLE) !== 0) this.#full = false;
    if (status < 0) {
      // An error condition (an ICMP error, through IP_RECVERR) stopped the watch: keep the
      // error for the next receive, as Winsock reports it there, and watch again.
      this.#watching = 0;
      const error = b.takeError?.(this.#h) ?? 0;
      if (error > 0) this.#keepError(toWsa(b, error));
    }
    // The receives posted go, in order: several in one recvmmsg when they can.
    if (this.#receives.length > 0 && !this.#closed) this.#drainReceives();
    // The sends that waited for room go, in order (their buffers are checked again: one
    // detached or shrunk since the call fails its send rather than sending short).
    if (!this.#full && this.#waiting.length > 0) this.#sendWaiting();
    if (this.#watchers.interest !== 0) this.#notifyReady();
    this.#watch();
  }

  /** Windows: a send or receive of this socket completed; the watchers look again. */
  #readinessMayHaveChanged(): void {
    if (!this.#closed && this.#watchers.interest !== 0) this.#notifyReady();
  }

  /** Tells the readiness watchers what holds now. */
  #notifyReady(): void {
    const interest = this.#watchers.interest;
    const ready =
      ((interest & READY_READ) !== 0 && this.readable() ? READY_READ : 0) |
      ((interest & READY_WRITE) !== 0 && this.writable() ? READY_WRITE : 0);
    if (ready !== 0) this.#watchers.notify(ready);
  }

  pending(): number {
    const n = this.#peekNext();
    if (n < 0) return 0;
    // Windows: FIONREAD, which counts every datagram waiting, as Winsock's own does (the
    // peek above dropped those from others at the head of a connected socket's queue).
    const b = this.#b;
    if (b.errors === "win32") {
      return Math.max(b.pending ? b.pending(this.#h) : 0, 0);
    }
    return n;
  }

  readable(): boolean {
    return this.#peekNext() !== -1;
  }

  writable(): boolean {
    // Windows: never a send waiting here (they pend inside Winsock). Writable unless a
    // non-blocking send was refused (WSAEWOULDBLOCK); then until the addon's probe (select
    // with a zero timeout, asked here and on each turn of the readiness poll) says a send
    // would be taken again.
    // POSIX: sends coalesced in this run are on their way; only a full buffer says no.
    if (this.#closed) return false;
    const b = this.#b;
    if (this.#full && b.errors === "win32" && b.writable && b.writable(this.#h) > 0) this.#full = false;
    return !this.#full;
  }

  watchReadiness(interest: number, onChange: () => void): () => void {
    const remove = this.#watchers.add(interest, onChange);
    this.#watch();
    return () => {
      remove();
      this.#watch();
    };
  }

  flush(): void {
    // POSIX: sends coalesced in this run were taken, as Winsock takes a send at the call:
    // they leave now. Those waiting here for room never reached the kernel: aborted.
    // Windows: every send is with Winsock during the call (nothing waits here), taken by
    // the transport, so nothing is left to abort.
    if (this.#waiting.length > 0 && !this.#full) this.#sendWaiting();
    for (const w of this.#waiting.drain()) w.completion.complete(WSA_OPERATION_ABORTED, 0);
    this.#watch();
  }

  /**
   * What a receive would meet now, without taking it: the whole length of the next
   * datagram (0 or more), -1 when nothing waits, -2 when an error waits to be reported. On
   * a connected socket datagrams from others are dropped on the way, as a receive drops
   * them. A one-byte peek; on Windows it does not tell the length: 0 (pending() asks FIONREAD).
   */
  #peekNext(): number {
    const b = this.#b;
    if (this.#closed || !b.recv) return -1;
    // POSIX: receives of this run waiting to be served together would have taken what
    // waits during their calls: they take it first.
    if (this.#receiveRunOpen && this.#receives.length > 0) this.#drainReceives();
    if (this.#socketError !== 0) return -2;
    for (let i = 0; i < MAX_DROPPED_PER_RECEIVE; i++) {
      const seen = b.recv(this.#h, this.#family, [scratch], true, received);
      if (seen < 0) {
        if (b.isRetryable(-seen)) return -1;
        // Windows: only an ICMP error is a receive's to report; another (WSAEINVAL before
        // bind) means nothing to read.
        if (b.errors === "win32" && -seen !== WSAECONNRESET && -seen !== WSAENETRESET) return -1;
        // An error (an ICMP error, through IP_RECVERR) is the next receive's to report,
        // unless SIO_UDP_CONNRESET is off: then it is dropped and the peek goes on.
        this.#keepError(toWsa(b, -seen));
        if (this.#socketError === 0) continue;
        return -2;
      }
      const peer = this.#peer;
      const source = peer ? endpointOf(this.#family, received) : null;
      if (peer && source && (peer.address !== source.address || peer.port !== source.port)) {
        b.recv(this.#h, this.#family, [scratch], false, received);
        continue;
      }
      if (b.errors === "win32") return 0;
      return (
        ((received[20] as number) |
          ((received[21] as number) << 8) |
          ((received[22] as number) << 16) |
          ((received[23] as number) << 24)) >>>
        0
      );
    }
    return -1;
  }

  /**
   * Windows: a receive that completes during the call or posts nothing (a non-blocking
   * socket's), since Winsock cannot give back a receive it holds. Only with no receive
   * posted or waiting ahead of it (a datagram is theirs first): one WSARecvFrom into the
   * caller's buffers, completed with from, flags and status as a posted receive is.
   */
  #receiveNow(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): boolean {
    if (this.#closed) {
      completion.complete(WSAENOTSOCK, 0);
      return true;
    }
    if (this.#posted > 0 || this.#receives.length > 0) return false;
    return this.#tryReceive({ views, byteLength: byteLengthOf(views), flags, completion });
  }

  /**
   * POSIX: a receive is tried during the call when none waits ahead of it (one recvmsg: it
   * completes at once when a datagram waits, as Winsock's does), else it waits, in order,
   * and is served when the socket turns readable, several together (see
   * {@link #drainReceives}). A receive whose caller cannot tell (`mayWait`, see
   * {@link ReceiveHints}: the idiomatic API's) goes during its call only as the first of a
   * synchronous run of JavaScript; those posted after it in the run wait for its end
   * (`process.nextTick`, once the run's microtasks are drained: code that awaited the first
   * runs before it, as for coalesced sends) and go together in one recvmmsg:
   * loops that post receives again as they complete pay a system call per round, not one
   * per datagram.
   */
  receive(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): number {
    if (this.#closed) return WSAENOTSOCK;
    const r: PostedReceive = { views, byteLength: byteLengthOf(views), flags, completion };
    if (this.#b.errors === "win32") return this.#receiveOverlapped(r);
    const mayWait = (completion as ReceiveHints).mayWait === true && this.#b.recvBatch !== undefined;
    if (this.#receives.length === 0 && !(mayWait && this.#receiveRunOpen) && this.#tryReceive(r)) {
      if (mayWait && !this.#receiveRunOpen) {
        this.#receiveRunOpen = true;
        process.nextTick(this.#endReceiveRun);
      }
      return 0;
    }
    this.#receives.push(completion, r);
    // In a run, the end of the run serves it (and watches if it must wait).
    if (!this.#receiveRunOpen) this.#watch();
    return 0;
  }

  /**
   * POSIX: a non-blocking socket's receive, answered during the call: the receives of this
   * run waiting to be served together go first (as they would have during their calls);
   * then, if none waits ahead of it, one recvmsg. False (nothing posted) when it would wait.
   */
  #receiveNowPosix(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): boolean {
    if (this.#closed) {
      completion.complete(WSAENOTSOCK, 0);
      return true;
    }
    if (this.#receiveRunOpen && this.#receives.length > 0) this.#drainReceives();
    if (this.#receives.length > 0) return false;
    return this.#tryReceive({ views, byteLength: byteLengthOf(views), flags, completion });
  }

  /** POSIX: a receiveMany takes its turn as one posted receive (see {@link BackendSocket.receiveMany}). */
  #receiveMany(slots: readonly Uint8Array[], completion: ManyReceiveCompletion): number {
    if (this.#closed) return WSAENOTSOCK;
    if (!Array.isArray(slots) || slots.length === 0 || slots.length > MAX_RECEIVE_BATCH) return WSAEINVAL;
    const r: PostedReceive = {
      views: slots,
      byteLength: byteLengthOf(slots),
      flags: 0,
      completion: completion as unknown as ReceiveCompletion,
      many: completion,
    };
    this.#receives.push(r.completion, r);
    if (this.#receiveRunOpen) return 0;
    if (this.#receives.length === 1) this.#drainReceives();
    this.#watch();
    return 0;
  }

  /** POSIX: UDP GRO (see {@link BackendSocket.setGro}), where the kernel takes UDP_GRO. */
  #setGro(on: boolean): boolean {
    const b = this.#b;
    if (this.#closed || on === this.#gro || !b.setGro || (on && b.groSupported?.() !== true)) return this.#gro;
    if (b.setGro(this.#h, on) === 0) this.#gro = on;
    return this.#gro;
  }

  /**
   * POSIX: serves the posted receives, oldest first, while datagrams (or errors) wait. Two
   * or more in a row go in one recvmmsg ({@link #receiveBatch}); one alone, or one a batch
   * cannot take (MSG_PEEK, a connected socket's, an error to report first, buffers changed
   * since the call), goes through {@link #tryReceive}, one recvmsg.
   */
  #drainReceives(): void {
    let skipped = 0;
    for (let head = this.#receives.peek(); head && !this.#closed; head = this.#receives.peek()) {
      if (head.many || this.#receives.length > 1) {
        const served = this.#receiveBatch(head);
        if (served > 0) continue;
        // An error dropped (SIO_UDP_CONNRESET off), or only datagrams from others: again.
        if (served === -2 && ++skipped < MAX_SKIPPED_PER_DRAIN) continue;
        if (served !== -1 || head.many) break;
      }
      if (!this.#tryReceive(head)) break;
      this.#receives.shift();
    }
  }

  /**
   * POSIX: one recvmmsg for the receive at the head of the queue and those after it that
   * can go with it (up to 64; not past one with MSG_PEEK or whose buffers changed since its
   * call, nor a receiveMany), straight into their buffers; or for the receiveMany at the
   * head, one datagram per slot. The receives served leave the queue before any completes,
   * so a completion (closing the socket) cannot abort a receive whose datagram was taken.
   * Returns how many receives completed (> 0), 0 when nothing waits, -1 when the head must
   * go alone ({@link #tryReceive}), -2 when nothing completed but more may wait.
   */
  #receiveBatch(head: PostedReceive): number {
    const b = this.#b;
    if (!b.recvBatch) return -1;
    const many = head.many;
    if (!many && (this.#peer !== null || this.#socketError !== 0)) return -1;
    let n = 0;
    let v = 0;
    if (many) {
      const error = this.#socketError;
      this.#socketError = 0;
      if (error !== 0 && this.#reports(error)) {
        this.#receives.shift();
        many.complete(error, 0);
        return 1;
      }
      if (!viewsIntact(head.views, head.byteLength)) {
        this.#receives.shift();
        many.complete(WSAEFAULT, 0);
        return 1;
      }
      for (; n < head.views.length; n++) {
        recvDesc[1 + n] = 1;
        recvViews[v++] = head.views[n] as Uint8Array;
      }
    } else {
      const count = this.#receives.peekMany(recvServed, MAX_RECEIVE_BATCH);
      for (; n < count; n++) {
        const r = recvServed[n] as PostedReceive;
        const views = r.views;
        const k = views.length;
        if (r.many || (r.flags & MSG_PEEK) !== 0 || k > MAX_VIEWS_PER_DATAGRAM || v + k > MAX_RECEIVE_VIEWS) break;
        if (!viewsIntact(views, r.byteLength)) break;
        recvDesc[1 + n] = k;
        for (let j = 0; j < k; j++) recvViews[v++] = views[j] as Uint8Array;
      }
      recvServed.length = 0;
      if (n < 2) {
        recvViews.length = 0;
        return -1;
      }
    }
    recvDesc[0] = n;
    recvViews.length = v;
    const got = b.recvBatch(this.#h, this.#family, recvDesc, recvOut, 0, ...recvViews);
    recvViews.length = 0;
    if (got <= 0) {
      const errno = -got;
      if (got === 0 || b.isRetryable(errno)) return 0;
      const code = toWsa(b, errno);
      // A view detached under the check (it reported it whole): the head alone says which.
      if (code === WSAEFAULT && !many) return -1;
      // An ICMP error (the addon emptied the error queue): the head's, or dropped.
      if (!this.#reports(code)) return -2;
      this.#receives.shift();
      head.completion.complete(code, 0);
      return 1;
    }
    return many ? this.#servedMany(many, got) : this.#servedBatch(got);
  }

  /** POSIX: the first `got` receives of the queue got the datagrams of recvOut: each completes, in order. */
  #servedBatch(got: number): number {
    const family = this.#family;
    // Read out and taken from the queue first: a completion may start another batch.
    const served: PostedReceive[] = new Array(got);
    const filled: number[] = new Array(got);
    for (let i = 0; i < got; i++) {
      const r = this.#receives.shift() as PostedReceive;
      served[i] = r;
      filled[i] = recordFilled(i);
      r.completion.from = sourceOf(family, recvOut, RECORD * i + 8, RECORD * i + 24);
      r.completion.flags = recvOut[RECORD * i + 27] === 1 ? MSG_PARTIAL : 0;
    }
    for (let i = 0; i < got; i++) {
      const c = (served[i] as PostedReceive).completion;
      c.complete(c.flags !== 0 ? WSAEMSGSIZE : 0, filled[i] as number);
    }
    return got;
  }

  /** POSIX: the receiveMany at the head got `got` datagrams (one per slot): reported, then completed. */
  #servedMany(many: ManyReceiveCompletion, got: number): number {
    const family = this.#family;
    const peer = this.#peer;
    let kept = 0;
    for (let i = 0; i < got; i++) {
      const at = RECORD * i;
      const from = sourceOf(family, recvOut, at + 8, at + 24);
      // A connected socket receives from its peer alone; these bytes are the iterator's own.
      if (peer !== null && (peer.address !== from.address || peer.port !== from.port)) continue;
      if (kept++ === 0) this.#receives.shift();
      const segment = (recvOut[at + 28] as number) | ((recvOut[at + 29] as number) << 8);
      many.datagram(i, recordFilled(i), recvOut[at + 27] === 1, from, segment);
    }
    if (kept === 0) return -2;
    many.complete(0, kept);
    return 1;
  }

  /**
   * One recvmsg straight into the caller's buffers. True when the receive completed (a
   * datagram, or an error); false when nothing is there yet. On a connected socket
   * datagrams from others are read and dropped, as the kernel of a connected socket does.
   */
  #tryReceive(r: PostedReceive): boolean {
    const b = this.#b;
    if (!b.recv) return false;
    const { views, flags, completion } = r;
    // A receive that waited may meet buffers the caller detached or shrank since: it
    // fails, and the datagram stays for the next receive.
    if (!viewsIntact(views, r.byteLength)) {
      completion.complete(WSAEFAULT, 0);
      return true;
    }
    const error = this.#socketError;
    this.#socketError = 0;
    if (error !== 0 && this.#reports(error)) {
      completion.complete(error, 0);
      return true;
    }
    const peek = (flags & MSG_PEEK) !== 0;
    const peer = this.#peer;
    for (let i = 0; i < MAX_DROPPED_PER_RECEIVE; i++) {
      if (peer) {
        // A connected socket receives from its peer alone: learn the next datagram's
        // source first (a one-byte peek), so another sender's bytes never reach the
        // caller's buffers; drop it and look again.
        const seen = b.recv(this.#h, this.#family, [scratch], true, received);
        if (seen < 0) {
          if (b.isRetryable(-seen)) return false;
          // An ICMP error the receive took (the addon emptied the error queue) and drops.
          if (!this.#reports(toWsa(b, -seen))) continue;
          completion.complete(toWsa(b, -seen), 0);
          return true;
        }
        const source = endpointOf(this.#family, received);
        if (peer.address !== source.address || peer.port !== source.port) {
          b.recv(this.#h, this.#family, [scratch], false, received);
          continue;
        }
      }
      const n = b.recv(this.#h, this.#family, views, peek, received);
      if (n < 0) {
        if (b.isRetryable(-n)) return false;
        if (!this.#reports(toWsa(b, -n))) continue;
        completion.complete(toWsa(b, -n), 0);
        return true;
      }
      const from = endpointOf(this.#family, received);
      const truncated = received[19] === 1;
      completion.from = from;
      completion.flags = truncated ? MSG_PARTIAL : 0;
      completion.complete(truncated ? WSAEMSGSIZE : 0, n);
      return true;
    }
    return false;
  }

  /**
   * Windows: an overlapped WSARecvFrom (into the backend's own buffer, see
   * {@link #postReceive}). Winsock serves
   * posted receives in posting order, one datagram each, so they go to it at once; but on
   * a connected socket one at a time does (the others wait here, in order), because a
   * datagram from someone else is dropped and its receive posted again, which must not
   * put it behind a later one. Completes during the call when a datagram was waiting.
   * Returns 0, or the code that failed it at once (then nothing completes).
   */
  #receiveOverlapped(r: PostedReceive): number {
    if (!this.#b.recvOverlapped) return WSAEOPNOTSUPP;
    if (this.#socketError !== 0 && this.#posted === 0 && this.#receives.length === 0) {
      // An error a readiness peek took from Winsock (WSAECONNRESET): this receive reports it.
      const error = this.#socketError;
      this.#socketError = 0;
      r.completion.complete(error, 0);
      return 0;
    }
    if (this.#receives.length > 0 || (this.#peer !== null && this.#posted > 0)) {
      this.#receives.push(r.completion, r);
      return 0;
    }
    this.#posted++;
    const error = this.#postReceive(r, 0);
    if (error !== 0) this.#posted--;
    return error;
  }

  /**
   * Hands one receive to Winsock: completed now (a datagram was waiting), pending (the
   * port reports it), or failed at once (the code returned; it is still the caller's).
   * `dropped` counts datagrams from others it dropped without waiting.
   *
   * Winsock writes into the backend's own buffer, never the caller's: a pending receive
   * holds its buffers until a datagram comes, and the caller may detach (transfer) or
   * shrink them meanwhile, which would free the memory Winsock writes into. The datagram
   * is copied to the caller's buffers when it completes, if they are still whole (else the
   * receive fails with WSAEFAULT). The buffer is as large as the caller's (truncation is
   * the same), at most MAX_DATAGRAM; it also keeps another sender's datagram, which a
   * connected socket drops, out of the caller's buffers.
   */
  #postReceive(r: PostedReceive, dropped: number): number {
    const out = new Uint8Array(24);
    const id = nextOperationId++;
    const own = r.byteLength === 0 ? null : this.#bufferFor(r.byteLength);
    const n = (this.#b.recvOverlapped as NonNullable<NativeBinding["recvOverlapped"]>)(
      this.#h,
      this.#family,
      own ? [own] : r.views,
      r.flags & MSG_PEEK,
      id,
      out,
    );
    if (n === -WSA_IO_PENDING) {
      this.#withWinsock.set(r.completion, id);
      receivesById.set(id, (status, bytes, flags) => {
        // The addon let go of `own` before this call.
        this.#withWinsock.delete(r.completion);
        this.#received(r, out, status, bytes, flags, 0, own);
        this.#readinessMayHaveChanged();
      });
      return 0;
    }
    if (n < 0) return -n;
    this.#received(r, out, out[19] === 1 ? WSAEMSGSIZE : 0, n, messageFlags(out), dropped, own);
    return 0;
  }

  /** Windows: a buffer of the backend's own for a receive over `byteLength` bytes (> 0). */
  #bufferFor(byteLength: number): Uint8Array {
    // Never from Buffer's shared pool: whoever holds a pooled Buffer could detach the pool.
    if (byteLength < MAX_DATAGRAM) return new Uint8Array(byteLength);
    return this.#spare.pop() ?? new Uint8Array(MAX_DATAGRAM);
  }

  /** Windows: a MAX_DATAGRAM buffer Winsock let go and nothing uses serves a later receive. */
  #spareAgain(own: Uint8Array | null): void {
    if (own && own.length === MAX_DATAGRAM && this.#spare.length < MAX_SPARE_BUFFERS) this.#spare.push(own);
  }

  /**
   * Windows: a posted receive got a datagram (status 0 or WSAEMSGSIZE; its bytes in `own`
   * when the backend's buffer took them) or an error. Winsock is done with `own`.
   */
  #received(
    r: PostedReceive,
    out: Uint8Array,
    status: number,
    bytes: number,
    flags: number,
    dropped: number,
    own: Uint8Array | null,
  ): void {
    const datagram = status === 0 || status === WSAEMSGSIZE;
    let from = datagram ? endpointOf(out[18] === 4 ? 4 : 6, out) : null;
    const peer = this.#peer;
    if (from && peer && (peer.address !== from.address || peer.port !== from.port)) {
      // Not from the peer: dropped, as a connected socket drops it; the receive waits on.
      if (this.#closed) {
        this.#finishReceive(r, WSA_OPERATION_ABORTED);
        return;
      }
      this.#spareAgain(own);
      if ((r.flags & MSG_PEEK) !== 0) this.#discardPeeked();
      if (dropped + 1 < MAX_DROPPED_PER_RECEIVE) this.#repostReceive(r, dropped + 1);
      else setImmediate(() => this.#repostReceive(r, 0)); // many in a row: let the loop breathe
      return;
    }
    this.#posted--;
    if (datagram && own) {
      if (viewsIntact(r.views, r.byteLength)) {
        scatter(own, bytes, r.views);
      } else {
        // Detached or shrunk while Winsock held the receive: its datagram is lost with it.
        from = null;
        status = WSAEFAULT;
        bytes = 0;
      }
    }
    this.#spareAgain(own);
    if (from) {
      r.completion.from = from;
      r.completion.flags = flags;
    }
    r.completion.complete(status, bytes);
    this.#pumpReceives();
  }

  #repostReceive(r: PostedReceive, dropped: number): void {
    const error =
      this.#closed || this.#cancelled.has(r.completion)
        ? WSA_OPERATION_ABORTED
        : viewsIntact(r.views, r.byteLength)
          ? this.#postReceive(r, dropped)
          : WSAEFAULT;
    if (error !== 0) this.#finishReceive(r, error);
  }

  #finishReceive(r: PostedReceive, error: number): void {
    this.#posted--;
    r.completion.complete(error, 0);
    this.#pumpReceives();
  }

  /**
   * A peeked datagram from someone else stays queued: a receive of its own takes it. Only
   * when nothing else is posted is it surely the next in line (then this receive goes
   * again behind it); else a later receive meets it too.
   */
  #discardPeeked(): void {
    if (this.#posted !== 1) return;
    const id = nextOperationId++;
    const n = this.#b.recvOverlapped?.(this.#h, this.#family, [scratch], 0, id, new Uint8Array(24));
    if (n === -WSA_IO_PENDING) receivesById.set(id, () => {});
  }

  /** Windows: hands the receives waiting here to Winsock while it may take them, in order. */
  #pumpReceives(): void {
    for (let next = this.#receives.peek(); next && !this.#closed; next = this.#receives.peek()) {
      if (this.#peer !== null && this.#posted > 0) return;
      this.#receives.shift();
      this.#posted++;
      const error = viewsIntact(next.views, next.byteLength) ? this.#postReceive(next, 0) : WSAEFAULT;
      if (error !== 0) this.#finishReceive(next, error);
    }
  }

  drops(): number | undefined {
    const n = this.#b.drops?.(this.#h) ?? -1;
    return n < 0 ? undefined : n;
  }

  #failWaiting(code: number): void {
    this.#watchers.notify(0);
    for (const w of this.#waiting.drain()) w.completion.complete(code, 0);
    for (const r of this.#receives.drain()) r.completion.complete(code, 0);
  }

  cancel(completion: Completion): boolean {
    // O(1) each: withdrawing many operations is linear in their number.
    if (this.#receives.remove(completion) || this.#waiting.remove(completion)) return true;
    // Windows: a receive Winsock holds cannot be withdrawn here; CancelIoEx asks Winsock to
    // end it, and it completes through the port, aborted (or with the datagram it had).
    const id = this.#withWinsock.get(completion);
    if (id !== undefined) {
      this.#cancelled.add(completion);
      this.#b.cancelReceive?.(id);
    }
    return false;
  }

  localAddress(): Endpoint | null {
    const out = new Uint8Array(16);
    const port = this.#b.localAddress(this.#h, this.#family, out);
    if (port < 0) return null;
    const address = this.#family === 4 ? `${out[0]}.${out[1]}.${out[2]}.${out[3]}` : formatIPv6(out);
    return { family: this.#family, address, port };
  }

  setOption(option: BackendOption, value: number): number {
    if (option === "connreset") return this.#setConnReset(value !== 0 ? 1 : 0);
    if (option === "coalesce") {
      // Asked for where it cannot be had (Windows, no sendmmsg): it stays off. Turned off,
      // what this run coalesced leaves now, and every later send goes during its call.
      const can = this.#b.errors !== "win32" && this.#b.sendBatch !== undefined;
      this.#coalesce = can && value !== 0 ? 1 : 0;
      if (this.#coalesce === 0 && this.#waiting.length > 0 && !this.#full) this.#sendWaiting();
      this.#runOpen = false;
      return 0;
    }
    const rc = this.#b.setOption(this.#h, this.#family, OPTION_NUMBER[option], value);
    return rc < 0 ? toWsa(this.#b, -rc) : 0;
  }

  /**
   * SIO_UDP_CONNRESET. Windows: Winsock's own (WSAIoctl). POSIX: kept here; while it is
   * off, a port-unreachable the kernel reports is taken and dropped, and a receive waits on.
   */
  #setConnReset(on: number): number {
    const b = this.#b;
    if (b.errors === "win32") {
      const rc = b.setConnReset ? b.setConnReset(this.#h, on) : -WSAEOPNOTSUPP;
      if (rc < 0) return -rc;
    } else if (on === 0 && this.#socketError === WSAECONNRESET) {
      this.#socketError = 0;
    }
    this.#connReset = on;
    return 0;
  }

  getOption(option: BackendOption): number | undefined {
    if (option === "connreset") return this.#connReset;
    if (option === "coalesce") return this.#coalesce;
    const v = this.#b.getOption(this.#h, this.#family, OPTION_NUMBER[option]);
    return v < 0 ? undefined : v;
  }

  close(): void {
    if (this.#closed) return;
    // Receives of this run waiting to be served together would have taken what waited
    // during their calls: they take it before the socket closes (the others are aborted).
    if (this.#receiveRunOpen && this.#receives.length > 0) this.#drainReceives();
    if (this.#closed) return; // a completion closed it
    // Sends coalesced in this run were taken at their call, as Winsock takes them: they
    // leave before the socket closes.
    if (this.#waiting.length > 0 && !this.#full) this.#sendWaiting();
    this.#closed = true;
    // Sends still waiting for room never reached the kernel: aborted, never sent.
    this.#failWaiting(WSA_OPERATION_ABORTED);
    if (this.#polling) pollReadiness(this.#pollReady, false);
    this.#polling = false;
    if (this.#watcher !== null && this.#b.unwatch) this.#b.unwatch(this.#watcher);
    this.#watcher = null;
    this.#b.close(this.#h);
  }
}

/** The native backend, or a sentence saying why it cannot be had on this machine. */
export function loadNativeBackend(): Backend | string {
  const b = loadBinding();
  if (typeof b === "string") return b;
  return {
    name: "native",
    open(family: IPFamily): BackendSocket | number {
      const h = b.open(family);
      return h < 0 ? toWsa(b, -h) : new NativeSocket(b, h, family);
    },
  };
}
