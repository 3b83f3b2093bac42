import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { bound, LOOPBACK4, openIdiomatic, openPeer, ref, sync, T, useFacade, waitAll, ws } from "../helpers.js";

/** One blocking WSARecvFrom with `flags`; the text received and the sender's port. */
async function receiveText(s: number, flags: number): Promise<{ text: string; port: number; rc: number }> {
  const buf = Buffer.alloc(64);
  const got = ref();
  const lpFlags = ref(flags);
  const from: Record<string, unknown> = {};
  const rc = await ws.WSARecvFrom(s, [{ len: 64, buf }], 1, got, lpFlags, from, ref(16), null, null);
  expect(lpFlags.value & ws.MSG_PARTIAL).toBe(0);
  return { rc, text: buf.subarray(0, got.value).toString(), port: ws.ntohs(from.sin_port as number) };
}

/** An overlapped WSARecvFrom with an event; its buffer, event and overlapped structure. */
function post(s: number, flags: number): { buf: Buffer; ov: ws.WSAOVERLAPPED; event: ws.WSAEVENT } {
  const buf = Buffer.alloc(64);
  const ov = new ws.WSAOVERLAPPED();
  const event = ws.WSACreateEvent();
  ov.hEvent = event;
  const rc = sync(ws.WSARecvFrom(s, [{ len: 64, buf }], 1, null, ref(flags), null, null, ov, null));
  expect(rc).toBe(ws.SOCKET_ERROR);
  expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
  return { buf, ov, event };
}

const text = (p: { buf: Buffer; ov: ws.WSAOVERLAPPED }): string => p.buf.subarray(0, p.ov.InternalHigh).toString();

describe.each(BACKENDS)("MSG_PEEK on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(
      "a peek leaves the datagram: peek, peek, read give the same datagram; the next read the next one",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        await peer.send("first", port);
        await peer.send("second", port);
        const peeked = await receiveText(s, ws.MSG_PEEK);
        expect(peeked).toEqual({ rc: 0, text: "first", port: peer.port });
        expect(await receiveText(s, ws.MSG_PEEK)).toEqual(peeked);
        expect(await receiveText(s, 0)).toEqual(peeked);
        expect(await receiveText(s, 0)).toEqual({ rc: 0, text: "second", port: peer.port });
      },
    );

    it("recvfrom with MSG_PEEK, then without", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const buf = Buffer.alloc(16);
      const peek = ws.recvfrom(s, buf, 16, ws.MSG_PEEK, null, null);
      await peer.send("look", port);
      expect(await peek).toBe(4);
      buf.fill(0);
      expect(await ws.recvfrom(s, buf, 16, 0, null, null)).toBe(4);
      expect(buf.subarray(0, 4).toString()).toBe("look");
    });

    it("an overlapped peek completed during the call returns 0 and leaves the datagram", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      await peer.send("waiting", port);
      expect((await receiveText(s, ws.MSG_PEEK)).text).toBe("waiting");
      const buf = Buffer.alloc(16);
      const got = ref(99);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      const rc = sync(ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, ref(ws.MSG_PEEK), null, null, ov, null));
      if (backend.deviations.immediateReceive) {
        expect([rc, ws.WSAGetLastError(), got.value]).toEqual([0, 0, 7]);
      } else {
        // Through the completion port: pending at the call, completed by its packet, the same peek.
        expect([rc, ws.WSAGetLastError(), got.value]).toEqual([ws.SOCKET_ERROR, ws.WSA_IO_PENDING, 99]);
        await waitAll([ov.hEvent]);
      }
      expect([ov.Internal, ov.InternalHigh]).toEqual([0, 7]);
      expect(buf.subarray(0, 7).toString()).toBe("waiting");
      expect((await receiveText(s, 0)).text).toBe("waiting");
    });

    it(
      "a peek posted before a receive: both get the same datagram; the next receive waits for the next one",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const peek = post(s, ws.MSG_PEEK);
        const take = post(s, 0);
        const third = post(s, 0);
        await peer.send("A", port);
        await waitAll([peek.event, take.event]);
        expect([text(peek), text(take)]).toEqual(["A", "A"]);
        expect(ws.HasOverlappedIoCompleted(third.ov)).toBe(false);
        await peer.send("B", port);
        await waitAll([third.event]);
        expect(text(third)).toBe("B");
      },
    );

    it(
      "a receive posted before a peek: the receive takes the first datagram, the peek sees the second and leaves it",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const take = post(s, 0);
        const peek = post(s, ws.MSG_PEEK);
        await peer.send("A", port);
        await waitAll([take.event]);
        expect(text(take)).toBe("A");
        expect(ws.HasOverlappedIoCompleted(peek.ov)).toBe(false);
        await peer.send("B", port);
        await waitAll([peek.event]);
        expect(text(peek)).toBe("B");
        expect((await receiveText(s, 0)).text).toBe("B");
      },
    );
  });

  describe("idiomatic", () => {
    it("receive with peek: true leaves the datagram; the same bytes and source come again", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const a = Buffer.alloc(16);
      const peeked = sock.receive(a, { peek: true });
      await peer.send("idiomatic", port);
      const r1 = await peeked;
      expect(r1).toEqual({ bytesReceived: 9, from: { address: LOOPBACK4, port: peer.port, family: "IPv4" }, truncated: false });
      const b = Buffer.alloc(16);
      expect(await sock.receive(b, { peek: true })).toEqual(r1);
      const c = Buffer.alloc(16);
      expect(await sock.receive(c)).toEqual(r1);
      expect([a, b, c].map((x) => x.subarray(0, 9).toString())).toEqual(["idiomatic", "idiomatic", "idiomatic"]);
      const next = sock.receive(c);
      await peer.send("then", port);
      expect((await next).bytesReceived).toBe(4);
      expect(c.subarray(0, 4).toString()).toBe("then");
    });

    it("a pending peek and a pending receive are served in order with the same datagram", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const a = Buffer.alloc(8);
      const b = Buffer.alloc(8);
      const order: string[] = [];
      const peek = sock.receive(a, { peek: true }).then((r) => {
        order.push("peek");
        return r;
      });
      const take = sock.receive(b).then((r) => {
        order.push("take");
        return r;
      });
      await peer.send("both", port);
      const [rp, rt] = await Promise.all([peek, take]);
      expect(rp.bytesReceived).toBe(4);
      expect(rt.bytesReceived).toBe(4);
      expect(order).toEqual(["peek", "take"]);
      expect([a.subarray(0, 4).toString(), b.subarray(0, 4).toString()]).toEqual(["both", "both"]);
    });
  });
});
