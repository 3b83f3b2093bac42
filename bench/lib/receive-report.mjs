// The receive benchmark's statistics and outputs: the terminal table, the targets, the
// Markdown report and the SVG chart (drawn here, no chart library).
import { median, short } from "./report.mjs";

const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

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
    name: "native receivers >= 0.75x C recvmmsg",
    rows: ["native/facade-event", "native/facade-routine", "native/receive", "native/datagrams"],
    ratio: "vsRecvmmsg",
    min: 0.75,
  },
  {
    name: "dgram receivers >= 0.9x raw dgram 'message'",
    rows: ["dgram/facade-event", "dgram/facade-routine", "dgram/receive", "dgram/datagrams"],
    ratio: "vsRawDgram",
    min: 0.9,
  },
];

/** Per target row, its paired ratio per shape; met when it holds in every shape measured. */
export function evaluateTargets(results, shapes) {
  return RX_TARGETS.map((t) => ({
    target: t.name,
    threshold: t.min,
    rows: t.rows.map((row) => {
      const perShape = shapes.map((s) => {
        const r = results.find((x) => x.row === row && x.shape === s.name)?.[t.ratio];
        return { shape: s.name, ratio: r ? r.median : null };
      });
      const known = perShape.filter((p) => p.ratio !== null);
      return {
        row,
        perShape,
        shapesMet: known.filter((p) => p.ratio >= t.min).length,
        shapesKnown: known.length,
        met: known.length > 0 && known.every((p) => p.ratio >= t.min),
      };
    }),
  }));
}

const verdictOf = (r) =>
  r.shapesKnown === 0 ? "not measured" : r.met ? "MET" : `not met (${r.shapesMet}/${r.shapesKnown} shapes)`;

export function targetsText(targets) {
  const out = [];
  for (const t of targets) {
    out.push(t.target);
    for (const r of t.rows) {
      const cells = r.perShape.map((p) => `${p.shape} ${p.ratio === null ? "-" : `${p.ratio.toFixed(2)}x`}`).join(", ");
      out.push(`  ${r.row}: ${verdictOf(r)}; ${cells}`);
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------
// Tables

const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "-");
const fixed = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : "-");
const ratio = (r) => (r ? `${r.median.toFixed(2)}x` : "-");
const ratioRange = (r) => (r ? `${r.median.toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)})` : "-");
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
export function terminalTable(results, shapes) {
  const lines = [];
  const cells = results.map((r) => COLUMNS.map(([, f]) => f(r)));
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const fmt = (c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  for (const shape of shapes) {
    const block = results.map((r, i) => [r, cells[i]]).filter(([r]) => r.shape === shape.name);
    if (block.length === 0) continue;
    lines.push("", `${shape.name}: ${shape.title}`, fmt(COLUMNS.map(([h]) => h)), widths.map((w) => "-".repeat(w)).join("  "));
    for (const [, c] of block) lines.push(fmt(c));
  }
  return lines.join("\n");
}

const mdEscape = (s) => String(s).replaceAll("|", "\\|");

function mdTable(header, rows, align) {
  const sep = align.map((a) => (a === "l" ? "---" : "---:"));
  return [header, sep, ...rows].map((r) => `| ${r.map(mdEscape).join(" | ")} |`).join("\n");
}

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
    "Each cell: the median over the runs of (row's received datagrams/s / the reference's in the same run). A target is met " +
      "when it holds in every shape.",
    "",
  );
  const shapeNames = shapes.map((s) => s.name);
  const targetRows = [];
  for (const t of targets) {
    for (const r of t.rows) {
      targetRows.push([
        t.target,
        r.row,
        ...r.perShape.map((p) => (p.ratio === null ? "-" : `${p.ratio.toFixed(2)}${p.ratio >= t.threshold ? "" : " ✗"}`)),
        r.shapesKnown === 0 ? "-" : r.met ? "**met**" : `not met (${r.shapesMet}/${r.shapesKnown})`,
      ]);
    }
  }
  out.push(mdTable(["target", "row", ...shapeNames, "verdict"], targetRows, ["l", "l", ...shapeNames.map(() => "r")]), "");
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
// SVG chart: one panel per shape (columns: datagram size; rows: buffers per receive), a
// bar per row (median received datagrams/s, whisker min-max) on a shared linear scale,
// and a red line across each panel at C recvmmsg's median.

const COLORS = { raw: "#8c8c8c", dgram: "#4878c8", native: "#e0862a", c: "#3a3a3a" };
const LIMIT_COLOR = "#d62728";
const esc = (s) => String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

export function svgChart(report) {
  const { results, shapes, rows, machine, config } = report;
  const sizes = [...new Set(shapes.map((s) => s.size))];
  const counts = [...new Set(shapes.map((s) => s.buffers))];
  const shown = rows.filter((r) => results.some((x) => x.row === r.name));
  const barH = 11;
  const gap = 3;
  const labelW = 150;
  const panelW = 260;
  const panelGap = 40;
  const panelTop = 30;
  const panelH = panelTop + shown.length * (barH + gap) + 24;
  const top = 66;
  const legendH = 56;
  const width = labelW + sizes.length * (panelW + panelGap) + 10;
  const height = top + counts.length * panelH + legendH;
  const highest = Math.max(1, ...results.map((r) => r.receivedPerSecond.max));
  const step = [1, 2, 2.5, 5].map((m) => m * 10 ** Math.floor(Math.log10(highest / 4))).find((s) => highest / s <= 5);
  const hi = Math.ceil(highest / step) * step;
  const x = (v) => (panelW * Math.min(Math.max(v, 0), hi)) / hi;
  const o = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
  );
  o.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  o.push(
    `<text x="10" y="22" font-size="16" font-weight="bold">Datagrams received per second on loopback, a C sender flooding each receiver (median of ${config.runs} runs)</text>`,
  );
  o.push(
    `<text x="10" y="40" fill="#555">${esc(`${machine.cpuModel}, ${machine.cores} cores, ${machine.os}, Linux ${machine.kernel}, Node.js ${machine.node}; ${report.generatedAt.slice(0, 10)}`)}</text>`,
  );
  o.push(
    `<text x="10" y="56" fill="#555">Whiskers: min-max over the runs. Red line: C recvmmsg, same shape. Buffers: what each receive scatters into (raw dgram and datagrams() take one Buffer whatever the shape).</text>`,
  );
  counts.forEach((count, ci) => {
    const py = top + ci * panelH;
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
        `<text x="${px}" y="${py + 18}" font-size="12" font-weight="bold">${esc(`${size}-byte datagrams, ${count} buffer${count > 1 ? "s" : ""} (${shape.name})`)}</text>`,
      );
      for (let t = 0; t <= hi + step / 2; t += step) {
        const tx = px + x(t);
        o.push(
          `<line x1="${tx.toFixed(1)}" y1="${py + panelTop - 4}" x2="${tx.toFixed(1)}" y2="${py + panelTop + plotH}" stroke="${t === 0 ? "#999" : "#e4e4e4"}"/>`,
        );
        o.push(
          `<text x="${tx.toFixed(1)}" y="${py + panelTop + plotH + 12}" text-anchor="middle" fill="#666" font-size="9">${short(t)}</text>`,
        );
      }
      shown.forEach((row, ri) => {
        const r = results.find((q) => q.row === row.name && q.shape === shape.name);
        if (!r) return;
        const y = py + panelTop + ri * (barH + gap);
        const d = r.receivedPerSecond;
        o.push(
          `<rect x="${px}" y="${y}" width="${Math.max(1, x(d.median)).toFixed(1)}" height="${barH}" fill="${COLORS[row.group] ?? "#999"}"><title>${esc(`${row.name} ${shape.name}: ${int(d.median)} dg/s (min ${int(d.min)}, max ${int(d.max)}); lost ${pct(r.lossPercent)}`)}</title></rect>`,
        );
        o.push(
          `<line x1="${(px + x(d.min)).toFixed(1)}" y1="${y + barH / 2}" x2="${(px + x(d.max)).toFixed(1)}" y2="${y + barH / 2}" stroke="#000"/>`,
        );
        o.push(
          `<text x="${(px + Math.max(x(d.max), x(d.median)) + 4).toFixed(1)}" y="${y + barH - 2}" font-size="9" fill="#333">${short(d.median)}</text>`,
        );
      });
      const limit = results.find((q) => q.row === "C/recvmmsg" && q.shape === shape.name);
      if (limit) {
        const lx = px + x(limit.receivedPerSecond.median);
        o.push(
          `<line x1="${lx.toFixed(1)}" y1="${py + panelTop - 4}" x2="${lx.toFixed(1)}" y2="${py + panelTop + plotH}" stroke="${LIMIT_COLOR}" stroke-width="1.5"/>`,
        );
      }
    });
  });
  const ly = top + counts.length * panelH + 14;
  let lx = 10;
  for (const [label, color] of [
    ["raw node:dgram 'message'", COLORS.raw],
    ["dgram backend: facade, idiomatic", COLORS.dgram],
    ["native backend: facade, idiomatic", COLORS.native],
    ["C recvmsg / recvmmsg", COLORS.c],
  ]) {
    o.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color}"/>`);
    o.push(`<text x="${lx + 16}" y="${ly + 10}">${esc(label)}</text>`);
    lx += 40 + label.length * 6.2;
  }
  o.push(`<line x1="${lx}" y1="${ly - 1}" x2="${lx}" y2="${ly + 13}" stroke="${LIMIT_COLOR}" stroke-width="2"/>`);
  o.push(`<text x="${lx + 6}" y="${ly + 10}">C recvmmsg</text>`);
  o.push(
    `<text x="10" y="${ly + 32}" fill="#555">${esc(`${config.durationMs} ms floods (${config.flood.mode === "gso" ? "UDP GSO" : "sendmmsg"}), ${config.window} receives posted or per recvmmsg, SO_RCVBUF ${config.rcvbuf} requested. Data: receive.json; table: receive.md.`)}</text>`,
  );
  o.push("</svg>");
  return `${o.join("\n")}\n`;
}
