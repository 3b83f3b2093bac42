/**
 * Overlapped sends with event objects: the return value (0, or SOCKET_ERROR with
 * WSA_IO_PENDING), WSAGetOverlappedResult while pending and after, the fields of
 * WSAOVERLAPPED, HasOverlappedIoCompleted, and the event itself.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, completesDuringCall } from "../backends.js";
import {
  addr4,
  bufs,
  expectStarted,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  pollUntil,
  ref,
  sync,
  T,
  udp4,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

/** NTSTATUS STATUS_PENDING: what Windows keeps in Internal while the operation is in flight. */
const STATUS_PENDING = 0x103;

describe.each(BACKENDS)("overlapped sends with events on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(
      completesDuringCall(backend)
        ? "returns 0 (bytes counter filled) or SOCKET_ERROR with WSA_IO_PENDING"
        : "always returns SOCKET_ERROR with WSA_IO_PENDING and leaves the bytes counter alone",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const events: ws.WSAEVENT[] = [];
        for (let i = 0; i < 5; i++) {
          const ov = new ws.WSAOVERLAPPED();
          ov.hEvent = ws.WSACreateEvent();
          events.push(ov.hEvent);
          const sent = ref(777);
          const rc = sync(ws.WSASendTo(s, bufs("abc"), 1, sent, 0, to, ws.sizeof(to), ov, null));
          if (completesDuringCall(backend)) {
            expect([0, ws.SOCKET_ERROR]).toContain(rc);
            if (rc === 0) {
              expect(ws.WSAGetLastError()).toBe(0);
              expect(sent.value).toBe(3);
            } else {
              expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
              expect(sent.value).toBe(777);
            }
          } else {
            expect(rc).toBe(ws.SOCKET_ERROR);
            expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
            // "In this case, lpNumberOfBytesSent is not updated."
            expect(sent.value).toBe(777);
          }
        }
        await waitAll(events);
        await rx.waitFor(5);
        expect(rx.texts()).toEqual(["abc", "abc", "abc", "abc", "abc"]);
      },
    );

    it("WSAGetOverlappedResult reports WSA_IO_INCOMPLETE while pending, then the result", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      const now = expectStarted(ws.WSASendTo(s, bufs("hello", "!"), 2, null, 0, to, ws.sizeof(to), ov, null), backend);
      const n = ref(55);
      const flags = ref(66);
      if (!now) {
        // Checked right after the call returned: nothing can have completed it yet.
        expect(ws.WSAGetOverlappedResult(s, ov, n, false, flags)).toBe(false);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_INCOMPLETE);
        expect(ov.Internal).toBe(STATUS_PENDING);
        expect(ov.InternalHigh).toBe(0);
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
      }
      await waitAll([ov.hEvent]);
      ws.WSASetLastError(1234);
      expect(ws.WSAGetOverlappedResult(s, ov, n, false, flags)).toBe(true);
      expect(ws.WSAGetLastError()).toBe(0);
      expect(n.value).toBe(6);
      expect(flags.value).toBe(0);
      expect(ov.Internal).toBe(0);
      expect(ov.InternalHigh).toBe(6);
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.toString()).toBe("hello!");
    });

    it(
      "WSAGetOverlappedResult with fWait true returns a Promise that waits for the completion",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        expectStarted(ws.WSASendTo(s, bufs("wait for me"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
        const n = ref();
        const flags = ref(9);
        const result = ws.WSAGetOverlappedResult(s, ov, n, true, flags);
        expect(result).toBeInstanceOf(Promise);
        expect(await result).toBe(true);
        expect(ws.WSAGetLastError()).toBe(0);
        expect(n.value).toBe(11);
        expect(flags.value).toBe(0);
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
        // The event was signalled by the completion as well.
        expect(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 0, false)).toBe(ws.WSA_WAIT_EVENT_0);
        const [d] = await rx.waitFor(1);
        expect(d?.msg.toString()).toBe("wait for me");
      },
    );

    it("a fresh WSAOVERLAPPED is zeroed", () => {
      const ov = new ws.WSAOVERLAPPED();
      expect([ov.Internal, ov.InternalHigh, ov.Offset, ov.OffsetHigh, ov.hEvent]).toEqual([0, 0, 0, 0, null]);
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
    });

    it("the event is signalled on completion and WSAWaitForMultipleEvents names it by index", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const idle = ws.WSACreateEvent();
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expectStarted(ws.WSASendTo(s, bufs("ev"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      expect(await ws.WSAWaitForMultipleEvents(2, [idle, ov.hEvent], false, 5000, false)).toBe(ws.WSA_WAIT_EVENT_0 + 1);
      // Manual-reset: it stays signalled until reset.
      expect(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 0, false)).toBe(ws.WSA_WAIT_EVENT_0);
      expect(ws.WSAResetEvent(ov.hEvent)).toBe(true);
      expect(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
      expect(await ws.WSAWaitForMultipleEvents(1, [idle], true, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
      expect(ws.WSACloseEvent(idle)).toBe(true);
      expect(ws.WSACloseEvent(ov.hEvent)).toBe(true);
      await rx.waitFor(1);
      expect(rx.texts()).toEqual(["ev"]);
    });

    it("starting an operation resets its (signalled) event", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expect(ws.WSASetEvent(ov.hEvent)).toBe(true);
      const now = expectStarted(ws.WSASendTo(s, bufs("reset"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      const w = await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 0, false);
      if (now) expect(w).toBe(ws.WSA_WAIT_EVENT_0);
      else {
        // A zero-timeout wait lets the loop turn once, so the send may have completed in
        // it; but the event, reset by the call, is signalled only if it did.
        expect([ws.WSA_WAIT_EVENT_0, ws.WSA_WAIT_TIMEOUT]).toContain(w);
        if (w === ws.WSA_WAIT_EVENT_0) expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
      }
      await waitAll([ov.hEvent]);
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
    });

    it(
      "without an event, completion shows in HasOverlappedIoCompleted, Internal and InternalHigh",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const ov = new ws.WSAOVERLAPPED();
        const now = expectStarted(ws.WSASendTo(s, bufs("no", "event"), 2, null, 0, to, ws.sizeof(to), ov, null), backend);
        if (!now) expect(ov.Internal).toBe(STATUS_PENDING);
        await pollUntil(() => ws.HasOverlappedIoCompleted(ov));
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
        expect(ov.Internal).toBe(0);
        expect(ov.InternalHigh).toBe(7);
        const n = ref();
        expect(ws.WSAGetOverlappedResult(s, ov, n, false, ref())).toBe(true);
        expect(n.value).toBe(7);
        const [d] = await rx.waitFor(1);
        expect(d?.msg.toString()).toBe("noevent");
      },
    );

    it("a WSAOVERLAPPED can be reused once its operation completed", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      for (const text of ["first", "second!", "third"]) {
        expectStarted(ws.WSASendTo(s, bufs(text), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
        const n = ref();
        expect(await ws.WSAGetOverlappedResult(s, ov, n, true, ref())).toBe(true);
        expect(n.value).toBe(text.length);
      }
      await rx.waitFor(3);
      expect(rx.texts()).toEqual(["first", "second!", "third"]);
    });

    it("WaitAll over several pending sends returns once every one completed", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ovs = Array.from({ length: 10 }, () => {
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        return ov;
      });
      ovs.forEach((ov, i) => {
        expectStarted(ws.WSASendTo(s, bufs(`m${i}`), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      });
      const events = ovs.map((ov) => ov.hEvent as ws.WSAEVENT);
      expect(await ws.WSAWaitForMultipleEvents(events.length, events, true, 5000, false)).toBe(ws.WSA_WAIT_EVENT_0);
      for (const [i, ov] of ovs.entries()) {
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
        expect(ov.InternalHigh).toBe(`m${i}`.length);
      }
      await rx.waitFor(10);
      expect(rx.texts()).toEqual(ovs.map((_, i) => `m${i}`));
    });
  });

  describe("idiomatic API", () => {
    it(
      completesDuringCall(backend)
        ? "sendToOverlapped reports whether it completed during the call"
        : "sendToOverlapped never completes during the call",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const sock = openIdiomatic(backend, onTestFinished);
        const op = sock.sendToOverlapped([Buffer.from("ov"), Buffer.from("erlapped")], { address: LOOPBACK4, port: rx.port });
        if (!completesDuringCall(backend)) expect(op.completedSynchronously).toBe(false);
        const r = await op.result;
        expect(r).toEqual({ bytesSent: 10, completedSynchronously: op.completedSynchronously });
        const plain = await sock.sendTo(Buffer.from("plain"), { address: LOOPBACK4, port: rx.port });
        expect(plain.bytesSent).toBe(5);
        if (!completesDuringCall(backend)) expect(plain.completedSynchronously).toBe(false);
        await rx.waitFor(2);
        expect(rx.texts()).toEqual(["overlapped", "plain"]);
      },
    );
  });
});
