/**
 * Shared checks of the synchronous-error files: a WSASendTo that Winsock refuses before
 * anything is sent returns its error at once (synchronously when overlapped, as a
 * resolved Promise otherwise), gives no completion indication (no routine, no event,
 * the WSAOVERLAPPED untouched), and the idiomatic API throws/rejects a WSAError.
 */
import { expect } from "vitest";
import { bufs, ref, ws } from "../helpers.js";

/** How the failing call is made: blocking, overlapped with an event, overlapped with a routine. */
export type Mode = "blocking" | "event" | "routine";
export const MODES: readonly Mode[] = ["blocking", "event", "routine"];

/** WSASendTo's arguments, any of which a case may replace with something malformed. */
export interface SendToArgs {
  s: unknown;
  lpBuffers: unknown;
  dwBufferCount: unknown;
  lpNumberOfBytesSent: unknown;
  dwFlags: unknown;
  lpTo: unknown;
  iTolen: unknown;
  lpOverlapped: unknown;
  lpCompletionRoutine: unknown;
}

type Loose = (...args: unknown[]) => number | Promise<number>;

/** Calls WSASendTo with arguments the types would not allow. */
export function looseWSASendTo(a: SendToArgs): number | Promise<number> {
  return (ws.WSASendTo as unknown as Loose)(
    a.s,
    a.lpBuffers,
    a.dwBufferCount,
    a.lpNumberOfBytesSent,
    a.dwFlags,
    a.lpTo,
    a.iTolen,
    a.lpOverlapped,
    a.lpCompletionRoutine,
  );
}

/** Calls WSASend with arguments the types would not allow. */
export function looseWSASend(a: Omit<SendToArgs, "lpTo" | "iTolen">): number | Promise<number> {
  return (ws.WSASend as unknown as Loose)(
    a.s,
    a.lpBuffers,
    a.dwBufferCount,
    a.lpNumberOfBytesSent,
    a.dwFlags,
    a.lpOverlapped,
    a.lpCompletionRoutine,
  );
}

/** The completion side of one call: what must stay silent when the call fails. */
interface Watch {
  readonly ov: ws.WSAOVERLAPPED | null;
  readonly routineCalls: number[];
}

/** Default arguments of a valid call in `mode` from socket `s` to `to`. */
export function validArgs(mode: Mode, s: number, to: ws.SOCKADDR | null): { args: SendToArgs; watch: Watch } {
  const routineCalls: number[] = [];
  const ov = mode === "blocking" ? null : new ws.WSAOVERLAPPED();
  if (ov && mode === "event") ov.hEvent = ws.WSACreateEvent();
  const args: SendToArgs = {
    s,
    lpBuffers: bufs("payload"),
    dwBufferCount: 1,
    lpNumberOfBytesSent: mode === "blocking" ? ref() : null,
    dwFlags: 0,
    lpTo: to,
    iTolen: to ? ws.sizeof(to) : 0,
    lpOverlapped: ov,
    lpCompletionRoutine: mode === "routine" ? (e: number) => routineCalls.push(e) : null,
  };
  return { args, watch: { ov, routineCalls } };
}

function isOverlappedCall(a: SendToArgs): boolean {
  const given = (v: unknown): boolean => v !== null && v !== undefined;
  return given(a.lpOverlapped) || given(a.lpCompletionRoutine);
}

/**
 * Makes the call (through `call`, WSASendTo by default) and asserts: SOCKET_ERROR with
 * `code`, returned synchronously when overlapped and as a Promise otherwise, and no
 * completion indication of any kind.
 */
export async function expectCallFails(
  args: SendToArgs,
  watch: Watch,
  code: number,
  call: (a: SendToArgs) => number | Promise<number> = looseWSASendTo,
): Promise<void> {
  ws.WSASetLastError(0);
  const result = call(args);
  if (isOverlappedCall(args)) expect(result, "an overlapped call returns synchronously").not.toBeInstanceOf(Promise);
  else expect(result, "a non-overlapped call returns a Promise").toBeInstanceOf(Promise);
  const rc = await result;
  expect(rc).toBe(ws.SOCKET_ERROR);
  expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe(ws.wsaErrorName(code));
  // "Any other error code indicates that the overlapped operation was not successfully
  // initiated and no completion indication will occur."
  if (watch.ov) {
    expect(watch.ov.Internal).toBe(0);
    expect(ws.HasOverlappedIoCompleted(watch.ov)).toBe(true);
    if (watch.ov.hEvent) {
      expect(await ws.WSAWaitForMultipleEvents(1, [watch.ov.hEvent], true, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
    }
  }
  expect(await ws.SleepEx(0, true)).toBe(0);
  expect(watch.routineCalls).toEqual([]);
}

/** Shorthand: a WSASendTo in `mode` from `s` to `to`, with `change` applied, fails with `code`. */
export async function expectSendToFails(
  mode: Mode,
  s: number,
  to: ws.SOCKADDR | null,
  code: number,
  change: Partial<SendToArgs> = {},
): Promise<void> {
  const { args, watch } = validArgs(mode, s, to);
  await expectCallFails({ ...args, ...change }, watch, code);
}

/**
 * The idiomatic API: sendToOverlapped throws the WSAError synchronously (syscall
 * "sendTo"), and sendTo returns a Promise that rejects with it (it does not throw).
 */
export async function expectIdiomaticFails(
  sock: ws.UdpSocket,
  buffers: unknown,
  to: unknown,
  code: ws.WSAErrorName,
  options?: ws.SendOptions,
): Promise<void> {
  const b = buffers as Uint8Array;
  const t = to as ws.Address;
  let syncError: unknown;
  try {
    sock.sendToOverlapped(b, t, options);
  } catch (e) {
    syncError = e;
  }
  expect(syncError).toBeInstanceOf(ws.WSAError);
  expect((syncError as ws.WSAError).code).toBe(code);
  expect((syncError as ws.WSAError).errno).toBe(ws.WSA_ERRORS[code]);
  expect((syncError as ws.WSAError).syscall).toBe("sendTo");
  let promise: Promise<ws.SendResult> | undefined;
  expect(() => {
    promise = sock.sendTo(b, t, options);
  }).not.toThrow();
  const rejected = await promise?.then(
    () => "resolved",
    (e: unknown) => e,
  );
  expect(rejected).toBeInstanceOf(ws.WSAError);
  expect((rejected as ws.WSAError).code).toBe(code);
}
