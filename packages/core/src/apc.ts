/**
 * The completion-routine queue of this thread (Windows' user-mode APC queue) and the
 * alertable waits that run it. Module state is per isolate, so a worker thread has
 * its own queue, as each Windows thread has its own.
 *
 * Routines run only inside an alertable wait (`SleepEx(ms, true)`, an alertable
 * `WSAWaitForMultipleEvents`), never inside the call that queued them (a wait that is
 * already pending is woken from a microtask, after the current call has returned), and
 * never nested: a wait begun by a routine does not run routines until the running
 * ones have returned.
 */
import { WAIT_IO_COMPLETION } from "./constants.js";
import { isU32 } from "./inet.js";
import { settled, startTimer } from "./progress.js";

type Apc = () => void;

const queue: Array<Apc | undefined> = [];
let head = 0;
let draining = false;
let wakeScheduled = false;
const alertableWaiters = new Set<() => void>();

/** Queues a routine to run in this thread's next alertable wait. */
export function queueApc(apc: Apc): void {
  queue.push(apc);
  scheduleWake();
}

/** True when routines are queued and may run now (not from inside a routine). */
export function apcsRunnable(): boolean {
  return head < queue.length && !draining;
}

/** Runs every queued routine, also those queued while running; the wait then ends. */
export function runApcs(): void {
  if (draining) return;
  draining = true;
  try {
    while (head < queue.length) {
      const apc = queue[head] as Apc;
      queue[head++] = undefined;
      try {
        apc();
      } catch (error) {
        // A routine's exception is the caller's bug: report it as C would crash, but
        // only after the queue has been run, so no other operation loses its routine.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    queue.length = 0;
    head = 0;
  } finally {
    draining = false;
  }
}

/** Registers a pending alertable wait; returns its removal. */
export function addAlertableWaiter(wake: () => void): () => void {
  alertableWaiters.add(wake);
  if (head < queue.length) scheduleWake();
  return () => alertableWaiters.delete(wake);
}

function scheduleWake(): void {
  if (wakeScheduled || alertableWaiters.size === 0) return;
  wakeScheduled = true;
  queueMicrotask(wake);
}

function wake(): void {
  wakeScheduled = false;
  if (!apcsRunnable() || alertableWaiters.size === 0) return;
  const waiters = [...alertableWaiters];
  alertableWaiters.clear();
  runApcs();
  for (const w of waiters) w();
}

/**
 * `SleepEx(dwMilliseconds, bAlertable)`: a Promise of 0 after the time, or of
 * `WAIT_IO_COMPLETION` when it was alertable and ran completion routines. Any time below
 * `INFINITE` is waited in full; 0 lets Node's loop turn once (pending I/O progresses, as
 * it does on Windows while a thread polls), then ends.
 */
export function SleepEx(dwMilliseconds: number, bAlertable: boolean): Promise<number> {
  const ms = isU32(dwMilliseconds) ? dwMilliseconds : 0;
  if (bAlertable && apcsRunnable()) {
    runApcs();
    return settled(WAIT_IO_COMPLETION);
  }
  return new Promise((resolve) => {
    let remove: (() => void) | undefined;
    const finish = (value: number) => {
      stop();
      remove?.();
      resolve(value);
    };
    if (bAlertable) remove = addAlertableWaiter(() => finish(WAIT_IO_COMPLETION));
    const stop = startTimer(ms, () => {
      // After a turn of the loop, routines queued by what completed in it run now.
      if (bAlertable && apcsRunnable()) {
        runApcs();
        finish(WAIT_IO_COMPLETION);
      } else finish(0);
    });
  });
}
