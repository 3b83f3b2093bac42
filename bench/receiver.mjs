// The benchmark's receiver: a plain node:dgram socket on 127.0.0.1 that counts what
// arrives. throughput.mjs runs it as a child process (fork, with an IPC channel) so that
// draining the datagrams does not compete with the senders for the sender's event loop.
//
// Messages from the parent: { type: "count", id } -> { type: "count", id, datagrams, bytes, wrongSize }
//                           { type: "expect", size } (the datagram size to check from now on)
//                           { type: "exit" }
// To the parent, first:     { type: "ready", port, recvBufferSize }
import dgram from "node:dgram";

if (!process.send) {
  console.error("receiver.mjs is started by throughput.mjs (it needs an IPC channel)");
  process.exit(2);
}

const RECV_BUFFER_BYTES = 32 * 1024 * 1024; // the OS caps it (Linux: net.core.rmem_max)

let datagrams = 0;
let bytes = 0;
let wrongSize = 0;
let expectedSize = -1;

const socket = dgram.createSocket({ type: "udp4", recvBufferSize: RECV_BUFFER_BYTES });
socket.on("message", (msg) => {
  datagrams++;
  bytes += msg.length;
  if (expectedSize >= 0 && msg.length !== expectedSize) wrongSize++;
});
socket.on("error", (err) => {
  console.error(`receiver: ${err.message}`);
  process.exit(1);
});
socket.bind(0, "127.0.0.1", () => {
  let recvBufferSize = 0;
  try {
    recvBufferSize = socket.getRecvBufferSize();
  } catch {
    // Not available: report 0.
  }
  process.send({ type: "ready", port: socket.address().port, recvBufferSize });
});

process.on("message", (m) => {
  if (m?.type === "count") process.send({ type: "count", id: m.id, datagrams, bytes, wrongSize });
  else if (m?.type === "expect") expectedSize = m.size;
  else if (m?.type === "exit") {
    socket.close();
    process.disconnect();
  }
});
// The parent went away without saying so: stop too.
process.on("disconnect", () => {
  try {
    socket.close();
  } catch {
    // Already closed.
  }
});
