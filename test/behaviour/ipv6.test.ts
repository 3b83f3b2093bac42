/**
 * IPv6: gathered datagrams to ::1 on an AF_INET6 socket, on both APIs. Skipped (with
 * the reason) only where ::1 cannot be bound.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr6,
  alertUntil,
  bufs,
  expectStarted,
  hasV6,
  LOOPBACK6,
  NO_V6_REASON,
  openIdiomatic,
  openReceiver,
  ref,
  T,
  udp6,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

describe.each(BACKENDS)("IPv6 on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it("gather to ::1: blocking, overlapped with an event, overlapped with a routine", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const s = udp6();
      const to = addr6(rx.port);
      expect(ws.sizeof(to)).toBe(28);
      const sent = ref();
      expect(await ws.WSASendTo(s, bufs("six", "-", "gather"), 3, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(10);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expectStarted(ws.WSASendTo(s, bufs("ev", "ent"), 2, null, 0, to, ws.sizeof(to), ov, null), backend);
      await waitAll([ov.hEvent]);
      expect(ov.InternalHigh).toBe(5);
      const calls: number[] = [];
      const ov2 = new ws.WSAOVERLAPPED();
      expectStarted(
        ws.WSASendTo(s, bufs("rou", "tine"), 2, null, 0, to, ws.sizeof(to), ov2, (e, n) => calls.push(e, n)),
        backend,
      );
      await alertUntil(() => calls.length === 2);
      expect(calls).toEqual([0, 7]);
      await rx.waitFor(3);
      expect(rx.texts()).toEqual(["six-gather", "event", "routine"]);
      expect(rx.got.every((d) => d.rinfo.family === "IPv6")).toBe(true);
    });

    it("iTolen 16 (a SOCKADDR_IN's size) is too small for a SOCKADDR_IN6: WSAEFAULT", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const s = udp6();
      const to = addr6(rx.port);
      expect(await ws.WSASendTo(s, bufs("x"), 1, ref(), 0, to, 16, null, null)).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      expect(await ws.WSASendTo(s, bufs("y"), 1, ref(), 0, to, 28, null, null)).toBe(0);
      await rx.waitFor(1);
      expect(rx.texts()).toEqual(["y"]);
    });
  });

  describe("idiomatic API", () => {
    it("gather to ::1", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished, { family: "ipv6" });
      const r = await sock.sendTo([Buffer.from("six"), Buffer.from("-"), Buffer.from("gather")], {
        address: LOOPBACK6,
        port: rx.port,
      });
      expect(r.bytesSent).toBe(10);
      expect(sock.localAddress()).toMatchObject({ address: "::", family: "IPv6" });
      const [d] = await rx.waitFor(1);
      expect(d?.msg.toString()).toBe("six-gather");
      expect(d?.rinfo.port).toBe(sock.localAddress()?.port);
    });
  });
});
