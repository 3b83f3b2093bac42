/**
 * Closing with receives pending (closesocket, the last WSACleanup, UdpSocket.close): every
 * pending receive completes exactly once with 0 bytes. Overlapped ones complete with
 * WSA_OPERATION_ABORTED: events are signalled, routines run (in an alertable wait) with that
 * code. Blocking (non-overlapped) receives resolve SOCKET_ERROR with WSAEINTR as the last
 * error: closesocket and WSACleanup cancel every pending blocking call, and Winsock's error
 * codes say WSAEINTR "is returned when a socket is closed or a process is terminated, on a
 * pending Winsock operation for that socket". Idiomatic receives (not Winsock calls)
 * reject with WSA_OPERATION_ABORTED, and the async iterator ends. A datagram arriving after
 * the close reaches no buffer.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  alertUntil,
  bound,
  expectFails,
  LOOPBACK4,
  openIdiomatic,
  openPeer,
  pollUntil,
  ref,
  sleep,
  sync,
  T,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

/** NTSTATUS STATUS_CANCELLED: what Windows keeps in Internal for an aborted operation. */
const STATUS_CANCELLED = 0xc0000120;

const ROUTINES = 5;
const EVENTS = 5;

interface Pending {
  /** Completion routine calls, by receive: [dwError, cbTransferred, dwFlags]. */
  readonly calls: [number, number, number][][];
  readonly withRoutine: ws.WSAOVERLAPPED[];
  readonly withEvent: ws.WSAOVERLAPPED[];
  readonly buffers: Buffer[];
  /** Blocking receives: how often each settled, and with what (rc, last error right after). */
  readonly blocking: { settled: number; rc: number; lastError: number }[];
  readonly blockingDone: Promise<unknown>;
}

/** Posts ROUTINES receives with routines, EVENTS with events, and two blocking ones (WSARecvFrom, recvfrom). */
function postReceives(s: number): Pending {
  const calls: [number, number, number][][] = [];
  const withRoutine: ws.WSAOVERLAPPED[] = [];
  const withEvent: ws.WSAOVERLAPPED[] = [];
  const buffers: Buffer[] = [];
  for (let i = 0; i < ROUTINES; i++) {
    const ov = new ws.WSAOVERLAPPED();
    const mine: [number, number, number][] = [];
    calls.push(mine);
    withRoutine.push(ov);
    const buf = Buffer.alloc(8);
    buffers.push(buf);
    const rc = ws.WSARecvFrom(s, [{ len: 8, buf }], 1, null, ref(0), {}, ref(16), ov, (e, n, o, f) => {
      expect(o).toBe(ov);
      mine.push([e, n, f]);
    });
    expect(sync(rc)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
  }
  for (let i = 0; i < EVENTS; i++) {
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = ws.WSACreateEvent();
    withEvent.push(ov);
    const buf = Buffer.alloc(8);
    buffers.push(buf);
    expect(sync(ws.WSARecv(s, [{ len: 8, buf }], 1, null, ref(0), ov, null))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
  }
  const buf1 = Buffer.alloc(8);
  const buf2 = Buffer.alloc(8);
  buffers.push(buf1, buf2);
  /** Records how a blocking receive settles: how often, its value, the last error right after. */
  const track = (p: Promise<number>) => {
    const slot = { settled: 0, rc: 0, lastError: 0 };
    const done = p.then((rc) => {
      slot.lastError = ws.WSAGetLastError();
      slot.rc = rc;
      slot.settled++;
    });
    return { slot, done };
  };
  const viaWSARecvFrom = track(
    ws.WSARecvFrom(s, [{ len: 8, buf: buf1 }], 1, ref(), ref(0), {}, ref(16), null, null) as Promise<number>,
  );
  const viaRecvfrom = track(ws.recvfrom(s, buf2, 8, 0, null, null) as Promise<number>);
  const blocking = [viaWSARecvFrom.slot, viaRecvfrom.slot];
  const blockingDone = Promise.all([viaWSARecvFrom.done, viaRecvfrom.done]);
  return { calls, withRoutine, withEvent, buffers, blocking, blockingDone };
}

/** Asserts every pending receive completed once with 0 bytes: WSA_OPERATION_ABORTED, or WSAEINTR for the blocking ones. */
async function expectAllAborted(p: Pending): Promise<void> {
  await waitAll(p.withEvent.map((ov) => ov.hEvent as ws.WSAEVENT));
  // The receives with routines complete too, without an alertable wait (only their routines
  // wait for one). The events say nothing about them: Windows completes aborted receives in
  // posting order, Wine in reverse (README's Wine table), so wait for every one, bounded.
  const all = [...p.withEvent, ...p.withRoutine];
  await pollUntil(() => all.every((ov) => ws.HasOverlappedIoCompleted(ov)));
  expect(p.calls.flat()).toEqual([]);
  for (const ov of all) {
    expect([ov.Internal, ov.InternalHigh]).toEqual([STATUS_CANCELLED, 0]);
  }
  await alertUntil(() => p.calls.every((c) => c.length > 0));
  await p.blockingDone;
  // Nothing more comes: one more alertable wait runs nothing.
  expect(await ws.SleepEx(30, true)).toBe(0);
  expect(p.calls).toEqual(p.calls.map(() => [[ws.WSA_OPERATION_ABORTED, 0, 0]]));
  expect(p.blocking).toEqual([
    { settled: 1, rc: ws.SOCKET_ERROR, lastError: ws.WSAEINTR },
    { settled: 1, rc: ws.SOCKET_ERROR, lastError: ws.WSAEINTR },
  ]);
}

describe.each(BACKENDS)("closing with receives pending on $name", (backend) => {
  describe("facade", () => {
    const session = useFacade(backend);

    it(
      "closesocket completes every pending receive once: WSA_OPERATION_ABORTED (routines, events), WSAEINTR (blocking)",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const { s, port } = bound();
        const pending = postReceives(s);
        expect(ws.closesocket(s)).toBe(0);
        // Routines wait for an alertable wait, even after the close.
        expect(pending.calls.flat()).toEqual([]);
        await expectAllAborted(pending);
        // The handle is gone.
        expectFails(ws.closesocket(s), ws.WSAENOTSOCK, "closesocket twice");
        // A datagram to the old port reaches none of the buffers.
        await peer.send("late!", port);
        await sleep(50);
        expect(pending.buffers.every((b) => b.every((x) => x === 0))).toBe(true);
      },
    );

    it(
      "a WSAGetOverlappedResult waiting (fWait true) when closesocket aborts the receive: false, WSA_OPERATION_ABORTED",
      T,
      async () => {
        const { s } = bound();
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        expect(sync(ws.WSARecvFrom(s, [{ len: 8, buf: Buffer.alloc(8) }], 1, null, ref(0), null, null, ov, null))).toBe(
          ws.SOCKET_ERROR,
        );
        const waiting = ws.WSAGetOverlappedResult(s, ov, ref(), true, ref());
        expect(ws.closesocket(s)).toBe(0);
        // The wait started before the close settles with the operation's outcome.
        expect(await waiting).toBe(false);
        expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSA_OPERATION_ABORTED");
        expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
        expect(ov.Internal).toBe(STATUS_CANCELLED);
      },
    );

    it("the last WSACleanup completes every pending receive once: WSA_OPERATION_ABORTED, or WSAEINTR (blocking)", T, async () => {
      const { s } = bound();
      const pending = postReceives(s);
      session.cleanup();
      expect(pending.calls.flat()).toEqual([]);
      await expectAllAborted(pending);
      expectFails(ws.closesocket(s), ws.WSANOTINITIALISED, "closesocket after WSACleanup");
    });

    it("a receive on a closed handle fails at once with WSAENOTSOCK", T, async () => {
      const { s } = bound();
      expect(ws.closesocket(s)).toBe(0);
      const rc = ws.WSARecvFrom(s, [{ len: 8, buf: Buffer.alloc(8) }], 1, null, ref(0), null, null, new ws.WSAOVERLAPPED(), null);
      expectFails(rc, ws.WSAENOTSOCK, "WSARecvFrom after closesocket");
      expect(await ws.recvfrom(s, Buffer.alloc(8), 8, 0, null, null)).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAENOTSOCK");
    });
  });

  describe("idiomatic", () => {
    it(
      "close() rejects every waiting receive once with WSA_OPERATION_ABORTED; later receives WSAENOTSOCK",
      T,
      async ({ onTestFinished }) => {
        const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
        const outcomes = Array.from({ length: 5 }, () => sock.receive(Buffer.alloc(8)));
        const settled = Promise.allSettled(outcomes);
        sock.close();
        const results = await settled;
        for (const r of results) {
          expect(r.status).toBe("rejected");
          const e = (r as PromiseRejectedResult).reason as ws.WSAError;
          expect(e).toBeInstanceOf(ws.WSAError);
          expect(e.code).toBe("WSA_OPERATION_ABORTED");
          expect(e.errno).toBe(995);
          expect(e.syscall).toBe("receive");
        }
        const after = await sock.receive(Buffer.alloc(8)).catch((e: unknown) => e);
        expect((after as ws.WSAError).code).toBe("WSAENOTSOCK");
      },
    );

    it("close() ends a for await over the socket after the datagrams already yielded", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const seen: string[] = [];
      const loop = (async () => {
        for await (const d of sock) {
          seen.push(d.data.toString());
          if (seen.length === 2) setTimeout(() => sock.close(), 20);
        }
        return "ended";
      })();
      await peer.send("one", port);
      await peer.send("two", port);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        loop,
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve("still iterating"), 5000);
        }),
      ]);
      clearTimeout(timer);
      expect(outcome).toBe("ended");
      expect(seen).toEqual(["one", "two"]);
    });
  });

  // A socket whose receive waited is closed, then the garbage collector runs: in a child
  // process, so that a crash ends it and not this runner. (Regression: the native addon's
  // poll watcher was freed by NativeSocket.close() -> unwatch() and then used again by the
  // finalizer of its JavaScript external, watch_finalize: SIGSEGV / SIGABRT.)
  it("closing sockets with receives that waited, then collecting garbage, does not crash", T, () => {
    const fixture = fileURLToPath(new URL("../fixtures/receive-close-gc.mjs", import.meta.url));
    const child = spawnSync(process.execPath, ["--expose-gc", fixture, backend.name, "300"], { encoding: "utf8", timeout: 8000 });
    expect({ status: child.status, signal: child.signal, out: child.stdout.trim() }).toEqual({
      status: 0,
      signal: null,
      out: "ok 300",
    });
  });
});
