/**
 * A worker thread that loaded the native backend ends (worker.terminate(), or
 * process.exit() inside it) while it holds sockets: one with an overlapped WSARecvFrom
 * pending (its uv_poll watcher active), idle ones with nothing posted, and one its
 * JavaScript closed just before, with a receive pending. Each run is a child process
 * (test/fixtures/native-worker-teardown.mjs) that prints one JSON line.
 *
 * The bug this guards (fixed in addon.c): the addon had no environment cleanup. At a
 * worker's teardown the watcher's finalizer called uv_close(), Node then unloaded the
 * addon, and the worker's loop ran the close callback in unmapped code: SIGSEGV whenever
 * the main thread had not loaded the addon too. When it had, the process lived but every
 * worker left its sockets open (4 descriptors and ports per worker here). Now an async cleanup hook
 * closes every watcher and socket of the environment, and Node unloads the addon only
 * after the last close callback.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBinding } from "@wsasendto/native";
import { describe, expect, it } from "vitest";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const FIXTURE = join(ROOT, "test", "fixtures", "native-worker-teardown.mjs");
const WORKERS = 10;
/** Per worker: the one with a receive pending and three idle ones (the fixture's worker). */
const SOCKETS_LEFT_OPEN = 4;
const RUN_TIMEOUT_MS = 30_000;

const loaded = loadBinding();
const unavailable = typeof loaded === "string" ? loaded : "";

type End = "terminate" | "exit";

/** What the fixture prints. */
interface Report {
  workers: number;
  fdBefore: number | null;
  fdAfter: number | null;
  fdGained: number[] | null;
  backends: string[];
  exitCodes: (number | null)[];
  errors: string[];
  portsChecked: number;
  portsStillBound: number;
  takenOver: number;
  doubleClosed: number;
  mainSocketOpen?: boolean;
}

interface Run {
  code: number | null;
  signal: string | null;
  report: Report | null;
  output: string;
}

function runFixture(mode: "worker-only" | "main-too", end: End, workers: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [FIXTURE, mode, end, String(workers)],
      { cwd: ROOT, timeout: RUN_TIMEOUT_MS, encoding: "utf8" },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("{"));
        const failure = error as (Error & { code?: number | string; signal?: string | null }) | null;
        resolve({
          code: typeof failure?.code === "number" ? failure.code : failure ? null : 0,
          signal: failure?.signal ?? null,
          report: line ? (JSON.parse(line) as Report) : null,
          output: `${stdout}\n${stderr}`.trim(),
        });
      },
    );
  });
}

/**
 * Whether the fixture can list the process's descriptors (/proc/self/fd, /dev/fd). Windows
 * has no such list from JavaScript (a socket is a kernel handle, and Node tells no handle
 * count): there each socket's port binding again (portsStillBound) stands for the
 * descriptor count, and the main thread's own socket staying open (mainSocketOpen) for
 * "none closed twice" (a worker-closed descriptor taken over by /dev/null is POSIX's).
 */
const DESCRIPTORS_LISTED = process.platform !== "win32";
const HANDLES_NOT_LISTED =
  " [Windows: handles cannot be listed from JavaScript; the ports binding again and the main thread's socket staying open stand for the count]";

/** The exit code each worker reports: terminate() gives 1, process.exit(0) gives 0. */
const EXIT_CODE: Record<End, number> = { terminate: 1, exit: 0 };

describe.skipIf(unavailable !== "")(
  `a worker that loaded the native addon ends with sockets open${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    describe.each(["terminate", "exit"] as const)("ended by %s", (end) => {
      it(
        "the addon loaded only in workers: the process lives (exit 0, no signal)",
        async () => {
          const run = await runFixture("worker-only", end, 3);
          expect({ code: run.code, signal: run.signal }, run.output).toEqual({ code: 0, signal: null });
          expect(run.report?.backends, run.output).toEqual(["native"]);
          expect(run.report?.exitCodes).toEqual([EXIT_CODE[end], EXIT_CODE[end], EXIT_CODE[end]]);
          expect(run.report?.errors).toEqual([]);
          expect(run.report?.portsChecked).toBe(3 * SOCKETS_LEFT_OPEN);
          expect(run.report?.portsStillBound).toBe(0);
        },
        RUN_TIMEOUT_MS + 5_000,
      );

      it(
        `the addon loaded on the main thread too: ${WORKERS} workers leave no descriptor behind, and none is closed twice${
          DESCRIPTORS_LISTED ? "" : HANDLES_NOT_LISTED
        }`,
        async () => {
          const run = await runFixture("main-too", end, WORKERS);
          expect({ code: run.code, signal: run.signal }, run.output).toEqual({ code: 0, signal: null });
          const report = run.report as Report;
          expect(report.backends, run.output).toEqual(["native"]);
          expect(report.exitCodes).toEqual(Array(WORKERS).fill(EXIT_CODE[end]));
          expect(report.errors).toEqual([]);
          if (DESCRIPTORS_LISTED) {
            // Exact: the fixture counts after a first worker that loads nothing (the one
            // descriptor Node keeps for workers' stdio), so every socket must be closed.
            expect(report.fdGained, `descriptors ${report.fdBefore} -> ${report.fdAfter}`).toEqual([]);
            expect(report.fdAfter).toBe(report.fdBefore);
          } else {
            // Windows: the fixture says it could not list them (rather than counting none).
            expect({ fdBefore: report.fdBefore, fdAfter: report.fdAfter, fdGained: report.fdGained }).toEqual({
              fdBefore: null,
              fdAfter: null,
              fdGained: null,
            });
          }
          // And their ports are free again: each socket really closed, not only its descriptor moved.
          expect(report.portsChecked).toBe(WORKERS * SOCKETS_LEFT_OPEN);
          expect(report.portsStillBound).toBe(0);
          // Each worker's JavaScript-closed descriptor was reopened by the main thread
          // before that worker ended (deterministic with terminate(); with process.exit()
          // the worker may finish first): it must survive the worker's teardown.
          // (Windows: no descriptor to take over, see DESCRIPTORS_LISTED: none is.)
          if (end === "terminate") expect(report.takenOver).toBe(DESCRIPTORS_LISTED ? WORKERS : 0);
          expect(report.doubleClosed).toBe(0);
          expect(report.mainSocketOpen).toBe(true);
        },
        RUN_TIMEOUT_MS + 5_000,
      );
    });
  },
);
