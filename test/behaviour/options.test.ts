/**
 * SO_RCVBUF, SO_SNDBUF and IP_TTL / IPV6_UNICAST_HOPS as Windows has them: readable on a new
 * unbound socket (Windows' defaults: 65536, 65536, 128), and reading back exactly what was
 * set, before and after the bind (Linux doubles the buffer sizes it is given; Windows does
 * not, and neither does the library).
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, addr6, bufs, hasV6, NO_V6_REASON, openReceiver, ref, T, udp4, udp6, useFacade, ws } from "../helpers.js";

/** The option numbers CONTRACT.md names, stated here as the contract writes them. */
const OPTION_VALUES: readonly [string, number][] = [
  ["IPPROTO_IP", 0],
  ["IPPROTO_IPV6", 41],
  ["IPV6_V6ONLY", 27],
  ["SO_SNDBUF", 0x1001],
  ["SO_RCVBUF", 0x1002],
  ["IP_TTL", 4],
  ["IPV6_UNICAST_HOPS", 4],
  ["AF_UNSPEC", 0],
];

function get(s: number, level: number, name: number): number {
  const v = ref(-1);
  const len = ref(4);
  expect(ws.getsockopt(s, level, name, v, len), `getsockopt: ${ws.WSAGetLastError()}`).toBe(0);
  expect(len.value).toBe(4);
  return v.value;
}

describe("option constants", () => {
  it.each(OPTION_VALUES)("%s = %s", (name, value) => {
    expect((ws as unknown as Record<string, unknown>)[name]).toBe(value);
  });
});

describe.each(BACKENDS)("SO_RCVBUF, SO_SNDBUF, IP_TTL on $name", (backend) => {
  useFacade(backend);

  const families = [
    { family: 4 as const, open: udp4, ttlLevel: ws.IPPROTO_IP, ttlName: ws.IP_TTL, local: () => addr4(0) },
    { family: 6 as const, open: udp6, ttlLevel: ws.IPPROTO_IPV6, ttlName: ws.IPV6_UNICAST_HOPS, local: () => addr6(0) },
  ];

  for (const f of families) {
    it(`IPv${f.family}: a new unbound socket reads Windows' defaults (65536, 65536, 128)`, ({ skip }) => {
      skip(f.family === 6 && !hasV6, NO_V6_REASON);
      const s = f.open();
      expect(get(s, ws.SOL_SOCKET, ws.SO_RCVBUF)).toBe(65536);
      expect(get(s, ws.SOL_SOCKET, ws.SO_SNDBUF)).toBe(65536);
      expect(get(s, f.ttlLevel, f.ttlName)).toBe(128);
      // As 4 little-endian bytes too.
      const bytes = new Uint8Array(4);
      expect(ws.getsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, bytes, ref(4))).toBe(0);
      expect([...bytes]).toEqual([0x00, 0x00, 0x01, 0x00]);
    });

    it(`IPv${f.family}: the defaults still read so after the bind`, ({ skip }) => {
      skip(f.family === 6 && !hasV6, NO_V6_REASON);
      const s = f.open();
      const local = f.local();
      expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
      expect(get(s, ws.SOL_SOCKET, ws.SO_RCVBUF)).toBe(65536);
      expect(get(s, ws.SOL_SOCKET, ws.SO_SNDBUF)).toBe(65536);
      expect(get(s, f.ttlLevel, f.ttlName)).toBe(128);
    });

    it(`IPv${f.family}: values set before the bind read back exactly, before and after it`, ({ skip }) => {
      skip(f.family === 6 && !hasV6, NO_V6_REASON);
      const s = f.open();
      expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, 100_000, 4)).toBe(0);
      expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_SNDBUF, new Uint8Array([0x00, 0x80, 0x00, 0x00]), 4)).toBe(0);
      expect(ws.setsockopt(s, f.ttlLevel, f.ttlName, 7, 4)).toBe(0);
      const expected = [100_000, 32_768, 7];
      const read = () => [
        get(s, ws.SOL_SOCKET, ws.SO_RCVBUF),
        get(s, ws.SOL_SOCKET, ws.SO_SNDBUF),
        get(s, f.ttlLevel, f.ttlName),
      ];
      expect(read()).toEqual(expected);
      const local = f.local();
      expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
      expect(read()).toEqual(expected);
    });

    it(`IPv${f.family}: values set after the bind read back exactly (not the kernel's doubled ones)`, ({ skip }) => {
      skip(f.family === 6 && !hasV6, NO_V6_REASON);
      const s = f.open();
      const local = f.local();
      expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
      expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, 300_000, 4)).toBe(0);
      expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_SNDBUF, 50_000, 4)).toBe(0);
      expect(ws.setsockopt(s, f.ttlLevel, f.ttlName, 33, 4)).toBe(0);
      expect(get(s, ws.SOL_SOCKET, ws.SO_RCVBUF)).toBe(300_000);
      expect(get(s, ws.SOL_SOCKET, ws.SO_SNDBUF)).toBe(50_000);
      expect(get(s, f.ttlLevel, f.ttlName)).toBe(33);
    });
  }

  it(
    "a socket with its options set still sends and its receive buffer still holds what was set",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_SNDBUF, 16_384, 4)).toBe(0);
      expect(ws.setsockopt(s, ws.IPPROTO_IP, ws.IP_TTL, 2, 4)).toBe(0);
      const to = addr4(rx.port);
      expect(await ws.WSASendTo(s, bufs("ttl 2"), 1, ref(), 0, to, ws.sizeof(to), null, null)).toBe(0);
      await rx.waitFor(1);
      expect(rx.texts()).toEqual(["ttl 2"]);
      expect(get(s, ws.IPPROTO_IP, ws.IP_TTL)).toBe(2);
    },
  );
});
