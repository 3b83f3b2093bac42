// `pnpm bench [-- --quick]`: the throughput benchmark (with the arguments given), then the
// round-trip latency one and the receive throughput one (each with --quick alone, if given).
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => a !== "--");
const quick = args.includes("--quick");
for (const script of ["throughput.mjs", "latency.mjs", "receive.mjs"]) {
  const forwarded = script === "throughput.mjs" ? args : quick ? ["--quick"] : [];
  const r = spawnSync(process.execPath, [join(here, script), ...forwarded], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
