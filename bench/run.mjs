// `pnpm bench [-- --quick]`: the throughput benchmark (with the arguments given), then the
// round-trip latency one and the receive throughput one (each with --quick alone, if given),
// then a verdict: every target row of the three, met or not (read back from their JSON files).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { textTable } from "./lib/format.mjs";
import { verdictRows } from "./lib/targets.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => a !== "--");
const quick = args.includes("--quick");
const defaultOut = join(here, "results", quick ? "tmp" : "");
const outArg = args.find((a) => a.startsWith("--out="))?.slice(6);
const benches = [
  { name: "throughput", script: "throughput.mjs", args, out: outArg ? resolve(outArg) : defaultOut },
  { name: "latency", script: "latency.mjs", args: quick ? ["--quick"] : [], out: defaultOut },
  { name: "receive", script: "receive.mjs", args: quick ? ["--quick"] : [], out: defaultOut },
];
const started = Date.now();
for (const b of benches) {
  const r = spawnSync(process.execPath, [join(here, b.script), ...b.args], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const rows = [];
const missing = [];
for (const b of benches) {
  const file = join(b.out, `${b.name}.json`);
  let report = null;
  try {
    report = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // Said below.
  }
  // A file from before this run is not this run's verdict.
  if (report?.targets && Date.parse(report.generatedAt) >= started - 1000) rows.push(...verdictRows(b.name, report.targets));
  else missing.push(`  ${b.name}: no targets (${file} was not written by this run)`);
}
console.log("");
console.log(`verdict: ${rows.filter((r) => r.met).length} of ${rows.length} target rows met (a miss is reported, not a failure)`);
if (rows.length > 0) {
  for (const l of textTable(
    ["bench", "row", "target", "verdict"],
    rows.map((r) => r.cells),
    ["l", "l", "l", "l"],
    "  ",
  ))
    console.log(l);
}
for (const l of missing) console.log(l);
