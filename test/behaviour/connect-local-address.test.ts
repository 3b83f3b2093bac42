/**
 * getsockname after connect, as Windows answers it: a socket bound to the wildcard address
 * (implicitly or explicitly) reports the local address routing chose for its peer, with the
 * port it already had; a socket bound to a specific address keeps that address. The OS
 * socket itself is never connected (lpTo still overrides the peer on every backend).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  addr6,
  bufs,
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
  ws,
} from "../helpers.js";

/** The address and port getsockname reports for an IPv4 socket. */
function name4(s: number): { address: string | null; port: number } {
  const name: Partial<ws.SOCKADDR_IN> = {};
  expect(ws.getsockname(s, name, ref(16))).toBe(0);
  return { address: ws.inet_ntoa(name.sin_addr as ws.IN_ADDR), port: ws.ntohs(name.sin_port ?? 0) };
}

/** The address and port getsockname reports for an IPv6 socket. */
function name6(s: number): { address: string | null; port: number } {
  const name: Partial<ws.SOCKADDR_IN6> = {};
  const len = ref(28);
  expect(ws.getsockname(s, name, len)).toBe(0);
  expect(len.value).toBe(28);
  return { address: ws.inet_ntop(ws.AF_INET6, name.sin6_addr as Uint8Array), port: ws.ntohs(name.sin6_port ?? 0) };
}

describe.each(BACKENDS)("getsockname after connect on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it(
      "bound to 0.0.0.0 first: connect keeps the port and reports 127.0.0.1 for a loopback peer",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const any = addr4(0, "0.0.0.0");
        expect(ws.bind(s, any, ws.sizeof(any))).toBe(0);
        const before = name4(s);
        expect(before.address).toBe("0.0.0.0");
        const peer = addr4(rx.port);
        expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
        expect(name4(s)).toEqual({ address: "127.0.0.1", port: before.port });
        // lpTo still overrides the peer: the OS socket was not connected.
        const other = await openReceiver();
        onTestFinished(() => other.close());
        const to = addr4(other.port);
        expect(await ws.WSASendTo(s, bufs("elsewhere"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
        const [d] = await other.waitFor(1);
        expect(d?.msg.toString()).toBe("elsewhere");
        expect(d?.rinfo.port).toBe(before.port);
      },
    );

    it(
      "a socket bound to a specific address keeps it (127.0.0.2 connected to a peer on 127.0.0.1)",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const local = addr4(0, "127.0.0.2");
        // Every 127/8 address is local on Linux and Windows; routing to 127.0.0.1 chooses 127.0.0.1.
        expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
        const before = name4(s);
        const peer = addr4(rx.port, LOOPBACK4);
        expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
        expect(name4(s)).toEqual({ address: "127.0.0.2", port: before.port });
        expect(await ws.WSASend(s, bufs("from .2"), 1, ref(), 0, null, null)).toBe(0);
        const [d] = await rx.waitFor(1);
        expect(d?.msg.toString()).toBe("from .2");
        // Wine sends it from 127.0.0.1 (its socket is bound to 0.0.0.0 underneath).
        expect(d?.rinfo.address).toBe(backend.deviations.boundSourceKept ? "127.0.0.2" : LOOPBACK4);
      },
    );

    it("IPv6: connect to ::1 reports ::1", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const s = udp6();
      const peer = addr6(rx.port);
      expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
      const after = name6(s);
      expect(after.address).toBe(LOOPBACK6);
      expect(await ws.WSASend(s, bufs("six"), 1, ref(), 0, null, null)).toBe(0);
      const [d] = await rx.waitFor(1);
      expect(d?.rinfo.port).toBe(after.port);
    });

    it("dual-stack: connect to ::ffff:127.0.0.1 reports ::ffff:127.0.0.1", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp6();
      expect(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, 0, 4)).toBe(0);
      const peer = addr6(rx.port, "::ffff:127.0.0.1");
      expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
      const after = name6(s);
      expect(after.address).toBe("::ffff:127.0.0.1");
      expect(await ws.WSASend(s, bufs("mapped"), 1, ref(), 0, null, null)).toBe(0);
      const [d] = await rx.waitFor(1);
      expect(d?.rinfo.address).toBe(LOOPBACK4);
      expect(d?.rinfo.port).toBe(after.port);
    });
  });

  describe("idiomatic API", () => {
    it("localAddress() after connect is 127.0.0.1 with the socket's port", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: "0.0.0.0", port: 0 } });
      const before = sock.localAddress();
      expect(before?.address).toBe("0.0.0.0");
      sock.connect({ address: LOOPBACK4, port: rx.port });
      expect(sock.localAddress()).toEqual({ address: LOOPBACK4, port: before?.port, family: "IPv4" });
    });
  });
});
