import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { alertUntil, bound, openPeer, pollUntil, ref, seq, sleep, sync, T, useFacade, waitAll, ws } from "../helpers.js";

/** Waits (blocking MSG_PEEK, which leaves it) until a datagram is queued on `s`. */
async function queued(s: number): Promise<void> {
  const rc = await ws.WSARecvFrom(
    s,
    [{ len: 2048, buf: Buffer.alloc(2048) }],
    1,
    ref(),
    ref(ws.MSG_PEEK),
    null,
    null,
    null,
    null,
  );
  expect(rc).toBe(0);
}

/** Whether an event is signalled now (a wait of 0 ms). */
async function signalled(event: ws.WSAEVENT): Promise<boolean> {
  return (await ws.WSAWaitForMultipleEvents(1, [event], true, 0, false)) === ws.WSA_WAIT_EVENT_0;
}

interface Call {
  readonly dwError: number;
  readonly cbTransferred: number;
  readonly lpOverlapped: ws.WSAOVERLAPPED;
  readonly dwFlags: number;
}

function recorder(): { calls: Call[]; routine: ws.CompletionRoutine } {
  const calls: Call[] = [];
  return {
    calls,
    routine: (dwError, cbTransferred, lpOverlapped, dwFlags) => calls.push({ dwError, cbTransferred, lpOverlapped, dwFlags }),
  };
}

describe.each(BACKENDS)("overlapped receives on $name", (backend) => {
  useFacade(backend);

  it(
    "a datagram already waiting: 0 during the call, bytes and flags filled, the event signalled (or through the port: pending, then the same)",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      await peer.send("ready", port);
      await queued(s);
      const buf = Buffer.alloc(16);
      const got = ref(99);
      const flags = ref(0);
      const from: Record<string, unknown> = {};
      const fromlen = ref(16);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      ws.WSASetLastError(12345);
      const rc = sync(ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, flags, from, fromlen, ov, null));
      if (backend.deviations.immediateReceive) {
        expect(rc).toBe(0);
        expect(ws.WSAGetLastError()).toBe(0);
        expect(got.value).toBe(5);
        expect(flags.value).toBe(0);
      } else {
        // Through the completion port: pending at the call (the count untouched), done by its packet.
        expect([rc, ws.WSAGetLastError(), got.value]).toEqual([ws.SOCKET_ERROR, ws.WSA_IO_PENDING, 99]);
        await waitAll([ov.hEvent]);
      }
      expect(buf.subarray(0, 5).toString()).toBe("ready");
      expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
      expect(fromlen.value).toBe(16);
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
      expect([ov.Internal, ov.InternalHigh]).toEqual([0, 5]);
      expect(await signalled(ov.hEvent)).toBe(true);
      const n = ref();
      const f = ref(7);
      expect(ws.WSAGetOverlappedResult(s, ov, n, false, f)).toBe(true);
      expect([n.value, f.value]).toEqual([5, 0]);
    },
  );

  it(
    "nothing waiting: WSA_IO_PENDING, WSA_IO_INCOMPLETE while pending, fWait true waits, the event signals",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const buf = Buffer.alloc(16);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      const rc = sync(ws.WSARecvFrom(s, [{ len: 16, buf }], 1, null, ref(0), null, null, ov, null));
      expect(rc).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
      expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, ref())).toBe(false);
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_INCOMPLETE);
      expect(await signalled(ov.hEvent)).toBe(false);
      // fWait true: a Promise that settles only when the datagram comes.
      let settled = false;
      const n = ref();
      const f = ref(7);
      const waiting = Promise.resolve(ws.WSAGetOverlappedResult(s, ov, n, true, f)).then((r) => {
        settled = true;
        return r;
      });
      await sleep(50);
      expect(settled).toBe(false);
      expect(await signalled(ov.hEvent)).toBe(false);
      await peer.send("later", port);
      expect(await waiting).toBe(true);
      expect([n.value, f.value]).toEqual([5, 0]);
      expect(ws.WSAGetLastError()).toBe(0);
      expect(await signalled(ov.hEvent)).toBe(true);
      expect(buf.subarray(0, 5).toString()).toBe("later");
    },
  );

  it(
    "a completion routine runs only in an alertable wait, once, with (0, bytes, lpOverlapped, 0); hEvent untouched",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const { calls, routine } = recorder();
      const ov = new ws.WSAOVERLAPPED();
      const context = ws.WSACreateEvent();
      ov.hEvent = context;
      const rc = sync(ws.WSARecvFrom(s, [{ len: 16, buf: Buffer.alloc(16) }], 1, null, ref(0), null, null, ov, routine));
      expect(rc).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      await peer.send("routine", port);
      await pollUntil(() => ws.HasOverlappedIoCompleted(ov));
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
      // Completed, but not run: no alertable wait yet.
      await sleep(20);
      expect(await ws.SleepEx(10, false)).toBe(0);
      expect(await ws.WSAWaitForMultipleEvents(1, [context], false, 10, false)).toBe(ws.WSA_WAIT_TIMEOUT);
      expect(calls).toEqual([]);
      expect(await ws.SleepEx(2000, true)).toBe(ws.WAIT_IO_COMPLETION);
      expect(calls).toEqual([{ dwError: 0, cbTransferred: 7, lpOverlapped: ov, dwFlags: 0 }]);
      // Once only; the event, context for the routine, was never signalled.
      expect(await ws.SleepEx(20, true)).toBe(0);
      expect(calls).toHaveLength(1);
      expect(await signalled(context)).toBe(false);
    },
  );

  it(
    "completed during the call with a routine: 0 at once (or pending, through the port); the routine runs at the next alertable wait",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      await peer.send("now", port);
      await queued(s);
      const { calls, routine } = recorder();
      const ov = new ws.WSAOVERLAPPED();
      const got = ref(99);
      const rc = sync(ws.WSARecvFrom(s, [{ len: 16, buf: Buffer.alloc(16) }], 1, got, ref(0), null, null, ov, routine));
      if (backend.deviations.immediateReceive) expect([rc, got.value]).toEqual([0, 3]);
      else expect([rc, ws.WSAGetLastError(), got.value]).toEqual([ws.SOCKET_ERROR, ws.WSA_IO_PENDING, 99]);
      expect(calls).toEqual([]);
      const ev = ws.WSACreateEvent();
      expect(await ws.WSAWaitForMultipleEvents(1, [ev], false, 2000, true)).toBe(ws.WSA_WAIT_IO_COMPLETION);
      expect(calls).toEqual([{ dwError: 0, cbTransferred: 3, lpOverlapped: ov, dwFlags: 0 }]);
    },
  );

  it("WSARecv overlapped with an event on a bound socket", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished);
    const { s, port } = bound();
    const buf = Buffer.alloc(16);
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = ws.WSACreateEvent();
    const rc = sync(ws.WSARecv(s, [{ len: 16, buf }], 1, null, ref(0), ov, null));
    expect(rc).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
    await peer.send("wsarecv", port);
    await waitAll([ov.hEvent]);
    expect(ov.InternalHigh).toBe(7);
    expect(buf.subarray(0, 7).toString()).toBe("wsarecv");
  });

  const N = 40;

  it(
    `${N} receives posted with routines, then ${N} datagrams: each receive gets one, in posting order`,
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const slots = Array.from({ length: N }, () => ({ ov: new ws.WSAOVERLAPPED(), buf: Buffer.alloc(16) }));
      const order: number[] = [];
      const results = new Map<number, [number, number]>();
      for (const [i, slot] of slots.entries()) {
        const rc = sync(
          ws.WSARecvFrom(s, [{ len: 16, buf: slot.buf }], 1, null, ref(0), null, null, slot.ov, (e, n, o) => {
            expect(o).toBe(slot.ov);
            order.push(i);
            results.set(i, [e, n]);
          }),
        );
        expect(rc).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      }
      for (let i = 0; i < N; i++) await peer.send(seq(i), port);
      await alertUntil(() => order.length >= N);
      expect(order).toEqual([...Array(N).keys()]);
      for (const [i, slot] of slots.entries()) {
        expect(results.get(i), `receive ${i}`).toEqual([0, 4]);
        expect(slot.buf.readUInt32BE(0), `receive ${i}`).toBe(i);
      }
      expect(await ws.SleepEx(20, true)).toBe(0);
      expect(order).toHaveLength(N);
    },
  );

  it(
    `${N} receives posted with events, then ${N} datagrams: each receive gets one, in posting order`,
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const slots = Array.from({ length: N }, () => {
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        return { ov, buf: Buffer.alloc(16) };
      });
      for (const slot of slots) {
        expect(sync(ws.WSARecvFrom(s, [{ len: 16, buf: slot.buf }], 1, null, ref(0), null, null, slot.ov, null))).toBe(
          ws.SOCKET_ERROR,
        );
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      }
      for (let i = 0; i < N; i++) await peer.send(seq(i, 2), port);
      await waitAll(slots.map((x) => x.ov.hEvent as ws.WSAEVENT));
      for (const [i, slot] of slots.entries()) {
        expect([slot.ov.Internal, slot.ov.InternalHigh], `receive ${i}`).toEqual([0, 6]);
        expect(slot.buf.readUInt32BE(0), `receive ${i}`).toBe(i);
      }
    },
  );

  it("blocking and overlapped receives interleaved are served in posting order", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished);
    const { s, port } = bound();
    const a = { ov: new ws.WSAOVERLAPPED(), buf: Buffer.alloc(8) };
    a.ov.hEvent = ws.WSACreateEvent();
    expect(sync(ws.WSARecvFrom(s, [{ len: 8, buf: a.buf }], 1, null, ref(0), null, null, a.ov, null))).toBe(ws.SOCKET_ERROR);
    const bBuf = Buffer.alloc(8);
    const b = ws.recvfrom(s, bBuf, 8, 0, null, null);
    const c = { ov: new ws.WSAOVERLAPPED(), buf: Buffer.alloc(8) };
    c.ov.hEvent = ws.WSACreateEvent();
    expect(sync(ws.WSARecvFrom(s, [{ len: 8, buf: c.buf }], 1, null, ref(0), null, null, c.ov, null))).toBe(ws.SOCKET_ERROR);
    for (let i = 0; i < 3; i++) await peer.send(seq(i), port);
    expect(await b).toBe(4);
    await waitAll([a.ov.hEvent, c.ov.hEvent]);
    expect([a.buf.readUInt32BE(0), bBuf.readUInt32BE(0), c.buf.readUInt32BE(0)]).toEqual([0, 1, 2]);
  });

  it(
    "a WSAOVERLAPPED still pending cannot start another receive (WSAEINVAL); the first still completes",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      const first = Buffer.alloc(8);
      expect(sync(ws.WSARecvFrom(s, [{ len: 8, buf: first }], 1, null, ref(0), null, null, ov, null))).toBe(ws.SOCKET_ERROR);
      const second = Buffer.alloc(8);
      expect(sync(ws.WSARecvFrom(s, [{ len: 8, buf: second }], 1, null, ref(0), null, null, ov, null))).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEINVAL");
      await peer.send("one", port);
      await waitAll([ov.hEvent]);
      expect(first.subarray(0, 3).toString()).toBe("one");
      expect(second.every((b) => b === 0)).toBe(true);
    },
  );
});
