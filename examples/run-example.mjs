// The project's main job (`pnpm example`): runs the documentation's example program, ported
// to the facade (wsasendto-example.mjs), against a receiver on loopback, and checks that its
// datagram arrived.
//
// 1. A plain node:dgram receiver binds 127.0.0.1, port 0 (the system picks a free port).
// 2. `node wsasendto-example.mjs 127.0.0.1 <port>` runs as a child process; its output is
//    echoed as it comes.
// 3. What arrived is printed: byte count, the first bytes as text, the sender's address.
//
// Exit code 0 when the example exited 0 and exactly one 1024-byte datagram starting with
// "Data buffer to send" arrived; 1 otherwise, also when nothing is over within 10 s.
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";

const TIMEOUT_MS = 10_000;
/** How long to wait for a late datagram after the example has exited (loopback: ample). */
const SETTLE_MS = 300;
const EXPECTED_SIZE = 1024;
const EXPECTED_PREFIX = "Data buffer to send";
const example = fileURLToPath(new URL("./wsasendto-example.mjs", import.meta.url));

/** The start of a datagram as text (controls shown as dots), and what follows it. */
function preview(bytes) {
  const text = Buffer.from(bytes).toString("latin1");
  const head = text.replace(/\0[\s\S]*$/, "").slice(0, 60);
  const rest = bytes.subarray(head.length);
  const tail =
    rest.length === 0 ? "" : rest.every((b) => b === 0) ? `, then ${rest.length} zero bytes` : `, then ${rest.length} more bytes`;
  return `${JSON.stringify(head.replace(/[^\x20-\x7e]/g, "."))}${tail}`;
}

const received = [];
const receiver = dgram.createSocket("udp4");
receiver.on("message", (msg, rinfo) => received.push({ msg, rinfo }));
await new Promise((resolve, reject) => {
  receiver.once("error", reject);
  receiver.bind(0, "127.0.0.1", () => {
    receiver.off("error", reject);
    resolve();
  });
});
receiver.on("error", (err) => console.error(`receiver error: ${err.message}`));
const { port } = receiver.address();
console.log(`[run-example] receiver listening on 127.0.0.1:${port}`);
console.log(`[run-example] running: node ${example} 127.0.0.1 ${port}`);
console.log("----- what the example printed (what was sent) -----");

const child = spawn(process.execPath, [example, "127.0.0.1", String(port)], {
  stdio: ["ignore", "pipe", "pipe"],
});
let printed = "";
child.stdout.on("data", (chunk) => {
  printed += chunk;
  process.stdout.write(chunk);
});
child.stderr.pipe(process.stderr);

let timer;
const timedOut = new Promise((resolve) => {
  timer = setTimeout(() => resolve("timeout"), TIMEOUT_MS);
});
const exited = new Promise((resolve) => {
  child.on("error", (err) => resolve({ error: err }));
  child.on("close", (code, signal) => resolve({ code, signal }));
});
const outcome = await Promise.race([exited, timedOut]);
if (outcome === "timeout") child.kill();
else await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
clearTimeout(timer);
receiver.close();

console.log("----- what arrived -----");
if (received.length === 0) console.log("nothing arrived");
for (const [i, { msg, rinfo }] of received.entries()) {
  console.log(`datagram ${i + 1}: ${msg.length} bytes from ${rinfo.address}:${rinfo.port}, starting ${preview(msg)}`);
}

// The example prints the port it is bound to; the receiver saw the sender's port.
const reported = /Sending datagram from IPv4 address = (\S+) port=(\d+)/.exec(printed);
if (reported && received.length > 0) {
  const seen = `${received[0].rinfo.address}:${received[0].rinfo.port}`;
  const same = seen === `${reported[1]}:${reported[2]}`;
  console.log(`sender ${seen} ${same ? "is" : "is NOT"} the address the example reported (${reported[1]}:${reported[2]})`);
}

const failures = [];
if (outcome === "timeout") failures.push(`the example did not finish within ${TIMEOUT_MS / 1000} s`);
else if (outcome.error) failures.push(`the example could not be started: ${outcome.error.message}`);
else if (outcome.code !== 0) failures.push(`the example exited with ${outcome.code ?? outcome.signal}`);
if (received.length !== 1) failures.push(`expected exactly 1 datagram, ${received.length} arrived`);
const first = received[0]?.msg;
if (first && first.length !== EXPECTED_SIZE) failures.push(`expected ${EXPECTED_SIZE} bytes, got ${first.length}`);
if (first && !first.toString("latin1").startsWith(EXPECTED_PREFIX))
  failures.push(`the datagram does not start with "${EXPECTED_PREFIX}"`);

console.log("-----");
if (failures.length === 0) {
  console.log(`[run-example] OK: one ${EXPECTED_SIZE}-byte datagram starting with "${EXPECTED_PREFIX}" arrived`);
  process.exitCode = 0;
} else {
  for (const f of failures) console.log(`[run-example] FAILED: ${f}`);
  process.exitCode = 1;
}
