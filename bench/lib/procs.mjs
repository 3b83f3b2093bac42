// The C side of the benchmark: compiling bench/c/*.c, the receiver process (recvmmsg,
// counts what arrives) and the C sender runs (the kernel's limit).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SOURCES = fileURLToPath(new URL("../c/", import.meta.url));
export const BUILD_DIR = fileURLToPath(new URL("../build/", import.meta.url));
const CFLAGS = ["-O2", "-Wall", "-Wextra", "-std=gnu11"];

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

/** The C compiler: $CC, else gcc, else cc; and its version line. Throws if there is none. */
function compiler() {
  for (const cc of [process.env.CC, "gcc", "cc"].filter(Boolean)) {
    const r = spawnSync(cc, ["--version"], { encoding: "utf8", timeout: 10_000 });
    if (r.status === 0) return { cc, version: r.stdout.split("\n")[0].trim() };
  }
  throw new Error("no C compiler found (set CC, or install gcc): the bench compiles its receiver and C sender");
}

/**
 * Compiles receiver.c and sender.c into bench/build/ (gcc -O2) when a binary is missing
 * or older than its source. Returns the binaries' paths and the compiler's version.
 */
export function buildC() {
  const { cc, version } = compiler();
  mkdirSync(BUILD_DIR, { recursive: true });
  const out = {};
  for (const name of ["receiver", "sender"]) {
    const src = `${SOURCES}${name}.c`;
    const bin = `${BUILD_DIR}${name}`;
    if (mtime(bin) < mtime(src)) {
      const r = spawnSync(cc, [...CFLAGS, "-o", bin, src], { encoding: "utf8", timeout: 60_000 });
      if (r.status !== 0) throw new Error(`${cc} ${name}.c failed:\n${r.stderr || r.error}`);
    }
    out[name] = bin;
  }
  return { ...out, compiler: version, cflags: CFLAGS.join(" ") };
}

/** A line reader over a child's stdout: `next()` resolves with the next line (bounded by `ms`). */
function lines(stream) {
  const queue = [];
  const waiting = [];
  let buffered = "";
  let ended = false;
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else queue.push(line);
    }
  });
  stream.on("end", () => {
    ended = true;
    for (const w of waiting.splice(0)) w.reject(new Error("the receiver closed its output"));
  });
  return (ms) => {
    if (queue.length > 0) return Promise.resolve(queue.shift());
    if (ended) return Promise.reject(new Error("the receiver closed its output"));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(w), 1);
        reject(new Error(`the receiver did not answer within ${ms} ms`));
      }, ms);
      waiting.push(w);
    });
  };
}

/**
 * Starts the receiver. `count()` returns its counters: { datagrams, bytes, wrong, drops,
 * cpuUs, atUs } (cumulative; cpuUs its user+system time, atUs its monotonic clock);
 * `settled()` the counters once datagrams stop arriving; `expect(size)` sets the size it
 * checks; `stop()` ends it.
 */
export async function startReceiver(bin, { maxSeconds, paceUs = 500 }) {
  const child = spawn(bin, [`--max-seconds=${maxSeconds}`, `--pace-us=${paceUs}`], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  child.once("error", () => {});
  const next = lines(child.stdout);
  const ready = (await next(10_000)).split(" ");
  if (ready[0] !== "ready") throw new Error(`the receiver said: ${ready.join(" ")}`);
  const ask = async (command) => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error("the receiver has exited");
    child.stdin.write(`${command}\n`);
    return next(5_000);
  };
  const count = async () => {
    const f = (await ask("count")).split(" ");
    if (f[0] !== "count") throw new Error(`the receiver said: ${f.join(" ")}`);
    const [datagrams, bytes, wrong, drops, cpuUs, atUs] = f.slice(1).map(Number);
    return { datagrams, bytes, wrong, drops, cpuUs, atUs };
  };
  /** Two equal readings `gapMs` apart, polled for at most 3 s. */
  const settled = async (gapMs = 10) => {
    let previous = await count();
    for (let i = 0; i < Math.ceil(3_000 / gapMs); i++) {
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      const now = await count();
      if (now.datagrams === previous.datagrams) return now;
      previous = now;
    }
    return previous;
  };
  return {
    port: Number(ready[1]),
    rcvbuf: Number(ready[2]),
    forced: ready[3] === "1",
    paceUs: Number(ready[4]),
    count,
    settled,
    expect: async (size) => {
      const r = await ask(`expect ${size}`);
      if (r !== "ok") throw new Error(`the receiver said: ${r}`);
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end("quit\n");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs the C sender once: `mode` (sendto, sendmsg, sendmmsg, gso), `batch` datagrams per
 * call, the shape's buffer sizes, and `rate` datagrams/s (paced; 0 or omitted: as fast as
 * it goes). Resolves with { sent, bytes, calls, elapsedMs, cpuUs, errors, firstErrno,
 * startNs, endNs } (start and end on CLOCK_MONOTONIC); rejects if it fails or outlives its
 * duration by 6 s.
 */
export function runCSender(bin, { mode, port, durationMs, maxDatagrams, batch, sizes, rate = 0 }) {
  return new Promise((resolve, reject) => {
    const args = [...(rate > 0 ? [`--rate=${rate}`] : []), mode, port, durationMs, maxDatagrams, batch, ...sizes].map(String);
    const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c) => {
      out += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), durationMs + 6_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const f = out.trim().split(" ");
      if (code !== 0 || f[0] !== "sent") {
        reject(new Error(`C sender ${args.join(" ")}: exit ${code ?? signal} ${err.trim()}`));
        return;
      }
      const [sent, bytes, calls, elapsedNs, cpuUs, errors, firstErrno, startNs, endNs] = f.slice(1).map(Number);
      resolve({ sent, bytes, calls, elapsedMs: elapsedNs / 1e6, cpuUs, errors, firstErrno, startNs, endNs });
    });
  });
}

/**
 * Starts a C receiver for one measurement (`receiver --once=MODE`, see c/receiver.c):
 * `mode` recvmsg or recvmmsg (`batch` per call), buffers of the shape's `sizes`, SO_RCVBUF
 * `rcvbuf`. Resolves, once it is bound, with { port, rcvbuf, done }: `done` resolves with
 * { received, bytes, wrong, drops, firstNs, lastNs, firstBatch, cpuUs, calls } when it
 * stopped (`idleMs` without a datagram after the first, or `waitMs` before any); it is
 * killed if it outlives `maxMs`.
 */
export function startCReceiver(bin, { mode, sizes, rcvbuf, batch = 64, waitMs = 5_000, idleMs = 20, maxMs = 60_000 }) {
  const args = [
    `--once=${mode}`,
    `--batch=${batch}`,
    `--wait-ms=${waitMs}`,
    `--idle-ms=${idleMs}`,
    `--max-seconds=${Math.ceil(maxMs / 1000) + 1}`,
    ...(rcvbuf > 0 ? [`--rcvbuf=${rcvbuf}`] : []),
    ...sizes.map(String),
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.setEncoding("utf8").on("data", (c) => {
    err += c;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), maxMs);
  const exited = new Promise((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve(String(e.message));
    });
  });
  const next = lines(child.stdout);
  return next(10_000).then(
    (line) => {
      const ready = line.split(" ");
      if (ready[0] !== "ready") throw new Error(`C receiver ${args.join(" ")}: ${line} ${err.trim()}`);
      const done = Promise.all([next(maxMs).catch(() => ""), exited]).then(([last, code]) => {
        const f = last.split(" ");
        if (code !== 0 || f[0] !== "received") throw new Error(`C receiver ${args.join(" ")}: exit ${code} ${err.trim()}`);
        const [received, bytes, wrong, drops, firstNs, lastNs, firstBatch, cpuUs, calls] = f.slice(1).map(Number);
        return { received, bytes, wrong, drops, firstNs, lastNs, firstBatch, cpuUs, calls };
      });
      return { port: Number(ready[1]), rcvbuf: Number(ready[2]), done };
    },
    (e) => {
      child.kill("SIGKILL");
      throw new Error(`C receiver ${args.join(" ")}: ${e.message} ${err.trim()}`);
    },
  );
}
