/**
 * WSAESHUTDOWN: after shutdown(SD_SEND) or shutdown(SD_BOTH) sends fail at once and
 * nothing is sent; shutdown(SD_RECEIVE) does not stop sending.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bufs, expectFails, openReceiver, ref, T, udp4, useFacade, ws } from "../helpers.js";
import { expectCallFails, expectSendToFails, looseWSASend, MODES, validArgs } from "./send-errors.js";

describe.each(BACKENDS)("shutdown on $name", (backend) => {
  useFacade(backend);
  const table = [
    { how: "SD_SEND", value: ws.SD_SEND },
    { how: "SD_BOTH", value: ws.SD_BOTH },
  ].flatMap((h) => MODES.map((mode) => ({ ...h, mode })));

  it.for(table)(
    "after shutdown($how) WSASendTo ($mode) fails with WSAESHUTDOWN and sends nothing",
    T,
    async ({ value, mode }, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      expect(await ws.WSASendTo(s, bufs("before"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(ws.shutdown(s, value)).toBe(0);
      await expectSendToFails(mode, s, to, ws.WSAESHUTDOWN);
      await rx.waitFor(1);
      await rx.settle(50);
      expect(rx.texts()).toEqual(["before"]);
    },
  );

  it("after shutdown(SD_SEND) WSASend and sendto on a connected socket fail with WSAESHUTDOWN", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    expect(ws.connect(s, to, ws.sizeof(to))).toBe(0);
    expect(ws.shutdown(s, ws.SD_SEND)).toBe(0);
    const { args, watch } = validArgs("event", s, null);
    await expectCallFails(args, watch, ws.WSAESHUTDOWN, looseWSASend);
    expect(await ws.sendto(s, Buffer.from("x"), 1, 0, to, ws.sizeof(to))).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAESHUTDOWN);
    await rx.settle(50);
    expect(rx.got).toHaveLength(0);
  });

  it("shutdown(SD_RECEIVE) leaves sending alone", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    expect(ws.shutdown(s, ws.SD_RECEIVE)).toBe(0);
    const sent = ref();
    expect(await ws.WSASendTo(s, bufs("still", " sending"), 2, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
    expect(sent.value).toBe(13);
    await rx.waitFor(1);
    expect(rx.texts()).toEqual(["still sending"]);
  });

  it("shutdown with an unknown how fails with WSAEINVAL and changes nothing", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    expectFails(ws.shutdown(s, 3), ws.WSAEINVAL, "shutdown(3)");
    expectFails(ws.shutdown(s, -1), ws.WSAEINVAL, "shutdown(-1)");
    expect(await ws.WSASendTo(s, bufs("ok"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
    await rx.waitFor(1);
    expect(rx.texts()).toEqual(["ok"]);
  });
});
