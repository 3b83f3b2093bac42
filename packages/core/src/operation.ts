/**
 * One send (later also receive) operation from start to its single completion, and the
 * `WSAOVERLAPPED` structure that a caller watches it through.
 */
import { queueApc } from "./apc.js";
import { STATUS_PENDING } from "./constants.js";
import { isLiveEvent, signalEvent, type WSAEVENT } from "./events.js";
import { ntstatusOf } from "./ntstatus.js";
import type { Endpoint } from "./sockaddr.js";

/**
 * `WSAOVERLAPPED`: `new WSAOVERLAPPED()` is zeroed. While an operation is in flight
 * `Internal` is `STATUS_PENDING` (0x103); once it completes, `Internal` holds the NTSTATUS
 * Windows puts there (0 for success, `STATUS_BUFFER_OVERFLOW` for a truncated datagram,
 * `STATUS_CANCELLED` when aborted) and `InternalHigh` the bytes transferred; the Winsock
 * code is what `WSAGetOverlappedResult` reports.
 */
export class WSAOVERLAPPED {
  Internal = 0;
  InternalHigh = 0;
  Offset = 0;
  OffsetHigh = 0;
  hEvent: WSAEVENT | null = null;
}

/**
 * `HasOverlappedIoCompleted(lpOverlapped)`: `Internal !== STATUS_PENDING`, as the C macro;
 * false while the operation is in flight. Always a boolean, never a throw: for what is not
 * a readable structure (`null`, a Symbol, a revoked Proxy, a throwing `Internal` getter)
 * it is true, since no operation of this library is in flight there, so that a loop that
 * polls it ends and the call that follows (`WSAGetOverlappedResult`) reports the error.
 */
export function HasOverlappedIoCompleted(lpOverlapped: WSAOVERLAPPED): boolean {
  try {
    return (lpOverlapped as { Internal?: unknown } | null | undefined)?.Internal !== STATUS_PENDING;
  } catch {
    return true;
  }
}

/** `LPWSAOVERLAPPED_COMPLETION_ROUTINE`. */
export type CompletionRoutine = (dwError: number, cbTransferred: number, lpOverlapped: WSAOVERLAPPED, dwFlags: number) => void;

/** What a backend calls, exactly once, when an operation it accepted as pending ends. */
export interface Completion {
  /** `status` is a Winsock code (0: success); `cause` the OS or Node error, if any. */
  complete(status: number, bytes: number, cause?: unknown): void;
}

/** A receive's completion: the backend sets the source and the flags before `complete`. */
export interface ReceiveCompletion extends Completion {
  /** The datagram's source. */
  from: Endpoint | null;
  /** Flags of the received message: `MSG_PARTIAL` when it did not fit. */
  flags: number;
}

/** Where an operation reports to when it ends (the owning socket's bookkeeping). */
export interface OperationOwner {
  operationEnded(op: Operation): void;
}

const operations = new WeakMap<WSAOVERLAPPED, Operation>();

/** The operation last started with this overlapped structure, if any. */
export function operationOf(ov: WSAOVERLAPPED): Operation | undefined {
  return operations.get(ov);
}

/**
 * An operation. It completes exactly once: later calls of `complete` are ignored, so
 * a backend error path and a close can never report it twice.
 */
export class Operation implements ReceiveCompletion {
  done = false;
  status = 0;
  bytes = 0;
  from: Endpoint | null = null;
  flags = 0;
  cause: unknown = undefined;
  owner: OperationOwner | null = null;
  /**
   * Whether the socket's limit on outstanding sends applies: to every operation but the
   * facade's blocking calls, which Winsock never counts as overlapped.
   */
  limited = true;
  #waiters: Array<() => void> | null = null;
  #internalBefore = 0;
  #internalHighBefore = 0;

  constructor(
    readonly overlapped: WSAOVERLAPPED | null,
    readonly routine: CompletionRoutine | null,
    readonly onDone: ((op: Operation) => void) | null,
  ) {
    if (overlapped) {
      // The structure is written first and registered only then: one that refuses to be
      // written (frozen, throwing accessors) throws here and leaves no operation behind.
      this.#internalBefore = overlapped.Internal;
      this.#internalHighBefore = overlapped.InternalHigh;
      overlapped.Internal = STATUS_PENDING;
      overlapped.InternalHigh = 0;
      const event: unknown = routine ? null : overlapped.hEvent;
      operations.set(overlapped, this);
      // As NtDeviceIoControlFile does, starting an operation resets its event.
      if (isLiveEvent(event)) event.signalled = false;
    }
  }

  complete(status: number, bytes: number, cause?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.status = status;
    // A failed send reports 0 bytes; a truncated receive (WSAEMSGSIZE) what did fit.
    this.bytes = bytes;
    this.cause = cause;
    this.owner?.operationEnded(this);
    const ov = this.overlapped;
    if (ov) {
      const routine = this.routine;
      // The caller's structure is written and read here, from the backend's callback: a
      // hostile one (a throwing accessor added after the call) must not throw out of it.
      let event: unknown = null;
      try {
        // Windows keeps the request's NTSTATUS here; the Winsock code stays with the
        // operation (WSAGetOverlappedResult, the routine's dwError).
        ov.Internal = status === 0 ? 0 : ntstatusOf(status);
        ov.InternalHigh = this.bytes;
        if (!routine) event = ov.hEvent;
      } catch {
        // Nothing of the caller's to report through; the routine still runs.
      }
      if (routine) {
        // dwFlags: what lpFlags would have held on immediate completion (MSG_PARTIAL for
        // a truncated datagram); 0 for sends.
        const n = this.bytes;
        const flags = this.flags;
        queueApc(() => routine(status, n, ov, flags));
      } else if (isLiveEvent(event)) {
        signalEvent(event);
      }
    }
    this.onDone?.(this);
    if (this.#waiters) for (const w of this.#waiters.splice(0)) w();
  }

  /** Forgets an operation that failed before it started (no completion will come). */
  abandon(): void {
    this.done = true;
    const ov = this.overlapped;
    if (ov) {
      operations.delete(ov);
      ov.Internal = this.#internalBefore;
      ov.InternalHigh = this.#internalHighBefore;
    }
  }

  /** Resolves once the operation has completed. */
  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters ??= [];
      this.#waiters.push(resolve);
    });
  }
}
