/**
 * Byte-order and address-text helpers with their C names and C arguments. The facade
 * behaves as a little-endian Windows host on every platform: a network-order `u_short`
 * or `u_long` is the number whose little-endian bytes are the network bytes.
 */
import { AF_INET, AF_INET6, INADDR_NONE, WSAEAFNOSUPPORT, WSAEFAULT } from "./constants.js";
import { setLastError } from "./last-error.js";

/**
 * The number a byte-order helper works on, as C's integer conversion would see it, without
 * running any code of the caller's: a number as it is, a bigint modulo 2^32, a string or a
 * boolean converted as `Number()` converts it, and anything else (a Symbol, an object, a
 * Proxy, `undefined`) 0. The helpers then keep the low bits, as C does.
 */
function integerOf(value: unknown): number {
  switch (typeof value) {
    case "number":
      return value;
    case "bigint":
      return Number(BigInt.asUintN(32, value));
    case "string":
    case "boolean":
      return Number(value);
    default:
      return 0;
  }
}

/**
 * `MAKEWORD(low, high)`: a WORD from two bytes (`MAKEWORD(2, 2)` is 0x0202). Each argument
 * is read as {@link integerOf} reads it (0 for a Symbol or an object); never throws.
 */
export function MAKEWORD(low: number, high: number): number {
  return ((integerOf(low) & 0xff) | ((integerOf(high) & 0xff) << 8)) >>> 0;
}

/**
 * `htons`: host (little-endian) to network byte order, 16 bits: a number in 0..0xffff.
 * The argument is read as {@link integerOf} reads it (0 for a Symbol or an object); never throws.
 */
export function htons(hostshort: number): number {
  const n = integerOf(hostshort);
  return ((n & 0xff) << 8) | ((n >>> 8) & 0xff);
}

/** `ntohs`: network to host byte order, 16 bits; the same swap as {@link htons}. */
export const ntohs: (netshort: number) => number = htons;

/**
 * `htonl`: host (little-endian) to network byte order, 32 bits: a number in 0..0xffffffff.
 * The argument is read as {@link integerOf} reads it (0 for a Symbol or an object); never throws.
 */
export function htonl(hostlong: number): number {
  const n = integerOf(hostlong);
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | ((n >>> 24) & 0xff)) >>> 0;
}

/** `ntohl`: network to host byte order, 32 bits; the same swap as {@link htonl}. */
export const ntohl: (netlong: number) => number = htonl;

/** The four address bytes of a network-order `s_addr` (read as {@link integerOf} reads it). */
export function sAddrToBytes(sAddr: number): [number, number, number, number] {
  const n = integerOf(sAddr);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** The dotted text of a network-order `s_addr` (read as {@link integerOf} reads it). */
export function sAddrToString(sAddr: number): string {
  const n = integerOf(sAddr);
  return `${n & 0xff}.${(n >>> 8) & 0xff}.${(n >>> 16) & 0xff}.${n >>> 24}`;
}

/** Parses one part of an `inet_addr` string: decimal, octal (leading 0) or hex (0x). */
function parsePart(part: string): number {
  if (/^0[xX][0-9a-fA-F]*$/.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  if (/^0[0-7]*$/.test(part)) return Number.parseInt(part, 8);
  if (/^[1-9][0-9]*$/.test(part)) return Number(part);
  return Number.NaN;
}

/**
 * `inet_addr`: the network-order number of an IPv4 address in the forms Windows
 * accepts ("a.b.c.d", "a.b.c", "a.b", "a"; decimal, octal or hex parts), or
 * `INADDR_NONE` when the text is not one.
 */
export function inet_addr(cp: unknown): number {
  if (typeof cp !== "string") return INADDR_NONE;
  const text = cp.trim();
  if (text.length === 0 || text.length > 64) return INADDR_NONE;
  const parts = text.split(".").map(parsePart);
  if (parts.length > 4 || parts.some((p) => !Number.isFinite(p))) return INADDR_NONE;
  const last = parts.pop() as number;
  if (parts.some((p) => p > 0xff)) return INADDR_NONE;
  if (last >= 2 ** (8 * (4 - parts.length))) return INADDR_NONE;
  let host = last;
  parts.forEach((p, i) => {
    host += p * 2 ** (8 * (3 - i));
  });
  return htonl(host);
}

/** `inet_ntoa`: the dotted text of an `in_addr` (`{ s_addr }`), or `null` for a bad argument. */
export function inet_ntoa(inAddr: unknown): string | null {
  try {
    const sAddr = (inAddr as { s_addr?: unknown } | null)?.s_addr;
    return isU32(sAddr) ? sAddrToString(sAddr) : null;
  } catch {
    return null;
  }
}

/** True for a real Uint8Array of at least `size` bytes; runs no code of the caller's. */
function isBytes(value: unknown, size: number): value is Uint8Array {
  try {
    return ArrayBuffer.isView(value) && value instanceof Uint8Array && value.byteLength >= size;
  } catch {
    return false;
  }
}

/** True for an integer in 0..2^32-1. */
export function isU32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/** Parses strict dotted-decimal IPv4 text into 4 bytes, or `null` (also for what is not a string). */
export function parseIPv4(text: string): Uint8Array | null {
  if (typeof text !== "string") return null;
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/**
 * Parses IPv6 text into 16 bytes, or `null` (also for what is not a string), with the rules
 * of `inet_pton`: hexadecimal groups of 1 to 4 digits, at most one `::` standing for at
 * least one zero group, an embedded dotted-quad IPv4 address only as the last 32 bits
 * ("::ffff:1.2.3.4", never "1.2.3.4::5"), and no zone ("fe80::1%1" is not an address).
 */
export function parseIPv6(text: string): Uint8Array | null {
  if (typeof text !== "string") return null;
  if (text.length < 2 || text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  // `endsAddress`: this half holds the address's last group, the only place for IPv4.
  const groups = (s: string, endsAddress: boolean): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (endsAddress && i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (!v4) return null;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(Number.parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] as string, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1] as string, true) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * Formats 16 bytes as RFC 5952 IPv6 text (longest run of zero groups as `::`); `""` for
 * what is not a Uint8Array of at least 16 bytes.
 */
export function formatIPv6(bytes: Uint8Array): string {
  if (!isBytes(bytes, 16)) return "";
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/**
 * `inet_pton(af, src, dst)`: writes the address bytes of `src` into `dst` (4 bytes for
 * `AF_INET`, 16 for `AF_INET6`). Returns 1, 0 when `src` is not an address of that
 * family, or -1 with `WSAEAFNOSUPPORT` (bad family) or `WSAEFAULT` (bad `dst`).
 */
export function inet_pton(af: number, src: unknown, dst: unknown): number {
  if (af !== AF_INET && af !== AF_INET6) {
    setLastError(WSAEAFNOSUPPORT);
    return -1;
  }
  const size = af === AF_INET ? 4 : 16;
  if (typeof src !== "string" || !isBytes(dst, size)) {
    setLastError(WSAEFAULT);
    return -1;
  }
  const bytes = af === AF_INET ? parseIPv4(src) : parseIPv6(src);
  if (!bytes) return 0;
  // The prototype's own set: a subclass of Uint8Array cannot run code of its own here.
  Uint8Array.prototype.set.call(dst, bytes);
  return 1;
}

/**
 * `inet_ntop(af, src)`: the text of 4 (`AF_INET`) or 16 (`AF_INET6`) address bytes,
 * or `null` with `WSAEAFNOSUPPORT` or `WSAEFAULT`.
 */
export function inet_ntop(af: number, src: unknown): string | null {
  if (af !== AF_INET && af !== AF_INET6) {
    setLastError(WSAEAFNOSUPPORT);
    return null;
  }
  const size = af === AF_INET ? 4 : 16;
  if (!isBytes(src, size)) {
    setLastError(WSAEFAULT);
    return null;
  }
  return af === AF_INET ? `${src[0]}.${src[1]}.${src[2]}.${src[3]}` : formatIPv6(src);
}
