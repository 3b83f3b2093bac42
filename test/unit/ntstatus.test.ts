/**
 * NTSTATUS_OF_WSA: what WSAOVERLAPPED.Internal holds once an operation completes with a
 * Winsock code. One test per row; the expected NTSTATUS values are written out here from
 * ntstatus.h (not read from the table), each the status that Windows' own translation
 * (msafd's NtStatusToSocketError) turns back into the row's Winsock code.
 */
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

const EXPECTED: readonly [string, number, number][] = [
  ["success", 0, 0x00000000],
  ["WSAEMSGSIZE", 10040, 0x80000005], // STATUS_BUFFER_OVERFLOW
  ["WSA_OPERATION_ABORTED", 995, 0xc0000120], // STATUS_CANCELLED
  ["WSAEINTR", 10004, 0xc0000120], // STATUS_CANCELLED
  ["WSAECONNRESET", 10054, 0xc000023f], // STATUS_PORT_UNREACHABLE
  ["WSAENETUNREACH", 10051, 0xc000023c], // STATUS_NETWORK_UNREACHABLE
  ["WSAEHOSTUNREACH", 10065, 0xc000023d], // STATUS_HOST_UNREACHABLE
  ["WSAEHOSTDOWN", 10064, 0xc0000350], // STATUS_HOST_DOWN
  ["WSAENOBUFS", 10055, 0xc000009a], // STATUS_INSUFFICIENT_RESOURCES
  ["WSAEFAULT", 10014, 0xc0000005], // STATUS_ACCESS_VIOLATION
  ["WSAEINVAL", 10022, 0xc000000d], // STATUS_INVALID_PARAMETER
  ["WSAEACCES", 10013, 0xc0000022], // STATUS_ACCESS_DENIED
  ["WSAENOTSOCK", 10038, 0xc0000008], // STATUS_INVALID_HANDLE
  ["WSAEADDRNOTAVAIL", 10049, 0xc0000141], // STATUS_INVALID_ADDRESS
  ["WSAEADDRINUSE", 10048, 0xc000020a], // STATUS_ADDRESS_ALREADY_EXISTS
  ["WSAENETDOWN", 10050, 0xc00000c4], // STATUS_UNEXPECTED_NETWORK_ERROR
  ["WSAESHUTDOWN", 10058, 0xc00000b0], // STATUS_PIPE_DISCONNECTED
  ["WSAEWOULDBLOCK", 10035, 0xc00000a3], // STATUS_DEVICE_NOT_READY
  ["WSAEOPNOTSUPP", 10045, 0xc00000bb], // STATUS_NOT_SUPPORTED
  ["WSAECONNREFUSED", 10061, 0xc0000236], // STATUS_CONNECTION_REFUSED
  ["WSAENOTCONN", 10057, 0xc0000140], // STATUS_INVALID_CONNECTION
  ["WSAETIMEDOUT", 10060, 0xc00000b5], // STATUS_IO_TIMEOUT
  ["WSAECONNABORTED", 10053, 0xc0000241], // STATUS_CONNECTION_ABORTED
];

describe("NTSTATUS_OF_WSA", () => {
  it.each(EXPECTED)("%s (%i) -> NTSTATUS %i", (_name, code, ntstatus) => {
    expect(ws.NTSTATUS_OF_WSA.get(code)).toBe(ntstatus);
  });

  it("has exactly these rows", () => {
    expect([...ws.NTSTATUS_OF_WSA.keys()].sort((a, b) => a - b)).toEqual(EXPECTED.map(([, code]) => code).sort((a, b) => a - b));
  });

  it("the constants CONTRACT.md names", () => {
    expect(ws.STATUS_PENDING).toBe(0x103);
    expect(ws.STATUS_BUFFER_OVERFLOW).toBe(0x80000005);
    expect(ws.STATUS_CANCELLED).toBe(0xc0000120);
  });
});
