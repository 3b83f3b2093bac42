/**
 * WSAENOTSOCK: a handle that is not a socket, or a socket already closed. Nothing is sent.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bufs, expectFails, LOOPBACK4, openIdiomatic, openReceiver, ref, T, udp4, useFacade, ws } from "../helpers.js";
import { expectCallFails, expectIdiomaticFails, expectSendToFails, looseWSASend, MODES, validArgs } from "./send-errors.js";

const BAD_HANDLES: readonly { name: string; handle: number }[] = [
  { name: "INVALID_SOCKET", handle: ws.INVALID_SOCKET },
  { name: "0", handle: 0 },
  { name: "a handle never issued (12345)", handle: 12345 },
  { name: "-1", handle: -1 },
];

describe.each(BACKENDS)("WSAENOTSOCK on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it.for(MODES)("WSASendTo (%s) with bad handles fails with WSAENOTSOCK", T, async (mode, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const to = addr4(rx.port);
      for (const { handle } of BAD_HANDLES) await expectSendToFails(mode, handle, to, ws.WSAENOTSOCK);
      await rx.settle(50);
      expect(rx.got).toHaveLength(0);
    });

    it.for(MODES)(
      "WSASendTo (%s) on a closed socket fails with WSAENOTSOCK and sends nothing",
      T,
      async (mode, { onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const to = addr4(rx.port);
        const s = udp4();
        expect(await ws.WSASendTo(s, bufs("open"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
        await rx.waitFor(1);
        expect(ws.closesocket(s)).toBe(0);
        await expectSendToFails(mode, s, to, ws.WSAENOTSOCK);
        await rx.settle(50);
        expect(rx.texts()).toEqual(["open"]);
      },
    );

    it(
      "WSASend, sendto, closesocket, bind, connect, getsockname, shutdown, setsockopt, getsockopt on a closed socket",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const to = addr4(rx.port);
        const s = udp4();
        expect(ws.connect(s, to, ws.sizeof(to))).toBe(0);
        expect(ws.closesocket(s)).toBe(0);
        const { args, watch } = validArgs("blocking", s, null);
        await expectCallFails(args, watch, ws.WSAENOTSOCK, looseWSASend);
        expect(await ws.sendto(s, Buffer.from("x"), 1, 0, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSAENOTSOCK);
        expectFails(ws.closesocket(s), ws.WSAENOTSOCK, "second closesocket");
        const local = addr4(0);
        expectFails(ws.bind(s, local, ws.sizeof(local)), ws.WSAENOTSOCK, "bind");
        expectFails(ws.connect(s, to, ws.sizeof(to)), ws.WSAENOTSOCK, "connect");
        expectFails(ws.getsockname(s, {}, ref(16)), ws.WSAENOTSOCK, "getsockname");
        expectFails(ws.shutdown(s, ws.SD_SEND), ws.WSAENOTSOCK, "shutdown");
        expectFails(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_SNDBUF, 65536, 4), ws.WSAENOTSOCK, "setsockopt");
        expectFails(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_MSG_SIZE, ref(), ref(4)), ws.WSAENOTSOCK, "getsockopt");
        expect(ws.WSAGetOverlappedResult(s, new ws.WSAOVERLAPPED(), ref(), false, ref())).toBe(false);
        expect(ws.WSAGetLastError()).toBe(ws.WSAENOTSOCK);
        await rx.settle(50);
        expect(rx.got).toHaveLength(0);
      },
    );

    it("handles are not reused: a new socket does not answer to a closed one's handle", () => {
      const s = udp4();
      expect(ws.closesocket(s)).toBe(0);
      const t = udp4();
      expect(t).not.toBe(s);
      expectFails(ws.closesocket(s), ws.WSAENOTSOCK, "stale handle");
      expect(ws.closesocket(t)).toBe(0);
    });
  });

  describe("idiomatic API", () => {
    it("sendTo on a closed socket throws / rejects WSAENOTSOCK and sends nothing", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      sock.close();
      await expectIdiomaticFails(sock, Buffer.from("x"), { address: LOOPBACK4, port: rx.port }, "WSAENOTSOCK");
      await rx.settle(50);
      expect(rx.got).toHaveLength(0);
    });
  });
});
