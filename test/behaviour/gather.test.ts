/**
 * Gather: N WSABUFs (N buffers) become ONE datagram; only `len` bytes of each are sent;
 * the WSABUF array is captured at the call; any ArrayBufferView sends its own bytes.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  addr4,
  bufs,
  expectStarted,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  ref,
  T,
  udp4,
  useFacade,
  waitAll,
  ws,
} from "../helpers.js";

/** A DataView and a Uint16Array over bytes whose values are known, with byte offsets. */
function otherViews(): { dv: DataView; u16: Uint16Array; expected: Buffer } {
  const ab = new ArrayBuffer(16);
  const dv = new DataView(ab, 2, 4);
  dv.setUint32(0, 0xdeadbeef); // big-endian: de ad be ef
  const u16 = new Uint16Array(ab, 8, 2);
  u16[0] = 0x0102;
  u16[1] = 0x0304;
  // The bytes of the Uint16Array are in the host's order: read them back from memory.
  const expected = Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef]), Buffer.from(ab, 8, 4)]);
  return { dv, u16, expected };
}

describe.each(BACKENDS)("gather on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it("three WSABUFs become one datagram (non-overlapped)", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const sent = ref();
      expect(await ws.WSASendTo(s, bufs("head|", "body|", "tail"), 3, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(14);
      await rx.waitFor(1);
      await rx.settle(30);
      expect(rx.texts()).toEqual(["head|body|tail"]);
    });

    it("five WSABUFs become one datagram (overlapped with an event)", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      expectStarted(ws.WSASendTo(s, bufs("a", "bb", "ccc", "dddd", "eeeee"), 5, null, 0, to, ws.sizeof(to), ov, null), backend);
      await waitAll([ov.hEvent]);
      const n = ref();
      expect(ws.WSAGetOverlappedResult(s, ov, n, false, ref())).toBe(true);
      expect(n.value).toBe(15);
      await rx.waitFor(1);
      await rx.settle(30);
      expect(rx.texts()).toEqual(["abbcccddddeeeee"]);
    });

    it("only the first len bytes of each WSABUF are sent (len 0 sends nothing of it)", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const wsabufs: ws.WSABUF[] = [
        { len: 3, buf: Buffer.from("abcdef") },
        { len: 0, buf: Buffer.from("zzz") },
        { len: 2, buf: Buffer.from("xyz") },
      ];
      const sent = ref();
      expect(await ws.WSASendTo(s, wsabufs, 3, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(5);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.toString()).toBe("abcxy");
    });

    it("only dwBufferCount WSABUFs of a longer array are sent", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const sent = ref();
      expect(await ws.WSASendTo(s, bufs("one", "two", "three"), 2, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(6);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.toString()).toBe("onetwo");
    });

    it("a single WSABUF of len 0 sends an empty datagram", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const sent = ref(99);
      expect(await ws.WSASendTo(s, [{ len: 0, buf: Buffer.from("ignored") }], 1, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(0);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.length).toBe(0);
    });

    it(
      "the WSABUF array is captured at the call: changing the array or its WSABUFs afterwards changes nothing",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const s = udp4();
        const to = addr4(rx.port);
        const wsabufs = bufs("one", "two", "three");
        const ov = new ws.WSAOVERLAPPED();
        ov.hEvent = ws.WSACreateEvent();
        expectStarted(ws.WSASendTo(s, wsabufs, 3, null, 0, to, ws.sizeof(to), ov, null), backend);
        // Everything a C caller could reuse once the call returned: its stack array and structures.
        const second = wsabufs[1] as ws.WSABUF;
        wsabufs[0] = { len: 4, buf: Buffer.from("XXXX") };
        second.len = 1;
        second.buf = Buffer.from("Y");
        wsabufs.push({ len: 3, buf: Buffer.from("ZZZ") });
        wsabufs.splice(2, 1);
        await waitAll([ov.hEvent]);
        const n = ref();
        expect(ws.WSAGetOverlappedResult(s, ov, n, false, ref())).toBe(true);
        expect(n.value).toBe(11);
        await rx.waitFor(1);
        await rx.settle(30);
        expect(rx.texts()).toEqual(["onetwothree"]);
      },
    );

    it("views with a byteOffset send their own bytes, not their buffer's", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const backing = Buffer.from("0123456789abcdef");
      const a = backing.subarray(2, 5); // "234"
      const b = new Uint8Array(backing.buffer, backing.byteOffset + 10, 4); // "abcd"
      const sent = ref();
      expect(
        await ws.WSASendTo(
          s,
          [
            { len: 3, buf: a },
            { len: 2, buf: b },
          ],
          2,
          sent,
          0,
          to,
          ws.sizeof(to),
          null,
          null,
        ),
      ).toBe(0);
      expect(sent.value).toBe(5);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.toString()).toBe("234ab");
    });

    it("a DataView and a Uint16Array send their raw bytes (len counts bytes)", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const { dv, u16, expected } = otherViews();
      const wsabufs: ws.WSABUF[] = [
        { len: 4, buf: dv as unknown as Uint8Array },
        { len: 4, buf: u16 as unknown as Uint8Array },
      ];
      const sent = ref();
      expect(await ws.WSASendTo(s, wsabufs, 2, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
      expect(sent.value).toBe(8);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.equals(expected)).toBe(true);
    });
  });

  describe("idiomatic API", () => {
    it("an array of buffers becomes one datagram", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const r = await sock.sendTo([Buffer.from("head|"), Buffer.from("body|"), Buffer.from("tail")], {
        address: LOOPBACK4,
        port: rx.port,
      });
      expect(r.bytesSent).toBe(14);
      await rx.waitFor(1);
      await rx.settle(30);
      expect(rx.texts()).toEqual(["head|body|tail"]);
    });

    it("a single Uint8Array is one datagram", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const r = await sock.sendTo(new Uint8Array([1, 2, 3]), { address: LOOPBACK4, port: rx.port });
      expect(r.bytesSent).toBe(3);
      const [d] = await rx.waitFor(1);
      expect([...(d?.msg ?? [])]).toEqual([1, 2, 3]);
    });

    it("the buffer array is captured at the call: changing it afterwards changes nothing", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const parts: Uint8Array[] = [Buffer.from("one"), Buffer.from("two")];
      const op = sock.sendToOverlapped(parts, { address: LOOPBACK4, port: rx.port });
      parts[0] = Buffer.from("XXXX");
      parts.push(Buffer.from("YYY"));
      const r = await op.result;
      expect(r.bytesSent).toBe(6);
      await rx.waitFor(1);
      await rx.settle(30);
      expect(rx.texts()).toEqual(["onetwo"]);
    });

    it("views with a byteOffset, a DataView and a Uint16Array send their own bytes", T, async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const backing = Buffer.from("0123456789");
      const { dv, u16, expected } = otherViews();
      const parts = [backing.subarray(7, 9), dv, u16] as unknown as Uint8Array[];
      const r = await sock.sendTo(parts, { address: LOOPBACK4, port: rx.port });
      expect(r.bytesSent).toBe(10);
      const [d] = await rx.waitFor(1);
      expect(d?.msg.equals(Buffer.concat([Buffer.from("78"), expected]))).toBe(true);
    });
  });
});
