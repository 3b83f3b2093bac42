/**
 * Completion routines are queued per thread: a worker_threads Worker that posts an
 * overlapped send with a routine runs it in its own alertable SleepEx (which returns
 * WAIT_IO_COMPLETION), while the main thread's queue stays empty.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { BACKENDS, completesDuringCall } from "../backends.js";
import { openReceiver, T, useFacade, ws } from "../helpers.js";

interface WorkerReport {
  startup: number;
  backend: string;
  rc: number;
  lastError: number;
  callsAfterSend: number;
  sleep: number;
  calls: { err: number; n: number; sameOverlapped: boolean; flags: number }[];
  closesocket: number;
  cleanup: number;
}

type Message = { posted: true } | { done: WorkerReport };

describe.each(BACKENDS)("per-thread completion queue on $name", (backend) => {
  useFacade(backend);

  it(
    "a worker's routine runs in the worker's SleepEx; the main thread's alertable SleepEx finds nothing",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const worker = new Worker(new URL("../fixtures/thread-queue-worker.mjs", import.meta.url), {
        workerData: { backend: backend.name, port: rx.port },
      });
      onTestFinished(async () => {
        await worker.terminate();
      });
      const errors: unknown[] = [];
      worker.on("error", (e) => errors.push(e));
      let mainSleep: Promise<number> | undefined;
      const report = await new Promise<WorkerReport | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 8000);
        worker.on("message", (m: Message) => {
          // While the worker waits in its own SleepEx, the main thread waits alertably too.
          if ("posted" in m) mainSleep = ws.SleepEx(50, true);
          else {
            clearTimeout(timer);
            resolve(m.done);
          }
        });
        worker.on("exit", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      expect(errors).toEqual([]);
      expect(report).toBeDefined();
      expect(report?.startup).toBe(0);
      expect(report?.backend).toBe(backend.name);
      if (!completesDuringCall(backend)) {
        expect(report?.rc).toBe(ws.SOCKET_ERROR);
        expect(report?.lastError).toBe(ws.WSA_IO_PENDING);
      }
      expect(report?.callsAfterSend).toBe(0);
      expect(report?.sleep).toBe(ws.WAIT_IO_COMPLETION);
      expect(report?.calls).toEqual([{ err: 0, n: 15, sameOverlapped: true, flags: 0 }]);
      expect([report?.closesocket, report?.cleanup]).toEqual([0, 0]);
      expect(mainSleep).toBeDefined();
      expect(await mainSleep).toBe(0);
      expect(await ws.SleepEx(0, true)).toBe(0);
      await rx.waitFor(1);
      expect(rx.texts()).toEqual(["from the worker"]);
    },
  );
});
