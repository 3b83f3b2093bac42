/**
 * A worker thread that ends (process.exit(0) in it) while its sends or receives are still
 * in flight: its environment goes with them. The process lives on, the worker exits with
 * its code, and the main thread's sockets still send and receive afterwards; datagrams
 * that arrive for the dead worker's receives are never written into its freed buffers
 * (which would corrupt or crash the process). On Windows the native backend's operations
 * are the kernel's (overlapped I/O with a completion port) until they complete, so the
 * addon must let go of them at the environment's teardown; elsewhere the same must hold.
 * test/native/worker-teardown.test.ts covers the descriptors the native backend leaves.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bufs, openPeer, openReceiver, ref, T, udp4, useFacade, ws } from "../helpers.js";

interface Report {
  started: number;
  backend: string;
  pending: number;
  now: number;
  failed: number[];
  port: number;
}

/** Runs the worker; its report and exit code. */
async function runWorker(workerData: Record<string, unknown>): Promise<{ report: Report; code: number }> {
  const w = new Worker(new URL("../fixtures/in-flight-exit-worker.mjs", import.meta.url), { workerData });
  // Both listeners at once: a worker that exits at once emits 'exit' in the tick of its last 'message'.
  const exited = new Promise<number>((resolve) => w.once("exit", resolve));
  const report = await new Promise<Report>((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
  return { report, code: await exited };
}

const COUNT = 300;

describe.each(BACKENDS)("a worker that exits with operations in flight on $name", (backend) => {
  useFacade(backend);

  it(
    `${COUNT} overlapped sends in flight at the worker's exit: exit 0; the main thread's sends still arrive`,
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const { report, code } = await runWorker({ backend: backend.name, what: "send", port: rx.port, count: COUNT, pad: 1000 });
      expect(code).toBe(0);
      expect(report.started).toBe(0);
      expect(report.backend).toBe(backend.name);
      expect(report.failed).toEqual([]);
      expect(report.pending + report.now).toBe(COUNT);
      // After the worker's teardown: a send of the main thread arrives.
      const s = udp4();
      const to = addr4(rx.port);
      const sent = ref();
      expect(await ws.WSASendTo(s, bufs("after-worker"), 1, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(12);
      const isIt = (m: Buffer): boolean => m.toString() === "after-worker";
      for (let i = 0; i < COUNT + 2 && !rx.got.some((d) => isIt(d.msg)); i++) await rx.waitFor(rx.got.length + 1, 3000);
      expect(
        rx.got.some((d) => isIt(d.msg)),
        "the datagram sent after the worker's end arrived",
      ).toBe(true);
      // What the worker's sends delivered is whole: "w<i>" and its 1000 zero bytes.
      for (const d of rx.got.filter((x) => !isIt(x.msg))) {
        expect(/^w\d+$/.test(d.msg.toString("latin1", 0, d.msg.indexOf(0)))).toBe(true);
        expect(d.msg.length).toBe(d.msg.indexOf(0) + 1000);
      }
      expect(rx.got.length).toBeLessThanOrEqual(COUNT + 1);
    },
  );

  it(
    "20 overlapped receives pending at the worker's exit: exit 0; datagrams to its port harm nothing; the main thread still receives",
    T,
    async ({ onTestFinished }) => {
      const { report, code } = await runWorker({ backend: backend.name, what: "receive" });
      expect(code).toBe(0);
      expect(report.started).toBe(0);
      expect(report.failed).toEqual([]);
      expect(report.pending, "nothing was waiting: each receive pends").toBe(20);
      expect(report.port).toBeGreaterThan(0);
      const peer = await openPeer(onTestFinished);
      // The worker's socket may still be open a moment: these must find no receive of the dead environment.
      for (let i = 0; i < 30; i++) await peer.send(Buffer.alloc(1000, 0xee), report.port);
      // The main thread still receives.
      const s = udp4();
      const local = addr4(0);
      expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
      const name: Record<string, unknown> = {};
      expect(ws.getsockname(s, name, ref(16))).toBe(0);
      const buf = Buffer.alloc(16);
      const got = ws.recvfrom(s, buf, 16, 0, null, null);
      await peer.send("alive", ws.ntohs(name.sin_port as number));
      expect(await got).toBe(5);
      expect(buf.toString("latin1", 0, 5)).toBe("alive");
    },
  );
});
