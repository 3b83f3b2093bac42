// The send benchmark's statistics over the runs, its targets, and its outputs: the
// terminal table, the Markdown report and the SVG chart (drawn by chart.mjs).
import { COLORS, LIMIT_COLOR, panelChart, TARGET_COLOR } from "./chart.mjs";
import { fixed, int, mdTable, median, ratio, ratioRange, shapeBlocks, spread } from "./format.mjs";
import { evaluateTargets as evaluate, targetLabel, targetsMarkdown } from "./targets.mjs";

export { targetsText } from "./targets.mjs";

/** The nearest-rank quantile q (0..1) of sorted values. */
function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** A receiver that was busy this much of one core while the sender ran was (nearly) saturated. */
export const RECEIVER_BUSY_LIMIT = 0.9;

/**
 * One result per row and shape from the samples (one per run): medians, min and max of the
 * sender's datagrams/s; received rates; loss; CPU per datagram; the pooled latency
 * percentiles; and the ratios, run by run, to the raw dgram baseline, to the row's C
 * limit of the same shape (in bytes/s for GSO) and to C sendmmsg of the same shape (the
 * reference of the native rows' targets), reported as their median, min and max.
 */
export function aggregate(rows, shapes, samples, baseline = "raw-dgram") {
  const results = [];
  for (const shape of shapes) {
    const of = (name) => samples.get(`${name}/${shape.name}`) ?? null;
    for (const row of rows) {
      const list = of(row.name);
      if (!list || list.length === 0) continue;
      const rates = list.map((s) => (s.sent * 1000) / s.elapsedMs);
      const sent = list.reduce((a, s) => a + s.sent, 0);
      const received = list.reduce((a, s) => a + s.received, 0);
      const latencies = list.flatMap((s) => s.latenciesMs).sort((a, b) => a - b);
      const paired = (ref, unit) => {
        const base = of(ref);
        if (!base) return null;
        const ratios = [];
        for (let i = 0; i < list.length && i < base.length; i++) {
          const a = unit === "bytes" ? list[i].bytes / list[i].elapsedMs : list[i].sent / list[i].elapsedMs;
          const b = unit === "bytes" ? base[i].bytes / base[i].elapsedMs : base[i].sent / base[i].elapsedMs;
          if (b > 0) ratios.push(a / b);
        }
        return ratios.length > 0 ? { ref, unit, ...spread(ratios) } : null;
      };
      const busy = list.map((s) => s.receiverBusy);
      results.push({
        row: row.name,
        shape: shape.name,
        what: row.what,
        group: row.group,
        runs: list.length,
        datagramsPerSecond: spread(rates),
        megabytesPerSecond: median(list.map((s) => s.bytes / s.elapsedMs / 1000)),
        receivedPerSecond: median(list.map((s) => (s.received * 1000) / s.elapsedMs)),
        receivedMegabytesPerSecond: median(list.map((s) => s.receivedBytes / s.elapsedMs / 1000)),
        sent,
        received,
        lossPercent: sent > 0 ? (100 * (sent - received)) / sent : 0,
        cpuMicrosPerDatagram: median(list.filter((s) => s.sent > 0).map((s) => s.cpuUs / s.sent)),
        latencyMicros:
          latencies.length > 0
            ? { p50: 1000 * quantile(latencies, 0.5), p99: 1000 * quantile(latencies, 0.99), samples: latencies.length }
            : null,
        vsRawDgram: paired(baseline, "datagrams"),
        vsLimit: row.limit ? paired(row.limit, row.limit === "C/gso" ? "bytes" : "datagrams") : null,
        vsSendmmsg: row.kind === "c" ? null : paired("C/sendmmsg", "datagrams"),
        receiver: {
          busyMedian: median(busy),
          busyMax: Math.max(...busy),
          drops: list.reduce((a, s) => a + s.drops, 0),
          wrongSize: list.reduce((a, s) => a + s.wrong, 0),
          boundRuns: list.filter((s) => s.drops > 0 || s.receiverBusy >= RECEIVER_BUSY_LIMIT).length,
        },
        samples: list,
      });
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------
// Formatting

const limitName = (r) => (r ? `${r.ref.slice(2)}${r.unit === "bytes" ? " B/s" : ""}` : "");

const COLUMNS = [
  ["row", (r) => r.row],
  ["sent dg/s", (r) => int(r.datagramsPerSecond.median)],
  ["min", (r) => int(r.datagramsPerSecond.min)],
  ["max", (r) => int(r.datagramsPerSecond.max)],
  ["sent MB/s", (r) => fixed(r.megabytesPerSecond, 1)],
  ["recv dg/s", (r) => int(r.receivedPerSecond)],
  ["recv MB/s", (r) => fixed(r.receivedMegabytesPerSecond, 1)],
  ["loss", (r) => `${fixed(r.lossPercent, 1)}%`],
  ["CPU µs/dg", (r) => fixed(r.cpuMicrosPerDatagram, 2)],
  ["p50 µs", (r) => fixed(r.latencyMicros?.p50, 1)],
  ["p99 µs", (r) => fixed(r.latencyMicros?.p99, 1)],
  ["x raw-dgram", (r) => ratio(r.vsRawDgram)],
  ["x C limit", (r) => (r.vsLimit ? `${ratio(r.vsLimit)} ${limitName(r.vsLimit)}` : "-")],
  ["rx busy", (r) => `${Math.round(100 * r.receiver.busyMax)}%${r.receiver.boundRuns > 0 ? "!" : ""}`],
];

/** The terminal table: one block per shape. */
export const terminalTable = (results, shapes) => shapeBlocks(results, shapes, COLUMNS);

// ---------------------------------------------------------------------------------
// Targets (issue 10)

export const TARGETS = [
  {
    name: "native single gathered sends",
    rows: ["native/facade-event", "native/facade-routine", "native/facade-nonoverlapped", "native/udpsocket"],
    ref: "C/sendmmsg",
    ratio: "vsSendmmsg",
    min: 0.75,
    stretch: 0.85,
  },
  { name: "native sendmmsg batches", rows: ["native/sendBatch"], ref: "C/sendmmsg", ratio: "vsLimit", min: 0.9 },
  {
    name: "native UDP GSO",
    rows: ["native/sendSegments"],
    ref: "C/gso",
    versus: "C/gso in bytes/s",
    ratio: "vsLimit",
    min: 0.85,
  },
  {
    name: "dgram backend over raw dgram",
    rows: ["dgram/facade-event", "dgram/facade-routine", "dgram/facade-nonoverlapped", "dgram/udpsocket"],
    ref: "raw-dgram",
    ratio: "vsRawDgram",
    min: 0.9,
  },
];

/**
 * Each target row's paired ratio per shape, and whether it is met: in every shape, the
 * median over the runs of (row / reference in the same run) at or above the target.
 */
export const evaluateTargets = (results, shapes) => evaluate(TARGETS, results, shapes);

// ---------------------------------------------------------------------------------
// Markdown

export function markdown(report, chartFile) {
  const { machine, config, results, targets, shapes, rows } = report;
  const out = [];
  out.push("# Throughput on loopback: every backend side by side, against the kernel's limit", "");
  out.push(
    `Generated ${report.generatedAt} by \`${report.command}\`: ${config.runs} runs of ${config.durationMs} ms per ` +
      `measurement, interleaved (every row and shape once per run, in the same order), ${
        config.warmupMs > 0 ? `after a warm-up run of ${config.warmupMs} ms per measurement` : "without a warm-up run"
      }; ${config.window} sends in flight (or datagrams per call); the receiver paced at ${config.receiver.paceUs} µs.`,
    "",
  );
  out.push("Machine:", "");
  out.push(`- OS: ${machine.os}; kernel ${machine.kernel} (${machine.arch})`);
  out.push(
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores${machine.loadAverage ? `; load average at start ${machine.loadAverage}` : ""}`,
  );
  out.push(`- Node.js ${machine.node}; C compiled with ${machine.compiler} (${config.cflags})`);
  out.push(
    `- Receiver: C, recvmmsg, SO_RCVBUF ${config.receiver.rcvbuf.toLocaleString("en-US")} bytes ` +
      `(${config.receiver.forced ? "SO_RCVBUFFORCE" : "SO_RCVBUF, capped by net.core.rmem_max"}), on 127.0.0.1:${config.receiver.port}`,
    "",
  );
  if (chartFile) out.push(`![datagrams/s by row and shape, with the C limit and the target of each row](${chartFile})`, "");
  out.push("## Targets", "");
  out.push(
    "Each cell: the median over the runs of (row / reference in the same run); ✗: below the target in that shape. A row " +
      "meets its target when it holds in every shape; the native single sends also have a stretch target. A miss is " +
      "reported, not a failure.",
    "",
  );
  out.push(targetsMarkdown(targets), "");
  out.push("## Results by shape", "");
  out.push(
    "sent dg/s: datagrams the sender completed per second (median, min, max over the runs). recv: what the receiver " +
      "counted, over the sender's time. loss: (sent - received) / sent over all runs. CPU µs/dg: the sender's user+system " +
      "CPU time per datagram (process.cpuUsage for JavaScript, getrusage for C). p50/p99: time from post to completion of " +
      "every 16th send (of every call for sendBatch and sendSegments). x raw-dgram, x C limit, x C sendmmsg: median over " +
      "the runs of the row's rate / the reference's rate in the same run (min-max in brackets); the C limit of single " +
      "sends is C sendmsg (node:dgram's) or C sendmmsg (the native backend's, which coalesce), of batches C sendmmsg, of " +
      "GSO C GSO in bytes/s. rx busy: the receiver's CPU while the sender " +
      "ran, highest run (`!`: a run where it dropped datagrams or was busier than 90 %: the receiver may have been the " +
      "bottleneck).",
    "",
  );
  for (const shape of shapes) {
    const block = results.filter((r) => r.shape === shape.name);
    if (block.length === 0) continue;
    out.push(`### ${shape.name}: ${shape.title}`, "");
    const header = [
      "row",
      "sent dg/s",
      "min",
      "max",
      "sent MB/s",
      "recv dg/s",
      "recv MB/s",
      "loss",
      "CPU µs/dg",
      "p50 µs",
      "p99 µs",
      "x raw-dgram",
      "x C limit",
      "x C sendmmsg",
      "rx busy",
    ];
    const lines = block.map((r) => [
      `\`${r.row}\``,
      int(r.datagramsPerSecond.median),
      int(r.datagramsPerSecond.min),
      int(r.datagramsPerSecond.max),
      fixed(r.megabytesPerSecond, 1),
      int(r.receivedPerSecond),
      fixed(r.receivedMegabytesPerSecond, 1),
      `${fixed(r.lossPercent, 1)}%`,
      fixed(r.cpuMicrosPerDatagram, 2),
      fixed(r.latencyMicros?.p50, 1),
      fixed(r.latencyMicros?.p99, 1),
      ratioRange(r.vsRawDgram),
      r.vsLimit ? `${ratioRange(r.vsLimit)} ${limitName(r.vsLimit)}` : "-",
      ratioRange(r.vsSendmmsg),
      `${Math.round(100 * r.receiver.busyMax)}%${r.receiver.boundRuns > 0 ? " !" : ""}`,
    ]);
    out.push(mdTable(header, lines, ["l", ...header.slice(1).map(() => "r")]), "");
  }
  out.push("## Rows", "");
  out.push(
    mdTable(
      ["row", "what it does"],
      rows.map((r) => [`\`${r.name}\``, r.what]),
      ["l", "l"],
    ),
    "",
  );
  if (report.notes.length > 0) out.push("## Notes", "", ...report.notes.map((n) => `- ${n}`), "");
  if (report.failures.length > 0) out.push("## Failures", "", ...report.failures.map((f) => `- ${f}`), "");
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------
// SVG chart: a bar per row and shape (median datagrams/s, whisker min-max) on a shared log
// scale; on each bar a red tick at its C limit of the same shape and, for a target row, a
// black one at its target (the threshold times its reference's median in that shape).

export function svgChart(report) {
  const { results, shapes, rows, machine, config } = report;
  const find = (row, shape) => results.find((q) => q.row === row && q.shape === shape.name);
  const targetOf = new Map((report.targets ?? []).flatMap((t) => t.rows.map((r) => [r.row, t])));
  return panelChart({
    title: `Datagrams per second on loopback, by row and shape (median of ${config.runs} runs; log scale)`,
    subtitles: [
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.os}, Linux ${machine.kernel}, Node.js ${machine.node}; ${report.generatedAt.slice(0, 10)}`,
      "Whiskers: min-max over the runs. Red tick on a bar: that row's C limit, same shape (sendmsg for dgram's single sends, " +
        "sendmmsg for native's, which coalesce, and sendBatch, GSO for sendSegments). Black tick: the row's target.",
    ],
    shapes,
    rows: rows.filter((r) => results.some((x) => x.row === r.name)),
    scale: "log",
    value(row, shape) {
      const r = find(row.name, shape);
      if (!r) return null;
      const d = r.datagramsPerSecond;
      return { ...d, tip: `${row.name} ${shape.name}: ${int(d.median)} dg/s (min ${int(d.min)}, max ${int(d.max)})` };
    },
    ticks(row, shape) {
      const marks = [];
      const limit = row.kind !== "c" && row.limit ? find(row.limit, shape) : null;
      if (limit) {
        const v = limit.datagramsPerSecond.median;
        marks.push({ value: v, color: LIMIT_COLOR, tip: `${row.limit}: ${int(v)} dg/s` });
      }
      const t = targetOf.get(row.name);
      const ref = t ? find(t.ref, shape) : null;
      if (ref) {
        // Same datagrams, so a share of the reference's bytes/s is the same share of its datagrams/s.
        const v = t.threshold * ref.datagramsPerSecond.median;
        marks.push({ value: v, color: TARGET_COLOR, tip: `target ${targetLabel(t)}: about ${int(v)} dg/s` });
      }
      return marks;
    },
    legend: [
      ["raw node:dgram", COLORS.raw],
      ["dgram backend: facade, idiomatic", COLORS.dgram],
      ["native backend: single sends", COLORS.native],
      ["native: sendBatch (sendmmsg), sendSegments (GSO)", COLORS.batch],
      ["C sender (the kernel's limit)", COLORS.c],
    ],
    marks: [
      ["the row's C limit", LIMIT_COLOR],
      ["the row's target", TARGET_COLOR],
    ],
    footer:
      `${config.durationMs} ms per measurement, ${config.window} in flight or per call; receiver: C recvmmsg, SO_RCVBUF ` +
      `${config.receiver.rcvbuf} bytes, paced ${config.receiver.paceUs} µs. Data: throughput.json; table: throughput.md.`,
  });
}
