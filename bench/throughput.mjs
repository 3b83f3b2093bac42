// Throughput of gathered UDP sends on loopback: every backend of wsasendto side by side,
// next to raw node:dgram, and against the kernel's own limit (a C sender doing sendto,
// sendmsg, sendmmsg and UDP GSO), with a C receiver (recvmmsg) in a process of its own.
//
//   node bench/throughput.mjs [--quick] [--runs=N] [--duration=MS] [--warmup=MS] [--window=W]
//                             [--rows=a,b,...] [--shapes=64B/1,...] [--out=DIR]
//
// Nine shapes: 64-, 512- and 1400-byte datagrams gathered from 1, 4 or 16 buffers (the
// last buffer takes the rest when the count does not divide the size). Sixteen rows (see
// lib/rows.mjs): raw dgram, the facade and the idiomatic API on the dgram and native
// backends, sendBatch (sendmmsg), sendSegments (GSO), and the C sender's four modes.
// Every row and shape is measured once per run, in the same order, for --duration ms;
// --runs runs (after one warm-up run) give medians, min and max, and ratios taken run by
// run to raw dgram, to the row's C limit and to C sendmmsg of the same shape, and the
// targets (lib/report.mjs) are checked on them. Results: a table and the targets on the
// terminal, and throughput.{md,json,svg} in bench/results/ (bench/results/tmp/ with --quick).
import dgram from "node:dgram";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as ws from "wsasendto";
import { commandLine, machine } from "./lib/cli.mjs";
import { buildC, runCSender, startReceiver } from "./lib/procs.mjs";
import { progress } from "./lib/progress.mjs";
import {
  aggregate,
  evaluateTargets,
  markdown,
  RECEIVER_BUSY_LIMIT,
  svgChart,
  targetsText,
  terminalTable,
} from "./lib/report.mjs";
import { HARD_MARGIN_MS, ROWS } from "./lib/rows.mjs";

// ---------------------------------------------------------------------------------
// Options

const USAGE =
  "usage: node throughput.mjs [--quick] [--runs=N] [--duration=MS] [--warmup=MS] [--window=W] [--rows=a,b,...] [--shapes=64B/1,...] [--pace=US] [--out=DIR]";
const { args, quick, option, intOption, pick } = commandLine(
  ["--quick", "--runs=", "--duration=", "--warmup=", "--window=", "--rows=", "--shapes=", "--out=", "--pace="],
  USAGE,
);

const RUNS = intOption("runs", quick ? 2 : 7, 1, 50);
const DURATION_MS = intOption("duration", quick ? 20 : 200, 10, 10_000);
const WARMUP_MS = intOption("warmup", quick ? 0 : 50, 0, 10_000);
/** The gap between two equal readings of the receiver's count that ends a measurement. */
const SETTLE_MS = quick ? 5 : 10;
/** Sends in flight per row, and datagrams per sendBatch / sendmmsg call. */
const WINDOW = intOption("window", 64, 1, 64);
/** The receiver's pause between drains while datagrams keep coming (0: woken per datagram). */
const PACE_US = intOption("pace", 500, 0, 100_000);
const OUT_DIR = option("out", fileURLToPath(new URL(quick ? "./results/tmp/" : "./results/", import.meta.url)));
const DEST_ADDRESS = "127.0.0.1";
/** The most bytes one UDP datagram (and one GSO send) carries over IPv4. */
const MAX_UDP = 65_507;

const ALL_SHAPES = [];
for (const size of [64, 512, 1400]) {
  for (const buffers of [1, 4, 16]) {
    const each = Math.floor(size / buffers);
    const sizes = Array.from({ length: buffers }, (_, i) => (i < buffers - 1 ? each : size - each * (buffers - 1)));
    const gsoSegments = Math.min(64, Math.floor(MAX_UDP / size));
    const split = sizes.every((s) => s === each) ? `${buffers} x ${each}` : `${buffers - 1} x ${each} + ${sizes.at(-1)}`;
    ALL_SHAPES.push({
      name: `${size}B/${buffers}`,
      title: `${size}-byte datagrams from ${buffers} buffer${buffers > 1 ? "s" : ""} (${split} bytes; GSO: ${gsoSegments} per send)`,
      size,
      buffers,
      sizes,
      gsoSegments,
    });
  }
}

// ---------------------------------------------------------------------------------
// The machine

// ---------------------------------------------------------------------------------
// Main

async function main() {
  let rows = pick(ROWS, "rows", "rows");
  const shapes = pick(ALL_SHAPES, "shapes", "shapes");
  const notes = [];
  const failures = [];

  const c = buildC();
  const native = ws.selectBackend("native");
  if (typeof native === "string") {
    notes.push(`native rows left out: ${native}`);
    rows = rows.filter((r) => r.backend !== "native");
  }

  // The facade reads the backend at WSAStartup: dgram; native sockets come from
  // WSASocket(..., { szProtocol: "native" }, ...), the provider of that one socket.
  process.env.WSASENDTO_BACKEND = "dgram";
  const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
  if (rc !== 0) throw new Error(`WSAStartup failed: ${rc}`);
  const expectedSeconds = Math.ceil(((RUNS * DURATION_MS + WARMUP_MS) * rows.length * shapes.length) / 1000);
  const receiver = await startReceiver(c.receiver, { maxSeconds: Math.max(60, 3 * expectedSeconds + 120), paceUs: PACE_US });
  const cleanups = [() => receiver.stop(), () => ws.WSACleanup()];
  try {
    const { port } = receiver;
    const to = { sin_family: ws.AF_INET, sin_port: ws.htons(port), sin_addr: { s_addr: ws.inet_addr(DEST_ADDRESS) } };
    const toAddress = { address: DEST_ADDRESS, port };

    // UDP GSO: the C sender tells whether the kernel takes UDP_SEGMENT on this route.
    if (rows.some((r) => r.gso)) {
      const probe = await runCSender(c.sender, {
        mode: "gso",
        port,
        durationMs: 5,
        maxDatagrams: 2,
        batch: 2,
        sizes: [64],
      }).catch((e) => ({ sent: 0, errors: 1, firstErrno: e.message }));
      if (probe.sent === 0 || probe.errors > 0) {
        notes.push(`GSO rows left out: the kernel refused UDP_SEGMENT (${probe.firstErrno})`);
        rows = rows.filter((r) => !r.gso);
      }
      await receiver.settled();
    }

    // One sending socket per row and shape, bound to 127.0.0.1 before measuring.
    const contexts = new Map();
    for (const shape of shapes) {
      const list = shape.sizes.map((n, i) => Buffer.alloc(n, 0x41 + i));
      const base = {
        list,
        concat: Buffer.concat(list),
        wsabufs: list.map((buf) => ({ len: buf.length, buf })),
        sizes: shape.sizes,
        bytes: shape.size,
        gsoSegments: shape.gsoSegments,
        port,
        to,
        tolen: ws.sizeof(to),
        toAddress,
        cSender: c.sender,
      };
      for (const row of rows) {
        const ctx = { ...base };
        if (row.kind === "dgram") {
          const socket = dgram.createSocket("udp4");
          await new Promise((resolve, reject) => {
            socket.once("error", reject);
            socket.bind(0, DEST_ADDRESS, resolve);
          });
          ctx.socket = socket;
          cleanups.push(() => socket.close());
        } else if (row.kind === "facade") {
          const provider = { szProtocol: row.backend };
          const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, provider, 0, ws.WSA_FLAG_OVERLAPPED);
          const local = { sin_family: ws.AF_INET, sin_port: 0, sin_addr: { s_addr: ws.inet_addr(DEST_ADDRESS) } };
          if (s === ws.INVALID_SOCKET || ws.bind(s, local, ws.sizeof(local)) !== 0) {
            throw new Error(`WSASocket/bind (${row.backend}) failed: ${ws.WSAGetLastError()}`);
          }
          ctx.s = s;
          cleanups.push(() => ws.closesocket(s));
        } else if (row.kind === "udpsocket") {
          ctx.sock = ws.openUdpSocket({ family: "ipv4", bind: { address: DEST_ADDRESS, port: 0 }, backend: row.backend });
          cleanups.push(() => ctx.sock.close());
        }
        contexts.set(`${row.name}/${shape.name}`, ctx);
      }
    }

    const m = machine();
    console.log(
      `throughput: ${rows.length} rows x ${shapes.length} shapes, ${RUNS} runs of ${DURATION_MS} ms (warm-up ${WARMUP_MS} ms), ` +
        `window ${WINDOW}, to ${DEST_ADDRESS}:${port}`,
    );
    console.log(
      `${m.cpuModel}, ${m.cores} cores, ${m.os}, kernel ${m.kernel}, node ${m.node}; receiver SO_RCVBUF ${receiver.rcvbuf} ` +
        `(${receiver.forced ? "SO_RCVBUFFORCE" : "SO_RCVBUF"}); ${c.compiler}`,
    );

    const runs = (WARMUP_MS > 0 ? 1 : 0) + RUNS;
    const bar = progress(runs * shapes.length * rows.length);
    const samples = new Map(); // "row/shape" -> one sample per run
    const started = Date.now();
    for (let run = WARMUP_MS > 0 ? 0 : 1; run <= RUNS; run++) {
      const warmup = run === 0;
      for (const shape of shapes) {
        // Nothing of the previous shape may still be on its way when the size to check changes.
        await receiver.settled(50);
        await receiver.expect(shape.size);
        for (const row of rows) {
          const key = `${row.name}/${shape.name}`;
          const before = await receiver.count();
          let result;
          try {
            result = await row.run(contexts.get(key), warmup ? WARMUP_MS : DURATION_MS, WINDOW);
          } catch (err) {
            result = {
              sent: 0,
              bytes: 0,
              failed: 1,
              firstError: String(err?.message ?? err),
              elapsedMs: 1,
              cpuUs: 0,
              latenciesMs: [],
            };
          }
          const ended = await receiver.count();
          const after = await receiver.settled(SETTLE_MS);
          const where = `${key}${warmup ? " (warm-up)" : ` (run ${run})`}`;
          if (result.failed > 0) failures.push(`${where}: ${result.failed} sends failed, first: ${result.firstError}`);
          else if (result.sent === 0) failures.push(`${where}: nothing was sent`);
          if (after.wrong > before.wrong)
            failures.push(`${where}: ${after.wrong - before.wrong} datagrams of the wrong size arrived`);
          bar.step(`${warmup ? "warm-up" : `run ${run}/${RUNS}`} ${shape.name} ${row.name}`);
          if (warmup) continue;
          const wall = ended.atUs - before.atUs;
          const { latenciesMs, ...counts } = result;
          const sorted = Float64Array.from(latenciesMs).sort();
          const sample = {
            run,
            ...counts,
            latency:
              sorted.length > 0
                ? {
                    samples: sorted.length,
                    p50Ms: sorted[sorted.length >> 1],
                    p99Ms: sorted[Math.ceil(0.99 * sorted.length) - 1],
                  }
                : null,
            latenciesMs,
            received: after.datagrams - before.datagrams,
            receivedBytes: after.bytes - before.bytes,
            drops: after.drops - before.drops,
            wrong: after.wrong - before.wrong,
            receiverBusy: wall > 0 ? (ended.cpuUs - before.cpuUs) / wall : 0,
            receivedAfterEnd: after.datagrams - ended.datagrams,
          };
          if (!samples.has(key)) samples.set(key, []);
          samples.get(key).push(sample);
        }
      }
      bar.note(warmup ? "warm-up run done" : `run ${run}/${RUNS} done`);
    }
    bar.end();

    const results = aggregate(rows, shapes, samples);
    // Every run goes to the JSON file, its latency samples summarised (p50, p99).
    for (const list of samples.values()) for (const s of list) delete s.latenciesMs;
    const targets = evaluateTargets(results, shapes);
    const bound = results.filter((r) => r.receiver.boundRuns > 0);
    if (bound.length > 0) {
      notes.push(
        `the receiver may have been the bottleneck (it dropped datagrams, or was busier than ${100 * RECEIVER_BUSY_LIMIT} % ` +
          `of a core while the sender ran) in ${bound.reduce((a, r) => a + r.receiver.boundRuns, 0)} measurements: ` +
          bound.map((r) => `${r.row} ${r.shape} (${r.receiver.boundRuns}/${r.runs})`).join(", "),
      );
    } else {
      notes.push(
        `the receiver was never the bottleneck: no drops, and at most ${Math.round(
          100 * Math.max(...results.map((r) => r.receiver.busyMax)),
        )} % of a core busy in any measurement`,
      );
    }
    const lost = results.filter((r) => r.lossPercent > 0.05);
    if (lost.length > 0) {
      notes.push(
        `datagrams lost (sent, never received): ${lost.map((r) => `${r.row} ${r.shape} ${r.lossPercent.toFixed(1)} %`).join(", ")}`,
      );
    }

    console.log(terminalTable(results, shapes));
    console.log("");
    console.log(
      "x raw-dgram / x C limit: median over the runs of (row / reference in the same run); the C limit of single sends is",
    );
    console.log(
      "C sendmsg (node:dgram's) or C sendmmsg (the native backend's, which coalesce), of sendBatch C sendmmsg, of sendSegments C GSO in bytes/s.",
    );
    console.log("rx busy: receiver CPU while sending (!: maybe the bottleneck).");
    console.log("");
    console.log(targetsText(targets));
    for (const n of notes) console.log(`note: ${n}`);

    const command = `node bench/throughput.mjs${args.length > 0 ? ` ${args.join(" ")}` : ""}`;
    const report = {
      benchmark: "throughput",
      generatedAt: new Date().toISOString(),
      command,
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
      machine: { ...m, compiler: c.compiler },
      config: {
        runs: RUNS,
        durationMs: DURATION_MS,
        warmupMs: WARMUP_MS,
        window: WINDOW,
        hardMarginMs: HARD_MARGIN_MS,
        cflags: c.cflags,
        destination: `${DEST_ADDRESS}:${port}`,
        receiver: {
          port,
          rcvbuf: receiver.rcvbuf,
          forced: receiver.forced,
          paceUs: receiver.paceUs,
          busyLimit: RECEIVER_BUSY_LIMIT,
        },
        facadeBackend: ws.backendName(),
      },
      shapes,
      rows: rows.map(({ run: _run, ...r }) => r),
      targets,
      results,
      notes,
      failures,
    };
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, "throughput.json"), `${JSON.stringify(report, null, 1)}\n`);
    writeFileSync(join(OUT_DIR, "throughput.svg"), svgChart(report));
    writeFileSync(join(OUT_DIR, "throughput.md"), markdown(report, "throughput.svg"));
    console.log(`results: ${relative(process.cwd(), OUT_DIR) || "."}/throughput.{md,json,svg}`);

    if (failures.length > 0) {
      for (const f of failures.slice(0, 20)) console.error(`FAILED: ${f}`);
      if (failures.length > 20) console.error(`FAILED: ... and ${failures.length - 20} more`);
      return 1;
    }
    if (results.every((r) => r.received === 0)) {
      console.error("FAILED: the receiver counted no datagrams");
      return 1;
    }
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Best effort: the process is about to exit.
      }
    }
  }
}

// A last bound on the whole run, whatever happens inside it.
const budgetMs = (RUNS + 1) * ROWS.length * ALL_SHAPES.length * (DURATION_MS + 3_000) + 60_000;
const watchdog = setTimeout(() => {
  console.error(`throughput: the run did not finish within ${budgetMs} ms`);
  process.exit(1);
}, budgetMs);
watchdog.unref();

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`throughput: ${err?.stack ?? err}`);
  process.exitCode = 1;
}
