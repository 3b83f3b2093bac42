// Statistics over the runs, and the outputs: the terminal table, the Markdown report and
// the SVG chart (drawn here, no chart library).

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The nearest-rank quantile q (0..1) of sorted values. */
function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

/** A receiver that was busy this much of one core while the sender ran was (nearly) saturated. */
export const RECEIVER_BUSY_LIMIT = 0.9;

/**
 * One result per row and shape from the samples (one per run): medians, min and max of the
 * sender's datagrams/s; received rates; loss; CPU per datagram; the pooled latency
 * percentiles; and the ratios, run by run, to the raw dgram baseline and to the row's C
 * limit of the same shape (in bytes/s for GSO), reported as their median, min and max.
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

const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "-");
const fixed = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : "-");
const ratio = (r) => (r ? `${r.median.toFixed(2)}x` : "-");
const ratioRange = (r) => (r ? `${r.median.toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)})` : "-");
const limitName = (r) => (r ? `${r.ref.slice(2)}${r.unit === "bytes" ? " B/s" : ""}` : "");

/** Short: "1.2M", "345k". */
export function short(v) {
  if (!Number.isFinite(v)) return "-";
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(v));
}

const COLUMNS = [
  ["row", (r) => r.row, "l"],
  ["sent dg/s", (r) => int(r.datagramsPerSecond.median), "r"],
  ["min", (r) => int(r.datagramsPerSecond.min), "r"],
  ["max", (r) => int(r.datagramsPerSecond.max), "r"],
  ["sent MB/s", (r) => fixed(r.megabytesPerSecond, 1), "r"],
  ["recv dg/s", (r) => int(r.receivedPerSecond), "r"],
  ["recv MB/s", (r) => fixed(r.receivedMegabytesPerSecond, 1), "r"],
  ["loss", (r) => `${fixed(r.lossPercent, 1)}%`, "r"],
  ["CPU µs/dg", (r) => fixed(r.cpuMicrosPerDatagram, 2), "r"],
  ["p50 µs", (r) => fixed(r.latencyMicros?.p50, 1), "r"],
  ["p99 µs", (r) => fixed(r.latencyMicros?.p99, 1), "r"],
  ["x raw-dgram", (r) => ratio(r.vsRawDgram), "r"],
  ["x C limit", (r) => (r.vsLimit ? `${ratio(r.vsLimit)} ${limitName(r.vsLimit)}` : "-"), "r"],
  ["rx busy", (r) => `${Math.round(100 * r.receiver.busyMax)}%${r.receiver.boundRuns > 0 ? "!" : ""}`, "r"],
];

/** The terminal table: one block per shape. */
export function terminalTable(results, shapes) {
  const lines = [];
  const cells = results.map((r) => COLUMNS.map(([, f]) => f(r)));
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const fmt = (c) => c.map((v, i) => (COLUMNS[i][2] === "l" ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  for (const shape of shapes) {
    const block = results.map((r, i) => [r, cells[i]]).filter(([r]) => r.shape === shape.name);
    if (block.length === 0) continue;
    lines.push("", `${shape.name}: ${shape.title}`, fmt(COLUMNS.map(([h]) => h)), widths.map((w) => "-".repeat(w)).join("  "));
    for (const [, c] of block) lines.push(fmt(c));
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------
// Targets

export const TARGETS = [
  {
    name: "facade over dgram >= 1.0x raw dgram of the same buffers",
    rows: ["dgram/facade-event", "dgram/facade-routine", "dgram/facade-nonoverlapped"],
    extra: ["dgram/udpsocket"],
    ratio: "vsRawDgram",
    min: 1.0,
  },
  {
    name: "native single gathered sends >= 0.9x C sendmsg",
    rows: ["native/facade-event", "native/facade-routine", "native/facade-nonoverlapped", "native/udpsocket"],
    ratio: "vsLimit",
    min: 0.9,
  },
  { name: "sendmmsg batches >= 0.9x C sendmmsg", rows: ["native/sendBatch"], ratio: "vsLimit", min: 0.9 },
  { name: "GSO >= 0.8x C GSO in bytes/s", rows: ["native/sendSegments"], ratio: "vsLimit", min: 0.8 },
];

/**
 * Each target row's paired ratio per shape, and whether it is met: in every shape, the
 * median over the runs of (row / reference in the same run) at or above the target.
 */
export function evaluateTargets(results, shapes) {
  return TARGETS.map((t) => ({
    target: t.name,
    threshold: t.min,
    rows: [...t.rows, ...(t.extra ?? [])].map((row) => {
      const perShape = shapes.map((s) => {
        const r = results.find((x) => x.row === row && x.shape === s.name)?.[t.ratio];
        return { shape: s.name, ratio: r ? r.median : null };
      });
      const known = perShape.filter((p) => p.ratio !== null);
      return {
        row,
        informational: !t.rows.includes(row),
        perShape,
        shapesMet: known.filter((p) => p.ratio >= t.min).length,
        shapesKnown: known.length,
        met: known.length > 0 && known.every((p) => p.ratio >= t.min),
      };
    }),
  }));
}

export function targetsText(targets) {
  const out = [];
  for (const t of targets) {
    out.push(t.target);
    for (const r of t.rows) {
      const cells = r.perShape.map((p) => `${p.shape} ${p.ratio === null ? "-" : `${p.ratio.toFixed(2)}x`}`).join(", ");
      const verdict = r.shapesKnown === 0 ? "not measured" : r.met ? "MET" : `not met (${r.shapesMet}/${r.shapesKnown} shapes)`;
      out.push(`  ${r.row}${r.informational ? " (idiomatic, for reference)" : ""}: ${verdict}; ${cells}`);
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------
// Markdown

const mdEscape = (s) => String(s).replaceAll("|", "\\|");

function mdTable(header, rows, align) {
  const sep = align.map((a) => (a === "l" ? "---" : "---:"));
  return [header, sep, ...rows].map((r) => `| ${r.map(mdEscape).join(" | ")} |`).join("\n");
}

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
  if (chartFile) out.push(`![datagrams/s by row and shape, with the C limit of each row](${chartFile})`, "");
  out.push("## Targets", "");
  out.push(
    "Each cell: the median over the runs of (row / reference in the same run). A target is met when it holds in every shape.",
    "",
  );
  const shapeNames = shapes.map((s) => s.name);
  const targetRows = [];
  for (const t of targets) {
    for (const r of t.rows) {
      targetRows.push([
        t.target,
        `${r.row}${r.informational ? " (for reference)" : ""}`,
        ...r.perShape.map((p) => (p.ratio === null ? "-" : `${p.ratio.toFixed(2)}${p.ratio >= t.threshold ? "" : " ✗"}`)),
        r.shapesKnown === 0 ? "-" : r.met ? "**met**" : `not met (${r.shapesMet}/${r.shapesKnown})`,
      ]);
    }
  }
  out.push(mdTable(["target", "row", ...shapeNames, "verdict"], targetRows, ["l", "l", ...shapeNames.map(() => "r"), "l"]), "");
  out.push("## Results by shape", "");
  out.push(
    "sent dg/s: datagrams the sender completed per second (median, min, max over the runs). recv: what the receiver " +
      "counted, over the sender's time. loss: (sent - received) / sent over all runs. CPU µs/dg: the sender's user+system " +
      "CPU time per datagram (process.cpuUsage for JavaScript, getrusage for C). p50/p99: time from post to completion of " +
      "every 16th send (of every call for sendBatch and sendSegments). x raw-dgram, x C limit: median over the runs of the " +
      "row's rate / the reference's rate in the same run (min-max in brackets); the C limit of single sends is C sendmsg, of " +
      "batches C sendmmsg, of GSO C GSO in bytes/s. rx busy: the receiver's CPU while the sender ran, highest run " +
      "(`!`: a run where it dropped datagrams or was busier than 90 %: the receiver may have been the bottleneck).",
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
// SVG chart: one panel per shape (columns: datagram size; rows: buffers per datagram),
// a bar per row (median datagrams/s, whisker min-max) on a shared log scale, and on each
// bar a red line at its C limit of the same shape.

const COLORS = { raw: "#8c8c8c", dgram: "#4878c8", native: "#e0862a", batch: "#2f9a57", c: "#3a3a3a" };
const LIMIT_COLOR = "#d62728";

const esc = (s) => String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

export function svgChart(report) {
  const { results, shapes, rows, machine, config } = report;
  const sizes = [...new Set(shapes.map((s) => s.size))];
  const counts = [...new Set(shapes.map((s) => s.buffers))];
  const shown = rows.filter((r) => results.some((x) => x.row === r.name));
  const barH = 11;
  const gap = 3;
  const labelW = 190;
  const panelW = 300;
  const panelGap = 36;
  const panelTop = 34;
  const panelH = panelTop + shown.length * (barH + gap) + 26;
  const top = 70;
  const legend = [
    ["raw node:dgram", COLORS.raw],
    ["dgram backend: facade, idiomatic", COLORS.dgram],
    ["native backend: single sends", COLORS.native],
    ["native: sendBatch (sendmmsg), sendSegments (GSO)", COLORS.batch],
    ["C sender (the kernel's limit)", COLORS.c],
  ];
  const legendW = legend.reduce((a, [label]) => a + 34 + label.length * 6.2, 10) + 130;
  const width = Math.ceil(Math.max(labelW + sizes.length * (panelW + panelGap) + 10, legendW));
  const legendH = 70;
  const height = top + counts.length * panelH + legendH;

  // The axis: from a 1-2-5 step below the lowest median to one above the highest value
  // (whiskers below the axis are cut at it).
  const steps = [];
  for (let d = 1; d <= 1e9; d *= 10) steps.push(d, 2 * d, 5 * d);
  const medians = results.map((r) => r.datagramsPerSecond.median).filter((v) => v > 0);
  const highs = results.map((r) => Math.max(r.datagramsPerSecond.max, r.datagramsPerSecond.median)).filter((v) => v > 0);
  const lo = steps.findLast((s) => s <= Math.min(...medians) / 1.2) ?? 1;
  const hi = steps.find((s) => s >= Math.max(...highs)) ?? 1e9;
  const x = (v) => (panelW * (Math.log10(Math.min(Math.max(v, lo), hi)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const ticks = steps.filter((s) => s >= lo && s <= hi);

  const o = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
  );
  o.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  o.push(
    `<text x="10" y="22" font-size="16" font-weight="bold">Datagrams per second on loopback, by row and shape (median of ${config.runs} runs; log scale)</text>`,
  );
  o.push(
    `<text x="10" y="42" fill="#555">${esc(`${machine.cpuModel}, ${machine.cores} cores, ${machine.os}, Linux ${machine.kernel}, Node.js ${machine.node}; ${report.generatedAt.slice(0, 10)}`)}</text>`,
  );
  o.push(
    `<text x="10" y="58" fill="#555">Whiskers: min-max over the runs. Red line on a bar: that row's C limit, same shape (sendmsg for single sends, sendmmsg for sendBatch, GSO for sendSegments).</text>`,
  );
  counts.forEach((count, ci) => {
    const py = top + ci * panelH;
    // Row labels, once per band of panels.
    shown.forEach((row, ri) => {
      const y = py + panelTop + ri * (barH + gap);
      o.push(`<text x="${labelW - 8}" y="${y + barH - 2}" text-anchor="end">${esc(row.name)}</text>`);
    });
    sizes.forEach((size, si) => {
      const shape = shapes.find((s) => s.size === size && s.buffers === count);
      if (!shape) return;
      const px = labelW + si * (panelW + panelGap);
      const plotH = shown.length * (barH + gap);
      o.push(
        `<text x="${px}" y="${py + 20}" font-size="12" font-weight="bold">${esc(`${size}-byte datagrams, ${count} buffer${count > 1 ? "s" : ""} (${shape.name})`)}</text>`,
      );
      for (const t of ticks) {
        const tx = px + x(t);
        const major = Math.log10(t) % 1 === 0;
        o.push(
          `<line x1="${tx.toFixed(1)}" y1="${py + panelTop - 4}" x2="${tx.toFixed(1)}" y2="${py + panelTop + plotH}" stroke="${major ? "#bbb" : "#e4e4e4"}"/>`,
        );
        o.push(
          `<text x="${tx.toFixed(1)}" y="${py + panelTop + plotH + 12}" text-anchor="middle" fill="#666" font-size="9">${short(t)}</text>`,
        );
      }
      shown.forEach((row, ri) => {
        const r = results.find((q) => q.row === row.name && q.shape === shape.name);
        const y = py + panelTop + ri * (barH + gap);
        if (!r) return;
        const d = r.datagramsPerSecond;
        o.push(
          `<rect x="${px}" y="${y}" width="${Math.max(1, x(d.median)).toFixed(1)}" height="${barH}" fill="${COLORS[row.group] ?? "#999"}"><title>${esc(`${row.name} ${shape.name}: ${int(d.median)} dg/s (min ${int(d.min)}, max ${int(d.max)})`)}</title></rect>`,
        );
        o.push(
          `<line x1="${(px + x(d.min)).toFixed(1)}" y1="${y + barH / 2}" x2="${(px + x(d.max)).toFixed(1)}" y2="${y + barH / 2}" stroke="#000" stroke-width="1"/>`,
        );
        const limit = row.kind !== "c" && row.limit ? results.find((q) => q.row === row.limit && q.shape === shape.name) : null;
        if (limit) {
          const lx = px + x(limit.datagramsPerSecond.median);
          o.push(
            `<line x1="${lx.toFixed(1)}" y1="${y - 1}" x2="${lx.toFixed(1)}" y2="${y + barH + 1}" stroke="${LIMIT_COLOR}" stroke-width="2.5"><title>${esc(`${row.limit}: ${int(limit.datagramsPerSecond.median)} dg/s`)}</title></line>`,
          );
        }
        const end = Math.max(x(d.max), x(d.median), limit ? x(limit.datagramsPerSecond.median) : 0);
        o.push(`<text x="${(px + end + 4).toFixed(1)}" y="${y + barH - 2}" font-size="9" fill="#333">${short(d.median)}</text>`);
      });
    });
  });
  const ly = top + counts.length * panelH + 20;
  let lx = 10;
  for (const [label, color] of legend) {
    o.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color}"/>`);
    o.push(`<text x="${lx + 16}" y="${ly + 10}">${esc(label)}</text>`);
    lx += 34 + label.length * 6.2;
  }
  o.push(
    `<line x1="${lx.toFixed(1)}" y1="${ly - 1}" x2="${lx.toFixed(1)}" y2="${ly + 13}" stroke="${LIMIT_COLOR}" stroke-width="2.5"/>`,
  );
  o.push(`<text x="${(lx + 6).toFixed(1)}" y="${ly + 10}">the row's C limit</text>`);
  o.push(
    `<text x="10" y="${ly + 34}" fill="#555">${esc(`${config.durationMs} ms per measurement, ${config.window} in flight or per call; receiver: C recvmmsg, SO_RCVBUF ${config.receiver.rcvbuf} bytes, paced ${config.receiver.paceUs} µs. Data: throughput.json; table: throughput.md.`)}</text>`,
  );
  o.push("</svg>");
  return `${o.join("\n")}\n`;
}
