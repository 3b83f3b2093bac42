/**
 * Coalesced sends (issue 10): where a backend coalesces (`immediateCompletion: "lone"`),
 * the first overlapped send of a synchronous run completes during its call and the sends
 * posted after it in the same run pend and leave together at the end of the run. Either
 * way every send completes exactly once, with its own bytes, in posting order; closing or
 * SIO_FLUSH right after a burst never reports a coalesced send aborted (it is sent), and a
 * send reported aborted never arrives. `SO_COALESCE_SENDS` (0x7002) turns it off.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, type BackendUnderTest } from "../backends.js";
import { addr4, LOOPBACK4, openIdiomatic, openReceiver, ref, seq, T, udp4, useFacade, waitAll, ws } from "../helpers.js";

const N = 200;
const STATUS_PENDING = 0x103;

/** How each send of a burst started: "0" completed during the call, "P" pending. */
function burst(s: number, to: ws.SOCKADDR, n: number, events = true): { starts: string; ovs: ws.WSAOVERLAPPED[] } {
  let starts = "";
  const ovs: ws.WSAOVERLAPPED[] = [];
  for (let i = 0; i < n; i++) {
    const ov = new ws.WSAOVERLAPPED();
    if (events) ov.hEvent = ws.WSACreateEvent();
    ovs.push(ov);
    const sent = ref(777);
    const rc = ws.WSASendTo(s, [{ len: 8, buf: seq(i, 4) }], 1, sent, 0, to, ws.sizeof(to), ov, null) as number;
    if (rc === 0) {
      expect(sent.value).toBe(8);
      starts += "0";
    } else {
      expect([rc, ws.WSAGetLastError(), sent.value]).toEqual([ws.SOCKET_ERROR, ws.WSA_IO_PENDING, 777]);
      starts += "P";
    }
  }
  return { starts, ovs };
}

/** The start pattern a burst of n sends on loopback shows, by the backend's deviation. */
function expectBurstPattern(starts: string, backend: BackendUnderTest, coalescing = true): void {
  const mode = backend.deviations.immediateCompletion;
  if (mode === "never") expect(starts).toMatch(/^P+$/);
  else if (mode === "lone" && coalescing) expect(starts, "the first at once, the rest of the run pending").toMatch(/^0P+$/);
  // "always" (or coalescing off): the kernel takes each during its call on loopback.
  else expect(starts).toMatch(/^0+$/);
}

function getCoalesce(s: number): number {
  const v = ref(-1);
  expect(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_COALESCE_SENDS, v, ref(4))).toBe(0);
  return v.value;
}

describe.each(BACKENDS)("coalesced sends on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(`a burst of ${N} in one run: each completes once with its bytes, all arrive in order`, T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const { starts, ovs } = burst(s, to, N);
      expectBurstPattern(starts, backend);
      if (backend.deviations.immediateCompletion === "lone") {
        // Coalesced sends leave at the end of the run (process.nextTick, once the
        // microtasks are drained): done before any turn of the event loop.
        await new Promise((resolve) => process.nextTick(resolve));
        expect(ovs.filter((ov) => ov.Internal === STATUS_PENDING)).toHaveLength(0);
      }
      await waitAll(ovs.map((ov) => ov.hEvent as ws.WSAEVENT));
      for (const ov of ovs) {
        const bytes = ref(-1);
        expect(ws.WSAGetOverlappedResult(s, ov, bytes, false, ref())).toBe(true);
        expect([ov.Internal, ov.InternalHigh, bytes.value]).toEqual([0, 8, 8]);
      }
      await rx.waitFor(N);
      expect(rx.got.map((d) => d.msg.readUInt32BE(0))).toEqual(Array.from({ length: N }, (_, i) => i));
    });

    it("a burst with completion routines: each routine runs once, in posting order", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const order: number[] = [];
      for (let i = 0; i < N; i++) {
        const rc = ws.WSASendTo(s, [{ len: 8, buf: seq(i, 4) }], 1, null, 0, to, 16, new ws.WSAOVERLAPPED(), (err, n) => {
          expect([err, n]).toEqual([0, 8]);
          order.push(i);
        });
        expect(rc === 0 || ws.WSAGetLastError() === ws.WSA_IO_PENDING).toBe(true);
      }
      for (let i = 0; i < 100 && order.length < N; i++) await ws.SleepEx(50, true);
      expect(order).toEqual(Array.from({ length: N }, (_, i) => i));
      await rx.waitFor(N);
      expect(rx.got).toHaveLength(N);
    });

    it.for(["closesocket", "SIO_FLUSH"] as const)(
      "%s right after a burst: each send completes once; none sent is reported aborted, none aborted arrives",
      T,
      async (how, { onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const outcomes: number[][] = Array.from({ length: N }, () => []);
        for (let i = 0; i < N; i++) {
          ws.WSASendTo(s, [{ len: 8, buf: seq(i, 4) }], 1, null, 0, to, 16, new ws.WSAOVERLAPPED(), (err) => {
            outcomes[i]?.push(err);
          });
        }
        if (how === "closesocket") expect(ws.closesocket(s)).toBe(0);
        else expect(ws.WSAIoctl(s, ws.SIO_FLUSH, null, 0, null, 0, ref(), null, null)).toBe(0);
        for (let i = 0; i < 100 && outcomes.some((o) => o.length === 0); i++) await ws.SleepEx(50, true);
        expect(outcomes.map((o) => o.length)).toEqual(Array(N).fill(1));
        const sent = outcomes.flatMap((o, i) => (o[0] === 0 ? [i] : []));
        for (const o of outcomes) expect([0, ws.WSA_OPERATION_ABORTED]).toContain(o[0]);
        // Coalesced sends were taken at their call, as Winsock takes them: all of them leave.
        if (backend.deviations.immediateCompletion === "lone") expect(sent).toHaveLength(N);
        await rx.settle(150);
        expect(rx.got.map((d) => d.msg.readUInt32BE(0))).toEqual(sent);
        if (how === "SIO_FLUSH") expect(ws.closesocket(s)).toBe(0);
      },
    );

    it(
      "a non-blocking send after a burst goes after the coalesced ones, answered during its call",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const { ovs } = burst(s, to, 10);
        // FIONBIO on the same socket: the next non-overlapped send must be answered now.
        expect(ws.ioctlsocket(s, ws.FIONBIO, ref(1))).toBe(0);
        expect(ws.sendto(s, seq(10, 4), 8, 0, to, 16)).toBe(8);
        await waitAll(ovs.map((ov) => ov.hEvent as ws.WSAEVENT));
        await rx.waitFor(11);
        expect(rx.got.map((d) => d.msg.readUInt32BE(0))).toEqual(Array.from({ length: 11 }, (_, i) => i));
      },
    );

    it(
      "SO_COALESCE_SENDS: 1 where the backend coalesces, else 0; set to 0, every send completes during its call",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        expect(getCoalesce(s)).toBe(backend.deviations.immediateCompletion === "lone" ? 1 : 0);
        // Asking for it where it cannot be had succeeds and changes nothing.
        expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_COALESCE_SENDS, 1, 4)).toBe(0);
        expect(getCoalesce(s)).toBe(backend.deviations.immediateCompletion === "lone" ? 1 : 0);
        expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_COALESCE_SENDS, new Uint8Array([0, 0, 0, 0]), 4)).toBe(0);
        expect(getCoalesce(s)).toBe(0);
        const { starts, ovs } = burst(s, addr4(rx.port), 20);
        expectBurstPattern(starts, backend, false);
        await waitAll(ovs.map((ov) => ov.hEvent as ws.WSAEVENT));
        await rx.waitFor(20);
        expect(rx.got.map((d) => d.msg.readUInt32BE(0))).toEqual(Array.from({ length: 20 }, (_, i) => i));
        expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_COALESCE_SENDS, null as unknown as number, 4)).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      },
    );
  });

  describe("idiomatic API", () => {
    it(
      "sendToOverlapped in a burst: completedSynchronously as the deviation says; coalesceSends: false turns it off",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const to = { address: LOOPBACK4, port: rx.port };
        for (const coalesceSends of [undefined, false]) {
          rx.got.length = 0;
          const sock = ws.openUdpSocket({ backend: backend.name, coalesceSends });
          onTestFinished(() => sock.close());
          const ops = Array.from({ length: 20 }, (_, i) => sock.sendToOverlapped(seq(i, 4), to));
          const starts = ops.map((op) => (op.completedSynchronously ? "0" : "P")).join("");
          expectBurstPattern(starts, backend, coalesceSends !== false);
          const results = await Promise.all(ops.map((op) => op.result));
          expect(results.map((r) => r.bytesSent)).toEqual(Array(20).fill(8));
          await rx.waitFor(20);
          expect(rx.got.map((d) => d.msg.readUInt32BE(0))).toEqual(Array.from({ length: 20 }, (_, i) => i));
        }
        expect(() => openIdiomatic(backend, onTestFinished, { coalesceSends: 1 as unknown as boolean })).toThrow(/WSAEINVAL/);
      },
    );

    it("64 loops of awaited sends post together: most of their sends coalesce", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const to = { address: LOOPBACK4, port: rx.port };
      const sock = openIdiomatic(backend, onTestFinished);
      const LOOPS = 64;
      const EACH = 40;
      let synchronous = 0;
      let sent = 0;
      await Promise.all(
        Array.from({ length: LOOPS }, async (_, k) => {
          for (let i = 0; i < EACH; i++) {
            const r = await sock.sendTo(seq(k * EACH + i, 4), to);
            expect(r.bytesSent).toBe(8);
            if (r.completedSynchronously) synchronous++;
            sent++;
          }
        }),
      );
      expect(sent).toBe(LOOPS * EACH);
      const mode = backend.deviations.immediateCompletion;
      // Loops resumed by the same turn of the event loop (every 64th settle lets it turn)
      // run in one run of JavaScript, so a run's first send goes at once and the others
      // coalesce: before, each resumed alone and every other send went by itself.
      if (mode === "lone") expect(synchronous).toBeLessThan(sent / 8);
      else if (mode === "always") expect(synchronous).toBe(sent);
      else expect(synchronous).toBe(0);
      await rx.waitFor(sent);
      expect(new Set(rx.got.map((d) => d.msg.readUInt32BE(0))).size).toBe(sent);
    });
  });
});
