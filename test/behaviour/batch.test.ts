/**
 * Batching beyond Winsock, in the idiomatic API: many gathered datagrams in one call
 * (`sendBatch`, one sendmmsg on the native backend), and runs of equal-size segments
 * (`sendSegments`, one UDP GSO send where the kernel has it).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, type BackendUnderTest, completesDuringCall } from "../backends.js";
import { expectWSAError, LOOPBACK4, openIdiomatic, openReceiver, seq, T, ws } from "../helpers.js";

describe.each(BACKENDS)("batches on $name", (backend: BackendUnderTest) => {
  it("sendBatch: 300 gathered datagrams leave in order, each with its own outcome", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    const to = { address: LOOPBACK4, port: rx.port };
    const n = 300;
    const datagrams = Array.from({ length: n }, (_, i) => ({ buffers: [seq(i), Buffer.from("|"), Buffer.alloc(i % 7, 1)], to }));
    const result = await sock.sendBatch(datagrams);
    expect(result.datagramsSent).toBe(n);
    expect(result.results).toHaveLength(n);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const r = result.results[i] as ws.SendResult;
      expect(r.bytesSent).toBe(5 + (i % 7));
      expect(r.completedSynchronously).toBe(completesDuringCall(backend));
      bytes += r.bytesSent;
    }
    expect(result.bytesSent).toBe(bytes);
    await rx.waitFor(n);
    expect(rx.got.map((d) => d.msg.readUInt32BE(0))).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("sendBatch checks every datagram first: one bad datagram sends none", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    const to = { address: LOOPBACK4, port: rx.port };
    const cases: [ws.Datagram[], ws.WSAErrorName][] = [
      [
        [
          { buffers: Buffer.from("ok"), to },
          { buffers: Buffer.alloc(65508), to },
        ],
        "WSAEMSGSIZE",
      ],
      [
        [
          { buffers: Buffer.from("ok"), to },
          { buffers: Buffer.from("x"), to: { address: "0.0.0.0", port: rx.port } },
        ],
        "WSAEADDRNOTAVAIL",
      ],
      [[{ buffers: Buffer.from("ok"), to }, { buffers: Buffer.from("x") }], "WSAENOTCONN"],
      [
        [
          { buffers: Buffer.from("ok"), to },
          { buffers: "text" as unknown as Uint8Array, to },
        ],
        "WSAEFAULT",
      ],
    ];
    for (const [datagrams, code] of cases) {
      const e = await sock.sendBatch(datagrams).catch((err: unknown) => err);
      expectWSAError(e, code, "sendBatch");
    }
    const flags = await sock.sendBatch([{ buffers: Buffer.from("oob"), to }], { flags: ws.MSG_OOB }).catch((e: unknown) => e);
    expectWSAError(flags, "WSAEOPNOTSUPP", "sendBatch");
    await rx.settle(100);
    expect(rx.got).toHaveLength(0);
  });

  it("sendBatch without a destination goes to the connected peer", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    sock.connect({ address: LOOPBACK4, port: rx.port });
    const result = await sock.sendBatch([{ buffers: Buffer.from("p1") }, { buffers: [Buffer.from("p"), Buffer.from("2")] }]);
    expect(result.datagramsSent).toBe(2);
    await rx.waitFor(2);
    expect(rx.texts()).toEqual(["p1", "p2"]);
  });

  it("sendSegments: one buffer leaves as equal-size datagrams, the last shorter", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    const payload = Buffer.alloc(5 * 1200 + 345);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const result = await sock.sendSegments([payload.subarray(0, 2000), payload.subarray(2000)], 1200, {
      address: LOOPBACK4,
      port: rx.port,
    });
    expect(result.bytesSent).toBe(payload.length);
    expect(result.datagrams).toBe(6);
    expect(result.gso).toBe(backend.deviations.kernelGso);
    await rx.waitFor(6);
    await rx.settle(50);
    expect(rx.got.map((d) => d.msg.length)).toEqual([1200, 1200, 1200, 1200, 1200, 345]);
    expect(Buffer.concat(rx.got.map((d) => d.msg)).equals(payload)).toBe(true);
  });

  it("sendSegments refuses what a GSO send cannot carry, and sends nothing", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    const to = { address: LOOPBACK4, port: rx.port };
    const refusals: [Promise<unknown>, ws.WSAErrorName][] = [
      [sock.sendSegments(Buffer.alloc(65508), 1000, to), "WSAEMSGSIZE"],
      [sock.sendSegments(Buffer.alloc(6500), 100, to), "WSAEMSGSIZE"],
      [sock.sendSegments(Buffer.alloc(100), 0, to), "WSAEINVAL"],
      [sock.sendSegments(Buffer.alloc(0), 100, to), "WSAEINVAL"],
      [sock.sendSegments(Buffer.alloc(100), 10, { address: "::1", port: rx.port }), "WSAEAFNOSUPPORT"],
    ];
    for (const [p, code] of refusals) expectWSAError(await p.catch((e: unknown) => e), code, "sendSegments");
    await rx.settle(100);
    expect(rx.got).toHaveLength(0);
  });
});
