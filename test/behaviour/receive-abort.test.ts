import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { expectWSAError, LOOPBACK4, openIdiomatic, openPeer, sleep, T, type ws } from "../helpers.js";

describe.each(BACKENDS)("AbortSignal on receives on $name", (backend) => {
  it(
    "aborting a waiting receive rejects it with WSA_OPERATION_ABORTED; the next datagram goes to the next receive",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const controller = new AbortController();
      const cancelled = Buffer.alloc(16);
      const outcome = sock.receive(cancelled, { signal: controller.signal }).catch((e: unknown) => e);
      await sleep(30);
      const reason = new Error("gave up");
      controller.abort(reason);
      const e = await outcome;
      expectWSAError(e, "WSA_OPERATION_ABORTED", "receive");
      expect((e as ws.WSAError).cause).toBe(reason);
      const buf = Buffer.alloc(16);
      const next = sock.receive(buf);
      await peer.send("for the next", port);
      const r = await next;
      expect(buf.subarray(0, r.bytesReceived).toString()).toBe("for the next");
      expect(cancelled.every((b) => b === 0)).toBe(true);
    },
  );

  it(
    "an already-aborted signal rejects at once with WSA_OPERATION_ABORTED and takes no datagram",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      await peer.send("keep", port);
      // The datagram is there: a peek sees it and leaves it.
      expect((await sock.receive(Buffer.alloc(8), { peek: true })).bytesReceived).toBe(4);
      const reason = new Error("not now");
      const buf = Buffer.alloc(8);
      const e = await sock.receive(buf, { signal: AbortSignal.abort(reason) }).catch((x: unknown) => x);
      expectWSAError(e, "WSA_OPERATION_ABORTED", "receive");
      expect((e as ws.WSAError).cause).toBe(reason);
      expect(buf.every((b) => b === 0)).toBe(true);
      const r = await sock.receive(buf);
      expect(buf.subarray(0, r.bytesReceived).toString()).toBe("keep");
    },
  );

  it(
    "one signal shared by several waiting receives cancels them all; other receives keep waiting",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
      const port = sock.localAddress()?.port ?? 0;
      const controller = new AbortController();
      const shared = [0, 1, 2].map(() => sock.receive(Buffer.alloc(8), { signal: controller.signal }).catch((e: unknown) => e));
      const own = Buffer.alloc(8);
      const unaffected = sock.receive(own);
      controller.abort();
      for (const e of await Promise.all(shared)) expectWSAError(e, "WSA_OPERATION_ABORTED", "receive");
      await peer.send("mine", port);
      expect((await unaffected).bytesReceived).toBe(4);
      expect(own.subarray(0, 4).toString()).toBe("mine");
    },
  );

  it("aborting after the receive completed changes nothing", T, async ({ onTestFinished }) => {
    const peer = await openPeer(onTestFinished);
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = sock.localAddress()?.port ?? 0;
    const controller = new AbortController();
    const buf = Buffer.alloc(8);
    const pending = sock.receive(buf, { signal: controller.signal });
    await peer.send("done", port);
    const r = await pending;
    controller.abort();
    expect(r.bytesReceived).toBe(4);
    // The signal, now aborted, does not reach a later receive that does not use it.
    const later = sock.receive(buf);
    await peer.send("later", port);
    expect((await later).bytesReceived).toBe(5);
  });

  it("AbortSignal.timeout ends a receive that nothing answers", T, async ({ onTestFinished }) => {
    const sock = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const started = Date.now();
    const e = await sock.receive(Buffer.alloc(8), { signal: AbortSignal.timeout(100) }).catch((x: unknown) => x);
    expectWSAError(e, "WSA_OPERATION_ABORTED", "receive");
    expect((e as ws.WSAError).cause).toBeInstanceOf(DOMException);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});
