/**
 * The one OS -> Winsock translation table, OS_ERROR_TO_WSA: one test per row. Each row's
 * expected code is stated here, independently of the table under test: the rule
 * "EFOO -> WSAEFOO" for the names it covers, and the exceptions written out one by one,
 * each with its Winsock number as a literal.
 */
import { constants } from "node:os";
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

const ERRNO: Readonly<Record<string, number>> = constants.errno;

/** The Winsock numbers the rows use, written out (winsock2.h / winerror.h). */
const WSA: Readonly<Record<string, number>> = {
  WSA_OPERATION_ABORTED: 995,
  WSAEINTR: 10004,
  WSAEACCES: 10013,
  WSAEFAULT: 10014,
  WSAEINVAL: 10022,
  WSAEMFILE: 10024,
  WSAEWOULDBLOCK: 10035,
  WSAEINPROGRESS: 10036,
  WSAEALREADY: 10037,
  WSAENOTSOCK: 10038,
  WSAEDESTADDRREQ: 10039,
  WSAEMSGSIZE: 10040,
  WSAEPROTOTYPE: 10041,
  WSAENOPROTOOPT: 10042,
  WSAEPROTONOSUPPORT: 10043,
  WSAESOCKTNOSUPPORT: 10044,
  WSAEOPNOTSUPP: 10045,
  WSAEPFNOSUPPORT: 10046,
  WSAEAFNOSUPPORT: 10047,
  WSAEADDRINUSE: 10048,
  WSAEADDRNOTAVAIL: 10049,
  WSAENETDOWN: 10050,
  WSAENETUNREACH: 10051,
  WSAENETRESET: 10052,
  WSAECONNABORTED: 10053,
  WSAECONNRESET: 10054,
  WSAENOBUFS: 10055,
  WSAEISCONN: 10056,
  WSAENOTCONN: 10057,
  WSAESHUTDOWN: 10058,
  WSAETIMEDOUT: 10060,
  WSAEHOSTDOWN: 10064,
  WSAEHOSTUNREACH: 10065,
};

/** The errno names that follow the rule EFOO -> WSAEFOO. */
const BY_RULE = [
  "EINTR",
  "ENOTSOCK",
  "EACCES",
  "EFAULT",
  "EINVAL",
  "EMFILE",
  "EWOULDBLOCK",
  "EINPROGRESS",
  "EALREADY",
  "EDESTADDRREQ",
  "EMSGSIZE",
  "EPROTOTYPE",
  "ENOPROTOOPT",
  "EPROTONOSUPPORT",
  "ESOCKTNOSUPPORT",
  "EOPNOTSUPP",
  "EPFNOSUPPORT",
  "EAFNOSUPPORT",
  "EADDRINUSE",
  "EADDRNOTAVAIL",
  "ENETDOWN",
  "ENETUNREACH",
  "ENETRESET",
  "ECONNABORTED",
  "ECONNRESET",
  "ENOBUFS",
  "EISCONN",
  "ENOTCONN",
  "ESHUTDOWN",
  "ETIMEDOUT",
  "EHOSTDOWN",
  "EHOSTUNREACH",
] as const;

/** The exceptions to the rule, written out: where Windows (or this library) says otherwise. */
const EXCEPTIONS: Readonly<Record<string, string>> = {
  EBADF: "WSAENOTSOCK",
  EPERM: "WSAEACCES",
  ENFILE: "WSAEMFILE",
  EAGAIN: "WSAEWOULDBLOCK",
  ENOTSUP: "WSAEOPNOTSUPP",
  // UDP: Windows reports an ICMP port-unreachable as WSAECONNRESET.
  ECONNREFUSED: "WSAECONNRESET",
  ENOMEM: "WSAENOBUFS",
  EPIPE: "WSAESHUTDOWN",
  ECANCELED: "WSA_OPERATION_ABORTED",
  ERR_SOCKET_DGRAM_NOT_RUNNING: "WSAENOTSOCK",
  ERR_SOCKET_DGRAM_IS_CONNECTED: "WSAEISCONN",
  ERR_SOCKET_DGRAM_NOT_CONNECTED: "WSAENOTCONN",
  ERR_SOCKET_BAD_PORT: "WSAEADDRNOTAVAIL",
  ERR_SOCKET_BUFFER_SIZE: "WSAENOBUFS",
  ERR_INVALID_ARG_TYPE: "WSAEFAULT",
  ERR_INVALID_ARG_VALUE: "WSAEINVAL",
  ERR_OUT_OF_RANGE: "WSAEINVAL",
};

/** Every row the table must have, with its expected number (from the literals above). */
const EXPECTED: readonly [string, string, number][] = [
  ...BY_RULE.map((name): [string, string, number] => [name, `WSA${name}`, WSA[`WSA${name}`] as number]),
  ...Object.entries(EXCEPTIONS).map(([name, wsa]): [string, string, number] => [name, wsa, WSA[wsa] as number]),
];

describe("OS_ERROR_TO_WSA", () => {
  it("the expectations are complete: a Winsock number for every expected row", () => {
    for (const [name, wsa, code] of EXPECTED) expect(code, `${name} -> ${wsa}`).toBeTypeOf("number");
  });

  it("is frozen and has exactly the expected rows", () => {
    expect(Object.isFrozen(ws.OS_ERROR_TO_WSA)).toBe(true);
    expect(Object.keys(ws.OS_ERROR_TO_WSA).sort()).toEqual(EXPECTED.map(([name]) => name).sort());
  });

  it.each(EXPECTED)("%s -> %s (%i) in the table, by name, by Node error object, by errno and its negative", (name, wsa, code) => {
    expect(ws.OS_ERROR_TO_WSA[name]).toBe(code);
    expect(ws.wsaErrorName(code)).toBe(wsa);
    expect(ws.wsaFromOsError(name)).toBe(code);
    // A Node error carries the name in `code`.
    const err = Object.assign(new Error(name), { code: name });
    expect(ws.wsaFromOsError(err)).toBe(code);
    const errno = ERRNO[name];
    if (errno !== undefined) {
      // Native backends report positive errno numbers, Node's err.errno is the negative libuv code.
      expect(ws.wsaFromOsError(errno)).toBe(code);
      expect(ws.wsaFromOsError(-errno)).toBe(code);
      expect(ws.wsaFromOsError({ errno: -errno })).toBe(code);
      expect(ws.errnoName(errno)).toBeDefined();
    }
  });

  it("the rows Windows fixes by hand: UDP's ECONNREFUSED is WSAECONNRESET, EAGAIN and EWOULDBLOCK are WSAEWOULDBLOCK", () => {
    expect(ws.wsaFromOsError("ECONNREFUSED")).toBe(ws.WSAECONNRESET);
    expect(ws.wsaFromOsError("EAGAIN")).toBe(ws.WSAEWOULDBLOCK);
    expect(ws.wsaFromOsError("EWOULDBLOCK")).toBe(ws.WSAEWOULDBLOCK);
    expect(ws.wsaFromOsError("EMSGSIZE")).toBe(ws.WSAEMSGSIZE);
    expect(ws.wsaFromOsError("ECANCELED")).toBe(ws.WSA_OPERATION_ABORTED);
  });

  it("anything unknown becomes the fallback (WSAEINVAL unless given)", () => {
    for (const unknown of ["ENOTANERRNO", 123456, -123456, null, undefined, {}, { code: "NOPE" }, Symbol("x")]) {
      expect(ws.wsaFromOsError(unknown)).toBe(ws.WSAEINVAL);
      expect(ws.wsaFromOsError(unknown, ws.WSAENETDOWN)).toBe(ws.WSAENETDOWN);
    }
  });

  it("a real Node error from node:dgram translates by its code", async () => {
    const dgram = await import("node:dgram");
    const a = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => a.bind(0, "127.0.0.1", () => resolve()));
    const b = dgram.createSocket("udp4");
    const err = await new Promise<unknown>((resolve) => {
      b.once("error", resolve);
      b.bind({ port: a.address().port, address: "127.0.0.1", exclusive: true });
    });
    b.close();
    a.close();
    expect(ws.wsaFromOsError(err)).toBe(ws.WSAEADDRINUSE);
  });
});
