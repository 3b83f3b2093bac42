/**
 * Non-blocking sockets (ioctlsocket FIONBIO, and WSAEventSelect, which sets it): the
 * non-overlapped calls return at once, never a Promise: the result, or SOCKET_ERROR with
 * WSAEWOULDBLOCK when nothing waits or there is no room (the specification's row for
 * non-overlapped sockets). FIONREAD tells the bytes waiting.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bound, bufs, openReceiver, ref, sync, T, udp4, useFacade, ws } from "../helpers.js";

/** Makes `s` non-blocking and asserts it worked. */
function nonBlocking(s: number): void {
  expect(ws.ioctlsocket(s, ws.FIONBIO, ref(1))).toBe(0);
  expect(ws.WSAGetLastError()).toBe(0);
}

/** Polls `s` for readability with zero-timeout selects (each lets the loop turn), bounded. */
async function untilReadable(s: number): Promise<void> {
  const deadline = Date.now() + 3000;
  for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
    const rs = new ws.fd_set();
    ws.FD_SET(s, rs);
    if ((await ws.select(0, rs, null, null, { tv_sec: 0, tv_usec: 0 })) === 1) return;
  }
  throw new Error("never readable");
}

describe.each(BACKENDS)("non-blocking sockets on $name", (backend) => {
  useFacade(backend);

  it("FIONBIO: a receive with nothing waiting fails at once with WSAEWOULDBLOCK, in every spelling", T, () => {
    const { s } = bound();
    nonBlocking(s);
    const buf = Buffer.alloc(16);
    expect(sync(ws.recvfrom(s, buf, 16, 0, null, null))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
    expect(sync(ws.recv(s, buf, 16, 0))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
    expect(sync(ws.WSARecvFrom(s, bufs(buf), 1, ref(), ref(), {}, ref(16), null, null))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
    expect(sync(ws.WSARecv(s, bufs(buf), 1, ref(), ref(), null, null))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
  });

  it("a datagram waiting is received at once, with its source; the next receive would block", T, async () => {
    const { s, port } = bound();
    nonBlocking(s);
    const sender = udp4();
    const to = addr4(port);
    expect(await ws.sendto(sender, Buffer.from("now"), 3, 0, to, 16)).toBe(3);
    await untilReadable(s);
    const buf = Buffer.alloc(16);
    const from: Record<string, unknown> = {};
    const fromlen = ref(16);
    expect(sync(ws.recvfrom(s, buf, 16, 0, from, fromlen))).toBe(3);
    expect(ws.WSAGetLastError()).toBe(0);
    expect(buf.subarray(0, 3).toString()).toBe("now");
    expect(from.sin_family).toBe(ws.AF_INET);
    expect(fromlen.value).toBe(16);
    expect(sync(ws.recvfrom(s, buf, 16, 0, null, null))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
  });

  it("sends return the bytes at once, and the datagram arrives", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    nonBlocking(s);
    const to = addr4(rx.port);
    expect(sync(ws.sendto(s, Buffer.from("sent"), 4, 0, to, 16))).toBe(4);
    const sent = ref();
    expect(sync(ws.WSASendTo(s, bufs("gath", "ered"), 2, sent, 0, to, 16, null, null))).toBe(0);
    expect(sent.value).toBe(8);
    expect((await rx.waitFor(2)).map((d) => d.msg.toString())).toEqual(["sent", "gathered"]);
  });

  it("errors found before sending are returned at once too", T, () => {
    const s = udp4();
    nonBlocking(s);
    expect(sync(ws.WSASendTo(s, bufs("x"), 1, ref(), 0, null, 0, null, null))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEDESTADDRREQ);
    expect(sync(ws.recv(s, Buffer.alloc(4), 4, 0))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL); // not bound
  });

  it(
    "a burst of sends: each is sent or refused with WSAEWOULDBLOCK; only the sent ones arrive",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      nonBlocking(s);
      const to = addr4(rx.port);
      let sent = 0;
      for (let i = 0; i < 500; i++) {
        const rc = sync(ws.sendto(s, Buffer.alloc(8, i), 8, 0, to, 16));
        if (rc === 8) sent++;
        else {
          expect(rc).toBe(ws.SOCKET_ERROR);
          expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
        }
      }
      expect(sent).toBeGreaterThan(0);
      await rx.waitFor(sent);
      await rx.settle(100);
      expect(rx.got.length).toBe(sent);
    },
  );

  it("FIONBIO 0 makes the calls blocking again (Promises)", T, async () => {
    const { s } = bound();
    nonBlocking(s);
    expect(ws.ioctlsocket(s, ws.FIONBIO, ref(0))).toBe(0);
    const p = ws.recvfrom(s, Buffer.alloc(4), 4, 0, null, null);
    expect(p).toBeInstanceOf(Promise);
    expect(ws.closesocket(s)).toBe(0);
    expect(await p).toBe(ws.SOCKET_ERROR);
  });

  it(
    backend.deviations.fionreadCountsAll
      ? "FIONREAD: 0 when nothing waits, then the bytes of every datagram waiting"
      : "FIONREAD: 0 when nothing waits, then the size of the first datagram waiting",
    T,
    async () => {
      const { s, port } = bound();
      const n = ref(99);
      expect(ws.ioctlsocket(s, ws.FIONREAD, n)).toBe(0);
      expect(n.value).toBe(0);
      const sender = udp4();
      const to = addr4(port);
      expect(await ws.sendto(sender, Buffer.alloc(5), 5, 0, to, 16)).toBe(5);
      expect(await ws.sendto(sender, Buffer.alloc(7), 7, 0, to, 16)).toBe(7);
      await untilReadable(s);
      await ws.SleepEx(20, false);
      expect(ws.ioctlsocket(s, ws.FIONREAD, n)).toBe(0);
      expect(n.value).toBe(backend.deviations.fionreadCountsAll ? 12 : 5);
    },
  );

  it("ioctlsocket: an unknown command fails with WSAEINVAL, a missing argp with WSAEFAULT, a bad socket WSAENOTSOCK", T, () => {
    const s = udp4();
    expect(ws.ioctlsocket(s, 0x12345678, ref())).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
    expect(ws.ioctlsocket(s, ws.FIONBIO, null as unknown as ws.Ref)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
    expect(ws.ioctlsocket(ws.INVALID_SOCKET, ws.FIONBIO, ref(1))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAENOTSOCK);
  });
});
