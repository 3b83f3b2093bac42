// The idiomatic API of wsasendto in a few steps: open a socket, gather a header and a
// payload into one datagram, catch a WSAError, cancel with an AbortSignal, close.
//
//   node examples/idiomatic.mjs
//
// It starts its own receiver (plain node:dgram) on 127.0.0.1 and exits by itself.
import dgram from "node:dgram";
import { once } from "node:events";
import { openUdpSocket, WSAError } from "wsasendto";

// A receiver on loopback; a port of 0 lets the system pick a free one.
const receiver = dgram.createSocket("udp4");
receiver.bind(0, "127.0.0.1");
await once(receiver, "listening");
const to = { address: "127.0.0.1", port: receiver.address().port };

// 1. Open a socket (bound at once here; without `bind` it binds at its first send).
const sock = openUdpSocket({ family: "ipv4", bind: { address: "127.0.0.1", port: 0 } });
const local = sock.localAddress();
console.log(`socket on ${local.address}:${local.port} (${sock.backend} backend), receiver on ${to.address}:${to.port}`);

// 2. Gather: a 4-byte header (type, flags, payload length) and the payload go out as ONE
//    datagram, without concatenating them first.
const payload = Buffer.from("hello from wsasendto");
const header = Buffer.alloc(4);
header.writeUInt8(1, 0); // message type
header.writeUInt8(0, 1); // flags
header.writeUInt16BE(payload.length, 2);
const arrival = once(receiver, "message");
const result = await sock.sendTo([header, payload], to);
console.log(`sent ${result.bytesSent} bytes (completed synchronously: ${result.completedSynchronously})`);
const [msg, rinfo] = await arrival;
console.log(
  `received one datagram of ${msg.length} bytes from ${rinfo.address}:${rinfo.port}: ` +
    `type ${msg[0]}, length ${msg.readUInt16BE(2)}, "${msg.subarray(4).toString()}"`,
);

// 3. Errors are WSAErrors with Winsock's codes: 70000 bytes cannot be one UDP datagram.
//    Nothing is sent; the Promise rejects.
try {
  await sock.sendTo(Buffer.alloc(70_000), to);
} catch (err) {
  if (!(err instanceof WSAError)) throw err;
  console.log(`caught ${err.name}: code ${err.code}, errno ${err.errno}, syscall ${err.syscall}`);
}

// 4. An AbortSignal withdraws sends that have not reached the kernel yet: they reject with
//    WSA_OPERATION_ABORTED and are never sent. Sends already handed to the kernel complete.
//    Start a burst and abort it at once: the first ones are on their way (the dgram backend
//    hands up to 64 to node:dgram), the rest are still queued and are withdrawn.
let arrived = 0;
receiver.on("message", () => arrived++);
const controller = new AbortController();
const burst = [];
for (let i = 0; i < 100; i++) burst.push(sock.sendTo([header, payload], to, { signal: controller.signal }));
controller.abort(new Error("no longer needed"));
const outcomes = await Promise.allSettled(burst);
const sent = outcomes.filter((o) => o.status === "fulfilled").length;
const aborted = outcomes.filter((o) => o.status === "rejected" && o.reason.code === "WSA_OPERATION_ABORTED");
console.log(`burst of 100: ${sent} sent, ${aborted.length} aborted (cause: "${aborted[0]?.reason.cause?.message ?? "-"}")`);

// A signal that has already fired stops a send before it starts.
try {
  await sock.sendTo(payload, to, { signal: AbortSignal.abort() });
} catch (err) {
  console.log(`already-aborted signal: ${err.code}`);
}

// Give the sent datagrams a moment to arrive (loopback), then count them.
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(`the receiver got ${arrived} datagrams of the burst (sent: ${sent})`);

// 5. Close. Sends still pending would complete (sent, or aborted) exactly once.
sock.close();
receiver.close();
