/**
 * Event objects (`WSAEVENT`, manual-reset, as `WSACreateEvent` makes them) and
 * `WSAWaitForMultipleEvents`. Waits cannot block JavaScript: they are Promises.
 */
import { apcsRunnable, PendingWait, runApcs } from "./apc.js";
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
import { settled } from "./progress.js";

// The event lists registered on an event, kept in a private field (out of the caller's
// reach: a signal from a backend's callback must not run into a value put there).
let listsOf: (e: WSAEVENT) => EventList[] | null;
let setLists: (e: WSAEVENT, lists: EventList[] | null) => void;

/** A Winsock event object: what `WSACreateEvent()` returns. Opaque: use the WSA calls. */
export class WSAEVENT {
  /** @internal */ signalled = false;
  #lists: EventList[] | null = null;

  static {
    listsOf = (e) => e.#lists;
    setLists = (e, lists) => {
      e.#lists = lists;
    };
  }
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
  const lists = listsOf(e);
  if (lists === null) return;
  if (lists.length === 1) (lists[0] as EventList).signal();
  else for (const list of [...lists]) list.signal();
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
    closes++;
    // No cached list may name a closed event: the next wait on it fails, as before.
    const lists = listsOf(e);
    if (lists !== null) for (const list of [...lists]) list.uncache();
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

// ---------------------------------------------------------------------------------
// Waits

/**
 * The events of an `lphEvents` array as a wait captured them, each live, registered on
 * each of its events for as long as it is cached or waited on. A program waits on the
 * same events again and again (a server's WSAWaitForMultipleEvents loop): a cached list
 * makes the next wait on the same events cost a comparison per event, and a signal cost
 * O(1) per list, instead of registering and removing a waiter on every event per wait.
 */
class EventList {
  /** Waits pending on these events, oldest first. */
  readonly waits: Wait[] = [];
  #cached = true;

  constructor(readonly events: readonly WSAEVENT[]) {
    for (const e of events) {
      const lists = listsOf(e);
      if (lists === null) setLists(e, [this]);
      else if (!lists.includes(this)) lists.push(this);
    }
  }

  /** Whether it is in the cache (and so registered on its events). */
  get cached(): boolean {
    return this.#cached;
  }

  /** Whether these are the `count` events of `read`. */
  matches(read: readonly unknown[], count: number): boolean {
    const events = this.events;
    if (events.length !== count) return false;
    for (let i = 0; i < count; i++) if (read[i] !== events[i]) return false;
    return true;
  }

  /** One of the events was signalled: the waits that it satisfies end. */
  signal(): void {
    const waits = this.waits;
    if (waits.length === 0) return;
    if (waits.length === 1) (waits[0] as Wait).check();
    else for (const wait of [...waits]) wait.check();
  }

  /** The lowest index of a signalled event (all of them with `waitAll`: 0), or -1. */
  satisfied(waitAll: boolean): number {
    const events = this.events;
    if (waitAll) {
      for (let i = 0; i < events.length; i++) if (!(events[i] as WSAEVENT).signalled) return -1;
      return 0;
    }
    for (let i = 0; i < events.length; i++) if ((events[i] as WSAEVENT).signalled) return i;
    return -1;
  }

  /** A wait on these events ended. */
  waitEnded(wait: Wait): void {
    removeInOrder(this.waits, wait);
    if (this.waits.length === 0 && !this.#cached) this.#unregister();
  }

  /** Leaves the cache (evicted, or one of its events closed); unregistered once no wait is pending. */
  uncache(): void {
    if (!this.#cached) return;
    this.#cached = false;
    removeInOrder(cache, this);
    if (this.waits.length === 0) this.#unregister();
  }

  #unregister(): void {
    for (const e of this.events) {
      const lists = listsOf(e);
      if (lists === null) continue;
      removeInOrder(lists, this);
      if (lists.length === 0) setLists(e, null);
    }
  }
}

/** Removes `item` from `array`, keeping the order of the rest (no array allocated, as splice does). */
function removeInOrder<T>(array: T[], item: T): void {
  const last = array.length - 1;
  if (array[last] === item) {
    array.pop();
    return;
  }
  const at = array.indexOf(item);
  if (at < 0) return;
  for (let i = at; i < last; i++) array[i] = array[i + 1] as T;
  array.pop();
}

/** Lists of the last waits, most recently used first. */
const cache: EventList[] = [];
const CACHE_SIZE = 8;
/**
 * Where the caller's array is read (a fresh array when a caller's getter waits meanwhile):
 * made once at its full size, so that reading into it never grows it.
 */
const scratch: unknown[] = Array.from({ length: WSA_MAXIMUM_WAIT_EVENTS }, () => undefined);
let reading = false;
/** Events closed so far (a wait that read its array while one was closed checks again). */
let closes = 0;

/**
 * The list of the first `count` events of the caller's array, each live, or the error:
 * `WSA_INVALID_PARAMETER` (no array, too short, or a Proxy or getter of the caller's threw
 * while it was read), `WSA_INVALID_HANDLE` at the first element that is not a live event.
 * Each element is read once.
 */
function listOf(lphEvents: unknown, count: number): EventList | number {
  const nested = reading;
  const read: unknown[] = nested ? [] : scratch;
  reading = true;
  try {
    return readList(lphEvents, count, read);
  } finally {
    reading = nested;
    // Holds no event past the call (no truncation: the array keeps its size).
    if (!nested) for (let i = 0; i < count; i++) read[i] = undefined;
  }
}

function readList(lphEvents: unknown, count: number, read: unknown[]): EventList | number {
  // The most recently used list, while the elements read so far are its events.
  const mru = cache[0];
  let same = mru !== undefined && mru.events.length === count;
  const closesBefore = closes;
  try {
    if (!Array.isArray(lphEvents) || lphEvents.length < count) return WSA_INVALID_PARAMETER;
    for (let i = 0; i < count; i++) {
      const e: unknown = lphEvents[i];
      read[i] = e;
      // A cached list holds live events only (closing one uncaches its lists).
      if (same && e === (mru as EventList).events[i]) continue;
      same = false;
      if (!isLiveEvent(e)) return WSA_INVALID_HANDLE;
    }
  } catch {
    // A Proxy or a getter of the caller's threw while the array was read.
    return WSA_INVALID_PARAMETER;
  }
  // A getter of the caller's may have closed an event while the array was read.
  if (closes !== closesBefore) {
    for (let i = 0; i < count; i++) if (!isLiveEvent(read[i])) return WSA_INVALID_HANDLE;
  }
  return same && (mru as EventList).cached ? (mru as EventList) : lookup(read, count);
}

function lookup(read: readonly unknown[], count: number): EventList {
  for (let c = 0; c < cache.length; c++) {
    const list = cache[c] as EventList;
    if (!list.matches(read, count)) continue;
    // Moved to the front (most recently used), the others keeping their order.
    for (let i = c; i > 0; i--) cache[i] = cache[i - 1] as EventList;
    cache[0] = list;
    return list;
  }
  const list = new EventList(read.slice(0, count) as WSAEVENT[]);
  cache.unshift(list);
  if (cache.length > CACHE_SIZE) (cache[CACHE_SIZE] as EventList).uncache();
  return list;
}

/** A pending `WSAWaitForMultipleEvents`: `WSA_WAIT_TIMEOUT` when its time is up. */
class Wait extends PendingWait {
  constructor(
    readonly list: EventList,
    readonly waitAll: boolean,
    alertable: boolean,
    ms: number,
    resolve: (value: number) => void,
  ) {
    super(resolve, alertable, WSA_WAIT_TIMEOUT);
    list.waits.push(this);
    // A zero timeout lets Node's loop turn once, so that what completes in that turn can
    // still signal (a polling loop progresses).
    this.start(ms);
  }

  /** An event of the list was signalled. */
  check(): void {
    const i = this.list.satisfied(this.waitAll);
    if (i >= 0) this.finish(WSA_WAIT_EVENT_0 + i);
  }

  protected override ended(): void {
    this.list.waitEnded(this);
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
  const list = listOf(lphEvents, cEvents);
  if (typeof list === "number") return failed(list);
  const waitAll = Boolean(fWaitAll);
  const now = list.satisfied(waitAll);
  if (now >= 0) return settled(WSA_WAIT_EVENT_0 + now);
  if (fAlertable && apcsRunnable()) {
    runApcs();
    return settled(WSA_WAIT_IO_COMPLETION);
  }
  return new Promise((resolve) => {
    new Wait(list, waitAll, Boolean(fAlertable), dwTimeout, resolve);
  });
}
