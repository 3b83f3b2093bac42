/**
 * WSAEFAULT: lpBuffers missing or not an array, a count beyond the array, a malformed
 * WSABUF, a len beyond its buffer, an iTolen too small, a NULL byte counter without an
 * overlapped structure, something other than a WSAOVERLAPPED as lpOverlapped. Each
 * returns at once and sends nothing.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bufs,
  expectNothingSentBefore,
  expectNothingSentBeforeIdiomatic,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  ref,
  T,
  udp4,
  useFacade,
  ws,
} from "../helpers.js";
import {
  expectCallFails,
  expectIdiomaticFails,
  expectSendToFails,
  looseWSASend,
  MODES,
  type Mode,
  type SendToArgs,
  validArgs,
} from "./send-errors.js";

interface FaultCase {
  readonly name: string;
  readonly change: (to: ws.SOCKADDR_IN) => Partial<SendToArgs>;
  /** Modes where the case applies (all by default). */
  readonly modes?: readonly Mode[];
}

const CASES: readonly FaultCase[] = [
  { name: "lpBuffers is null", change: () => ({ lpBuffers: null }) },
  { name: "lpBuffers is a single WSABUF, not an array", change: () => ({ lpBuffers: { len: 1, buf: Buffer.from("x") } }) },
  { name: "lpBuffers is a Buffer", change: () => ({ lpBuffers: Buffer.from("x") }) },
  { name: "dwBufferCount beyond the array", change: () => ({ lpBuffers: bufs("a", "b"), dwBufferCount: 3 }) },
  { name: "dwBufferCount negative", change: () => ({ dwBufferCount: -1 }) },
  { name: "a WSABUF is null", change: () => ({ lpBuffers: [...bufs("a"), null], dwBufferCount: 2 }) },
  { name: "a WSABUF has no buf", change: () => ({ lpBuffers: [{ len: 1 }], dwBufferCount: 1 }) },
  { name: "a WSABUF's buf is a string", change: () => ({ lpBuffers: [{ len: 1, buf: "x" }] }) },
  { name: "a WSABUF's buf is a plain array", change: () => ({ lpBuffers: [{ len: 1, buf: [120] }] }) },
  { name: "a WSABUF's len is negative", change: () => ({ lpBuffers: [{ len: -1, buf: Buffer.from("x") }] }) },
  { name: "a WSABUF's len is not an integer", change: () => ({ lpBuffers: [{ len: 0.5, buf: Buffer.from("x") }] }) },
  { name: "a WSABUF's len is missing", change: () => ({ lpBuffers: [{ buf: Buffer.from("x") }] }) },
  {
    name: "a WSABUF's len is beyond its buffer (second of two)",
    change: () => ({ lpBuffers: [...bufs("ok"), { len: 10, buf: Buffer.from("short") }], dwBufferCount: 2 }),
  },
  { name: "iTolen 8, smaller than SOCKADDR_IN", change: () => ({ iTolen: 8 }) },
  { name: "iTolen 0 with an lpTo", change: () => ({ iTolen: 0 }) },
  { name: "iTolen not a number", change: () => ({ iTolen: "16" }) },
  { name: "lpTo's sin_port out of range", change: (to) => ({ lpTo: { ...to, sin_port: 70000 } }) },
  { name: "lpTo without sin_addr", change: (to) => ({ lpTo: { sin_family: to.sin_family, sin_port: to.sin_port } }) },
  { name: "lpTo is a string", change: () => ({ lpTo: "127.0.0.1" }) },
  {
    name: "lpNumberOfBytesSent is NULL without an overlapped structure",
    change: () => ({ lpNumberOfBytesSent: null }),
    modes: ["blocking"],
  },
  { name: "lpNumberOfBytesSent is a number", change: () => ({ lpNumberOfBytesSent: 5 }) },
  {
    name: "lpOverlapped is a plain object shaped like WSAOVERLAPPED",
    change: () => ({ lpOverlapped: { Internal: 0, InternalHigh: 0, Offset: 0, OffsetHigh: 0, hEvent: null } }),
  },
  { name: "lpOverlapped is a number", change: () => ({ lpOverlapped: 1 }) },
  {
    name: "a completion routine without lpOverlapped",
    change: () => ({ lpOverlapped: null, lpCompletionRoutine: () => undefined, lpNumberOfBytesSent: null }),
  },
  {
    name: "lpCompletionRoutine is not a function",
    change: () => ({ lpOverlapped: new ws.WSAOVERLAPPED(), lpCompletionRoutine: 42 }),
  },
];

describe.each(BACKENDS)("WSAEFAULT on $name", (backend) => {
  describe("facade WSASendTo", () => {
    useFacade(backend);
    const table = CASES.flatMap((c) => (c.modes ?? MODES).map((mode) => ({ ...c, mode })));

    it.for(table)("$name ($mode): WSAEFAULT, nothing sent", T, async ({ change, mode }, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      await expectSendToFails(mode, s, to, ws.WSAEFAULT, change(to));
      await expectNothingSentBefore(s, rx, to);
    });
  });

  describe("facade WSASend and sendto", () => {
    useFacade(backend);

    it(
      "WSASend with malformed buffers or a NULL byte counter fails with WSAEFAULT on a connected socket",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        expect(ws.connect(s, to, ws.sizeof(to))).toBe(0);
        const changes: Partial<SendToArgs>[] = [
          { lpBuffers: null },
          { dwBufferCount: 2 },
          { lpBuffers: [{ len: 9, buf: Buffer.from("x") }] },
          { lpNumberOfBytesSent: null },
          { lpOverlapped: {}, lpNumberOfBytesSent: null },
        ];
        for (const change of changes) {
          const { args, watch } = validArgs("blocking", s, null);
          await expectCallFails({ ...args, ...change }, watch, ws.WSAEFAULT, looseWSASend);
        }
        await expectNothingSentBefore(s, rx, to);
      },
    );

    it("sendto with len beyond the buffer or a malformed address fails with WSAEFAULT", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      expect(await ws.sendto(s, Buffer.from("abc"), 4, 0, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      expect(await ws.sendto(s, Buffer.from("abc"), 3, 0, to, 4)).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      const sendtoLoose = ws.sendto as unknown as (...a: unknown[]) => Promise<number>;
      expect(await sendtoLoose(s, "abc", 3, 0, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      await expectNothingSentBefore(s, rx, to);
    });

    it(
      "a valid call with the same arguments succeeds (the cases above differ only in the fault)",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const sent = ref();
        expect(await ws.WSASendTo(s, bufs("payload"), 1, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
        expect(sent.value).toBe(7);
        await rx.waitFor(1);
        expect(rx.texts()).toEqual(["payload"]);
      },
    );
  });

  describe("idiomatic API", () => {
    const cases: readonly { name: string; buffers: unknown; to: (port: number) => unknown }[] = [
      { name: "buffers is a string", buffers: "abc", to: (port) => ({ address: LOOPBACK4, port }) },
      { name: "buffers holds a string", buffers: [Buffer.from("a"), "b"], to: (port) => ({ address: LOOPBACK4, port }) },
      { name: "buffers is null", buffers: null, to: (port) => ({ address: LOOPBACK4, port }) },
      { name: "to is null", buffers: Buffer.from("a"), to: () => null },
      { name: "to.port is out of range", buffers: Buffer.from("a"), to: () => ({ address: LOOPBACK4, port: 70000 }) },
      { name: "to.address is a number", buffers: Buffer.from("a"), to: (port) => ({ address: 0x7f000001, port }) },
    ];

    it.for(cases)("$name: WSAEFAULT thrown / rejected, nothing sent", T, async ({ buffers, to }, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      await expectIdiomaticFails(sock, buffers, to(rx.port), "WSAEFAULT");
      await expectNothingSentBeforeIdiomatic(sock, rx);
    });
  });
});
