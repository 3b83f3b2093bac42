/**
 * Closing with sends in flight (closesocket, the last WSACleanup, UdpSocket.close): every
 * pending operation completes exactly once, either sent (its bytes) or
 * WSA_OPERATION_ABORTED with 0 bytes, and a datagram reported aborted never arrives.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, completesDuringCall } from "../backends.js";
import {
  addr4,
  alertUntil,
  expectFails,
  expectStarted,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  type Receiver,
  seq,
  T,
  udp4,
  useFacade,
  ws,
} from "../helpers.js";

const N = 300;
const SIZE = 8;
/** NTSTATUS STATUS_CANCELLED: what Windows keeps in Internal for an aborted operation. */
const STATUS_CANCELLED = 0xc0000120;

interface Outcome {
  readonly status: number;
  readonly bytes: number;
}

/** Asserts every outcome is "sent, SIZE bytes" or "aborted, 0 bytes"; returns the sent sequence numbers. */
function checkOutcomes(outcomes: ReadonlyMap<number, Outcome>): Set<number> {
  expect(outcomes.size).toBe(N);
  const sent = new Set<number>();
  for (const [i, { status, bytes }] of outcomes) {
    if (status === 0) {
      expect(bytes, `op ${i}`).toBe(SIZE);
      sent.add(i);
    } else {
      expect(ws.wsaErrorName(status), `op ${i}`).toBe("WSA_OPERATION_ABORTED");
      expect(bytes, `op ${i}`).toBe(0);
    }
  }
  return sent;
}

/** Lets late datagrams arrive; asserts each arrived one was reported sent, and none twice. */
async function expectOnlySentArrived(rx: Receiver, sent: ReadonlySet<number>): Promise<void> {
  await rx.waitFor(sent.size, 2000);
  await rx.settle(150);
  const arrived = rx.got.map((d) => d.msg.readUInt32BE(0));
  expect(new Set(arrived).size).toBe(arrived.length);
  for (const i of arrived) expect(sent.has(i), `datagram ${i} arrived but was reported aborted`).toBe(true);
}

/** Posts N overlapped sends with completion routines that record each completion (and any repeat). */
function postWithRoutines(
  s: number,
  to: ws.SOCKADDR_IN,
  backend: (typeof BACKENDS)[number],
): { outcomes: Map<number, Outcome>; repeats: number[] } {
  const outcomes = new Map<number, Outcome>();
  const repeats: number[] = [];
  for (let i = 0; i < N; i++) {
    const ov = new ws.WSAOVERLAPPED();
    const rc = ws.WSASendTo(s, [{ len: SIZE, buf: seq(i, SIZE - 4) }], 1, null, 0, to, ws.sizeof(to), ov, (err, bytes, o, f) => {
      expect(o).toBe(ov);
      expect(f).toBe(0);
      if (outcomes.has(i)) repeats.push(i);
      outcomes.set(i, { status: err, bytes });
    });
    expectStarted(rc, backend);
  }
  return { outcomes, repeats };
}

describe.each(BACKENDS)("closing with sends in flight on $name", (backend) => {
  describe("facade", () => {
    const session = useFacade(backend);

    it(`closesocket with ${N} sends in flight (completion routines)`, T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const { outcomes, repeats } = postWithRoutines(s, to, backend);
      expect(ws.closesocket(s)).toBe(0);
      expect(outcomes.size, "routines run only in an alertable wait, not in closesocket").toBe(0);
      await alertUntil(() => outcomes.size === N);
      await ws.SleepEx(50, true);
      expect(repeats).toEqual([]);
      const sent = checkOutcomes(outcomes);
      await expectOnlySentArrived(rx, sent);
    });

    it(`closesocket with ${N} sends in flight (events)`, T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ovs: ws.WSAOVERLAPPED[] = [];
      for (let i = 0; i < N; i++) {
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        ovs.push(ov);
        expectStarted(ws.WSASendTo(s, [{ len: SIZE, buf: seq(i, SIZE - 4) }], 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      }
      expect(ws.closesocket(s)).toBe(0);
      const events = ovs.map((ov) => ov.hEvent as ws.WSAEVENT);
      for (let i = 0; i < N; i += 64) {
        const chunk = events.slice(i, i + 64);
        expect(await ws.WSAWaitForMultipleEvents(chunk.length, chunk, true, 5000, false)).toBe(ws.WSA_WAIT_EVENT_0);
      }
      // Exactly once: reset every event; none may be signalled again.
      for (const e of events) expect(ws.WSAResetEvent(e)).toBe(true);
      const outcomes = new Map<number, Outcome>();
      for (const [i, ov] of ovs.entries()) {
        expect(ws.HasOverlappedIoCompleted(ov), `op ${i}`).toBe(true);
        // Internal holds the NTSTATUS: 0 (sent) or STATUS_CANCELLED (aborted).
        expect([0, STATUS_CANCELLED], `op ${i}: Internal`).toContain(ov.Internal);
        outcomes.set(i, { status: ov.Internal === 0 ? 0 : ws.WSA_OPERATION_ABORTED, bytes: ov.InternalHigh });
      }
      const sent = checkOutcomes(outcomes);
      await expectOnlySentArrived(rx, sent);
      for (let i = 0; i < N; i += 64) {
        const chunk = events.slice(i, i + 64);
        expect(await ws.WSAWaitForMultipleEvents(chunk.length, chunk, false, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
      }
    });

    it(`the last WSACleanup with ${N} sends in flight completes each once`, T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const { outcomes, repeats } = postWithRoutines(s, to, backend);
      session.cleanup();
      expect(outcomes.size).toBe(0);
      // The socket is gone with the cleanup.
      expectFails(ws.closesocket(s), ws.WSANOTINITIALISED, "closesocket after WSACleanup");
      await alertUntil(() => outcomes.size === N);
      await ws.SleepEx(50, true);
      expect(repeats).toEqual([]);
      const sent = checkOutcomes(outcomes);
      await expectOnlySentArrived(rx, sent);
    });

    /** Posts N overlapped sends, then a blocking one that waits behind them, then closes the socket. */
    async function closeWithBlockingPending(rx: Receiver): Promise<{ rc: number; lastError: number; sent: Set<number> }> {
      const s = udp4();
      const to = addr4(rx.port);
      const { outcomes } = postWithRoutines(s, to, backend);
      const pending = ws.WSASendTo(s, [{ len: SIZE, buf: seq(N, SIZE - 4) }], 1, { value: 0 }, 0, to, ws.sizeof(to), null, null);
      expect(pending).toBeInstanceOf(Promise);
      let settlements = 0;
      const counted = Promise.resolve(pending).then((rc) => {
        settlements++;
        return rc;
      });
      expect(ws.closesocket(s)).toBe(0);
      const rc = await counted;
      const lastError = ws.WSAGetLastError();
      await alertUntil(() => outcomes.size === N);
      expect(settlements).toBe(1);
      const sent = checkOutcomes(outcomes);
      if (rc === 0) sent.add(N);
      return { rc, lastError, sent };
    }

    it(
      "closesocket with a blocking send pending settles its Promise once, with 0 or SOCKET_ERROR",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const { rc, sent } = await closeWithBlockingPending(rx);
        expect([0, ws.SOCKET_ERROR]).toContain(rc);
        await expectOnlySentArrived(rx, sent);
      },
    );

    // CONTRACT.md: "WSAGetLastError() read right after it settles tells that call's error",
    // also for a blocking send that closesocket aborted: WSAEINTR, since closesocket cancels
    // every pending blocking call, and WSAEINTR "is returned when a socket is closed or a
    // process is terminated, on a pending Winsock operation for that socket" (Winsock's
    // error codes). Overlapped sends keep WSA_OPERATION_ABORTED.
    it(
      "a blocking send aborted by closesocket resolves SOCKET_ERROR with WSAGetLastError() WSAEINTR right after",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const { rc, lastError } = await closeWithBlockingPending(rx);
        if (completesDuringCall(backend)) {
          // The kernel took the datagram during the call: nothing was left to abort.
          expect(rc).toBe(0);
          expect(lastError).toBe(0);
        } else if (!backend.deviations.sendsWaitInBackend) {
          // With Winsock from its call (its completion through the port): its real outcome,
          // sent, or aborted if Winsock still held it.
          expect([rc, rc === 0 ? lastError : ws.wsaErrorName(lastError)]).toEqual(
            rc === 0 ? [0, 0] : [ws.SOCKET_ERROR, "WSAEINTR"],
          );
        } else {
          expect(rc).toBe(ws.SOCKET_ERROR);
          expect(ws.wsaErrorName(lastError)).toBe("WSAEINTR");
        }
      },
    );
  });

  describe("idiomatic API", () => {
    it(
      `close() with ${N} sends in flight: each settles once, sent or rejected with WSA_OPERATION_ABORTED`,
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const sock = openIdiomatic(backend, onTestFinished);
        const results: Promise<ws.SendResult>[] = [];
        for (let i = 0; i < N; i++)
          results.push(sock.sendToOverlapped(seq(i, SIZE - 4), { address: LOOPBACK4, port: rx.port }).result);
        sock.close();
        const settled = await Promise.allSettled(results);
        const outcomes = new Map<number, Outcome>();
        for (const [i, r] of settled.entries()) {
          if (r.status === "fulfilled") outcomes.set(i, { status: 0, bytes: r.value.bytesSent });
          else {
            expect(r.reason).toBeInstanceOf(ws.WSAError);
            const e = r.reason as ws.WSAError;
            expect(e.code).toBe("WSA_OPERATION_ABORTED");
            outcomes.set(i, { status: e.errno, bytes: 0 });
          }
        }
        const sent = checkOutcomes(outcomes);
        await expectOnlySentArrived(rx, sent);
      },
    );
  });
});
