// A receive flood: a plain node:dgram sender on another thread sends COUNT small datagrams
// as fast as it can to a receiver of each backend, made with the idiomatic API
// (`openUdpSocket({ backend, bind, receiveBufferSize })`, `for await (const d of sock)`),
// which is slower than the sender (it pauses every PAUSE_EVERY datagrams) so that datagrams
// are dropped. Once the sender is done and the receiver drained, every datagram must be
// accounted for: received + `sock.drops` = sent. `drops` may be undefined ("unknown") only
// on a platform that cannot tell; on Linux it must be a number.
//
// Usage: node stress/flood.mjs [--quick]
import { Worker } from "node:worker_threads";
import {
  Checks,
  deadline,
  eachBackend,
  figure,
  kernelDrops,
  n,
  QUICK,
  rate,
  seconds,
  section,
  sleep,
  ws,
} from "./lib/harness.mjs";

const checks = new Checks("flood");
checks.watchdog(85_000);

const COUNT = QUICK ? 50_000 : 200_000;
const SIZE = 32;
const RCVBUF = 64 << 10;
const PAUSE_EVERY = 256;
const PAUSE_MS = 1;
/** The receiver counts as drained when nothing arrived for this long after the sender finished. */
const QUIET_MS = 500;
const SENDER_TIMEOUT_MS = 20_000;

const SENDER = `
const dgram = require("node:dgram");
const { parentPort, workerData } = require("node:worker_threads");
const { port, count, size } = workerData;
const s = dgram.createSocket("udp4");
const WINDOW = 256;
let next = 0, inflight = 0, ok = 0, failed = 0;
const errors = {};
const start = Date.now();
function pump() {
  while (inflight < WINDOW && next < count) {
    const b = Buffer.alloc(size, 0x66);
    b.writeUInt32LE(next++, 0);
    inflight++;
    s.send(b, port, "127.0.0.1", (e) => {
      inflight--;
      if (e) { failed++; errors[e.code] = (errors[e.code] ?? 0) + 1; } else ok++;
      if (next < count) pump();
      else if (inflight === 0) s.close(() => parentPort.postMessage({ sent: ok, failed, errors, ms: Date.now() - start }));
    });
  }
}
s.bind(0, "127.0.0.1", pump);
`;

async function flood(backend) {
  section(
    `${backend}: ${n(COUNT)} datagrams of ${SIZE} bytes from a node:dgram sender to an idiomatic receiver (SO_RCVBUF ${RCVBUF})`,
  );
  let sock;
  try {
    sock = ws.openUdpSocket({ backend, bind: { address: "127.0.0.1", port: 0 }, receiveBufferSize: RCVBUF });
  } catch (e) {
    checks.check(`${backend}: openUdpSocket`, false, String(e));
    return;
  }
  const port = sock.localAddress()?.port ?? 0;
  const seen = new Uint8Array(COUNT);
  let received = 0;
  let repeated = 0;
  let strange = 0;
  let lastArrival = Date.now();
  const receiving = (async () => {
    for await (const d of sock) {
      received++;
      lastArrival = Date.now();
      const id = d.data.length === SIZE ? d.data.readUInt32LE(0) : -1;
      if (id < 0 || id >= COUNT) strange++;
      else if (seen[id]++ > 0) repeated++;
      // Slower than the sender, so that the receive buffer overflows.
      if (received % PAUSE_EVERY === 0) await sleep(PAUSE_MS);
    }
  })();
  const start = Date.now();
  const sender = new Worker(SENDER, { eval: true, workerData: { port, count: COUNT, size: SIZE } });
  const report = await Promise.race([
    new Promise((resolve) => sender.once("message", resolve)),
    new Promise((resolve) => sender.once("error", (e) => resolve({ error: String(e) }))),
    deadline(SENDER_TIMEOUT_MS).then(() => ({ error: "the sender did not finish" })),
  ]);
  await sender.terminate();
  const receivedWhenSent = received;
  for (let i = 0; i < 2_000 && Date.now() - lastArrival < QUIET_MS; i++) await sleep(20);
  const drainMs = Date.now() - start - (report.ms ?? 0);
  const drops = sock.drops;
  const kernel = kernelDrops(port);
  sock.close();
  await Promise.race([receiving, deadline(5_000)]);
  const sent = report.sent ?? 0;
  figure(
    `sent ${n(sent)} in ${seconds(report.ms ?? 0)} = ${rate(sent, report.ms ?? 1)} (send errors ${report.failed ?? "?"}` +
      `${report.error ? `; ${report.error}` : ""}); received ${n(received)} (${n(receivedWhenSent)} when the sender finished, ` +
      `drained ${seconds(drainMs)} after it)`,
  );
  figure(
    `sock.drops ${drops === undefined ? "undefined" : n(drops)}; the kernel's count for the socket (/proc/net/udp) ${kernel ?? "unknown"}; ` +
      `received + drops = ${drops === undefined ? "?" : n(received + drops)} of ${n(sent)}; repeated ${repeated}, malformed ${strange}`,
  );
  checks.check(
    `${backend}: the sender sent every datagram`,
    !report.error && sent === COUNT,
    report.error ?? `${n(sent)} of ${n(COUNT)}`,
  );
  checks.check(
    `${backend}: the receiver was slower than the sender (some datagrams dropped)`,
    received < sent,
    `${n(received)} of ${n(sent)}`,
  );
  checks.check(
    `${backend}: no datagram received twice or malformed`,
    repeated === 0 && strange === 0,
    `${repeated} twice, ${strange} malformed`,
  );
  checks.check(`${backend}: sock.drops is a number (Linux can tell)`, typeof drops === "number", String(drops));
  checks.check(
    `${backend}: received + sock.drops = sent`,
    typeof drops === "number" && received + drops === sent,
    `${n(received)} + ${drops === undefined ? "undefined" : n(drops)} = ${drops === undefined ? "?" : n(received + drops)}, sent ${n(sent)}`,
  );
}

await eachBackend(flood);
checks.finish();
