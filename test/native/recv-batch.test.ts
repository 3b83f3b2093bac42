/**
 * The addon's batched receive (POSIX): `recvBatch`, one recvmmsg straight into the
 * caller's views, its per-datagram `out` records (32 bytes each), and UDP GRO (`setGro`,
 * `groSupported`: coalesced datagrams with their segment size). Real sockets on the
 * loopback, bound to port 0, called on the binding directly.
 *
 * out, per datagram i at 32i: bytes written (0..3, LE), whole length (4..7, LE), source
 * address (8..23), port (24..25, BE), family (26), truncated (27), GRO segment (28..29, LE).
 */
import { constants } from "node:os";
import { loadBinding, type NativeBinding } from "@wsasendto/native";
import { describe, expect, it, onTestFinished } from "vitest";

const { EAGAIN, EINVAL, EFAULT, EBADF, ECONNREFUSED } = constants.errno;
const MSG_PEEK = 2;
const LOOPBACK4 = new Uint8Array([127, 0, 0, 1]);
const LOOPBACK6 = new Uint8Array(16);
LOOPBACK6[15] = 1;

const loaded = loadBinding();
const unavailable =
  typeof loaded === "string" ? loaded : typeof loaded.recvBatch !== "function" ? "the binding has no recvBatch (Windows)" : "";
type Binding = NativeBinding & Required<Pick<NativeBinding, "recvBatch" | "setGro" | "groSupported" | "sendSegments">>;
const b = loaded as Binding;

/** A socket bound to the loopback (port 0), closed when the test ends. */
function bound(family: 4 | 6 = 4): { h: number; port: number } {
  const h = b.open(family);
  expect(h, "open").toBeGreaterThanOrEqual(0);
  onTestFinished(() => {
    b.close(h);
  });
  expect(b.bind(h, family, family === 4 ? LOOPBACK4 : LOOPBACK6, 0), "bind").toBe(0);
  const port = b.localAddress(h, family, new Uint8Array(16));
  expect(port, "localAddress").toBeGreaterThan(0);
  return { h, port };
}

function send(from: { h: number }, to: { port: number }, bytes: Uint8Array, family: 4 | 6 = 4): void {
  expect(b.send(from.h, family, [bytes], family === 4 ? LOOPBACK4 : LOOPBACK6, to.port, 0, 0)).toBe(bytes.length);
}

/** Lets datagrams sent on the loopback reach the receiving socket. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** `size` bytes, each telling its datagram (`tag`) and position. */
function payload(tag: number, size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (tag * 37 + i) & 0xff);
}

/** A descriptor: n, then each datagram's view count. */
const desc = (...counts: number[]) => new Uint32Array([counts.length, ...counts]);

/** The out record of datagram i. */
function record(out: Uint8Array, i: number) {
  const v = new DataView(out.buffer, out.byteOffset + 32 * i, 32);
  return {
    filled: v.getUint32(0, true),
    length: v.getUint32(4, true),
    address: [...out.subarray(32 * i + 8, 32 * i + 24)],
    port: v.getUint16(24, false),
    family: v.getUint8(26),
    truncated: v.getUint8(27),
    segment: v.getUint16(28, true),
    reserved: v.getUint16(30, true),
  };
}

const v4Address = [127, 0, 0, 1, ...new Array(12).fill(0)];

describe.skipIf(unavailable !== "")(`recvBatch${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  it("receives datagrams of different sizes and sources in one call, in order, each with its length and source", async () => {
    const rx = bound();
    const a = bound();
    const c = bound();
    const sizes = [1, 700, 0, 1472, 33];
    const from = [a, c, a, c, c];
    for (const [i, size] of sizes.entries()) send(from[i] as { h: number }, rx, payload(i, size));
    await settle();
    const views = sizes.map(() => new Uint8Array(2048).fill(0xee));
    const out = new Uint8Array(32 * sizes.length).fill(0xcc);
    expect(b.recvBatch(rx.h, 4, desc(...sizes.map(() => 1)), out, 0, ...views)).toBe(sizes.length);
    sizes.forEach((size, i) => {
      expect(record(out, i), `datagram ${i}`).toEqual({
        filled: size,
        length: size,
        address: v4Address,
        port: (from[i] as { port: number }).port,
        family: 4,
        truncated: 0,
        segment: 0,
        reserved: 0,
      });
      expect(views[i]?.subarray(0, size), `datagram ${i}'s bytes`).toEqual(payload(i, size));
      expect(views[i]?.[size], `datagram ${i}: nothing written past it`).toBe(0xee);
    });
    // Every one was taken.
    expect(b.recvBatch(rx.h, 4, desc(1), out, 0, new Uint8Array(8))).toBe(-EAGAIN);
  });

  it("scatters each datagram over its own views, in order", async () => {
    const rx = bound();
    const tx = bound();
    send(tx, rx, payload(1, 10));
    send(tx, rx, payload(2, 9));
    await settle();
    const views = [4, 4, 4, 5, 5].map((n) => new Uint8Array(n).fill(0xee));
    const out = new Uint8Array(64);
    expect(b.recvBatch(rx.h, 4, desc(3, 2), out, 0, ...views)).toBe(2);
    const first = payload(1, 10);
    const second = payload(2, 9);
    expect(views[0]).toEqual(first.subarray(0, 4));
    expect(views[1]).toEqual(first.subarray(4, 8));
    expect([...(views[2] as Uint8Array)]).toEqual([...first.subarray(8, 10), 0xee, 0xee]);
    expect(views[3]).toEqual(second.subarray(0, 5));
    expect([...(views[4] as Uint8Array)]).toEqual([...second.subarray(5, 9), 0xee]);
    expect([record(out, 0).filled, record(out, 0).length, record(out, 0).truncated]).toEqual([10, 10, 0]);
    expect([record(out, 1).filled, record(out, 1).length, record(out, 1).truncated]).toEqual([9, 9, 0]);
  });

  it("a datagram larger than its views: the bytes that fit, its whole length, truncated; the next one whole", async () => {
    const rx = bound();
    const tx = bound();
    send(tx, rx, payload(3, 100));
    send(tx, rx, payload(4, 5));
    await settle();
    const views = [new Uint8Array(20), new Uint8Array(10), new Uint8Array(30)];
    const out = new Uint8Array(64);
    expect(b.recvBatch(rx.h, 4, desc(2, 1), out, 0, ...views)).toBe(2);
    expect(record(out, 0)).toMatchObject({ filled: 30, length: 100, truncated: 1, port: tx.port });
    expect(views[0]).toEqual(payload(3, 100).subarray(0, 20));
    expect(views[1]).toEqual(payload(3, 100).subarray(20, 30));
    expect(record(out, 1)).toMatchObject({ filled: 5, length: 5, truncated: 0, port: tx.port });
    expect(views[2]?.subarray(0, 5)).toEqual(payload(4, 5));
  });

  it("a datagram given no views: 0 bytes written, its length, truncated (a zero-length view the same)", async () => {
    const rx = bound();
    const tx = bound();
    send(tx, rx, payload(5, 12));
    send(tx, rx, payload(6, 7));
    await settle();
    const out = new Uint8Array(64);
    expect(b.recvBatch(rx.h, 4, desc(0, 1), out, 0, new Uint8Array(0))).toBe(2);
    expect(record(out, 0)).toMatchObject({ filled: 0, length: 12, truncated: 1 });
    expect(record(out, 1)).toMatchObject({ filled: 0, length: 7, truncated: 1 });
  });

  it("-EAGAIN when nothing waits, and out is left alone", () => {
    const rx = bound();
    const out = new Uint8Array(64).fill(0xab);
    const view = new Uint8Array(16).fill(0xab);
    expect(EAGAIN).toBe(11);
    expect(b.recvBatch(rx.h, 4, desc(1, 1), out, 0, view, new Uint8Array(16))).toBe(-11);
    expect(out.every((x) => x === 0xab)).toBe(true);
    expect(view.every((x) => x === 0xab)).toBe(true);
  });

  it("n larger than what waits returns what waited, and writes no other record", async () => {
    const rx = bound();
    const tx = bound();
    send(tx, rx, payload(7, 40));
    send(tx, rx, payload(8, 41));
    await settle();
    const n = 8;
    const out = new Uint8Array(32 * n).fill(0xab);
    const views = Array.from({ length: n }, () => new Uint8Array(64));
    expect(b.recvBatch(rx.h, 4, desc(...views.map(() => 1)), out, 0, ...views)).toBe(2);
    expect([record(out, 0).length, record(out, 1).length]).toEqual([40, 41]);
    expect(out.subarray(64).every((x) => x === 0xab)).toBe(true);
    expect(b.recvBatch(rx.h, 4, desc(...views.map(() => 1)), out, 0, ...views)).toBe(-EAGAIN);
  });

  it("n smaller than what waits takes n, the rest on the next call", async () => {
    const rx = bound();
    const tx = bound();
    for (let i = 0; i < 5; i++) send(tx, rx, payload(i, 10 + i));
    await settle();
    const out = new Uint8Array(96);
    const views = [new Uint8Array(64), new Uint8Array(64), new Uint8Array(64)];
    expect(b.recvBatch(rx.h, 4, desc(1, 1, 1), out, 0, ...views)).toBe(3);
    expect([0, 1, 2].map((i) => record(out, i).length)).toEqual([10, 11, 12]);
    expect(b.recvBatch(rx.h, 4, desc(1, 1, 1), out, 0, ...views)).toBe(2);
    expect([0, 1].map((i) => record(out, i).length)).toEqual([13, 14]);
    expect(views[1]?.subarray(0, 14)).toEqual(payload(4, 14));
  });

  it("MSG_PEEK: the first datagram only, left queued", async () => {
    const rx = bound();
    const tx = bound();
    send(tx, rx, payload(1, 6));
    send(tx, rx, payload(2, 8));
    await settle();
    const out = new Uint8Array(64);
    const views = [new Uint8Array(16), new Uint8Array(16)];
    expect(b.recvBatch(rx.h, 4, desc(1, 1), out, MSG_PEEK, ...views)).toBe(1);
    expect(record(out, 0)).toMatchObject({ filled: 6, length: 6, port: tx.port });
    expect(b.recvBatch(rx.h, 4, desc(1, 1), out, 0, ...views)).toBe(2);
    expect([record(out, 0).length, record(out, 1).length]).toEqual([6, 8]);
    expect(views[0]?.subarray(0, 6)).toEqual(payload(1, 6));
  });

  it("IPv6 (::1): sources, ports and family 6", async ({ skip }) => {
    const rx6 = b.open(6);
    if (rx6 < 0) return skip(`no IPv6 socket here (${rx6})`);
    const bindRc = b.bind(rx6, 6, LOOPBACK6, 0);
    b.close(rx6);
    if (bindRc !== 0) return skip(`::1 cannot be bound here (${bindRc})`);
    const rx = bound(6);
    const a = bound(6);
    const c = bound(6);
    send(a, rx, payload(1, 100), 6);
    send(c, rx, payload(2, 1200), 6);
    await settle();
    const out = new Uint8Array(64);
    const views = [new Uint8Array(2048), new Uint8Array(2048)];
    expect(b.recvBatch(rx.h, 6, desc(1, 1), out, 0, ...views)).toBe(2);
    const loop6 = [...LOOPBACK6];
    expect(record(out, 0)).toEqual({
      filled: 100,
      length: 100,
      address: loop6,
      port: a.port,
      family: 6,
      truncated: 0,
      segment: 0,
      reserved: 0,
    });
    expect(record(out, 1)).toMatchObject({ filled: 1200, length: 1200, address: loop6, port: c.port, family: 6 });
    expect(views[1]?.subarray(0, 1200)).toEqual(payload(2, 1200));
  });

  it("a pending ICMP error comes back as recv reports it (-ECONNREFUSED, once), and the datagram after it", async () => {
    // The same sequence through recv and recvBatch: a send to a closed port, then a datagram waiting.
    const results: Record<string, number[]> = { recv: [], recvBatch: [] };
    for (const how of ["recv", "recvBatch"] as const) {
      const dead = bound();
      const deadPort = dead.port;
      b.close(dead.h);
      const s = bound();
      const peer = bound();
      send(s, { port: deadPort }, payload(1, 4));
      await settle();
      send(peer, s, payload(2, 9));
      await settle();
      const view = new Uint8Array(32);
      const take = () =>
        how === "recv"
          ? (b.recv?.(s.h, 4, [view], false, new Uint8Array(24)) ?? 0)
          : b.recvBatch(s.h, 4, desc(1), new Uint8Array(32), 0, view);
      for (let i = 0; i < 3; i++) results[how]?.push(take());
    }
    expect(results.recv).toEqual([-ECONNREFUSED, 9, -EAGAIN]);
    expect(results.recvBatch).toEqual([-ECONNREFUSED, 1, -EAGAIN]);
  });

  it("UDP GRO: a GSO send arrives as one datagram holding its segments, with the segment size", async ({ skip }) => {
    if (!b.groSupported()) return skip("the kernel does not take UDP_GRO (groSupported() is false)");
    if (!b.gsoSupported?.()) return skip("the kernel does not take UDP_SEGMENT (gsoSupported() is false): no GSO sender");
    const rx = bound();
    const plain = bound();
    const tx = bound();
    expect(b.setGro(rx.h, true)).toBe(0);
    const data = payload(9, 3 * 100 + 50);
    const out = new Uint8Array(32 * 8);
    const views = Array.from({ length: 8 }, () => new Uint8Array(4096));
    const counts = desc(...views.map(() => 1));
    // Without GRO (plain) the same send arrives as four datagrams, segment size 0.
    expect(b.sendSegments(tx.h, 4, LOOPBACK4, plain.port, 100, 0, data)).toBe(350);
    expect(b.sendSegments(tx.h, 4, LOOPBACK4, rx.port, 100, 0, data)).toBe(350);
    await settle();
    expect(b.recvBatch(plain.h, 4, counts, out, 0, ...views)).toBe(4);
    expect([0, 1, 2, 3].map((i) => [record(out, i).length, record(out, i).segment])).toEqual([
      [100, 0],
      [100, 0],
      [100, 0],
      [50, 0],
    ]);
    expect(b.recvBatch(rx.h, 4, counts, out, 0, ...views)).toBe(1);
    expect(record(out, 0)).toEqual({
      filled: 350,
      length: 350,
      address: v4Address,
      port: tx.port,
      family: 4,
      truncated: 0,
      segment: 100,
      reserved: 0,
    });
    expect(views[0]?.subarray(0, 350)).toEqual(data);
    // A plain datagram on the GRO socket: no segment size.
    send(tx, rx, payload(1, 77));
    await settle();
    expect(b.recvBatch(rx.h, 4, counts, out, 0, ...views)).toBe(1);
    expect(record(out, 0)).toMatchObject({ length: 77, segment: 0 });
    // Off again: the next GSO send arrives cut into datagrams.
    expect(b.setGro(rx.h, false)).toBe(0);
    expect(b.sendSegments(tx.h, 4, LOOPBACK4, rx.port, 100, 0, data)).toBe(350);
    await settle();
    expect(b.recvBatch(rx.h, 4, counts, out, 0, ...views)).toBe(4);
  });

  it("setGro on a closed handle or with a non-boolean fails; groSupported is a boolean", () => {
    expect(typeof b.groSupported()).toBe("boolean");
    const h = b.open(4);
    b.close(h);
    expect(b.setGro(h, true)).toBe(-EBADF);
    const rx = bound();
    expect(b.setGro(rx.h, 1 as unknown as boolean)).toBe(-EINVAL);
  });

  it("hostile arguments return a negated errno and receive nothing", async () => {
    const rx = bound();
    const tx = bound();
    send(tx, rx, payload(1, 8));
    await settle();
    const v = () => new Uint8Array(16);
    const out = () => new Uint8Array(32);
    const detachedView = (n: number) => {
      const x = new Uint8Array(n);
      structuredClone(x.buffer, { transfer: [x.buffer] });
      return x;
    };
    const detachedDesc = desc(1);
    structuredClone(detachedDesc.buffer, { transfer: [detachedDesc.buffer] });
    const call = (...args: unknown[]) => (b.recvBatch as (...a: unknown[]) => number)(...args);
    const cases: Array<[string, () => number, number]> = [
      ["no arguments", () => call(), -EINVAL],
      ["a string handle", () => call("3", 4, desc(1), out(), 0, v()), -EINVAL],
      ["family 5", () => call(rx.h, 5, desc(1), out(), 0, v()), -EINVAL],
      ["flags 1 (MSG_OOB)", () => call(rx.h, 4, desc(1), out(), 1, v()), -EINVAL],
      ["flags 1.5", () => call(rx.h, 4, desc(1), out(), 1.5, v()), -EINVAL],
      ["flags 2**32", () => call(rx.h, 4, desc(1), out(), 2 ** 32, v()), -EINVAL],
      ["n = 0", () => call(rx.h, 4, desc(), out(), 0), -EINVAL],
      ["n = 1025", () => call(rx.h, 4, new Uint32Array(1026), new Uint8Array(32 * 1025), 0), -EINVAL],
      ["n = 2**32 - 1", () => call(rx.h, 4, new Uint32Array([2 ** 32 - 1, 1]), out(), 0, v()), -EINVAL],
      ["an empty descriptor", () => call(rx.h, 4, new Uint32Array(0), out(), 0, v()), -EFAULT],
      ["n over the descriptor", () => call(rx.h, 4, new Uint32Array([2, 1]), new Uint8Array(64), 0, v()), -EFAULT],
      ["a detached descriptor", () => call(rx.h, 4, detachedDesc, out(), 0, v()), -EFAULT],
      ["an Int32Array descriptor", () => call(rx.h, 4, new Int32Array([1, 1]), out(), 0, v()), -EFAULT],
      ["a plain array descriptor", () => call(rx.h, 4, [1, 1], out(), 0, v()), -EFAULT],
      ["counts over the views", () => call(rx.h, 4, desc(2), out(), 0, v()), -EINVAL],
      ["counts under the views", () => call(rx.h, 4, desc(1), out(), 0, v(), v()), -EINVAL],
      ["a count of 2**32 - 1", () => call(rx.h, 4, new Uint32Array([1, 2 ** 32 - 1]), out(), 0, v()), -EINVAL],
      ["a 31-byte out", () => call(rx.h, 4, desc(1), new Uint8Array(31), 0, v()), -EFAULT],
      ["a 63-byte out for two", () => call(rx.h, 4, desc(1, 0), new Uint8Array(63), 0, v()), -EFAULT],
      ["a detached out", () => call(rx.h, 4, desc(1), detachedView(32), 0, v()), -EFAULT],
      ["an Int16Array out", () => call(rx.h, 4, desc(1), new Int16Array(16), 0, v()), -EFAULT],
      ["a detached view", () => call(rx.h, 4, desc(1), out(), 0, detachedView(16)), -EFAULT],
      ["a live and a detached view", () => call(rx.h, 4, desc(2), out(), 0, v(), detachedView(16)), -EFAULT],
      ["a Uint16Array view", () => call(rx.h, 4, desc(1), out(), 0, new Uint16Array(8)), -EFAULT],
      ["an array of views as a view", () => call(rx.h, 4, desc(1), out(), 0, [v()]), -EFAULT],
      ["null as a view", () => call(rx.h, 4, desc(1), out(), 0, null), -EFAULT],
      [
        "a datagram of 1025 views",
        () => call(rx.h, 4, desc(1025), out(), 0, ...Array.from({ length: 1025 }, () => new Uint8Array(1))),
        -EINVAL,
      ],
      [
        "4097 views in all",
        () => call(rx.h, 4, desc(1024, 1024, 1024, 1024, 1), new Uint8Array(160), 0, ...Array.from({ length: 4097 }, () => v())),
        -EINVAL,
      ],
      ["a closed handle", () => call(2 ** 20, 4, desc(1), out(), 0, v()), -EBADF],
      ["handle 2**31", () => call(2 ** 31, 4, desc(1), out(), 0, v()), -EINVAL],
    ];
    const results = cases.map(([name, fn, want]) => [name, fn(), want]);
    expect(results.filter(([, got, want]) => got !== want)).toEqual([]);
    // Nothing was received by any of them: the datagram is still there (and 4096 views is the limit, not over it).
    const outN = new Uint8Array(32 * 4);
    const views = Array.from({ length: 4096 }, () => new Uint8Array(4));
    expect(b.recvBatch(rx.h, 4, desc(1024, 1024, 1024, 1024), outN, 0, ...views)).toBe(1);
    expect(record(outN, 0)).toMatchObject({ filled: 8, length: 8, port: tx.port });
    expect([...views.slice(0, 2).flatMap((x) => [...x])]).toEqual([...payload(1, 8)]);
  });
});
