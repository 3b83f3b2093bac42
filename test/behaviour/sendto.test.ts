/**
 * sendto and send: the single-buffer calls return a Promise of the byte count (or
 * SOCKET_ERROR), and WSAGetLastError() read after it settles is 0 on success.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, expectNothingSentBefore, openReceiver, T, udp4, useFacade, ws } from "../helpers.js";

describe.each(BACKENDS)("sendto on $name", (backend) => {
  useFacade(backend);

  it("sendto returns a Promise of the number of bytes sent", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    ws.WSASetLastError(777);
    const result = ws.sendto(s, Buffer.from("hello world"), 11, 0, to, ws.sizeof(to));
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(11);
    expect(ws.WSAGetLastError()).toBe(0);
    const [d] = await rx.waitFor(1);
    expect(d?.msg.toString()).toBe("hello world");
  });

  it("sendto sends only len bytes of the buffer", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    expect(await ws.sendto(s, Buffer.from("abcdefgh"), 3, 0, to, ws.sizeof(to))).toBe(3);
    const [d] = await rx.waitFor(1);
    expect(d?.msg.toString()).toBe("abc");
  });

  it("send on a connected socket returns the byte count", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    expect(ws.connect(s, to, ws.sizeof(to))).toBe(0);
    expect(await ws.send(s, Buffer.from("peer"), 4, 0)).toBe(4);
    const [d] = await rx.waitFor(1);
    expect(d?.msg.toString()).toBe("peer");
  });

  it("sendto errors resolve to SOCKET_ERROR with the Winsock code, and send nothing", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    expect(await ws.sendto(s, Buffer.from("abc"), 4, 0, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
    expect(await ws.sendto(s, Buffer.from("abc"), 3, 0, null, 0)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEDESTADDRREQ);
    expect(await ws.sendto(s, Buffer.from("abc"), 3, ws.MSG_OOB, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEOPNOTSUPP);
    expect(await ws.sendto(s, Buffer.alloc(65508), 65508, 0, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEMSGSIZE);
    await expectNothingSentBefore(s, rx, to);
  });
});
