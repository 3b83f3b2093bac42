// What every stress scenario shares: its checks and closing line, the backends that load
// here, figures printed the same way, child processes with a hard timeout, and the
// throttled loopback (a network namespace of the scenario's own, tbf on its `lo`).
//
// A scenario prints readable lines (figures, "ok" and "FAIL" lines) and ends with exactly
// one line `<name>: N passed, M failed` (N and M count checks); its exit code is 0 iff M = 0.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as ws from "wsasendto";

export { ws };

export const STRESS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = join(STRESS_DIR, "..");
export const QUICK = process.argv.includes("--quick");
export const BACKEND_NAMES = ["dgram", "native"];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** A sleep that does not keep the process alive: the losing side of a race with a timeout. */
export const deadline = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** The line that closes a scenario's output, and how the runner reads it back. */
export const SUMMARY = /^(\S+): (\d+) passed, (\d+) failed$/;

/** Checks of one scenario: each prints "ok" or "FAIL" with its label; `finish` prints the closing line. */
export class Checks {
  constructor(name) {
    this.name = name;
    this.passed = 0;
    this.failed = 0;
    this.failures = [];
  }

  check(label, ok, detail = "") {
    if (ok) {
      this.passed++;
      console.log(`  ok    ${label}`);
    } else {
      this.failed++;
      this.failures.push(label);
      console.log(`  FAIL  ${label}${detail === "" ? "" : `: ${detail}`}`);
    }
    return Boolean(ok);
  }

  /** Adds the counts of a nested run (a child process that printed its own closing line). */
  absorb(passed, failed, label) {
    this.passed += passed;
    this.failed += failed;
    if (failed > 0) this.failures.push(label);
  }

  /**
   * A hard limit on the whole scenario: a wait that never settles (a Promise the library
   * never resolves) fails the scenario with its closing line instead of hanging it.
   */
  watchdog(ms) {
    this.timer = setTimeout(() => {
      this.check(`finished within ${seconds(ms)} (the scenario's own watchdog)`, false, "it hung: a wait never settled");
      this.finish();
      process.exit(1);
    }, ms);
  }

  finish() {
    clearTimeout(this.timer);
    if (this.failures.length > 0) console.log(`  failed checks: ${this.failures.join(" | ")}`);
    console.log(`${this.name}: ${this.passed} passed, ${this.failed} failed`);
    process.exitCode = this.failed === 0 ? 0 : 1;
  }
}

/** A section header: which backend and case the following lines are about. */
export function section(text) {
  console.log(`== ${text}`);
}

/** A line of figures. */
export function figure(text) {
  console.log(`  ${text}`);
}

/** 1234567 -> "1,234,567". */
export const n = (x) => Number(x).toLocaleString("en-US");
/** A rate in datagrams per second, rounded to thousands. */
export const rate = (count, ms) => `${n(Math.round(count / Math.max(ms, 1)))}k/s`;
export const mib = (bytes) => `${(bytes / 1048576).toFixed(2)} MiB`;
export const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

/**
 * The backends to run: each with `available` and, when it cannot load here, `reason`.
 * The native backend runs only where its binary loads; the scenario says so when it does not.
 */
export function backends() {
  return BACKEND_NAMES.map((name) => {
    const chosen = ws.selectBackend(name);
    return typeof chosen === "string" ? { name, available: false, reason: chosen } : { name, available: true };
  });
}

/** Runs `fn(backend)` for each backend that loads, printing why a backend is left out. */
export async function eachBackend(fn) {
  for (const b of backends()) {
    if (!b.available) {
      section(`${b.name}: not run, the backend does not load here (${b.reason})`);
      continue;
    }
    await fn(b.name);
  }
}

/** WSAStartup on `name` (through WSASENDTO_BACKEND, as a user would); false when that failed. */
export function startup(checks, name) {
  process.env.WSASENDTO_BACKEND = name;
  const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
  return checks.check(
    `${name}: WSAStartup on the ${name} backend`,
    rc === 0 && ws.backendName() === name,
    `rc ${rc}, backend ${ws.backendName()}`,
  );
}

/** A SOCKADDR_IN for 127.0.0.1:port. */
export function sockaddr(port) {
  return { sin_family: ws.AF_INET, sin_port: ws.htons(port), sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
}

/** The port a facade socket is bound to. */
export function boundPort(s) {
  const name = {};
  ws.getsockname(s, name, { value: 16 });
  return ws.ntohs(name.sin_port ?? 0);
}

/** `global.gc`, also when node was started without --expose-gc. */
export const gc = (() => {
  if (typeof globalThis.gc === "function") return globalThis.gc;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc");
})();

/** Heap used after full collections (a few, so that weak callbacks and finalizers have run). */
export async function heapAfterGc() {
  return (await memoryAfterGc()).heap;
}

/** Heap used and resident set size (bytes) after full garbage collections. */
export async function memoryAfterGc() {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(20);
  }
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

/** Open descriptors of this process. */
export function openFds() {
  return readdirSync("/proc/self/fd").length;
}

/**
 * The kernel's drop counter of the UDP socket bound to `port` in this network namespace
 * (the last column of /proc/net/udp and udp6), or null when it is not found.
 */
export function kernelDrops(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 12 && cols[1]?.endsWith(hex)) return Number(cols[cols.length - 1]);
    }
  }
  return null;
}

/**
 * Runs `node args...` (inside network namespace `ns` when given) with a hard timeout,
 * echoing its output line by line with `prefix`. Resolves with its exit code, signal,
 * whether it timed out, its output, and the counts of its closing line (if it printed one).
 */
export function runNode(args, { timeoutMs, env = {}, prefix = "", ns = null, echo = true } = {}) {
  const argv = [...process.execArgv.filter((a) => a === "--expose-gc"), ...args];
  const [file, fileArgs] = ns === null ? [process.execPath, argv] : [IP, ["netns", "exec", ns, process.execPath, ...argv]];
  return new Promise((resolve) => {
    const child = spawn(file, fileArgs, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    let timedOut = false;
    const echoLines = (stream, write) => {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk) => {
        out += chunk;
        partial += chunk;
        const lines = partial.split("\n");
        partial = lines.pop() ?? "";
        if (echo) for (const line of lines) write(`${prefix}${line}\n`);
      });
      stream.on("end", () => {
        if (echo && partial !== "") write(`${prefix}${partial}\n`);
      });
    };
    echoLines(child.stdout, (s) => process.stdout.write(s));
    echoLines(child.stderr, (s) => process.stderr.write(s));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      // Whatever the child started (a namespace's `ip netns exec`, its own children) ends with it.
      killGroup(child.pid);
      const last = out.trimEnd().split("\n").pop() ?? "";
      const m = SUMMARY.exec(last);
      resolve({
        code,
        signal,
        timedOut,
        out,
        summary: m ? { name: m[1], passed: Number(m[2]), failed: Number(m[3]) } : null,
      });
    });
  });
}

function killGroup(pid) {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
}

/**
 * Folds a child's run into `checks`: its own checks, plus one failed check if it timed
 * out, died by a signal, printed no closing line, or exited non-zero with no failed check.
 */
export function absorbChild(checks, label, r, timeoutMs) {
  if (r.summary) checks.absorb(r.summary.passed, r.summary.failed, label);
  const how = r.timedOut
    ? `killed after its hard timeout of ${seconds(timeoutMs)}`
    : r.signal
      ? `killed by ${r.signal}`
      : !r.summary
        ? `exited with code ${r.code} without its closing line`
        : r.code !== 0 && r.summary.failed === 0
          ? `exited with code ${r.code} though no check failed`
          : "";
  checks.check(`${label}: ran to its end (exit code 0 iff no check failed)`, how === "", how);
}

// ---- The throttled loopback -------------------------------------------------------------

function findTool(name) {
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return name;
}

export const IP = findTool("ip");
const TC = findTool("tc");
const NS_PREFIX = "wsasendto-stress-";

/**
 * The throttle, as in test/netns/throttled.test.ts: 4 Mbit/s, a 4 KiB bucket and a queue
 * limit above what a send buffer holds, so a socket's buffer fills (EAGAIN) before the
 * qdisc drops anything, and sends really wait in the backends.
 */
export const TBF = ["rate", "4mbit", "burst", "32kbit", "limit", "400000"];

function run(file, args) {
  return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

function firstLine(error) {
  return (error?.stderr?.trim() || error?.message || String(error)).split("\n")[0];
}

/** Deletes the stress namespaces whose creating process is gone (a run killed before it cleaned up). */
export function removeStaleNamespaces() {
  let list = "";
  try {
    list = run(IP, ["netns", "list"]);
  } catch {
    return;
  }
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = /^wsasendto-stress-(\d+)-\d+$/.exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      alive = e.code === "EPERM";
    }
    if (!alive || Number(m[1]) === process.pid) continue;
    try {
      run(IP, ["netns", "del", name]);
    } catch {
      // Someone else removed it meanwhile.
    }
  }
  // Namespaces of this process left by an earlier call are removed by their own `finally`.
}

const live = new Set();
let namespaceCount = 0;

function deleteNamespace(name) {
  if (!live.delete(name)) return;
  try {
    run(IP, ["netns", "del", name]);
  } catch {
    // Already gone.
  }
}

function deleteAll() {
  for (const name of [...live]) deleteNamespace(name);
}

process.on("exit", deleteAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    deleteAll();
    process.exit(1);
  });
}

/**
 * Runs `fn(ns)` with a fresh namespace whose `lo` is up and throttled; the namespace is
 * deleted afterwards, also when `fn` throws. Resolves with `{ error }` when it could not be
 * made (Linux, iproute2 and root are needed), else with `fn`'s value.
 */
export async function withThrottledNamespace(fn) {
  removeStaleNamespaces();
  const name = `${NS_PREFIX}${process.pid}-${++namespaceCount}`;
  try {
    run(IP, ["netns", "add", name]);
  } catch (error) {
    return {
      error: `\`ip netns add ${name}\` failed (${firstLine(error)}): the throttled loopback needs Linux, iproute2 and root`,
    };
  }
  live.add(name);
  try {
    try {
      run(IP, ["-n", name, "link", "set", "lo", "up"]);
      run(TC, ["-n", name, "qdisc", "add", "dev", "lo", "root", "tbf", ...TBF]);
    } catch (error) {
      return { error: `setting up lo in ${name} failed (${firstLine(error)}): tc with sch_tbf is needed` };
    }
    return await fn(name);
  } finally {
    deleteNamespace(name);
  }
}

/** True when this process runs inside a namespace made by `withThrottledNamespace` (its `--inner` run). */
export const INNER = process.argv.includes("--inner");

/**
 * Runs this scenario's script again inside a throttled namespace (`--inner`), echoing its
 * lines indented, and folds its checks into `checks`.
 */
export async function runThrottled(checks, script, { timeoutMs, label }) {
  section(`${label}: on a throttled loopback (own network namespace, tbf ${TBF.join(" ")} on lo)`);
  const result = await withThrottledNamespace((ns) =>
    runNode([join(STRESS_DIR, script), "--inner", ...(QUICK ? ["--quick"] : [])], { timeoutMs, ns, prefix: "  | " }),
  );
  if (result.error) {
    checks.check(`${label}: the throttled namespace was made`, false, result.error);
    return;
  }
  absorbChild(checks, `${label} (inside the namespace)`, result, timeoutMs);
}

/** A bound on a loop in count and time: `more()` is false once either is used up. */
export function bounded(maxIterations, maxMs) {
  const start = Date.now();
  let i = 0;
  return {
    more: () => i++ < maxIterations && Date.now() - start < maxMs,
    get iterations() {
      return i;
    },
    get ms() {
      return Date.now() - start;
    },
  };
}
