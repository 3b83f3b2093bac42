/**
 * IPV6_V6ONLY as Windows has it: 1 on a new AF_INET6 socket; 0, set before the bind, makes
 * the socket dual-stack (after the bind: WSAEINVAL). A dual-stack socket reaches IPv4 peers
 * through v4-mapped addresses (::ffff:127.0.0.1) and reads IPv4 senders back as such; an
 * IPv6-only socket refuses a v4-mapped destination before sending anything.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  addr6,
  bufs,
  expectFails,
  hasV6,
  LOOPBACK4,
  NO_V6_REASON,
  openIdiomatic,
  openPeer,
  openReceiver,
  ref,
  T,
  udp4,
  udp6,
  useFacade,
  ws,
} from "../helpers.js";

const MAPPED_LOOPBACK = "::ffff:127.0.0.1";
/** ::ffff:127.0.0.1 as bytes: 80 zero bits, 16 one bits, then 127.0.0.1 (RFC 4291 2.5.5.2). */
const MAPPED_LOOPBACK_BYTES = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];

function v6only(s: number): number {
  const v = ref(-1);
  const len = ref(4);
  expect(ws.getsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, v, len)).toBe(0);
  expect(len.value).toBe(4);
  return v.value;
}

/** A dual-stack socket bound to [::]:0; its handle and port. */
function dualStack(): { s: number; port: number } {
  const s = udp6();
  expect(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, 0, 4)).toBe(0);
  const any = addr6(0, "::");
  expect(ws.bind(s, any, ws.sizeof(any))).toBe(0);
  const name: Partial<ws.SOCKADDR_IN6> = {};
  expect(ws.getsockname(s, name, ref(28))).toBe(0);
  return { s, port: ws.ntohs(name.sin6_port ?? 0) };
}

describe.each(BACKENDS)("dual-stack sockets on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it("IPV6_V6ONLY reads 1 on a new AF_INET6 socket (as a number and as 4 little-endian bytes)", ({ skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const s = udp6();
      expect(v6only(s)).toBe(1);
      const bytes = new Uint8Array([9, 9, 9, 9]);
      expect(ws.getsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, bytes, ref(4))).toBe(0);
      expect([...bytes]).toEqual([1, 0, 0, 0]);
    });

    it("IPV6_V6ONLY on an AF_INET socket: WSAEINVAL (an IPPROTO_IPV6 option)", () => {
      const s = udp4();
      expectFails(ws.getsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, ref(), ref(4)), ws.WSAEINVAL, "getsockopt");
      expectFails(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, 0, 4), ws.WSAEINVAL, "setsockopt");
    });

    it("set to 0 before bind it reads back 0 (and 1 again when set back); after bind: WSAEINVAL, unchanged", ({ skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const s = udp6();
      expect(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, 0, 4)).toBe(0);
      expect(v6only(s)).toBe(0);
      expect(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, new Uint8Array([1, 0, 0, 0]), 4)).toBe(0);
      expect(v6only(s)).toBe(1);
      expect(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, 0, 4)).toBe(0);
      const any = addr6(0, "::");
      expect(ws.bind(s, any, ws.sizeof(any))).toBe(0);
      expectFails(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, 1, 4), ws.WSAEINVAL, "setsockopt after bind");
      expect(v6only(s)).toBe(0);
    });

    it(
      "a dual-stack socket sends to ::ffff:127.0.0.1 (an IPv4 receiver gets it from its port)",
      T,
      async ({ onTestFinished, skip }) => {
        skip(!hasV6, NO_V6_REASON);
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const { s, port } = dualStack();
        const to = addr6(rx.port, MAPPED_LOOPBACK);
        expect(await ws.WSASendTo(s, bufs("to ", "v4"), 2, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
        const [d] = await rx.waitFor(1);
        expect(d?.msg.toString()).toBe("to v4");
        expect(d?.rinfo.address).toBe(LOOPBACK4);
        expect(d?.rinfo.port).toBe(port);
      },
    );

    it("an implicitly bound dual-stack socket (first send) reaches IPv4 too", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp6();
      expect(ws.setsockopt(s, ws.IPPROTO_IPV6, ws.IPV6_V6ONLY, 0, 4)).toBe(0);
      const to = addr6(rx.port, MAPPED_LOOPBACK);
      expect(await ws.sendto(s, Buffer.from("implicit"), 8, 0, to, ws.sizeof(to))).toBe(8);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.toString()).toBe("implicit");
    });

    it("an IPv4 sender reads back as ::ffff:127.0.0.1 in a SOCKADDR_IN6 (lpFromlen 28)", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const peer = await openPeer(onTestFinished);
      const { s, port } = dualStack();
      await peer.send("from v4", port);
      const buf = Buffer.alloc(32);
      const got = ref();
      const from: Partial<ws.SOCKADDR_IN6> & { sin_family?: unknown } = {};
      const fromlen = ref(28);
      expect(await ws.WSARecvFrom(s, [{ len: 32, buf }], 1, got, ref(), from, fromlen, null, null)).toBe(0);
      expect(buf.subarray(0, got.value).toString()).toBe("from v4");
      expect(fromlen.value).toBe(28);
      expect(from.sin6_family).toBe(ws.AF_INET6);
      expect([...(from.sin6_addr as Uint8Array)]).toEqual(MAPPED_LOOPBACK_BYTES);
      expect(ws.ntohs(from.sin6_port ?? 0)).toBe(peer.port);
    });

    it(
      "on an IPv6-only socket a v4-mapped destination fails with WSAEADDRNOTAVAIL; nothing is sent",
      T,
      async ({ onTestFinished, skip }) => {
        skip(!hasV6, NO_V6_REASON);
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp6();
        const to = addr6(rx.port, MAPPED_LOOPBACK);
        expectFails(
          await ws.WSASendTo(s, bufs("never"), 1, ref(), 0, to, ws.sizeof(to), null, null),
          ws.WSAEADDRNOTAVAIL,
          "blocking",
        );
        const ov = new ws.WSAOVERLAPPED();
        expectFails(ws.WSASendTo(s, bufs("never"), 1, null, 0, to, ws.sizeof(to), ov, null), ws.WSAEADDRNOTAVAIL, "overlapped");
        expectFails(ws.connect(s, to, ws.sizeof(to)), ws.WSAEADDRNOTAVAIL, "connect");
        await rx.settle(50);
        expect(rx.got).toEqual([]);
      },
    );

    it("a SOCKADDR_IN on an AF_INET6 socket stays WSAEAFNOSUPPORT, dual-stack or not", T, async ({ skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const { s } = dualStack();
      const to = addr4(9);
      expectFails(await ws.WSASendTo(s, bufs("x"), 1, ref(), 0, to, ws.sizeof(to), null, null), ws.WSAEAFNOSUPPORT, "WSASendTo");
    });
  });

  describe("idiomatic API", () => {
    it("ipv6Only: false reaches IPv4 peers; their datagrams come from ::ffff:127.0.0.1", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { family: "ipv6", ipv6Only: false, bind: { address: "::", port: 0 } });
      expect((await sock.sendTo(Buffer.from("hi v4"), { address: MAPPED_LOOPBACK, port: rx.port })).bytesSent).toBe(5);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.toString()).toBe("hi v4");
      await peer.send("back", sock.localAddress()?.port ?? 0);
      const buf = Buffer.alloc(16);
      const r = await sock.receive(buf);
      expect(buf.subarray(0, r.bytesReceived).toString()).toBe("back");
      expect(r.from).toEqual({ address: MAPPED_LOOPBACK, port: peer.port, family: "IPv6" });
    });

    it("by default (IPv6-only) a v4-mapped destination rejects with WSAEADDRNOTAVAIL", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const sock = openIdiomatic(backend, onTestFinished, { family: "ipv6" });
      const e = await sock.sendTo(Buffer.from("x"), { address: MAPPED_LOOPBACK, port: 9 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ws.WSAError);
      expect((e as ws.WSAError).code).toBe("WSAEADDRNOTAVAIL");
    });

    it("ipv6Only on an IPv4 socket is WSAEINVAL", () => {
      let e: unknown;
      try {
        ws.openUdpSocket({ backend: backend.name, family: "ipv4", ipv6Only: false }).close();
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(ws.WSAError);
      expect((e as ws.WSAError).code).toBe("WSAEINVAL");
    });
  });
});
