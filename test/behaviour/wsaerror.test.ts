/**
 * The idiomatic API's failures are WSAError objects: `code` (the Winsock name), `errno`
 * (its number), `syscall`, a message with both, `instanceof Error`.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, hasBackend } from "../backends.js";
import { LOOPBACK4, openIdiomatic, openReceiver, T, thrown, ws } from "../helpers.js";

describe.each(BACKENDS)("WSAError fields on $name", (backend) => {
  it("a send refused before sending: code, errno, syscall, message, instanceof Error", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    const e = thrown(() => sock.sendToOverlapped(Buffer.alloc(65508), { address: LOOPBACK4, port: rx.port }));
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(ws.WSAError);
    const err = e as ws.WSAError;
    expect(err.name).toBe("WSAError");
    expect(err.code).toBe("WSAEMSGSIZE");
    expect(err.errno).toBe(10040);
    expect(err.syscall).toBe("sendTo");
    expect(err.message).toContain("WSAEMSGSIZE");
    expect(err.message).toContain("10040");
    expect(err.message).toContain(ws.wsaErrorMessage(10040));
    expect(typeof err.stack).toBe("string");
  });

  it("the rejection of sendTo carries the same fields", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    const err = await sock.sendTo(Buffer.from("x"), { address: "0.0.0.0", port: rx.port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ws.WSAError);
    expect(err).toMatchObject({ code: "WSAEADDRNOTAVAIL", errno: 10049, syscall: "sendTo", name: "WSAError" });
  });

  it("connect errors name the connect call", T, ({ onTestFinished }) => {
    const sock = openIdiomatic(backend, onTestFinished);
    const err = thrown(() => sock.connect({ address: "255.255.255.255", port: 9 }));
    expect(err).toMatchObject({ code: "WSAEACCES", errno: 10013, syscall: "connect" });
  });

  it("openUdpSocket errors: a port in use (bind), an unknown family (open)", T, ({ onTestFinished }) => {
    const first = openIdiomatic(backend, onTestFinished, { bind: { address: LOOPBACK4, port: 0 } });
    const port = first.localAddress()?.port ?? 0;
    expect(port).toBeGreaterThan(0);
    const inUse = thrown(() => ws.openUdpSocket({ backend: backend.name, bind: { address: LOOPBACK4, port } }));
    expect(inUse).toBeInstanceOf(ws.WSAError);
    expect(inUse).toMatchObject({ code: "WSAEADDRINUSE", errno: 10048, syscall: "bind" });
    const family = thrown(() => ws.openUdpSocket({ backend: backend.name, family: "ipv5" as "ipv4" }));
    expect(family).toMatchObject({ code: "WSAEAFNOSUPPORT", errno: 10047, syscall: "open" });
  });
});

describe("WSAError for backends that cannot load", () => {
  it(
    hasBackend("native")
      ? "backend: native opens a socket on the native backend"
      : "backend: native throws WSASYSNOTREADY (10091): no native backend in this build",
    () => {
      const result = thrown(() => ws.openUdpSocket({ backend: "native" }).close());
      if (hasBackend("native")) expect(result).toBeUndefined();
      else expect(result).toMatchObject({ code: "WSASYSNOTREADY", errno: 10091, syscall: "open" });
    },
  );

  it("an unknown backend name throws WSASYSNOTREADY", () => {
    const result = thrown(() => ws.openUdpSocket({ backend: "bogus" as "dgram" }));
    expect(result).toBeInstanceOf(ws.WSAError);
    expect(result).toMatchObject({ code: "WSASYSNOTREADY", errno: 10091 });
  });

  it("WSAError can be built from any table code", () => {
    const e = new ws.WSAError(ws.WSAENOBUFS, "custom", { cause: "why" });
    expect(e).toMatchObject({ code: "WSAENOBUFS", errno: 10055, syscall: "custom", cause: "why" });
  });
});
