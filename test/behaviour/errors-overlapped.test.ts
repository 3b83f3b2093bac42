/**
 * WSAEINVAL for overlapped misuse: an overlapped send on a socket made without
 * WSA_FLAG_OVERLAPPED, and a WSAOVERLAPPED reused while its operation is still pending.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bufs,
  expectFails,
  expectNothingSentBefore,
  expectStarted,
  openReceiver,
  ref,
  T,
  udp4,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";
import { expectSendToFails } from "./send-errors.js";

describe.each(BACKENDS)("overlapped WSAEINVAL on $name", (backend) => {
  useFacade(backend);

  it.for(["event", "routine"] as const)(
    "an overlapped send (%s) on a socket made with WSASocket(dwFlags 0) fails with WSAEINVAL; blocking sends work",
    T,
    async (mode, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4(0);
      const to = addr4(rx.port);
      await expectSendToFails(mode, s, to, ws.WSAEINVAL);
      await expectNothingSentBefore(s, rx, to);
    },
  );

  it("socket() makes overlapped-capable sockets", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
    expect(s).not.toBe(ws.INVALID_SOCKET);
    const to = addr4(rx.port);
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = ws.WSACreateEvent();
    expectStarted(ws.WSASendTo(s, bufs("sock"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
    await waitAll([ov.hEvent]);
    await rx.waitFor(1);
    expect(rx.texts()).toEqual(["sock"]);
  });

  it(
    "reusing a WSAOVERLAPPED whose operation is pending fails with WSAEINVAL and sends nothing",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      const now = expectStarted(ws.WSASendTo(s, bufs("first"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      if (!now) {
        expectFails(ws.WSASendTo(s, bufs("second!"), 1, null, 0, to, ws.sizeof(to), ov, null), ws.WSAEINVAL, "reuse");
        // The pending operation is untouched: still pending, and it completes with its own result.
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
        expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, ref())).toBe(false);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_INCOMPLETE);
        const routineCalls: number[] = [];
        expectFails(
          ws.WSASendTo(s, bufs("third"), 1, null, 0, to, ws.sizeof(to), ov, () => routineCalls.push(1)),
          ws.WSAEINVAL,
          "reuse with a routine",
        );
        await waitAll([ov.hEvent]);
        expect(await ws.SleepEx(0, true)).toBe(0);
        expect(routineCalls).toEqual([]);
      } else {
        await waitAll([ov.hEvent]);
      }
      const n = ref();
      expect(ws.WSAGetOverlappedResult(s, ov, n, false, ref())).toBe(true);
      expect(n.value).toBe(5);
      await rx.waitFor(1);
      await rx.settle(50);
      expect(rx.texts()).toEqual(["first"]);
    },
  );

  it("a failed call leaves the WSAOVERLAPPED as it was", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = ws.WSACreateEvent();
    expectStarted(ws.WSASendTo(s, bufs("done"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
    await waitAll([ov.hEvent]);
    expect([ov.Internal, ov.InternalHigh]).toEqual([0, 4]);
    expectFails(ws.WSASendTo(s, bufs("x"), 1, null, ws.MSG_OOB, to, ws.sizeof(to), ov, null), ws.WSAEOPNOTSUPP, "MSG_OOB");
    expect([ov.Internal, ov.InternalHigh]).toEqual([0, 4]);
    expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
    const n = ref();
    expect(ws.WSAGetOverlappedResult(s, ov, n, false, ref())).toBe(true);
    expect(n.value).toBe(4);
  });
});
