/**
 * WSAGetLastError: a call that succeeds sets the last error to 0 (as Winsock does for
 * WSASendTo); WSASetLastError sets it; a pending overlapped call leaves WSA_IO_PENDING.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bufs, expectStarted, openReceiver, ref, T, udp4, useFacade, waitAll, ws } from "../helpers.js";

describe.each(BACKENDS)("last error on $name", (backend) => {
  useFacade(backend);

  it("WSASetLastError / WSAGetLastError round trip", () => {
    ws.WSASetLastError(10054);
    expect(ws.WSAGetLastError()).toBe(10054);
    ws.WSASetLastError(0);
    expect(ws.WSAGetLastError()).toBe(0);
  });

  it("is 0 after a successful blocking WSASendTo, WSASend, sendto and send", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    ws.WSASetLastError(12345);
    expect(await ws.WSASendTo(s, bufs("a"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
    expect(ws.WSAGetLastError()).toBe(0);
    ws.WSASetLastError(12345);
    expect(await ws.sendto(s, Buffer.from("b"), 1, 0, to, ws.sizeof(to))).toBe(1);
    expect(ws.WSAGetLastError()).toBe(0);
    expect(ws.connect(s, to, ws.sizeof(to))).toBe(0);
    ws.WSASetLastError(12345);
    expect(await ws.WSASend(s, bufs("c"), 1, ref(), 0, null, null)).toBe(0);
    expect(ws.WSAGetLastError()).toBe(0);
    ws.WSASetLastError(12345);
    expect(await ws.send(s, Buffer.from("d"), 1, 0)).toBe(1);
    expect(ws.WSAGetLastError()).toBe(0);
    await rx.waitFor(4);
    expect(rx.texts()).toEqual(["a", "b", "c", "d"]);
  });

  it(
    "an overlapped send leaves WSA_IO_PENDING (or 0 when it completed at once); the result read later is 0",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      ws.WSASetLastError(12345);
      // expectStarted asserts the last error: 0 after a 0 return, WSA_IO_PENDING otherwise.
      expectStarted(ws.WSASendTo(s, bufs("ov"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      await waitAll([ov.hEvent]);
      ws.WSASetLastError(12345);
      expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, ref())).toBe(true);
      expect(ws.WSAGetLastError()).toBe(0);
    },
  );

  it("is 0 after successful socket, bind, connect, getsockname, setsockopt, getsockopt, shutdown, closesocket", () => {
    const calls: [string, () => number][] = [];
    let s = 0;
    calls.push([
      "socket",
      () => {
        s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0);
        return s === ws.INVALID_SOCKET ? ws.SOCKET_ERROR : 0;
      },
    ]);
    const local = addr4(0);
    calls.push(["bind", () => ws.bind(s, local, ws.sizeof(local))]);
    const peer = addr4(9);
    calls.push(["connect", () => ws.connect(s, peer, ws.sizeof(peer))]);
    calls.push(["getsockname", () => ws.getsockname(s, {}, ref(16))]);
    calls.push(["setsockopt", () => ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_SNDBUF, 65536, 4)]);
    calls.push(["getsockopt", () => ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_MSG_SIZE, ref(), ref(4))]);
    calls.push(["shutdown", () => ws.shutdown(s, ws.SD_RECEIVE)]);
    calls.push(["closesocket", () => ws.closesocket(s)]);
    for (const [name, call] of calls) {
      ws.WSASetLastError(12345);
      expect(call(), name).toBe(0);
      expect(ws.WSAGetLastError(), name).toBe(0);
    }
    expect(s).not.toBe(ws.INVALID_SOCKET);
  });
});
