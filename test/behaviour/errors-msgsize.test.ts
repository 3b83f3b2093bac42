/**
 * WSAEMSGSIZE: a gathered datagram over SO_MAX_MSG_SIZE (65507 for IPv4, 65527 for
 * IPv6) fails at once and nothing is transmitted; exactly the limit succeeds.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  addr6,
  expectNothingSentBefore,
  expectNothingSentBeforeIdiomatic,
  expectStarted,
  hasV6,
  LOOPBACK4,
  LOOPBACK6,
  NO_V6_REASON,
  openIdiomatic,
  openReceiver,
  ref,
  T,
  udp4,
  udp6,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";
import { expectIdiomaticFails, expectSendToFails, MODES } from "./send-errors.js";

/** `total` bytes split into `parts` buffers, each filled with its own letter. */
function split(total: number, parts: number): Buffer[] {
  const size = Math.ceil(total / parts);
  const out: Buffer[] = [];
  for (let i = 0, left = total; left > 0; i++, left -= size) out.push(Buffer.alloc(Math.min(size, left), 65 + i));
  return out;
}

function wsabufsOf(parts: readonly Buffer[]): ws.WSABUF[] {
  return parts.map((buf) => ({ len: buf.length, buf }));
}

describe.each(BACKENDS)("WSAEMSGSIZE on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it("SO_MAX_MSG_SIZE is 65507 on IPv4 and 65527 on IPv6", () => {
      const v = ref();
      const len = ref(4);
      expect(ws.getsockopt(udp4(), ws.SOL_SOCKET, ws.SO_MAX_MSG_SIZE, v, len)).toBe(0);
      expect([v.value, len.value]).toEqual([65507, 4]);
      expect(ws.getsockopt(udp6(), ws.SOL_SOCKET, ws.SO_MAX_MSG_SIZE, v, len)).toBe(0);
      expect(v.value).toBe(65527);
    });

    it.for(MODES)(
      "65508 bytes over three WSABUFs on IPv4 (%s): WSAEMSGSIZE, nothing sent",
      T,
      async (mode, { onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const parts = split(65508, 3);
        await expectSendToFails(mode, s, to, ws.WSAEMSGSIZE, { lpBuffers: wsabufsOf(parts), dwBufferCount: 3 });
        await expectNothingSentBefore(s, rx, to);
      },
    );

    it("65507 bytes over four WSABUFs on IPv4 arrive intact (blocking and overlapped)", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const parts = split(65507, 4);
      const sent = ref();
      expect(await ws.WSASendTo(s, wsabufsOf(parts), 4, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(65507);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expectStarted(ws.WSASendTo(s, wsabufsOf(parts), 4, null, 0, to, ws.sizeof(to), ov, null), backend);
      await waitAll([ov.hEvent]);
      expect(ov.InternalHigh).toBe(65507);
      await rx.waitFor(2);
      const whole = Buffer.concat(parts);
      expect(rx.got).toHaveLength(2);
      for (const d of rx.got) expect(d.msg.equals(whole)).toBe(true);
    });

    it.for(MODES)("65528 bytes on IPv6 (%s): WSAEMSGSIZE, nothing sent", T, async (mode, { onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const s = udp6();
      const to = addr6(rx.port);
      await expectSendToFails(mode, s, to, ws.WSAEMSGSIZE, { lpBuffers: wsabufsOf(split(65528, 2)), dwBufferCount: 2 });
      await expectNothingSentBefore(s, rx, to);
    });

    it("65527 bytes over two WSABUFs on IPv6 arrive intact", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const s = udp6();
      const to = addr6(rx.port);
      const parts = split(65527, 2);
      const sent = ref();
      expect(await ws.WSASendTo(s, wsabufsOf(parts), 2, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(65527);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.equals(Buffer.concat(parts))).toBe(true);
    });
  });

  describe("idiomatic API", () => {
    it("65508 bytes over several buffers throws / rejects WSAEMSGSIZE; 65507 arrives", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      await expectIdiomaticFails(sock, split(65508, 5), { address: LOOPBACK4, port: rx.port }, "WSAEMSGSIZE");
      await expectNothingSentBeforeIdiomatic(sock, rx);
      const parts = split(65507, 5);
      expect((await sock.sendTo(parts, { address: LOOPBACK4, port: rx.port })).bytesSent).toBe(65507);
      await rx.waitFor(2);
      expect(rx.got[1]?.msg.equals(Buffer.concat(parts))).toBe(true);
    });

    it("IPv6: 65528 bytes throws / rejects WSAEMSGSIZE; 65527 arrives", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished, { family: "ipv6" });
      await expectIdiomaticFails(sock, split(65528, 3), { address: LOOPBACK6, port: rx.port }, "WSAEMSGSIZE");
      await expectNothingSentBeforeIdiomatic(sock, rx, LOOPBACK6);
      expect((await sock.sendTo(split(65527, 3), { address: LOOPBACK6, port: rx.port })).bytesSent).toBe(65527);
      await rx.waitFor(2);
      expect(rx.got[1]?.msg.length).toBe(65527);
    });
  });
});
