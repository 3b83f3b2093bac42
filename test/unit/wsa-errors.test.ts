/**
 * The one Winsock error table, WSA_ERROR_TABLE: one test per row (the facade's constant,
 * wsaErrorName / wsaErrorMessage, a WSAError built from it).
 */
import { describe, expect, it } from "vitest";
import * as ws from "wsasendto";

const facade = ws as unknown as Record<string, unknown>;

describe("WSA_ERROR_TABLE", () => {
  it("has unique names and numbers", () => {
    const names = ws.WSA_ERROR_TABLE.map(([name]) => name);
    const codes = ws.WSA_ERROR_TABLE.map(([, code]) => code);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each(ws.WSA_ERROR_TABLE.map(([name, code, message]) => ({ name, code, message })))(
    "$name = $code",
    ({ name, code, message }) => {
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
});
