/**
 * The values of CONTRACT.md "Values", each checked against the literal written there,
 * and sizeof.
 */
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

const facade = ws as unknown as Record<string, unknown>;

/** Copied from CONTRACT.md, "Values". */
const CONTRACT_VALUES: readonly [string, number | null][] = [
  ["AF_INET", 2],
  ["AF_INET6", 23],
  ["SOCK_DGRAM", 2],
  ["IPPROTO_UDP", 17],
  ["MSG_OOB", 1],
  ["MSG_PEEK", 2],
  ["MSG_DONTROUTE", 4],
  ["MSG_PARTIAL", 0x8000],
  ["SOL_SOCKET", 0xffff],
  ["SO_BROADCAST", 0x20],
  ["SO_MAX_MSG_SIZE", 0x2003],
  ["SD_RECEIVE", 0],
  ["SD_SEND", 1],
  ["SD_BOTH", 2],
  ["WSA_FLAG_OVERLAPPED", 1],
  ["SOCKET_ERROR", -1],
  ["INADDR_ANY", 0],
  ["INADDR_NONE", 0xffffffff],
  ["WSA_INFINITE", 0xffffffff],
  ["WSA_WAIT_EVENT_0", 0],
  ["WSA_WAIT_TIMEOUT", 258],
  ["WSA_WAIT_IO_COMPLETION", 0xc0],
  ["WAIT_IO_COMPLETION", 0xc0],
  ["WSA_WAIT_FAILED", 0xffffffff],
  ["WSA_MAXIMUM_WAIT_EVENTS", 64],
  ["WSA_INVALID_EVENT", null],
  ["INVALID_SOCKET", 0xffffffff],
  ["INADDR_BROADCAST", 0xffffffff],
  ["INADDR_LOOPBACK", 0x7f000001],
  ["WSA_IO_PENDING", 997],
  ["WSA_IO_INCOMPLETE", 996],
  ["WSA_OPERATION_ABORTED", 995],
  ["WSA_INVALID_HANDLE", 6],
  ["WSA_INVALID_PARAMETER", 87],
  ["WSAEINTR", 10004],
  ["WSAEACCES", 10013],
  ["WSAEFAULT", 10014],
  ["WSAEINVAL", 10022],
  ["WSAEWOULDBLOCK", 10035],
  ["WSAEINPROGRESS", 10036],
  ["WSAENOTSOCK", 10038],
  ["WSAEDESTADDRREQ", 10039],
  ["WSAEMSGSIZE", 10040],
  ["WSAEOPNOTSUPP", 10045],
  ["WSAEAFNOSUPPORT", 10047],
  ["WSAEADDRNOTAVAIL", 10049],
  ["WSAENETDOWN", 10050],
  ["WSAENETUNREACH", 10051],
  ["WSAENETRESET", 10052],
  ["WSAECONNRESET", 10054],
  ["WSAENOBUFS", 10055],
  ["WSAENOTCONN", 10057],
  ["WSAESHUTDOWN", 10058],
  ["WSAEHOSTUNREACH", 10065],
  ["WSASYSNOTREADY", 10091],
  ["WSAVERNOTSUPPORTED", 10092],
  ["WSANOTINITIALISED", 10093],
];

describe("CONTRACT.md values", () => {
  it.each(CONTRACT_VALUES)("%s = %s", (name, value) => {
    expect(name in facade, `${name} is exported`).toBe(true);
    expect(facade[name]).toBe(value);
  });

  it("every error code of the contract is in the error table", () => {
    for (const [name, value] of CONTRACT_VALUES) {
      if (/^WSA(E|_IO|_OPERATION|_INVALID_(HANDLE|PARAMETER)|SYS|VER|NOT)/.test(name)) {
        expect(ws.wsaErrorName(value as number), name).toBe(name);
      }
    }
  });
});

describe("sizeof", () => {
  it("is 16 for a SOCKADDR_IN and 28 for a SOCKADDR_IN6", () => {
    const v4: ws.SOCKADDR_IN = { sin_family: ws.AF_INET, sin_port: ws.htons(9), sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
    const v6: ws.SOCKADDR_IN6 = {
      sin6_family: ws.AF_INET6,
      sin6_port: ws.htons(9),
      sin6_flowinfo: 0,
      sin6_addr: new Uint8Array(16),
      sin6_scope_id: 0,
    };
    expect(ws.sizeof(v4)).toBe(16);
    expect(ws.sizeof(v6)).toBe(28);
  });

  it("is 0 for what is not an address structure", () => {
    for (const v of [null, undefined, 16, "sockaddr", {}, { sin_family: 99 }]) expect(ws.sizeof(v)).toBe(0);
  });
});

describe("MAKEWORD", () => {
  it("puts the low byte first, as in C", () => {
    expect(ws.MAKEWORD(2, 2)).toBe(0x0202);
    expect(ws.MAKEWORD(1, 1)).toBe(0x0101);
    expect(ws.MAKEWORD(3, 0)).toBe(0x0003);
    expect(ws.MAKEWORD(0x1ff, 0x102)).toBe(0x02ff);
  });
});
