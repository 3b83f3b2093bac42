/**
 * inet_pton / inet_ntop: IPv4 and IPv6 round trips and error returns.
 */
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

function pton6(text: string): Uint8Array {
  const dst = new Uint8Array(16);
  expect(ws.inet_pton(ws.AF_INET6, text, dst)).toBe(1);
  return dst;
}

describe("inet_pton / inet_ntop, IPv4", () => {
  it.each([
    ["127.0.0.1", [127, 0, 0, 1]],
    ["0.0.0.0", [0, 0, 0, 0]],
    ["255.255.255.255", [255, 255, 255, 255]],
    ["10.20.30.40", [10, 20, 30, 40]],
    ["192.168.200.129", [192, 168, 200, 129]],
  ] as const)("%s -> %j round trips", (text, bytes) => {
    const dst = new Uint8Array(4);
    expect(ws.inet_pton(ws.AF_INET, text, dst)).toBe(1);
    expect([...dst]).toEqual(bytes);
    expect(ws.inet_ntop(ws.AF_INET, dst)).toBe(text);
  });

  it.each(["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "a.b.c.d", "::1", "127.1"])("%j is not an IPv4 address: 0", (text) => {
    const dst = new Uint8Array([9, 9, 9, 9]);
    expect(ws.inet_pton(ws.AF_INET, text, dst)).toBe(0);
    expect([...dst]).toEqual([9, 9, 9, 9]);
  });
});

describe("inet_pton / inet_ntop, IPv6", () => {
  it.each([
    ["::1", "::1", [...new Array(15).fill(0), 1]],
    ["::", "::", new Array(16).fill(0)],
    ["fe80::1", "fe80::1", [0xfe, 0x80, ...new Array(13).fill(0), 1]],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4", [...new Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]],
    ["2001:db8::", "2001:db8::", [0x20, 0x01, 0x0d, 0xb8, ...new Array(12).fill(0)]],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]],
    ["FE80:0:0:0:0:0:0:1", "fe80::1", [0xfe, 0x80, ...new Array(13).fill(0), 1]],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    // RFC 5952: one zero group is not shortened; the first of equal runs is.
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", [0x20, 1, 0xd, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]],
  ] as const)("%s -> bytes -> %s", (text, canonical, bytes) => {
    const dst = pton6(text);
    expect([...dst]).toEqual(bytes);
    expect(ws.inet_ntop(ws.AF_INET6, dst)).toBe(canonical);
    expect([...pton6(canonical)]).toEqual(bytes);
  });

  it.each([":::", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::1.2.3", "127.0.0.1", ""])(
    "%j is not an IPv6 address: 0",
    (text) => {
      expect(ws.inet_pton(ws.AF_INET6, text, new Uint8Array(16))).toBe(0);
    },
  );
});

describe("inet_pton / inet_ntop errors", () => {
  it("an unknown family: -1 / null with WSAEAFNOSUPPORT", () => {
    ws.WSASetLastError(0);
    expect(ws.inet_pton(99, "1.2.3.4", new Uint8Array(16))).toBe(-1);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEAFNOSUPPORT);
    ws.WSASetLastError(0);
    expect(ws.inet_ntop(99, new Uint8Array(16))).toBeNull();
    expect(ws.WSAGetLastError()).toBe(ws.WSAEAFNOSUPPORT);
  });

  it("a destination or source too small or not bytes: -1 / null with WSAEFAULT", () => {
    for (const [af, small] of [
      [ws.AF_INET, new Uint8Array(3)],
      [ws.AF_INET6, new Uint8Array(15)],
    ] as const) {
      ws.WSASetLastError(0);
      expect(ws.inet_pton(af, af === ws.AF_INET ? "1.2.3.4" : "::1", small)).toBe(-1);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      ws.WSASetLastError(0);
      expect(ws.inet_ntop(af, small)).toBeNull();
      expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
    }
    const loose = ws.inet_pton as unknown as (...a: unknown[]) => number;
    expect(loose(ws.AF_INET, "1.2.3.4", [0, 0, 0, 0])).toBe(-1);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
    expect(loose(ws.AF_INET, 0x7f000001, new Uint8Array(4))).toBe(-1);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
  });
});
