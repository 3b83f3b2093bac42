// The stress suite's runner: runs every scenario as a child process in turn, with a hard
// timeout each (a timeout counts as a failure), echoes their output, and ends with
// `stress: N passed, M failed` (checks of all scenarios), exiting non-zero on any failure.
//
// Usage: node stress/run.mjs [--quick] [--only soak,flood]
import { existsSync } from "node:fs";
import { join } from "node:path";
import { QUICK, removeStaleNamespaces, runNode, STRESS_DIR, seconds } from "./lib/harness.mjs";

/** Every scenario, in the order they run, with its hard timeout. */
const SCENARIOS = [
  { name: "soak", timeoutMs: 240_000 },
  { name: "abort-close", timeoutMs: 90_000 },
  { name: "workers", timeoutMs: 120_000 },
  { name: "polling", timeoutMs: 120_000 },
  { name: "flood", timeoutMs: 90_000 },
  { name: "fuzz", timeoutMs: 150_000 },
];

function parseOnly() {
  const i = process.argv.indexOf("--only");
  if (i < 0) return null;
  const names = (process.argv[i + 1] ?? "").split(",").filter((s) => s !== "");
  const unknown = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (names.length === 0 || unknown.length > 0) {
    console.error(
      `--only: unknown scenario ${unknown.join(", ") || "(none given)"}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`,
    );
    process.exit(2);
  }
  return new Set(names);
}

const only = parseOnly();
const chosen = SCENARIOS.filter((s) => only === null || only.has(s.name));
const rows = [];
const started = Date.now();
console.log(`stress: ${chosen.map((s) => s.name).join(", ")}${QUICK ? " (--quick)" : ""}; node ${process.version}`);

for (const { name, timeoutMs } of chosen) {
  const file = join(STRESS_DIR, `${name}.mjs`);
  console.log(`\n#### ${name}: node stress/${name}.mjs${QUICK ? " --quick" : ""} (hard timeout ${seconds(timeoutMs)})`);
  if (!existsSync(file)) {
    console.log(`${name}: stress/${name}.mjs is missing: counted as failed`);
    rows.push({ name, passed: 0, failed: 1, ms: 0, how: "missing" });
    continue;
  }
  const t0 = Date.now();
  const r = await runNode([file, ...(QUICK ? ["--quick"] : [])], { timeoutMs });
  const ms = Date.now() - t0;
  // A scenario killed by its timeout leaves its namespaces behind: they go now.
  removeStaleNamespaces();
  const passed = r.summary?.passed ?? 0;
  let failed = r.summary?.failed ?? 0;
  let how = "";
  if (r.timedOut) how = `killed after its hard timeout of ${seconds(timeoutMs)}`;
  else if (r.signal) how = `died by ${r.signal}`;
  else if (!r.summary) how = `exit code ${r.code} and no closing line "${name}: N passed, M failed"`;
  else if (r.summary.name !== name) how = `its closing line names "${r.summary.name}", not "${name}"`;
  else if ((r.code === 0) !== (failed === 0)) how = `exit code ${r.code} with ${failed} failed checks`;
  if (how !== "") {
    failed++;
    console.log(`${name}: FAILED TO RUN CLEANLY: ${how} (counted as one more failure)`);
  }
  rows.push({ name, passed, failed, ms, how });
}

const total = Date.now() - started;
console.log("\n#### stress: summary");
for (const r of rows)
  console.log(
    `  ${r.name.padEnd(12)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed  ${seconds(r.ms).padStart(9)}` +
      `${r.how ? `  (${r.how})` : ""}`,
  );
console.log(`  total time ${seconds(total)}`);
const passed = rows.reduce((k, r) => k + r.passed, 0);
const failed = rows.reduce((k, r) => k + r.failed, 0);
console.log(`stress: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
