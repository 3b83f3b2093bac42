/**
 * Socket addresses: the C shapes (`SOCKADDR_IN`, `SOCKADDR_IN6`) that the facade takes,
 * and the {@link Endpoint} that the core and the backends use. All checks of an address
 * live here, once.
 */
import { AF_INET, AF_INET6, AF_UNSPEC, WSAEADDRNOTAVAIL, WSAEAFNOSUPPORT, WSAEFAULT } from "./constants.js";
import { formatIPv6, htons, isU32, ntohs, parseIPv4, parseIPv6, sAddrToString } from "./inet.js";

/** `IN_ADDR`: an IPv4 address in network byte order. */
export interface IN_ADDR {
  s_addr: number;
}

/** `SOCKADDR_IN`: port and address in network byte order, as in C. */
export interface SOCKADDR_IN {
  sin_family: number;
  sin_port: number;
  sin_addr: IN_ADDR;
}

/** `SOCKADDR_IN6`: port in network byte order, address as 16 bytes. */
export interface SOCKADDR_IN6 {
  sin6_family: number;
  sin6_port: number;
  sin6_flowinfo: number;
  sin6_addr: Uint8Array;
  sin6_scope_id: number;
}

/** Either address shape. */
export type SOCKADDR = SOCKADDR_IN | SOCKADDR_IN6;

/** IP version of an endpoint. */
export type IPFamily = 4 | 6;

/** An address as the core and the backends see it: canonical text and a host-order port. */
export interface Endpoint {
  readonly family: IPFamily;
  /** Canonical text: dotted IPv4, RFC 5952 IPv6. */
  readonly address: string;
  readonly port: number;
}

/** Sizes of the address structures, for `iTolen`/`namelen`. */
export const SIZEOF_SOCKADDR_IN = 16;
export const SIZEOF_SOCKADDR_IN6 = 28;

/** `sizeof(addr)` for the address shapes: 16 for a `SOCKADDR_IN`, 28 for a `SOCKADDR_IN6`, else 0. */
export function sizeof(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  try {
    const v = value as Partial<SOCKADDR_IN> & Partial<SOCKADDR_IN6>;
    if (v.sin6_family === AF_INET6 || v.sin6_addr !== undefined) return SIZEOF_SOCKADDR_IN6;
    if (v.sin_family === AF_INET || v.sin_addr !== undefined) return SIZEOF_SOCKADDR_IN;
    return 0;
  } catch {
    // Fields that cannot be read (a revoked Proxy, a throwing getter): not an address.
    return 0;
  }
}

/** The IP family of a Winsock address family, or 0. */
export function ipFamilyOf(af: number): IPFamily | 0 {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : 0;
}

const isU16 = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;
const isOptionalU32 = (v: unknown): boolean => v === undefined || isU32(v);

// One-entry caches: a loop sending to the same address converts it once.
let last4: Endpoint = { family: 4, address: "0.0.0.0", port: 0 };
let last4Addr = 0;
let last6: Endpoint = { family: 6, address: "::", port: 0 };
const last6Bytes = new Uint8Array(16);

/**
 * The address of an endpoint in its C form (an IPv4 `s_addr`, or the 16 bytes of an IPv6
 * address), kept with the endpoint once it was written out: a receive writing the same
 * source into lpFrom again and again parses its text once.
 */
const addressBytes = new WeakMap<Endpoint, number | Uint8Array>();

function endpoint4(sAddr: number, port: number): Endpoint {
  if (sAddr !== last4Addr || port !== last4.port) {
    last4 = { family: 4, address: sAddrToString(sAddr), port };
    last4Addr = sAddr;
  }
  return last4;
}

function endpoint6(bytes: Uint8Array, port: number): Endpoint {
  let same = port === last6.port;
  for (let i = 0; same && i < 16; i++) same = bytes[i] === last6Bytes[i];
  if (!same) {
    last6Bytes.set(bytes.subarray(0, 16));
    last6 = { family: 6, address: formatIPv6(last6Bytes), port };
  }
  return last6;
}

/**
 * Reads a C-shaped address of `len` bytes. Returns the {@link Endpoint}, or a Winsock
 * error: `WSAEFAULT` for a missing or malformed structure or a `len` too small for its
 * family, `WSAEAFNOSUPPORT` for a family that is neither `AF_INET` nor `AF_INET6`.
 */
export function readSockaddr(addr: unknown, len: unknown): Endpoint | number {
  if (typeof addr !== "object" || addr === null || !Number.isInteger(len)) return WSAEFAULT;
  const n = len as number;
  const a = addr as Partial<SOCKADDR_IN> & Partial<SOCKADDR_IN6>;
  if (a.sin_family === AF_INET) {
    if (n < SIZEOF_SOCKADDR_IN) return WSAEFAULT;
    const sAddr = (a.sin_addr as { s_addr?: unknown } | undefined)?.s_addr;
    if (!isU16(a.sin_port) || !isU32(sAddr)) return WSAEFAULT;
    return endpoint4(sAddr, ntohs(a.sin_port));
  }
  if (a.sin6_family === AF_INET6) {
    if (n < SIZEOF_SOCKADDR_IN6) return WSAEFAULT;
    const bytes = a.sin6_addr;
    if (!isU16(a.sin6_port) || !(bytes instanceof Uint8Array) || bytes.byteLength < 16) return WSAEFAULT;
    if (!isOptionalU32(a.sin6_flowinfo) || !isOptionalU32(a.sin6_scope_id)) return WSAEFAULT;
    return endpoint6(bytes, ntohs(a.sin6_port));
  }
  return n < SIZEOF_SOCKADDR_IN ? WSAEFAULT : WSAEAFNOSUPPORT;
}

/**
 * Reads an address given as text and a port (the idiomatic API's spelling). Returns the
 * {@link Endpoint}, `WSAEFAULT` for wrong types, or `WSAEADDRNOTAVAIL` when the text is
 * not an IP literal (no name lookups: a send never waits for DNS).
 */
export function parseEndpoint(address: unknown, port: unknown): Endpoint | number {
  if (typeof address !== "string" || !isU16(port)) return WSAEFAULT;
  if (address === lastText && port === lastParsed.port) return lastParsed;
  const ep = parseText(address, port);
  if (typeof ep !== "number") {
    lastText = address;
    lastParsed = ep;
  }
  return ep;
}

// The idiomatic API's one-entry cache: the same text and port parse once.
let lastText = "0.0.0.0";
let lastParsed: Endpoint = { family: 4, address: "0.0.0.0", port: 0 };

function parseText(address: string, port: number): Endpoint | number {
  const v4 = parseIPv4(address);
  if (v4) return endpoint4(bytesToSAddr(v4), port);
  const v6 = parseIPv6(address);
  if (v6) return endpoint6(v6, port);
  return WSAEADDRNOTAVAIL;
}

/** The network-order `s_addr` of four address bytes. */
export function bytesToSAddr(b: Uint8Array): number {
  return ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
}

/** The network-order `s_addr` of an IPv4 endpoint (0 for text that is not an address). */
function sAddrOf(ep: Endpoint): number {
  if (ep === last4) return last4Addr;
  if (ep === WILDCARD4) return 0;
  const known = addressBytes.get(ep);
  if (typeof known === "number") return known;
  const bytes = parseIPv4(ep.address);
  const sAddr = bytes ? bytesToSAddr(bytes) : 0;
  addressBytes.set(ep, sAddr);
  return sAddr;
}

/** A new copy of the 16 bytes of an IPv6 endpoint (zeros for text that is not an address). */
function in6AddrOf(ep: Endpoint): Uint8Array {
  const known = addressBytes.get(ep);
  if (known instanceof Uint8Array) return known.slice();
  const bytes = parseIPv6(ep.address.replace(/%.*$/, "")) ?? new Uint8Array(16);
  addressBytes.set(ep, bytes.slice());
  return bytes;
}

/** Fills a caller's object (an out-parameter) with the C shape of `ep`; returns its size. */
export function writeSockaddr(target: Record<string, unknown>, ep: Endpoint): number {
  if (ep.family === 4) {
    const sAddr = sAddrOf(ep);
    target.sin_family = AF_INET;
    target.sin_port = htons(ep.port);
    target.sin_addr = { s_addr: sAddr };
    return SIZEOF_SOCKADDR_IN;
  }
  target.sin6_family = AF_INET6;
  target.sin6_port = htons(ep.port);
  target.sin6_flowinfo = 0;
  target.sin6_addr = in6AddrOf(ep);
  target.sin6_scope_id = 0;
  return SIZEOF_SOCKADDR_IN6;
}

/** The size of the C shape of a family. */
export function sockaddrSize(family: IPFamily): number {
  return family === 4 ? SIZEOF_SOCKADDR_IN : SIZEOF_SOCKADDR_IN6;
}

const WILDCARD4: Endpoint = Object.freeze({ family: 4, address: "0.0.0.0", port: 0 });
const WILDCARD6: Endpoint = Object.freeze({ family: 6, address: "::", port: 0 });
addressBytes.set(WILDCARD4, 0);
addressBytes.set(WILDCARD6, new Uint8Array(16));

/** The wildcard endpoint of a family (one shared object for port 0). */
export function wildcard(family: IPFamily, port = 0): Endpoint {
  if (port === 0) return family === 4 ? WILDCARD4 : WILDCARD6;
  return { family, address: family === 4 ? "0.0.0.0" : "::", port };
}

/** True for the unspecified address (`INADDR_ANY`, `::`, and `INADDR_ANY` v4-mapped). */
export function isWildcard(ep: Endpoint): boolean {
  return ep.address === "0.0.0.0" || ep.address === "::" || ep.address === "::ffff:0.0.0.0";
}

/** True for the limited broadcast address (also v4-mapped, as a dual-stack socket names it). */
export function isBroadcast(ep: Endpoint): boolean {
  return ep.address === "255.255.255.255" || ep.address === "::ffff:255.255.255.255";
}

/** True for an IPv4 address written the IPv6 way (`::ffff:a.b.c.d`, RFC 4291's v4-mapped form). */
export function isV4Mapped(ep: Endpoint): boolean {
  // formatIPv6 writes every v4-mapped address in this one form.
  return ep.family === 6 && ep.address.startsWith("::ffff:") && ep.address.includes(".");
}

/**
 * True for an address structure of family `AF_UNSPEC` (0), which `connect` takes to
 * dissolve a datagram socket's association: a `SOCKADDR` (`sa_family`) or either shape
 * with its family field 0. Reads fields only; a field that throws is the caller's to catch.
 */
export function isUnspecifiedFamily(addr: unknown): boolean {
  if (typeof addr !== "object" || addr === null) return false;
  const a = addr as { sa_family?: unknown; sin_family?: unknown; sin6_family?: unknown };
  return a.sa_family === AF_UNSPEC || a.sin_family === AF_UNSPEC || a.sin6_family === AF_UNSPEC;
}
