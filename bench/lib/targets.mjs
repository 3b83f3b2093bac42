// Targets, shared by the three benchmarks: which rows must reach what share of which
// reference row. Each cell is a paired ratio (the median over the runs of row / reference
// in the same run) of one shape; a row meets its target when the ratio holds in every shape
// measured. Here: their evaluation, their tables (terminal and Markdown), and the verdict
// lines that `pnpm bench` prints at its end.
import { mdTable, textTable } from "./format.mjs";

/**
 * A target: { name, rows, ref (the reference row), versus (how the reference is named in a
 * verdict, e.g. "C/sendmmsg"), ratio (the key of the paired ratio in a result: a
 * { median, ... } or a number), and min (ratio >= min) or max (ratio <= max), and
 * optionally stretch (a second, harder threshold, in the same direction) }.
 *
 * Each target row gets its ratio per shape and a verdict: "met", "not met", "not measured"
 * (the row has no result: left out, or not picked with --rows) or "no reference" (the row
 * was measured but its reference was not, so there is no ratio).
 */
export function evaluateTargets(defs, results, shapes) {
  return defs.map((t) => {
    const upper = t.max !== undefined;
    const threshold = upper ? t.max : t.min;
    const holds = (v, limit) => (upper ? v <= limit : v >= limit);
    const stretch = t.stretch ?? null;
    return {
      target: t.name,
      ref: t.ref,
      versus: t.versus ?? t.ref,
      ratio: t.ratio,
      direction: upper ? "max" : "min",
      threshold,
      stretch,
      rows: t.rows.map((row) => {
        const measured = results.some((x) => x.row === row);
        const perShape = shapes.map((s) => {
          const v = results.find((x) => x.row === row && x.shape === s.name)?.[t.ratio];
          const value = typeof v === "number" ? v : (v?.median ?? null);
          const known = value !== null && Number.isFinite(value);
          return {
            shape: s.name,
            ratio: known ? value : null,
            met: known ? holds(value, threshold) : null,
            stretchMet: known && stretch !== null ? holds(value, stretch) : null,
          };
        });
        const known = perShape.filter((p) => p.ratio !== null);
        const shapesMet = known.filter((p) => p.met).length;
        const verdict = !measured
          ? "not measured"
          : known.length === 0
            ? "no reference"
            : shapesMet === known.length
              ? "met"
              : "not met";
        const stretchMet = known.filter((p) => p.stretchMet).length;
        return {
          row,
          perShape,
          shapesKnown: known.length,
          shapesMet,
          verdict,
          met: verdict === "met",
          stretch:
            stretch === null || known.length === 0
              ? null
              : { shapesMet: stretchMet, verdict: stretchMet === known.length ? "met" : "not met" },
        };
      }),
    };
  });
}

const op = (t) => (t.direction === "max" ? "<=" : ">=");
/** "0.75x", "1.0x". */
const times = (v) => `${v.toFixed(2).replace(/0$/, "")}x`;

/** ">= 0.75x C/sendmmsg (stretch 0.85x)". */
export const targetLabel = (t) =>
  `${op(t)} ${times(t.threshold)} ${t.versus}${t.stretch !== null ? ` (stretch ${times(t.stretch)})` : ""}`;

/** A row's verdict in words: "met", "not met (3/9 shapes)", "no reference (C/sendmmsg not measured)". */
export function verdictText(t, r) {
  if (r.verdict === "not met") return r.perShape.length > 1 ? `not met (${r.shapesMet}/${r.shapesKnown} shapes)` : "not met";
  if (r.verdict === "no reference") return `no reference (${t.ref} not measured)`;
  if (r.verdict === "met" && r.shapesKnown < r.perShape.length) return `met (${r.shapesKnown}/${r.perShape.length} shapes known)`;
  return r.verdict;
}

const stretchText = (r) =>
  r.stretch === null ? "-" : r.stretch.verdict === "met" ? "met" : `not met (${r.stretch.shapesMet}/${r.shapesKnown})`;

const cell = (p) => (p.ratio === null ? "-" : `${p.ratio.toFixed(2)}x${p.met ? "" : " ✗"}`);

/**
 * The terminal's target table: a heading per target, then its rows with their ratio per
 * shape (✗: misses the target in that shape), the verdict, and the stretch's verdict for
 * the targets that have one. Every target's rows share the column widths.
 */
export function targetsText(targets, title = "Targets") {
  const shapes = targets[0]?.rows[0]?.perShape.map((p) => p.shape) ?? [];
  const anyStretch = targets.some((t) => t.stretch !== null);
  const header = ["row", ...shapes, "verdict", ...(anyStretch ? ["stretch"] : [])];
  const body = [];
  for (const t of targets) {
    for (const r of t.rows) {
      body.push([
        r.row,
        ...r.perShape.map(cell),
        verdictText(t, r),
        ...(anyStretch ? [t.stretch === null ? "" : stretchText(r)] : []),
      ]);
    }
  }
  const align = header.map((_, i) => (i === 0 || i > shapes.length ? "l" : "r"));
  const lines = textTable(header, body, align, "  ");
  const out = [
    `${title}: each cell the median over the runs of (row / reference in the same run); a row meets its target when it`,
    "holds in every shape (✗: missed in that shape). A miss is reported, not a failure.",
  ];
  let i = 0;
  for (const t of targets) {
    out.push(`${t.target}: ${targetLabel(t)}`);
    if (i === 0) out.push(lines[0], lines[1]);
    for (const _ of t.rows) out.push(lines[2 + i++]);
  }
  return out.join("\n");
}

/** The Markdown target table: one line per target row, the ratio per shape, the verdict(s). */
export function targetsMarkdown(targets) {
  const shapes = targets[0]?.rows[0]?.perShape.map((p) => p.shape) ?? [];
  const anyStretch = targets.some((t) => t.stretch !== null);
  const body = [];
  for (const t of targets) {
    for (const r of t.rows) {
      body.push([
        `${t.target}: ${targetLabel(t)}`,
        `\`${r.row}\``,
        ...r.perShape.map(cell),
        r.verdict === "met" ? `**${verdictText(t, r)}**` : verdictText(t, r),
        ...(anyStretch ? [t.stretch === null ? "" : stretchText(r)] : []),
      ]);
    }
  }
  const header = ["target", "row", ...shapes, "verdict", ...(anyStretch ? ["stretch"] : [])];
  return mdTable(header, body, ["l", "l", ...shapes.map(() => "r"), "l", ...(anyStretch ? ["l"] : [])]);
}

/**
 * One benchmark's target rows for the summary at the end of `pnpm bench`: [bench, row,
 * target, verdict] each, and whether it is met.
 */
export function verdictRows(bench, targets) {
  return targets.flatMap((t) =>
    t.rows.map((r) => ({
      met: r.met,
      cells: [
        bench,
        r.row,
        `${op(t)} ${times(t.threshold)} ${t.versus}`,
        `${verdictText(t, r)}${r.stretch === null ? "" : `; stretch ${op(t)} ${times(t.stretch)}: ${stretchText(r)}`}`,
      ],
    })),
  );
}
