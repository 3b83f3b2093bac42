/**
 * The one OS -> Winsock translation table, OS_ERROR_TO_WSA: one test per row.
 */
import { constants } from "node:os";
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

const ROWS = Object.entries(ws.OS_ERROR_TO_WSA);
const ERRNO: Readonly<Record<string, number>> = constants.errno;

describe("OS_ERROR_TO_WSA", () => {
  it("is frozen and maps only to codes of WSA_ERROR_TABLE", () => {
    expect(Object.isFrozen(ws.OS_ERROR_TO_WSA)).toBe(true);
    expect(ROWS.length).toBeGreaterThan(30);
    for (const [name, code] of ROWS) expect(ws.wsaErrorName(code), name).toBeDefined();
  });

  it.each(ROWS)("%s -> %i (by name, by Node error object, by errno and its negative)", (name, code) => {
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
