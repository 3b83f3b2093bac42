/**
 * "The posted buffers are guaranteed to be sent in the same order they are specified":
 * 500 overlapped datagrams posted back to back arrive in posting order.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  alertUntil,
  expectStarted,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  type Receiver,
  seq,
  T,
  udp4,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

const N = 500;

/** Asserts the receiver got sequence numbers 0..n-1, in order. */
function expectInOrder(rx: Receiver, n: number): void {
  const seqs = rx.got.map((d) => d.msg.readUInt32BE(0));
  expect(seqs).toHaveLength(n);
  expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));
}

describe.each(BACKENDS)("order of overlapped datagrams on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(`${N} overlapped sends with completion routines arrive in posting order`, T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const completed = new Set<number>();
      for (let i = 0; i < N; i++) {
        const ov = new ws.WSAOVERLAPPED();
        const rc = ws.WSASendTo(s, [{ len: 8, buf: seq(i, 4) }], 1, null, 0, to, ws.sizeof(to), ov, (err, n) => {
          expect([err, n]).toEqual([0, 8]);
          expect(completed.has(i)).toBe(false);
          completed.add(i);
        });
        expectStarted(rc, backend);
      }
      await alertUntil(() => completed.size === N);
      expect(completed.size).toBe(N);
      await rx.waitFor(N);
      expectInOrder(rx, N);
    });

    it(`${N} overlapped two-buffer sends with events arrive in posting order`, T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const events: ws.WSAEVENT[] = [];
      for (let i = 0; i < N; i++) {
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        events.push(ov.hEvent);
        const wsabufs: ws.WSABUF[] = [
          { len: 4, buf: seq(i) },
          { len: 20, buf: Buffer.alloc(20, i & 0xff) },
        ];
        expectStarted(ws.WSASendTo(s, wsabufs, 2, null, 0, to, ws.sizeof(to), ov, null), backend);
      }
      await waitAll(events);
      await rx.waitFor(N);
      expectInOrder(rx, N);
      for (const [i, d] of rx.got.entries()) expect(d.msg.length, `datagram ${i}`).toBe(24);
    });
  });

  describe("idiomatic API", () => {
    it(`${N} sendToOverlapped calls arrive in call order`, T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const results: Promise<ws.SendResult>[] = [];
      for (let i = 0; i < N; i++) {
        results.push(sock.sendToOverlapped([seq(i), Buffer.from("pad")], { address: LOOPBACK4, port: rx.port }).result);
      }
      const done = await Promise.all(results);
      expect(done.every((r) => r.bytesSent === 7)).toBe(true);
      await rx.waitFor(N);
      expectInOrder(rx, N);
    });
  });
});
