/**
 * WSAECONNRESET: "for a UDP datagram socket, this error indicates a previous send
 * operation resulted in an ICMP Port Unreachable message". A datagram sent to a loopback
 * port where nothing listens makes the next receive complete with WSAECONNRESET (facade)
 * or reject with it (idiomatic), once; a later receive works normally. Where the backend
 * cannot see ICMP errors (deviation `icmpErrorOnReceive` false: node:dgram on an
 * unconnected socket), the receive stays pending and closing the socket ends it (WSAEINTR
 * for a blocking receive, WSA_OPERATION_ABORTED for an overlapped one). With
 * SIO_UDP_CONNRESET off (it is on by default) the error is never reported on any backend:
 * receives wait for datagrams.
 */
import * as core from "@wsasendto/core";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bound,
  deadPort,
  LOOPBACK4,
  openIdiomatic,
  openPeer,
  openReceiver,
  ref,
  sleep,
  sync,
  T,
  useFacade,
  waitAll,
  within,
  ws,
} from "../helpers.js";

/** NTSTATUS STATUS_CANCELLED: what Windows keeps in Internal for an aborted operation. */
const STATUS_CANCELLED = 0xc0000120;
/** NTSTATUS STATUS_PORT_UNREACHABLE: Internal of a receive failed by an ICMP port-unreachable. */
const STATUS_PORT_UNREACHABLE = 0xc000023f;

/**
 * `WSAIoctl(s, SIO_UDP_CONNRESET, on, 4, ...)`, alternately with the BOOL as a number and
 * as 4 bytes; the core socket reads the setting back (Winsock has no call that does).
 */
function setConnReset(s: number, on: 0 | 1): void {
  const entry = core.lookupSocket(s);
  if (typeof entry === "number") throw new Error(`socket ${s}: error ${entry}`);
  expect(entry.getOption("connreset")).toBe(1 - on);
  const input = on === 0 ? 0 : Uint8Array.of(1, 0, 0, 0);
  const returned = ref(99);
  expect(ws.WSAIoctl(s, ws.SIO_UDP_CONNRESET, input, 4, null, 0, returned, null, null)).toBe(0);
  expect([ws.WSAGetLastError(), returned.value]).toEqual([0, 0]);
  expect(entry.getOption("connreset")).toBe(on);
}

/** Sends one datagram from `s` to a dead loopback port with a blocking WSASendTo (which succeeds). */
async function sendToNowhere(s: number): Promise<void> {
  const to = addr4(await deadPort());
  const sent = ref();
  expect(await ws.WSASendTo(s, [{ len: 5, buf: Buffer.from("hello") }], 1, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
  expect(sent.value).toBe(5);
}

describe.each(BACKENDS)("ICMP port unreachable on $name", (backend) => {
  const reported = backend.deviations.icmpErrorOnReceive;

  describe("facade", () => {
    useFacade(backend);

    /** A later receive gets the next datagram normally. */
    async function expectWorksAfter(s: number, port: number, onFinished: (fn: () => Promise<void>) => void): Promise<void> {
      const peer = await openPeer(onFinished);
      const buf = Buffer.alloc(16);
      const got = ref();
      const from: Record<string, unknown> = {};
      const next = ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, ref(0), from, ref(16), null, null);
      await peer.send("still here", port);
      expect(await within(next as Promise<number>, 3000)).toBe(0);
      expect(buf.subarray(0, got.value).toString()).toBe("still here");
      expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
    }

    it(
      `blocking WSARecvFrom after a send to a dead port: ${reported ? "WSAECONNRESET once, then normal" : "stays pending until closesocket interrupts it (WSAEINTR)"}`,
      T,
      async ({ onTestFinished }) => {
        const { s, port } = bound();
        await sendToNowhere(s);
        const buf = Buffer.alloc(16);
        const got = ref(99);
        const receive = ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, ref(0), {}, ref(16), null, null) as Promise<number>;
        if (reported) {
          expect(await within(receive, 3000)).toBe(ws.SOCKET_ERROR);
          expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAECONNRESET");
          expect(buf.every((b) => b === 0)).toBe(true);
          await expectWorksAfter(s, port, onTestFinished);
        } else {
          expect(await within(receive, 200)).toBe("pending");
          expect(ws.closesocket(s)).toBe(0);
          expect(await within(receive, 3000)).toBe(ws.SOCKET_ERROR);
          expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEINTR");
        }
      },
    );

    it(
      `an overlapped receive posted before the ICMP error: ${reported ? "completes with WSAECONNRESET" : "stays pending, then WSA_OPERATION_ABORTED"}`,
      T,
      async ({ onTestFinished }) => {
        const { s, port } = bound();
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        const rc = sync(ws.WSARecvFrom(s, [{ len: 16, buf: Buffer.alloc(16) }], 1, null, ref(0), {}, ref(16), ov, null));
        expect(rc).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
        await sendToNowhere(s);
        if (reported) {
          await waitAll([ov.hEvent]);
          expect([ov.Internal, ov.InternalHigh]).toEqual([STATUS_PORT_UNREACHABLE, 0]);
          expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, ref())).toBe(false);
          expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAECONNRESET");
          await expectWorksAfter(s, port, onTestFinished);
        } else {
          expect(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 200, false)).toBe(ws.WSA_WAIT_TIMEOUT);
          expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
          expect(ws.closesocket(s)).toBe(0);
          await waitAll([ov.hEvent]);
          expect(ov.Internal).toBe(STATUS_CANCELLED);
        }
      },
    );

    it(
      `an overlapped receive posted after the ICMP error arrived: ${reported ? "WSAECONNRESET, at once or later" : "pending"}`,
      T,
      async ({ onTestFinished }) => {
        const { s, port } = bound();
        await sendToNowhere(s);
        // Loopback delivers the ICMP error at once; give it a moment under load.
        await sleep(50);
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        const rc = sync(ws.WSARecvFrom(s, [{ len: 16, buf: Buffer.alloc(16) }], 1, ref(), ref(0), {}, ref(16), ov, null));
        expect(rc).toBe(ws.SOCKET_ERROR);
        const code = ws.WSAGetLastError();
        if (reported) {
          // Completed during the call (the error was there), or pending and completed later.
          if (code === ws.WSA_IO_PENDING) await waitAll([ov.hEvent]);
          else expect(ws.wsaErrorName(code)).toBe("WSAECONNRESET");
          expect(ov.Internal).toBe(STATUS_PORT_UNREACHABLE);
          await expectWorksAfter(s, port, onTestFinished);
        } else {
          expect(code).toBe(ws.WSA_IO_PENDING);
          expect(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 200, false)).toBe(ws.WSA_WAIT_TIMEOUT);
          expect(ws.closesocket(s)).toBe(0);
          await waitAll([ov.hEvent]);
          expect(ov.Internal).toBe(STATUS_CANCELLED);
        }
      },
    );

    describe("SIO_UDP_CONNRESET off", () => {
      /** A blocking receive on `s`: still pending after 200 ms, then completed by the peer's datagram. */
      async function expectWaitsForDatagram(s: number, port: number, onFinished: (fn: () => Promise<void>) => void) {
        const buf = Buffer.alloc(16);
        const got = ref(99);
        const receive = ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, ref(0), {}, ref(16), null, null) as Promise<number>;
        expect(await within(receive, 200)).toBe("pending");
        const peer = await openPeer(onFinished);
        await peer.send("datagram", port);
        expect(await within(receive, 3000)).toBe(0);
        expect(buf.subarray(0, got.value).toString()).toBe("datagram");
      }

      it(
        "the port-unreachable is never reported: the next receive waits for the next datagram",
        T,
        async ({ onTestFinished }) => {
          const { s, port } = bound();
          setConnReset(s, 0);
          await sendToNowhere(s);
          await sleep(50);
          await expectWaitsForDatagram(s, port, onTestFinished);
        },
      );

      it(
        "an overlapped receive posted before the ICMP error stays pending, then gets the datagram",
        T,
        async ({ onTestFinished }) => {
          const { s, port } = bound();
          setConnReset(s, 0);
          const buf = Buffer.alloc(16);
          const ov = new ws.WSAOVERLAPPED();
          ov.hEvent = ws.WSACreateEvent();
          expect(sync(ws.WSARecvFrom(s, [{ len: 16, buf }], 1, null, ref(0), {}, ref(16), ov, null))).toBe(ws.SOCKET_ERROR);
          expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
          await sendToNowhere(s);
          expect(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 200, false)).toBe(ws.WSA_WAIT_TIMEOUT);
          expect(ws.HasOverlappedIoCompleted(ov)).toBe(false);
          const peer = await openPeer(onTestFinished);
          await peer.send("datagram", port);
          await waitAll([ov.hEvent]);
          expect([ov.Internal, ov.InternalHigh]).toEqual([0, 8]);
          expect(buf.subarray(0, 8).toString()).toBe("datagram");
        },
      );

      it("sends after the port-unreachable are sent, and the error is not reported either", T, async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const { s, port } = bound();
        setConnReset(s, 0);
        await sendToNowhere(s);
        await sleep(50);
        const to = addr4(rx.port);
        expect(await ws.sendto(s, Buffer.from("live"), 4, 0, to, ws.sizeof(to))).toBe(4);
        await rx.waitFor(1);
        expect(rx.texts()).toEqual(["live"]);
        await expectWaitsForDatagram(s, port, onTestFinished);
      });

      it(
        `on again: a later port-unreachable ${reported ? "is reported again" : "is still not reported"}`,
        T,
        async ({ onTestFinished }) => {
          const { s, port } = bound();
          setConnReset(s, 0);
          setConnReset(s, 1);
          await sendToNowhere(s);
          await sleep(50);
          if (!reported) {
            await expectWaitsForDatagram(s, port, onTestFinished);
            return;
          }
          const receive = ws.WSARecvFrom(s, [{ len: 16, buf: Buffer.alloc(16) }], 1, ref(), ref(0), {}, ref(16), null, null);
          expect(await within(receive as Promise<number>, 3000)).toBe(ws.SOCKET_ERROR);
          expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAECONNRESET");
          await expectWorksAfter(s, port, onTestFinished);
        },
      );
    });
  });

  describe("idiomatic", () => {
    it(
      `receive after a sendTo to a dead port: ${reported ? "rejects with WSAECONNRESET once, then normal" : "stays pending until close() aborts it"}`,
      T,
      async ({ onTestFinished }) => {
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const port = sock.localAddress()?.port ?? 0;
        expect((await sock.sendTo(Buffer.from("hello"), { address: LOOPBACK4, port: await deadPort() })).bytesSent).toBe(5);
        const outcome = sock.receive(Buffer.alloc(16)).catch((e: unknown) => e);
        if (reported) {
          const e = await within(outcome, 3000);
          expect(e).toBeInstanceOf(ws.WSAError);
          expect((e as ws.WSAError).code).toBe("WSAECONNRESET");
          expect((e as ws.WSAError).errno).toBe(10054);
          expect((e as ws.WSAError).syscall).toBe("receive");
          const peer = await openPeer(onTestFinished);
          const buf = Buffer.alloc(16);
          const next = sock.receive(buf);
          await peer.send("still here", port);
          const r = await within(next, 3000);
          expect(r).toEqual({
            bytesReceived: 10,
            from: { address: LOOPBACK4, port: peer.port, family: "IPv4" },
            truncated: false,
          });
        } else {
          expect(await within(outcome, 200)).toBe("pending");
          sock.close();
          const e = await within(outcome, 3000);
          expect((e as ws.WSAError).code).toBe("WSA_OPERATION_ABORTED");
        }
      },
    );

    it(
      `for await over datagrams after a send to a dead port: ${reported ? "throws WSAECONNRESET" : "waits until close() ends it"}`,
      T,
      async ({ onTestFinished }) => {
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        await sock.sendTo(Buffer.from("hello"), { address: LOOPBACK4, port: await deadPort() });
        const loop = (async () => {
          for await (const d of sock) return `yielded ${d.data}`;
          return "ended";
        })().catch((e: unknown) => e);
        if (reported) {
          const e = await within(loop, 3000);
          expect((e as ws.WSAError).code).toBe("WSAECONNRESET");
        } else {
          expect(await within(loop, 200)).toBe("pending");
          sock.close();
          expect(await within(loop, 3000)).toBe("ended");
        }
      },
    );
  });
});
