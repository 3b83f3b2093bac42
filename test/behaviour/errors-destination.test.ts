/**
 * Destination errors: WSAEDESTADDRREQ (no lpTo, not connected), WSAEADDRNOTAVAIL (the
 * wildcard address, port 0), WSAEAFNOSUPPORT (an address of the other family),
 * WSAEACCES (the broadcast address without SO_BROADCAST). Nothing is sent.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  addr6,
  expectNothingSentBefore,
  expectNothingSentBeforeIdiomatic,
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
import { expectIdiomaticFails, expectSendToFails, MODES } from "./send-errors.js";

describe.each(BACKENDS)("destination errors on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it.for(MODES)("no lpTo on an unconnected socket (%s): WSAEDESTADDRREQ", T, async (mode, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      await expectSendToFails(mode, s, null, ws.WSAEDESTADDRREQ);
      await expectNothingSentBefore(s, rx, addr4(rx.port));
    });

    it.for(MODES)("0.0.0.0 and port 0 (%s): WSAEADDRNOTAVAIL", T, async (mode, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      await expectSendToFails(mode, s, addr4(rx.port, "0.0.0.0"), ws.WSAEADDRNOTAVAIL);
      await expectSendToFails(mode, s, addr4(0, LOOPBACK4), ws.WSAEADDRNOTAVAIL);
      await expectNothingSentBefore(s, rx, addr4(rx.port));
    });

    it.for(MODES)("an IPv6 destination on an IPv4 socket (%s): WSAEAFNOSUPPORT", T, async (mode, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      await expectSendToFails(mode, s, addr6(rx.port), ws.WSAEAFNOSUPPORT);
      await expectSendToFails(mode, s, addr6(rx.port, "::ffff:127.0.0.1"), ws.WSAEAFNOSUPPORT);
      await expectNothingSentBefore(s, rx, addr4(rx.port));
    });

    it.for(MODES)("an unknown sin_family (%s): WSAEAFNOSUPPORT", T, async (mode, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      await expectSendToFails(mode, s, to, ws.WSAEAFNOSUPPORT, { lpTo: { ...to, sin_family: 99 } });
      await expectNothingSentBefore(s, rx, to);
    });

    it.for(MODES)("255.255.255.255 without SO_BROADCAST (%s): WSAEACCES", T, async (mode, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const flag = ref(7);
      expect(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_BROADCAST, flag, ref(4))).toBe(0);
      expect(flag.value).toBe(0);
      await expectSendToFails(mode, s, addr4(rx.port, "255.255.255.255"), ws.WSAEACCES);
      await expectNothingSentBefore(s, rx, addr4(rx.port));
    });

    it.for(MODES)(
      "IPv6 socket (%s): :: and port 0 give WSAEADDRNOTAVAIL, an IPv4 destination WSAEAFNOSUPPORT",
      T,
      async (mode, { onTestFinished, skip }) => {
        skip(!hasV6, NO_V6_REASON);
        const rx = await openReceiver("udp6");
        onTestFinished(() => rx.close());
        const s = udp6();
        await expectSendToFails(mode, s, addr6(rx.port, "::"), ws.WSAEADDRNOTAVAIL);
        await expectSendToFails(mode, s, addr6(0), ws.WSAEADDRNOTAVAIL);
        await expectSendToFails(mode, s, addr4(rx.port), ws.WSAEAFNOSUPPORT);
        await expectNothingSentBefore(s, rx, addr6(rx.port));
      },
    );

    it("connect to an unusable peer fails with the same codes and leaves the socket unconnected", () => {
      const s = udp4();
      for (const [peer, code] of [
        [addr4(9, "0.0.0.0"), ws.WSAEADDRNOTAVAIL],
        [addr4(0), ws.WSAEADDRNOTAVAIL],
        [addr4(9, "255.255.255.255"), ws.WSAEACCES],
        [addr6(9), ws.WSAEAFNOSUPPORT],
      ] as const) {
        expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(code);
      }
      expect(ws.getpeername(s, {}, ref(16))).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAENOTCONN);
    });
  });

  describe("idiomatic API", () => {
    const cases: readonly { name: string; address: string; port?: number; code: ws.WSAErrorName }[] = [
      { name: "0.0.0.0", address: "0.0.0.0", code: "WSAEADDRNOTAVAIL" },
      { name: "port 0", address: LOOPBACK4, port: 0, code: "WSAEADDRNOTAVAIL" },
      { name: "a host name (no lookups)", address: "localhost", code: "WSAEADDRNOTAVAIL" },
      { name: "an IPv6 address on an IPv4 socket", address: LOOPBACK6, code: "WSAEAFNOSUPPORT" },
      { name: "255.255.255.255 without broadcast", address: "255.255.255.255", code: "WSAEACCES" },
    ];

    it.for(cases)("$name: $code, nothing sent", T, async ({ address, port, code }, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      await expectIdiomaticFails(sock, Buffer.from("x"), { address, port: port ?? rx.port }, code);
      await expectNothingSentBeforeIdiomatic(sock, rx);
    });

    it("IPv6 socket: :: gives WSAEADDRNOTAVAIL and an IPv4 address WSAEAFNOSUPPORT", T, async ({ onTestFinished, skip }) => {
      skip(!hasV6, NO_V6_REASON);
      const rx = await openReceiver("udp6");
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished, { family: "ipv6" });
      await expectIdiomaticFails(sock, Buffer.from("x"), { address: "::", port: rx.port }, "WSAEADDRNOTAVAIL");
      await expectIdiomaticFails(sock, Buffer.from("x"), { address: LOOPBACK4, port: rx.port }, "WSAEAFNOSUPPORT");
      await expectNothingSentBeforeIdiomatic(sock, rx, LOOPBACK6);
    });
  });
});
