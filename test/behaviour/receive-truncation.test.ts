import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  alertUntil,
  bound,
  LOOPBACK4,
  openIdiomatic,
  openPeer,
  pollUntil,
  ref,
  sync,
  T,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

/** NTSTATUS STATUS_BUFFER_OVERFLOW: Internal of a receive whose datagram did not fit. */
const STATUS_BUFFER_OVERFLOW = 0x80000005;

/** Waits (blocking MSG_PEEK, which leaves it) until a datagram is queued on `s`; its size. */
async function queued(s: number): Promise<number> {
  const got = ref();
  const rc = await ws.WSARecvFrom(
    s,
    [{ len: 65536, buf: Buffer.alloc(65536) }],
    1,
    got,
    ref(ws.MSG_PEEK),
    null,
    null,
    null,
    null,
  );
  expect(rc).toBe(0);
  return got.value;
}

/** Twenty bytes "ABCDEFGHIJKLMNOPQRST". */
const BIG = "ABCDEFGHIJKLMNOPQRST";

describe.each(BACKENDS)("receive truncation on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    /** Asserts the next datagram, "next", arrives whole on a blocking receive. */
    async function expectNextWhole(s: number, port: number, peer: { send(d: string, p: number): Promise<void> }): Promise<void> {
      const buf = Buffer.alloc(32);
      const got = ref();
      const next = ws.WSARecvFrom(s, [{ len: 32, buf }], 1, got, ref(0), null, null, null, null);
      await peer.send("next", port);
      expect(await next).toBe(0);
      expect(buf.subarray(0, got.value).toString()).toBe("next");
    }

    it(
      "blocking WSARecvFrom: first bytes, WSAEMSGSIZE, MSG_PARTIAL, bytes filled, source; the rest discarded",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const a = Buffer.alloc(4);
        const b = Buffer.alloc(4);
        const got = ref(99);
        const flags = ref(0);
        const from: Record<string, unknown> = {};
        const fromlen = ref(16);
        const pending = ws.WSARecvFrom(
          s,
          [
            { len: 4, buf: a },
            { len: 4, buf: b },
          ],
          2,
          got,
          flags,
          from,
          fromlen,
          null,
          null,
        );
        await peer.send(BIG, port);
        expect(await pending).toBe(ws.SOCKET_ERROR);
        expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
        expect(a.toString()).toBe("ABCD");
        expect(b.toString()).toBe("EFGH");
        expect(got.value).toBe(8);
        expect(flags.value).toBe(ws.MSG_PARTIAL);
        expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
        expect(fromlen.value).toBe(16);
        await expectNextWhole(s, port, peer);
      },
    );

    it("WSARecv and recvfrom: SOCKET_ERROR with WSAEMSGSIZE, the first bytes kept", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const buf = Buffer.alloc(5);
      const flags = ref(0);
      const got = ref();
      const viaRecv = ws.WSARecv(s, [{ len: 5, buf }], 1, got, flags, null, null);
      await peer.send(BIG, port);
      expect(await viaRecv).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
      expect(got.value).toBe(5);
      expect(flags.value).toBe(ws.MSG_PARTIAL);
      expect(buf.toString()).toBe("ABCDE");
      const small = Buffer.alloc(3);
      const viaRecvfrom = ws.recvfrom(s, small, 3, 0, null, null);
      await peer.send("xyzw", port);
      expect(await viaRecvfrom).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
      expect(small.toString()).toBe("xyz");
      await expectNextWhole(s, port, peer);
    });

    it(
      "overlapped, completed during the call: SOCKET_ERROR with WSAEMSGSIZE, lpFlags MSG_PARTIAL, bytes filled",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        await peer.send(BIG, port);
        expect(await queued(s)).toBe(20);
        const buf = Buffer.alloc(6);
        const got = ref(99);
        const flags = ref(0);
        const from: Record<string, unknown> = {};
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        const rc = sync(ws.WSARecvFrom(s, [{ len: 6, buf }], 1, got, flags, from, ref(16), ov, null));
        expect(rc).toBe(ws.SOCKET_ERROR);
        expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
        expect(buf.toString()).toBe("ABCDEF");
        expect(got.value).toBe(6);
        expect(flags.value).toBe(ws.MSG_PARTIAL);
        expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
        // The operation is over: its result says the same.
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
        const n = ref();
        const f = ref();
        expect(ws.WSAGetOverlappedResult(s, ov, n, false, f)).toBe(false);
        expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
        expect(n.value).toBe(6);
        expect(f.value).toBe(ws.MSG_PARTIAL);
        await expectNextWhole(s, port, peer);
      },
    );

    it(
      "overlapped, completed later: lpFlags left alone; WSAGetOverlappedResult false, WSAEMSGSIZE, lpdwFlags MSG_PARTIAL",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const buf = Buffer.alloc(7);
        const got = ref(99);
        const flags = ref(0);
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        const rc = sync(ws.WSARecvFrom(s, [{ len: 7, buf }], 1, got, flags, null, null, ov, null));
        expect(rc).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
        await peer.send(BIG, port);
        await waitAll([ov.hEvent]);
        expect(buf.toString()).toBe("ABCDEFG");
        // Delayed completion writes neither lpFlags nor lpNumberOfBytesRecvd.
        expect(flags.value).toBe(0);
        expect(got.value).toBe(99);
        expect(ov.Internal).toBe(STATUS_BUFFER_OVERFLOW);
        expect(ov.InternalHigh).toBe(7);
        const n = ref();
        const f = ref();
        expect(ws.WSAGetOverlappedResult(s, ov, n, false, f)).toBe(false);
        expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
        expect(n.value).toBe(7);
        expect(f.value).toBe(ws.MSG_PARTIAL);
        // fWait true on the completed operation says the same.
        const n2 = ref();
        const f2 = ref();
        expect(await ws.WSAGetOverlappedResult(s, ov, n2, true, f2)).toBe(false);
        expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
        expect([n2.value, f2.value]).toEqual([7, ws.MSG_PARTIAL]);
        await expectNextWhole(s, port, peer);
      },
    );

    it(
      "a whole datagram after a truncated one: WSAGetOverlappedResult true, lpdwFlags 0 again",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        const buf = Buffer.alloc(8);
        sync(ws.WSARecvFrom(s, [{ len: 8, buf }], 1, null, ref(0), null, null, ov, null));
        await peer.send(BIG, port);
        await waitAll([ov.hEvent]);
        expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, ref())).toBe(false);
        // The same WSAOVERLAPPED, reused for a datagram that fits.
        const rc = sync(ws.WSARecvFrom(s, [{ len: 8, buf }], 1, null, ref(0), null, null, ov, null));
        expect(rc).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
        await peer.send("fits", port);
        await waitAll([ov.hEvent]);
        const n = ref();
        const f = ref(ws.MSG_PARTIAL);
        expect(ws.WSAGetOverlappedResult(s, ov, n, false, f)).toBe(true);
        expect([n.value, f.value]).toEqual([4, 0]);
        expect(buf.subarray(0, 4).toString()).toBe("fits");
      },
    );

    // Winsock documents the routine's dwFlags as "information that would have appeared in
    // lpFlags if the receive operation had completed immediately": MSG_PARTIAL here.
    it(
      "overlapped with a completion routine: (WSAEMSGSIZE, bytes filled, lpOverlapped, MSG_PARTIAL)",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const calls: [number, number, ws.WSAOVERLAPPED, number][] = [];
        const ov = new ws.WSAOVERLAPPED();
        const buf = Buffer.alloc(3);
        const rc = sync(
          ws.WSARecvFrom(s, [{ len: 3, buf }], 1, null, ref(0), null, null, ov, (e, n, o, f) => calls.push([e, n, o, f])),
        );
        expect(rc).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
        await peer.send(BIG, port);
        await alertUntil(() => calls.length > 0);
        expect(buf.toString()).toBe("ABC");
        expect(calls).toEqual([[ws.WSAEMSGSIZE, 3, ov, ws.MSG_PARTIAL]]);
      },
    );

    it("overlapped with a completion routine: dwError WSAEMSGSIZE and the bytes that fit", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const calls: [number, number][] = [];
      const ov = new ws.WSAOVERLAPPED();
      const buf = Buffer.alloc(3);
      const rc = sync(ws.WSARecvFrom(s, [{ len: 3, buf }], 1, null, ref(0), null, null, ov, (e, n) => calls.push([e, n])));
      expect(rc).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      await peer.send(BIG, port);
      await pollUntil(() => ws.HasOverlappedIoCompleted(ov));
      await alertUntil(() => calls.length > 0);
      expect(calls).toEqual([[ws.WSAEMSGSIZE, 3]]);
      const f = ref();
      expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, f)).toBe(false);
      expect(f.value).toBe(ws.MSG_PARTIAL);
      await expectNextWhole(s, port, peer);
    });

    it("a truncated MSG_PEEK leaves the whole datagram", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      await peer.send(BIG, port);
      const small = Buffer.alloc(4);
      const flags = ref(ws.MSG_PEEK);
      const got = ref();
      expect(await ws.WSARecvFrom(s, [{ len: 4, buf: small }], 1, got, flags, null, null, null, null)).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEMSGSIZE");
      expect(small.toString()).toBe("ABCD");
      expect(got.value).toBe(4);
      expect(flags.value).toBe(ws.MSG_PARTIAL);
      const whole = Buffer.alloc(32);
      const n = await ws.recvfrom(s, whole, 32, 0, null, null);
      expect(n).toBe(20);
      expect(whole.subarray(0, 20).toString()).toBe(BIG);
    });
  });

  describe("idiomatic", () => {
    it(
      "receive: truncated true, bytesReceived the buffers' size, the first bytes; the rest discarded",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const port = sock.localAddress()?.port ?? 0;
        const a = Buffer.alloc(2);
        const b = Buffer.alloc(3);
        const pending = sock.receive([a, b]);
        await peer.send(BIG, port);
        expect(await pending).toEqual({
          bytesReceived: 5,
          from: { address: LOOPBACK4, port: peer.port, family: "IPv4" },
          truncated: true,
        });
        expect(`${a}${b}`).toBe("ABCDE");
        const buf = Buffer.alloc(16);
        const next = sock.receive(buf);
        await peer.send("next", port);
        const r = await next;
        expect(r.truncated).toBe(false);
        expect(buf.subarray(0, r.bytesReceived).toString()).toBe("next");
      },
    );

    it("receive with peek on a larger datagram: truncated, and the datagram stays whole", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const small = Buffer.alloc(4);
      const peeked = sock.receive(small, { peek: true });
      await peer.send(BIG, port);
      expect((await peeked).truncated).toBe(true);
      expect(small.toString()).toBe("ABCD");
      const whole = Buffer.alloc(64);
      const r = await sock.receive(whole);
      expect(r.truncated).toBe(false);
      expect(whole.subarray(0, r.bytesReceived).toString()).toBe(BIG);
    });

    it("datagrams({ maxSize }): a larger datagram is yielded truncated to maxSize bytes", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      await peer.send(BIG, port);
      await peer.send("ok", port);
      const seen: { data: string; truncated: boolean }[] = [];
      for await (const d of sock.datagrams({ maxSize: 4 })) {
        seen.push({ data: d.data.toString(), truncated: d.truncated });
        if (seen.length === 2) break;
      }
      expect(seen).toEqual([
        { data: "ABCD", truncated: true },
        { data: "ok", truncated: false },
      ]);
    });
  });
});
