/**
 * Progress while a program polls. On Windows the kernel completes I/O while a thread
 * polls with a zero timeout; here completions arrive from Node's event loop, which runs
 * only between macrotasks. A wait that settles without letting the loop turn would let a
 * polling loop (`while (!done) await SleepEx(0, false)`) spin for ever on microtasks, so:
 *
 * - a wait that would end empty-handed (a zero or expired timeout) first lets the loop
 *   turn once ({@link afterTurn}), then looks again;
 * - a wait or blocking call that is satisfied at once, or completes without a turn of the
 *   loop (node:dgram calls back on `process.nextTick`), settles at once, except that every
 *   {@link TURN_EVERY}th such settle in a row lets the loop turn first ({@link settled},
 *   {@link resolveSoon}), so no loop of awaits can starve the loop, and a busy one pays
 *   for one turn in 64.
 *
 * Only a loop with no `await` at all cannot progress: JavaScript never yields there.
 */

import { INFINITE } from "./constants.js";
import { setLastError } from "./last-error.js";

/** The longest delay setTimeout takes (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMEOUT = 0x7fffffff;

/** Settles in a row, without a turn of the loop, after which one is forced. */
export const TURN_EVERY = 64;

let settlesSinceTurn = 0;

/** Runs `fn` after one turn of Node's event loop (its poll phase included). */
export function afterTurn(fn: () => void): NodeJS.Immediate {
  return setImmediate(() => {
    settlesSinceTurn = 0;
    fn();
  });
}

/**
 * Resolves `resolve` with `value`: at once, or after a turn of the loop every
 * {@link TURN_EVERY}th time in a row (completions that arrive on `process.nextTick`, as
 * node:dgram's do, come without a turn). `lastError`, if given, is this thread's last
 * error as the Promise settles (set again after a turn, in which other completions may
 * have set theirs).
 */
export function resolveSoon<T>(resolve: (value: T) => void, value: T, lastError?: number): void {
  if (++settlesSinceTurn < TURN_EVERY) {
    if (lastError !== undefined) setLastError(lastError);
    resolve(value);
    return;
  }
  afterSharedTurn(() => {
    if (lastError !== undefined) setLastError(lastError);
    resolve(value);
  });
}

/** Settles held back for a turn of the loop, released together by one setImmediate. */
let heldForTurn: Array<() => void> = [];

/**
 * Runs `fn` after one turn of the loop, together with every other settle held back in the
 * same turn: all of them in one callback, so the code each one resumes runs in the same
 * run of JavaScript (as it would have without the turn). One setImmediate each would run
 * them one at a time, Node draining the microtasks in between: loops of awaited sends
 * would then take turns, one send each, and never post a burst that coalesces.
 */
function afterSharedTurn(fn: () => void): void {
  heldForTurn.push(fn);
  if (heldForTurn.length > 1) return;
  setImmediate(() => {
    settlesSinceTurn = 0;
    const held = heldForTurn;
    heldForTurn = [];
    for (const release of held) release();
  });
}

/** A Promise of `value`, settled as {@link resolveSoon} settles. */
export function settled<T>(value: T, lastError?: number): Promise<T> {
  if (settlesSinceTurn + 1 < TURN_EVERY) {
    settlesSinceTurn++;
    if (lastError !== undefined) setLastError(lastError);
    return Promise.resolve(value);
  }
  return new Promise((resolve) => resolveSoon(resolve, value, lastError));
}

/**
 * Calls `fn` after `ms` milliseconds: after one turn of the loop for 0, never for
 * `INFINITE`, and in steps for what setTimeout cannot take at once (it fires at once
 * beyond 2^31 - 1 ms). Returns the cancellation.
 */
export function startTimer(ms: number, fn: () => void): () => void {
  if (ms === INFINITE) return () => {};
  if (ms === 0) {
    const immediate = afterTurn(fn);
    return () => clearImmediate(immediate);
  }
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    const step = Math.min(left, MAX_TIMEOUT);
    timer = setTimeout(() => {
      settlesSinceTurn = 0;
      if (left > step) arm(left - step);
      else fn();
    }, step);
  };
  arm(ms);
  return () => clearTimeout(timer);
}
