/**
 * Byte-order helpers and inet_addr / inet_ntoa: the facade behaves as a little-endian
 * Windows host on every platform.
 */
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

describe("htons / ntohs / htonl / ntohl", () => {
  it("htons(27777) is 0x816c and ntohs undoes it", () => {
    expect(ws.htons(27777)).toBe(0x816c);
    expect(ws.ntohs(0x816c)).toBe(27777);
    expect(ws.htons(0)).toBe(0);
    expect(ws.htons(0xffff)).toBe(0xffff);
    expect(ws.htons(0x1234)).toBe(0x3412);
  });

  it("htonl swaps four bytes and gives an unsigned number", () => {
    expect(ws.htonl(0x7f000001)).toBe(0x0100007f);
    expect(ws.htonl(ws.INADDR_LOOPBACK)).toBe(0x0100007f);
    expect(ws.htonl(0x12345678)).toBe(0x78563412);
    expect(ws.htonl(0x000000ff)).toBe(0xff000000);
    expect(ws.ntohl(0xff000000)).toBe(0xff);
  });

  it("round trips", () => {
    for (const n of [0, 1, 255, 256, 27777, 65535]) expect(ws.ntohs(ws.htons(n))).toBe(n);
    for (const n of [0, 1, 0x7f000001, 0xffffffff, 0x80000000, 0xdeadbeef]) expect(ws.ntohl(ws.htonl(n))).toBe(n);
  });
});

describe("byte-order helpers on what is not a number", () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const hostile: readonly [string, unknown][] = [
    ["a Symbol", Symbol("x")],
    ["a revoked Proxy", revoked.proxy],
    [
      "an object whose valueOf throws",
      {
        valueOf() {
          throw new Error("hostile");
        },
      },
    ],
    ["an object", { value: 5 }],
    ["undefined", undefined],
    ["null", null],
    ["a function", () => 5],
  ];
  const helpers = { htons: ws.htons, ntohs: ws.ntohs, htonl: ws.htonl, ntohl: ws.ntohl } as unknown as Record<
    string,
    (v: unknown) => unknown
  >;

  it.each(hostile)("%s: every helper answers 0 and throws nothing", (_label, value) => {
    for (const [name, f] of Object.entries(helpers)) expect(f(value), name).toBe(0);
    const makeword = ws.MAKEWORD as unknown as (a: unknown, b: unknown) => unknown;
    expect(makeword(value, value)).toBe(0);
    expect(makeword(value, 2)).toBe(0x0200);
    expect(makeword(2, value)).toBe(0x0002);
  });

  it("primitives convert as Number() does, bigints modulo 2**32; the low bits are kept, as in C", () => {
    const f = helpers as Record<string, (v: unknown) => unknown>;
    expect(f.htons?.("27777")).toBe(0x816c);
    expect(f.htons?.(true)).toBe(0x0100);
    expect(f.htons?.(27777n)).toBe(0x816c);
    expect(f.htonl?.(0x7f000001n)).toBe(0x0100007f);
    expect(f.htonl?.(2n ** 64n + 0x7f000001n)).toBe(0x0100007f);
    expect(f.htonl?.(-1n)).toBe(0xffffffff);
    expect(f.htons?.(0x12345)).toBe(0x4523);
    expect(f.htons?.(Number.NaN)).toBe(0);
    expect(f.htons?.(Number.POSITIVE_INFINITY)).toBe(0);
    expect(f.htons?.(1.9)).toBe(0x0100);
    expect(f.htonl?.(-1)).toBe(0xffffffff);
    expect(f.htons?.("not a number")).toBe(0);
  });
});

describe("inet_addr", () => {
  it.each([
    ["127.0.0.1", 0x0100007f],
    ["127.1", 0x0100007f],
    ["0x7f.1", 0x0100007f],
    ["0177.0.0.1", 0x0100007f],
    ["0x7f000001", 0x0100007f],
    // Network bytes 0a 01 00 02 and 0a 01 02 03, read as a little-endian number.
    ["10.1.2", 0x0200010a],
    ["10.1.2.3", 0x0302010a],
    ["0.0.0.0", 0],
    ["1.2.3.4", 0x04030201],
  ] as const)("%s -> %s", (text, value) => {
    expect(ws.inet_addr(text)).toBe(value);
  });

  it.each(["", "not an address", "256.1.1.1", "1.2.3.4.5", "1..2", "1.2.3.", "1.2.3.256", "08.1.1.1", "1.2.65536"])(
    "%j -> INADDR_NONE",
    (text) => {
      expect(ws.inet_addr(text)).toBe(ws.INADDR_NONE);
    },
  );

  it("255.255.255.255 is INADDR_NONE's value too, as in C", () => {
    expect(ws.inet_addr("255.255.255.255")).toBe(ws.INADDR_NONE);
  });
});

describe("inet_ntoa", () => {
  it("formats a network-order s_addr", () => {
    expect(ws.inet_ntoa({ s_addr: ws.inet_addr("10.1.2.3") })).toBe("10.1.2.3");
    expect(ws.inet_ntoa({ s_addr: 0x0100007f })).toBe("127.0.0.1");
    expect(ws.inet_ntoa({ s_addr: 0 })).toBe("0.0.0.0");
    expect(ws.inet_ntoa({ s_addr: 0xffffffff })).toBe("255.255.255.255");
  });

  it("returns null for a bad in_addr", () => {
    expect(ws.inet_ntoa(null)).toBeNull();
    expect(ws.inet_ntoa({ s_addr: -1 })).toBeNull();
    expect(ws.inet_ntoa({ s_addr: 2 ** 32 })).toBeNull();
  });
});
