/**
 * The completion-routine queue of this thread (Windows' user-mode APC queue) and the
 * alertable waits that run it. Module state is per isolate, so a worker thread has
 * its own queue, as each Windows thread has its own.
 *
 * Routines run only inside an alertable wait (`SleepEx(ms, true)`, an alertable
 * `WSAWaitForMultipleEvents`), never inside the call that queued them, and never nested:
 * a wait begun by a routine does not run routines until the running ones have returned.
 * A wait that is already pending is woken once the current turn of Node's loop has
 * delivered its I/O (setImmediate), and then runs every routine queued by then: the native
 * addon on Windows hands over a turn's completions one callback each, with the microtasks
 * drained between them, so a wake from a microtask would end the wait after the first
 * routine and leave the rest, one more wait each (a loop that polls with
 * `SleepEx(0, true)` between bursts then fell behind its own sends).
 */
import { INFINITE, WAIT_IO_COMPLETION } from "./constants.js";
import { isU32 } from "./inet.js";
import { afterTurn, settled } from "./progress.js";

type Apc = () => void;

/** A queue array longer than this is let go after a drain (one that grew in a burst). */
const MAX_KEPT_QUEUE = 1024;

/** A pending alertable wait: `alerted` ends it once routines ran. */
export interface AlertableWaiter {
  alerted(): void;
}

// The queue: queue[head..tail) waits to run. Its array is kept between drains (emptied,
// not truncated, unless it grew large): a routine queued per completion then never
// reallocates it.
const queue: Array<Apc | undefined> = [];
let head = 0;
let tail = 0;
let draining = false;
let wakeScheduled = false;
/** Pending alertable waits, oldest first (an array: one is added and removed per wait). */
const alertableWaiters: AlertableWaiter[] = [];

/** Queues a routine to run in this thread's next alertable wait. */
export function queueApc(apc: Apc): void {
  queue[tail++] = apc;
  scheduleWake();
}

/** True when routines are queued and may run now (not from inside a routine). */
export function apcsRunnable(): boolean {
  return head < tail && !draining;
}

/** Runs every queued routine, also those queued while running; the wait then ends. */
export function runApcs(): void {
  if (draining) return;
  draining = true;
  try {
    while (head < tail) {
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
    head = 0;
    tail = 0;
    if (queue.length > MAX_KEPT_QUEUE) queue.length = 0;
  } finally {
    draining = false;
  }
}

/** Registers a pending alertable wait (until {@link removeAlertableWaiter} or its `alerted`). */
export function addAlertableWaiter(waiter: AlertableWaiter): void {
  if (alertableWaiters.includes(waiter)) return;
  alertableWaiters.push(waiter);
  if (head < tail) scheduleWake();
}

/** Withdraws a pending alertable wait. */
export function removeAlertableWaiter(waiter: AlertableWaiter): void {
  const at = alertableWaiters.indexOf(waiter);
  if (at < 0) return;
  for (let i = at; i < alertableWaiters.length - 1; i++) alertableWaiters[i] = alertableWaiters[i + 1] as AlertableWaiter;
  alertableWaiters.pop();
}

function scheduleWake(): void {
  if (wakeScheduled || alertableWaiters.length === 0) return;
  wakeScheduled = true;
  // After this turn's I/O callbacks (the whole batch of completions), not in a microtask.
  setImmediate(wake);
}

function wake(): void {
  wakeScheduled = false;
  if (!apcsRunnable() || alertableWaiters.length === 0) return;
  // The waits pending now end; a wait begun by a routine is not among them. (Emptied by
  // pop, not by length = 0, which would let the array go and make the next push allocate.)
  if (alertableWaiters.length === 1) {
    const only = alertableWaiters.pop() as AlertableWaiter;
    runApcs();
    only.alerted();
    return;
  }
  const waiters = alertableWaiters.slice();
  while (alertableWaiters.length > 0) alertableWaiters.pop();
  runApcs();
  for (const w of waiters) w.alerted();
}

// ---------------------------------------------------------------------------------
// Timeouts of waits

/** The longest delay setTimeout takes (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMEOUT = 0x7fffffff;

/** A wait with a finite, non-zero timeout: `expire` runs once its time is up, unless removed first. */
export interface TimedWait {
  /** When it expires, on performance.now()'s clock. */
  deadline: number;
  /** Where it is among the pending timed waits (-1: not pending). */
  timedIndex: number;
  expire(): void;
}

// Every timed wait of this thread shares one Node timer, armed for the earliest deadline:
// a wait that ends early (the common case: its event or routine came) only leaves the
// array, where a timer of its own would cost a setTimeout and a clearTimeout per wait. The
// timer keeps the process alive only while some wait is pending (ref'd), as a wait's own did.
/** The pending timed waits, in no order; each knows its index (removal in O(1)). */
const timedWaits: TimedWait[] = [];
let timer: NodeJS.Timeout | undefined;
let timerAt = Number.POSITIVE_INFINITY;
let timerRefed = false;

/** Starts the timeout of `wait`: `ms` below `INFINITE` and above 0, waited in full. */
export function addTimedWait(wait: TimedWait, ms: number): void {
  const deadline = performance.now() + ms;
  wait.deadline = deadline;
  wait.timedIndex = timedWaits.length;
  timedWaits.push(wait);
  if (deadline < timerAt) armTimer(deadline);
  else if (!timerRefed) {
    (timer as NodeJS.Timeout).ref();
    timerRefed = true;
  }
}

/** Stops the timeout of `wait` (it ended otherwise); nothing if it was not pending. */
export function removeTimedWait(wait: TimedWait): void {
  const at = wait.timedIndex;
  if (at < 0 || timedWaits[at] !== wait) return;
  wait.timedIndex = -1;
  const last = timedWaits.pop() as TimedWait;
  if (last !== wait) {
    timedWaits[at] = last;
    last.timedIndex = at;
  }
  if (timedWaits.length === 0 && timerRefed) {
    (timer as NodeJS.Timeout).unref();
    timerRefed = false;
  }
}

function armTimer(at: number): void {
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timerRefed = true;
  // In steps of at most 2^31 - 1 ms; a timer that fires before the deadline re-arms.
  timer = setTimeout(onTimer, Math.min(MAX_TIMEOUT, Math.max(1, Math.ceil(at - performance.now()))));
}

function onTimer(): void {
  timer = undefined;
  timerAt = Number.POSITIVE_INFINITY;
  timerRefed = false;
  const now = performance.now();
  const due: TimedWait[] = [];
  let next = Number.POSITIVE_INFINITY;
  for (const wait of timedWaits) {
    if (wait.deadline <= now) due.push(wait);
    else if (wait.deadline < next) next = wait.deadline;
  }
  for (const wait of due) removeTimedWait(wait);
  if (next !== Number.POSITIVE_INFINITY) armTimer(next);
  for (const wait of due) wait.expire();
}

/**
 * A pending wait, `SleepEx`'s or `WSAWaitForMultipleEvents`': it ends exactly once, with
 * `WAIT_IO_COMPLETION` when it is alertable and completion routines ran, with `timedOut`
 * when its time is up, or with what a subclass decides (a signalled event). Any time below
 * `INFINITE` is waited in full; 0 lets Node's loop turn once (pending I/O progresses, as it
 * does on Windows while a thread polls), then ends.
 */
export abstract class PendingWait implements AlertableWaiter, TimedWait {
  deadline = 0;
  timedIndex = -1;
  #done = false;
  #immediate: NodeJS.Immediate | undefined = undefined;

  constructor(
    readonly resolve: (value: number) => void,
    readonly alertable: boolean,
    readonly timedOut: number,
  ) {}

  /** Starts waiting `ms` milliseconds (and for routines, when alertable). */
  protected start(ms: number): void {
    if (this.alertable) addAlertableWaiter(this);
    if (ms === 0) this.#immediate = afterTurn(() => this.expire());
    else if (ms !== INFINITE) addTimedWait(this, ms);
  }

  alerted(): void {
    this.finish(WAIT_IO_COMPLETION);
  }

  expire(): void {
    if (this.#done) return;
    // After a turn of the loop, routines queued by what completed in it run now.
    if (this.alertable && apcsRunnable()) {
      runApcs();
      this.finish(WAIT_IO_COMPLETION);
    } else this.finish(this.timedOut);
  }

  /** Ends the wait with `value`, once. */
  protected finish(value: number): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    else removeTimedWait(this);
    if (this.alertable) removeAlertableWaiter(this);
    this.ended();
    this.resolve(value);
  }

  /** What a subclass undoes when the wait ends, before it resolves. */
  protected ended(): void {}
}

/** A pending `SleepEx`: 0 when its time is up. */
class Sleep extends PendingWait {
  constructor(resolve: (value: number) => void, alertable: boolean, ms: number) {
    super(resolve, alertable, 0);
    this.start(ms);
  }
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
    new Sleep(resolve, Boolean(bAlertable), ms);
  });
}
