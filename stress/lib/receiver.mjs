// The receiving side of the send scenarios: a node:dgram socket on a thread of its own
// (receiver-worker.mjs), counting arrivals per id in shared memory.
import { Worker } from "node:worker_threads";
import { kernelDrops, sleep } from "./harness.mjs";

/** SO_RCVBUF asked for by the receiver (Linux caps it at net.core.rmem_max and doubles it). */
export const RECEIVER_RCVBUF = 32 << 20;

/** Starts a receiver for ids 0..ids-1; resolves once it is bound. */
export async function startReceiver(ids) {
  const perId = new Uint8Array(new SharedArrayBuffer(Math.max(ids, 1)));
  const totals = new Int32Array(new SharedArrayBuffer(12));
  const worker = new Worker(new URL("./receiver-worker.mjs", import.meta.url), {
    workerData: { perId: perId.buffer, totals: totals.buffer, recvBufferSize: RECEIVER_RCVBUF },
  });
  const { port, rcvbuf } = await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return {
    port,
    rcvbuf,
    perId,
    arrivals: () => Atomics.load(totals, 0),
    unknownIds: () => Atomics.load(totals, 1),
    repeatedIds: () => Atomics.load(totals, 2),
    /** The kernel's count of datagrams it dropped for this socket's full receive buffer. */
    kernelDrops: () => kernelDrops(port),
    /**
     * Waits until `expected` datagrams are accounted for (arrived or dropped by the
     * kernel), or nothing changed for `quietMs`, or `maxMs` passed. Resolves with the time.
     */
    async drain(expected, { quietMs = 300, maxMs = 10_000 } = {}) {
      const start = Date.now();
      let last = -1;
      let lastChange = start;
      for (let i = 0; i < 10_000; i++) {
        const seen = Atomics.load(totals, 0) + (kernelDrops(port) ?? 0);
        const now = Date.now();
        if (seen >= expected || now - start > maxMs) break;
        if (seen !== last) {
          last = seen;
          lastChange = now;
        } else if (now - lastChange > quietMs) break;
        await sleep(10);
      }
      return Date.now() - start;
    },
    async close() {
      worker.postMessage("close");
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}
