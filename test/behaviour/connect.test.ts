/**
 * Connected datagram sockets: lpTo overrides the connected peer for one datagram only;
 * WSASend (and WSASendTo without lpTo) go to the peer; WSASend on an unconnected socket
 * fails with WSAENOTCONN; connecting to the all-zero address dissolves the association.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bufs,
  expectFails,
  expectNothingSentBefore,
  expectStarted,
  expectWSAError,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  ref,
  T,
  udp4,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

describe.each(BACKENDS)("connected sockets on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it("lpTo overrides the connected peer for that datagram only", T, async ({ onTestFinished }) => {
      const a = await openReceiver();
      const b = await openReceiver();
      onTestFinished(async () => {
        await a.close();
        await b.close();
      });
      const s = udp4();
      const peer = addr4(a.port);
      expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
      const other = addr4(b.port);
      expect(await ws.WSASendTo(s, bufs("to-b"), 1, ref(), 0, other, ws.sizeof(other), null, null)).toBe(0);
      expect(await ws.WSASendTo(s, bufs("to-a"), 1, ref(), 0, null, 0, null, null)).toBe(0);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expectStarted(ws.WSASendTo(s, bufs("to-b", "-ov"), 2, null, 0, other, ws.sizeof(other), ov, null), backend);
      await waitAll([ov.hEvent]);
      expect(await ws.WSASend(s, bufs("to-a", "-send"), 2, ref(), 0, null, null)).toBe(0);
      await a.waitFor(2);
      await b.waitFor(2);
      await b.settle(30);
      expect(b.texts()).toEqual(["to-b", "to-b-ov"]);
      expect(a.texts()).toEqual(["to-a", "to-a-send"]);
    });

    it("connect + WSASend (blocking and overlapped) sends gathered datagrams to the peer", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const peer = addr4(rx.port);
      expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
      const sent = ref();
      expect(await ws.WSASend(s, bufs("con", "nected"), 2, sent, 0, null, null)).toBe(0);
      expect(sent.value).toBe(9);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expectStarted(ws.WSASend(s, bufs("over", "lapped"), 2, null, 0, ov, null), backend, "WSASend");
      await waitAll([ov.hEvent]);
      const n = ref();
      expect(ws.WSAGetOverlappedResult(s, ov, n, false, ref())).toBe(true);
      expect(n.value).toBe(10);
      await rx.waitFor(2);
      expect(rx.texts()).toEqual(["connected", "overlapped"]);
    });

    it(
      "connect binds implicitly; getsockname reports 127.0.0.1 (routing's choice, as on Windows) and the sending port",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const peer = addr4(rx.port);
        expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
        const name: Partial<ws.SOCKADDR_IN> = {};
        expect(ws.getsockname(s, name, ref(16))).toBe(0);
        expect(name.sin_addr?.s_addr).toBe(ws.inet_addr(LOOPBACK4));
        expect(await ws.WSASend(s, bufs("x"), 1, ref(), 0, null, null)).toBe(0);
        const [d] = await rx.waitFor(1);
        expect(d?.rinfo.port).toBe(ws.ntohs(name.sin_port ?? 0));
      },
    );

    it("WSASend on an unconnected socket fails with WSAENOTCONN and sends nothing", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      expectFails(await ws.WSASend(s, bufs("nc"), 1, ref(), 0, null, null), ws.WSAENOTCONN, "WSASend blocking");
      expectFails(ws.WSASend(s, bufs("nc"), 1, null, 0, new ws.WSAOVERLAPPED(), null), ws.WSAENOTCONN, "WSASend overlapped");
      expect(await ws.send(s, Buffer.from("nc"), 2, 0)).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAENOTCONN);
      await expectNothingSentBefore(s, rx, addr4(rx.port));
    });

    it("connect to the all-zero address dissolves the association", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const peer = addr4(rx.port);
      expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
      expect(await ws.WSASend(s, bufs("while connected"), 1, ref(), 0, null, null)).toBe(0);
      const none = addr4(0, "0.0.0.0");
      expect(ws.connect(s, none, ws.sizeof(none))).toBe(0);
      expectFails(await ws.WSASend(s, bufs("after"), 1, ref(), 0, null, null), ws.WSAENOTCONN, "WSASend after dissolving");
      expectFails(await ws.WSASendTo(s, bufs("after"), 1, ref(), 0, null, 0, null, null), ws.WSAEDESTADDRREQ, "no lpTo");
      await rx.waitFor(1);
      await rx.settle(50);
      expect(rx.texts()).toEqual(["while connected"]);
    });
  });

  describe("idiomatic API", () => {
    it("sendTo overrides the connected peer; send() goes to the peer", T, async ({ onTestFinished }) => {
      const a = await openReceiver();
      const b = await openReceiver();
      onTestFinished(async () => {
        await a.close();
        await b.close();
      });
      const sock = openIdiomatic(backend, onTestFinished);
      sock.connect({ address: LOOPBACK4, port: a.port });
      expect((await sock.sendTo(Buffer.from("to-b"), { address: LOOPBACK4, port: b.port })).bytesSent).toBe(4);
      expect((await sock.send([Buffer.from("to-"), Buffer.from("a")])).bytesSent).toBe(4);
      await a.waitFor(1);
      await b.waitFor(1);
      await a.settle(30);
      expect(a.texts()).toEqual(["to-a"]);
      expect(b.texts()).toEqual(["to-b"]);
    });

    // The idiomatic send() to the connected peer fails like the facade's WSASend/send.
    it("send() without a peer rejects with WSAENOTCONN, as WSASend does", T, async ({ onTestFinished }) => {
      const sock = openIdiomatic(backend, onTestFinished);
      const e = await sock.send(Buffer.from("x")).catch((err: unknown) => err);
      expectWSAError(e, "WSAENOTCONN");
    });

    it("send() without a peer rejects and sends nothing; connect(null) dissolves the peer", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const never = await sock.send(Buffer.from("x")).catch((e: unknown) => e);
      expect(never).toBeInstanceOf(ws.WSAError);
      sock.connect({ address: LOOPBACK4, port: rx.port });
      expect((await sock.send(Buffer.from("connected"))).bytesSent).toBe(9);
      await rx.waitFor(1);
      sock.connect(null);
      const dissolved = await sock.send(Buffer.from("y")).catch((e: unknown) => e);
      expect(dissolved).toBeInstanceOf(ws.WSAError);
      expect((dissolved as ws.WSAError).code).toBe((never as ws.WSAError).code);
      await rx.settle(50);
      expect(rx.texts()).toEqual(["connected"]);
    });
  });
});
