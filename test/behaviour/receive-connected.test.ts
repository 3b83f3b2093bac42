import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  alertUntil,
  LOOPBACK4,
  openIdiomatic,
  openPeer,
  type Peer,
  ref,
  sleep,
  sync,
  T,
  udp4,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

/** A facade socket (with SO_RCVBUF set first, when given) bound to 127.0.0.1 port 0 and connected to `peer`; its handle and port. */
function connectedTo(peer: Peer, rcvbuf?: number): { s: number; port: number } {
  const s = udp4();
  if (rcvbuf !== undefined) expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, rcvbuf, 4)).toBe(0);
  const local = addr4(0);
  expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
  const to = addr4(peer.port);
  expect(ws.connect(s, to, ws.sizeof(to))).toBe(0);
  const name: Record<string, unknown> = {};
  expect(ws.getsockname(s, name, ref(16))).toBe(0);
  return { s, port: ws.ntohs(name.sin_port as number) };
}

describe.each(BACKENDS)("receiving on a connected socket on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it("WSARecvFrom gets only the peer's datagrams; another sender's are not received", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const other = await openPeer(onTestFinished);
      const { s, port } = connectedTo(peer);
      await other.send("from other", port);
      await peer.send("from peer", port);
      const buf = Buffer.alloc(32);
      const got = ref();
      const from: Record<string, unknown> = {};
      expect(await ws.WSARecvFrom(s, [{ len: 32, buf }], 1, got, ref(0), from, ref(16), null, null)).toBe(0);
      expect(buf.subarray(0, got.value).toString()).toBe("from peer");
      expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
      expect(ws.inet_ntoa(from.sin_addr as ws.IN_ADDR)).toBe(LOOPBACK4);
    });

    it(
      "a pending receive is not completed by another sender's datagram; the peer's completes it",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const other = await openPeer(onTestFinished);
        const { s, port } = connectedTo(peer);
        const buf = Buffer.alloc(32);
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        expect(sync(ws.WSARecvFrom(s, [{ len: 32, buf }], 1, null, ref(0), {}, ref(16), ov, null))).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
        for (let i = 0; i < 3; i++) await other.send(`other ${i}`, port);
        expect(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 150, false)).toBe(ws.WSA_WAIT_TIMEOUT);
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
        await peer.send("peer", port);
        await waitAll([ov.hEvent]);
        expect([ov.Internal, ov.InternalHigh]).toEqual([0, 4]);
        expect(buf.subarray(0, 4).toString()).toBe("peer");
      },
    );

    // Winsock never copies a datagram the socket does not receive into the caller's buffers.
    it("another sender's datagram leaves the buffers of a pending receive untouched", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const other = await openPeer(onTestFinished);
      const { s, port } = connectedTo(peer);
      const buf = Buffer.alloc(32);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expect(sync(ws.WSARecvFrom(s, [{ len: 32, buf }], 1, null, ref(0), {}, ref(16), ov, null))).toBe(ws.SOCKET_ERROR);
      await other.send("not for you, not for you", port);
      await sleep(50);
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
      await peer.send("peer", port);
      await waitAll([ov.hEvent]);
      expect(ov.InternalHigh).toBe(4);
      expect(buf.subarray(0, 4).toString()).toBe("peer");
      expect(buf.subarray(4).every((b) => b === 0)).toBe(true);
    });

    it("WSARecv on a connected socket; other senders interleaved are skipped, in order", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const other = await openPeer(onTestFinished);
      const { s, port } = connectedTo(peer);
      for (let i = 0; i < 4; i++) {
        await other.send(`x${i}`, port);
        await peer.send(`p${i}`, port);
      }
      const texts: string[] = [];
      for (let i = 0; i < 4; i++) {
        const buf = Buffer.alloc(16);
        const got = ref();
        const flags = ref(0);
        expect(await ws.WSARecv(s, [{ len: 16, buf }], 1, got, flags, null, null)).toBe(0);
        expect(flags.value).toBe(0);
        texts.push(buf.subarray(0, got.value).toString());
      }
      expect(texts).toEqual(["p0", "p1", "p2", "p3"]);
      // Nothing from the other sender is left waiting.
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expect(sync(ws.WSARecv(s, [{ len: 16, buf: Buffer.alloc(16) }], 1, null, ref(0), ov, null))).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      await sleep(50);
      expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
    });
  });

  describe("idiomatic", () => {
    it("after connect(), receive and the async iterator see only the peer's datagrams", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const other = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      sock.connect({ address: LOOPBACK4, port: peer.port });
      await other.send("nope", port);
      await peer.send("yes 1", port);
      const buf = Buffer.alloc(16);
      const r = await sock.receive(buf);
      expect(r.from).toEqual({ address: LOOPBACK4, port: peer.port, family: "IPv4" });
      expect(buf.subarray(0, r.bytesReceived).toString()).toBe("yes 1");
      await other.send("nope", port);
      await peer.send("yes 2", port);
      for await (const d of sock.datagrams()) {
        expect(d.from.port).toBe(peer.port);
        expect(d.data.toString()).toBe("yes 2");
        break;
      }
    });
  });
});

/**
 * A connected socket drops every datagram that is not from its peer, however many come
 * in a row (more than one turn of the backend's filtering), and also for a peek: a peek
 * posted while another sender's datagram waits first skips it and sees the peer's, which
 * stays queued for the receive behind it. Receives posted behind one another on a
 * connected socket are served in posting order.
 */
describe.each(BACKENDS)("a connected socket filters other senders on $name", (backend) => {
  useFacade(backend);

  it(
    "200 datagrams from another sender before the peer's: dropped; then a peek and two receives behind it get the peer's, in order",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const other = await openPeer(onTestFinished);
      const { s, port } = connectedTo(peer, 1 << 20);
      for (let i = 0; i < 200; i++) await other.send(`x${i}`, port);
      await peer.send("from-peer-1", port);
      await sleep(100);
      const calls: Array<[number, number, number, string]> = [];
      const post = (i: number, flags: number): Buffer => {
        const buf = Buffer.alloc(32);
        const ov = new ws.WSAOVERLAPPED();
        const rc = ws.WSARecvFrom(s, [{ len: 32, buf }], 1, null, ref(flags), {}, ref(16), ov, (err, n) =>
          calls.push([i, err, n, buf.toString("latin1", 0, n)]),
        );
        expect(rc === 0 || ws.WSAGetLastError() === ws.WSA_IO_PENDING, `receive ${i}: ${rc}, ${ws.WSAGetLastError()}`).toBe(true);
        return buf;
      };
      post(0, 0);
      await alertUntil(() => calls.length >= 1);
      expect(calls).toEqual([[0, 0, 11, "from-peer-1"]]);
      // Behind one another: a peek, then two receives.
      post(1, ws.MSG_PEEK);
      post(2, 0);
      post(3, 0);
      await other.send("nope", port);
      await sleep(50);
      await peer.send("from-peer-2", port);
      await other.send("nope2", port);
      await peer.send("from-peer-3", port);
      await alertUntil(() => calls.length >= 4);
      await ws.SleepEx(100, true); // a second run of any routine would show here
      expect(calls.slice(1)).toEqual([
        [1, 0, 11, "from-peer-2"],
        [2, 0, 11, "from-peer-2"],
        [3, 0, 11, "from-peer-3"],
      ]);
      // Nothing else waits for it: a non-blocking receive would block.
      expect(ws.ioctlsocket(s, ws.FIONBIO, ref(1))).toBe(0);
      expect(ws.recvfrom(s, Buffer.alloc(8), 8, 0, null, null)).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEWOULDBLOCK");
    },
  );
});
