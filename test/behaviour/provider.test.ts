/**
 * WSASocket's lpProtocolInfo chooses the provider, as in Winsock: null for the backend
 * WSAStartup chose, `{ szProtocol }` for a backend by name. Each backend of the registry
 * is asked for while every other one is the started one.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, type BackendUnderTest, completesDuringCall } from "../backends.js";
import { addr4, bufs, openReceiver, T, useFacade, ws } from "../helpers.js";

describe.each(BACKENDS)("WSASocket provider choice, started on $name", (started: BackendUnderTest) => {
  useFacade(started);

  it.for(BACKENDS.map((b) => ({ name: b.name, asked: b })))(
    "{ szProtocol: $name } opens a socket of that backend",
    T,
    async ({ asked }, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, { szProtocol: asked.name }, 0, ws.WSA_FLAG_OVERLAPPED);
      expect(s).not.toBe(ws.INVALID_SOCKET);
      onTestFinished(() => void ws.closesocket(s));
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      const rc = ws.WSASendTo(s, bufs("which"), 1, null, 0, to, ws.sizeof(to), ov, null);
      // The backend shows in how the send starts: only one with immediate completion
      // returns 0 (on loopback the kernel takes the datagram at once).
      if (completesDuringCall(asked)) expect(rc).toBe(0);
      else {
        expect(rc).toBe(ws.SOCKET_ERROR);
        expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      }
      await rx.waitFor(1);
      expect(rx.texts()).toEqual(["which"]);
    },
  );

  it("an unknown provider, or 'auto', is WSAEINVALIDPROVIDER; a malformed one WSAEINVAL", () => {
    for (const info of [{ szProtocol: "carrier-pigeon" }, { szProtocol: "auto" }, { szProtocol: "__proto__" }]) {
      expect(ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, 0, info, 0, ws.WSA_FLAG_OVERLAPPED)).toBe(ws.INVALID_SOCKET);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEINVALIDPROVIDER);
    }
    const malformed = { szProtocol: 7 } as unknown as ws.WSAPROTOCOL_INFO;
    expect(ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, 0, malformed, 0, ws.WSA_FLAG_OVERLAPPED)).toBe(ws.INVALID_SOCKET);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
  });
});
