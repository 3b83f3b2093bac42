/**
 * Send flags on a datagram socket: MSG_OOB, MSG_PARTIAL and unknown bits fail with
 * WSAEOPNOTSUPP and send nothing; MSG_DONTROUTE is accepted (reaching the kernel or
 * ignored, per the backend's deviations) and the datagram reaches loopback.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bufs,
  expectNothingSentBefore,
  expectNothingSentBeforeIdiomatic,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  ref,
  T,
  udp4,
  useFacade,
  ws,
} from "../helpers.js";
import { expectIdiomaticFails, expectSendToFails, MODES } from "./send-errors.js";

const BAD_FLAGS: readonly { name: string; flags: number }[] = [
  { name: "MSG_OOB", flags: ws.MSG_OOB },
  { name: "MSG_PARTIAL", flags: ws.MSG_PARTIAL },
  { name: "MSG_DONTROUTE | MSG_OOB", flags: ws.MSG_DONTROUTE | ws.MSG_OOB },
  { name: "unknown bit 0x10000", flags: 0x10000 },
  { name: "unknown bit 0x40000000", flags: 0x40000000 },
];

describe.each(BACKENDS)("send flags on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);
    const table = BAD_FLAGS.flatMap((f) => MODES.map((mode) => ({ ...f, mode })));

    it.for(table)("$name ($mode): WSAEOPNOTSUPP, nothing sent", T, async ({ flags, mode }, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      await expectSendToFails(mode, s, to, ws.WSAEOPNOTSUPP, { dwFlags: flags });
      await expectNothingSentBefore(s, rx, to);
    });

    it(
      backend.deviations.dontRouteReachesKernel
        ? "MSG_DONTROUTE reaches the kernel; loopback is on-link, so the datagram arrives"
        : "MSG_DONTROUTE is accepted and ignored; the datagram arrives",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const sent = ref();
        expect(await ws.WSASendTo(s, bufs("dont", "route"), 2, sent, ws.MSG_DONTROUTE, to, ws.sizeof(to), null, null)).toBe(0);
        expect(sent.value).toBe(9);
        expect(await ws.sendto(s, Buffer.from("dr2"), 3, ws.MSG_DONTROUTE, to, ws.sizeof(to))).toBe(3);
        await rx.waitFor(2);
        expect(rx.texts()).toEqual(["dontroute", "dr2"]);
      },
    );
  });

  describe("idiomatic API", () => {
    it.for(BAD_FLAGS)("$name: WSAEOPNOTSUPP thrown / rejected, nothing sent", T, async ({ flags }, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      await expectIdiomaticFails(sock, Buffer.from("x"), { address: LOOPBACK4, port: rx.port }, "WSAEOPNOTSUPP", { flags });
      await expectNothingSentBeforeIdiomatic(sock, rx);
    });

    it("MSG_DONTROUTE is accepted and the datagram arrives", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const r = await sock.sendTo(Buffer.from("dr"), { address: LOOPBACK4, port: rx.port }, { flags: ws.MSG_DONTROUTE });
      expect(r.bytesSent).toBe(2);
      await rx.waitFor(1);
      expect(rx.texts()).toEqual(["dr"]);
    });
  });
});
