// Worker threads torn down while operations are posted. For each backend and each way a
// worker ends (worker.terminate() from the main thread while the worker keeps posting;
// process.exit() inside the worker right after posting), WORKERS workers
// (lib/teardown-worker.mjs) load the backend, post overlapped sends (routines and events)
// and receives that stay pending, and are ended.
//
// Each (backend, ending) runs in a child process of its own (`--child backend ending`):
// the child must survive (its exit code and signal are checked here, so a crash is
// reported as such, with the last step it printed). In the child, the main thread holds a
// socket of the same backend with an overlapped receive posted before the workers start;
// afterwards that receive must still be pending and complete when a datagram comes, new
// sends and receives of the main thread must work, and the descriptors in /proc/self/fd
// must not have grown.
//
// Usage: node stress/workers.mjs [--quick]
import { createSocket } from "node:dgram";
import { Worker } from "node:worker_threads";
import {
  absorbChild,
  backends,
  boundPort,
  Checks,
  figure,
  gc,
  n,
  openFds,
  QUICK,
  runNode,
  seconds,
  section,
  sleep,
  sockaddr,
  ws,
} from "./lib/harness.mjs";

const WORKERS = QUICK ? 6 : 20;
/** Workers alive at once. */
const PARALLEL = 4;
const SENDS = 200;
const WORKER_TIMEOUT_MS = 10_000;
const CHILD_TIMEOUT_MS = 30_000;
/**
 * How the workers end, and whether the main thread has loaded the backend (and holds a
 * pending receive) while they run ("main-first") or loads it only after they are gone
 * ("workers-first": the last worker's teardown is the addon's last user).
 */
const VARIANTS = [
  ["terminate", "main-first"],
  ["exit", "main-first"],
  ["terminate", "workers-first"],
  ["exit", "workers-first"],
];

const childAt = process.argv.indexOf("--child");

if (childAt < 0) {
  // The parent: one child process per (backend, ending).
  const checks = new Checks("workers");
  for (const b of backends()) {
    if (!b.available) {
      section(`${b.name}: not run, the backend does not load here (${b.reason})`);
      continue;
    }
    for (const [ending, main] of VARIANTS) {
      const label = `${b.name} ${ending} ${main}`;
      section(
        `${label}: ${WORKERS} workers ended by ${ending === "exit" ? "process.exit() inside the worker" : "worker.terminate()"}; ` +
          `${main === "main-first" ? "the main thread loaded the backend first" : "the main thread loads the backend only after them"} (child process)`,
      );
      const args = [new URL(import.meta.url).pathname, "--child", b.name, ending, main, ...(QUICK ? ["--quick"] : [])];
      const r = await runNode(args, { timeoutMs: CHILD_TIMEOUT_MS, prefix: "  | " });
      // Survived: it ended by itself, not by a signal or our timeout (its checks are counted apart).
      checks.check(
        `${label}: the process survived its workers' teardown`,
        !r.timedOut && r.signal === null && r.summary !== null,
        r.timedOut
          ? `killed after ${seconds(CHILD_TIMEOUT_MS)}`
          : r.signal
            ? `it died by ${r.signal}; its last line: "${lastLine(r.out)}"`
            : `exit code ${r.code} without its closing line; its last line: "${lastLine(r.out)}"`,
      );
      absorbChild(checks, `${label} (child process)`, r, CHILD_TIMEOUT_MS);
    }
  }
  checks.finish();
} else {
  await child(process.argv[childAt + 1], process.argv[childAt + 2], process.argv[childAt + 3]);
}

function lastLine(out) {
  return out.trimEnd().split("\n").pop()?.trim() ?? "";
}

/** Whether 127.0.0.1:port is still taken (by a socket a worker left open). */
function stillBound(port) {
  return new Promise((resolve) => {
    const probe = createSocket("udp4");
    probe.once("error", () => {
      probe.close();
      resolve(true);
    });
    probe.bind(port, "127.0.0.1", () => {
      probe.close();
      resolve(false);
    });
  });
}

/** One worker from start to end; what it said and how it ended. */
function runWorker(backend, ending, port) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./lib/teardown-worker.mjs", import.meta.url), {
      workerData: { backend, end: ending, port, sends: SENDS },
      env: { ...process.env, WSASENDTO_BACKEND: backend },
    });
    const result = { ready: null, error: null, exitCode: null, timedOut: false };
    const timer = setTimeout(() => {
      result.timedOut = true;
      worker.terminate();
    }, WORKER_TIMEOUT_MS);
    worker.on("message", async (m) => {
      if (m.error) {
        result.error = m.error;
        return;
      }
      result.ready = m;
      if (ending === "terminate") {
        // Let it post for a moment (0-4 ms), then end it in the middle of that.
        await sleep(Math.floor(Math.random() * 5));
        worker.terminate();
      }
    });
    worker.on("error", (e) => {
      result.error = String(e?.stack ?? e);
    });
    worker.on("exit", async (code) => {
      clearTimeout(timer);
      result.exitCode = code;
      // Its socket must be closed with it: then its port can be bound again.
      result.leftBound = result.ready?.port ? await stillBound(result.ready.port) : false;
      resolve(result);
    });
  });
}

async function child(backend, ending, main) {
  const label = `${backend} ${ending} ${main}`;
  const checks = new Checks(`workers[${label.replaceAll(" ", ",")}]`);
  checks.watchdog(CHILD_TIMEOUT_MS - 5_000);
  // A sink for the workers' datagrams.
  const sink = createSocket({ type: "udp4", recvBufferSize: 1 << 20 });
  let sunk = 0;
  sink.on("message", () => sunk++);
  await new Promise((resolve) => sink.bind(0, "127.0.0.1", resolve));
  // The first worker of a process makes Node keep a descriptor for good: an empty worker
  // first, so that the count before is what clean teardowns leave.
  await new Promise((resolve) => new Worker("", { eval: true }).on("exit", resolve));

  let mainSide = null;
  if (main === "main-first") mainSide = openMainSide(checks, label, backend);
  gc();
  const fdsBefore = openFds();
  const results = [];
  const start = Date.now();
  for (let i = 0; i < WORKERS; i += PARALLEL) {
    const batch = [];
    for (let j = i; j < Math.min(WORKERS, i + PARALLEL); j++) batch.push(runWorker(backend, ending, sink.address().port));
    console.log(`  workers ${i + 1}-${i + batch.length} of ${WORKERS} started`);
    results.push(...(await Promise.all(batch)));
    console.log(`  workers ${i + 1}-${i + batch.length} of ${WORKERS} ended`);
  }
  const workersMs = Date.now() - start;
  const wantCode = ending === "terminate" ? 1 : 0;
  const ready = results.filter((r) => r.ready?.posted === SENDS).length;
  const pendingReceives = results.filter((r) => r.ready?.receivesPending).length;
  const errors = results.filter((r) => r.error !== null).map((r) => r.error.split("\n")[0]);
  const codes = new Map();
  for (const r of results) codes.set(r.exitCode, (codes.get(r.exitCode) ?? 0) + 1);
  const timedOut = results.filter((r) => r.timedOut).length;
  const leftBound = results.filter((r) => r.leftBound).length;
  figure(
    `${n(results.length)} workers in ${seconds(workersMs)}: posted their ${SENDS} sends + 2 receives in ${n(ready)} ` +
      `(receives pending at the end in ${n(pendingReceives)}); exit codes ${[...codes].map(([c, k]) => `${c}: ${k}`).join(", ")}; ` +
      `timed out ${timedOut}; datagrams that reached the sink ${n(sunk)}; worker ports still bound after their end ${leftBound}`,
  );
  checks.check(
    `${label}: every worker's socket closed with it (its port free again)`,
    leftBound === 0,
    `${leftBound} of ${WORKERS} ports still bound`,
  );
  checks.check(`${label}: every worker posted its operations`, ready === WORKERS, `${ready} of ${WORKERS}`);
  checks.check(`${label}: no worker error`, errors.length === 0, [...new Set(errors)].slice(0, 3).join(" | "));
  checks.check(
    `${label}: every worker ended (exit code ${wantCode}) within ${seconds(WORKER_TIMEOUT_MS)}`,
    codes.get(wantCode) === WORKERS && timedOut === 0,
    [...codes].join(" "),
  );
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  const fdsAfter = openFds();
  figure(`descriptors in /proc/self/fd: before the workers ${fdsBefore}, after ${fdsAfter}`);
  checks.check(`${label}: descriptors did not grow`, fdsAfter <= fdsBefore, `${fdsBefore} -> ${fdsAfter}`);

  // The main thread's operations after the teardowns.
  if (mainSide === null) mainSide = openMainSide(checks, label, backend);
  await useMainSide(checks, label, mainSide);
  sink.close();
  checks.finish();
}

/** The main thread's socket of `backend`, with an overlapped receive posted (and an event). */
function openMainSide(checks, label, backend) {
  process.env.WSASENDTO_BACKEND = backend;
  const started = ws.WSAStartup(ws.MAKEWORD(2, 2), {}) === 0 && ws.backendName() === backend;
  checks.check(`${label}: WSAStartup in the main thread`, started, ws.backendName());
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  const local = { sin_family: ws.AF_INET, sin_port: 0, sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
  const bound = s !== ws.INVALID_SOCKET && ws.bind(s, local, 16) === 0;
  checks.check(`${label}: main socket bound`, bound, `error ${ws.WSAGetLastError()}`);
  const early = new ws.WSAOVERLAPPED();
  early.hEvent = ws.WSACreateEvent();
  const buf = Buffer.alloc(64);
  const rc = ws.WSARecvFrom(s, [{ len: 64, buf }], 1, null, { value: 0 }, {}, { value: 16 }, early, null);
  const pending = rc === ws.SOCKET_ERROR && ws.WSAGetLastError() === ws.WSA_IO_PENDING;
  checks.check(`${label}: main thread's receive pending`, pending, `rc ${rc}, ${ws.WSAGetLastError()}`);
  return { s, port: boundPort(s), early, buf };
}

/** The receive posted by openMainSide completes now, and a new round trip works. */
async function useMainSide(checks, label, { s, port, early, buf }) {
  checks.check(
    `${label}: main thread's receive still pending`,
    !ws.HasOverlappedIoCompleted(early),
    `Internal ${early.Internal}`,
  );
  const peer = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  const sent = [];
  const note = Buffer.from("after the workers");
  const routine = (e, b) => sent.push([e, b]);
  const post = ws.WSASendTo(
    peer,
    [{ len: note.length, buf: note }],
    1,
    null,
    0,
    sockaddr(port),
    16,
    new ws.WSAOVERLAPPED(),
    routine,
  );
  const postOk = post === 0 || ws.WSAGetLastError() === ws.WSA_IO_PENDING;
  const wait = await ws.WSAWaitForMultipleEvents(1, [early.hEvent], false, 5_000, false);
  for (let i = 0; i < 100 && sent.length === 0; i++) await ws.SleepEx(20, true);
  const got = { value: 0 };
  const recvOk = wait === ws.WSA_WAIT_EVENT_0 && ws.WSAGetOverlappedResult(s, early, got, false, { value: 0 });
  checks.check(
    `${label}: main thread's send completes`,
    postOk && sent.length === 1 && sent[0][0] === 0 && sent[0][1] === note.length,
    JSON.stringify({ post, sent }),
  );
  checks.check(
    `${label}: main thread's receive gets the datagram`,
    recvOk && got.value === note.length && buf.toString("latin1", 0, got.value) === note.toString("latin1"),
    `wait ${wait}, result ${recvOk}, ${got.value} bytes, error ${ws.WSAGetLastError()}`,
  );
  // And a fresh round trip, routines both ways.
  const echoed = [];
  const rbuf = Buffer.alloc(64);
  const done = (e, b) => echoed.push([e, b]);
  ws.WSARecvFrom(s, [{ len: 64, buf: rbuf }], 1, null, { value: 0 }, {}, { value: 16 }, new ws.WSAOVERLAPPED(), done);
  ws.WSASendTo(peer, [{ len: 3, buf: Buffer.from("abc") }], 1, null, 0, sockaddr(port), 16, new ws.WSAOVERLAPPED(), done);
  for (let i = 0; i < 100 && echoed.length < 2; i++) await ws.SleepEx(20, true);
  checks.check(
    `${label}: a new send and receive of the main thread complete`,
    echoed.length === 2 && echoed.every(([e, b]) => e === 0 && b === 3),
    JSON.stringify(echoed),
  );
  ws.closesocket(peer);
  ws.WSACloseEvent(early.hEvent);
  ws.closesocket(s);
  ws.WSACleanup();
}
