// The rows of the receive benchmark: how each kind of receiver takes datagrams, and how one
// measurement of it is taken while the C sender floods it.
//
// A JavaScript row opens a fresh socket on 127.0.0.1 (SO_RCVBUF set alike for every row),
// starts receiving (posts its window of receives, or attaches its handler) before the
// flood begins, counts what arrives, and is closed once the flood is over and nothing came
// for a while. A C row is a process of its own (c/receiver.c --once) doing the same.
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import * as ws from "wsasendto";
import { runCSender, startCReceiver } from "./procs.mjs";

const ADDRESS = "127.0.0.1";
/** How long an alertable or event wait lasts before the loop looks at its flag again. */
const WAIT_MS = 100;
/** After the flood, a receiver still busy this long (draining its buffers) has failed. */
export const HARD_MARGIN_MS = 5_000;
/** Bounds every flood in count as well as in time. */
export const MAX_DATAGRAMS_PER_FLOOD = 50_000_000;

/**
 * The kernel's drop counter of the UDP socket bound to 127.0.0.1:port, from its row of
 * /proc/net/udp (its last column); undefined when the row is not there (or not Linux).
 */
export function procUdpDrops(port) {
  let table;
  try {
    table = readFileSync("/proc/net/udp", "latin1");
  } catch {
    return undefined;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of table.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) return Number(f[f.length - 1]);
  }
  return undefined;
}

/**
 * What a JavaScript receiver counts. It also reads the clock at its 1st, 65th, 129th ...
 * datagram (one performance.now() per 64): the rate is taken between the first and the last
 * of those readings, pairs of (time, count) read together. (Not a timer: under a flood the
 * native backend completes receives during the calls that post them, one after another in
 * microtasks, and timers wait until the socket is drained.)
 */
class Counter {
  constructor(size) {
    this.size = size;
    this.received = 0;
    this.bytes = 0;
    this.wrong = 0;
    this.failed = 0;
    this.firstError = null;
    this.firstT = -1;
    this.lastT = -1;
    this.lastCount = 0;
    /** facade-event: completions found by a sweep without their event having been set. */
    this.unsignalled = 0;
  }

  /** A datagram of `n` bytes arrived (whole: `truncated` false). */
  got(n, truncated = false) {
    const k = ++this.received;
    this.bytes += n;
    if (n !== this.size || truncated) this.wrong++;
    if ((k & 63) === 1) {
      const t = performance.now();
      if (k === 1) this.firstT = t;
      this.lastT = t;
      this.lastCount = k;
    }
  }

  fail(error) {
    this.failed++;
    this.firstError ??= String(error?.message ?? error);
  }
}

/** The shape's buffers for one posted receive: one per size. */
const buffersOf = (sizes) => sizes.map((n) => Buffer.alloc(n));

// ---------------------------------------------------------------------------------
// The JavaScript receivers. Each `open(shape, options)` resolves with { port, start(counter),
// stop(), drops() }: the socket is bound; start() begins receiving; stop() ends it and
// closes the socket; drops() is the kernel's count (or the socket's own) before the close.

/** Raw node:dgram: a 'message' listener counts each datagram (dgram reads it into a Buffer of its own). */
async function openRawDgram(_shape, { rcvbuf }) {
  const socket = dgram.createSocket("udp4");
  await new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, ADDRESS, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.on("error", () => {});
  if (rcvbuf > 0) socket.setRecvBufferSize(rcvbuf);
  const port = socket.address().port;
  return {
    port,
    rcvbuf: socket.getRecvBufferSize(),
    start(c) {
      socket.on("message", (msg) => c.got(msg.length));
    },
    drops: () => procUdpDrops(port),
    async stop() {
      await new Promise((resolve) => socket.close(resolve));
    },
  };
}

/** A facade socket of `backend`, SO_RCVBUF set, bound to 127.0.0.1:0; its port. */
function facadeSocket(backend, rcvbuf) {
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, { szProtocol: backend }, 0, ws.WSA_FLAG_OVERLAPPED);
  if (s === ws.INVALID_SOCKET) throw new Error(`WSASocket (${backend}) failed: ${ws.WSAGetLastError()}`);
  if (rcvbuf > 0 && ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, rcvbuf, 4) !== 0) {
    ws.closesocket(s);
    throw new Error(`setsockopt(SO_RCVBUF) (${backend}) failed: ${ws.WSAGetLastError()}`);
  }
  const local = { sin_family: ws.AF_INET, sin_port: 0, sin_addr: { s_addr: ws.inet_addr(ADDRESS) } };
  const name = {};
  if (ws.bind(s, local, ws.sizeof(local)) !== 0 || ws.getsockname(s, name, { value: 16 }) !== 0) {
    const e = ws.WSAGetLastError();
    ws.closesocket(s);
    throw new Error(`bind/getsockname (${backend}) failed: ${e}`);
  }
  const got = { value: 0 };
  ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, got, { value: 4 });
  return { s, port: ws.ntohs(name.sin_port), rcvbuf: got.value };
}

/**
 * W receive slots, each with its WSAOVERLAPPED (and its own event, when `withEvents`),
 * WSABUFs of the shape's sizes, lpFlags, lpFrom and lpFromlen.
 */
function slotsOf(shape, window, withEvents) {
  return Array.from({ length: window }, () => {
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = withEvents ? ws.WSACreateEvent() : null;
    const wsabufs = buffersOf(shape.sizes).map((buf) => ({ len: buf.length, buf }));
    return { ov, wsabufs, flags: { value: 0 }, from: {}, fromlen: { value: 16 }, busy: false };
  });
}

/** Posts one overlapped WSARecvFrom on a slot; true when it is under way (completed at once, or pending). */
function post(s, slot, routine) {
  slot.flags.value = 0;
  slot.fromlen.value = 16;
  const rc = ws.WSARecvFrom(s, slot.wsabufs, slot.wsabufs.length, null, slot.flags, slot.from, slot.fromlen, slot.ov, routine);
  return rc === 0 || ws.WSAGetLastError() === ws.WSA_IO_PENDING;
}

/**
 * Overlapped WSARecvFrom with events: W receives posted (at most WSA_MAXIMUM_WAIT_EVENTS),
 * each WSAOVERLAPPED with its own manual-reset event. The loop waits for any of them, then
 * sweeps the W slots (each completed one, HasOverlappedIoCompleted, is collected with
 * WSAGetOverlappedResult(fWait=false) and posted again), as a Winsock server does with
 * WSAWaitForMultipleEvents. Not one event shared by all: starting an operation resets its
 * event (as Windows' I/O manager does), so a receive posted again during a sweep would
 * erase the signal of one that completed at once earlier in the same sweep.
 */
async function openFacadeEvent(shape, { backend, rcvbuf, window }) {
  const { s, port, rcvbuf: actual } = facadeSocket(backend, rcvbuf);
  const slots = slotsOf(shape, Math.min(window, ws.WSA_MAXIMUM_WAIT_EVENTS), true);
  let stopping = false;
  let loop = Promise.resolve();
  let sweep = () => 0;
  return {
    port,
    rcvbuf: actual,
    start(c) {
      for (const slot of slots) {
        if (post(s, slot, null)) slot.busy = true;
        else c.fail(`WSARecvFrom: ${ws.WSAGetLastError()}`);
      }
      const transferred = { value: 0 };
      const flags = { value: 0 };
      /** Collects every completed slot (and posts it again unless `last`); returns how many. */
      sweep = (last) => {
        let n = 0;
        for (const slot of slots) {
          if (!slot.busy || !ws.HasOverlappedIoCompleted(slot.ov)) continue;
          slot.busy = false;
          n++;
          if (ws.WSAGetOverlappedResult(s, slot.ov, transferred, false, flags)) c.got(transferred.value);
          else if (ws.WSAGetLastError() === ws.WSAEMSGSIZE) c.got(transferred.value, true);
          else c.fail(`WSAGetOverlappedResult: ${ws.WSAGetLastError()}`);
          if (last) continue;
          if (post(s, slot, null)) slot.busy = true;
          else c.fail(`WSARecvFrom: ${ws.WSAGetLastError()}`);
        }
        return n;
      };
      loop = (async () => {
        const events = slots.map((slot) => slot.ov.hEvent);
        while (!stopping) {
          const rc = await ws.WSAWaitForMultipleEvents(events.length, events, false, WAIT_MS, false);
          if (stopping) return;
          if (rc === ws.WSA_WAIT_FAILED) {
            c.fail(`WSAWaitForMultipleEvents: ${ws.WSAGetLastError()}`);
            return;
          }
          // A timeout sweeps too: what it finds completed without its event set is counted.
          if (rc === ws.WSA_WAIT_TIMEOUT) c.unsignalled += sweep(false);
          else sweep(false);
        }
      })();
    },
    drops: () => procUdpDrops(port),
    async stop(c) {
      // Completions the loop has not collected yet (their event never set, or set after the
      // last wait): one last sweep, before closesocket aborts the rest.
      c.unsignalled += sweep(true);
      stopping = true;
      // closesocket completes every posted receive (aborted): the event is set, the loop ends.
      ws.closesocket(s);
      await loop;
      for (const slot of slots) ws.WSACloseEvent(slot.ov.hEvent);
    },
  };
}

/**
 * Overlapped WSARecvFrom with completion routines: W receives posted, each routine counts
 * its datagram and posts the receive again; the loop sits in SleepEx(ms, TRUE), where the
 * routines run.
 */
async function openFacadeRoutine(shape, { backend, rcvbuf, window }) {
  const { s, port, rcvbuf: actual } = facadeSocket(backend, rcvbuf);
  const slots = slotsOf(shape, window, false);
  let stopping = false;
  let inFlight = 0;
  let loop = Promise.resolve();
  return {
    port,
    rcvbuf: actual,
    start(c) {
      // Each slot keeps its routine: no closure is made per datagram.
      for (const slot of slots) {
        slot.routine = (dwError, cbTransferred) => {
          inFlight--;
          if (stopping) return;
          if (dwError === 0) c.got(cbTransferred);
          else if (dwError === ws.WSAEMSGSIZE) c.got(cbTransferred, true);
          else c.fail(`completion routine: error ${dwError}`);
          if (post(s, slot, slot.routine)) inFlight++;
          else c.fail(`WSARecvFrom: ${ws.WSAGetLastError()}`);
        };
      }
      for (const slot of slots) {
        if (post(s, slot, slot.routine)) inFlight++;
        else c.fail(`WSARecvFrom: ${ws.WSAGetLastError()}`);
      }
      loop = (async () => {
        while (!stopping) await ws.SleepEx(WAIT_MS, true);
        // The aborted receives' routines (closesocket) run here, in alertable waits, bounded.
        for (let i = 0; i < 100 && inFlight > 0; i++) await ws.SleepEx(10, true);
      })();
    },
    drops: () => procUdpDrops(port),
    async stop() {
      stopping = true;
      ws.closesocket(s);
      await loop;
    },
  };
}

/** The idiomatic `await sock.receive(buffers)`: W async loops, each with its own buffers of the shape's sizes. */
async function openReceive(shape, { backend, rcvbuf, window }) {
  const sock = ws.openUdpSocket({ family: "ipv4", bind: { address: ADDRESS, port: 0 }, backend, receiveBufferSize: rcvbuf });
  const port = sock.localAddress().port;
  let stopping = false;
  let loops = Promise.resolve();
  return {
    port,
    rcvbuf,
    start(c) {
      const loop = async () => {
        const buffers = buffersOf(shape.sizes);
        while (!stopping) {
          try {
            const r = await sock.receive(buffers);
            c.got(r.bytesReceived, r.truncated);
          } catch (err) {
            if (!stopping) c.fail(err);
            return;
          }
        }
      };
      loops = Promise.all(Array.from({ length: window }, loop));
    },
    drops: () => sock.drops,
    async stop() {
      stopping = true;
      sock.close();
      await loops;
    },
  };
}

/** The idiomatic async iterator: `for await (const { data } of sock)` (a Buffer of its own per datagram). */
async function openDatagrams(_shape, { backend, rcvbuf }, gro = false) {
  const sock = ws.openUdpSocket({ family: "ipv4", bind: { address: ADDRESS, port: 0 }, backend, receiveBufferSize: rcvbuf });
  const port = sock.localAddress().port;
  let loop = Promise.resolve();
  return {
    port,
    rcvbuf,
    start(c) {
      loop = (async () => {
        try {
          for await (const { data, truncated } of sock.datagrams({ gro })) c.got(data.length, truncated);
        } catch (err) {
          c.fail(err);
        }
      })();
    },
    drops: () => sock.drops,
    async stop() {
      sock.close(); // ends the iteration
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------------
// One measurement

/** The flood's sender settings for a shape: UDP GSO where the kernel takes it, else sendmmsg. */
export function floodOf(shape, gso, window) {
  return gso ? { mode: "gso", batch: Math.min(64, Math.floor(65_507 / shape.size)) } : { mode: "sendmmsg", batch: window };
}

/**
 * A JavaScript row: opens its socket, starts receiving, floods it from the C sender for
 * `durationMs`, and stops once the sender is done and nothing came for `idleMs`.
 */
async function measureJs(row, shape, o) {
  const rx = await row.open(shape, o);
  const c = new Counter(shape.size);
  let sender;
  let cpu;
  let drops;
  let timedOut = false;
  try {
    rx.start(c);
    const flood = runCSender(o.cSender, {
      ...o.flood,
      port: rx.port,
      durationMs: o.durationMs,
      maxDatagrams: MAX_DATAGRAMS_PER_FLOOD,
      sizes: [shape.size],
      rate: o.rate,
    });
    const cpu0 = process.cpuUsage();
    sender = await flood;
    // The flood is over: wait until nothing came for idleMs (the receiver may still be
    // draining its buffers), bounded.
    const floodEnd = performance.now();
    let seen = c.received;
    let changed = floodEnd;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, o.idleMs / 4)));
      const now = performance.now();
      if (c.received !== seen) {
        seen = c.received;
        changed = now;
      } else if (now - changed >= o.idleMs) break;
      if (now - floodEnd >= HARD_MARGIN_MS) {
        timedOut = true;
        break;
      }
    }
    const u = process.cpuUsage(cpu0);
    cpu = u.user + u.system;
    drops = rx.drops();
  } finally {
    await rx.stop(c);
  }
  if (timedOut) c.fail(`still receiving ${HARD_MARGIN_MS} ms after the flood ended`);
  return {
    sent: sender.sent,
    sendErrors: sender.errors,
    sendErrno: sender.firstErrno,
    senderMs: sender.elapsedMs,
    senderCpuUs: sender.cpuUs,
    received: c.received,
    bytes: c.bytes,
    wrong: c.wrong,
    failed: c.failed,
    firstError: c.firstError,
    drops: drops ?? null,
    rateWindowMs: c.lastT > c.firstT ? c.lastT - c.firstT : 0,
    rateCount: c.lastCount - 1,
    unsignalled: c.unsignalled,
    cpuUs: cpu,
    rcvbuf: rx.rcvbuf,
  };
}

/** A C row: the receiver process first (it prints its port), then the flood. */
async function measureC(row, shape, o) {
  const rx = await startCReceiver(o.cReceiver, {
    mode: row.cMode,
    sizes: shape.sizes,
    rcvbuf: o.rcvbuf,
    batch: o.window,
    idleMs: o.idleMs,
    waitMs: 5_000,
    maxMs: o.durationMs + HARD_MARGIN_MS + 5_000,
  });
  const [sent, got] = await Promise.allSettled([
    runCSender(o.cSender, {
      ...o.flood,
      port: rx.port,
      durationMs: o.durationMs,
      maxDatagrams: MAX_DATAGRAMS_PER_FLOOD,
      sizes: [shape.size],
      rate: o.rate,
    }),
    rx.done,
  ]);
  if (sent.status === "rejected") throw sent.reason;
  if (got.status === "rejected") throw got.reason;
  const s = sent.value;
  const r = got.value;
  return {
    sent: s.sent,
    sendErrors: s.errors,
    sendErrno: s.firstErrno,
    senderMs: s.elapsedMs,
    senderCpuUs: s.cpuUs,
    received: r.received,
    bytes: r.bytes,
    wrong: r.wrong,
    failed: 0,
    firstError: null,
    drops: r.drops,
    rateWindowMs: (r.lastNs - r.firstNs) / 1e6,
    rateCount: r.received - r.firstBatch,
    cpuUs: r.cpuUs,
    rcvbuf: rx.rcvbuf,
  };
}

/**
 * The rows. kind: "raw", "facade", "idiomatic" or "c"; backend for the library's rows;
 * group: the chart's colour; dropsFrom: where the kernel drops come from.
 */
export const RX_ROWS = [
  {
    name: "raw-dgram",
    kind: "raw",
    group: "raw",
    open: openRawDgram,
    dropsFrom: "/proc/net/udp",
    what: "node:dgram socket.on('message', ...) counting each datagram: the baseline of the dgram rows",
  },
  {
    name: "dgram/facade-event",
    kind: "facade",
    backend: "dgram",
    group: "dgram",
    open: openFacadeEvent,
    dropsFrom: "/proc/net/udp (the kernel's; not the backend queue's)",
    what: "WSARecvFrom overlapped, W posted, WSAOVERLAPPEDs sharing one event: wait, reset, sweep, post again",
  },
  {
    name: "dgram/facade-routine",
    kind: "facade",
    backend: "dgram",
    group: "dgram",
    open: openFacadeRoutine,
    dropsFrom: "/proc/net/udp (the kernel's; not the backend queue's)",
    what: "WSARecvFrom overlapped, W posted, each with a completion routine that posts it again; SleepEx(ms, TRUE)",
  },
  {
    name: "native/facade-event",
    kind: "facade",
    backend: "native",
    group: "native",
    open: openFacadeEvent,
    dropsFrom: "/proc/net/udp",
    what: "as dgram/facade-event, on the native backend (recvmsg into the posted WSABUFs)",
  },
  {
    name: "native/facade-routine",
    kind: "facade",
    backend: "native",
    group: "native",
    open: openFacadeRoutine,
    dropsFrom: "/proc/net/udp",
    what: "as dgram/facade-routine, on the native backend",
  },
  {
    name: "dgram/receive",
    kind: "idiomatic",
    backend: "dgram",
    group: "dgram",
    open: openReceive,
    dropsFrom: "sock.drops",
    what: "idiomatic await sock.receive(buffers), W async loops, each with its own buffers",
  },
  {
    name: "dgram/datagrams",
    kind: "idiomatic",
    backend: "dgram",
    group: "dgram",
    open: openDatagrams,
    dropsFrom: "sock.drops",
    what: "idiomatic for await (const { data } of sock): one loop, a Buffer per datagram",
  },
  {
    name: "native/receive",
    kind: "idiomatic",
    backend: "native",
    group: "native",
    open: openReceive,
    dropsFrom: "sock.drops",
    what: "as dgram/receive, on the native backend",
  },
  {
    name: "native/datagrams",
    kind: "idiomatic",
    backend: "native",
    group: "native",
    open: openDatagrams,
    dropsFrom: "sock.drops",
    what: "as dgram/datagrams, on the native backend",
  },
  {
    name: "native/datagrams-gro",
    kind: "idiomatic",
    backend: "native",
    group: "native",
    open: (shape, o) => openDatagrams(shape, o, true),
    dropsFrom: "sock.drops",
    what: "as native/datagrams with sock.datagrams({ gro: true }): UDP GRO, the coalesced datagrams split again by the iterator",
  },
  {
    name: "C/recvmsg",
    kind: "c",
    group: "c",
    cMode: "recvmsg",
    dropsFrom: "SO_MEMINFO",
    what: "C: blocking recvmsg(2), one datagram per call, scattered over the shape's buffers",
  },
  {
    name: "C/recvmmsg",
    kind: "c",
    group: "c",
    cMode: "recvmmsg",
    dropsFrom: "SO_MEMINFO",
    what: "C: blocking recvmmsg(2) of up to W datagrams per call (MSG_WAITFORONE), each scattered over the shape's buffers: the limit",
  },
];

/** One measurement of `row` at `shape`: { sent, received, bytes, wrong, drops, rateWindowMs, rateCount, cpuUs, ... }. */
export function measure(row, shape, options) {
  return row.kind === "c" ? measureC(row, shape, options) : measureJs(row, shape, options);
}
