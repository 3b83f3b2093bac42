/**
 * Every address parser rejects what inet_pton rejects. Each row states its expectation
 * itself (bytes written out, or "not an address"); nothing is sent.
 *
 * inet_pton (Windows: RtlIpv4StringToAddress / RtlIpv6StringToAddress in strict mode, the
 * whole string consumed): IPv4 is four decimal parts 0..255 without leading zeros (a
 * leading 0 would be octal, which strict mode refuses); IPv6 is up to eight groups of 1..4
 * hex digits, at most one "::" (standing for one or more zero groups), an embedded
 * dotted-quad IPv4 address only as the last 32 bits, and no zone index ("%1").
 */
import { parseEndpoint } from "@wsasendto/core";
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

const WSAEADDRNOTAVAIL = 10049;

const z = (n: number): number[] => new Array<number>(n).fill(0);

describe("inet_pton(AF_INET6): accepted", () => {
  it.each([
    ["::1.2.3.4", [...z(12), 1, 2, 3, 4]],
    ["::ffff:127.0.0.1", [...z(10), 0xff, 0xff, 127, 0, 0, 1]],
    ["1::1.2.3.4", [0, 1, ...z(10), 1, 2, 3, 4]],
    ["1:2:3:4:5:6:1.2.3.4", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4]],
    ["64:ff9b::192.0.2.33", [0, 0x64, 0xff, 0x9b, ...z(8), 192, 0, 2, 33]],
    ["1:2:3:4:5:6:7::", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]],
    ["::2:3:4:5:6:7:8", [0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ["0000:0000:0000:0000:0000:ffff:255.255.255.255", [...z(10), 0xff, 0xff, 255, 255, 255, 255]],
    ["abcd:EF01::", [0xab, 0xcd, 0xef, 0x01, ...z(12)]],
  ] as const)("%s", (text, bytes) => {
    const dst = new Uint8Array(16);
    expect(ws.inet_pton(ws.AF_INET6, text, dst)).toBe(1);
    expect([...dst]).toEqual(bytes);
  });
});

describe("inet_pton(AF_INET6): not an address (0, dst untouched)", () => {
  it.each([
    ["1.2.3.4::5", "IPv4 before the end"],
    ["1.2.3.4::", "IPv4 before a ::"],
    ["::1.2.3.4:5", "IPv4 not last"],
    ["1:2:3:4:5:6:7:1.2.3.4", "nine groups' worth with the IPv4 tail"],
    ["1:2:3:4:5:6:7:8::", ":: standing for no group"],
    ["::1:2:3:4:5:6:7:8", ":: standing for no group, leading"],
    ["fe80::1%1", "a zone index"],
    ["fe80::1%eth0", "a zone name"],
    [" ::1", "leading space"],
    ["::1 ", "trailing space"],
    ["[::1]", "brackets"],
    [":1::2", "one leading colon"],
    ["1::2:", "one trailing colon"],
    ["::ffff:01.2.3.4", "a leading zero in the IPv4 tail"],
    ["::ffff:1.2.3", "a three-part IPv4 tail"],
    ["::ffff:256.1.1.1", "an IPv4 part over 255"],
    ["12345::", "five hex digits"],
    ["0x1::", "a 0x prefix"],
    ["::-1", "a sign"],
  ])("%j (%s)", (text) => {
    const dst = new Uint8Array(16).fill(7);
    expect(ws.inet_pton(ws.AF_INET6, text, dst)).toBe(0);
    expect([...dst]).toEqual(new Array(16).fill(7));
  });
});

describe("inet_pton(AF_INET): not an address (0, dst untouched)", () => {
  it.each([
    ["01.2.3.4", "a leading zero (octal in inet_addr, refused here)"],
    ["1.2.3.04", "a leading zero in the last part"],
    ["0x7f.0.0.1", "a hex part"],
    ["127.1", "two parts (inet_addr's short form)"],
    ["2130706433", "one number"],
    ["1.2.3.256", "a part over 255"],
    ["1.2.3.4.", "a trailing dot"],
    [".1.2.3.4", "a leading dot"],
    ["1..2.3", "an empty part"],
    ["+1.2.3.4", "a sign"],
    ["1.2.3.4 ", "trailing space"],
    [" 1.2.3.4", "leading space"],
    ["1.2.3.4/8", "a prefix length"],
    ["1.2.3.4:80", "a port"],
    ["::ffff:1.2.3.4", "IPv6 text"],
  ])("%j (%s)", (text) => {
    const dst = new Uint8Array(4).fill(7);
    expect(ws.inet_pton(ws.AF_INET, text, dst)).toBe(0);
    expect([...dst]).toEqual([7, 7, 7, 7]);
  });

  it.each([
    ["0.0.0.0", [0, 0, 0, 0]],
    ["10.0.0.255", [10, 0, 0, 255]],
    ["100.20.3.0", [100, 20, 3, 0]],
  ] as const)("%s is accepted", (text, bytes) => {
    const dst = new Uint8Array(4);
    expect(ws.inet_pton(ws.AF_INET, text, dst)).toBe(1);
    expect([...dst]).toEqual(bytes);
  });
});

describe("the idiomatic API's address parser (parseEndpoint) follows inet_pton", () => {
  it.each([
    ["127.0.0.1", { family: 4, address: "127.0.0.1", port: 9 }],
    ["::1", { family: 6, address: "::1", port: 9 }],
    ["::ffff:127.0.0.1", { family: 6, address: "::ffff:127.0.0.1", port: 9 }],
    ["0:0:0:0:0:0:0:1", { family: 6, address: "::1", port: 9 }],
  ] as const)("%s parses", (text, endpoint) => {
    expect(parseEndpoint(text, 9)).toEqual(endpoint);
  });

  it.each(["1.2.3.4::5", "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%1", "127.1", "01.2.3.4", "localhost", "", " 127.0.0.1"])(
    "%j is not an IP literal: WSAEADDRNOTAVAIL (10049)",
    (text) => {
      expect(parseEndpoint(text, 9)).toBe(WSAEADDRNOTAVAIL);
    },
  );
});
