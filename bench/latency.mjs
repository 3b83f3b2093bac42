// Round-trip latency on loopback: a request and its echo, one at a time, for raw
// node:dgram and for each backend through the facade (WSASendTo, then WSARecvFrom) and
// through the idiomatic API (sendTo, then receive). The echo is a plain node:dgram socket
// in a child process of its own, the same for every row.
//
//   node bench/latency.mjs [--quick] [--runs=N] [--trips=N] [--out=DIR]
//
// Rows are interleaved (A B C A B C ...) over the runs, so that the machine's drift hits
// every row alike; p50 and p99 are over every round trip of a row, and each row's p50 is
// also a ratio to raw dgram's p50 from the same run (the median of these per-run ratios is
// what the target, <= 1.0x, is checked on). Results: bench/results/latency.{md,json}
// (bench/results/tmp/ with --quick).
import { fork } from "node:child_process";
import dgram from "node:dgram";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as ws from "wsasendto";
import { median, spread } from "./lib/format.mjs";
import { evaluateTargets, targetsMarkdown, targetsText } from "./lib/targets.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => a !== "--");
const option = (name, fallback) => {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : fallback;
};
const QUICK = args.includes("--quick");
const RUNS = option("runs", QUICK ? 2 : 5);
const TRIPS = option("trips", QUICK ? 100 : 1000);
const OUT = args.find((a) => a.startsWith("--out="))?.slice(6) ?? join(here, "results", QUICK ? "tmp" : "");
const PAYLOAD = Buffer.alloc(64, 0x61);
const TIMEOUT_MS = 2000;
/** The one shape: the targets' tables have a column per shape. */
const SHAPE = { name: "64B/1", title: "64-byte requests and echoes" };

/** Issue 10: a round trip through the library takes no longer than through raw node:dgram. */
export const LATENCY_TARGETS = [
  {
    name: "round-trip p50",
    rows: ["dgram/facade", "dgram/udpsocket", "native/facade", "native/udpsocket"],
    ref: "raw-dgram",
    versus: "raw-dgram p50",
    ratio: "p50VsRawDgram",
    max: 1.0,
  },
];

// The echo: a child process that sends every datagram back to its sender.
if (process.argv.includes("--echo")) {
  const echo = dgram.createSocket("udp4");
  echo.on("message", (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  echo.bind(0, "127.0.0.1", () => process.send?.({ port: echo.address().port }));
  process.on("disconnect", () => process.exit(0));
  setTimeout(() => process.exit(0), 10 * 60_000).unref();
} else {
  await main();
}

function timeout(ms, what) {
  let timer;
  const p = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no echo within ${ms} ms`)), ms);
  });
  return { p, cancel: () => clearTimeout(timer) };
}

async function rawDgram(port) {
  const sock = dgram.createSocket("udp4");
  await new Promise((resolve) => sock.bind(0, "127.0.0.1", resolve));
  let waiting = null;
  sock.on("message", () => waiting?.());
  return {
    async trip() {
      const t = timeout(TIMEOUT_MS, "raw dgram");
      const got = new Promise((resolve) => {
        waiting = resolve;
      });
      sock.send(PAYLOAD, port, "127.0.0.1");
      await Promise.race([got, t.p]);
      t.cancel();
    },
    close: () => sock.close(),
  };
}

async function facade(port, backend) {
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, { szProtocol: backend }, 0, ws.WSA_FLAG_OVERLAPPED);
  const local = { sin_family: ws.AF_INET, sin_port: 0, sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
  if (s === ws.INVALID_SOCKET || ws.bind(s, local, ws.sizeof(local)) !== 0) throw new Error(`socket: ${ws.WSAGetLastError()}`);
  const to = { sin_family: ws.AF_INET, sin_port: ws.htons(port), sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
  const out = [{ len: PAYLOAD.length, buf: PAYLOAD }];
  const reply = Buffer.alloc(1500);
  const into = [{ len: reply.length, buf: reply }];
  const sent = { value: 0 };
  const got = { value: 0 };
  return {
    async trip() {
      const t = timeout(TIMEOUT_MS, `facade ${backend}`);
      const receiving = ws.WSARecvFrom(s, into, 1, got, { value: 0 }, null, null, null, null);
      if ((await ws.WSASendTo(s, out, 1, sent, 0, to, ws.sizeof(to), null, null)) !== 0) throw new Error("WSASendTo failed");
      const rc = await Promise.race([receiving, t.p]);
      t.cancel();
      if (rc !== 0) throw new Error(`WSARecvFrom: ${ws.WSAGetLastError()}`);
    },
    close: () => ws.closesocket(s),
  };
}

async function idiomatic(port, backend) {
  const sock = ws.openUdpSocket({ backend, bind: { address: "127.0.0.1", port: 0 } });
  const to = { address: "127.0.0.1", port };
  const reply = Buffer.alloc(1500);
  return {
    async trip() {
      const t = timeout(TIMEOUT_MS, `udpsocket ${backend}`);
      const receiving = sock.receive(reply);
      await sock.sendTo(PAYLOAD, to);
      await Promise.race([receiving, t.p]);
      t.cancel();
    },
    close: () => sock.close(),
  };
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function main() {
  const child = fork(fileURLToPath(import.meta.url), ["--echo"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port } = await new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("exit", () => reject(new Error("the echo process ended")));
  });
  process.env.WSASENDTO_BACKEND = "dgram";
  if (ws.WSAStartup(ws.MAKEWORD(2, 2), {}) !== 0) throw new Error("WSAStartup failed");
  const backends = ["dgram"];
  const native = ws.selectBackend("native");
  if (typeof native === "string") console.log(`native rows left out: ${native}`);
  else backends.push("native");
  const rows = [{ name: "raw-dgram", open: () => rawDgram(port) }];
  for (const b of backends) {
    rows.push({ name: `${b}/facade`, open: () => facade(port, b) });
    rows.push({ name: `${b}/udpsocket`, open: () => idiomatic(port, b) });
  }
  const opened = [];
  for (const row of rows) opened.push({ ...row, client: await row.open(), samples: [], perRun: [] });
  console.log(
    `latency: ${rows.length} rows, ${RUNS} runs of ${TRIPS} round trips each, 64-byte datagrams, echo on 127.0.0.1:${port}`,
  );
  try {
    for (const row of opened) for (let i = 0; i < 20; i++) await row.client.trip(); // warm-up
    for (let run = 0; run < RUNS; run++) {
      for (const row of opened) {
        const times = [];
        for (let i = 0; i < TRIPS; i++) {
          const t0 = performance.now();
          await row.client.trip();
          times.push((performance.now() - t0) * 1000);
        }
        row.samples.push(...times);
        row.perRun.push(times.sort((a, b) => a - b)[Math.floor(times.length / 2)]);
      }
      console.log(`run ${run + 1}/${RUNS} done`);
    }
  } finally {
    for (const row of opened) row.client.close();
    ws.WSACleanup();
    child.disconnect();
  }
  const base = opened[0];
  const results = opened.map((row) => {
    const sorted = [...row.samples].sort((a, b) => a - b);
    const ratios = row.perRun.map((m, i) => m / (base?.perRun[i] ?? m));
    return {
      row: row.name,
      shape: SHAPE.name,
      trips: sorted.length,
      p50us: quantile(sorted, 0.5),
      p99us: quantile(sorted, 0.99),
      p50PerRunUs: row.perRun,
      // The median over the runs of (this row's p50 / raw dgram's p50 in the same run).
      p50VsRawDgram: median(ratios),
      p50VsRawDgramSpread: spread(ratios),
    };
  });
  const targets = evaluateTargets(LATENCY_TARGETS, results, [SHAPE]);
  const fmt = (n) => n.toFixed(1);
  const range = (r) => `${r.median.toFixed(2)}× (${r.min.toFixed(2)}-${r.max.toFixed(2)})`;
  const lines = [
    "| row | round trips | p50 (µs) | p99 (µs) | p50 × raw dgram (median of per-run ratios, min-max) |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...results.map((r) => `| ${r.row} | ${r.trips} | ${fmt(r.p50us)} | ${fmt(r.p99us)} | ${range(r.p50VsRawDgramSpread)} |`),
  ];
  console.log(`\n${lines.join("\n")}\n`);
  console.log(`${targetsText(targets)}\n`);
  const machine = `${os.cpus()[0]?.model ?? "cpu"}, ${os.cpus().length} cores, ${os.platform()} ${os.release()}, Node.js ${process.version}`;
  const generatedAt = new Date().toISOString();
  mkdirSync(OUT, { recursive: true });
  writeFileSync(
    join(OUT, "latency.md"),
    `# Round-trip latency on loopback\n\n${generatedAt.slice(0, 10)}, ${machine}. ` +
      `${RUNS} runs of ${TRIPS} round trips per row, interleaved; 64-byte requests to an echo (node:dgram) in another process.\n\n` +
      `${lines.join("\n")}\n\n## Target\n\nThe cell: the median over the runs of (row's p50 / raw dgram's p50 in the same run); ` +
      "✗: above the target. A miss is reported, not a failure.\n\n" +
      `${targetsMarkdown(targets)}\n`,
  );
  writeFileSync(
    join(OUT, "latency.json"),
    `${JSON.stringify({ benchmark: "latency", generatedAt, machine, runs: RUNS, trips: TRIPS, targets, results }, null, 2)}\n`,
  );
  console.log(`results written to ${join(OUT, "latency.md")}`);
}
