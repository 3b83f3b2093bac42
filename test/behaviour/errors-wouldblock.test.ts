/**
 * WSAEWOULDBLOCK: "Overlapped sockets: there are too many outstanding overlapped I/O
 * requests." The limit is SO_MAX_OUTSTANDING_SENDS (setsockopt) on the facade and
 * maxOutstandingSends on the idiomatic API. A refused send sends nothing.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, completesDuringCall } from "../backends.js";
import {
  addr4,
  bufs,
  expectFails,
  expectStarted,
  expectWSAError,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  ref,
  T,
  thrown,
  udp4,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

describe.each(BACKENDS)("WSAEWOULDBLOCK on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it("SO_MAX_OUTSTANDING_SENDS reads back; values below 1 fail with WSAEINVAL", () => {
      const s = udp4();
      const v = ref();
      expect(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, v, ref(4))).toBe(0);
      expect(v.value).toBe(ws.DEFAULT_MAX_OUTSTANDING_SENDS);
      expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, 2, 4)).toBe(0);
      expect(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, v, ref(4))).toBe(0);
      expect(v.value).toBe(2);
      expectFails(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, 0, 4), ws.WSAEINVAL, "limit 0");
      expect(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, v, ref(4))).toBe(0);
      expect(v.value).toBe(2);
    });

    it.for(["event", "routine"] as const)(
      "with the limit at 2, a third overlapped send (%s) posted while two are pending fails with WSAEWOULDBLOCK",
      T,
      async (mode, { onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, 2, 4)).toBe(0);
        const routineCalls: string[] = [];
        const post = (text: string): { rc: number; ov: ws.WSAOVERLAPPED } => {
          const ov = new ws.WSAOVERLAPPED();
          if (mode === "event") ov.hEvent = ws.WSACreateEvent();
          const routine = mode === "routine" ? () => routineCalls.push(text) : null;
          const rc = ws.WSASendTo(s, bufs(text), 1, null, 0, to, ws.sizeof(to), ov, routine) as number;
          return { rc, ov };
        };
        // Posted back to back: nothing can complete between the calls.
        const a = post("a");
        const aNow = expectStarted(a.rc, backend);
        const b = post("b");
        const bNow = expectStarted(b.rc, backend);
        const c = post("c");
        const expected = ["a", "b"];
        if (!aNow && !bNow) {
          expectFails(c.rc, ws.WSAEWOULDBLOCK, "third send");
          expect(ws.HasOverlappedIoCompleted(c.ov)).toBe(true);
          expect(c.ov.Internal).toBe(0);
        } else {
          expectStarted(c.rc, backend);
          expected.push("c");
        }
        if (mode === "event") {
          await waitAll([a.ov, b.ov].map((o) => o.hEvent as ws.WSAEVENT));
          // Slots free again once the first two completed.
          const d = post("d");
          expectStarted(d.rc, backend);
          await waitAll([d.ov.hEvent as ws.WSAEVENT]);
          expected.push("d");
        } else {
          for (let i = 0; i < 100 && routineCalls.length < expected.length; i++) await ws.SleepEx(20, true);
          expect([...routineCalls].sort()).toEqual(expected);
        }
        await rx.waitFor(expected.length);
        await rx.settle(30);
        expect(rx.texts()).toEqual(expected);
      },
    );

    it("blocking sends are not limited by the outstanding-send limit", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, 1, 4)).toBe(0);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expectStarted(ws.WSASendTo(s, bufs("ov"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      const sent = ref();
      expect(await ws.WSASendTo(s, bufs("blocking"), 1, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(8);
      await waitAll([ov.hEvent]);
      await rx.waitFor(2);
      expect(rx.texts()).toEqual(["ov", "blocking"]);
    });
  });

  describe("idiomatic API", () => {
    it("maxOutstandingSends below 1 is refused with WSAEINVAL", () => {
      expectWSAError(
        thrown(() => ws.openUdpSocket({ backend: backend.name, maxOutstandingSends: 0 })),
        "WSAEINVAL",
        "open",
      );
    });

    // openUdpSocket's maxOutstandingSends bounds the sends in flight.
    it(
      "with maxOutstandingSends 2, a third sendToOverlapped while two are pending throws WSAEWOULDBLOCK",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const sock = openIdiomatic(backend, onTestFinished, { maxOutstandingSends: 2 });
        const to = { address: LOOPBACK4, port: rx.port };
        const a = sock.sendToOverlapped(Buffer.from("a"), to);
        const b = sock.sendToOverlapped(Buffer.from("b"), to);
        const third = thrown(() => sock.sendToOverlapped(Buffer.from("c"), to));
        await Promise.allSettled([a.result, b.result]);
        if (!a.completedSynchronously && !b.completedSynchronously) {
          expectWSAError(third, "WSAEWOULDBLOCK", "sendTo");
          await rx.waitFor(2);
          await rx.settle(50);
          expect(rx.texts()).toEqual(["a", "b"]);
        } else {
          // Completed during the calls: nothing was outstanding, so the third went too.
          expect(completesDuringCall(backend)).toBe(true);
          expect(third).toBeUndefined();
          await rx.waitFor(3);
          await rx.settle(50);
          expect(rx.texts()).toEqual(["a", "b", "c"]);
        }
      },
    );
  });
});
