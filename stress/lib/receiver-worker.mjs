// A receiver on its own thread (so it does not take the sender's event loop): a plain
// node:dgram socket on 127.0.0.1:0 with a big SO_RCVBUF. Each datagram carries its id in
// its first 4 bytes; arrivals are counted per id in shared memory that the sender reads.
//
// workerData: { perId: SharedArrayBuffer (one byte per id), totals: SharedArrayBuffer
// (Int32 [arrivals, unknown ids, repeated ids]), recvBufferSize }.
// Posts { port } once bound; closes on the message "close".
import dgram from "node:dgram";
import { parentPort, workerData } from "node:worker_threads";

const perId = new Uint8Array(workerData.perId);
const totals = new Int32Array(workerData.totals);
const socket = dgram.createSocket({ type: "udp4", recvBufferSize: workerData.recvBufferSize });
socket.on("message", (msg) => {
  Atomics.add(totals, 0, 1);
  const id = msg.length >= 4 ? msg.readUInt32LE(0) : -1;
  if (id < 0 || id >= perId.length) {
    Atomics.add(totals, 1, 1);
    return;
  }
  if (perId[id] > 0) Atomics.add(totals, 2, 1);
  if (perId[id] < 255) perId[id]++;
});
socket.bind(0, "127.0.0.1", () => {
  parentPort.postMessage({ port: socket.address().port, rcvbuf: socket.getRecvBufferSize() });
});
parentPort.on("message", (m) => {
  if (m === "close") socket.close(() => parentPort.close());
});
