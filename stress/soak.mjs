// Soak: a long run of overlapped WSASendTo on each backend, in both completion styles,
// keeping a window of operations outstanding.
//
// - routines: each send has a completion routine; the loop waits alertably, alternating
//   SleepEx(ms, true) and WSAWaitForMultipleEvents(..., fAlertable = true), and refills the
//   window after each wait.
// - events: each window slot has its own event; the loop waits with
//   WSAWaitForMultipleEvents on the oldest outstanding slots' events (at most 64) and
//   collects results with WSAGetOverlappedResult(fWait = false).
//
// Every operation must complete exactly once (completions counted per id: lost = 0,
// duplicated = 0) with the right byte count; a receiver on its own thread (node:dgram,
// big SO_RCVBUF) counts arrivals per id: arrivals <= sent, no id twice, and arrivals plus
// the kernel's drop count for the receiver = sent. Heap used and the resident set size
// (RSS) after GC are compared between the start (after a warm-up) and the end of each run:
// on the native backend on Linux most of these sends are coalesced (sendmmsg).
//
// Usage: node stress/soak.mjs [--quick] [--count N] (N sends per backend and style)
import {
  Checks,
  eachBackend,
  figure,
  memoryAfterGc,
  mib,
  n,
  QUICK,
  rate,
  seconds,
  section,
  sockaddr,
  startup,
  ws,
} from "./lib/harness.mjs";
import { startReceiver } from "./lib/receiver.mjs";

const checks = new Checks("soak");
checks.watchdog(235_000);

const countArg = process.argv.indexOf("--count");
/**
 * Sends per backend and completion style: 1,000,000 in the full run (2,000,000 per
 * backend). Measured here (2 cores, receiver on its own thread): 73k-180k sends/s, so
 * about 45 s for the four runs.
 */
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : QUICK ? 100_000 : 1_000_000;
/** Outstanding operations kept in flight: well below the default limit of 4096 per socket. */
const WINDOW = 512;
/** Sends before the heap baseline, so that code and pools have reached their steady size. */
const WARMUP = QUICK ? 5_000 : 20_000;
const SIZE = 32;
/** Heap growth over a run that still counts as flat. */
const HEAP_TOLERANCE = 4 << 20;
/** RSS growth over a run that still counts as flat (RSS also holds code, pools and the allocator's slack). */
const RSS_TOLERANCE = 16 << 20;
/** A run gives up when nothing completed for this long (its operations then count as lost). */
const STALL_MS = 5_000;
const RUN_MAX_MS = QUICK ? 30_000 : 90_000;

/** An overlapped structure that knows its operation's id, as C code embeds one in a struct. */
class Op extends ws.WSAOVERLAPPED {
  id = 0;
  slot = 0;
}

/** The outcome of one run of `count` sends with ids first..first+count-1. */
function newStats() {
  return {
    posted: 0,
    postFailed: new Map(),
    immediate: 0,
    completed: 0,
    duplicated: 0,
    ok: 0,
    wrongBytes: 0,
    errors: new Map(),
    waits: 0,
    waitResults: new Map(),
    spuriousSignals: 0,
    stalled: false,
    ms: 0,
  };
}

const bump = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
const show = (map) => (map.size === 0 ? "none" : [...map].map(([k, v]) => `${k}: ${n(v)}`).join(", "));

/** The window's slots: each an Op with its payload, reused once its operation completed. */
function makeSlots(withEvents) {
  const slots = [];
  for (let i = 0; i < WINDOW; i++) {
    const ov = new Op();
    ov.slot = i;
    if (withEvents) ov.hEvent = ws.WSACreateEvent();
    const buf = Buffer.alloc(SIZE, 0x5a);
    slots.push({ ov, buf, bufs: [{ len: SIZE, buf }] });
  }
  return slots;
}

/** Posts the send of `id` in `slot`; true when it was accepted (completed at once or pending). */
function post(s, to, slot, id, routine, st) {
  slot.ov.id = id;
  slot.buf.writeUInt32LE(id, 0);
  const rc = ws.WSASendTo(s, slot.bufs, 1, null, 0, to, 16, slot.ov, routine);
  if (rc === 0) {
    st.immediate++;
  } else {
    const e = ws.WSAGetLastError();
    if (rc !== ws.SOCKET_ERROR || e !== ws.WSA_IO_PENDING) {
      bump(st.postFailed, `rc ${rc} / ${e}`);
      return false;
    }
  }
  st.posted++;
  return true;
}

/** Completion routines, waited for alertably. */
async function runRoutines(s, to, first, count, perOp, probe = null) {
  const st = newStats();
  const slots = makeSlots(false);
  const free = slots.map((_, i) => i);
  const never = ws.WSACreateEvent();
  let outstanding = 0;
  const routine = (err, bytes, ov) => {
    const c = ++perOp[ov.id];
    if (c > 1) {
      st.duplicated++;
      return;
    }
    st.completed++;
    outstanding--;
    if (err === 0 && bytes === SIZE) st.ok++;
    else if (err === 0) st.wrongBytes++;
    else bump(st.errors, err);
    free.push(ov.slot);
  };
  const start = Date.now();
  let next = first;
  const end = first + count;
  let lastProgress = start;
  let lastCompleted = 0;
  for (let iter = 0; st.completed < st.posted || next < end; iter++) {
    while (free.length > 0 && next < end) {
      const slot = slots[free.pop()];
      if (post(s, to, slot, next++, routine, st)) outstanding++;
      else free.push(slot.ov.slot);
    }
    const rc = iter % 2 === 0 ? await ws.SleepEx(1000, true) : await ws.WSAWaitForMultipleEvents(1, [never], false, 1000, true);
    st.waits++;
    bump(st.waitResults, rc === ws.WAIT_IO_COMPLETION ? "IO_COMPLETION" : rc === ws.WSA_WAIT_TIMEOUT ? "TIMEOUT" : rc);
    if (probe && st.completed >= count / 2) probe = await probeOnce(probe);
    const now = Date.now();
    if (st.completed !== lastCompleted) {
      lastCompleted = st.completed;
      lastProgress = now;
    } else if (now - lastProgress > STALL_MS || now - start > RUN_MAX_MS) {
      st.stalled = true;
      break;
    }
  }
  st.ms = Date.now() - start;
  // Late completions (none are expected) would still be counted by the routine.
  await ws.SleepEx(50, true);
  st.outstandingAtEnd = outstanding;
  ws.WSACloseEvent(never);
  return st;
}

/** Runs a run's half-way probe (a measurement) once; returns null, what the probe becomes. */
async function probeOnce(probe) {
  await probe();
  return null;
}

/** Events and WSAGetOverlappedResult, oldest first. */
async function runEvents(s, to, first, count, perOp, probe = null) {
  const st = newStats();
  const slots = makeSlots(true);
  const free = slots.map((_, i) => i);
  // The outstanding slots in the order they were posted (a ring of slot numbers).
  const fifo = new Int32Array(WINDOW);
  let head = 0;
  let size = 0;
  const bytes = { value: 0 };
  const flags = { value: 0 };
  const start = Date.now();
  let next = first;
  const end = first + count;
  let lastProgress = start;
  const harvest = () => {
    let progressed = false;
    while (size > 0) {
      const slot = slots[fifo[head]];
      const ov = slot.ov;
      const done = ws.WSAGetOverlappedResult(s, ov, bytes, false, flags);
      const err = done ? 0 : ws.WSAGetLastError();
      if (!done && err === ws.WSA_IO_INCOMPLETE) break;
      const c = ++perOp[ov.id];
      if (c > 1) st.duplicated++;
      st.completed++;
      if (err === 0 && bytes.value === SIZE) st.ok++;
      else if (err === 0) st.wrongBytes++;
      else bump(st.errors, err);
      ws.WSAResetEvent(ov.hEvent);
      free.push(ov.slot);
      head = (head + 1) % WINDOW;
      size--;
      progressed = true;
    }
    return progressed;
  };
  while (st.completed < st.posted || next < end) {
    while (free.length > 0 && next < end) {
      const slot = slots[free.pop()];
      if (post(s, to, slot, next++, null, st)) {
        fifo[(head + size) % WINDOW] = slot.ov.slot;
        size++;
      } else free.push(slot.ov.slot);
    }
    if (size === 0) continue;
    const k = Math.min(size, ws.WSA_MAXIMUM_WAIT_EVENTS);
    const events = new Array(k);
    for (let i = 0; i < k; i++) events[i] = slots[fifo[(head + i) % WINDOW]].ov.hEvent;
    const rc = await ws.WSAWaitForMultipleEvents(k, events, false, 1000, false);
    st.waits++;
    if (rc >= ws.WSA_WAIT_EVENT_0 && rc < k) {
      // A signalled event whose operation is still pending was set by something else: a
      // completion reported twice (of an earlier operation of that slot).
      const ov = slots[fifo[(head + rc) % WINDOW]].ov;
      if (!ws.HasOverlappedIoCompleted(ov)) st.spuriousSignals++;
    } else bump(st.waitResults, rc === ws.WSA_WAIT_TIMEOUT ? "TIMEOUT" : rc);
    if (probe && st.completed >= count / 2) probe = await probeOnce(probe);
    const now = Date.now();
    if (harvest()) lastProgress = now;
    else if (now - lastProgress > STALL_MS || now - start > RUN_MAX_MS) {
      st.stalled = true;
      break;
    }
  }
  st.ms = Date.now() - start;
  st.outstandingAtEnd = size;
  for (const slot of slots) ws.WSACloseEvent(slot.ov.hEvent);
  return st;
}

async function soak(backend, style) {
  const label = `${backend} ${style}`;
  section(`${label}: ${n(COUNT)} overlapped sends of ${SIZE} bytes, window ${WINDOW}`);
  const ids = WARMUP + COUNT;
  const rx = await startReceiver(ids);
  const perOp = new Uint8Array(ids);
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  if (!checks.check(`${label}: WSASocket`, s !== ws.INVALID_SOCKET, `error ${ws.WSAGetLastError()}`)) return;
  const to = sockaddr(rx.port);
  const runStyle = style === "routines" ? runRoutines : runEvents;

  const warm = await runStyle(s, to, COUNT, WARMUP, perOp);
  const { heap: heapStart, rss: rssStart } = await memoryAfterGc();
  // RSS is judged over the second half: the first one also grows V8's young generation
  // to its working size (committed, not used: heap used stays flat from the start).
  let rssHalf = rssStart;
  const st = await runStyle(s, to, 0, COUNT, perOp, async () => {
    rssHalf = (await memoryAfterGc()).rss;
  });
  const { heap: heapEnd, rss: rssEnd } = await memoryAfterGc();

  let lost = 0;
  let dupIds = 0;
  for (let id = 0; id < COUNT; id++) {
    if (perOp[id] === 0) lost++;
    else if (perOp[id] > 1) dupIds++;
  }
  const sentOk = st.ok + warm.ok;
  const drainMs = await rx.drain(sentOk);
  const arrivals = rx.arrivals();
  const drops = rx.kernelDrops();
  let arrivedIds = 0;
  for (let id = 0; id < COUNT; id++) if (rx.perId[id] > 0) arrivedIds++;
  const measuredArrivals = arrivedIds;

  figure(
    `posted ${n(st.posted)} (completed during the call ${n(st.immediate)}, pending ${n(st.posted - st.immediate)}` +
      `${backend === "native" && process.platform === "linux" ? ": coalesced, or waiting for room" : ""}), ` +
      `refused ${show(st.postFailed)}`,
  );
  figure(
    `completed ${n(st.completed)} in ${seconds(st.ms)} = ${rate(st.completed, st.ms)}; ok ${n(st.ok)}, ` +
      `errors ${show(st.errors)}, wrong byte counts ${n(st.wrongBytes)}; lost ${n(lost)}, duplicated ${n(st.duplicated)} ` +
      `(ids twice ${n(dupIds)}${style === "events" ? `, events signalled while pending ${n(st.spuriousSignals)}` : ""})`,
  );
  figure(
    `waits ${n(st.waits)} (${style === "routines" ? "results" : "non-event results"}: ${show(st.waitResults)}); ` +
      `still outstanding at the end ${n(st.outstandingAtEnd)}${st.stalled ? " (STALLED)" : ""}`,
  );
  figure(
    `arrivals ${n(measuredArrivals)} of ${n(st.ok)} sent (${n(arrivals)} with the warm-up of ${n(WARMUP)}); ` +
      `loss ${n(st.ok - measuredArrivals)} = ${((100 * (st.ok - measuredArrivals)) / Math.max(st.ok, 1)).toFixed(3)}%; ` +
      `kernel drops at the receiver ${drops === null ? "unknown" : n(drops)} (SO_RCVBUF ${mib(rx.rcvbuf)}); ` +
      `arrivals twice ${n(rx.repeatedIds())}; drained in ${seconds(drainMs)}`,
  );
  figure(
    `heap used after GC: start ${mib(heapStart)}, end ${mib(heapEnd)}, ` +
      `growth ${mib(heapEnd - heapStart)} (tolerance ${mib(HEAP_TOLERANCE)}); ` +
      `RSS: start ${mib(rssStart)}, half-way ${mib(rssHalf)}, end ${mib(rssEnd)}, growth over the second half ` +
      `${mib(rssEnd - rssHalf)} (tolerance ${mib(RSS_TOLERANCE)})`,
  );

  checks.check(`${label}: every send accepted (0 or WSA_IO_PENDING)`, st.posted === COUNT, show(st.postFailed));
  checks.check(`${label}: lost completions = 0`, lost === 0 && !st.stalled, `${n(lost)} never completed`);
  checks.check(
    `${label}: duplicated completions = 0`,
    st.duplicated === 0 && st.spuriousSignals === 0,
    `${n(st.duplicated)} repeats, ${n(st.spuriousSignals)} stray signals`,
  );
  checks.check(
    `${label}: every completed send ok with ${SIZE} bytes`,
    st.ok === st.completed && st.wrongBytes === 0,
    `errors ${show(st.errors)}, wrong byte counts ${st.wrongBytes}`,
  );
  checks.check(
    `${label}: arrivals <= sent, none twice, none unknown`,
    measuredArrivals <= st.ok && rx.repeatedIds() === 0 && rx.unknownIds() === 0,
    `${n(rx.repeatedIds())} twice, ${n(rx.unknownIds())} unknown`,
  );
  checks.check(
    `${label}: arrivals + the receiver's kernel drops = sent`,
    drops !== null && arrivals + drops === sentOk,
    `${n(arrivals)} + ${drops === null ? "?" : n(drops)} vs ${n(sentOk)}`,
  );
  checks.check(
    `${label}: heap flat (growth <= ${mib(HEAP_TOLERANCE)})`,
    heapEnd - heapStart <= HEAP_TOLERANCE,
    mib(heapEnd - heapStart),
  );
  checks.check(
    `${label}: RSS flat over the second half (growth <= ${mib(RSS_TOLERANCE)})`,
    rssEnd - rssHalf <= RSS_TOLERANCE,
    mib(rssEnd - rssHalf),
  );
  checks.check(`${label}: closesocket`, ws.closesocket(s) === 0, `error ${ws.WSAGetLastError()}`);
  await rx.close();
  return st;
}

const rates = [];
await eachBackend(async (backend) => {
  if (!startup(checks, backend)) return;
  let total = 0;
  for (const style of ["routines", "events"]) {
    const st = await soak(backend, style);
    if (st) {
      total += st.completed;
      rates.push(`${backend} ${style} ${rate(st.completed, st.ms)}`);
    }
  }
  figure(`${backend}: ${n(total)} overlapped sends completed in all (routines + events)`);
  ws.WSACleanup();
});
section(`rates: ${rates.join("; ")}`);
checks.finish();
