import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import {
  expectWSAError,
  hasV6,
  LOOPBACK4,
  LOOPBACK6,
  NO_V6_REASON,
  openIdiomatic,
  openPeer,
  seq,
  sleep,
  T,
  type ws,
} from "../helpers.js";

/** Settles with `p`'s value, or with "timed out" after `ms`. */
async function within<R>(p: Promise<R>, ms: number): Promise<R | "timed out"> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    p,
    new Promise<"timed out">((resolve) => {
      timer = setTimeout(() => resolve("timed out"), ms);
    }),
  ]);
  clearTimeout(timer);
  return r;
}

const N = 20;

describe.each(BACKENDS)("async iterator on $name", (backend) => {
  it(
    `for await yields ${N} datagrams in order, each its own Buffer, with the sender; ends on close()`,
    T,
    async ({ onTestFinished }) => {
      const a = await openPeer(onTestFinished);
      const b = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const seen: ws.ReceivedDatagram[] = [];
      const loop = (async () => {
        for await (const d of sock) {
          seen.push(d);
          if (seen.length === N) sock.close();
        }
        return "ended";
      })();
      for (let i = 0; i < N; i++) await (i % 2 === 0 ? a : b).send(seq(i, i), port);
      expect(await within(loop, 5000)).toBe("ended");
      // Read after the loop: each datagram kept its own bytes (no view of a reused buffer).
      expect(seen.map((d) => d.data.readUInt32BE(0))).toEqual([...Array(N).keys()]);
      for (const [i, d] of seen.entries()) {
        expect(d.data.byteLength, `datagram ${i}`).toBe(4 + i);
        expect(d.truncated).toBe(false);
        expect(d.from).toEqual({ address: LOOPBACK4, port: (i % 2 === 0 ? a : b).port, family: "IPv4" });
      }
    },
  );

  it("datagrams already queued before the loop starts come first, in order", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished);
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    for (let i = 0; i < 5; i++) await peer.send(seq(i), port);
    await sleep(50);
    const got: number[] = [];
    for await (const d of sock.datagrams({ maxSize: 64 })) {
      got.push(d.data.readUInt32BE(0));
      if (got.length === 5) break;
    }
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it("break leaves no receive behind: the next datagram goes to the next receive", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished);
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    await peer.send("first", port);
    for await (const d of sock) {
      expect(d.data.toString()).toBe("first");
      break;
    }
    await peer.send("second", port);
    const buf = Buffer.alloc(16);
    const r = await within(sock.receive(buf), 3000);
    expect(r).not.toBe("timed out");
    expect(buf.subarray(0, 6).toString()).toBe("second");
  });

  it("an aborted signal ends datagrams() with WSA_OPERATION_ABORTED; the socket stays usable", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished);
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    const controller = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const d of sock.datagrams({ signal: controller.signal })) {
        seen.push(d.data.toString());
        if (seen.length === 1) setTimeout(() => controller.abort(new Error("enough")), 20);
      }
      return "ended without error";
    })().catch((e: unknown) => e);
    await peer.send("one", port);
    const e = await within(loop, 5000);
    expectWSAError(e, "WSA_OPERATION_ABORTED", "receive");
    expect(seen).toEqual(["one"]);
    const buf = Buffer.alloc(8);
    const next = sock.receive(buf);
    await peer.send("two", port);
    expect((await next).bytesReceived).toBe(3);
  });

  it("an already-aborted signal: datagrams() throws WSA_OPERATION_ABORTED at the first step", T, async ({ onTestFinished }) => {
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const it = sock.datagrams({ signal: AbortSignal.abort() });
    const e = await it.next().catch((x: unknown) => x);
    expectWSAError(e, "WSA_OPERATION_ABORTED", "receive");
  });

  it("a socket closed before the loop: the loop ends at once", T, async ({ onTestFinished }) => {
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    sock.close();
    const loop = (async () => {
      for await (const _ of sock) return "yielded";
      return "ended";
    })();
    expect(await within(loop, 3000)).toBe("ended");
  });

  it("IPv6: the source is ::1, family IPv6", T, async ({ onTestFinished, skip }) => {
    skip(!hasV6, NO_V6_REASON);
    const peer = await openPeer(onTestFinished, "udp6");
    const sock = openIdiomatic(backend, onTestFinished, { family: "ipv6", bind: { address: LOOPBACK6, port: 0 } });
    await peer.send("six", sock.localAddress()?.port ?? 0);
    for await (const d of sock) {
      expect(d.from).toEqual({ address: LOOPBACK6, port: peer.port, family: "IPv6" });
      expect(d.data.toString()).toBe("six");
      break;
    }
  });
});
