// A worker thread of stress/workers.mjs: it loads a backend, posts an overlapped receive
// that nothing will satisfy and overlapped sends (completion routines and events), tells
// the main thread, then either ends itself with process.exit() at once or keeps posting
// sends (with alertable zero-timeout waits) until the main thread terminates it.
//
// workerData: { backend, end: "terminate" | "exit", port (where the sends go), sends }.
import { parentPort, workerData } from "node:worker_threads";
import * as ws from "wsasendto";

const { backend, end, port, sends } = workerData;
const LOOP_MAX_MS = 8_000;

const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
if (rc !== 0 || ws.backendName() !== backend) {
  parentPort.postMessage({ error: `WSAStartup ${rc}, backend ${ws.backendName()} instead of ${backend}` });
} else {
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  const local = { sin_family: ws.AF_INET, sin_port: 0, sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
  ws.bind(s, local, 16);
  const to = { sin_family: ws.AF_INET, sin_port: ws.htons(port), sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
  let completed = 0;
  const routine = () => {
    completed++;
  };

  // Receives that stay pending: one with a routine, one with an event.
  const recvRoutine = new ws.WSAOVERLAPPED();
  ws.WSARecvFrom(s, [{ len: 64, buf: Buffer.alloc(64) }], 1, null, { value: 0 }, {}, { value: 16 }, recvRoutine, routine);
  const recvEvent = new ws.WSAOVERLAPPED();
  recvEvent.hEvent = ws.WSACreateEvent();
  ws.WSARecvFrom(s, [{ len: 64, buf: Buffer.alloc(64) }], 1, null, { value: 0 }, {}, { value: 16 }, recvEvent, null);

  const payload = Buffer.alloc(256, 0x77);
  const post = (i) => {
    const ov = new ws.WSAOVERLAPPED();
    if (i % 2 === 1) ov.hEvent = ws.WSACreateEvent();
    ws.WSASendTo(s, [{ len: payload.length, buf: payload }], 1, null, 0, to, 16, ov, i % 2 === 0 ? routine : null);
  };
  for (let i = 0; i < sends; i++) post(i);
  const name = {};
  ws.getsockname(s, name, { value: 16 });
  parentPort.postMessage({
    port: ws.ntohs(name.sin_port ?? 0),
    posted: sends,
    receivesPending: !ws.HasOverlappedIoCompleted(recvRoutine) && !ws.HasOverlappedIoCompleted(recvEvent),
  });
  if (end === "exit") {
    // Routines still queued, sends and receives still pending: the environment ends now.
    process.exit(0);
  } else {
    // Busy posting when terminate() lands; the loop is bounded in case it never does.
    const start = Date.now();
    for (let i = sends; i < sends + 1_000_000 && Date.now() - start < LOOP_MAX_MS; i++) {
      post(i);
      if (i % 64 === 0) await ws.SleepEx(0, true);
    }
    parentPort.postMessage({ error: `not terminated within ${LOOP_MAX_MS} ms (${completed} routines ran)` });
  }
}
