// The JavaScript that sendBatch and sendSegments cost per datagram, around the system call.
//
// Each shape runs two loops on loopback, interleaved round by round: the bare addon call
// (`binding.sendBatch` / `binding.sendSegments` with arguments built once, the least any
// caller can pay) and the idiomatic call (`await sock.sendBatch(...)` /
// `await sock.sendSegments(...)`, everything from the API down to the same addon call).
// Both make the same system calls to the same receiver (an addon socket that is never
// read, so the kernel drops what overflows it, in both loops alike); the difference of
// their medians is what the JavaScript costs per datagram.
//
//   node bench/micro-batch.mjs [--rounds=15] [--ms=100] [--batch=64] [--shapes=64B/1,64B/16,1400B/16]
import { performance } from "node:perf_hooks";
import * as ws from "wsasendto";
import { loadBinding } from "../packages/native/dist/index.js";

const opt = (name, fallback) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
};
const rounds = Number(opt("rounds", "15"));
const ms = Number(opt("ms", "100"));
const batch = Number(opt("batch", "64"));
const shapes = opt("shapes", "64B/1,64B/16,1400B/16").split(",");

const b = loadBinding();
if (typeof b === "string" || !b.sendBatch) {
  console.log(`micro-batch: needs the native addon's sendBatch (${typeof b === "string" ? b : "not on this platform"})`);
  process.exit(0);
}
const LOOPBACK = new Uint8Array([127, 0, 0, 1]);
const rx = b.open(4);
b.bind(rx, 4, LOOPBACK, 0);
const port = b.localAddress(rx, 4, new Uint8Array(16));
const to = { address: "127.0.0.1", port };
const bare = b.open(4);
b.bind(bare, 4, LOOPBACK, 0);
const sock = ws.openUdpSocket({ backend: "native" });

/** The shape's buffers: `size` bytes from `count` buffers, the last taking the rest. */
function buffersOf(shape) {
  const [size, count] = shape.split("B/").map(Number);
  const each = Math.floor(size / count);
  return Array.from({ length: count }, (_, i) => Buffer.alloc(i === count - 1 ? size - each * (count - 1) : each, 65 + i));
}

/** Runs `call` (which sends `perCall` datagrams) for `ms`; ns per datagram. */
async function time(call, perCall) {
  let calls = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  let now = t0;
  while (now < end) {
    for (let i = 0; i < 16; i++) await call();
    calls += 16;
    now = performance.now();
  }
  return ((now - t0) * 1e6) / (calls * perCall);
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function check(rc, what) {
  if (rc < 0) throw new Error(`${what} failed: ${rc}`);
}

/** The bare addon calls of a shape, arguments built once. */
function bareCalls(list, segments) {
  const views = Array.from({ length: batch }, () => list).flat();
  const desc = new Uint32Array(1 + 3 * batch);
  desc[0] = batch;
  for (let i = 0; i < batch; i++) desc.set([list.length, port, 0], 1 + 3 * i);
  const addrs = new Uint8Array(16);
  addrs.set(LOOPBACK);
  const gso = Array.from({ length: segments }, () => list).flat();
  const size = list.reduce((n, v) => n + v.length, 0);
  return {
    batch: () => check(b.sendBatch(bare, 4, desc, addrs, 0, ...views), "sendBatch"),
    segments: () => check(b.sendSegments(bare, 4, LOOPBACK, port, size, 0, ...gso), "sendSegments"),
  };
}

console.log(`micro-batch: ${rounds} rounds of ${ms} ms per loop, ${batch} datagrams per sendBatch; ns per datagram (median)`);
console.log("shape     | bare sendBatch | sock.sendBatch | JS/dg | bare sendSegments | sock.sendSegments | JS/dg");
for (const shape of shapes) {
  const list = buffersOf(shape);
  const size = list.reduce((n, v) => n + v.length, 0);
  const segments = Math.min(64, Math.floor(65507 / size));
  const bareCall = bareCalls(list, segments);
  const datagrams = Array.from({ length: batch }, () => ({ buffers: list, to }));
  const gsoViews = Array.from({ length: segments }, () => list).flat();
  const loops = {
    bareBatch: [bareCall.batch, batch],
    sockBatch: [
      async () => {
        const r = await sock.sendBatch(datagrams);
        if (r.datagramsSent !== batch) throw new Error(`sendBatch: ${r.datagramsSent} of ${batch}`);
      },
      batch,
    ],
    bareSegments: [bareCall.segments, segments],
    sockSegments: [
      async () => {
        const r = await sock.sendSegments(gsoViews, size, to);
        if (!r.gso) throw new Error("sendSegments did not use GSO");
      },
      segments,
    ],
  };
  const ns = Object.fromEntries(Object.keys(loops).map((k) => [k, []]));
  for (let r = -1; r < rounds; r++) {
    for (const [name, [call, perCall]] of Object.entries(loops)) {
      const t = await time(call, perCall);
      if (r >= 0) ns[name].push(t);
    }
  }
  const m = Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, median(v)]));
  const diff = (a, c) => median(ns[a].map((x, i) => x - ns[c][i]));
  const f = (x) => x.toFixed(0).padStart(5);
  console.log(
    `${shape.padEnd(9)} | ${f(m.bareBatch).padStart(14)} | ${f(m.sockBatch).padStart(14)} | ${f(diff("sockBatch", "bareBatch"))} | ` +
      `${f(m.bareSegments).padStart(17)} | ${f(m.sockSegments).padStart(17)} | ${f(diff("sockSegments", "bareSegments"))}`,
  );
}
sock.close();
b.close(bare);
b.close(rx);
