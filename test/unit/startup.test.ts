/**
 * WSAStartup / WSACleanup: version negotiation, reference counting, and the choice of
 * backend through WSASENDTO_BACKEND (read at WSAStartup). This file starts from a never
 * started facade and leaves every test balanced (count back to 0).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as ws from "wsasendto";
import { BACKENDS, hasBackend } from "../backends.js";

const DEFAULT = BACKENDS[0]?.name ?? "dgram";

function cleanupAll(): number {
  let n = 0;
  while (n < 10 && ws.WSACleanup() === 0) n++;
  return n;
}

describe("WSAStartup", () => {
  let savedEnv: string | undefined;
  beforeEach(() => {
    savedEnv = process.env.WSASENDTO_BACKEND;
    process.env.WSASENDTO_BACKEND = DEFAULT;
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.WSASENDTO_BACKEND;
    else process.env.WSASENDTO_BACKEND = savedEnv;
    expect(cleanupAll(), "the test left Winsock started").toBe(0);
  });

  it("backendName() is 'none' before WSAStartup", () => {
    expect(ws.backendName()).toBe("none");
  });

  it("2.2: wVersion 0x0202, wHighVersion 0x0202, descriptions filled", () => {
    const data: ws.WSADATA = {};
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), data)).toBe(0);
    expect(data.wVersion).toBe(0x0202);
    expect(data.wHighVersion).toBe(0x0202);
    expect(typeof data.szDescription).toBe("string");
    expect(typeof data.szSystemStatus).toBe("string");
    expect(ws.WSACleanup()).toBe(0);
  });

  it("0.0 is not supported: WSAVERNOTSUPPORTED, and nothing is started", () => {
    expect(ws.WSAStartup(ws.MAKEWORD(0, 0), {})).toBe(ws.WSAVERNOTSUPPORTED);
    expect(ws.WSAStartup(ws.MAKEWORD(0, 2), {})).toBe(ws.WSAVERNOTSUPPORTED);
    expect(ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0)).toBe(ws.INVALID_SOCKET);
    expect(ws.WSAGetLastError()).toBe(ws.WSANOTINITIALISED);
  });

  it("1.1 is granted as 1.1 (wVersion 0x0101)", () => {
    const data: ws.WSADATA = {};
    expect(ws.WSAStartup(ws.MAKEWORD(1, 1), data)).toBe(0);
    expect(data.wVersion).toBe(0x0101);
    expect(data.wHighVersion).toBe(0x0202);
    expect(ws.WSACleanup()).toBe(0);
  });

  it("3.0 is granted as the highest version, 2.2 (wVersion 0x0202)", () => {
    const data: ws.WSADATA = {};
    expect(ws.WSAStartup(ws.MAKEWORD(3, 0), data)).toBe(0);
    expect(data.wVersion).toBe(0x0202);
    expect(ws.WSACleanup()).toBe(0);
  });

  it("lpWSAData may be omitted or null; a non-object lpWSAData is WSAEFAULT", () => {
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2))).toBe(0);
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), null)).toBe(0);
    const loose = ws.WSAStartup as unknown as (...a: unknown[]) => number;
    expect(loose(ws.MAKEWORD(2, 2), 42)).toBe(ws.WSAEFAULT);
    expect(ws.WSACleanup()).toBe(0);
    expect(ws.WSACleanup()).toBe(0);
    expect(ws.WSACleanup()).toBe(ws.SOCKET_ERROR);
  });

  it("is reference counted: sockets work until the last WSACleanup, which closes them", () => {
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(0);
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(0);
    const s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
    expect(s).not.toBe(ws.INVALID_SOCKET);
    expect(ws.WSACleanup()).toBe(0);
    const t = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
    expect(t, "still started after one of two cleanups").not.toBe(ws.INVALID_SOCKET);
    expect(ws.closesocket(t)).toBe(0);
    expect(ws.WSACleanup()).toBe(0);
    expect(ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP)).toBe(ws.INVALID_SOCKET);
    expect(ws.WSAGetLastError()).toBe(ws.WSANOTINITIALISED);
    expect(ws.closesocket(s)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSANOTINITIALISED);
    expect(ws.WSACleanup()).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSANOTINITIALISED);
  });

  it.each(BACKENDS.map((b) => b.name))("WSASENDTO_BACKEND=%s selects that backend; backendName() says so", (name) => {
    process.env.WSASENDTO_BACKEND = name;
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(0);
    expect(ws.backendName()).toBe(name);
    expect(ws.WSACleanup()).toBe(0);
    expect(ws.backendName()).toBe("none");
  });

  it(
    hasBackend("native")
      ? "WSASENDTO_BACKEND=native starts the native backend"
      : "WSASENDTO_BACKEND=native: WSAStartup returns WSASYSNOTREADY (10091), no native backend in this build",
    () => {
      process.env.WSASENDTO_BACKEND = "native";
      const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
      if (hasBackend("native")) {
        expect(rc).toBe(0);
        expect(ws.backendName()).toBe("native");
        expect(ws.WSACleanup()).toBe(0);
      } else {
        expect(rc).toBe(10091);
        expect(rc).toBe(ws.WSASYSNOTREADY);
        expect(ws.backendUnavailableReason()).toContain("native");
        // Not silently another backend: nothing started.
        expect(ws.backendName()).toBe("none");
        expect(ws.WSACleanup()).toBe(ws.SOCKET_ERROR);
      }
    },
  );

  it("an unknown backend name: WSASYSNOTREADY, nothing started", () => {
    process.env.WSASENDTO_BACKEND = "no-such-backend";
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(ws.WSASYSNOTREADY);
    expect(ws.backendUnavailableReason()).toContain("no-such-backend");
    expect(ws.backendName()).toBe("none");
    expect(ws.WSACleanup()).toBe(ws.SOCKET_ERROR);
  });

  it("the version is checked before the backend: 0.0 with an unavailable backend is WSAVERNOTSUPPORTED", () => {
    process.env.WSASENDTO_BACKEND = "no-such-backend";
    expect(ws.WSAStartup(ws.MAKEWORD(0, 0), {})).toBe(ws.WSAVERNOTSUPPORTED);
  });

  it("auto (and an empty value) picks a backend of the registry: native where it loads, else dgram", () => {
    for (const value of ["auto", ""]) {
      process.env.WSASENDTO_BACKEND = value;
      expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(0);
      expect(ws.backendName()).toBe(hasBackend("native") ? "native" : "dgram");
      expect(ws.WSACleanup()).toBe(0);
    }
  });

  it("the backend is read at WSAStartup: a later change of WSASENDTO_BACKEND does not affect a started facade", () => {
    process.env.WSASENDTO_BACKEND = DEFAULT;
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(0);
    process.env.WSASENDTO_BACKEND = "no-such-backend";
    expect(ws.WSAStartup(ws.MAKEWORD(2, 2), {})).toBe(0);
    expect(ws.backendName()).toBe(DEFAULT);
    expect(ws.WSACleanup()).toBe(0);
    expect(ws.WSACleanup()).toBe(0);
  });
});
