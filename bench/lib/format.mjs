// What the bench's reports share: statistics over the runs, number formats, and tables
// (aligned text for the terminal, Markdown for the files).

export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median, min and max. */
export const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

export const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "-");
export const fixed = (v, d) => (Number.isFinite(v) ? v.toFixed(d) : "-");
/** A paired ratio's median: "0.93x". */
export const ratio = (r) => (r ? `${r.median.toFixed(2)}x` : "-");
/** A paired ratio's median, min and max: "0.93x (0.88-0.97)". */
export const ratioRange = (r) => (r ? `${r.median.toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)})` : "-");

/** Short: "1.2M", "345k". */
export function short(v) {
  if (!Number.isFinite(v)) return "-";
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(v));
}

/** Aligned text lines: `align` "l" or "r" per column; the header, a rule, then the rows. */
export function textTable(header, rows, align, indent = "") {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) =>
    indent +
    r
      .map((v, i) => (align[i] === "l" ? v.padEnd(widths[i]) : v.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [fmt(header), indent + widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)];
}

/**
 * The terminal's results: one block per shape, each headed by the shape's title. `columns`:
 * [header, cell(result), ...]; the first column is left-aligned, the others right-aligned.
 * Every block has the same column widths.
 */
export function shapeBlocks(results, shapes, columns) {
  const cells = results.map((r) => columns.map(([, f]) => f(r)));
  const header = columns.map(([h]) => h);
  const align = columns.map((_, i) => (i === 0 ? "l" : "r"));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  // Padding the header to the widths of every block makes every block as wide.
  const wide = header.map((h, i) => (i === 0 ? h.padEnd(widths[i]) : h.padStart(widths[i])));
  const lines = [];
  for (const shape of shapes) {
    const block = cells.filter((_, i) => results[i].shape === shape.name);
    if (block.length === 0) continue;
    lines.push("", `${shape.name}: ${shape.title}`, ...textTable(wide, block, align));
  }
  return lines.join("\n");
}

const mdEscape = (s) => String(s).replaceAll("|", "\\|");

/** A Markdown table: `align` "l" or "r" per column. */
export function mdTable(header, rows, align) {
  const sep = align.map((a) => (a === "l" ? "---" : "---:"));
  return [header, sep, ...rows].map((r) => `| ${r.map(mdEscape).join(" | ")} |`).join("\n");
}
