import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, expectFails, expectWSAError, openIdiomatic, openPeer, ref, T, udp4, useFacade, ws } from "../helpers.js";

type Loose = (...args: unknown[]) => number | Promise<number>;
const WSARecvFrom = ws.WSARecvFrom as unknown as Loose;
const WSARecv = ws.WSARecv as unknown as Loose;
const recvfrom = ws.recvfrom as unknown as Loose;

/** Binds `s` to 127.0.0.1 port 0; its port. */
function bindLoopback(s: number): number {
  const local = addr4(0);
  expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
  const name: Record<string, unknown> = {};
  expect(ws.getsockname(s, name, ref(16))).toBe(0);
  return ws.ntohs(name.sin_port as number);
}

/** A bound socket with the datagram "keep" queued on it (waited for with MSG_PEEK, which leaves it). */
async function withQueued(
  onFinished: (fn: () => Promise<void>) => void,
  flags: number = ws.WSA_FLAG_OVERLAPPED,
): Promise<number> {
  const peer = await openPeer(onFinished);
  const s = udp4(flags);
  const port = bindLoopback(s);
  await peer.send("keep", port);
  expect(await ws.recvfrom(s, Buffer.alloc(16), 16, ws.MSG_PEEK, null, null)).toBe(4);
  return s;
}

/** Asserts the queued "keep" is still the next datagram. */
async function expectStillQueued(s: number): Promise<void> {
  const buf = Buffer.alloc(16);
  expect(await ws.recvfrom(s, buf, 16, 0, null, null)).toBe(4);
  expect(buf.subarray(0, 4).toString()).toBe("keep");
}

/** Asserts a blocking call resolves SOCKET_ERROR with `code` as the last error right after. */
async function expectFailsLater(rc: number | Promise<number>, code: number, what: string): Promise<void> {
  expect(rc, `${what} returns a Promise`).toBeInstanceOf(Promise);
  expect(await rc, `${what}: return value`).toBe(ws.SOCKET_ERROR);
  expect(ws.wsaErrorName(ws.WSAGetLastError()), `${what}: WSAGetLastError`).toBe(ws.wsaErrorName(code));
}

/**
 * One receive call with an argument replaced: the overlapped form (routine and event both
 * watched) and the blocking form. `args` gets the defaults and returns the call's arguments.
 */
interface Case {
  readonly label: string;
  readonly code: number;
  /** WSARecvFrom's arguments (s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpFrom, lpFromlen) for socket `s`. */
  readonly args: (s: number) => unknown[];
}

const buffer = (n = 16): ws.WSABUF[] => [{ len: n, buf: Buffer.alloc(n) }];

const FAULTS: readonly Case[] = [
  { label: "lpFlags NULL", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), null, {}, ref(16)] },
  { label: "lpFlags a number, not a { value }", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), 0, {}, ref(16)] },
  { label: "lpFlags { value: -1 }", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), ref(-1), {}, ref(16)] },
  { label: "lpFlags { value: 1.5 }", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), ref(1.5), {}, ref(16)] },
  { label: "lpFlags { value: '0' }", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), { value: "0" }, {}, ref(16)] },
  { label: "lpFlags frozen", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), Object.freeze(ref(0)), {}, ref(16)] },
  { label: "lpFromlen 8 (too small)", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), ref(0), {}, ref(8)] },
  { label: "lpFromlen 15 (too small)", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), ref(0), {}, ref(15)] },
  { label: "lpFromlen NULL with lpFrom", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), ref(0), {}, null] },
  { label: "lpFrom not an object", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 1, ref(), ref(0), 42, ref(16)] },
  {
    label: "a WSABUF len beyond its buffer",
    code: ws.WSAEFAULT,
    args: (s) => [s, [{ len: 17, buf: Buffer.alloc(16) }], 1, ref(), ref(0), {}, ref(16)],
  },
  { label: "dwBufferCount beyond the array", code: ws.WSAEFAULT, args: (s) => [s, buffer(), 2, ref(), ref(0), {}, ref(16)] },
  { label: "lpBuffers NULL", code: ws.WSAEFAULT, args: (s) => [s, null, 1, ref(), ref(0), {}, ref(16)] },
  {
    label: "a WSABUF whose buf is not bytes",
    code: ws.WSAEFAULT,
    args: (s) => [s, [{ len: 4, buf: "abcd" }], 1, ref(), ref(0), {}, ref(16)],
  },
];

const FLAGS: readonly Case[] = [
  { label: "MSG_OOB", code: ws.WSAEOPNOTSUPP, args: (s) => [s, buffer(), 1, ref(), ref(ws.MSG_OOB), {}, ref(16)] },
  {
    label: "MSG_OOB | MSG_PEEK",
    code: ws.WSAEOPNOTSUPP,
    args: (s) => [s, buffer(), 1, ref(), ref(ws.MSG_OOB | ws.MSG_PEEK), {}, ref(16)],
  },
];

describe.each(BACKENDS)("receive errors on $name", (backend) => {
  describe("facade", () => {
    const session = useFacade(backend);

    it.for([...FAULTS, ...FLAGS])(
      "$label: fails before starting, nothing taken, no completion",
      T,
      async (c, { onTestFinished }) => {
        const s = await withQueued(onTestFinished);
        const calls: number[] = [];
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        ov.Internal = 7;
        ov.InternalHigh = 8;
        const args = c.args(s);
        expectFails(
          WSARecvFrom(...args, ov, () => calls.push(1)),
          c.code,
          `overlapped WSARecvFrom(${c.label})`,
        );
        expect([ov.Internal, ov.InternalHigh]).toEqual([7, 8]);
        const ov2 = new ws.WSAOVERLAPPED();
        ov2.hEvent = ws.WSACreateEvent();
        expectFails(WSARecvFrom(...c.args(s), ov2, null), c.code, `overlapped WSARecvFrom with an event(${c.label})`);
        await expectFailsLater(WSARecvFrom(...c.args(s), null, null), c.code, `blocking WSARecvFrom(${c.label})`);
        // Nothing completes later: no routine in an alertable wait, no event.
        expect(await ws.SleepEx(20, true)).toBe(0);
        expect(calls).toEqual([]);
        expect(await ws.WSAWaitForMultipleEvents(1, [ov2.hEvent], true, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
        expect(ws.HasOverlappedIoCompleted(ov2)).toBe(true);
        await expectStillQueued(s);
      },
    );

    it(
      "WSARecv and recvfrom check the same way (lpFlags NULL, MSG_OOB, len beyond the buffer)",
      T,
      async ({ onTestFinished }) => {
        const s = await withQueued(onTestFinished);
        expectFails(WSARecv(s, buffer(), 1, null, null, new ws.WSAOVERLAPPED(), null), ws.WSAEFAULT, "WSARecv(lpFlags NULL)");
        await expectFailsLater(WSARecv(s, buffer(), 1, ref(), ref(ws.MSG_OOB), null, null), ws.WSAEOPNOTSUPP, "WSARecv(MSG_OOB)");
        await expectFailsLater(recvfrom(s, Buffer.alloc(8), 9, 0, null, null), ws.WSAEFAULT, "recvfrom(len 9, buffer 8)");
        await expectFailsLater(recvfrom(s, Buffer.alloc(8), 8, ws.MSG_OOB, null, null), ws.WSAEOPNOTSUPP, "recvfrom(MSG_OOB)");
        await expectFailsLater(recvfrom(s, Buffer.alloc(8), 8, 0, {}, ref(8)), ws.WSAEFAULT, "recvfrom(fromlen 8)");
        await expectStillQueued(s);
      },
    );

    it(
      "a blocking receive needs lpNumberOfBytesRecvd (WSAEFAULT); an overlapped one may omit it",
      T,
      async ({ onTestFinished }) => {
        const s = await withQueued(onTestFinished);
        await expectFailsLater(WSARecvFrom(s, buffer(), 1, null, ref(0), null, null, null, null), ws.WSAEFAULT, "blocking, NULL");
        await expectFailsLater(
          WSARecvFrom(s, buffer(), 1, Object.freeze(ref()), ref(0), null, null, null, null),
          ws.WSAEFAULT,
          "blocking, frozen",
        );
        await expectStillQueued(s);
      },
    );

    it("an unbound socket: WSAEINVAL (overlapped, blocking, WSARecv, recvfrom)", T, async () => {
      const s = udp4();
      expectFails(
        WSARecvFrom(s, buffer(), 1, null, ref(0), {}, ref(16), new ws.WSAOVERLAPPED(), null),
        ws.WSAEINVAL,
        "overlapped",
      );
      await expectFailsLater(WSARecvFrom(s, buffer(), 1, ref(), ref(0), {}, ref(16), null, null), ws.WSAEINVAL, "blocking");
      await expectFailsLater(WSARecv(s, buffer(), 1, ref(), ref(0), null, null), ws.WSAEINVAL, "WSARecv");
      await expectFailsLater(recvfrom(s, Buffer.alloc(8), 8, 0, null, null), ws.WSAEINVAL, "recvfrom");
      // The failed receives did not bind it.
      expectFails(ws.getsockname(s, {}, ref(16)), ws.WSAEINVAL, "getsockname");
    });

    it.for([
      { how: "SD_RECEIVE", value: ws.SD_RECEIVE },
      { how: "SD_BOTH", value: ws.SD_BOTH },
    ])(
      "after shutdown($how): WSAESHUTDOWN, and the queued datagram is not handed out",
      T,
      async ({ value }, { onTestFinished }) => {
        const s = await withQueued(onTestFinished);
        expect(ws.shutdown(s, value)).toBe(0);
        expectFails(
          WSARecvFrom(s, buffer(), 1, null, ref(0), {}, ref(16), new ws.WSAOVERLAPPED(), null),
          ws.WSAESHUTDOWN,
          "overlapped",
        );
        await expectFailsLater(WSARecvFrom(s, buffer(), 1, ref(), ref(0), {}, ref(16), null, null), ws.WSAESHUTDOWN, "blocking");
        await expectFailsLater(recvfrom(s, Buffer.alloc(8), 8, ws.MSG_PEEK, null, null), ws.WSAESHUTDOWN, "recvfrom peek");
      },
    );

    it("after shutdown(SD_SEND) receiving still works", T, async ({ onTestFinished }) => {
      const s = await withQueued(onTestFinished);
      expect(ws.shutdown(s, ws.SD_SEND)).toBe(0);
      await expectStillQueued(s);
    });

    it("a closed or never valid handle: WSAENOTSOCK", T, async () => {
      const s = udp4();
      bindLoopback(s);
      expect(ws.closesocket(s)).toBe(0);
      for (const handle of [s, 0x7ffffff0]) {
        expectFails(
          WSARecvFrom(handle, buffer(), 1, null, ref(0), null, null, new ws.WSAOVERLAPPED(), null),
          ws.WSAENOTSOCK,
          "overlapped",
        );
        await expectFailsLater(WSARecv(handle, buffer(), 1, ref(), ref(0), null, null), ws.WSAENOTSOCK, "WSARecv");
        await expectFailsLater(recvfrom(handle, Buffer.alloc(8), 8, 0, null, null), ws.WSAENOTSOCK, "recvfrom");
      }
    });

    it(
      "overlapped on a socket made without WSA_FLAG_OVERLAPPED: WSAEINVAL; a blocking receive works",
      T,
      async ({ onTestFinished }) => {
        const s = await withQueued(onTestFinished, 0);
        const calls: number[] = [];
        expectFails(
          WSARecvFrom(s, buffer(), 1, null, ref(0), {}, ref(16), new ws.WSAOVERLAPPED(), () => calls.push(1)),
          ws.WSAEINVAL,
          "overlapped",
        );
        expectFails(WSARecv(s, buffer(), 1, null, ref(0), new ws.WSAOVERLAPPED(), null), ws.WSAEINVAL, "WSARecv overlapped");
        expect(await ws.SleepEx(10, true)).toBe(0);
        expect(calls).toEqual([]);
        await expectStillQueued(s);
      },
    );

    it("a completion routine that is not a function, or one without lpOverlapped: WSAEFAULT", T, async ({ onTestFinished }) => {
      const s = await withQueued(onTestFinished);
      expectFails(WSARecvFrom(s, buffer(), 1, null, ref(0), null, null, new ws.WSAOVERLAPPED(), 42), ws.WSAEFAULT, "routine 42");
      expectFails(
        WSARecvFrom(s, buffer(), 1, null, ref(0), null, null, null, () => {}),
        ws.WSAEFAULT,
        "no lpOverlapped",
      );
      expectFails(WSARecvFrom(s, buffer(), 1, null, ref(0), null, null, {}, null), ws.WSAEFAULT, "lpOverlapped {}");
      await expectStillQueued(s);
    });

    it("after the last WSACleanup: WSANOTINITIALISED", T, async () => {
      const s = udp4();
      bindLoopback(s);
      session.cleanup();
      expectFails(
        WSARecvFrom(s, buffer(), 1, null, ref(0), null, null, new ws.WSAOVERLAPPED(), null),
        ws.WSANOTINITIALISED,
        "overlapped",
      );
      await expectFailsLater(recvfrom(s, Buffer.alloc(8), 8, 0, null, null), ws.WSANOTINITIALISED, "recvfrom");
    });
  });

  describe("idiomatic", () => {
    it(
      "receive rejects (never throws) with WSAEINVAL on an unbound socket, WSAEFAULT for bad buffers, WSAENOTSOCK once closed",
      T,
      async ({ onTestFinished }) => {
        const sock = openIdiomatic(backend, onTestFinished);
        const attempt = (buffers: unknown): Promise<unknown> => {
          let p: Promise<unknown> | undefined;
          expect(() => {
            p = sock.receive(buffers as Uint8Array);
          }).not.toThrow();
          return (p as Promise<unknown>).then(
            () => "resolved",
            (e: unknown) => e,
          );
        };
        expectWSAError(await attempt(Buffer.alloc(8)), "WSAEINVAL", "receive");
        expectWSAError(await attempt("not bytes"), "WSAEFAULT", "receive");
        expectWSAError(await attempt([Buffer.alloc(4), 42]), "WSAEFAULT", "receive");
        expectWSAError(await attempt(null), "WSAEFAULT", "receive");
        sock.close();
        expectWSAError(await attempt(Buffer.alloc(8)), "WSAENOTSOCK", "receive");
      },
    );
  });
});
