/**
 * Event objects (`WSAEVENT`, manual-reset, as `WSACreateEvent` makes them) and
 * `WSAWaitForMultipleEvents`. Waits cannot block JavaScript: they are Promises.
 */
import { addAlertableWaiter, apcsRunnable, runApcs } from "./apc.js";
import {
  WSA_INVALID_HANDLE,
  WSA_INVALID_PARAMETER,
  WSA_MAXIMUM_WAIT_EVENTS,
  WSA_WAIT_EVENT_0,
  WSA_WAIT_FAILED,
  WSA_WAIT_IO_COMPLETION,
  WSA_WAIT_TIMEOUT,
} from "./constants.js";
import { isU32 } from "./inet.js";
import { setLastError } from "./last-error.js";
import { settled, startTimer } from "./progress.js";

/** A Winsock event object: what `WSACreateEvent()` returns. Opaque: use the WSA calls. */
export class WSAEVENT {
  /** @internal */ signalled = false;
  /** @internal */ readonly waiters = new Set<() => void>();
}

// Events created and not yet closed. A WeakSet lookup runs no code of the caller's (an
// `instanceof` would run a Proxy's traps).
const liveEvents = new WeakSet<object>();

/** True for an event that was created and not closed. */
export function isLiveEvent(e: unknown): e is WSAEVENT {
  return typeof e === "object" && e !== null && liveEvents.has(e);
}

/** Signals an event and wakes its waits (internal: no last-error changes). */
export function signalEvent(e: WSAEVENT): void {
  e.signalled = true;
  if (e.waiters.size > 0) for (const wake of [...e.waiters]) wake();
}

/** `WSACreateEvent()`: a new manual-reset event, not signalled. */
export function WSACreateEvent(): WSAEVENT {
  const e = new WSAEVENT();
  liveEvents.add(e);
  return e;
}

function withEvent(e: unknown, action: (ev: WSAEVENT) => void): boolean {
  if (!isLiveEvent(e)) {
    setLastError(WSA_INVALID_HANDLE);
    return false;
  }
  action(e);
  return true;
}

/** `WSACloseEvent(hEvent)`: `true`, or `false` with `WSA_INVALID_HANDLE`. */
export function WSACloseEvent(hEvent: unknown): boolean {
  return withEvent(hEvent, (e) => {
    liveEvents.delete(e);
  });
}

/** `WSASetEvent(hEvent)`: `true`, or `false` with `WSA_INVALID_HANDLE`. */
export function WSASetEvent(hEvent: unknown): boolean {
  return withEvent(hEvent, signalEvent);
}

/** `WSAResetEvent(hEvent)`: `true`, or `false` with `WSA_INVALID_HANDLE`. */
export function WSAResetEvent(hEvent: unknown): boolean {
  return withEvent(hEvent, (e) => {
    e.signalled = false;
  });
}

/** The first `count` events of the caller's array, each live, or the error. */
function captureEvents(lphEvents: unknown, count: number): WSAEVENT[] | number {
  try {
    if (!Array.isArray(lphEvents) || lphEvents.length < count) return WSA_INVALID_PARAMETER;
    const events: WSAEVENT[] = [];
    for (let i = 0; i < count; i++) {
      const e: unknown = lphEvents[i];
      if (!isLiveEvent(e)) return WSA_INVALID_HANDLE;
      events.push(e);
    }
    return events;
  } catch {
    // A Proxy or a getter of the caller's threw while the array was read.
    return WSA_INVALID_PARAMETER;
  }
}

function failed(code: number): Promise<number> {
  return settled(WSA_WAIT_FAILED, code);
}

/**
 * `WSAWaitForMultipleEvents(cEvents, lphEvents, fWaitAll, dwTimeout, fAlertable)`: a
 * Promise of `WSA_WAIT_EVENT_0 + i`, `WSA_WAIT_TIMEOUT`, `WSA_WAIT_IO_COMPLETION` (an
 * alertable wait that ran completion routines) or `WSA_WAIT_FAILED` with the last error
 * `WSA_INVALID_PARAMETER` or `WSA_INVALID_HANDLE`.
 */
export function WSAWaitForMultipleEvents(
  cEvents: number,
  lphEvents: readonly (WSAEVENT | null)[],
  fWaitAll: boolean,
  dwTimeout: number,
  fAlertable: boolean,
): Promise<number> {
  if (!Number.isInteger(cEvents) || cEvents < 1 || cEvents > WSA_MAXIMUM_WAIT_EVENTS) return failed(WSA_INVALID_PARAMETER);
  if (!isU32(dwTimeout)) return failed(WSA_INVALID_PARAMETER);
  const live = captureEvents(lphEvents, cEvents);
  if (typeof live === "number") return failed(live);
  const satisfied = (): number => {
    if (fWaitAll) return live.every((e) => e.signalled) ? 0 : -1;
    return live.findIndex((e) => e.signalled);
  };
  const now = satisfied();
  if (now >= 0) return settled(WSA_WAIT_EVENT_0 + now);
  if (fAlertable && apcsRunnable()) {
    runApcs();
    return settled(WSA_WAIT_IO_COMPLETION);
  }
  return new Promise((resolve) => {
    let removeAlertable: (() => void) | undefined;
    const finish = (value: number) => {
      stop();
      removeAlertable?.();
      for (const e of live) e.waiters.delete(onSignal);
      resolve(value);
    };
    const onSignal = () => {
      const i = satisfied();
      if (i >= 0) finish(WSA_WAIT_EVENT_0 + i);
    };
    for (const e of live) e.waiters.add(onSignal);
    if (fAlertable) removeAlertable = addAlertableWaiter(() => finish(WSA_WAIT_IO_COMPLETION));
    // Any time below WSA_INFINITE is waited in full; 0 lets Node's loop turn once, so
    // that what completes in that turn can still signal (a polling loop progresses).
    const stop = startTimer(dwTimeout, () => {
      if (fAlertable && apcsRunnable()) {
        runApcs();
        finish(WSA_WAIT_IO_COMPLETION);
      } else finish(WSA_WAIT_TIMEOUT);
    });
  });
}
