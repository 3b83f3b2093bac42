import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { BACKENDS, THROTTLED } from "../backends.js";
import {
  bound,
  LOOPBACK4,
  openIdiomatic,
  openPeer,
  pollUntil,
  ref,
  seq,
  sleep,
  sync,
  T,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

const KEPT = 50;
const BURST = 100;
const SIZE = 100;
const SMALL_BUFFER = 1024;

/** Reads `n` datagrams with blocking receives; their sequence numbers. */
async function readSequence(s: number, n: number): Promise<number[]> {
  const got: number[] = [];
  for (let i = 0; i < n; i++) {
    const buf = Buffer.alloc(64);
    const bytes = ref();
    expect(await ws.WSARecvFrom(s, [{ len: 64, buf }], 1, bytes, ref(0), null, null, null, null)).toBe(0);
    expect(bytes.value).toBe(8);
    got.push(buf.readUInt32BE(0));
  }
  return got;
}

/** How long a receive posted while datagrams are queued may take to complete (through a completion port). */
const QUEUED_MS = 200;

/**
 * Reads, with overlapped receives posted one at a time, every datagram queued now; the
 * sequence numbers, and the last receive, which found nothing and waits. A receive that
 * finds a datagram completes during the call, or (every completion through the port: the
 * Windows backend's WSASENDTO_WIN_SKIP_ON_SUCCESS=0) soon after; one still pending after
 * QUEUED_MS found nothing.
 */
async function drainQueued(s: number): Promise<{ got: number[]; waiting: { ov: ws.WSAOVERLAPPED; buf: Buffer } }> {
  const got: number[] = [];
  for (let i = 0; i <= BURST; i++) {
    const buf = Buffer.alloc(SIZE);
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = ws.WSACreateEvent();
    const rc = sync(ws.WSARecvFrom(s, [{ len: SIZE, buf }], 1, ref(), ref(0), null, null, ov, null));
    if (rc !== 0) {
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      const waited = await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, QUEUED_MS, false);
      if (waited === ws.WSA_WAIT_TIMEOUT) return { got, waiting: { ov, buf } };
      expect(waited).toBe(ws.WSA_WAIT_EVENT_0);
      expect(ov.Internal).toBe(0);
    }
    got.push(buf.readUInt32BE(0));
  }
  throw new Error(`more than ${BURST} datagrams were queued`);
}

describe.each(BACKENDS)("receive buffer on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it.for([
      { label: "SO_RCVBUF 64 KiB", rcvbuf: 65536 },
      { label: "the default receive buffer", rcvbuf: undefined },
    ])(
      `$label: ${KEPT} datagrams sent with no receive posted are all kept, in order`,
      T,
      async ({ rcvbuf }, { onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound(4, rcvbuf);
        for (let i = 0; i < KEPT; i++) await peer.send(seq(i, 4), port);
        await sleep(100);
        expect(await readSequence(s, KEPT)).toEqual([...Array(KEPT).keys()]);
        // And nothing else: the next receive waits.
        const ov = new ws.WSAOVERLAPPED();
        expect(sync(ws.WSARecvFrom(s, [{ len: 8, buf: Buffer.alloc(8) }], 1, null, ref(0), null, null, ov, null))).toBe(
          ws.SOCKET_ERROR,
        );
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      },
    );

    it(
      `SO_RCVBUF ${SMALL_BUFFER}: of ${BURST} datagrams of ${SIZE} bytes the first ones are kept, in order, the rest dropped`,
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound(4, SMALL_BUFFER);
        for (let i = 0; i < BURST; i++) await peer.send(seq(i, SIZE - 4), port);
        // node:dgram reads the kernel's queue when the event loop polls: let it.
        await sleep(200);
        const { got: kept, waiting } = await drainQueued(s);
        expect(kept.length).toBeGreaterThan(0);
        expect(kept.length).toBeLessThan(BURST);
        // No receive was posted while they came: the first ones fit, the later ones did not.
        expect(kept).toEqual([...Array(kept.length).keys()]);
        // The dropped ones are gone: the receive left waiting gets the next datagram sent.
        await peer.send(seq(BURST, 4), port);
        await waitAll([waiting.ov.hEvent as ws.WSAEVENT]);
        expect(waiting.ov.InternalHigh).toBe(8);
        expect(waiting.buf.readUInt32BE(0)).toBe(BURST);
      },
    );
  });

  describe("idiomatic", () => {
    it(`receiveBufferSize 64 KiB: ${KEPT} datagrams are all kept, in order; drops stays 0`, T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { receiveBufferSize: 65536, bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      // Where the platform does not tell the kernel's drops, drops stays unknown.
      const none = backend.deviations.dropsCounted ? 0 : undefined;
      expect(sock.drops).toBe(none);
      for (let i = 0; i < KEPT; i++) await peer.send(seq(i, 4), port);
      await sleep(100);
      const got: number[] = [];
      const buf = Buffer.alloc(64);
      for (let i = 0; i < KEPT; i++) {
        const r = await sock.receive(buf);
        expect(r.bytesReceived).toBe(8);
        expect(r.from.port).toBe(peer.port);
        got.push(buf.readUInt32BE(0));
      }
      expect(got).toEqual([...Array(KEPT).keys()]);
      expect(sock.drops).toBe(none);
    });

    it(
      `receiveBufferSize ${SMALL_BUFFER}: every one of ${BURST} datagrams is kept or counted in drops`,
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, {
          receiveBufferSize: SMALL_BUFFER,
          bind: { address: LOOPBACK4, port: 0 },
        });
        const port = sock.localAddress()?.port ?? 0;
        if (!backend.deviations.dropsCounted) {
          // The kernel's drops cannot be told: drops stays unknown, never a 0 that could
          // be a lie; what was kept is the first datagrams, in order, and not all of them.
          expect(sock.drops).toBeUndefined();
          for (let i = 0; i < BURST; i++) await peer.send(seq(i, SIZE - 4), port);
          await sleep(200);
          const kept: number[] = [];
          const buf = Buffer.alloc(SIZE);
          for (let i = 0; i <= BURST; i++) {
            const r = await sock.receive(buf, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
            if (r instanceof ws.WSAError) {
              expect(r.code).toBe("WSA_OPERATION_ABORTED");
              break;
            }
            kept.push(buf.readUInt32BE(0));
          }
          expect(kept.length).toBeGreaterThan(0);
          expect(kept.length).toBeLessThan(BURST);
          expect(kept).toEqual([...Array(kept.length).keys()]);
          expect(sock.drops).toBeUndefined();
          return;
        }
        expect(sock.drops).toBe(0);
        for (let i = 0; i < BURST; i++) await peer.send(seq(i, SIZE - 4), port);
        const drops = (): number => {
          const n = sock.drops;
          expect(n).toBeTypeOf("number");
          return n as number;
        };
        // The burst can still be on its way into the socket's buffer (node:dgram reads the
        // kernel's queue when the event loop polls): wait for the first drop, bounded.
        await pollUntil(() => drops() > 0, 3000);
        // Read what was kept until kept + dropped accounts for every datagram sent (bounded:
        // each read gives up after 200 ms without a datagram, and 5 s in all).
        const kept: number[] = [];
        const buf = Buffer.alloc(SIZE);
        const deadline = Date.now() + 5000;
        for (let i = 0; i <= BURST && kept.length + drops() < BURST && Date.now() < deadline; i++) {
          const r = await sock.receive(buf, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
          if (r instanceof ws.WSAError) expect(r.code).toBe("WSA_OPERATION_ABORTED");
          else kept.push(buf.readUInt32BE(0));
        }
        expect(kept.length + drops()).toBe(BURST);
        expect(drops()).toBeGreaterThan(0);
        expect(kept.length).toBeGreaterThan(0);
        expect(kept).toEqual([...kept].sort((a, b) => a - b));
        // Nothing else was kept, and the counter does not move any more.
        const extra = await sock.receive(buf, { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
        expect((extra as ws.WSAError).code).toBe("WSA_OPERATION_ABORTED");
        expect(kept.length + drops()).toBe(BURST);
      },
    );

    it("a flood the kernel cannot hold while the thread is busy: received + drops = sent", T, async ({ onTestFinished }) => {
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      // On the Wine lane's throttled loopback (4 Mbit/s) 3000 would take ~6 s to leave;
      // 1000 (1 MB) still overflow a default receive buffer several times.
      const count = THROTTLED ? 1000 : 3000;
      // 3000 datagrams of 1000 bytes are far more than a default kernel receive buffer
      // (about 200 KiB) holds: the kernel drops most while this thread is blocked.
      const signal = new SharedArrayBuffer(8);
      const flag = new Int32Array(signal);
      const worker = new Worker(new URL("../fixtures/flood-sender-worker.mjs", import.meta.url), {
        workerData: { port, count, size: 1000, signal },
      });
      onTestFinished(() => worker.terminate().then(() => undefined));
      expect(Atomics.wait(flag, 1, 0, 5000)).not.toBe("timed-out");
      const sent = Atomics.load(flag, 0);
      expect(sent).toBe(count);
      if (!backend.deviations.dropsCounted) {
        expect(sock.drops).toBeUndefined();
        return;
      }
      const drops = (): number => {
        const n = sock.drops;
        expect(n, "drops is a number where the platform tells the kernel's drops").toBeTypeOf("number");
        return n as number;
      };
      let received = 0;
      const buf = Buffer.alloc(1000);
      const deadline = Date.now() + 5000;
      for (let i = 0; i <= count && received + drops() < sent && Date.now() < deadline; i++) {
        const r = await sock.receive(buf, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
        if (r instanceof ws.WSAError) expect(r.code).toBe("WSA_OPERATION_ABORTED");
        else received++;
      }
      expect(drops()).toBeGreaterThan(0);
      expect(received).toBeGreaterThan(0);
      expect(received + drops()).toBe(sent);
    });
  });
});
