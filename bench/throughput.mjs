// Throughput of gathered UDP sends on loopback: raw node:dgram against wsasendto's facade
// (and its idiomatic API), in one run, interleaved, with the same bytes and the same number
// of sends in flight.
//
//   node bench/throughput.mjs [--quick] [--rounds=N] [--duration=MS] [--window=W] [--rows=a,b] [--out=FILE]
//
// Every row sends 64-byte datagrams to a receiver on 127.0.0.1 (receiver.mjs, a child
// process that drains a plain dgram socket and counts), for a fixed time per measurement,
// keeping a window of W sends in flight. Two shapes: one 64-byte buffer per datagram
// ("1x64") and four 16-byte buffers gathered into one datagram ("4x16"); every row sends the
// same Buffer objects. The rows (the fastest correct pattern of each form; see each run*):
//
//   dgram            raw node:dgram `socket.send(list, port, "127.0.0.1", cb)`: the baseline
//                    a user would write instead of wsasendto.
//   facade-routine   overlapped WSASendTo with a completion routine; the routine reissues
//                    the send on its WSAOVERLAPPED; the loop harvests with SleepEx(ms, true).
//   facade-event     overlapped WSASendTo, all W WSAOVERLAPPEDs sharing one event; wake on
//                    it, then sweep every slot with HasOverlappedIoCompleted and
//                    WSAGetOverlappedResult(fWait=false), reissuing completed ones.
//   facade-promise   non-overlapped WSASendTo (a Promise per send), W async loops.
//   udpsocket        the idiomatic API: `await sock.sendTo(list, to)`, W async loops.
//   native-*         the same forms on the native backend (sendmsg during the call), the
//                    facade's sockets opened with WSASocket(..., { szProtocol: "native" }, ...);
//   native-batch     sendBatch of W datagrams per call: one sendmmsg;
//   native-gso       sendSegments of W equal datagrams per call: one UDP GSO send.
//
// Alternatives measured while choosing the patterns above (kept, run them with --rows):
//   facade-routine-wfme   the routine loop waiting in WSAWaitForMultipleEvents(1, [stop], ..., INFINITE, true)
//   facade-event-each     one event per WSAOVERLAPPED, waiting on all W of them (C's usual layout)
//
// Each measurement runs `--duration` ms (300; 100 with --quick) and is repeated in `--rounds`
// rounds (9; 3 with --quick), interleaved: every row and shape once per round, in the same
// order, after one unrecorded warm-up round. The table gives the median, min and max
// datagrams per second over the rounds, and the ratio of medians to raw dgram of the same
// shape. Results also go to bench/results/throughput-latest.json.
import { fork } from "node:child_process";
import dgram from "node:dgram";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as ws from "wsasendto";

// ---------------------------------------------------------------------------------
// Options

const USAGE =
  "usage: node throughput.mjs [--quick] [--rounds=N] [--duration=MS] [--window=W (1..64)] [--rows=a,b,...] [--out=FILE]";
const args = process.argv.slice(2).filter((a) => a !== "--"); // `pnpm bench -- --quick` passes the "--"
const quick = args.includes("--quick");

function option(name, fallback) {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3);
}

function intOption(name, fallback, min, max) {
  const value = Number(option(name, fallback));
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

const known = ["--quick", "--rounds=", "--duration=", "--window=", "--rows=", "--out="];
const unknown = args.filter((a) => !known.some((k) => (k.endsWith("=") ? a.startsWith(k) : a === k)));
if (unknown.length > 0) {
  console.error(`unknown argument${unknown.length > 1 ? "s" : ""}: ${unknown.join(" ")}\n${USAGE}`);
  process.exit(2);
}

const ROUNDS = intOption("rounds", quick ? 3 : 9, 1, 100);
const DURATION_MS = intOption("duration", quick ? 100 : 300, 10, 10_000);
/** Sends in flight per row; at most WSA_MAXIMUM_WAIT_EVENTS (64) for the event rows. */
const WINDOW = intOption("window", 64, 1, 64);
const WARMUP_MS = Math.min(DURATION_MS, 100);
/** Bounds every measurement in count as well as in time. */
const MAX_SENDS_PER_MEASUREMENT = 10_000_000;
/** A measurement still running this long after its duration has failed. */
const HARD_MARGIN_MS = 5_000;
/** How long an alertable or event wait lasts before the loop looks at the clock again. */
const WAIT_MS = 100;
const OUT = option("out", fileURLToPath(new URL("./results/throughput-latest.json", import.meta.url)));
const DEST_ADDRESS = "127.0.0.1";

const SHAPES = [
  { name: "1x64", sizes: [64] },
  { name: "4x16", sizes: [16, 16, 16, 16] },
];

// ---------------------------------------------------------------------------------
// Measurements

class Measurement {
  constructor(durationMs) {
    this.t0 = performance.now();
    this.deadline = this.t0 + durationMs;
    this.hardStop = this.deadline + HARD_MARGIN_MS;
    this.issued = 0;
    this.done = 0;
    this.failed = 0;
    this.firstError = null;
  }

  /**
   * True once no new send may start: the count is reached or the time is up. The clock is
   * read at every 16th send only (it costs about as much as a facade call's bookkeeping);
   * the same for every row, so at most 16 sends start after the deadline.
   */
  expired() {
    if (this.issued >= MAX_SENDS_PER_MEASUREMENT) return true;
    return (this.issued & 15) === 0 && performance.now() >= this.deadline;
  }

  fail(error) {
    this.failed++;
    this.firstError ??= String(error);
  }

  finish(stillInFlight = 0) {
    const elapsedMs = performance.now() - this.t0;
    if (stillInFlight > 0) this.fail(`${stillInFlight} sends still in flight ${HARD_MARGIN_MS} ms after the deadline`);
    return { sent: this.done, failed: this.failed, firstError: this.firstError, elapsedMs, rate: (this.done * 1000) / elapsedMs };
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
 * time is up. (On Linux dgram usually sends during the call and runs the callback on the
 * next tick, so the whole window turns over in one pass of the tick queue.)
 */
function runDgram(ctx, durationMs) {
  const { socket, list, port, bytes } = ctx;
  const m = new Measurement(durationMs);
  let inFlight = 0;
  let stopping = false;
  let finished;
  const whenFinished = new Promise((resolve) => {
    finished = resolve;
  });
  const callback = (err, sentBytes) => {
    inFlight--;
    if (!err && sentBytes === bytes) m.done++;
    else m.fail(err ?? `sent ${sentBytes} of ${bytes} bytes`);
    if (!stopping) stopping = m.expired();
    if (!stopping) issue();
    else if (inFlight === 0) finished();
  };
  const issue = () => {
    m.issued++;
    inFlight++;
    try {
      socket.send(list, port, DEST_ADDRESS, callback);
    } catch (err) {
      inFlight--;
      m.fail(err);
      stopping = true;
      if (inFlight === 0) finished();
    }
  };
  for (let i = 0; i < WINDOW && !stopping; i++) issue();
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
 * wait runs every routine queued since the last one (with dgram, the whole window at once)
 * and settles with WAIT_IO_COMPLETION. SleepEx(0, true) would be a busy loop of resolved
 * Promises that never lets the event loop deliver completions, so the wait has a timeout.
 */
async function runRoutine(ctx, durationMs, wait = (ms) => ws.SleepEx(ms, true)) {
  const slots = Array.from({ length: WINDOW }, () => new ws.WSAOVERLAPPED());
  const m = new Measurement(durationMs);
  let inFlight = 0;
  let stopping = false;
  const routine = (dwError, cbTransferred, lpOverlapped) => {
    inFlight--;
    if (dwError === 0 && cbTransferred === ctx.bytes) m.done++;
    else m.fail(`completion routine: error ${dwError}, ${cbTransferred} bytes`);
    if (!stopping) stopping = m.expired();
    if (!stopping) issue(lpOverlapped);
  };
  const issue = (ov) => {
    m.issued++;
    // Completed at once (0) or pending: either way its routine is queued, and runs later.
    if (startOverlapped(ctx, ov, routine)) inFlight++;
    else {
      m.fail(`WSASendTo: ${ws.WSAGetLastError()}`);
      stopping = true;
    }
  };
  for (const ov of slots) if (!stopping) issue(ov);
  while (inFlight > 0 && performance.now() < m.hardStop) await wait(WAIT_MS);
  return m.finish(inFlight);
}

/**
 * The routine loop again, waiting in an alertable WSAWaitForMultipleEvents on a "stop" event
 * with an INFINITE timeout (no timer per wait); a timer sets the stop event at the hard stop.
 */
async function runRoutineWfme(ctx, durationMs) {
  const stop = ws.WSACreateEvent();
  const timer = setTimeout(() => ws.WSASetEvent(stop), durationMs + HARD_MARGIN_MS);
  try {
    return await runRoutine(ctx, durationMs, () => ws.WSAWaitForMultipleEvents(1, [stop], false, ws.WSA_INFINITE, true));
  } finally {
    clearTimeout(timer);
    ws.WSACloseEvent(stop);
  }
}

/**
 * Overlapped WSASendTo with event objects, W WSAOVERLAPPEDs. `shared`: all of them carry
 * the same manual-reset event. The loop waits for it (a non-alertable wait), resets it,
 * then sweeps all W slots: each completed one (HasOverlappedIoCompleted) is collected with
 * WSAGetOverlappedResult(fWait=false) and reissued. Resetting before the sweep loses nothing:
 * completions are delivered only between turns of the event loop, never during the sweep.
 * Otherwise one event per slot, all W waited on (at most WSA_MAXIMUM_WAIT_EVENTS), each
 * reset when its slot is collected; the same sweep.
 */
async function runEvent(ctx, durationMs, shared = true) {
  const sharedEvent = shared ? ws.WSACreateEvent() : null;
  const slots = Array.from({ length: WINDOW }, () => {
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = sharedEvent ?? ws.WSACreateEvent();
    return ov;
  });
  const events = shared ? [sharedEvent] : slots.map((ov) => ov.hEvent);
  const busy = new Array(WINDOW).fill(false);
  const transferred = { value: 0 };
  const flags = { value: 0 };
  const m = new Measurement(durationMs);
  let inFlight = 0;
  let stopping = false;
  const issue = (i) => {
    m.issued++;
    if (startOverlapped(ctx, slots[i], null)) {
      busy[i] = true;
      inFlight++;
    } else {
      m.fail(`WSASendTo: ${ws.WSAGetLastError()}`);
      stopping = true;
    }
  };
  for (let i = 0; i < WINDOW && !stopping; i++) issue(i);
  while (inFlight > 0 && performance.now() < m.hardStop) {
    const rc = await ws.WSAWaitForMultipleEvents(events.length, events, false, WAIT_MS, false);
    if (rc === ws.WSA_WAIT_TIMEOUT) continue;
    if (rc === ws.WSA_WAIT_FAILED) {
      m.fail(`WSAWaitForMultipleEvents: ${ws.WSAGetLastError()}`);
      break;
    }
    if (shared) ws.WSAResetEvent(sharedEvent);
    for (let i = 0; i < WINDOW; i++) {
      const ov = slots[i];
      if (!busy[i] || !ws.HasOverlappedIoCompleted(ov)) continue;
      busy[i] = false;
      inFlight--;
      if (!shared) ws.WSAResetEvent(ov.hEvent);
      if (ws.WSAGetOverlappedResult(ctx.s, ov, transferred, false, flags) && transferred.value === ctx.bytes) m.done++;
      else m.fail(`WSAGetOverlappedResult: ${ws.WSAGetLastError()}, ${transferred.value} bytes`);
      if (!stopping) stopping = m.expired();
      if (!stopping) issue(i);
    }
  }
  for (const e of new Set(slots.map((ov) => ov.hEvent))) ws.WSACloseEvent(e);
  return m.finish(inFlight);
}

/** Non-overlapped WSASendTo: each call is a Promise; W async loops keep W in flight. */
async function runPromise(ctx, durationMs) {
  const m = new Measurement(durationMs);
  let stopping = false;
  const loop = async () => {
    const sent = { value: 0 };
    while (!stopping) {
      m.issued++;
      const rc = await ws.WSASendTo(ctx.s, ctx.wsabufs, ctx.wsabufs.length, sent, 0, ctx.to, ctx.tolen, null, null);
      if (rc === 0 && sent.value === ctx.bytes) m.done++;
      else {
        m.fail(`WSASendTo: ${ws.WSAGetLastError()}`);
        stopping = true;
      }
      if (!stopping) stopping = m.expired();
    }
  };
  await bounded(Promise.all(Array.from({ length: WINDOW }, loop)), m);
  return m.finish();
}

/** The idiomatic API: `await sock.sendTo(list, to)` in W async loops. */
async function runUdpSocket(ctx, durationMs) {
  const m = new Measurement(durationMs);
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      m.issued++;
      try {
        const { bytesSent } = await ctx.sock.sendTo(ctx.list, ctx.toAddress);
        if (bytesSent === ctx.bytes) m.done++;
        else m.fail(`sent ${bytesSent} of ${ctx.bytes} bytes`);
      } catch (err) {
        m.fail(err);
        stopping = true;
      }
      if (!stopping) stopping = m.expired();
    }
  };
  await bounded(Promise.all(Array.from({ length: WINDOW }, loop)), m);
  return m.finish();
}

/** The idiomatic sendBatch: W datagrams per call (one sendmmsg on the native backend). */
async function runBatch(ctx, durationMs) {
  const m = new Measurement(durationMs);
  const datagrams = Array.from({ length: WINDOW }, () => ({ buffers: ctx.list, to: ctx.toAddress }));
  const run = async () => {
    while (!m.expired()) {
      m.issued += WINDOW;
      const r = await ctx.sock.sendBatch(datagrams);
      m.done += r.datagramsSent;
      if (r.datagramsSent !== WINDOW) {
        m.fail(`sendBatch: ${WINDOW - r.datagramsSent} failed, first: ${r.results.find((x) => x instanceof Error)}`);
        return;
      }
    }
  };
  await bounded(run(), m);
  return m.finish();
}

/**
 * The idiomatic sendSegments: W equal datagrams per call, the shape's buffers repeated W
 * times, cut by the kernel (UDP GSO) where it can. Fails the row if GSO was not used.
 */
async function runGso(ctx, durationMs) {
  const m = new Measurement(durationMs);
  const views = Array.from({ length: WINDOW }, () => ctx.list).flat();
  const run = async () => {
    while (!m.expired()) {
      m.issued += WINDOW;
      const r = await ctx.sock.sendSegments(views, ctx.bytes, ctx.toAddress);
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

const ROWS = [
  { name: "dgram", kind: "dgram", run: runDgram, what: "raw node:dgram send(list, port, addr, cb)" },
  {
    name: "facade-routine",
    kind: "facade",
    backend: "dgram",
    run: runRoutine,
    what: "WSASendTo overlapped + completion routine, SleepEx",
  },
  {
    name: "facade-event",
    kind: "facade",
    backend: "dgram",
    run: (c, d) => runEvent(c, d, true),
    what: "WSASendTo overlapped + one shared event",
  },
  {
    name: "facade-promise",
    kind: "facade",
    backend: "dgram",
    run: runPromise,
    what: "WSASendTo non-overlapped (a Promise each)",
  },
  {
    name: "udpsocket",
    kind: "udpsocket",
    backend: "dgram",
    run: runUdpSocket,
    what: "idiomatic UdpSocket.sendTo (a Promise each)",
  },
  { name: "native-routine", kind: "facade", backend: "native", run: runRoutine, what: "the native backend: completion routines" },
  {
    name: "native-event",
    kind: "facade",
    backend: "native",
    run: (c, d) => runEvent(c, d, true),
    what: "the native backend: one shared event",
  },
  { name: "native-promise", kind: "facade", backend: "native", run: runPromise, what: "the native backend: non-overlapped" },
  { name: "native-udpsocket", kind: "udpsocket", backend: "native", run: runUdpSocket, what: "the native backend: sendTo" },
  { name: "native-batch", kind: "udpsocket", backend: "native", run: runBatch, what: "the native backend: sendBatch (sendmmsg)" },
  { name: "native-gso", kind: "udpsocket", backend: "native", run: runGso, what: "the native backend: sendSegments (UDP GSO)" },
];
const ALTERNATIVES = [
  {
    name: "facade-routine-wfme",
    kind: "facade",
    run: runRoutineWfme,
    what: "completion routine, alertable WSAWaitForMultipleEvents",
  },
  { name: "facade-event-each", kind: "facade", run: (c, d) => runEvent(c, d, false), what: "one event per WSAOVERLAPPED" },
];

// ---------------------------------------------------------------------------------
// The receiver (a child process)

function startReceiver() {
  const child = fork(fileURLToPath(new URL("./receiver.mjs", import.meta.url)), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map();
  let nextId = 1;
  let ready;
  const whenReady = new Promise((resolve, reject) => {
    ready = { resolve, reject };
  });
  const readyTimer = setTimeout(() => ready.reject(new Error("the receiver did not start within 10 s")), 10_000);
  child.on("message", (msg) => {
    if (msg.type === "ready") {
      clearTimeout(readyTimer);
      ready.resolve(msg);
    } else if (msg.type === "count") {
      pending.get(msg.id)?.(msg);
      pending.delete(msg.id);
    }
  });
  child.on("exit", (code, signal) => {
    clearTimeout(readyTimer);
    ready.reject(new Error(`the receiver exited (${code ?? signal})`));
    for (const reject of pending.values()) reject(null);
    pending.clear();
  });
  /** The receiver's counters (a round trip over IPC, bounded by 5 s). */
  const count = () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("the receiver did not answer within 5 s"));
      }, 5_000);
      pending.set(id, (msg) => {
        clearTimeout(timer);
        if (msg) resolve(msg);
        else reject(new Error("the receiver exited"));
      });
      child.send({ type: "count", id });
    });
  /** The counters once datagrams stop arriving (two equal readings 20 ms apart; at most 1 s). */
  const settled = async () => {
    let previous = await count();
    for (let i = 0; i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = await count();
      if (now.datagrams === previous.datagrams) return now;
      previous = now;
    }
    return previous;
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.send({ type: "exit" });
    const timer = setTimeout(() => child.kill(), 2_000);
    await exited;
    clearTimeout(timer);
  };
  return { whenReady, count, settled, stop, expect: (size) => child.send({ type: "expect", size }) };
}

// ---------------------------------------------------------------------------------
// Statistics and output

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmtRate = (r) => Math.round(r).toLocaleString("en-US");

function printTable(results) {
  const header = ["row", "shape", "median dg/s", "min", "max", "ratio", "paired", "µs/dg", "received/sent"];
  const lines = results.map((r) => [
    r.row,
    r.shape,
    fmtRate(r.median),
    fmtRate(r.min),
    fmtRate(r.max),
    r.ratioToDgram === null ? "-" : `${r.ratioToDgram.toFixed(2)}x`,
    r.pairedRatioToDgram === null ? "-" : `${r.pairedRatioToDgram.toFixed(2)}x`,
    (1e6 / r.median).toFixed(2),
    `${r.received}/${r.sent} (${r.lossPercent.toFixed(1)}% lost)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(row(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(row(l));
}

// ---------------------------------------------------------------------------------
// Main

async function main() {
  const wanted = option("rows", null)?.split(",").filter(Boolean);
  const all = [...ROWS, ...ALTERNATIVES];
  let rows = wanted ? wanted.map((name) => all.find((r) => r.name === name)) : ROWS;
  if (rows.some((r) => r === undefined)) {
    console.error(`--rows: known rows are ${all.map((r) => r.name).join(", ")}`);
    return 2;
  }
  const native = ws.selectBackend("native");
  if (typeof native === "string") {
    console.log(`native rows left out: ${native}`);
    rows = rows.filter((r) => r.backend !== "native");
  }

  // The facade reads the backend at WSAStartup: dgram, the backend every machine has.
  process.env.WSASENDTO_BACKEND = "dgram";
  const wsaData = {};
  const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), wsaData);
  if (rc !== 0) {
    console.error(`WSAStartup failed: ${rc}`);
    return 1;
  }

  const receiver = startReceiver();
  const cleanups = [() => receiver.stop(), () => ws.WSACleanup()];
  try {
    const { port, recvBufferSize } = await receiver.whenReady;
    const to = { sin_family: ws.AF_INET, sin_port: ws.htons(port), sin_addr: { s_addr: ws.inet_addr(DEST_ADDRESS) } };
    const toAddress = { address: DEST_ADDRESS, port };

    // One sender socket per row and shape, bound to 127.0.0.1 before measuring.
    const contexts = new Map();
    for (const shape of SHAPES) {
      const list = shape.sizes.map((n, i) => Buffer.alloc(n, 0x41 + i));
      const wsabufs = list.map((buf) => ({ len: buf.length, buf }));
      const bytes = shape.sizes.reduce((a, b) => a + b, 0);
      for (const row of rows) {
        const ctx = { list, wsabufs, bytes, port, to, tolen: ws.sizeof(to), toAddress };
        if (row.kind === "dgram") {
          const socket = dgram.createSocket("udp4");
          await new Promise((resolve, reject) => {
            socket.once("error", reject);
            socket.bind(0, "127.0.0.1", resolve);
          });
          ctx.socket = socket;
          cleanups.push(() => socket.close());
        } else if (row.kind === "facade") {
          // lpProtocolInfo chooses the backend of this one socket (WSAStartup chose dgram).
          const provider = { szProtocol: row.backend };
          const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, provider, 0, ws.WSA_FLAG_OVERLAPPED);
          const local = { sin_family: ws.AF_INET, sin_port: 0, sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
          if (s === ws.INVALID_SOCKET || ws.bind(s, local, ws.sizeof(local)) !== 0) {
            throw new Error(`WSASocket/bind failed: ${ws.WSAGetLastError()}`);
          }
          ctx.s = s;
          cleanups.push(() => ws.closesocket(s));
        } else {
          ctx.sock = ws.openUdpSocket({ family: "ipv4", bind: { address: "127.0.0.1", port: 0 }, backend: row.backend });
          cleanups.push(() => ctx.sock.close());
        }
        contexts.set(`${row.name}/${shape.name}`, ctx);
      }
    }
    receiver.expect(64);

    console.log(
      `throughput: ${rows.length} rows x ${SHAPES.length} shapes, ${ROUNDS} rounds of ${DURATION_MS} ms, ` +
        `window ${WINDOW}, 64-byte datagrams to ${DEST_ADDRESS}:${port} (receiver SO_RCVBUF ${recvBufferSize} bytes)`,
    );
    console.log(
      `node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} CPUs, facade backend: ${ws.backendName()}`,
    );

    const samples = new Map(); // "row/shape" -> [{ rate, sent, failed, received, elapsedMs }]
    let baseline = await receiver.settled();
    const failures = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const warmup = round === 0;
      for (const shape of SHAPES) {
        for (const row of rows) {
          const key = `${row.name}/${shape.name}`;
          const result = await row.run(contexts.get(key), warmup ? WARMUP_MS : DURATION_MS);
          const after = await receiver.settled();
          const received = after.datagrams - baseline.datagrams;
          baseline = after;
          if (result.failed > 0)
            failures.push(`${key}${warmup ? " (warm-up)" : ""}: ${result.failed} failed, first: ${result.firstError}`);
          if (warmup) continue;
          if (!samples.has(key)) samples.set(key, []);
          samples.get(key).push({ ...result, received });
        }
      }
      if (!warmup) process.stdout.write(`round ${round}/${ROUNDS} done\n`);
    }
    const final = await receiver.count();

    const results = [];
    for (const shape of SHAPES) {
      for (const row of rows) {
        const list = samples.get(`${row.name}/${shape.name}`);
        const rates = list.map((s) => s.rate);
        const sent = list.reduce((a, s) => a + s.sent, 0);
        const received = list.reduce((a, s) => a + s.received, 0);
        results.push({
          row: row.name,
          what: row.what,
          shape: shape.name,
          median: median(rates),
          min: Math.min(...rates),
          max: Math.max(...rates),
          ratioToDgram: null,
          pairedRatioToDgram: null,
          sent,
          received,
          lossPercent: sent > 0 ? Math.max(0, (100 * (sent - received)) / sent) : 0,
          samples: list,
        });
      }
      // ratio: of the medians. paired: the median over rounds of the ratio within each round,
      // which cancels drifts of the machine that slow down a whole round.
      const base = results.find((r) => r.shape === shape.name && r.row === "dgram");
      for (const r of results) {
        if (!base || r.shape !== shape.name) continue;
        r.ratioToDgram = r.median / base.median;
        r.pairedRatioToDgram = median(r.samples.map((sample, i) => sample.rate / base.samples[i].rate));
      }
    }

    console.log("");
    printTable(results);
    console.log("");
    console.log("ratio: median of the row / median of raw dgram of the same shape, both from this run.");
    console.log("paired: median over the rounds of (row / raw dgram of the same shape in the same round).");
    console.log("received/sent: datagrams the receiver counted / sends that completed (loss is the receiver's).");
    if (final.wrongSize > 0) failures.push(`${final.wrongSize} datagrams arrived with a size other than 64 bytes`);

    const report = {
      benchmark: "throughput",
      generatedAt: new Date().toISOString(),
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "",
      argv: args,
      config: {
        rounds: ROUNDS,
        durationMs: DURATION_MS,
        warmupMs: WARMUP_MS,
        window: WINDOW,
        destination: `${DEST_ADDRESS}:${port}`,
        receiverRecvBufferSize: recvBufferSize,
        facadeBackend: ws.backendName(),
        shapes: SHAPES,
      },
      results,
      failures,
    };
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${OUT}`);

    if (failures.length > 0) {
      for (const f of failures) console.error(`FAILED: ${f}`);
      return 1;
    }
    if (final.datagrams === 0) {
      console.error("FAILED: the receiver counted no datagrams");
      return 1;
    }
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Best effort: the process is about to exit.
      }
    }
  }
}

// A last bound on the whole run, whatever happens inside it.
const budgetMs = (ROUNDS + 1) * 2 * (ROWS.length + ALTERNATIVES.length) * (DURATION_MS + 2_000) + 30_000;
const watchdog = setTimeout(() => {
  console.error(`throughput: the run did not finish within ${budgetMs} ms`);
  process.exit(1);
}, budgetMs);
watchdog.unref();

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`throughput: ${err?.stack ?? err}`);
  process.exitCode = 1;
}
