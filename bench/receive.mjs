// Receive throughput on loopback: a C sender floods one receiver of each kind in turn (raw
// node:dgram, the facade's overlapped WSARecvFrom with events and with completion routines,
// the idiomatic receive() and datagrams(), on both backends, and C recvmsg / recvmmsg as
// the limits), and each receiver's own rate is measured, with what was lost on the way.
//
//   node bench/receive.mjs [--quick] [--runs=N] [--duration=MS] [--warmup=MS] [--window=W]
//                          [--rows=a,b,...] [--shapes=64B/1,...] [--rate=DG_PER_S]
//                          [--rcvbuf=BYTES] [--idle=MS] [--out=DIR]
//
// Shapes: 64-, 512- and 1400-byte datagrams, each receive scattering them over 1, 4 or 16
// buffers (the send benchmark's shapes). Every row and shape is measured once per run, in
// the same order; ratios to C recvmmsg and to raw dgram are taken run by run. Results: a
// table on the terminal, and receive.{md,json,svg} in bench/results/ (bench/results/tmp/
// with --quick).
import dgram from "node:dgram";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import * as ws from "wsasendto";
import { commandLine, machine } from "./lib/cli.mjs";
import { buildC, runCSender } from "./lib/procs.mjs";
import { progress } from "./lib/progress.mjs";
import { aggregate, evaluateTargets, markdown, svgChart, targetsText, terminalTable } from "./lib/receive-report.mjs";
import { floodOf, HARD_MARGIN_MS, measure, RX_ROWS } from "./lib/receive-rows.mjs";

// ---------------------------------------------------------------------------------
// Options

const USAGE =
  "usage: node receive.mjs [--quick] [--runs=N] [--duration=MS] [--warmup=MS] [--window=W] [--rows=a,b,...] " +
  "[--shapes=64B/1,...] [--rate=DG_PER_S] [--rcvbuf=BYTES] [--idle=MS] [--out=DIR]";
const { args, quick, option, intOption, pick } = commandLine(
  [
    "--quick",
    "--runs=",
    "--duration=",
    "--warmup=",
    "--window=",
    "--rows=",
    "--shapes=",
    "--rate=",
    "--rcvbuf=",
    "--idle=",
    "--out=",
  ],
  USAGE,
);

const RUNS = intOption("runs", quick ? 1 : 7, 1, 50);
const DURATION_MS = intOption("duration", quick ? 30 : 200, 10, 10_000);
const WARMUP_MS = intOption("warmup", quick ? 0 : 30, 0, 10_000);
/** Receives posted per facade row, async loops of the receive() row, datagrams per recvmmsg. */
const WINDOW = intOption("window", 64, 1, 1024);
/** The flood's datagrams/s (0: as fast as the C sender goes). */
const RATE = intOption("rate", 0, 0, 100_000_000);
/** SO_RCVBUF asked for on every receiving socket (the kernel doubles it; net.core.rmem_max caps it). */
const RCVBUF = intOption("rcvbuf", 1 << 20, 0, 1 << 30);
/** A receiver that got nothing for this long after the flood ended is done. */
const IDLE_MS = intOption("idle", quick ? 10 : 20, 2, 1_000);
const OUT_DIR = option("out", fileURLToPath(new URL(quick ? "./results/tmp/" : "./results/", import.meta.url)));

const ALL_SHAPES = [];
for (const size of [64, 512, 1400]) {
  for (const buffers of [1, 4, 16]) {
    const each = Math.floor(size / buffers);
    const sizes = Array.from({ length: buffers }, (_, i) => (i < buffers - 1 ? each : size - each * (buffers - 1)));
    const split = sizes.every((s) => s === each) ? `${buffers} x ${each}` : `${buffers - 1} x ${each} + ${sizes.at(-1)}`;
    ALL_SHAPES.push({
      name: `${size}B/${buffers}`,
      title: `${size}-byte datagrams, each receive scattering over ${buffers} buffer${buffers > 1 ? "s" : ""} (${split} bytes)`,
      size,
      buffers,
      sizes,
    });
  }
}
/** --quick: one shape per size, one run: a smoke test of every row. */
const QUICK_SHAPES = ["64B/1", "512B/4", "1400B/16"];

/** The machine's CPU time so far (/proc/stat, in clock ticks): { busy, total }; null where unknown. */
function machineCpu() {
  try {
    const f = readFileSync("/proc/stat", "latin1").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return null;
  }
}

/**
 * A full garbage collection between measurements (outside them), so that one row's garbage
 * (dgram and datagrams() allocate a Buffer per datagram) is not collected during the next.
 */
v8.setFlagsFromString("--expose-gc");
const collect = vm.runInNewContext("gc");

/** Whether the kernel takes UDP_SEGMENT from the C sender on loopback (a two-datagram send to a throwaway socket). */
async function gsoWorks(sender) {
  const socket = dgram.createSocket("udp4");
  await new Promise((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    const r = await runCSender(sender, {
      mode: "gso",
      port: socket.address().port,
      durationMs: 5,
      maxDatagrams: 2,
      batch: 2,
      sizes: [64],
    });
    return r.sent > 0 && r.errors === 0 ? true : `errno ${r.firstErrno}`;
  } catch (e) {
    return e.message;
  } finally {
    socket.close();
  }
}

// ---------------------------------------------------------------------------------
// Main

async function main() {
  let rows = pick(RX_ROWS, "rows", "rows");
  const shapes = pick(ALL_SHAPES, "shapes", "shapes", quick ? QUICK_SHAPES : undefined);
  const notes = [];
  const failures = [];
  const c = buildC();

  const native = ws.selectBackend("native");
  if (typeof native === "string") {
    notes.push(`native rows left out: ${native}`);
    rows = rows.filter((r) => r.backend !== "native");
  }
  const gso = await gsoWorks(c.sender);
  if (gso !== true) notes.push(`the flood uses sendmmsg: the kernel refused UDP_SEGMENT (${gso})`);
  const flood = floodOf({ size: 1400 }, gso === true, WINDOW);

  // The facade reads the backend at WSAStartup; each socket names its provider.
  process.env.WSASENDTO_BACKEND = "dgram";
  const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
  if (rc !== 0) throw new Error(`WSAStartup failed: ${rc}`);
  try {
    const m = machine();
    console.log(
      `receive: ${rows.length} rows x ${shapes.length} shapes, ${RUNS} runs of ${DURATION_MS} ms floods (warm-up ${WARMUP_MS} ms), ` +
        `window ${WINDOW}, SO_RCVBUF ${RCVBUF} asked; flood: ${gso === true ? "UDP GSO" : "sendmmsg"}, ${
          RATE > 0 ? `${RATE} dg/s` : "as fast as it goes"
        }`,
    );
    console.log(`${m.cpuModel}, ${m.cores} cores, ${m.os}, kernel ${m.kernel}, node ${m.node}; ${c.compiler}`);

    const runs = (WARMUP_MS > 0 ? 1 : 0) + RUNS;
    const bar = progress(runs * shapes.length * rows.length);
    const samples = new Map();
    const rcvbufs = new Map();
    const started = Date.now();
    const machine0 = machineCpu();
    const self0 = process.cpuUsage();
    let childrenUs = 0;
    for (let run = WARMUP_MS > 0 ? 0 : 1; run <= RUNS; run++) {
      const warmup = run === 0;
      for (const shape of shapes) {
        for (const row of rows) {
          const key = `${row.name}/${shape.name}`;
          const where = `${key}${warmup ? " (warm-up)" : ` (run ${run})`}`;
          let result;
          collect();
          try {
            result = await measure(row, shape, {
              durationMs: warmup ? WARMUP_MS : DURATION_MS,
              window: WINDOW,
              rate: RATE,
              rcvbuf: RCVBUF,
              idleMs: IDLE_MS,
              backend: row.backend,
              flood: floodOf(shape, gso === true, WINDOW),
              cSender: c.sender,
              cReceiver: c.receiver,
            });
          } catch (err) {
            failures.push(`${where}: ${err?.message ?? err}`);
            bar.step(`${warmup ? "warm-up" : `run ${run}/${RUNS}`} ${shape.name} ${row.name} FAILED`);
            continue;
          }
          if (result.failed > 0) failures.push(`${where}: ${result.failed} receives failed, first: ${result.firstError}`);
          if (result.sent === 0) failures.push(`${where}: the C sender sent nothing (errno ${result.sendErrno})`);
          else if (result.received === 0) failures.push(`${where}: nothing was received`);
          if (result.wrong > 0) failures.push(`${where}: ${result.wrong} datagrams of the wrong size (or truncated)`);
          if (result.received > result.sent) failures.push(`${where}: received ${result.received} of ${result.sent} sent`);
          bar.step(`${warmup ? "warm-up" : `run ${run}/${RUNS}`} ${shape.name} ${row.name}`);
          childrenUs += result.senderCpuUs + (row.kind === "c" ? result.cpuUs : 0);
          if (warmup) continue;
          rcvbufs.set(row.name, result.rcvbuf);
          if (!samples.has(key)) samples.set(key, []);
          samples.get(key).push({ run, ...result });
        }
      }
      bar.note(warmup ? "warm-up run done" : `run ${run}/${RUNS} done`);
    }
    bar.end();
    // What else ran: the machine's busy time over the run, less this process's and its children's.
    const machine1 = machineCpu();
    let otherLoad = null;
    if (machine0 && machine1 && machine1.total > machine0.total) {
      const wallMs = Date.now() - started;
      const self = process.cpuUsage(self0);
      const busyCores = ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * m.cores;
      otherLoad = Math.max(0, busyCores - (self.user + self.system + childrenUs) / 1000 / wallMs);
      notes.push(
        `the machine was ${Math.round(100 * busyCores)} % busy (of one core) on average during the run; other processes than ` +
          `the bench's about ${Math.round(100 * otherLoad)} % (load average at start: ${m.loadAverage})`,
      );
    }

    const results = aggregate(rows, shapes, samples);
    const targets = evaluateTargets(results, shapes);
    const keptUp = results.filter((r) => r.saturatedRuns < r.runs);
    if (keptUp.length > 0) {
      notes.push(
        `receivers that kept up with the flood in some runs (lost at most 0.5 %: their rate there is the flood's, a lower ` +
          `bound of what they can take): ${keptUp.map((r) => `${r.row} ${r.shape} (${r.runs - r.saturatedRuns}/${r.runs})`).join(", ")}`,
      );
    }
    const unaccounted = results.filter((r) => r.drops !== null && r.lost - r.drops > 0.001 * r.sent);
    if (unaccounted.length > 0) {
      notes.push(
        `lost beyond the kernel's drops of the socket (dropped in the dgram backend's own queue, which /proc/net/udp does not ` +
          `see, or elsewhere on the way): ${unaccounted
            .map((r) => `${r.row} ${r.shape} ${((100 * (r.lost - r.drops)) / r.sent).toFixed(1)} %`)
            .join(", ")}`,
      );
    }
    const unsignalled = results.map((r) => [r, r.samples.reduce((a, x) => a + (x.unsignalled ?? 0), 0)]).filter(([, n]) => n > 0);
    if (unsignalled.length > 0) {
      notes.push(
        `facade-event: completed receives found by a sweep after a wait timed out, or by the last sweep before closesocket, ` +
          `their shared event not set (counted as received): ${unsignalled.map(([r, n]) => `${r.row} ${r.shape} ${n}`).join(", ")}`,
      );
    }
    const sendErrors = results.filter((r) => r.sendErrors > 0);
    if (sendErrors.length > 0) {
      notes.push(
        `send calls the C sender saw fail (retried): ${sendErrors.map((r) => `${r.row} ${r.shape} ${r.sendErrors}`).join(", ")}`,
      );
    }
    notes.push(
      `SO_RCVBUF as the sockets report it: ${[...rcvbufs].map(([row, b]) => `${row} ${b ?? "?"}`).join(", ")} ` +
        "(the idiomatic rows: as asked; the kernel doubles what it is given)",
    );

    console.log(terminalTable(results, shapes));
    console.log("");
    console.log(
      "recv dg/s: timed by the receiver, first to last datagram (the figure of merit). lost: (sent - received) / sent; kernel",
    );
    console.log(
      "drops: the receiving socket's, over sent. x C recvmmsg, x raw-dgram: median over the runs of (row / reference in the same run).",
    );
    console.log("");
    console.log(targetsText(targets));
    for (const n of notes) console.log(`note: ${n}`);

    const command = `node bench/receive.mjs${args.length > 0 ? ` ${args.join(" ")}` : ""}`;
    const report = {
      benchmark: "receive",
      generatedAt: new Date().toISOString(),
      command,
      elapsedSeconds: Math.round((Date.now() - started) / 1000),
      machine: { ...m, compiler: c.compiler },
      config: {
        runs: RUNS,
        durationMs: DURATION_MS,
        warmupMs: WARMUP_MS,
        window: WINDOW,
        rate: RATE,
        rcvbuf: RCVBUF,
        idleMs: IDLE_MS,
        hardMarginMs: HARD_MARGIN_MS,
        cflags: c.cflags,
        otherLoadCores: otherLoad,
        flood: { mode: flood.mode, datagramsPerCall: gso === true ? "min(64, 65507 / size)" : WINDOW },
      },
      shapes,
      rows: rows.map(({ open: _open, ...r }) => r),
      targets,
      results,
      notes,
      failures,
    };
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, "receive.json"), `${JSON.stringify(report, null, 1)}\n`);
    writeFileSync(join(OUT_DIR, "receive.svg"), svgChart(report));
    writeFileSync(join(OUT_DIR, "receive.md"), markdown(report, "receive.svg"));
    console.log(`results: ${relative(process.cwd(), OUT_DIR) || "."}/receive.{md,json,svg}`);

    if (failures.length > 0) {
      for (const f of failures.slice(0, 20)) console.error(`FAILED: ${f}`);
      if (failures.length > 20) console.error(`FAILED: ... and ${failures.length - 20} more`);
      return 1;
    }
    return 0;
  } finally {
    ws.WSACleanup();
  }
}

// A last bound on the whole run, whatever happens inside it.
const budgetMs = (RUNS + 1) * RX_ROWS.length * ALL_SHAPES.length * (DURATION_MS + HARD_MARGIN_MS + 1_000) + 60_000;
const watchdog = setTimeout(() => {
  console.error(`receive: the run did not finish within ${budgetMs} ms`);
  process.exit(1);
}, budgetMs);
watchdog.unref();

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`receive: ${err?.stack ?? err}`);
  process.exitCode = 1;
}
