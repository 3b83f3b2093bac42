/**
 * The one Winsock error table, WSA_ERROR_TABLE: one test per row (the table's row, the
 * facade's constant, wsaErrorName / wsaErrorMessage, a WSAError built from it). Each row's
 * name, number and message are written out here (winerror.h and the Winsock error-code
 * reference), independently of the table under test.
 */
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

const facade = ws as unknown as Record<string, unknown>;

/** Every Winsock error of the library: name, number, Winsock's message. */
const EXPECTED: readonly [string, number, string][] = [
  ["WSA_INVALID_HANDLE", 6, "Specified event object handle is invalid."],
  ["WSA_INVALID_PARAMETER", 87, "One or more parameters are invalid."],
  ["WSA_OPERATION_ABORTED", 995, "Overlapped operation aborted."],
  ["WSA_IO_INCOMPLETE", 996, "Overlapped I/O event object not in signaled state."],
  ["WSA_IO_PENDING", 997, "Overlapped operations will complete later."],
  ["WSAEINTR", 10004, "Interrupted function call."],
  ["WSAEBADF", 10009, "File handle is not valid."],
  ["WSAEACCES", 10013, "Permission denied."],
  ["WSAEFAULT", 10014, "Bad address."],
  ["WSAEINVAL", 10022, "Invalid argument."],
  ["WSAEMFILE", 10024, "Too many open files."],
  ["WSAEWOULDBLOCK", 10035, "Resource temporarily unavailable."],
  ["WSAEINPROGRESS", 10036, "Operation now in progress."],
  ["WSAEALREADY", 10037, "Operation already in progress."],
  ["WSAENOTSOCK", 10038, "Socket operation on nonsocket."],
  ["WSAEDESTADDRREQ", 10039, "Destination address required."],
  ["WSAEMSGSIZE", 10040, "Message too long."],
  ["WSAEPROTOTYPE", 10041, "Protocol wrong type for socket."],
  ["WSAENOPROTOOPT", 10042, "Bad protocol option."],
  ["WSAEPROTONOSUPPORT", 10043, "Protocol not supported."],
  ["WSAESOCKTNOSUPPORT", 10044, "Socket type not supported."],
  ["WSAEOPNOTSUPP", 10045, "Operation not supported."],
  ["WSAEPFNOSUPPORT", 10046, "Protocol family not supported."],
  ["WSAEAFNOSUPPORT", 10047, "Address family not supported by protocol family."],
  ["WSAEADDRINUSE", 10048, "Address already in use."],
  ["WSAEADDRNOTAVAIL", 10049, "Cannot assign requested address."],
  ["WSAENETDOWN", 10050, "Network is down."],
  ["WSAENETUNREACH", 10051, "Network is unreachable."],
  ["WSAENETRESET", 10052, "Network dropped connection on reset."],
  ["WSAECONNABORTED", 10053, "Software caused connection abort."],
  ["WSAECONNRESET", 10054, "Connection reset by peer."],
  ["WSAENOBUFS", 10055, "No buffer space available."],
  ["WSAEISCONN", 10056, "Socket is already connected."],
  ["WSAENOTCONN", 10057, "Socket is not connected."],
  ["WSAESHUTDOWN", 10058, "Cannot send after socket shutdown."],
  ["WSAETIMEDOUT", 10060, "Connection timed out."],
  ["WSAECONNREFUSED", 10061, "Connection refused."],
  ["WSAEHOSTDOWN", 10064, "Host is down."],
  ["WSAEHOSTUNREACH", 10065, "No route to host."],
  ["WSASYSNOTREADY", 10091, "Network subsystem is unavailable."],
  ["WSAVERNOTSUPPORTED", 10092, "Winsock.dll version out of range."],
  ["WSANOTINITIALISED", 10093, "Successful WSAStartup not yet performed."],
  ["WSAEINVALIDPROVIDER", 10105, "Service provider is invalid."],
  ["WSAEPROVIDERFAILEDINIT", 10106, "Service provider failed to initialize."],
];

describe("WSA_ERROR_TABLE", () => {
  it("has unique names and numbers", () => {
    const names = ws.WSA_ERROR_TABLE.map(([name]) => name);
    const codes = ws.WSA_ERROR_TABLE.map(([, code]) => code);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("has exactly the expected rows, in order", () => {
    expect(ws.WSA_ERROR_TABLE.map(([name]) => name)).toEqual(EXPECTED.map(([name]) => name));
  });

  it.each(EXPECTED.map(([name, code, message]) => ({ name: name as ws.WSAErrorName, code, message })))(
    "$name = $code",
    ({ name, code, message }) => {
      expect(ws.WSA_ERROR_TABLE.find(([n]) => n === name)).toEqual([name, code, message]);
      expect(facade[name]).toBe(code);
      expect(ws.WSA_ERRORS[name]).toBe(code);
      expect(ws.wsaErrorName(code)).toBe(name);
      expect(ws.wsaErrorMessage(code)).toBe(message);
      const e = new ws.WSAError(code, "unitTest");
      expect(e).toBeInstanceOf(Error);
      expect(e.name).toBe("WSAError");
      expect(e.code).toBe(name);
      expect(e.errno).toBe(code);
      expect(e.syscall).toBe("unitTest");
      expect(e.message).toBe(`unitTest: ${name} (${code}): ${message}`);
    },
  );

  it("a number outside the table has no name and a generic message", () => {
    expect(ws.wsaErrorName(0)).toBeUndefined();
    expect(ws.wsaErrorName(12345)).toBeUndefined();
    expect(ws.wsaErrorMessage(12345)).toBe("Unknown Winsock error 12345.");
  });

  it("WSAError takes a cause and a message of the caller's", () => {
    const cause = new Error("EMSGSIZE from the OS");
    const e = new ws.WSAError(ws.WSAEMSGSIZE, "sendTo", { cause, message: "custom" });
    expect(e.cause).toBe(cause);
    expect(e.message).toBe("custom");
    expect(e.code).toBe("WSAEMSGSIZE");
  });

  it("new WSAError() with no arguments is a WSAEINVAL error", () => {
    const Ctor = ws.WSAError as unknown as new () => ws.WSAError;
    const e = new Ctor();
    expect(e).toBeInstanceOf(ws.WSAError);
    expect(e.code).toBe("WSAEINVAL");
    expect(e.errno).toBe(10022);
    expect(e.syscall).toBe("");
    expect(e.message).toBe("WSAEINVAL (10022): Invalid argument.");
  });

  it("WSAError never throws: hostile arguments give a WSAEINVAL error, unreadable options are left out", () => {
    const Ctor = ws.WSAError as unknown as new (...args: unknown[]) => ws.WSAError;
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const throwing = {
      valueOf() {
        throw new Error("hostile");
      },
      get message(): string {
        throw new Error("hostile");
      },
      get cause(): unknown {
        throw new Error("hostile");
      },
    };
    for (const v of [Symbol("x"), revoked.proxy, throwing, 10040n, Number.NaN, 1.5, null]) {
      const e = new Ctor(v, v, v);
      expect(e.errno).toBe(10022);
      expect(e.code).toBe("WSAEINVAL");
      expect(e.syscall).toBe("");
      expect(e.message).toBe("WSAEINVAL (10022): Invalid argument.");
      const named = new Ctor(10040, "sendTo", v);
      expect(named.message).toBe("sendTo: WSAEMSGSIZE (10040): Message too long.");
    }
  });

  it("wsaErrorMessage and wsaErrorName answer for anything, never throw", () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const loose = ws.wsaErrorMessage as (c: unknown) => string;
    const looseName = ws.wsaErrorName as (c: unknown) => unknown;
    for (const v of [Symbol("x"), revoked.proxy, 10040n, {}, undefined]) {
      expect(loose(v)).toBe("Unknown Winsock error.");
      expect(looseName(v)).toBeUndefined();
    }
  });
});
