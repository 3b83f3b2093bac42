/**
 * What issue 10's receive and send paths keep between operations must never leak into the
 * next one: lpFrom names each datagram's own sender when senders alternate (the backend
 * and the address conversion keep the last source), whatever the facade sent meanwhile;
 * and gathered sends, copied by the dgram backend into buffers it reuses once a send is
 * called back, arrive with their own bytes, in order, also beyond the sends in flight.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bound,
  hasV6,
  LOOPBACK6,
  NO_V6_REASON,
  openPeer,
  openReceiver,
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

interface Slot {
  readonly ov: ws.WSAOVERLAPPED;
  readonly buf: Buffer;
  readonly from: Record<string, unknown>;
  readonly fromlen: ws.Ref;
}

/** Posts `n` overlapped receives (events) on `s`. */
function postReceives(s: number, n: number, fromlen: number): Slot[] {
  return Array.from({ length: n }, () => {
    const slot: Slot = { ov: new ws.WSAOVERLAPPED(), buf: Buffer.alloc(64), from: {}, fromlen: ref(fromlen) };
    slot.ov.hEvent = ws.WSACreateEvent();
    const rc = sync(ws.WSARecvFrom(s, [{ len: 64, buf: slot.buf }], 1, null, ref(0), slot.from, slot.fromlen, slot.ov, null));
    if (rc !== 0) expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
    return slot;
  });
}

/** Each slot's payload (its sender's index) and the port lpFrom named. */
function sources(slots: readonly Slot[], family: 4 | 6): { text: string; port: number }[] {
  return slots.map((slot) => {
    expect(slot.ov.Internal).toBe(0);
    const port = ws.ntohs((family === 4 ? slot.from.sin_port : slot.from.sin6_port) as number);
    return { text: slot.buf.subarray(0, slot.ov.InternalHigh).toString(), port };
  });
}

describe.each(BACKENDS)("sources and gathered sends on $name", (backend) => {
  useFacade(backend);

  it("lpFrom names each datagram's sender while three senders alternate", T, async ({ onTestFinished }) => {
    const peers: Peer[] = [];
    for (let i = 0; i < 3; i++) peers.push(await openPeer(onTestFinished));
    const { s, port } = bound();
    const slots = postReceives(s, 30, 16);
    // The facade sends to another address between the datagrams: the conversion of
    // addresses keeps its own last address too.
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const other = udp4();
    const to = addr4(rx.port);
    for (let i = 0; i < 30; i++) {
      const k = (i * 7) % 3;
      await (peers[k] as Peer).send(String(k), port);
      const rc = await ws.WSASendTo(other, [{ len: 1, buf: Buffer.from("x") }], 1, ref(), 0, to, ws.sizeof(to), null, null);
      expect(rc).toBe(0);
    }
    await waitAll(slots.map((slot) => slot.ov.hEvent as ws.WSAEVENT));
    for (const { text, port: from } of sources(slots, 4)) {
      expect(from).toBe((peers[Number(text)] as Peer).port);
    }
    for (const slot of slots) {
      expect(slot.fromlen.value).toBe(16);
      expect(slot.from.sin_family).toBe(ws.AF_INET);
      expect(slot.from.sin_addr).toEqual({ s_addr: ws.inet_addr("127.0.0.1") });
    }
    // Each lpFrom got an address structure of its own.
    expect(new Set(slots.map((slot) => slot.from.sin_addr)).size).toBe(slots.length);
  });

  it.skipIf(!hasV6)(
    `IPv6: lpFrom names each sender while two alternate (${NO_V6_REASON} otherwise)`,
    T,
    async ({ onTestFinished }) => {
      const peers = [await openPeer(onTestFinished, "udp6"), await openPeer(onTestFinished, "udp6")];
      const { s, port } = bound(6);
      const slots = postReceives(s, 10, 28);
      for (let i = 0; i < 10; i++) await (peers[i % 2] as Peer).send(String(i % 2), port);
      await waitAll(slots.map((slot) => slot.ov.hEvent as ws.WSAEVENT));
      const loopback = new Uint8Array(16);
      expect(ws.inet_pton(ws.AF_INET6, LOOPBACK6, loopback)).toBe(1);
      for (const [i, { text, port: from }] of sources(slots, 6).entries()) {
        expect(from).toBe((peers[Number(text)] as Peer).port);
        const slot = slots[i] as Slot;
        expect(slot.from.sin6_addr).toEqual(loopback);
      }
      // Each a copy of its own: changing one changes no other.
      ((slots[0] as Slot).from.sin6_addr as Uint8Array)[0] = 0xaa;
      for (const slot of slots.slice(1)) expect(slot.from.sin6_addr).toEqual(loopback);
    },
  );

  it(
    "gathered sends of changing sizes arrive with their own bytes, in order, past the sends in flight",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const N = 300;
      const expected: Buffer[] = [];
      const ovs: ws.WSAOVERLAPPED[] = [];
      for (let i = 0; i < N; i++) {
        // 2 to 5 views, 2 to 701 bytes each: the datagram's size changes from send to send.
        // At most 3,505 bytes: the Wine lane's throttled loopback (THROTTLED) has a 4 KiB
        // token bucket, and tbf drops any packet larger than its bucket.
        const views = Array.from({ length: 2 + (i % 4) }, (_, v) => Buffer.alloc(2 + ((i * 131 + v * 71) % 700), (i + v) & 0xff));
        views[0]?.writeUInt16BE(i, 0);
        expected.push(Buffer.concat(views));
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        ovs.push(ov);
        const rc = sync(
          ws.WSASendTo(
            s,
            views.map((buf) => ({ len: buf.length, buf })),
            views.length,
            null,
            0,
            to,
            ws.sizeof(to),
            ov,
            null,
          ),
        );
        if (rc !== 0) expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      }
      await waitAll(ovs.map((ov) => ov.hEvent as ws.WSAEVENT));
      if (!backend.deviations.pendingSendsDelivered) {
        // Wine 8, dgram (only where sends wait): a send that waited in Winsock fails with
        // WSAEFAULT or WSAEINVAL and never arrives; the others arrive with their own bytes.
        const sent: number[] = [];
        for (const [i, ov] of ovs.entries()) {
          const total = (expected[i] as Buffer).length;
          if (ov.Internal === 0) {
            expect(ov.InternalHigh, `send ${i}`).toBe(total);
            sent.push(i);
          } else {
            expect([i, ov.Internal, ov.InternalHigh], `send ${i}: sent, or WSAEFAULT/WSAEINVAL`).toEqual([
              i,
              ov.Internal === 0xc0000005 ? 0xc0000005 : 0xc000000d, // STATUS_ACCESS_VIOLATION, STATUS_INVALID_PARAMETER
              0,
            ]);
          }
        }
        const got = await rx.waitFor(sent.length);
        await sleep(200); // nothing else arrives
        expect(got.length, "exactly the sends reported sent arrive").toBe(sent.length);
        for (const [k, i] of sent.entries())
          expect((got[k] as { msg: Buffer }).msg.equals(expected[i] as Buffer), `datagram ${i}`).toBe(true);
        return;
      }
      const got = await rx.waitFor(N);
      expect(got.length).toBe(N);
      for (let i = 0; i < N; i++)
        expect((got[i] as { msg: Buffer }).msg.equals(expected[i] as Buffer), `datagram ${i}`).toBe(true);
    },
  );
});
