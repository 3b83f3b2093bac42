// What the bench's scripts share around their measurements: their command line (options
// checked against a known list, integers in a range, row and shape names picked from a
// list) and a description of the machine the results come from.
import { readFileSync } from "node:fs";
import os from "node:os";

/**
 * The command line of a bench script: `known` options (`--name` flags and `--name=`
 * values), else the usage and exit 2. `pnpm bench -- --quick` passes a "--": ignored.
 */
export function commandLine(known, usage) {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  const unknown = args.filter((a) => !known.some((k) => (k.endsWith("=") ? a.startsWith(k) : a === k)));
  if (unknown.length > 0 || args.includes("--help")) {
    console.error(`${unknown.length > 0 ? `unknown argument: ${unknown.join(" ")}\n` : ""}${usage}`);
    process.exit(2);
  }
  const option = (name, fallback) => {
    const arg = args.find((a) => a.startsWith(`--${name}=`));
    return arg === undefined ? fallback : arg.slice(name.length + 3);
  };
  return {
    /** The arguments, as given (less the "--"). */
    args,
    quick: args.includes("--quick"),
    option,
    /** An integer option from `min` to `max`, else the usage and exit 2. */
    intOption(name, fallback, min, max) {
      const value = Number(option(name, fallback));
      if (!Number.isInteger(value) || value < min || value > max) {
        console.error(`--${name} must be an integer from ${min} to ${max}\n${usage}`);
        process.exit(2);
      }
      return value;
    },
    /** The entries of `list` named by `--name=a,b` (all, or `fallback`'s names, without it). */
    pick(list, name, what, fallback) {
      const wanted = option(name, null)?.split(",").filter(Boolean) ?? fallback;
      if (!wanted) return list;
      const chosen = wanted.map((w) => list.find((x) => x.name === w));
      if (chosen.some((x) => x === undefined)) {
        console.error(`--${name}: known ${what} are ${list.map((x) => x.name).join(", ")}`);
        process.exit(2);
      }
      return chosen;
    },
  };
}

/** The machine the results come from: OS, kernel, CPU, cores, Node, load. */
export function machine() {
  const read = (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return "";
    }
  };
  const osName = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(read("/etc/os-release"))?.[1] ?? `${os.type()} ${os.release()}`;
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(read("/proc/cpuinfo"))?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  return {
    os: osName,
    kernel: os.release(),
    arch: os.arch(),
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    loadAverage: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}
