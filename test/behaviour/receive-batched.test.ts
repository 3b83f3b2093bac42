/**
 * Many receives served at once: bursts of datagrams arriving while many receives are
 * posted (the native backend on Linux serves them with one recvmmsg per 64), the idiomatic
 * datagrams() iterator reading in batches, and UDP GRO for it. On every backend the
 * outcome is the one Winsock gives: each receive completes exactly once, in posting order,
 * with its own datagram (bytes, source, truncation), an error, or aborted at close.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  alertUntil,
  bound,
  deadPort,
  LOOPBACK4,
  openIdiomatic,
  openPeer,
  type Peer,
  ref,
  seq,
  sleep,
  sync,
  T,
  useFacade,
  waitAll,
  within,
  ws,
} from "../helpers.js";

/** NTSTATUS STATUS_ACCESS_VIOLATION: Internal of a receive whose buffer was detached. */
const STATUS_ACCESS_VIOLATION = 0xc0000005;

/** Sends every datagram without waiting between them (one run of JavaScript: they arrive together). */
async function burst(sends: readonly [Peer, Uint8Array | string][], port: number): Promise<void> {
  await Promise.all(sends.map(([peer, data]) => peer.send(data, port)));
}

/** Detaches the ArrayBuffer under `view` (transfers it away). */
function detach(view: Uint8Array): void {
  structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
}

/** `size` bytes that tell their datagram (`tag`) and position. */
function payload(tag: number, size: number): Buffer {
  return Buffer.from(Uint8Array.from({ length: size }, (_, i) => (tag * 31 + i * 7) & 0xff));
}

/** An overlapped receive posted with a completion routine that records its calls. */
interface Routed {
  readonly ov: ws.WSAOVERLAPPED;
  readonly bufs: Buffer[];
  readonly from: Record<string, unknown>;
  readonly calls: { dwError: number; cbTransferred: number; dwFlags: number }[];
}

/** Posts a receive over `sizes` buffers with a routine; asserts it is pending. `order` gets its index at each call. */
function postRouted(s: number, sizes: readonly number[], index: number, order: number[]): Routed {
  const r: Routed = { ov: new ws.WSAOVERLAPPED(), bufs: sizes.map((n) => Buffer.alloc(n, 0xee)), from: {}, calls: [] };
  const wsabufs = r.bufs.map((buf) => ({ len: buf.length, buf }));
  const routine: ws.CompletionRoutine = (dwError, cbTransferred, _ov, dwFlags) => {
    r.calls.push({ dwError, cbTransferred, dwFlags });
    order.push(index);
  };
  const rc = sync(ws.WSARecvFrom(s, wsabufs, wsabufs.length, null, ref(0), r.from, ref(16), r.ov, routine));
  expect(rc).toBe(ws.SOCKET_ERROR);
  expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
  return r;
}

/** An overlapped receive posted with an event; asserts it is pending. */
function postEvent(s: number, buf: Uint8Array, flags = 0): { ov: ws.WSAOVERLAPPED; event: ws.WSAEVENT } {
  const ov = new ws.WSAOVERLAPPED();
  const event = ws.WSACreateEvent();
  ov.hEvent = event;
  const rc = sync(ws.WSARecvFrom(s, [{ len: buf.length, buf }], 1, null, ref(flags), null, null, ov, null));
  expect(rc).toBe(ws.SOCKET_ERROR);
  expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
  return { ov, event };
}

const N = 150;

describe.each(BACKENDS)("many receives at once on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(
      `${N} overlapped receives posted, then a burst of ${N} datagrams from two senders: each completes once, in posting order, with its datagram and sender`,
      T,
      async ({ onTestFinished }) => {
        const a = await openPeer(onTestFinished);
        const b = await openPeer(onTestFinished);
        const { s, port } = bound(4, 1 << 20);
        const order: number[] = [];
        const posted = Array.from({ length: N }, (_, i) => postRouted(s, [16], i, order));
        await burst(
          Array.from({ length: N }, (_, i) => [i % 3 === 0 ? a : b, seq(i, i % 9)] as [Peer, Buffer]),
          port,
        );
        await alertUntil(() => order.length >= N);
        await ws.SleepEx(20, true); // a second call of any routine would show here
        expect(order).toEqual([...Array(N).keys()]);
        for (const [i, r] of posted.entries()) {
          expect(r.calls, `receive ${i}`).toEqual([{ dwError: 0, cbTransferred: 4 + (i % 9), dwFlags: 0 }]);
          expect(r.bufs[0]?.readUInt32BE(0), `receive ${i}`).toBe(i);
          expect(ws.ntohs(r.from.sin_port as number), `receive ${i}'s sender`).toBe((i % 3 === 0 ? a : b).port);
          expect([r.ov.Internal, r.ov.InternalHigh]).toEqual([0, 4 + (i % 9)]);
        }
      },
    );

    it(
      "mixed sizes scattered over two buffers, truncated ones in the middle of the burst: each its own bytes, WSAEMSGSIZE and MSG_PARTIAL for those that did not fit",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const sizes = [5, 40, 16, 17, 0, 3, 12, 100, 15];
        const order: number[] = [];
        const posted = sizes.map((_, i) => postRouted(s, [10, 6], i, order));
        await burst(
          sizes.map((n, i) => [peer, payload(i, n)] as [Peer, Buffer]),
          port,
        );
        await alertUntil(() => order.length >= sizes.length);
        expect(order).toEqual([...sizes.keys()]);
        for (const [i, r] of posted.entries()) {
          const size = sizes[i] as number;
          const fits = Math.min(size, 16);
          const cut = size > 16;
          expect(r.calls, `receive ${i} (${size} bytes)`).toEqual([
            { dwError: cut ? ws.WSAEMSGSIZE : 0, cbTransferred: fits, dwFlags: cut ? ws.MSG_PARTIAL : 0 },
          ]);
          const both = Buffer.concat(r.bufs);
          expect(both.subarray(0, fits), `receive ${i}'s bytes`).toEqual(payload(i, size).subarray(0, fits));
          expect(
            both.subarray(fits).every((x) => x === 0xee),
            `receive ${i}: nothing written past it`,
          ).toBe(true);
        }
      },
    );

    const keeps = backend.deviations.detachedReceiveKeepsDatagram;
    it(
      `a buffer detached in the middle of the posted receives: that one fails with WSAEFAULT, ${keeps ? "its datagram goes to the next" : "its datagram is lost"}`,
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const bufs = Array.from({ length: 5 }, () => new Uint8Array(new ArrayBuffer(16)));
        const posted = bufs.map((buf) => postEvent(s, buf));
        detach(bufs[2] as Uint8Array);
        await burst(
          Array.from({ length: 5 }, (_, i) => [peer, seq(i)] as [Peer, Buffer]),
          port,
        );
        await waitAll(posted.map((p) => p.event));
        const outcome = posted.map((p, i) => {
          const ok = ws.WSAGetOverlappedResult(s, p.ov, ref(), false, ref());
          return ok ? Buffer.from(bufs[i] as Uint8Array).readUInt32BE(0) : ws.wsaErrorName(ws.WSAGetLastError());
        });
        // Kept: the third datagram goes to the fourth receive. Else Winsock gave it to the third.
        expect(outcome).toEqual(keeps ? [0, 1, "WSAEFAULT", 2, 3] : [0, 1, "WSAEFAULT", 3, 4]);
        expect(posted[2]?.ov.Internal).toBe(STATUS_ACCESS_VIOLATION);
        // Kept: the fifth datagram waits for the next receive. Else nothing waits: the next
        // receive gets the next datagram sent.
        if (!keeps) await burst([[peer, seq(5)]], port);
        const next = Buffer.alloc(16);
        const got = ref();
        expect(await ws.WSARecvFrom(s, [{ len: 16, buf: next }], 1, got, ref(0), null, null, null, null)).toBe(0);
        expect([got.value, next.readUInt32BE(0)]).toEqual(keeps ? [4, 4] : [4, 5]);
      },
    );

    it(
      "a peek posted among the receives sees the next datagram and leaves it: the receive after it gets the same one",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const bufs = Array.from({ length: 5 }, () => Buffer.alloc(8));
        const posted = bufs.map((buf, i) => postEvent(s, buf, i === 1 ? ws.MSG_PEEK : 0));
        await burst(
          Array.from({ length: 4 }, (_, i) => [peer, seq(i)] as [Peer, Buffer]),
          port,
        );
        await waitAll(posted.map((p) => p.event));
        expect(bufs.map((b) => b.readUInt32BE(0))).toEqual([0, 1, 1, 2, 3]);
        expect(posted.map((p) => [p.ov.Internal, p.ov.InternalHigh])).toEqual(Array(5).fill([0, 4]));
      },
    );

    it(`closesocket with ${N} receives posted: each routine runs once, WSA_OPERATION_ABORTED, 0 bytes`, T, async () => {
      const { s } = bound();
      const order: number[] = [];
      const posted = Array.from({ length: N }, (_, i) => postRouted(s, [8], i, order));
      expect(ws.closesocket(s)).toBe(0);
      await alertUntil(() => order.length >= N);
      await ws.SleepEx(20, true);
      expect(order).toHaveLength(N);
      expect(new Set(order).size).toBe(N);
      for (const r of posted) expect(r.calls).toEqual([{ dwError: ws.WSA_OPERATION_ABORTED, cbTransferred: 0, dwFlags: 0 }]);
    });

    it(
      "receives posted while an ICMP error waits: the first reports it (where the backend sees it), the others get the burst in order",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const bufs = Array.from({ length: 4 }, () => Buffer.alloc(8));
        const posted = bufs.map((buf) => postEvent(s, buf));
        const to = {
          sin_family: ws.AF_INET,
          sin_port: ws.htons(await deadPort()),
          sin_addr: { s_addr: ws.inet_addr(LOOPBACK4) },
        };
        expect(await ws.WSASendTo(s, [{ len: 2, buf: Buffer.from("hi") }], 1, ref(), 0, to, 16, null, null)).toBe(0);
        await sleep(50);
        const reported = backend.deviations.icmpErrorOnReceive;
        expect(ws.HasOverlappedIoCompleted((posted[0] as { ov: ws.WSAOVERLAPPED }).ov)).toBe(reported);
        await burst(
          Array.from({ length: 3 }, (_, i) => [peer, seq(i)] as [Peer, Buffer]),
          port,
        );
        const served = reported ? posted : posted.slice(0, 3);
        await waitAll(served.map((p) => p.event));
        const outcome = served.map((p, i) =>
          ws.WSAGetOverlappedResult(s, p.ov, ref(), false, ref())
            ? (bufs[i] as Buffer).readUInt32BE(0)
            : ws.wsaErrorName(ws.WSAGetLastError()),
        );
        expect(outcome).toEqual(reported ? ["WSAECONNRESET", 0, 1, 2] : [0, 1, 2]);
      },
    );
  });

  describe("idiomatic", () => {
    it(
      `${N} receive() pending, then a burst from two senders: each resolves once, in order, with its bytes and sender`,
      T,
      async ({ onTestFinished }) => {
        const a = await openPeer(onTestFinished);
        const b = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, {
          bind: { address: LOOPBACK4, port: 0 },
          receiveBufferSize: 1 << 20,
        });
        const port = sock.localAddress()?.port ?? 0;
        const settledOrder: number[] = [];
        const bufs = Array.from({ length: N }, () => Buffer.alloc(32));
        const results = bufs.map((buf, i) =>
          sock.receive(buf).then((r) => {
            settledOrder.push(i);
            return r;
          }),
        );
        await sleep(20);
        expect(settledOrder).toEqual([]);
        await burst(
          Array.from({ length: N }, (_, i) => [i % 2 === 0 ? a : b, seq(i, i % 5)] as [Peer, Buffer]),
          port,
        );
        const got = await Promise.all(results);
        expect(settledOrder).toEqual([...Array(N).keys()]);
        for (const [i, r] of got.entries()) {
          expect(r, `receive ${i}`).toEqual({
            bytesReceived: 4 + (i % 5),
            from: { address: LOOPBACK4, port: (i % 2 === 0 ? a : b).port, family: "IPv4" },
            truncated: false,
          });
          expect(bufs[i]?.readUInt32BE(0)).toBe(i);
        }
      },
    );

    it(
      "receives posted in one run while datagrams wait: each its own, in order; so too when the socket closes in that run",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const port = sock.localAddress()?.port ?? 0;
        for (let i = 0; i < 12; i++) await peer.send(seq(i), port);
        await sleep(50);
        const first = Array.from({ length: 6 }, () => sock.receive(Buffer.alloc(8)).then((r) => r.bytesReceived));
        const second = Array.from({ length: 6 }, () => Buffer.alloc(8));
        const pending = second.map((buf) => sock.receive(buf));
        // Closed in the same run: what the receives took during their calls is theirs.
        sock.close();
        expect(await Promise.all(first)).toEqual([4, 4, 4, 4, 4, 4]);
        const outcome = await Promise.allSettled(pending);
        expect(outcome.map((o) => o.status)).toEqual(Array(6).fill("fulfilled"));
        expect(second.map((b) => b.readUInt32BE(0))).toEqual([6, 7, 8, 9, 10, 11]);
      },
    );

    it(`close with ${N} receive() pending: each rejects once with WSA_OPERATION_ABORTED`, T, async ({ onTestFinished }) => {
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      let fulfilled = 0;
      const errors: unknown[] = [];
      const all = Array.from({ length: N }, () =>
        sock.receive(Buffer.alloc(8)).then(
          () => fulfilled++,
          (e: unknown) => errors.push(e),
        ),
      );
      await sleep(10);
      sock.close();
      await Promise.all(all);
      expect(fulfilled).toBe(0);
      expect(errors).toHaveLength(N);
      for (const e of errors) expect((e as ws.WSAError).code).toBe("WSA_OPERATION_ABORTED");
    });

    it(
      `datagrams() over bursts of ${2 * N} datagrams from two senders: all, in order, each a Buffer of its own with its sender`,
      T,
      async ({ onTestFinished }) => {
        const a = await openPeer(onTestFinished);
        const b = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, {
          bind: { address: LOOPBACK4, port: 0 },
          receiveBufferSize: 1 << 20,
        });
        const port = sock.localAddress()?.port ?? 0;
        const seen: ws.ReceivedDatagram[] = [];
        const loop = (async () => {
          for await (const d of sock.datagrams({ maxSize: 64 })) {
            seen.push(d);
            if (seen.length === 2 * N) return "all";
          }
          return "ended";
        })();
        for (let round = 0; round < 2; round++) {
          await burst(
            Array.from({ length: N }, (_, k) => {
              const i = round * N + k;
              return [i % 4 === 0 ? b : a, seq(i, i % 7)] as [Peer, Buffer];
            }),
            port,
          );
        }
        expect(await within(loop, 5000)).toBe("all");
        expect(seen.map((d) => d.data.readUInt32BE(0))).toEqual([...Array(2 * N).keys()]);
        for (const [i, d] of seen.entries()) {
          expect(d.data.length, `datagram ${i}`).toBe(4 + (i % 7));
          expect(d.truncated).toBe(false);
          expect(d.from).toEqual({ address: LOOPBACK4, port: (i % 4 === 0 ? b : a).port, family: "IPv4" });
        }
        // Each kept its own bytes: none is a view of another's.
        expect(new Set(seen.map((d) => d.data.readUInt32BE(0))).size).toBe(2 * N);
      },
    );

    it(
      "a break in the middle of what datagrams() read: the rest go, in order, to the next iteration and receive()",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const port = sock.localAddress()?.port ?? 0;
        for (let i = 0; i < 40; i++) await peer.send(seq(i, 4), port);
        await sleep(50);
        const firstLoop: number[] = [];
        for await (const d of sock.datagrams()) {
          expect([d.data.length, d.truncated]).toEqual([8, false]);
          firstLoop.push(d.data.readUInt32BE(0));
          if (firstLoop.length === 10) break;
        }
        // A smaller maxSize cuts what it hands out, also what an earlier loop had read.
        const secondLoop: number[] = [];
        for await (const d of sock.datagrams({ maxSize: 4 })) {
          expect([d.data.length, d.truncated]).toEqual([4, true]);
          secondLoop.push(d.data.readUInt32BE(0));
          if (secondLoop.length === 10) break;
        }
        const buf = Buffer.alloc(8);
        const rest: number[] = [];
        for (let i = 0; i < 20; i++) {
          const r = await sock.receive(buf);
          expect([r.bytesReceived, r.truncated]).toEqual([8, false]);
          rest.push(buf.readUInt32BE(0));
        }
        expect([...firstLoop, ...secondLoop, ...rest]).toEqual([...Array(40).keys()]);
        // Nothing else was kept: the next receive gets the next datagram sent.
        const next = sock.receive(buf);
        expect(await within(next, 50)).toBe("pending");
        await peer.send(seq(40, 4), port);
        expect((await next).bytesReceived).toBe(8);
        expect(buf.readUInt32BE(0)).toBe(40);
      },
    );

    it("datagrams() on a connected socket: only the peer's datagrams, in order", T, async ({ onTestFinished }) => {
      const a = await openPeer(onTestFinished);
      const other = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      sock.connect({ address: LOOPBACK4, port: a.port });
      const seen: number[] = [];
      const loop = (async () => {
        for await (const d of sock.datagrams()) {
          expect(d.from.port).toBe(a.port);
          seen.push(d.data.readUInt32BE(0));
          if (seen.length === 30) return "done";
        }
        return "ended";
      })();
      await burst(
        Array.from({ length: 60 }, (_, i) => [i % 2 === 0 ? a : other, seq(i % 2 === 0 ? i / 2 : 1000 + i)] as [Peer, Buffer]),
        port,
      );
      expect(await within(loop, 5000)).toBe("done");
      expect(seen).toEqual([...Array(30).keys()]);
    });

    it(
      "datagrams({ gro: true }): datagrams a GSO send carried arrive split as they were sent (the option is ignored where GRO is not had); when the loop ends, those coalesced since go split to receive()",
      T,
      async ({ onTestFinished }) => {
        const sock = openIdiomatic(backend, onTestFinished, {
          bind: { address: LOOPBACK4, port: 0 },
          receiveBufferSize: 1 << 20,
        });
        const port = sock.localAddress()?.port ?? 0;
        const sender = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const senderPort = sender.localAddress()?.port ?? 0;
        const to = { address: LOOPBACK4, port };
        const first = payload(1, 350);
        const second = payload(2, 4 * 120);
        const expected = [
          ...[0, 100, 200, 300].map((at) => first.subarray(at, Math.min(at + 100, 350))),
          payload(3, 77),
          ...[0, 120, 240, 360].map((at) => second.subarray(at, at + 120)),
        ];
        const seen: ws.ReceivedDatagram[] = [];
        const it = sock.datagrams({ gro: true });
        const loop = (async () => {
          for (;;) {
            const r = await it.next();
            if (r.done) return "ended";
            seen.push(r.value);
            if (seen.length === expected.length) return "all";
          }
        })();
        expect((await sender.sendSegments(first, 100, to)).datagrams).toBe(4);
        await sender.sendTo(payload(3, 77), to);
        expect((await sender.sendSegments(second, 120, to)).datagrams).toBe(4);
        expect(await within(loop, 5000)).toBe("all");
        expect(seen.map((d) => d.data)).toEqual(expected);
        for (const d of seen) {
          expect(d.truncated).toBe(false);
          expect(d.from).toEqual({ address: LOOPBACK4, port: senderPort, family: "IPv4" });
        }
        // Sent while the loop holds GRO on but reads nothing: the kernel may coalesce them.
        const third = payload(4, 3 * 90 + 10);
        await sender.sendSegments(third, 90, to);
        await sender.sendTo(payload(5, 9), to);
        await sleep(50);
        expect(await it.return(undefined)).toEqual({ value: undefined, done: true });
        const buf = Buffer.alloc(200);
        const after: Buffer[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await within(sock.receive(buf), 2000);
          if (r === "pending") break;
          expect(r.truncated).toBe(false);
          after.push(Buffer.from(buf.subarray(0, r.bytesReceived)));
        }
        expect(after).toEqual([...[0, 90, 180, 270].map((at) => third.subarray(at, Math.min(at + 90, 280))), payload(5, 9)]);
      },
    );

    it(
      "datagrams({ gro: true, maxSize }): each datagram is cut at maxSize as it would be without GRO",
      T,
      async ({ onTestFinished }) => {
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const port = sock.localAddress()?.port ?? 0;
        const sender = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const data = payload(6, 3 * 100 + 40);
        const seen: ws.ReceivedDatagram[] = [];
        const loop = (async () => {
          for await (const d of sock.datagrams({ gro: true, maxSize: 60 })) {
            seen.push(d);
            if (seen.length === 4) return "all";
          }
          return "ended";
        })();
        await sender.sendSegments(data, 100, { address: LOOPBACK4, port });
        expect(await within(loop, 5000)).toBe("all");
        expect(seen.map((d) => [d.data.length, d.truncated])).toEqual([
          [60, true],
          [60, true],
          [60, true],
          [40, false],
        ]);
        expect(seen.map((d) => d.data)).toEqual([0, 100, 200, 300].map((at) => data.subarray(at, at + (at === 300 ? 40 : 60))));
      },
    );
  });
});
