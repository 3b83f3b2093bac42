/**
 * Receiving, scatter: one datagram fills the posted buffers in order, reports its byte
 * count and its sender (lpFrom as a SOCKADDR_IN / SOCKADDR_IN6, lpFromlen 16 / 28), and
 * lpFlags comes back 0. WSARecv gives no source; recvfrom resolves with the byte count; a
 * zero-length datagram is a datagram of 0 bytes. The idiomatic `receive(buffers)` scatters
 * the same way. The other side is a plain node:dgram socket.
 */
import dgram from "node:dgram";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  bound,
  hasV6,
  LOOPBACK4,
  LOOPBACK6,
  NO_V6_REASON,
  openIdiomatic,
  openPeer,
  ref,
  sync,
  T,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

/** Three WSABUFs of 3, 4 and 16 bytes, filled with 0xee so untouched bytes show. */
function threeBuffers(): ws.WSABUF[] {
  return [3, 4, 16].map((n) => ({ len: n, buf: Buffer.alloc(n, 0xee) }));
}

describe.each(BACKENDS)("receive scatter on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(
      "blocking WSARecvFrom: the datagram fills the buffers in order; bytes, source, lpFromlen 16, lpFlags 0",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const buffers = threeBuffers();
        const got = ref(99);
        const flags = ref(0);
        const from: Record<string, unknown> = {};
        const fromlen = ref(16);
        const pending = ws.WSARecvFrom(s, buffers, 3, got, flags, from, fromlen, null, null);
        expect(pending).toBeInstanceOf(Promise);
        await peer.send("abcdefghij", port);
        expect(await pending).toBe(0);
        expect(ws.WSAGetLastError()).toBe(0);
        expect(got.value).toBe(10);
        expect(buffers[0]?.buf.toString()).toBe("abc");
        expect(buffers[1]?.buf.toString()).toBe("defg");
        expect(
          Buffer.from(buffers[2]?.buf ?? [])
            .subarray(0, 3)
            .toString(),
        ).toBe("hij");
        expect(buffers[2]?.buf.subarray(3).every((b) => b === 0xee)).toBe(true);
        expect(flags.value).toBe(0);
        expect(fromlen.value).toBe(16);
        expect(from.sin_family).toBe(ws.AF_INET);
        expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
        expect(from.sin_addr).toEqual({ s_addr: ws.inet_addr(LOOPBACK4) });
        expect(ws.inet_ntoa(from.sin_addr as ws.IN_ADDR)).toBe(LOOPBACK4);
      },
    );

    it("overlapped WSARecvFrom with an event: the source is written when it completes", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const buffers = threeBuffers();
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      const from: Record<string, unknown> = {};
      const fromlen = ref(64);
      const rc = sync(ws.WSARecvFrom(s, buffers, 3, null, ref(0), from, fromlen, ov, null));
      expect(rc).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      await peer.send("0123456", port);
      await waitAll([ov.hEvent]);
      const n = ref();
      const f = ref(7);
      expect(ws.WSAGetOverlappedResult(s, ov, n, false, f)).toBe(true);
      expect(n.value).toBe(7);
      expect(f.value).toBe(0);
      expect(ov.InternalHigh).toBe(7);
      expect(
        buffers
          .map((b) => Buffer.from(b.buf).toString("latin1"))
          .join("")
          .slice(0, 7),
      ).toBe("0123456");
      expect(fromlen.value).toBe(16);
      expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
      expect(ws.inet_ntoa(from.sin_addr as ws.IN_ADDR)).toBe(LOOPBACK4);
    });

    it("IPv6 on ::1: lpFrom is a SOCKADDR_IN6, lpFromlen 28", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const peer = await openPeer(onTestFinished, "udp6");
      const { s, port } = bound(6);
      const buf = Buffer.alloc(32);
      const got = ref();
      const flags = ref(0);
      const from: Record<string, unknown> = {};
      const fromlen = ref(28);
      const pending = ws.WSARecvFrom(s, [{ len: 32, buf }], 1, got, flags, from, fromlen, null, null);
      await peer.send("over six", port);
      expect(await pending).toBe(0);
      expect(got.value).toBe(8);
      expect(buf.subarray(0, 8).toString()).toBe("over six");
      expect(flags.value).toBe(0);
      expect(fromlen.value).toBe(28);
      expect(from.sin6_family).toBe(ws.AF_INET6);
      expect(ws.ntohs(from.sin6_port as number)).toBe(peer.port);
      expect(ws.inet_ntop(ws.AF_INET6, from.sin6_addr as Uint8Array)).toBe(LOOPBACK6);
      expect(from.sin6_flowinfo).toBe(0);
      expect(from.sin6_scope_id).toBe(0);
    });

    it("IPv6: an lpFromlen of 16 is too small for a SOCKADDR_IN6 (WSAEFAULT)", T, async ({ skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const { s } = bound(6);
      const rc = ws.WSARecvFrom(
        s,
        [{ len: 8, buf: Buffer.alloc(8) }],
        1,
        null,
        ref(0),
        {},
        ref(16),
        new ws.WSAOVERLAPPED(),
        null,
      );
      expect(sync(rc)).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEFAULT");
    });

    it("WSARecv scatters the same way and has no source", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const buffers = threeBuffers();
      const got = ref();
      const flags = ref(0);
      const pending = ws.WSARecv(s, buffers, 3, got, flags, null, null);
      expect(pending).toBeInstanceOf(Promise);
      await peer.send("xyz1234!", port);
      expect(await pending).toBe(0);
      expect(got.value).toBe(8);
      expect(flags.value).toBe(0);
      expect(
        buffers
          .map((b) => Buffer.from(b.buf).toString("latin1"))
          .join("")
          .slice(0, 8),
      ).toBe("xyz1234!");
    });

    it("a dwBufferCount smaller than the array: only the first buffers are used", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const buffers = threeBuffers();
      const got = ref();
      const pending = ws.WSARecvFrom(s, buffers, 2, got, ref(0), null, null, null, null);
      await peer.send("1234567", port);
      expect(await pending).toBe(0);
      expect(got.value).toBe(7);
      expect(buffers[0]?.buf.toString()).toBe("123");
      expect(buffers[1]?.buf.toString()).toBe("4567");
      expect(buffers[2]?.buf.every((b) => b === 0xee)).toBe(true);
    });

    it("only the first len bytes of a WSABUF are written", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const a = Buffer.alloc(8, 0xee);
      const b = Buffer.alloc(8, 0xee);
      const got = ref();
      const pending = ws.WSARecvFrom(
        s,
        [
          { len: 2, buf: a },
          { len: 8, buf: b },
        ],
        2,
        got,
        ref(0),
        null,
        null,
        null,
        null,
      );
      await peer.send("ABCDEF", port);
      expect(await pending).toBe(0);
      expect(got.value).toBe(6);
      expect(a.subarray(0, 2).toString()).toBe("AB");
      expect(a.subarray(2).every((x) => x === 0xee)).toBe(true);
      expect(b.subarray(0, 4).toString()).toBe("CDEF");
    });

    it("recvfrom resolves with the byte count and fills from / fromlen", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const buf = Buffer.alloc(64);
      const from: Record<string, unknown> = {};
      const fromlen = ref(16);
      const pending = ws.recvfrom(s, buf, 64, 0, from, fromlen);
      await peer.send("recvfrom!", port);
      expect(await pending).toBe(9);
      expect(ws.WSAGetLastError()).toBe(0);
      expect(buf.subarray(0, 9).toString()).toBe("recvfrom!");
      expect(fromlen.value).toBe(16);
      expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
      // recvfrom without a source is allowed too.
      const again = ws.recvfrom(s, buf, 64, 0, null, null);
      await peer.send("second", port);
      expect(await again).toBe(6);
    });

    it(
      "a zero-length datagram: 0 bytes, success, the buffers untouched; then the next datagram",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const buf = Buffer.alloc(8, 0xee);
        const got = ref(99);
        const flags = ref(0);
        const from: Record<string, unknown> = {};
        const pending = ws.WSARecvFrom(s, [{ len: 8, buf }], 1, got, flags, from, ref(16), null, null);
        await peer.send(Buffer.alloc(0), port);
        expect(await pending).toBe(0);
        expect(got.value).toBe(0);
        expect(flags.value).toBe(0);
        expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
        expect(buf.every((b) => b === 0xee)).toBe(true);
        const n = ws.recvfrom(s, buf, 8, 0, null, null);
        await peer.send(Buffer.alloc(0), port);
        expect(await n).toBe(0);
        const next = ws.recvfrom(s, buf, 8, 0, null, null);
        await peer.send("after", port);
        expect(await next).toBe(5);
      },
    );
  });

  describe("idiomatic", () => {
    it("receive(buffers) scatters in order; bytesReceived, from, truncated false", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const a = Buffer.alloc(2);
      const b = Buffer.alloc(3);
      const c = Buffer.alloc(10, 0xee);
      const pending = sock.receive([a, b, c]);
      await peer.send("scattered", port);
      const r = await pending;
      expect(r).toEqual({ bytesReceived: 9, from: { address: LOOPBACK4, port: peer.port, family: "IPv4" }, truncated: false });
      expect(a.toString()).toBe("sc");
      expect(b.toString()).toBe("att");
      expect(c.subarray(0, 4).toString()).toBe("ered");
      expect(c.subarray(4).every((x) => x === 0xee)).toBe(true);
    });

    it("receive(buffer) with one Uint8Array, and a zero-length datagram", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const buf = new Uint8Array(16);
      const one = sock.receive(buf);
      await peer.send("single", port);
      expect((await one).bytesReceived).toBe(6);
      expect(Buffer.from(buf.subarray(0, 6)).toString()).toBe("single");
      const zero = sock.receive(buf);
      await peer.send(Buffer.alloc(0), port);
      expect(await zero).toEqual({
        bytesReceived: 0,
        from: { address: LOOPBACK4, port: peer.port, family: "IPv4" },
        truncated: false,
      });
    });

    it("IPv6: from is ::1 with family IPv6", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const peer = await openPeer(onTestFinished, "udp6");
      const sock = openIdiomatic(backend, onTestFinished, { family: "ipv6", bind: { address: LOOPBACK6, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const pending = sock.receive(Buffer.alloc(8));
      await peer.send("v6", port);
      expect(await pending).toEqual({
        bytesReceived: 2,
        from: { address: LOOPBACK6, port: peer.port, family: "IPv6" },
        truncated: false,
      });
    });

    it("a socket bound by its first send receives the reply", T, async ({ onTestFinished }) => {
      const echo = dgram.createSocket("udp4");
      echo.on("message", (m, r) => echo.send(Buffer.concat([Buffer.from("re:"), m]), r.port, r.address));
      await new Promise<void>((resolve) => echo.bind(0, LOOPBACK4, () => resolve()));
      onTestFinished(() => new Promise<void>((resolve) => echo.close(() => resolve())));
      const sock = openIdiomatic(backend, onTestFinished);
      expect(sock.localAddress()).toBeNull();
      await sock.sendTo(Buffer.from("ping"), { address: LOOPBACK4, port: echo.address().port });
      const buf = Buffer.alloc(16);
      const r = await sock.receive(buf);
      expect(buf.subarray(0, r.bytesReceived).toString()).toBe("re:ping");
      expect(r.from.port).toBe(echo.address().port);
    });
  });
});
