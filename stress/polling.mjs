// Zero-timeout polling loops must progress, as on Windows, where I/O proceeds while a
// thread polls (CONTRACT.md, "Progress"). Every loop is bounded (POLLS iterations or
// POLL_MS, 2 s); a loop that reaches its bound reports "no progress" as a failure.
//
// (a) overlapped WSASendTo, then WSAGetOverlappedResult(fWait = false) + SleepEx(0, false);
// (b) the same with WSAWaitForMultipleEvents(1, [ev], false, 0, false);
// (c) a posted overlapped WSARecvFrom polled with HasOverlappedIoCompleted + SleepEx(0, false)
//     until a datagram sent from another socket (a node:dgram socket on another thread) arrives;
// (d) a burst of 5,000 overlapped sends with completion routines and SleepEx(0, true) every
//     100 posts: all must complete and be sent, none refused with WSAEWOULDBLOCK.
//
// (a) and (b) poll the last of a train of sends, so that it is really pending where a
// backend can hold sends. On plain loopback the native backend completes every send during
// the call, so the script runs again inside a network namespace of its own whose `lo` is
// throttled (small SO_SNDBUF, tbf), where sends pend on both backends.
//
// Usage: node stress/polling.mjs [--quick]   (--inner: the run inside the namespace)
import { Worker } from "node:worker_threads";
import {
  boundPort,
  Checks,
  eachBackend,
  figure,
  INNER,
  n,
  QUICK,
  runThrottled,
  seconds,
  section,
  sockaddr,
  startup,
  ws,
} from "./lib/harness.mjs";
import { startReceiver } from "./lib/receiver.mjs";

const WHERE = INNER ? "throttled" : "plain";
const checks = new Checks(INNER ? "polling[throttled]" : "polling");
checks.watchdog(INNER ? 55_000 : 115_000);

/**
 * The bound of one polling loop. Time rules: where a zero-timeout wait really turns Node's
 * loop it takes microseconds, and a send on the throttled link needs tens of milliseconds.
 */
const POLLS = 2_000_000;
const POLL_MS = 2_000;
const ROUNDS = QUICK ? 10 : INNER ? 20 : 50;
/** Sends posted before the one polled: they fill a small send buffer on the throttled link. */
const TRAIN = 20;
const SIZE = INNER ? 1200 : 64;
const BURST = 5_000;
const BURST_STEP = 100;
const BURST_SIZE = 32;

/** Runs `step` until `done()` holds, at most POLLS times or POLL_MS; how it went. */
async function poll(done, step) {
  const start = Date.now();
  let polls = 0;
  while (!done() && polls < POLLS && Date.now() - start < POLL_MS) {
    await step();
    polls++;
  }
  return { done: done(), polls, ms: Date.now() - start };
}

function udpSocket(label) {
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  checks.check(`${label}: WSASocket`, s !== ws.INVALID_SOCKET, `error ${ws.WSAGetLastError()}`);
  // On the throttled link a small send buffer makes the kernel refuse datagrams (EAGAIN).
  if (INNER) ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_SNDBUF, 4096, 4);
  return s;
}

/** The figures and checks of one polling case over ROUNDS rounds. */
function report(label, rounds, what) {
  const polls = rounds.map((r) => r.polls);
  const stuck = rounds.find((r) => !r.done);
  const pendingRounds = rounds.filter((r) => r.pending).length;
  const totalMs = rounds.reduce((t, r) => t + r.ms, 0);
  figure(
    `${n(rounds.length)} rounds, the polled operation pending at the start in ${n(pendingRounds)}; polls per round: ` +
      `max ${n(Math.max(0, ...polls))}, total ${n(polls.reduce((a, b) => a + b, 0))}; polling time ${seconds(totalMs)}`,
  );
  checks.check(
    `${label}: ${what} progresses`,
    stuck === undefined,
    stuck ? `no progress after ${n(stuck.polls)} polls in ${seconds(stuck.ms)}` : "",
  );
  return stuck === undefined;
}

/** Posts TRAIN sends and one more; returns the last one's OVERLAPPED (with an event when asked). */
function postTrain(s, to, withEvent, bad) {
  let last = null;
  for (let i = 0; i <= TRAIN; i++) {
    const ov = new ws.WSAOVERLAPPED();
    if (withEvent && i === TRAIN) ov.hEvent = ws.WSACreateEvent();
    const rc = ws.WSASendTo(s, [{ len: SIZE, buf: Buffer.alloc(SIZE, i) }], 1, null, 0, to, 16, ov, null);
    if (rc !== 0 && ws.WSAGetLastError() !== ws.WSA_IO_PENDING) bad.push(`post ${i}: ${ws.WSAGetLastError()}`);
    last = ov;
  }
  return last;
}

async function caseA(backend, rxPort) {
  const label = `${backend} ${WHERE} (a)`;
  section(`${label}: WSASendTo, then WSAGetOverlappedResult(false) + SleepEx(0, false)`);
  const s = udpSocket(label);
  const to = sockaddr(rxPort);
  const rounds = [];
  const bad = [];
  const sent = { value: 0 };
  const flags = { value: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const ov = postTrain(s, to, false, bad);
    const pending = !ws.HasOverlappedIoCompleted(ov);
    let finished = false;
    const round = await poll(
      () => finished,
      async () => {
        finished = ws.WSAGetOverlappedResult(s, ov, sent, false, flags);
        if (!finished && ws.WSAGetLastError() !== ws.WSA_IO_INCOMPLETE) {
          bad.push(`result ${ws.WSAGetLastError()}`);
          finished = true;
        }
        if (!finished) await ws.SleepEx(0, false);
      },
    );
    if (round.done && sent.value !== SIZE) bad.push(`bytes ${sent.value}`);
    rounds.push({ ...round, pending });
    if (!round.done) break;
  }
  report(label, rounds, "WSAGetOverlappedResult + SleepEx(0) polling");
  checks.check(`${label}: every send accepted and sent with ${SIZE} bytes`, bad.length === 0, bad.slice(0, 5).join(", "));
  ws.closesocket(s);
}

async function caseB(backend, rxPort) {
  const label = `${backend} ${WHERE} (b)`;
  section(`${label}: WSASendTo with an event, then WSAWaitForMultipleEvents(1, [ev], false, 0, false)`);
  const s = udpSocket(label);
  const to = sockaddr(rxPort);
  const rounds = [];
  const bad = [];
  const waits = new Map();
  for (let r = 0; r < ROUNDS; r++) {
    const ov = postTrain(s, to, true, bad);
    const pending = !ws.HasOverlappedIoCompleted(ov);
    let signalled = false;
    const round = await poll(
      () => signalled,
      async () => {
        const rc = await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], false, 0, false);
        waits.set(rc, (waits.get(rc) ?? 0) + 1);
        signalled = rc === ws.WSA_WAIT_EVENT_0;
        if (rc !== ws.WSA_WAIT_EVENT_0 && rc !== ws.WSA_WAIT_TIMEOUT) {
          bad.push(`wait ${rc} (${ws.WSAGetLastError()})`);
          signalled = true;
        }
      },
    );
    const sent = { value: 0 };
    if (round.done && !ws.WSAGetOverlappedResult(s, ov, sent, false, { value: 0 })) bad.push(`result ${ws.WSAGetLastError()}`);
    else if (round.done && sent.value !== SIZE) bad.push(`bytes ${sent.value}`);
    ws.WSACloseEvent(ov.hEvent);
    rounds.push({ ...round, pending });
    if (!round.done) break;
  }
  figure(`wait results: ${[...waits].map(([k, v]) => `${k === ws.WSA_WAIT_TIMEOUT ? "TIMEOUT" : k}: ${n(v)}`).join(", ")}`);
  report(label, rounds, "WSAWaitForMultipleEvents(timeout 0) polling");
  checks.check(`${label}: every send accepted and sent with ${SIZE} bytes`, bad.length === 0, bad.slice(0, 5).join(", "));
  ws.closesocket(s);
}

/** A node:dgram sender on another thread: it sends one datagram to each port it is told. */
function startSender() {
  const worker = new Worker(
    `const dgram = require("node:dgram");
     const { parentPort } = require("node:worker_threads");
     const s = dgram.createSocket("udp4");
     s.bind(0, "127.0.0.1", () => parentPort.postMessage("ready"));
     parentPort.on("message", (m) => {
       if (m === "close") { s.close(); parentPort.close(); return; }
       s.send(Buffer.from("poll " + m.seq), m.port, "127.0.0.1", (err) => parentPort.postMessage(err ? String(err) : "sent"));
     });`,
    { eval: true },
  );
  const ready = new Promise((resolve) => worker.once("message", resolve));
  return { worker, ready };
}

async function caseC(backend) {
  const label = `${backend} ${WHERE} (c)`;
  section(`${label}: overlapped WSARecvFrom polled with HasOverlappedIoCompleted + SleepEx(0, false)`);
  const s = udpSocket(label);
  const local = { sin_family: ws.AF_INET, sin_port: 0, sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
  checks.check(`${label}: bind`, ws.bind(s, local, 16) === 0, `error ${ws.WSAGetLastError()}`);
  const port = boundPort(s);
  const sender = startSender();
  await sender.ready;
  const rounds = [];
  const bad = [];
  for (let r = 0; r < ROUNDS; r++) {
    const buf = Buffer.alloc(64);
    const ov = new ws.WSAOVERLAPPED();
    const got = { value: 0 };
    const rc = ws.WSARecvFrom(s, [{ len: 64, buf }], 1, got, { value: 0 }, {}, { value: 16 }, ov, null);
    if (rc !== 0 && ws.WSAGetLastError() !== ws.WSA_IO_PENDING) bad.push(`post ${ws.WSAGetLastError()}`);
    const pending = !ws.HasOverlappedIoCompleted(ov);
    // Sent by the other thread while this one polls: only the polling can let it be received.
    sender.worker.postMessage({ port, seq: r });
    const round = await poll(
      () => ws.HasOverlappedIoCompleted(ov),
      () => ws.SleepEx(0, false),
    );
    const text = `poll ${r}`;
    if (round.done && (ov.Internal !== 0 || ov.InternalHigh !== text.length || buf.toString("latin1", 0, text.length) !== text))
      bad.push(`round ${r}: Internal ${ov.Internal}, ${ov.InternalHigh} bytes "${buf.toString("latin1", 0, ov.InternalHigh)}"`);
    rounds.push({ ...round, pending });
    if (!round.done) break;
  }
  report(label, rounds, "HasOverlappedIoCompleted + SleepEx(0) polling of a receive");
  checks.check(`${label}: each receive got its datagram`, bad.length === 0, bad.slice(0, 3).join(", "));
  sender.worker.postMessage("close");
  ws.closesocket(s);
  await ws.SleepEx(10, true);
}

async function caseD(backend) {
  const label = `${backend} ${WHERE} (d)`;
  section(`${label}: ${n(BURST)} overlapped sends with routines, SleepEx(0, true) every ${BURST_STEP} posts`);
  const rx = await startReceiver(BURST);
  const s = udpSocket(label);
  // On the throttled link the backlog legitimately passes the default limit of 4096.
  if (INNER) ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, 2 * BURST, 4);
  const to = sockaddr(rx.port);
  const counts = new Uint8Array(BURST);
  let completed = 0;
  let ok = 0;
  const errors = new Map();
  const refused = new Map();
  let maxOutstanding = 0;
  let outstanding = 0;
  const start = Date.now();
  for (let i = 0; i < BURST; i++) {
    const buf = Buffer.alloc(BURST_SIZE, 0x33);
    buf.writeUInt32LE(i, 0);
    const rc = ws.WSASendTo(s, [{ len: BURST_SIZE, buf }], 1, null, 0, to, 16, new ws.WSAOVERLAPPED(), (err, bytes) => {
      if (counts[i]++ > 0) return;
      completed++;
      outstanding--;
      if (err === 0 && bytes === BURST_SIZE) ok++;
      else errors.set(err, (errors.get(err) ?? 0) + 1);
    });
    const e = rc === 0 ? 0 : ws.WSAGetLastError();
    if (rc === 0 || e === ws.WSA_IO_PENDING) {
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
    } else refused.set(e, (refused.get(e) ?? 0) + 1);
    if ((i + 1) % BURST_STEP === 0) await ws.SleepEx(0, true);
  }
  const postMs = Date.now() - start;
  const accepted = BURST - [...refused.values()].reduce((a, b) => a + b, 0);
  const after = await poll(
    () => completed >= accepted,
    () => ws.SleepEx(10, true),
  );
  const twice = counts.reduce((k, c) => k + (c > 1 ? 1 : 0), 0);
  const drainMs = await rx.drain(ok);
  const drops = rx.kernelDrops();
  figure(
    `posted in ${seconds(postMs)}; refused ${refused.size === 0 ? "none" : [...refused].join(" ")}; most outstanding ${n(maxOutstanding)}; ` +
      `completed ${n(completed)} (ok ${n(ok)}, errors ${errors.size === 0 ? "none" : [...errors].join(" ")}, twice ${n(twice)}) ` +
      `${seconds(after.ms)} after the last post`,
  );
  figure(`arrivals ${n(rx.arrivals())}, kernel drops at the receiver ${drops ?? "unknown"}, drained in ${seconds(drainMs)}`);
  checks.check(
    `${label}: no send refused (WSAEWOULDBLOCK)`,
    refused.size === 0,
    [...refused].map(([e, k]) => `${e} x ${k}`).join(", "),
  );
  checks.check(
    `${label}: all ${n(BURST)} completed once, ok`,
    completed === BURST && ok === BURST && twice === 0,
    `${n(completed)} completed, ${n(ok)} ok, ${n(twice)} twice`,
  );
  checks.check(
    `${label}: all sent: arrivals + kernel drops = ${n(BURST)}`,
    rx.arrivals() + (drops ?? 0) === BURST,
    `${n(rx.arrivals())} + ${drops}`,
  );
  ws.closesocket(s);
  await rx.close();
}

await eachBackend(async (backend) => {
  if (!startup(checks, backend)) return;
  const rx = await startReceiver(1);
  await caseA(backend, rx.port);
  await caseB(backend, rx.port);
  await rx.close();
  await caseC(backend);
  await caseD(backend);
  ws.WSACleanup();
});

if (!INNER) await runThrottled(checks, "polling.mjs", { timeoutMs: 60_000, label: "polling" });
checks.finish();
