// The rows of the benchmark: how each one sends, and how a measurement of it is taken.
// Every JavaScript row keeps WINDOW sends in flight (or sends WINDOW datagrams per call)
// for a fixed time, counts what completed, the process's CPU time, and the time from post
// to completion of every 16th send (or of every call, for sendBatch and sendSegments).
import { performance } from "node:perf_hooks";
import * as ws from "wsasendto";
import { runCSender } from "./procs.mjs";

/** Bounds every measurement in count as well as in time. */
export const MAX_SENDS_PER_MEASUREMENT = 10_000_000;
/** A measurement still running this long after its duration has failed. */
export const HARD_MARGIN_MS = 5_000;
/** How long an alertable or event wait lasts before the loop looks at the clock again. */
const WAIT_MS = 100;
/** At most this many latency samples per measurement. */
const LATENCY_CAP = 1 << 15;
const DEST_ADDRESS = "127.0.0.1";

export class Measurement {
  constructor(durationMs, bytesPerDatagram) {
    this.bytesPerDatagram = bytesPerDatagram;
    this.issued = 0;
    this.done = 0;
    this.failed = 0;
    this.firstError = null;
    this.latencies = new Float64Array(LATENCY_CAP);
    this.nLatencies = 0;
    this.cpu0 = process.cpuUsage();
    this.t0 = performance.now();
    this.deadline = this.t0 + durationMs;
    this.hardStop = this.deadline + HARD_MARGIN_MS;
  }

  /**
   * True once no new send may start: the count is reached or the time is up. The clock is
   * read at every 16th send only, the same for every row, so at most 16 sends start after
   * the deadline.
   */
  expired() {
    if (this.issued >= MAX_SENDS_PER_MEASUREMENT) return true;
    return (this.issued & 15) === 0 && performance.now() >= this.deadline;
  }

  /** Records the time from `t0` (a performance.now() at the post) to now. */
  latency(t0) {
    if (this.nLatencies < LATENCY_CAP) this.latencies[this.nLatencies++] = performance.now() - t0;
  }

  fail(error) {
    this.failed++;
    this.firstError ??= String(error?.message ?? error);
  }

  finish(stillInFlight = 0) {
    const elapsedMs = performance.now() - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    if (stillInFlight > 0) this.fail(`${stillInFlight} sends still in flight ${HARD_MARGIN_MS} ms after the deadline`);
    return {
      sent: this.done,
      bytes: this.done * this.bytesPerDatagram,
      failed: this.failed,
      firstError: this.firstError,
      elapsedMs,
      cpuUs: cpu.user + cpu.system,
      latenciesMs: Array.from(this.latencies.subarray(0, this.nLatencies)),
    };
  }
}

/** Rejects when a Promise-driven measurement outlives its hard stop. */
function bounded(promise, m) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("measurement did not finish in time")), m.hardStop - performance.now());
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Raw node:dgram, W in flight: W sends start; each callback starts the next one until the
 * time is up. `payload` is the shape's array of buffers, or the same bytes concatenated
 * once, before the measurement, into one Buffer. The callbacks of one socket come in the
 * order of its sends, so a small ring pairs each sampled send with its callback.
 */
function runDgram(ctx, durationMs, window, payload) {
  const { socket, port, bytes } = ctx;
  const m = new Measurement(durationMs, bytes);
  const ringSeq = new Float64Array(64);
  const ringT0 = new Float64Array(64);
  let ringHead = 0;
  let ringTail = 0;
  let completed = 0;
  let inFlight = 0;
  let stopping = false;
  let finished;
  const whenFinished = new Promise((resolve) => {
    finished = resolve;
  });
  const callback = (err, sentBytes) => {
    inFlight--;
    const seq = completed++;
    if (ringHead < ringTail && ringSeq[ringHead & 63] === seq) m.latency(ringT0[ringHead++ & 63]);
    if (!err && sentBytes === bytes) m.done++;
    else m.fail(err ?? `sent ${sentBytes} of ${bytes} bytes`);
    if (!stopping) stopping = m.expired();
    if (!stopping) issue();
    else if (inFlight === 0) finished();
  };
  const issue = () => {
    const seq = m.issued++;
    if ((seq & 15) === 0) {
      ringSeq[ringTail & 63] = seq;
      ringT0[ringTail++ & 63] = performance.now();
    }
    inFlight++;
    try {
      socket.send(payload, port, DEST_ADDRESS, callback);
    } catch (err) {
      inFlight--;
      m.fail(err);
      stopping = true;
      if (inFlight === 0) finished();
    }
  };
  for (let i = 0; i < window && !stopping; i++) issue();
  return bounded(whenFinished, m).then(() => m.finish());
}

/** Starts an overlapped WSASendTo; true when it is under way (completed at once, or pending). */
function startOverlapped(ctx, ov, routine) {
  const rc = ws.WSASendTo(ctx.s, ctx.wsabufs, ctx.wsabufs.length, null, 0, ctx.to, ctx.tolen, ov, routine);
  return rc === 0 || ws.WSAGetLastError() === ws.WSA_IO_PENDING;
}

/**
 * Overlapped WSASendTo with a completion routine, W WSAOVERLAPPEDs. Each routine counts its
 * send and reissues it on the same WSAOVERLAPPED (Winsock allows sending from a routine).
 * Routines run only inside an alertable wait, so the loop sits in SleepEx(ms, true): each
 * wait runs every routine queued since the last one and settles with WAIT_IO_COMPLETION.
 */
async function runRoutine(ctx, durationMs, window) {
  const m = new Measurement(durationMs, ctx.bytes);
  const slots = Array.from({ length: window }, () => new ws.WSAOVERLAPPED());
  const t0 = new Float64Array(window).fill(-1);
  let inFlight = 0;
  let stopping = false;
  const issue = (i) => {
    if ((m.issued++ & 15) === 0) t0[i] = performance.now();
    // Completed at once (0) or pending: either way its routine is queued, and runs later.
    if (startOverlapped(ctx, slots[i], routines[i])) inFlight++;
    else {
      m.fail(`WSASendTo: ${ws.WSAGetLastError()}`);
      stopping = true;
    }
  };
  const routines = slots.map((_, i) => (dwError, cbTransferred) => {
    inFlight--;
    if (t0[i] >= 0) {
      m.latency(t0[i]);
      t0[i] = -1;
    }
    if (dwError === 0 && cbTransferred === ctx.bytes) m.done++;
    else m.fail(`completion routine: error ${dwError}, ${cbTransferred} bytes`);
    if (!stopping) stopping = m.expired();
    if (!stopping) issue(i);
  });
  for (let i = 0; i < window && !stopping; i++) issue(i);
  while (inFlight > 0 && performance.now() < m.hardStop) await ws.SleepEx(WAIT_MS, true);
  return m.finish(inFlight);
}

/**
 * Overlapped WSASendTo with an event, W WSAOVERLAPPEDs sharing one manual-reset event. The
 * loop waits for it, resets it, then sweeps all W slots: each completed one
 * (HasOverlappedIoCompleted) is collected with WSAGetOverlappedResult(fWait=false) and
 * reissued. Resetting before the sweep loses nothing: completions are delivered only
 * between turns of the event loop, never during the sweep.
 */
async function runEvent(ctx, durationMs, window) {
  const m = new Measurement(durationMs, ctx.bytes);
  const event = ws.WSACreateEvent();
  const slots = Array.from({ length: window }, () => {
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = event;
    return ov;
  });
  const events = [event];
  const busy = new Array(window).fill(false);
  const t0 = new Float64Array(window).fill(-1);
  const transferred = { value: 0 };
  const flags = { value: 0 };
  let inFlight = 0;
  let stopping = false;
  const issue = (i) => {
    if ((m.issued++ & 15) === 0) t0[i] = performance.now();
    if (startOverlapped(ctx, slots[i], null)) {
      busy[i] = true;
      inFlight++;
    } else {
      m.fail(`WSASendTo: ${ws.WSAGetLastError()}`);
      stopping = true;
    }
  };
  for (let i = 0; i < window && !stopping; i++) issue(i);
  while (inFlight > 0 && performance.now() < m.hardStop) {
    const rc = await ws.WSAWaitForMultipleEvents(1, events, false, WAIT_MS, false);
    if (rc === ws.WSA_WAIT_TIMEOUT) continue;
    if (rc === ws.WSA_WAIT_FAILED) {
      m.fail(`WSAWaitForMultipleEvents: ${ws.WSAGetLastError()}`);
      break;
    }
    ws.WSAResetEvent(event);
    for (let i = 0; i < window; i++) {
      const ov = slots[i];
      if (!busy[i] || !ws.HasOverlappedIoCompleted(ov)) continue;
      busy[i] = false;
      inFlight--;
      if (t0[i] >= 0) {
        m.latency(t0[i]);
        t0[i] = -1;
      }
      if (ws.WSAGetOverlappedResult(ctx.s, ov, transferred, false, flags) && transferred.value === ctx.bytes) m.done++;
      else m.fail(`WSAGetOverlappedResult: ${ws.WSAGetLastError()}, ${transferred.value} bytes`);
      if (!stopping) stopping = m.expired();
      if (!stopping) issue(i);
    }
  }
  ws.WSACloseEvent(event);
  return m.finish(inFlight);
}

/** Non-overlapped WSASendTo: each call is a Promise; W async loops keep W in flight. */
async function runNonOverlapped(ctx, durationMs, window) {
  const m = new Measurement(durationMs, ctx.bytes);
  let stopping = false;
  const loop = async () => {
    const sent = { value: 0 };
    while (!stopping) {
      const t0 = (m.issued++ & 15) === 0 ? performance.now() : -1;
      const rc = await ws.WSASendTo(ctx.s, ctx.wsabufs, ctx.wsabufs.length, sent, 0, ctx.to, ctx.tolen, null, null);
      if (t0 >= 0) m.latency(t0);
      if (rc === 0 && sent.value === ctx.bytes) m.done++;
      else {
        m.fail(`WSASendTo: ${ws.WSAGetLastError()}`);
        stopping = true;
      }
      if (!stopping) stopping = m.expired();
    }
  };
  await bounded(Promise.all(Array.from({ length: window }, loop)), m);
  return m.finish();
}

/** The idiomatic API: `await sock.sendTo(list, to)` in W async loops. */
async function runUdpSocket(ctx, durationMs, window) {
  const m = new Measurement(durationMs, ctx.bytes);
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      const t0 = (m.issued++ & 15) === 0 ? performance.now() : -1;
      try {
        const { bytesSent } = await ctx.sock.sendTo(ctx.list, ctx.toAddress);
        if (t0 >= 0) m.latency(t0);
        if (bytesSent === ctx.bytes) m.done++;
        else m.fail(`sent ${bytesSent} of ${ctx.bytes} bytes`);
      } catch (err) {
        m.fail(err);
        stopping = true;
      }
      if (!stopping) stopping = m.expired();
    }
  };
  await bounded(Promise.all(Array.from({ length: window }, loop)), m);
  return m.finish();
}

/** The idiomatic sendBatch: W datagrams per call (one sendmmsg on the native backend). */
async function runBatch(ctx, durationMs, window) {
  const m = new Measurement(durationMs, ctx.bytes);
  const datagrams = Array.from({ length: window }, () => ({ buffers: ctx.list, to: ctx.toAddress }));
  const run = async () => {
    while (!m.expired()) {
      m.issued += window;
      const t0 = performance.now();
      const r = await ctx.sock.sendBatch(datagrams);
      m.latency(t0);
      m.done += r.datagramsSent;
      if (r.datagramsSent !== window) {
        m.fail(`sendBatch: ${window - r.datagramsSent} failed, first: ${r.results.find((x) => x instanceof Error)}`);
        return;
      }
    }
  };
  await bounded(run(), m);
  return m.finish();
}

/**
 * The idiomatic sendSegments: `ctx.gsoSegments` equal datagrams per call, the shape's
 * buffers repeated that many times, cut by the kernel (UDP GSO). Fails if GSO was not used.
 */
async function runSegments(ctx, durationMs) {
  const m = new Measurement(durationMs, ctx.bytes);
  const views = Array.from({ length: ctx.gsoSegments }, () => ctx.list).flat();
  const run = async () => {
    while (!m.expired()) {
      m.issued += ctx.gsoSegments;
      const t0 = performance.now();
      const r = await ctx.sock.sendSegments(views, ctx.bytes, ctx.toAddress);
      m.latency(t0);
      if (!r.gso) {
        m.fail("sendSegments did not use GSO on this machine");
        return;
      }
      m.done += r.datagrams;
    }
  };
  await bounded(run(), m);
  return m.finish();
}

/** The C sender (the kernel's limit), in its own process, for the same duration. */
async function runC(ctx, durationMs, window, mode) {
  const batch = mode === "gso" ? ctx.gsoSegments : mode === "sendmmsg" ? window : 1;
  const r = await runCSender(ctx.cSender, {
    mode,
    port: ctx.port,
    durationMs,
    maxDatagrams: MAX_SENDS_PER_MEASUREMENT,
    batch,
    sizes: ctx.sizes,
  });
  return {
    sent: r.sent,
    bytes: r.bytes,
    failed: r.errors,
    firstError: r.errors > 0 ? `errno ${r.firstErrno}` : null,
    elapsedMs: r.elapsedMs,
    cpuUs: r.cpuUs,
    latenciesMs: [],
  };
}

/**
 * The rows. kind: how the sending socket is made ("dgram", "facade", "udpsocket", "c").
 * limit: the C row of the same shape that is this row's kernel limit (node:dgram's single
 * sends: C sendmsg; the native backend's, which coalesce, and batches: C sendmmsg; GSO: C
 * GSO, compared in bytes/s). group: the chart's colour.
 */
export const ROWS = [
  {
    name: "raw-dgram-concat",
    kind: "dgram",
    group: "raw",
    limit: "C/sendmsg",
    run: (c, d, w) => runDgram(c, d, w, c.concat),
    what: "node:dgram socket.send(buf) of the shape's bytes concatenated once into one Buffer",
  },
  {
    name: "raw-dgram",
    kind: "dgram",
    group: "raw",
    limit: "C/sendmsg",
    run: (c, d, w) => runDgram(c, d, w, c.list),
    what: "node:dgram socket.send(list) of the shape's buffers: the baseline",
  },
  {
    name: "dgram/facade-event",
    kind: "facade",
    backend: "dgram",
    group: "dgram",
    limit: "C/sendmsg",
    run: runEvent,
    what: "WSASendTo overlapped, W WSAOVERLAPPEDs sharing one event, swept after each wait",
  },
  {
    name: "dgram/facade-routine",
    kind: "facade",
    backend: "dgram",
    group: "dgram",
    limit: "C/sendmsg",
    run: runRoutine,
    what: "WSASendTo overlapped with a completion routine (reissues), SleepEx(ms, true)",
  },
  {
    name: "dgram/facade-nonoverlapped",
    kind: "facade",
    backend: "dgram",
    group: "dgram",
    limit: "C/sendmsg",
    run: runNonOverlapped,
    what: "WSASendTo non-overlapped (a Promise each), W async loops",
  },
  {
    name: "dgram/udpsocket",
    kind: "udpsocket",
    backend: "dgram",
    group: "dgram",
    limit: "C/sendmsg",
    run: runUdpSocket,
    what: "idiomatic sock.sendTo(list, to) (a Promise each), W async loops",
  },
  {
    name: "native/facade-event",
    kind: "facade",
    backend: "native",
    group: "native",
    limit: "C/sendmmsg",
    run: runEvent,
    what: "as dgram/facade-event, on the native backend (Linux: a run's first send at once, the rest coalesced into one sendmmsg)",
  },
  {
    name: "native/facade-routine",
    kind: "facade",
    backend: "native",
    group: "native",
    limit: "C/sendmmsg",
    run: runRoutine,
    what: "as dgram/facade-routine, on the native backend",
  },
  {
    name: "native/facade-nonoverlapped",
    kind: "facade",
    backend: "native",
    group: "native",
    limit: "C/sendmmsg",
    run: runNonOverlapped,
    what: "as dgram/facade-nonoverlapped, on the native backend",
  },
  {
    name: "native/udpsocket",
    kind: "udpsocket",
    backend: "native",
    group: "native",
    limit: "C/sendmmsg",
    run: runUdpSocket,
    what: "as dgram/udpsocket, on the native backend",
  },
  {
    name: "native/sendBatch",
    kind: "udpsocket",
    backend: "native",
    group: "batch",
    limit: "C/sendmmsg",
    run: runBatch,
    what: "idiomatic sock.sendBatch of W datagrams per call: one sendmmsg",
  },
  {
    name: "native/sendSegments",
    kind: "udpsocket",
    backend: "native",
    group: "batch",
    limit: "C/gso",
    gso: true,
    run: runSegments,
    what: "idiomatic sock.sendSegments of K equal datagrams per call: one UDP GSO sendmsg",
  },
  {
    name: "C/sendto",
    kind: "c",
    group: "c",
    limit: "C/sendmsg",
    run: (c, d, w) => runC(c, d, w, "sendto"),
    what: "C: sendto(2) of the bytes in one buffer",
  },
  {
    name: "C/sendmsg",
    kind: "c",
    group: "c",
    limit: "C/sendmsg",
    run: (c, d, w) => runC(c, d, w, "sendmsg"),
    what: "C: sendmsg(2) with one iovec per buffer: the limit of single sends",
  },
  {
    name: "C/sendmmsg",
    kind: "c",
    group: "c",
    limit: "C/sendmmsg",
    run: (c, d, w) => runC(c, d, w, "sendmmsg"),
    what: "C: sendmmsg(2) of W datagrams per call: the limit of batches",
  },
  {
    name: "C/gso",
    kind: "c",
    group: "c",
    limit: "C/gso",
    gso: true,
    run: (c, d, w) => runC(c, d, w, "gso"),
    what: "C: one sendmsg(2) of K datagrams with a UDP_SEGMENT cmsg: the limit of GSO",
  },
];
