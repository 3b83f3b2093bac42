/**
 * WSAEventSelect and WSAEnumNetworkEvents with Windows' re-enabling rules: FD_WRITE is
 * recorded at once on a fresh UDP socket (it is writable) and again only after a send
 * failed with WSAEWOULDBLOCK; FD_READ is recorded when a datagram waits, and again only
 * after a receive call re-enabled it. The socket becomes non-blocking. And WSAIoctl.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, completesDuringCall } from "../backends.js";
import { addr4, bound, openReceiver, ref, sleep, sync, T, udp4, useFacade, ws } from "../helpers.js";

/** What WSAEnumNetworkEvents reports now (and resets). */
function enumEvents(s: number, ev: ws.WSAEVENT | null): ws.WSANETWORKEVENTS {
  const ne: ws.WSANETWORKEVENTS = { lNetworkEvents: -1, iErrorCode: [] };
  expect(ws.WSAEnumNetworkEvents(s, ev, ne)).toBe(0);
  return ne;
}

async function signalled(ev: ws.WSAEVENT, ms = 0): Promise<boolean> {
  return (await ws.WSAWaitForMultipleEvents(1, [ev], false, ms, false)) === ws.WSA_WAIT_EVENT_0;
}

async function sendTo(port: number, text: string): Promise<void> {
  const s = udp4();
  expect(await ws.sendto(s, Buffer.from(text), text.length, 0, addr4(port), 16)).toBe(text.length);
}

describe.each(BACKENDS)("WSAEventSelect on $name", (backend) => {
  useFacade(backend);

  it("FD_WRITE at once on a fresh socket; WSAEnumNetworkEvents reports it once and resets the event", T, async () => {
    const { s } = bound();
    const ev = ws.WSACreateEvent();
    expect(ws.WSAEventSelect(s, ev, ws.FD_READ | ws.FD_WRITE)).toBe(0);
    expect(await signalled(ev)).toBe(true);
    const ne = enumEvents(s, ev);
    expect(ne.lNetworkEvents).toBe(ws.FD_WRITE);
    expect(ne.iErrorCode).toEqual(new Array(ws.FD_MAX_EVENTS).fill(0));
    expect(await signalled(ev)).toBe(false);
    expect(enumEvents(s, null).lNetworkEvents).toBe(0);
  });

  it("FD_READ when a datagram arrives; not again until a receive re-enables it; then again while data waits", T, async () => {
    const { s, port } = bound();
    const ev = ws.WSACreateEvent();
    expect(ws.WSAEventSelect(s, ev, ws.FD_READ)).toBe(0);
    expect(await signalled(ev)).toBe(false);
    await sendTo(port, "one");
    expect(await signalled(ev, 3000)).toBe(true);
    expect(enumEvents(s, ev).lNetworkEvents).toBe(ws.FD_READ);
    // A second datagram before any receive: FD_READ stays disabled.
    await sendTo(port, "two");
    await sleep(50);
    expect(await signalled(ev, 20)).toBe(false);
    expect(enumEvents(s, ev).lNetworkEvents).toBe(0);
    // The socket is non-blocking now: the receive returns at once, and re-enables FD_READ;
    // "two" still waits, so FD_READ is recorded again.
    const buf = Buffer.alloc(8);
    expect(sync(ws.recvfrom(s, buf, 8, 0, null, null))).toBe(3);
    expect(buf.subarray(0, 3).toString()).toBe("one");
    expect(await signalled(ev, 1000)).toBe(true);
    expect(enumEvents(s, ev).lNetworkEvents).toBe(ws.FD_READ);
    expect(sync(ws.recvfrom(s, buf, 8, 0, null, null))).toBe(3);
    expect(buf.subarray(0, 3).toString()).toBe("two");
    // Nothing waits now: the re-enabled FD_READ is not recorded.
    await sleep(20);
    expect(enumEvents(s, ev).lNetworkEvents).toBe(0);
    expect(sync(ws.recvfrom(s, buf, 8, 0, null, null))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
  });

  it("the socket is non-blocking; FIONBIO 0 is refused until the association is cancelled", T, () => {
    const { s } = bound();
    const ev = ws.WSACreateEvent();
    expect(ws.WSAEventSelect(s, ev, ws.FD_READ)).toBe(0);
    expect(sync(ws.recv(s, Buffer.alloc(4), 4, 0))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
    expect(ws.ioctlsocket(s, ws.FIONBIO, ref(0))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
    expect(ws.WSAEventSelect(s, null, 0)).toBe(0);
    expect(ws.ioctlsocket(s, ws.FIONBIO, ref(0))).toBe(0);
    expect(ws.recv(s, Buffer.alloc(4), 4, 0)).toBeInstanceOf(Promise);
  });

  it("FD_WRITE again after a send refused with WSAEWOULDBLOCK, once room came", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const ev = ws.WSACreateEvent();
    expect(ws.WSAEventSelect(s, ev, ws.FD_WRITE)).toBe(0);
    expect(enumEvents(s, ev).lNetworkEvents).toBe(ws.FD_WRITE);
    const to = addr4(rx.port);
    let refused = false;
    for (let i = 0; i < 2000 && !refused; i++) {
      const rc = sync(ws.sendto(s, Buffer.alloc(8), 8, 0, to, 16));
      if (rc === ws.SOCKET_ERROR) {
        expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
        refused = true;
      }
    }
    if (!refused) {
      // The kernel took every send during its call (native on plain loopback, in either
      // completion mode: a non-blocking send is a non-overlapped one): FD_WRITE is never
      // re-enabled. A backend that cannot send during the call (dgram) must have refused.
      expect(backend.deviations.nonBlockingSendAtCall).toBe(true);
      expect(enumEvents(s, ev).lNetworkEvents).toBe(0);
      return;
    }
    expect(await signalled(ev, 3000)).toBe(true);
    expect(enumEvents(s, ev).lNetworkEvents).toBe(ws.FD_WRITE);
  });

  it("bad arguments: WSAENOTSOCK, WSAEINVAL (no event, unknown bits), WSAEFAULT (no WSANETWORKEVENTS)", T, () => {
    const { s } = bound();
    const ev = ws.WSACreateEvent();
    expect(ws.WSAEventSelect(ws.INVALID_SOCKET, ev, ws.FD_READ)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAENOTSOCK);
    expect(ws.WSAEventSelect(s, null, ws.FD_READ)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
    expect(ws.WSAEventSelect(s, ev, 0x10000)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
    expect(ws.WSAEnumNetworkEvents(s, ev, null as unknown as ws.WSANETWORKEVENTS)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
    expect(ws.WSAEnumNetworkEvents(ws.INVALID_SOCKET, ev, { lNetworkEvents: 0, iErrorCode: [] })).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAENOTSOCK);
  });
});

describe.each(BACKENDS)("WSAIoctl on $name", (backend) => {
  useFacade(backend);

  it("FIONBIO (a number or 4 bytes in) and FIONREAD (4 bytes or { value } out, 4 bytes returned)", T, async () => {
    const { s, port } = bound();
    const returned = ref(99);
    expect(ws.WSAIoctl(s, ws.FIONBIO, Uint8Array.of(1, 0, 0, 0), 4, null, 0, returned, null, null)).toBe(0);
    expect(returned.value).toBe(0);
    expect(sync(ws.recv(s, Buffer.alloc(4), 4, 0))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEWOULDBLOCK);
    await sendTo(port, "four");
    const out = new Uint8Array(4);
    for (let i = 0; i < 200 && out[0] === 0; i++) {
      expect(ws.WSAIoctl(s, ws.FIONREAD, null, 0, out, 4, returned, null, null)).toBe(0);
      if (out[0] === 0) await ws.SleepEx(5, false);
    }
    expect(returned.value).toBe(4);
    expect([...out]).toEqual([4, 0, 0, 0]);
    const value = ref();
    expect(ws.WSAIoctl(s, ws.FIONREAD, null, 0, value, 4, returned, null, null)).toBe(0);
    expect(value.value).toBe(4);
    expect(ws.WSAIoctl(s, ws.FIONREAD, null, 0, new Uint8Array(2), 2, returned, null, null)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
  });

  it("SIO_UDP_CONNRESET takes a BOOL; SIO_FLUSH takes nothing; an unknown code is WSAEOPNOTSUPP", T, () => {
    const s = udp4();
    expect(ws.WSAIoctl(s, ws.SIO_UDP_CONNRESET, 0, 4, null, 0, ref(), null, null)).toBe(0);
    expect(ws.WSAIoctl(s, ws.SIO_UDP_CONNRESET, Uint8Array.of(1, 0, 0, 0), 4, null, 0, ref(), null, null)).toBe(0);
    expect(ws.WSAIoctl(s, ws.SIO_UDP_CONNRESET, null, 0, null, 0, ref(), null, null)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
    expect(ws.WSAIoctl(s, ws.SIO_FLUSH, null, 0, null, 0, ref(), null, null)).toBe(0);
    expect(ws.WSAIoctl(s, 0x48000099, null, 0, null, 0, ref(), null, null)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEOPNOTSUPP);
  });

  it(
    "SIO_FLUSH: sends not yet taken by the transport complete aborted, exactly once, and never arrive",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const N = 300;
      const outcomes: number[][] = Array.from({ length: N }, () => []);
      for (let i = 0; i < N; i++) {
        const payload = Buffer.alloc(8);
        payload.writeUInt32BE(i, 0);
        ws.WSASendTo(s, [{ len: 8, buf: payload }], 1, null, 0, to, 16, new ws.WSAOVERLAPPED(), (err) => outcomes[i]?.push(err));
      }
      expect(ws.WSAIoctl(s, ws.SIO_FLUSH, null, 0, null, 0, ref(), null, null)).toBe(0);
      for (let i = 0; i < 200 && outcomes.some((o) => o.length === 0); i++) await ws.SleepEx(10, true);
      await ws.SleepEx(30, true);
      expect(outcomes.map((o) => o.length)).toEqual(new Array(N).fill(1));
      const aborted = new Set(outcomes.flatMap((o, i) => (o[0] === ws.WSA_OPERATION_ABORTED ? [i] : [])));
      for (const o of outcomes) expect([0, ws.WSA_OPERATION_ABORTED]).toContain(o[0]);
      // dgram holds sends beyond 64 in flight in its backlog: those are flushed. Native on
      // Windows hands every send to Winsock at its call (completed then, or through the
      // completion port): the transport has them all, nothing is left to abort.
      if (!completesDuringCall(backend) && backend.deviations.sendsWaitInBackend) expect(aborted.size).toBeGreaterThan(0);
      if (!backend.deviations.sendsWaitInBackend) expect(aborted.size).toBe(0);
      await rx.settle(100);
      for (const d of rx.got) expect(aborted.has(d.msg.readUInt32BE(0))).toBe(false);
      expect(rx.got.length).toBe(N - aborted.size);
    },
  );
});
