/**
 * A connected socket drops every datagram that is not from its peer, however many come
 * in a row (more than one turn of the backend's filtering), and also for a peek: a peek
 * posted while another sender's datagram waits first skips it and sees the peer's, which
 * stays queued for the receive behind it. Receives posted behind one another on a
 * connected socket are served in posting order.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, alertUntil, openPeer, type Peer, ref, sleep, T, udp4, useFacade, ws } from "../helpers.js";

/** A facade socket (SO_RCVBUF 1 MiB) bound to 127.0.0.1 port 0 and connected to `peer`; its handle and port. */
function connectedTo(peer: Peer): { s: number; port: number } {
  const s = udp4();
  expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, 1 << 20, 4)).toBe(0);
  const local = addr4(0);
  expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
  const to = addr4(peer.port);
  expect(ws.connect(s, to, ws.sizeof(to))).toBe(0);
  const name: Record<string, unknown> = {};
  expect(ws.getsockname(s, name, ref(16))).toBe(0);
  return { s, port: ws.ntohs(name.sin_port as number) };
}

describe.each(BACKENDS)("a connected socket filters other senders on $name", (backend) => {
  useFacade(backend);

  it(
    "200 datagrams from another sender before the peer's: dropped; then a peek and two receives behind it get the peer's, in order",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const other = await openPeer(onTestFinished);
      const { s, port } = connectedTo(peer);
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
