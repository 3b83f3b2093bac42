/**
 * Sending after an ICMP port-unreachable. Winsock reports the ICMP error of an earlier
 * send on a later receive, as WSAECONNRESET ("For a UDP datagram socket, this error would
 * indicate that a previous send operation resulted in an ICMP 'Port Unreachable'
 * message"), and goes on sending: a send after the error is sent, on connected and
 * unconnected sockets alike, and the error waits for the next receive, which reports it
 * once. (Linux instead fails the next send of a socket with a pending error, without
 * sending it; the native backend must not let that through.) Where the backend cannot see
 * ICMP errors (deviation `icmpErrorOnReceive` false), the sends are sent just the same and
 * the next receive gets the next datagram.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bound,
  bufs,
  deadPort,
  LOOPBACK4,
  openIdiomatic,
  openPeer,
  openReceiver,
  type Peer,
  ref,
  sleep,
  sync,
  T,
  useFacade,
  waitAll,
  within,
  ws,
} from "../helpers.js";

/** Loopback delivers the ICMP error at once; give it a moment under load. */
const ICMP_SETTLE_MS = 50;

describe.each(BACKENDS)("sending after an ICMP port unreachable on $name", (backend) => {
  const reported = backend.deviations.icmpErrorOnReceive;

  describe("facade", () => {
    useFacade(backend);

    /** A blocking WSASendTo of `text` from `s` to `to`: it must succeed. */
    async function sendOk(s: number, to: ws.SOCKADDR_IN | null, text: string): Promise<void> {
      const sent = ref();
      const rc = to
        ? await ws.WSASendTo(s, bufs(text), 1, sent, 0, to, ws.sizeof(to), null, null)
        : await ws.WSASend(s, bufs(text), 1, sent, 0, null, null);
      expect([rc, ws.WSAGetLastError(), sent.value], `send "${text}"`).toEqual([0, 0, text.length]);
    }

    /**
     * The next receive: WSAECONNRESET (once) where the backend reports ICMP errors; then
     * (and at once elsewhere) the peer's next datagram.
     */
    async function expectReceiveReportsOnce(s: number, port: number, peer: Peer): Promise<void> {
      const buf = Buffer.alloc(16);
      const got = ref(99);
      if (reported) {
        const first = ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, ref(0), {}, ref(16), null, null) as Promise<number>;
        expect(await within(first, 3000)).toBe(ws.SOCKET_ERROR);
        expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAECONNRESET");
      }
      const next = ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, ref(0), {}, ref(16), null, null) as Promise<number>;
      await peer.send("after", port);
      expect(await within(next, 3000)).toBe(0);
      expect(buf.subarray(0, got.value).toString()).toBe("after");
    }

    it(
      `unconnected: every kind of send to a live port after a send to a dead port is sent; ${reported ? "the next receive reports WSAECONNRESET once" : "the next receive gets the next datagram"}`,
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const live = addr4(rx.port);
        await sendOk(s, addr4(await deadPort()), "lost");
        await sleep(ICMP_SETTLE_MS);
        await sendOk(s, live, "one");
        expect(await ws.sendto(s, Buffer.from("two"), 3, 0, live, ws.sizeof(live))).toBe(3);
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        const rc = sync(ws.WSASendTo(s, bufs("three"), 1, null, 0, live, ws.sizeof(live), ov, null));
        if (rc !== 0) expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSA_IO_PENDING");
        await waitAll([ov.hEvent]);
        expect([ov.Internal, ov.InternalHigh]).toEqual([0, 5]);
        await rx.waitFor(3);
        expect(rx.texts()).toEqual(["one", "two", "three"]);
        await expectReceiveReportsOnce(s, port, peer);
      },
    );

    it(
      `connected to a peer that went away: WSASend and send go on sending; ${reported ? "the next receive reports WSAECONNRESET" : "the next receive gets the next datagram"}`,
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const dead = addr4(await deadPort());
        expect(ws.connect(s, dead, ws.sizeof(dead))).toBe(0);
        await sendOk(s, null, "first");
        await sleep(ICMP_SETTLE_MS);
        // Winsock sends again, also to the peer whose port is closed.
        await sendOk(s, null, "second");
        await sleep(ICMP_SETTLE_MS);
        expect(await ws.send(s, Buffer.from("third"), 5, 0)).toBe(5);
        await sleep(ICMP_SETTLE_MS);
        // Connected to a live peer now, the error of the earlier sends still pending.
        const live = addr4(rx.port);
        expect(ws.connect(s, live, ws.sizeof(live))).toBe(0);
        await sendOk(s, null, "live");
        await rx.waitFor(1);
        expect(rx.texts()).toEqual(["live"]);
        // Reconnected to the peer that sends next, the error is still the next receive's.
        const from = addr4(peer.port);
        expect(ws.connect(s, from, ws.sizeof(from))).toBe(0);
        // Each of the three sends to the closed port drew its own ICMP error: the receives
        // report them (at most once each), then get the datagram.
        await peer.send("after", port);
        const buf = Buffer.alloc(16);
        const got = ref();
        let resets = 0;
        for (;;) {
          const rc = await within(ws.WSARecv(s, [{ len: 16, buf }], 1, got, ref(0), null, null) as Promise<number>, 3000);
          if (rc === 0) break;
          expect([rc, ws.wsaErrorName(ws.WSAGetLastError())]).toEqual([ws.SOCKET_ERROR, "WSAECONNRESET"]);
          expect(++resets).toBeLessThanOrEqual(3);
        }
        expect(buf.subarray(0, got.value).toString()).toBe("after");
        if (reported) expect(resets).toBeGreaterThanOrEqual(1);
        else expect(resets).toBe(0);
      },
    );

    it("connected: the send after the port-unreachable reaches a live peer, with nothing lost", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const peer = await openPeer(onTestFinished);
      const { s, port } = bound();
      const dead = addr4(await deadPort());
      expect(ws.connect(s, dead, ws.sizeof(dead))).toBe(0);
      await sendOk(s, null, "lost");
      await sleep(ICMP_SETTLE_MS);
      const live = addr4(rx.port);
      expect(ws.connect(s, live, ws.sizeof(live))).toBe(0);
      await sendOk(s, null, "one");
      await sendOk(s, null, "two");
      await rx.waitFor(2);
      expect(rx.texts()).toEqual(["one", "two"]);
      const from = addr4(peer.port);
      expect(ws.connect(s, from, ws.sizeof(from))).toBe(0);
      await expectReceiveReportsOnce(s, port, peer);
    });
  });

  describe("idiomatic", () => {
    /** The next receive rejects with WSAECONNRESET once where reported; then (at once elsewhere) the next datagram arrives. */
    async function expectReceiveReportsOnce(sock: ws.UdpSocket, peer: Peer): Promise<void> {
      const port = sock.localAddress()?.port ?? 0;
      if (reported) {
        const e = await within(
          sock.receive(Buffer.alloc(16)).catch((err: unknown) => err),
          3000,
        );
        expect((e as ws.WSAError).code).toBe("WSAECONNRESET");
      }
      const buf = Buffer.alloc(16);
      const next = sock.receive(buf);
      await peer.send("after", port);
      const r = await within(next, 3000);
      expect(r).toMatchObject({ bytesReceived: 5 });
      expect(buf.subarray(0, 5).toString()).toBe("after");
    }

    it("sendTo after a send to a dead port resolves and is sent", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      await sock.sendTo(Buffer.from("lost"), { address: LOOPBACK4, port: await deadPort() });
      await sleep(ICMP_SETTLE_MS);
      expect((await sock.sendTo(Buffer.from("one"), { address: LOOPBACK4, port: rx.port })).bytesSent).toBe(3);
      await rx.waitFor(1);
      expect(rx.texts()).toEqual(["one"]);
      await expectReceiveReportsOnce(sock, peer);
    });

    it("sendBatch after a send to a dead port sends every datagram (sendmmsg)", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      await sock.sendTo(Buffer.from("lost"), { address: LOOPBACK4, port: await deadPort() });
      await sleep(ICMP_SETTLE_MS);
      const to = { address: LOOPBACK4, port: rx.port };
      const result = await sock.sendBatch(Array.from({ length: 10 }, (_, i) => ({ buffers: Buffer.from(`d${i}`), to })));
      expect(result.datagramsSent).toBe(10);
      await rx.waitFor(10);
      expect(rx.texts()).toEqual(Array.from({ length: 10 }, (_, i) => `d${i}`));
      await expectReceiveReportsOnce(sock, peer);
    });

    it(
      "sendBatch with a dead port inside the batch: every datagram is sent; the error waits for the receive",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const peer = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const to = { address: LOOPBACK4, port: rx.port };
        const dead = { address: LOOPBACK4, port: await deadPort() };
        // Linux stops a sendmmsg at the datagram after one whose ICMP error came back.
        const datagrams = Array.from({ length: 10 }, (_, i) => ({ buffers: Buffer.from(`d${i}`), to: i === 1 ? dead : to }));
        const result = await sock.sendBatch(datagrams);
        expect(result.datagramsSent).toBe(10);
        await rx.waitFor(9);
        expect(rx.texts()).toEqual(Array.from({ length: 10 }, (_, i) => `d${i}`).filter((_, i) => i !== 1));
        await sleep(ICMP_SETTLE_MS);
        await expectReceiveReportsOnce(sock, peer);
      },
    );

    it(
      "sendSegments after a send to a dead port sends every segment, by GSO where the kernel has it",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const peer = await openPeer(onTestFinished);
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        await sock.sendTo(Buffer.from("lost"), { address: LOOPBACK4, port: await deadPort() });
        await sleep(ICMP_SETTLE_MS);
        const result = await sock.sendSegments(Buffer.alloc(3 * 100 + 7, 7), 100, { address: LOOPBACK4, port: rx.port });
        expect(result).toMatchObject({ bytesSent: 307, datagrams: 4, gso: backend.deviations.kernelGso });
        await rx.waitFor(4);
        expect(rx.got.map((d) => d.msg.length)).toEqual([100, 100, 100, 7]);
        await expectReceiveReportsOnce(sock, peer);
      },
    );
  });
});
