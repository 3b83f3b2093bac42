/**
 * WSANOTINITIALISED: before WSAStartup (this file's module state has never been started
 * when the first test runs) and after the last WSACleanup, every socket call fails with
 * WSANOTINITIALISED and nothing is sent. This file manages WSAStartup/WSACleanup itself.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bufs, expectFails, LOOPBACK4, openReceiver, ref, T, ws } from "../helpers.js";
import { expectSendToFails, MODES } from "./send-errors.js";

/** The socket calls that need WSAStartup; each must fail with WSANOTINITIALISED. */
async function expectEveryCallNotInitialised(s: number, to: ws.SOCKADDR_IN): Promise<void> {
  expect(ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED)).toBe(ws.INVALID_SOCKET);
  expect(ws.WSAGetLastError()).toBe(ws.WSANOTINITIALISED);
  expect(ws.socket(ws.AF_INET6, ws.SOCK_DGRAM, 0)).toBe(ws.INVALID_SOCKET);
  expect(ws.WSAGetLastError()).toBe(ws.WSANOTINITIALISED);
  for (const mode of MODES) await expectSendToFails(mode, s, to, ws.WSANOTINITIALISED);
  expectFails(await ws.WSASend(s, bufs("x"), 1, ref(), 0, null, null), ws.WSANOTINITIALISED, "WSASend");
  expect(await ws.sendto(s, Buffer.from("x"), 1, 0, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
  expect(ws.WSAGetLastError()).toBe(ws.WSANOTINITIALISED);
  const local = addr4(0);
  expectFails(ws.bind(s, local, ws.sizeof(local)), ws.WSANOTINITIALISED, "bind");
  expectFails(ws.connect(s, to, ws.sizeof(to)), ws.WSANOTINITIALISED, "connect");
  expectFails(ws.getsockname(s, {}, ref(16)), ws.WSANOTINITIALISED, "getsockname");
  expectFails(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_SNDBUF, 1 << 16, 4), ws.WSANOTINITIALISED, "setsockopt");
  expectFails(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_MAX_MSG_SIZE, ref(), ref(4)), ws.WSANOTINITIALISED, "getsockopt");
  expectFails(ws.shutdown(s, ws.SD_SEND), ws.WSANOTINITIALISED, "shutdown");
  expectFails(ws.closesocket(s), ws.WSANOTINITIALISED, "closesocket");
  expectFails(ws.WSACleanup(), ws.WSANOTINITIALISED, "WSACleanup");
}

// Runs first: this file's module instance of the facade has never been started.
it(
  "before any WSAStartup (this module was never started) every socket call fails with WSANOTINITIALISED and nothing is sent",
  T,
  async ({ onTestFinished }) => {
    expect(ws.backendName()).toBe("none");
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    await expectEveryCallNotInitialised(0x100, addr4(rx.port));
    await rx.settle(50);
    expect(rx.got).toHaveLength(0);
  },
);

describe.each(BACKENDS)("WSANOTINITIALISED on $name", (backend) => {
  it(
    "after the last WSACleanup, a socket handle from before fails with WSANOTINITIALISED and nothing is sent",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      process.env.WSASENDTO_BACKEND = backend.name;
      expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(0);
      expect(ws.backendName()).toBe(backend.name);
      const s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
      expect(s).not.toBe(ws.INVALID_SOCKET);
      const to = addr4(rx.port);
      expect(await ws.WSASendTo(s, bufs("started"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
      await rx.waitFor(1);
      expect(ws.WSACleanup()).toBe(0);
      expect(ws.backendName()).toBe("none");
      await expectEveryCallNotInitialised(s, to);
      await rx.settle(50);
      expect(rx.texts()).toEqual(["started"]);
    },
  );

  it("the idiomatic API does not need WSAStartup", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = ws.openUdpSocket({ backend: backend.name });
    onTestFinished(() => sock.close());
    expect((await sock.sendTo(Buffer.from("free"), { address: LOOPBACK4, port: rx.port })).bytesSent).toBe(4);
    await rx.waitFor(1);
    expect(rx.texts()).toEqual(["free"]);
    expectFails(ws.WSACleanup(), ws.WSANOTINITIALISED, "WSACleanup");
  });
});
