/**
 * connect to an AF_UNSPEC address dissolves a datagram socket's association, as on Windows:
 * getpeername then fails with WSAENOTCONN, WSASend with WSAENOTCONN, and datagrams from
 * anyone are received again.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  addr6,
  bound,
  bufs,
  expectFails,
  hasV6,
  NO_V6_REASON,
  openPeer,
  ref,
  T,
  udp6,
  useFacade,
  ws,
} from "../helpers.js";

/** Receives one datagram (blocking recvfrom); its text and source port. */
async function receiveOne(s: number): Promise<{ text: string; port: number }> {
  const buf = Buffer.alloc(64);
  const from: Partial<ws.SOCKADDR_IN> = {};
  const n = await ws.recvfrom(s, buf, buf.length, 0, from, ref(16));
  expect(n, `recvfrom: ${ws.WSAGetLastError()}`).toBeGreaterThanOrEqual(0);
  return { text: buf.subarray(0, n).toString(), port: ws.ntohs(from.sin_port ?? 0) };
}

describe.each(BACKENDS)("connect(AF_UNSPEC) on $name", (backend) => {
  useFacade(backend);

  const shapes: readonly [string, () => object][] = [
    ["{ sa_family: AF_UNSPEC }", () => ({ sa_family: ws.AF_UNSPEC })],
    ["a SOCKADDR_IN with sin_family AF_UNSPEC", () => ({ sin_family: ws.AF_UNSPEC, sin_port: 0, sin_addr: { s_addr: 0 } })],
  ];
  for (const [what, unspec] of shapes) {
    it(
      `${what} dissolves the association: getpeername and WSASend fail with WSAENOTCONN, anyone is received again`,
      T,
      async ({ onTestFinished }) => {
        const a = await openPeer(onTestFinished);
        const b = await openPeer(onTestFinished);
        const { s, port } = bound(4);
        const peer = addr4(a.port);
        expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
        const name: Partial<ws.SOCKADDR_IN> = {};
        expect(ws.getpeername(s, name, ref(16))).toBe(0);
        expect(ws.ntohs(name.sin_port ?? 0)).toBe(a.port);
        // Connected: another sender's datagram is dropped, the peer's is received.
        await b.send("from b, dropped", port);
        await a.send("from a", port);
        expect(await receiveOne(s)).toEqual({ text: "from a", port: a.port });

        expect(ws.connect(s, unspec() as unknown as ws.SOCKADDR, 16)).toBe(0);
        expect(ws.WSAGetLastError()).toBe(0);
        expectFails(ws.getpeername(s, {}, ref(16)), ws.WSAENOTCONN, "getpeername");
        expectFails(await ws.WSASend(s, bufs("x"), 1, ref(), 0, null, null), ws.WSAENOTCONN, "WSASend");
        await b.send("from b, received", port);
        expect(await receiveOne(s)).toEqual({ text: "from b, received", port: b.port });
      },
    );
  }

  it("namelen below sizeof(SOCKADDR) (16) is WSAEFAULT, and the association stays", T, async ({ onTestFinished }) => {
    const a = await openPeer(onTestFinished);
    const { s } = bound(4);
    const peer = addr4(a.port);
    expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
    expectFails(ws.connect(s, { sa_family: ws.AF_UNSPEC } as unknown as ws.SOCKADDR, 2), ws.WSAEFAULT, "connect");
    expect(ws.getpeername(s, {}, ref(16))).toBe(0);
  });

  it("dissolves an IPv6 socket's association too", T, async ({ onTestFinished, skip }) => {
    skip(!hasV6, NO_V6_REASON);
    const a = await openPeer(onTestFinished, "udp6");
    const s = udp6();
    const peer = addr6(a.port);
    expect(ws.connect(s, peer, ws.sizeof(peer))).toBe(0);
    expect(ws.getpeername(s, {}, ref(28))).toBe(0);
    expect(ws.connect(s, { sa_family: ws.AF_UNSPEC } as unknown as ws.SOCKADDR, 16)).toBe(0);
    expectFails(ws.getpeername(s, {}, ref(28)), ws.WSAENOTCONN, "getpeername");
  });
});
