/**
 * Implicit bind: an unbound socket has no name (getsockname fails with WSAEINVAL); its
 * first send binds it to the wildcard address and a port the system picks, and that is
 * the port the receiver sees.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  addr6,
  bufs,
  expectFails,
  expectStarted,
  hasV6,
  LOOPBACK4,
  LOOPBACK6,
  NO_V6_REASON,
  openIdiomatic,
  openReceiver,
  pollUntil,
  ref,
  T,
  udp4,
  udp6,
  useFacade,
  ws,
} from "../helpers.js";

describe.each(BACKENDS)("implicit bind on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(
      "getsockname fails with WSAEINVAL before, and gives INADDR_ANY and the sending port after a blocking send",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const name: Partial<ws.SOCKADDR_IN> = {};
        const namelen = ref(16);
        expectFails(ws.getsockname(s, name, namelen), ws.WSAEINVAL, "getsockname before any bind");
        const to = addr4(rx.port);
        expect(await ws.WSASendTo(s, bufs("auto"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
        namelen.value = 16;
        expect(ws.getsockname(s, name, namelen)).toBe(0);
        expect(namelen.value).toBe(16);
        expect(name.sin_family).toBe(ws.AF_INET);
        expect(name.sin_addr?.s_addr).toBe(ws.INADDR_ANY);
        const port = ws.ntohs(name.sin_port ?? 0);
        expect(port).toBeGreaterThan(0);
        const [d] = await rx.waitFor(1);
        expect(d?.rinfo.port).toBe(port);
      },
    );

    it("an overlapped send binds the socket during the call", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      expectStarted(ws.WSASendTo(s, bufs("ov"), 1, null, 0, to, ws.sizeof(to), ov, null), backend);
      const name: Partial<ws.SOCKADDR_IN> = {};
      expect(ws.getsockname(s, name, ref(16))).toBe(0);
      expect(name.sin_addr?.s_addr).toBe(ws.INADDR_ANY);
      const port = ws.ntohs(name.sin_port ?? 0);
      expect(port).toBeGreaterThan(0);
      await pollUntil(() => ws.HasOverlappedIoCompleted(ov));
      const [d] = await rx.waitFor(1);
      expect(d?.rinfo.port).toBe(port);
    });

    it("an explicit bind to 127.0.0.1:0 is what getsockname reports, and sends keep it", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const local = addr4(0);
      expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
      const name: Partial<ws.SOCKADDR_IN> = {};
      expect(ws.getsockname(s, name, ref(16))).toBe(0);
      expect(name.sin_addr?.s_addr).toBe(ws.inet_addr(LOOPBACK4));
      const port = ws.ntohs(name.sin_port ?? 0);
      expect(port).toBeGreaterThan(0);
      const to = addr4(rx.port);
      expect(await ws.WSASendTo(s, bufs("bound"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
      const [d] = await rx.waitFor(1);
      expect(d?.rinfo).toMatchObject({ address: LOOPBACK4, port });
      // A socket binds once.
      expectFails(ws.bind(s, local, ws.sizeof(local)), ws.WSAEINVAL, "second bind");
    });

    it("getsockname with a namelen below sizeof(SOCKADDR_IN) fails with WSAEFAULT", () => {
      const s = udp4();
      const local = addr4(0);
      expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
      expectFails(ws.getsockname(s, {}, ref(8)), ws.WSAEFAULT, "getsockname namelen 8");
    });

    it("IPv6: getsockname gives :: and the sending port after the first send", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const s = udp6();
      expectFails(ws.getsockname(s, {}, ref(28)), ws.WSAEINVAL, "getsockname before any bind");
      const to = addr6(rx.port);
      expect(await ws.WSASendTo(s, bufs("six"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
      const name: Partial<ws.SOCKADDR_IN6> = {};
      const namelen = ref(28);
      expect(ws.getsockname(s, name, namelen)).toBe(0);
      expect(namelen.value).toBe(28);
      expect(name.sin6_family).toBe(ws.AF_INET6);
      expect([...(name.sin6_addr ?? [])]).toEqual(new Array(16).fill(0));
      const [d] = await rx.waitFor(1);
      expect(d?.rinfo).toMatchObject({ address: LOOPBACK6, port: ws.ntohs(name.sin6_port ?? 0) });
    });
  });

  describe("idiomatic API", () => {
    it(
      "localAddress() is null before the first send and the wildcard with the sending port after",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const sock = openIdiomatic(backend, onTestFinished);
        expect(sock.localAddress()).toBeNull();
        await sock.sendTo(Buffer.from("auto"), { address: LOOPBACK4, port: rx.port });
        const local = sock.localAddress();
        expect(local).toMatchObject({ address: "0.0.0.0", family: "IPv4" });
        const [d] = await rx.waitFor(1);
        expect(d?.rinfo.port).toBe(local?.port);
      },
    );

    it("bind: { address: 127.0.0.1 } binds at once", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4 } });
      const local = sock.localAddress();
      expect(local?.address).toBe(LOOPBACK4);
      expect(local?.port).toBeGreaterThan(0);
      await sock.sendTo(Buffer.from("b"), { address: LOOPBACK4, port: rx.port });
      const [d] = await rx.waitFor(1);
      expect(d?.rinfo).toMatchObject({ address: LOOPBACK4, port: local?.port });
    });
  });
});
