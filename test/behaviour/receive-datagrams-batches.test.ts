/**
 * datagrams() taking every datagram waiting at once (native: receiveMany's recvmmsg; dgram:
 * receiveBuffers, node:dgram's own Buffers, not copied, and the datagrams of one turn of
 * Node's loop handed over together): what the loop sees must not change. Order across bursts
 * and batches, one datagram per item with its own bytes, truncation at maxSize, a break in
 * the middle of a batch, the turn taken with posted receives, close and abort while a batch
 * is held, SO_RCVBUF's drops.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { expectWSAError, LOOPBACK4, openIdiomatic, openPeer, seq, sleep, T, within } from "../helpers.js";

/**
 * Sends `n` datagrams numbered from `from` (`seq(i, pad)`), in one run, in order. The peers
 * are connected (openPeer's `connected`): on the Wine lane's throttled loopback node:dgram's
 * sends that wait are lost unless they name no destination (pendingSendsDelivered).
 */
async function burst(peer: { send(d: Uint8Array, port: number): Promise<void> }, port: number, from: number, n: number, pad = 0) {
  await Promise.all(Array.from({ length: n }, (_, k) => peer.send(seq(from + k, pad), port)));
}

describe.each(BACKENDS)("datagrams() in batches on $name", (backend) => {
  it("bursts while the loop waits: every datagram, in order, each its own Buffer", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished, "udp4", { connected: true });
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 }, receiveBufferSize: 1 << 20 });
    const port = sock.localAddress()?.port ?? 0;
    const N = 600;
    const seen: Buffer[] = [];
    const loop = (async () => {
      for await (const d of sock.datagrams({ maxSize: 256 })) {
        expect(d.truncated).toBe(false);
        expect(d.from).toEqual({ address: LOOPBACK4, port: peer.port, family: "IPv4" });
        seen.push(d.data);
        if (seen.length === N) break;
      }
      return "done";
    })();
    for (let i = 0; i < N; i += 100) {
      await burst(peer, port, i, 100, i % 7);
      await sleep(i % 200 === 0 ? 0 : 5);
    }
    expect(await within(loop, 8000)).toBe("done");
    // Read after the loop: no Buffer is a view of one reused for later datagrams.
    expect(seen.map((b) => b.readUInt32BE(0))).toEqual([...Array(N).keys()]);
    for (const [i, b] of seen.entries()) expect(b.length, `datagram ${i}`).toBe(4 + ((Math.floor(i / 100) * 100) % 7));
  });

  it("truncation at maxSize: larger datagrams are cut there (truncated), the others whole", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished, "udp4", { connected: true });
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    const sizes = [4, 16, 17, 1000, 16, 5];
    for (const [i, n] of sizes.entries()) await peer.send(seq(i, n - 4), port);
    await sleep(30);
    const got: { n: number; len: number; truncated: boolean }[] = [];
    for await (const d of sock.datagrams({ maxSize: 16 })) {
      got.push({ n: d.data.readUInt32BE(0), len: d.data.length, truncated: d.truncated });
      if (got.length === sizes.length) break;
    }
    expect(got).toEqual(sizes.map((n, i) => ({ n: i, len: Math.min(n, 16), truncated: n > 16 })));
  });

  it(
    "a break in the middle of a batch keeps the rest, in order, for receive() and the next loop",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished, "udp4", { connected: true });
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      await burst(peer, port, 0, 10, 60);
      await sleep(30);
      const first: number[] = [];
      for await (const d of sock.datagrams()) {
        first.push(d.data.readUInt32BE(0));
        if (first.length === 3) break;
      }
      expect(first).toEqual([0, 1, 2]);
      const buf = Buffer.alloc(128);
      const r = await sock.receive(buf);
      expect(buf.readUInt32BE(0)).toBe(3);
      expect(r.bytesReceived).toBe(64);
      // The next loop, with a smaller maxSize: the kept datagrams are cut as if read by it.
      const rest: { n: number; len: number; truncated: boolean }[] = [];
      const more = (async () => {
        for await (const d of sock.datagrams({ maxSize: 8 })) {
          rest.push({ n: d.data.readUInt32BE(0), len: d.data.length, truncated: d.truncated });
          if (rest.length === 8) break;
        }
      })();
      await sleep(10);
      await burst(peer, port, 10, 2, 0);
      await within(more, 5000);
      expect(rest).toEqual([
        ...[4, 5, 6, 7, 8, 9].map((n) => ({ n, len: 8, truncated: true })),
        { n: 10, len: 4, truncated: false },
        { n: 11, len: 4, truncated: false },
      ]);
    },
  );

  it("takes its turn with posted receives: a receive() posted first gets the first datagram", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished, "udp4", { connected: true });
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    const buf = Buffer.alloc(16);
    const posted = sock.receive(buf);
    const it = sock.datagrams();
    const a = it.next();
    const b = it.next();
    await burst(peer, port, 0, 3);
    await posted;
    expect(buf.readUInt32BE(0)).toBe(0);
    expect((await a).value?.data.readUInt32BE(0)).toBe(1);
    expect((await b).value?.data.readUInt32BE(0)).toBe(2);
    await it.return(undefined);
  });

  it("close while the loop waits, or holds a batch: it ends, nothing after the close", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished, "udp4", { connected: true });
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    const seen: number[] = [];
    const loop = (async () => {
      for await (const d of sock.datagrams()) {
        seen.push(d.data.readUInt32BE(0));
        if (seen.length === 2) sock.close();
      }
      return "ended";
    })();
    await burst(peer, port, 0, 20);
    expect(await within(loop, 5000)).toBe("ended");
    expect(seen.slice(0, 2)).toEqual([0, 1]);
    // What was taken before the close may still be handed out, in order; nothing else.
    expect(seen).toEqual([...Array(seen.length).keys()]);
    const idle = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const waiting = (async () => {
      for await (const _ of idle.datagrams()) return "yielded";
      return "ended";
    })();
    await sleep(20);
    idle.close();
    expect(await within(waiting, 3000)).toBe("ended");
  });

  it("abort while the loop waits after a burst: WSA_OPERATION_ABORTED, the rest kept", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished, "udp4", { connected: true });
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    const controller = new AbortController();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const d of sock.datagrams({ signal: controller.signal })) {
        seen.push(d.data.readUInt32BE(0));
        if (seen.length === 1) controller.abort(new Error("enough"));
      }
      return "ended without error";
    })().catch((e: unknown) => e);
    await burst(peer, port, 0, 5);
    expectWSAError(await within(loop, 5000), "WSA_OPERATION_ABORTED", "receive");
    expect(seen).toEqual([0]);
    // Nothing is lost: the others come to the next receives, in order.
    const rest: number[] = [];
    for await (const d of sock.datagrams()) {
      rest.push(d.data.readUInt32BE(0));
      if (rest.length === 4) break;
    }
    expect(rest).toEqual([1, 2, 3, 4]);
  });

  it("SO_RCVBUF: what waits past it is dropped and counted; received + drops = sent", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished, "udp4", { connected: true });
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 }, receiveBufferSize: 4096 });
    const port = sock.localAddress()?.port ?? 0;
    const N = 400;
    await burst(peer, port, 0, N, 996);
    await sleep(50);
    const got: number[] = [];
    const loop = (async () => {
      for await (const d of sock.datagrams()) got.push(d.data.readUInt32BE(0));
    })();
    await sleep(100);
    const drops = sock.drops;
    sock.close();
    await within(loop, 3000);
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual([...got].sort((x, y) => x - y));
    if (drops !== undefined) {
      expect(drops).toBeGreaterThan(0);
      expect(got.length + drops).toBe(N);
    }
  });
});
