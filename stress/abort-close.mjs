// Abort by close: many overlapped sends in flight, then closesocket. Every operation must
// complete exactly once, either sent (status 0, all its bytes) or WSA_OPERATION_ABORTED
// with 0 bytes, and no datagram reported aborted may arrive (each payload carries its id;
// a receiver on its own thread counts arrivals per id).
//
// Cases, on each backend:
// - routines: 20,000 sends with completion routines (SO_MAX_OUTSTANDING_SENDS raised to
//   25,000), closesocket, then alertable waits until every routine ran;
// - overlapped-result: 20,000 sends with WSAOVERLAPPED only, closesocket, then
//   WSAGetOverlappedResult(fWait = false) on each;
// - abort-signal: the idiomatic API, 20,000 pending sendToOverlapped sharing one
//   AbortController; the abort is timed (it must be fast: linear in the sends).
//
// They run on plain loopback (where the native backend hands a run's first datagram to the
// kernel during the call and, on Linux, coalesces the rest of the run: a close sends those,
// taken at their call, and an abort withdraws them; dgram keeps a backlog), then again
// inside a network namespace of the script's own whose `lo` is throttled (tbf), where sends
// really wait in both backends.
//
// Usage: node stress/abort-close.mjs [--quick]   (--inner: the run inside the namespace)
import {
  Checks,
  eachBackend,
  figure,
  INNER,
  n,
  QUICK,
  runThrottled,
  seconds,
  section,
  sleep,
  sockaddr,
  startup,
  ws,
} from "./lib/harness.mjs";
import { startReceiver } from "./lib/receiver.mjs";

const WHERE = INNER ? "throttled" : "plain";
const checks = new Checks(INNER ? "abort-close[throttled]" : "abort-close");
checks.watchdog(INNER ? 50_000 : 85_000);

/** Sends posted before the close (the brief: at least 10,000 in flight). */
const COUNT = QUICK ? 12_000 : 20_000;
const LIMIT = 25_000;
const MIN_IN_FLIGHT = 10_000;
const SIZE = 64;
/** Time for what the kernel still holds to reach the receiver before arrivals are judged. */
const DRAIN = { quietMs: 500, maxMs: 8_000 };
/** An abort of COUNT sends that takes longer than this is not linear. */
const ABORT_FAST_MS = 3_000;
/** How much longer an abort of 8 times the sends may take (linear: ~8; quadratic: ~64). */
const SCALE_LIMIT = 24;
/** `WSAOVERLAPPED.Internal` of an aborted operation (CONTRACT.md: the NTSTATUS Windows puts there). */
const STATUS_CANCELLED = 0xc0000120;

function payload(id) {
  const b = Buffer.alloc(SIZE, 0x5a);
  b.writeUInt32LE(id, 0);
  return b;
}

/** The native backend on Linux coalesces the sends of a run behind its first (sendmmsg). */
const coalesces = (backend) => backend === "native" && process.platform === "linux";

/**
 * Where sends can be held back (in flight when the close comes): dgram keeps a backlog
 * everywhere; native where it coalesces them, or where the kernel refuses datagrams
 * (EAGAIN: the throttled link).
 */
const canHold = (backend) => backend === "dgram" || INNER || coalesces(backend);

/** Judges outcomes [status, bytes] per id (null: never completed) and the arrivals. */
async function judge(label, backend, outcomes, repeats, rx, inFlight, minInFlight = MIN_IN_FLIGHT, closed = true) {
  const count = outcomes.length;
  let sent = 0;
  let aborted = 0;
  let missing = 0;
  const wrong = [];
  for (let id = 0; id < count; id++) {
    const o = outcomes[id];
    if (o === null) missing++;
    else if (o[0] === 0 && o[1] === SIZE) sent++;
    else if (o[0] === ws.WSA_OPERATION_ABORTED && o[1] === 0) aborted++;
    else if (wrong.length < 5) wrong.push(`#${id}: [${o}]`);
  }
  const drainMs = await rx.drain(sent, DRAIN);
  let arrivedAborted = 0;
  let arrivedSent = 0;
  for (let id = 0; id < count; id++) {
    if (rx.perId[id] === 0) continue;
    const o = outcomes[id];
    if (o?.[0] === 0) arrivedSent++;
    else arrivedAborted++;
  }
  const drops = rx.kernelDrops();
  figure(
    `outcomes: sent ${n(sent)}, aborted ${n(aborted)}, other ${n(count - sent - aborted - missing)}, ` +
      `never completed ${n(missing)}, completed twice ${n(repeats)}`,
  );
  figure(
    `arrivals ${n(rx.arrivals())} (of the sent ${n(arrivedSent)}, of the aborted ${n(arrivedAborted)}), ` +
      `kernel drops at the receiver ${drops ?? "unknown"}, arrivals twice ${n(rx.repeatedIds())}, drained in ${seconds(drainMs)}`,
  );
  if (canHold(backend))
    checks.check(`${label}: >= ${n(minInFlight)} sends in flight at the close`, inFlight >= minInFlight, n(inFlight));
  else figure(`(${backend} on plain loopback: the kernel took every datagram during the call, so none was in flight)`);
  checks.check(`${label}: every operation completed`, missing === 0, `${n(missing)} never completed`);
  checks.check(`${label}: none completed twice`, repeats === 0, n(repeats));
  checks.check(
    `${label}: each sent (0, ${SIZE} bytes) or WSA_OPERATION_ABORTED with 0 bytes`,
    wrong.length === 0,
    wrong.join(", "),
  );
  if (closed && coalesces(backend) && !INNER) {
    // On plain loopback what was in flight was coalesced: the close sent it, none aborted.
    checks.check(`${label}: coalesced sends in flight at the close were sent, none aborted`, aborted === 0, n(aborted));
  } else if (inFlight > 0) {
    checks.check(`${label}: sends in flight at the ${closed ? "close" : "abort"} were aborted`, aborted > 0, "none aborted");
  }
  checks.check(`${label}: no datagram reported aborted arrived`, arrivedAborted === 0, `${n(arrivedAborted)} arrived`);
  checks.check(
    `${label}: arrivals <= sent, none twice`,
    rx.arrivals() <= sent && rx.repeatedIds() === 0 && rx.unknownIds() === 0,
    `${n(rx.arrivals())} arrivals, ${n(rx.repeatedIds())} twice, ${n(rx.unknownIds())} unknown`,
  );
}

/** Posts COUNT overlapped sends; returns the OVERLAPPEDs and how they started. */
function postAll(s, to, routineFor) {
  const ovs = new Array(COUNT);
  const refused = new Map();
  for (let id = 0; id < COUNT; id++) {
    const ov = new ws.WSAOVERLAPPED();
    ovs[id] = ov;
    const rc = ws.WSASendTo(s, [{ len: SIZE, buf: payload(id) }], 1, null, 0, to, 16, ov, routineFor(id));
    const e = rc === 0 ? 0 : ws.WSAGetLastError();
    if (rc !== 0 && e !== ws.WSA_IO_PENDING) refused.set(e, (refused.get(e) ?? 0) + 1);
  }
  return { ovs, refused };
}

function openSocket(label) {
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  checks.check(`${label}: WSASocket`, s !== ws.INVALID_SOCKET, `error ${ws.WSAGetLastError()}`);
  const rc = ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, LIMIT, 4);
  checks.check(`${label}: setsockopt(SO_MAX_OUTSTANDING_SENDS, ${n(LIMIT)})`, rc === 0, `error ${ws.WSAGetLastError()}`);
  return s;
}

const pendingCount = (ovs) => ovs.reduce((k, ov) => k + (ws.HasOverlappedIoCompleted(ov) ? 0 : 1), 0);

/** Closes `s` right after the posts (no wait: dgram would finish its backlog on plain loopback). */
function closeWithSendsInFlight(label, s, ovs, refused) {
  const inFlight = pendingCount(ovs);
  const t0 = process.hrtime.bigint();
  const rc = ws.closesocket(s);
  const closeMs = Number(process.hrtime.bigint() - t0) / 1e6;
  figure(
    `posted ${n(COUNT)} (refused: ${refused.size === 0 ? "none" : [...refused].join(" ")}); ` +
      `in flight at the close ${n(inFlight)}; closesocket took ${closeMs.toFixed(1)} ms`,
  );
  checks.check(`${label}: every send accepted`, refused.size === 0, [...refused].join(" "));
  checks.check(`${label}: closesocket`, rc === 0, `error ${ws.WSAGetLastError()}`);
  return inFlight;
}

async function routinesCase(backend) {
  const label = `${backend} ${WHERE} routines`;
  section(`${label}: ${n(COUNT)} overlapped sends with completion routines, then closesocket`);
  const rx = await startReceiver(COUNT);
  const s = openSocket(label);
  const outcomes = new Array(COUNT).fill(null);
  let repeats = 0;
  let ran = 0;
  const { ovs, refused } = postAll(s, sockaddr(rx.port), (id) => (err, bytes) => {
    if (outcomes[id] !== null) repeats++;
    else ran++;
    outcomes[id] = [err, bytes];
  });
  const inFlight = closeWithSendsInFlight(label, s, ovs, refused);
  const start = Date.now();
  for (let i = 0; i < 2_000 && ran < COUNT && Date.now() - start < 10_000; i++) await ws.SleepEx(20, true);
  figure(`every routine ran ${seconds(Date.now() - start)} after the close (${n(ran)} of ${n(COUNT)})`);
  await ws.SleepEx(20, true);
  await judge(label, backend, outcomes, repeats, rx, inFlight);
  await rx.close();
}

async function overlappedResultCase(backend) {
  const label = `${backend} ${WHERE} overlapped-result`;
  section(`${label}: ${n(COUNT)} overlapped sends without routines, closesocket, then WSAGetOverlappedResult`);
  const rx = await startReceiver(COUNT);
  const s = openSocket(label);
  const { ovs, refused } = postAll(s, sockaddr(rx.port), () => null);
  const inFlight = closeWithSendsInFlight(label, s, ovs, refused);
  const start = Date.now();
  for (let i = 0; i < 2_000 && pendingCount(ovs) > 0 && Date.now() - start < 10_000; i++) await sleep(5);
  figure(`every operation completed ${seconds(Date.now() - start)} after the close (still pending ${n(pendingCount(ovs))})`);
  // WSAGetOverlappedResult on the closed handle answers WSAENOTSOCK (as Windows does for a
  // closed SOCKET): each outcome is read from the structure, Internal and InternalHigh.
  const answers = new Map();
  for (const ov of ovs) {
    const ok = ws.WSAGetOverlappedResult(s, ov, { value: 0 }, false, { value: 0 });
    const key = ok ? "true" : `false/${ws.WSAGetLastError()}`;
    answers.set(key, (answers.get(key) ?? 0) + 1);
  }
  figure(`WSAGetOverlappedResult on the closed socket: ${[...answers].map(([k, v]) => `${k}: ${n(v)}`).join(", ")}`);
  const internals = new Map();
  for (const ov of ovs) internals.set(ov.Internal, (internals.get(ov.Internal) ?? 0) + 1);
  figure(`Internal values: ${[...internals].map(([k, v]) => `0x${k.toString(16)}: ${n(v)}`).join(", ")}`);
  const badInternal = [...internals.keys()].filter((k) => k !== 0 && k !== STATUS_CANCELLED);
  checks.check(
    `${label}: Internal is 0 (sent) or STATUS_CANCELLED 0xc0000120 (aborted), as CONTRACT.md says`,
    badInternal.length === 0,
    `also ${badInternal.map((k) => `0x${k.toString(16)} (${k})`).join(", ")}`,
  );
  // The outcome check accepts the Winsock code in Internal too (the check above reports it).
  const outcomes = ovs.map((ov) => {
    if (!ws.HasOverlappedIoCompleted(ov)) return null;
    const aborted = ov.Internal === STATUS_CANCELLED || ov.Internal === ws.WSA_OPERATION_ABORTED;
    return [aborted ? ws.WSA_OPERATION_ABORTED : ov.Internal, ov.InternalHigh];
  });
  await judge(label, backend, outcomes, 0, rx, inFlight);
  await rx.close();
}

async function abortSignalCase(backend, count) {
  const label = `${backend} ${WHERE} abort-signal ${n(count)}`;
  section(`${label}: idiomatic API, ${n(count)} sendToOverlapped sharing one AbortController`);
  const rx = await startReceiver(count);
  const sock = ws.openUdpSocket({ backend, maxOutstandingSends: LIMIT });
  const to = { address: "127.0.0.1", port: rx.port };
  const controller = new AbortController();
  const outcomes = new Array(count).fill(null);
  const other = [];
  let repeats = 0;
  let settled = 0;
  let thrown = 0;
  let sync = 0;
  const postStart = process.hrtime.bigint();
  const settle = (id, o) => {
    if (outcomes[id] !== null) repeats++;
    else settled++;
    outcomes[id] = o;
  };
  for (let id = 0; id < count; id++) {
    let op;
    try {
      op = sock.sendToOverlapped(payload(id), to, { signal: controller.signal });
    } catch (e) {
      thrown++;
      settle(id, [-1, e?.errno ?? 0]);
      continue;
    }
    if (op.completedSynchronously) sync++;
    op.result.then(
      (r) => settle(id, [0, r.bytesSent]),
      (e) => {
        if (!(e instanceof ws.WSAError) && other.length < 3) other.push(String(e));
        settle(id, [e?.errno ?? -2, 0]);
      },
    );
  }
  const postMs = Number(process.hrtime.bigint() - postStart) / 1e6;
  // At once, as for the close: on plain loopback dgram would soon have sent its backlog.
  const pendingAtAbort = count - sync - thrown;
  const t0 = process.hrtime.bigint();
  controller.abort(new Error("stress: abort"));
  const abortMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const start = Date.now();
  for (let i = 0; i < 2_000 && settled < count && Date.now() - start < 10_000; i++) await sleep(5);
  const settleMs = Date.now() - start;
  figure(
    `posting took ${postMs.toFixed(1)} ms; completed synchronously ${n(sync)}, threw ${n(thrown)}, pending at the abort ${n(pendingAtAbort)}; ` +
      `abort() took ${abortMs.toFixed(1)} ms (${((1000 * abortMs) / Math.max(pendingAtAbort, 1)).toFixed(1)} us per pending send); ` +
      `all settled ${seconds(settleMs)} after it (${n(settled)} of ${n(count)})`,
  );
  if (other.length > 0) figure(`rejections that were not WSAErrors: ${other.join("; ")}`);
  checks.check(`${label}: every send started (none threw)`, thrown === 0, `${n(thrown)} threw`);
  checks.check(`${label}: rejections are WSAErrors`, other.length === 0, other.join("; "));
  await judge(label, backend, outcomes, repeats, rx, pendingAtAbort, Math.min(MIN_IN_FLIGHT, count / 2), false);
  sock.close();
  await rx.close();
  return { abortMs, pendingAtAbort };
}

/**
 * The abort must be linear in the pending sends: timed for COUNT / 8 and for COUNT sends,
 * the larger may take at most SCALE_LIMIT times as long (8 if linear, 64 if quadratic),
 * and at most ABORT_FAST_MS in all.
 */
async function abortScaling(backend) {
  const small = await abortSignalCase(backend, COUNT / 8);
  const big = await abortSignalCase(backend, COUNT);
  if (big.pendingAtAbort === 0) {
    figure(`(${backend} on plain loopback: every send completed during the call, so the abort had nothing to withdraw)`);
    return;
  }
  const ratio = big.abortMs / Math.max(small.abortMs, 0.5);
  figure(
    `abort() of ${n(small.pendingAtAbort)} pending: ${small.abortMs.toFixed(1)} ms; of ${n(big.pendingAtAbort)}: ` +
      `${big.abortMs.toFixed(1)} ms; ratio ${ratio.toFixed(1)} (linear ~8, quadratic ~64)`,
  );
  checks.check(
    `${backend} ${WHERE} abort-signal: abort() of ${n(big.pendingAtAbort)} pending sends is fast ` +
      `(< ${ABORT_FAST_MS} ms and at most ${SCALE_LIMIT}x the time of ${n(small.pendingAtAbort)})`,
    big.abortMs < ABORT_FAST_MS && ratio <= SCALE_LIMIT,
    `${big.abortMs.toFixed(0)} ms, ratio ${ratio.toFixed(1)}`,
  );
}

await eachBackend(async (backend) => {
  if (!startup(checks, `${backend} ${WHERE}`.split(" ")[0])) return;
  await routinesCase(backend);
  await overlappedResultCase(backend);
  ws.WSACleanup();
  await abortScaling(backend);
});

if (!INNER) await runThrottled(checks, "abort-close.mjs", { timeoutMs: 55_000, label: "abort-close" });
checks.finish();
