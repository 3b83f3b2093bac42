// The receive benchmark's statistics and outputs: the terminal table, the targets, the
// Markdown report and the SVG chart (drawn by chart.mjs).
import { COLORS, LIMIT_COLOR, panelChart, TARGET_COLOR } from "./chart.mjs";
import { fixed, int, mdTable, median, ratio, ratioRange, shapeBlocks, spread } from "./format.mjs";
import { evaluateTargets as evaluate, targetLabel, targetsMarkdown } from "./targets.mjs";

export { targetsText } from "./targets.mjs";

/** A measurement that lost more than this share of the flood was saturated (the receiver could not keep up). */
export const SATURATED_LOSS = 0.005;

/** A sample's received datagrams/s, timed by the receiver (first to last datagram). */
export function rateOf(s) {
  if (s.rateWindowMs > 0 && s.rateCount > 0) return (s.rateCount * 1000) / s.rateWindowMs;
  return s.senderMs > 0 ? (s.received * 1000) / s.senderMs : 0;
}

/**
 * One result per row and shape from its samples (one per run): the received rate (median,
 * min, max), the flood's rate, loss and drops over all runs, the receiver's CPU per
 * datagram, and the ratios, run by run, to C recvmmsg and to raw dgram of the same shape.
 */
export function aggregate(rows, shapes, samples) {
  const results = [];
  for (const shape of shapes) {
    const of = (name) => samples.get(`${name}/${shape.name}`) ?? null;
    for (const row of rows) {
      const list = of(row.name);
      if (!list || list.length === 0) continue;
      const paired = (ref) => {
        const base = of(ref);
        if (!base) return null;
        const ratios = [];
        for (let i = 0; i < list.length && i < base.length; i++) {
          const b = rateOf(base[i]);
          if (b > 0) ratios.push(rateOf(list[i]) / b);
        }
        return ratios.length > 0 ? { ref, ...spread(ratios) } : null;
      };
      const sent = list.reduce((a, s) => a + s.sent, 0);
      const received = list.reduce((a, s) => a + s.received, 0);
      const knownDrops = list.every((s) => s.drops !== null && s.drops !== undefined);
      const drops = knownDrops ? list.reduce((a, s) => a + s.drops, 0) : null;
      results.push({
        row: row.name,
        shape: shape.name,
        group: row.group,
        runs: list.length,
        receivedPerSecond: spread(list.map(rateOf)),
        receivedMegabytesPerSecond: median(list.map((s) => (rateOf(s) * shape.size) / 1e6)),
        sentPerSecond: median(list.map((s) => (s.senderMs > 0 ? (s.sent * 1000) / s.senderMs : 0))),
        sent,
        received,
        lost: sent - received,
        lossPercent: sent > 0 ? (100 * (sent - received)) / sent : 0,
        drops,
        dropsPercent: drops !== null && sent > 0 ? (100 * drops) / sent : null,
        cpuMicrosPerDatagram: median(list.filter((s) => s.received > 0).map((s) => s.cpuUs / s.received)),
        saturatedRuns: list.filter((s) => s.sent > 0 && (s.sent - s.received) / s.sent > SATURATED_LOSS).length,
        wrongSize: list.reduce((a, s) => a + s.wrong, 0),
        sendErrors: list.reduce((a, s) => a + s.sendErrors, 0),
        vsRecvmmsg: paired("C/recvmmsg"),
        vsRawDgram: paired("raw-dgram"),
        samples: list,
      });
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------
// Targets

export const RX_TARGETS = [
  {
    name: "native receivers",
    rows: ["native/facade-event", "native/facade-routine", "native/receive", "native/datagrams", "native/datagrams-gro"],
    ref: "C/recvmmsg",
    ratio: "vsRecvmmsg",
    min: 0.75,
  },
  {
    name: "dgram receivers",
    rows: ["dgram/facade-event", "dgram/facade-routine", "dgram/receive", "dgram/datagrams"],
    ref: "raw-dgram",
    versus: "raw-dgram 'message'",
    ratio: "vsRawDgram",
    min: 0.9,
  },
];

/** Per target row, its paired ratio per shape; met when it holds in every shape measured. */
export const evaluateTargets = (results, shapes) => evaluate(RX_TARGETS, results, shapes);

// ---------------------------------------------------------------------------------
// Tables

const pct = (v) => (v === null || !Number.isFinite(v) ? "?" : `${v.toFixed(1)}%`);

const COLUMNS = [
  ["row", (r) => r.row, (r) => `\`${r.row}\``],
  ["recv dg/s", (r) => int(r.receivedPerSecond.median)],
  ["min", (r) => int(r.receivedPerSecond.min)],
  ["max", (r) => int(r.receivedPerSecond.max)],
  ["recv MB/s", (r) => fixed(r.receivedMegabytesPerSecond, 1)],
  ["flood dg/s", (r) => int(r.sentPerSecond)],
  ["lost", (r) => pct(r.lossPercent)],
  ["kernel drops", (r) => pct(r.dropsPercent)],
  ["CPU µs/dg", (r) => fixed(r.cpuMicrosPerDatagram, 2)],
  ["x C recvmmsg", (r) => ratio(r.vsRecvmmsg), (r) => ratioRange(r.vsRecvmmsg)],
  ["x raw-dgram", (r) => ratio(r.vsRawDgram), (r) => ratioRange(r.vsRawDgram)],
  ["saturated", (r) => `${r.saturatedRuns}/${r.runs}`],
];

/** The terminal table: one block per shape. */
export const terminalTable = (results, shapes) => shapeBlocks(results, shapes, COLUMNS);

export function markdown(report, chartFile) {
  const { machine, config, results, targets, shapes, rows } = report;
  const out = [];
  out.push("# Receive throughput on loopback: a C sender flooding each kind of receiver", "");
  out.push(
    `Generated ${report.generatedAt} by \`${report.command}\`: ${config.runs} runs of a ${config.durationMs} ms flood per ` +
      `measurement, interleaved (every row and shape once per run, in the same order), ${
        config.warmupMs > 0 ? `after a warm-up run of ${config.warmupMs} ms floods` : "without a warm-up run"
      }; ${config.window} receives posted (or recvmmsg batch); SO_RCVBUF ${config.rcvbuf.toLocaleString("en-US")} ` +
      `requested on every receiving socket; the flood: ${config.flood.mode === "gso" ? "UDP GSO sends" : "sendmmsg"} ` +
      `from a C process, ${config.rate > 0 ? `paced at ${config.rate.toLocaleString("en-US")} datagrams/s` : "as fast as it goes"}.`,
    "",
  );
  out.push("Machine:", "");
  out.push(`- OS: ${machine.os}; kernel ${machine.kernel} (${machine.arch})`);
  out.push(
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores${machine.loadAverage ? `; load average at start ${machine.loadAverage}` : ""}`,
  );
  out.push(`- Node.js ${machine.node}; C compiled with ${machine.compiler} (${config.cflags})`, "");
  if (chartFile) out.push(`![received datagrams/s by row and shape, with C recvmmsg](${chartFile})`, "");
  out.push("## Targets", "");
  out.push(
    "Each cell: the median over the runs of (row's received datagrams/s / the reference's in the same run); ✗: below the " +
      "target in that shape. A row meets its target when it holds in every shape. A miss is reported, not a failure.",
    "",
  );
  out.push(targetsMarkdown(targets), "");
  out.push("## Results by shape", "");
  out.push(
    "recv dg/s: datagrams the receiver got per second, timed by the receiver from its first datagram to its last (median, " +
      "min, max over the runs): the figure of merit. flood dg/s: what the C sender sent per second. lost: (sent - received) " +
      "/ sent over all runs; kernel drops: what the kernel dropped at the receiving socket for a full buffer, over sent " +
      "(`sock.drops` for the idiomatic rows, which on the dgram backend also counts its own queue's drops; /proc/net/udp " +
      "for raw dgram and the facade; SO_MEMINFO for C). CPU µs/dg: the receiving process's user + system CPU time per " +
      "datagram received. x C recvmmsg, x raw-dgram: median over the runs of (row / reference in the same run), min-max " +
      "in brackets. saturated: runs that lost more than 0.5 % of the flood (the receiver could not keep up; in the others " +
      "its rate is the flood's, a lower bound of what it can take).",
    "",
  );
  for (const shape of shapes) {
    const block = results.filter((r) => r.shape === shape.name);
    if (block.length === 0) continue;
    out.push(`### ${shape.name}: ${shape.title}`, "");
    const header = COLUMNS.map(([h]) => h);
    const lines = block.map((r) => COLUMNS.map(([, f, md]) => (md ?? f)(r)));
    out.push(mdTable(header, lines, ["l", ...header.slice(1).map(() => "r")]), "");
  }
  out.push("## Rows", "");
  out.push(
    mdTable(
      ["row", "what it does", "kernel drops from"],
      rows.map((r) => [`\`${r.name}\``, r.what, r.dropsFrom]),
      ["l", "l", "l"],
    ),
    "",
  );
  if (report.notes.length > 0) out.push("## Notes", "", ...report.notes.map((n) => `- ${n}`), "");
  if (report.failures.length > 0) out.push("## Failures", "", ...report.failures.map((f) => `- ${f}`), "");
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------
// SVG chart: a bar per row and shape (median received datagrams/s, whisker min-max) on a
// shared linear scale, a red line across each panel at C recvmmsg's median, and on the bar
// of a target row a black tick at its target (the threshold times its reference's median).

export function svgChart(report) {
  const { results, shapes, rows, machine, config } = report;
  const find = (row, shape) => results.find((q) => q.row === row && q.shape === shape.name);
  const targetOf = new Map((report.targets ?? []).flatMap((t) => t.rows.map((r) => [r.row, t])));
  return panelChart({
    title: `Datagrams received per second on loopback, a C sender flooding each receiver (median of ${config.runs} runs)`,
    subtitles: [
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.os}, Linux ${machine.kernel}, Node.js ${machine.node}; ${report.generatedAt.slice(0, 10)}`,
      "Whiskers: min-max over the runs. Red line: C recvmmsg, same shape. Black tick: the row's target. Buffers: what each " +
        "receive scatters into (raw dgram and datagrams() take one Buffer whatever the shape).",
    ],
    shapes,
    rows: rows.filter((r) => results.some((x) => x.row === r.name)),
    scale: "linear",
    value(row, shape) {
      const r = find(row.name, shape);
      if (!r) return null;
      const d = r.receivedPerSecond;
      return {
        ...d,
        tip: `${row.name} ${shape.name}: ${int(d.median)} dg/s (min ${int(d.min)}, max ${int(d.max)}); lost ${pct(r.lossPercent)}`,
      };
    },
    ticks(row, shape) {
      const t = targetOf.get(row.name);
      const ref = t ? find(t.ref, shape) : null;
      if (!ref) return [];
      const v = t.threshold * ref.receivedPerSecond.median;
      return [{ value: v, color: TARGET_COLOR, tip: `target ${targetLabel(t)}: about ${int(v)} dg/s` }];
    },
    panelLines(shape) {
      const limit = find("C/recvmmsg", shape);
      if (!limit) return [];
      const v = limit.receivedPerSecond.median;
      return [{ value: v, color: LIMIT_COLOR, tip: `C/recvmmsg: ${int(v)} dg/s` }];
    },
    legend: [
      ["raw node:dgram 'message'", COLORS.raw],
      ["dgram backend: facade, idiomatic", COLORS.dgram],
      ["native backend: facade, idiomatic", COLORS.native],
      ["C recvmsg / recvmmsg", COLORS.c],
    ],
    marks: [
      ["C recvmmsg", LIMIT_COLOR],
      ["the row's target", TARGET_COLOR],
    ],
    footer:
      `${config.durationMs} ms floods (${config.flood.mode === "gso" ? "UDP GSO" : "sendmmsg"}), ${config.window} receives ` +
      `posted or per recvmmsg, SO_RCVBUF ${config.rcvbuf} requested. Data: receive.json; table: receive.md.`,
  });
}
