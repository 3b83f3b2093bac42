// The bench's SVG charts, drawn here (no chart library): one panel per shape (columns:
// datagram size; rows: buffers per datagram), a bar per row (its median, whisker min-max)
// on an axis shared by every panel (log or linear), ticks on the bars (a row's C limit, its
// target) and lines across a panel (the panel's limit). Used by the send and the receive
// benchmarks alike.
import { int, short } from "./format.mjs";

export const COLORS = { raw: "#8c8c8c", dgram: "#4878c8", native: "#e0862a", batch: "#2f9a57", c: "#3a3a3a" };
export const LIMIT_COLOR = "#d62728";
export const TARGET_COLOR = "#111111";

const esc = (s) => String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const px1 = (v) => v.toFixed(1);

/**
 * The axis from `lows` (the medians: the lowest sets a log axis's start) to `highs`: a 1-2-5
 * log scale, or a linear one from 0 in 4 or 5 round steps.
 */
function axis(scale, lows, highs, width) {
  const highest = Math.max(1, ...highs.filter((v) => v > 0));
  if (scale === "log") {
    const steps = [];
    for (let d = 1; d <= 1e9; d *= 10) steps.push(d, 2 * d, 5 * d);
    const positive = lows.filter((v) => v > 0);
    const lo = steps.findLast((s) => s <= Math.min(...positive, highest) / 1.2) ?? 1;
    const hi = steps.find((s) => s >= highest) ?? 1e9;
    const x = (v) => (width * (Math.log10(Math.min(Math.max(v, lo), hi)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
    return { x, ticks: steps.filter((s) => s >= lo && s <= hi).map((t) => [t, Math.log10(t) % 1 === 0]) };
  }
  const step = [1, 2, 2.5, 5].map((m) => m * 10 ** Math.floor(Math.log10(highest / 4))).find((s) => highest / s <= 5);
  const hi = Math.ceil(highest / step) * step;
  const ticks = [];
  for (let t = 0; t <= hi + step / 2; t += step) ticks.push([t, t === 0]);
  return { x: (v) => (width * Math.min(Math.max(v, 0), hi)) / hi, ticks };
}

/**
 * The chart. `o`: {
 *   title, subtitles (grey lines under the title), footer,
 *   shapes ({ name, size, buffers }), rows ({ name, group }: one bar each, in this order),
 *   value(row, shape): { median, min, max, tip } or null (no bar),
 *   scale: "log" or "linear",
 *   ticks(row, shape): [{ value, color, tip }] drawn on the bar (optional),
 *   panelLines(shape): [{ value, color, tip }] drawn across the panel (optional),
 *   legend: [[label, color]] (bars), marks: [[label, color]] (ticks and lines),
 * }
 */
export function panelChart(o) {
  const sizes = [...new Set(o.shapes.map((s) => s.size))];
  const counts = [...new Set(o.shapes.map((s) => s.buffers))];
  const barH = 11;
  const gap = 3;
  const labelW = Math.max(120, 16 + Math.ceil(6.2 * Math.max(0, ...o.rows.map((r) => r.name.length))));
  const panelW = 300;
  const panelGap = 40;
  const panelTop = 32;
  const plotH = o.rows.length * (barH + gap);
  const panelH = panelTop + plotH + 26;
  const top = 38 + 16 * o.subtitles.length;
  const legendItems = [...o.legend.map(([l, c]) => [l, c, "bar"]), ...o.marks.map(([l, c]) => [l, c, "mark"])];
  const itemW = (label) => 34 + label.length * 6.2;
  const legendW = 20 + legendItems.reduce((a, [l]) => a + itemW(l), 0);
  const width = Math.ceil(Math.max(labelW + sizes.length * (panelW + panelGap) + 10, Math.min(legendW, 1600)));
  // The legend wraps onto a second line when it is wider than the panels.
  const legendLines = [[]];
  let used = 10;
  for (const item of legendItems) {
    if (used + itemW(item[0]) > width && legendLines.at(-1).length > 0) {
      legendLines.push([]);
      used = 10;
    }
    legendLines.at(-1).push(item);
    used += itemW(item[0]);
  }
  const height = top + counts.length * panelH + 20 * legendLines.length + 36;

  const values = new Map();
  for (const shape of o.shapes) for (const row of o.rows) values.set(`${row.name}/${shape.name}`, o.value(row, shape));
  const bars = [...values.values()].filter(Boolean);
  const ticksOf = (row, shape) => o.ticks?.(row, shape) ?? [];
  const marks = o.shapes
    .flatMap((s) => [...(o.panelLines?.(s) ?? []), ...o.rows.flatMap((r) => ticksOf(r, s))])
    .map((m) => m.value);
  const { x, ticks } = axis(
    o.scale,
    bars.map((b) => b.median),
    [...bars.map((b) => Math.max(b.max, b.median)), ...marks],
    panelW,
  );

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="10" y="22" font-size="16" font-weight="bold">${esc(o.title)}</text>`);
  o.subtitles.forEach((line, i) => {
    out.push(`<text x="10" y="${40 + 16 * i}" fill="#555">${esc(line)}</text>`);
  });
  counts.forEach((count, ci) => {
    const py = top + ci * panelH;
    // Row labels, once per band of panels.
    o.rows.forEach((row, ri) => {
      const y = py + panelTop + ri * (barH + gap);
      out.push(`<text x="${labelW - 8}" y="${y + barH - 2}" text-anchor="end">${esc(row.name)}</text>`);
    });
    sizes.forEach((size, si) => {
      const shape = o.shapes.find((s) => s.size === size && s.buffers === count);
      if (!shape) return;
      const px = labelW + si * (panelW + panelGap);
      out.push(
        `<text x="${px}" y="${py + 20}" font-size="12" font-weight="bold">${esc(`${size}-byte datagrams, ${count} buffer${count > 1 ? "s" : ""} (${shape.name})`)}</text>`,
      );
      for (const [t, major] of ticks) {
        const tx = px1(px + x(t));
        out.push(
          `<line x1="${tx}" y1="${py + panelTop - 4}" x2="${tx}" y2="${py + panelTop + plotH}" stroke="${major ? "#bbb" : "#e4e4e4"}"/>`,
        );
        out.push(
          `<text x="${tx}" y="${py + panelTop + plotH + 12}" text-anchor="middle" fill="#666" font-size="9">${short(t)}</text>`,
        );
      }
      o.rows.forEach((row, ri) => {
        const d = values.get(`${row.name}/${shape.name}`);
        if (!d) return;
        const y = py + panelTop + ri * (barH + gap);
        out.push(
          `<rect x="${px}" y="${y}" width="${px1(Math.max(1, x(d.median)))}" height="${barH}" fill="${COLORS[row.group] ?? "#999"}"><title>${esc(d.tip ?? `${row.name} ${shape.name}: ${int(d.median)} (min ${int(d.min)}, max ${int(d.max)})`)}</title></rect>`,
        );
        out.push(
          `<line x1="${px1(px + x(d.min))}" y1="${y + barH / 2}" x2="${px1(px + x(d.max))}" y2="${y + barH / 2}" stroke="#000" stroke-width="1"/>`,
        );
        let end = Math.max(x(d.max), x(d.median));
        for (const m of ticksOf(row, shape)) {
          const mx = px1(px + x(m.value));
          out.push(
            `<line x1="${mx}" y1="${y - 1}" x2="${mx}" y2="${y + barH + 1}" stroke="${m.color}" stroke-width="2.5"><title>${esc(m.tip)}</title></line>`,
          );
          end = Math.max(end, x(m.value));
        }
        out.push(`<text x="${px1(px + end + 4)}" y="${y + barH - 2}" font-size="9" fill="#333">${short(d.median)}</text>`);
      });
      for (const m of o.panelLines?.(shape) ?? []) {
        const mx = px1(px + x(m.value));
        out.push(
          `<line x1="${mx}" y1="${py + panelTop - 4}" x2="${mx}" y2="${py + panelTop + plotH}" stroke="${m.color}" stroke-width="1.5"><title>${esc(m.tip)}</title></line>`,
        );
      }
    });
  });
  let ly = top + counts.length * panelH + 14;
  for (const line of legendLines) {
    let lx = 10;
    for (const [label, color, kind] of line) {
      if (kind === "bar") out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${color}"/>`);
      else out.push(`<line x1="${lx + 6}" y1="${ly - 1}" x2="${lx + 6}" y2="${ly + 13}" stroke="${color}" stroke-width="2.5"/>`);
      out.push(`<text x="${lx + 16}" y="${ly + 10}">${esc(label)}</text>`);
      lx += itemW(label);
    }
    ly += 20;
  }
  out.push(`<text x="10" y="${ly + 14}" fill="#555">${esc(o.footer)}</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
