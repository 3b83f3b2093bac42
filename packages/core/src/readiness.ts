/**
 * Readiness, as ported programs wait for it: `select` with `fd_set`s, `WSAPoll`, and
 * `WSAEventSelect` with `WSAEnumNetworkEvents`. A socket is readable when a receive would
 * complete now (a datagram waits in the backend's queue or the kernel's, or an error waits
 * to be reported), writable when a send would be taken now. Waits are Promises; like every
 * wait of the facade they let Node's loop turn before they end empty-handed, also with a
 * zero timeout (core/progress.ts).
 */
import { READY_READ, READY_WRITE } from "./backend.js";
import {
  FD_ALL_EVENTS,
  FD_MAX_EVENTS,
  FD_READ,
  FD_SETSIZE,
  FD_WRITE,
  INFINITE,
  POLLNVAL,
  POLLRDBAND,
  POLLRDNORM,
  POLLWRBAND,
  POLLWRNORM,
  SOCKET_ERROR,
  WSAEFAULT,
  WSAEINVAL,
} from "./constants.js";
import { isLiveEvent, signalEvent, type WSAEVENT } from "./events.js";
import { isU32 } from "./inet.js";
import { setLastError } from "./last-error.js";
import { settled, startTimer } from "./progress.js";
import type { SocketEntry } from "./socket.js";
import { lookupSocket } from "./startup.js";

/** `fd_set`: `fd_count` sockets in `fd_array`. `new fd_set()` is empty. */
export class fd_set {
  fd_count = 0;
  fd_array: number[] = [];
}

/** `FD_ZERO(set)`: empties the set. */
export function FD_ZERO(set: fd_set): void {
  try {
    set.fd_count = 0;
    set.fd_array.length = 0;
  } catch {
    // Not a set one can write: as C, nothing to report.
  }
}

/** `FD_SET(s, set)`: adds `s` unless it is there or the set is full (`FD_SETSIZE`). */
export function FD_SET(s: number, set: fd_set): void {
  try {
    const n = set.fd_count;
    for (let i = 0; i < n; i++) if (set.fd_array[i] === s) return;
    if (n < FD_SETSIZE) {
      set.fd_array[n] = s;
      set.fd_count = n + 1;
    }
  } catch {
    // Not a set one can write.
  }
}

/** `FD_CLR(s, set)`: removes `s`, keeping the others in order. */
export function FD_CLR(s: number, set: fd_set): void {
  try {
    const n = set.fd_count;
    for (let i = 0; i < n; i++) {
      if (set.fd_array[i] !== s) continue;
      set.fd_array.splice(i, 1);
      set.fd_count = n - 1;
      return;
    }
  } catch {
    // Not a set one can write.
  }
}

/** `FD_ISSET(s, set)`: nonzero (1) when `s` is in the set, as `__WSAFDIsSet`. */
export function FD_ISSET(s: number, set: fd_set): number {
  try {
    const n = set.fd_count;
    for (let i = 0; i < n && i < FD_SETSIZE; i++) if (set.fd_array[i] === s) return 1;
  } catch {
    // Not a set one can read: not in it.
  }
  return 0;
}

/** `timeval`. */
export interface timeval {
  tv_sec: number;
  tv_usec: number;
}

/** The sockets of one `fd_set`, read at the call: the set, and its entries in order. */
interface SetOf {
  readonly set: fd_set;
  readonly handles: number[];
  readonly entries: SocketEntry[];
}

/** Reads an fd_set argument: null, its sockets, or an error code. */
function readSet(value: unknown): SetOf | null | number {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object") return WSAEFAULT;
  const set = value as fd_set;
  const count: unknown = set.fd_count;
  const array: unknown = set.fd_array;
  if (!isU32(count) || count > FD_SETSIZE || !Array.isArray(array) || array.length < count) return WSAEFAULT;
  const handles: number[] = [];
  const entries: SocketEntry[] = [];
  for (let i = 0; i < count; i++) {
    const entry = lookupSocket(array[i]);
    if (typeof entry === "number") return entry;
    handles.push(array[i] as number);
    entries.push(entry);
  }
  return { set, handles, entries };
}

/** The milliseconds of a `timeval` (null: for ever), or an error code. */
function timeoutOf(value: unknown): number {
  if (value === null || value === undefined) return INFINITE;
  if (typeof value !== "object") return -WSAEFAULT;
  const { tv_sec, tv_usec } = value as timeval;
  if (!Number.isInteger(tv_sec) || !Number.isInteger(tv_usec) || tv_sec < 0 || tv_usec < 0) return -WSAEINVAL;
  return Math.min(tv_sec * 1000 + Math.ceil(tv_usec / 1000), INFINITE - 1);
}

/**
 * Waits until `ready()` holds after a change on one of `watched`, or the time is up (after
 * one turn of the loop for 0). Resolves either way; the caller looks again.
 */
function waitUntil(watched: readonly [SocketEntry, number][], ms: number, ready: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const stops: (() => void)[] = [];
    const finish = () => {
      if (done) return;
      done = true;
      stopTimer();
      for (const stop of stops) stop();
      resolve();
    };
    for (const [entry, interest] of watched) stops.push(entry.watch(interest, () => ready() && finish()));
    const stopTimer = startTimer(ms, finish);
  });
}

function failWait(code: number): Promise<number> {
  return settled(SOCKET_ERROR, code);
}

/**
 * `select(nfds, readfds, writefds, exceptfds, timeout)`: a Promise of the number of ready
 * sockets (each set is left holding only its ready ones), 0 when the time ran out (every set
 * emptied), or `SOCKET_ERROR` (`WSAEINVAL` with no socket in any set or a bad timeout,
 * `WSAENOTSOCK`, `WSAEFAULT`). `nfds` is ignored, as on Windows; `timeout` null waits for
 * ever. A datagram socket never has exceptional conditions.
 */
export function select(
  _nfds: number,
  readfds: fd_set | null,
  writefds: fd_set | null,
  exceptfds: fd_set | null,
  timeout: timeval | null,
): Promise<number> {
  try {
    const sets = [readSet(readfds), readSet(writefds), readSet(exceptfds)];
    for (const set of sets) if (typeof set === "number") return failWait(set);
    const [reads, writes, excepts] = sets as (SetOf | null)[];
    const total = (reads?.handles.length ?? 0) + (writes?.handles.length ?? 0) + (excepts?.handles.length ?? 0);
    if (total === 0) return failWait(WSAEINVAL);
    const ms = timeoutOf(timeout);
    if (ms < 0) return failWait(-ms);
    const readyNow = () => reads?.entries.some((e) => e.readable()) || writes?.entries.some((e) => e.writable()) || false;
    const finish = () => {
      const n = keep(reads, (e) => e.readable()) + keep(writes, (e) => e.writable()) + keep(excepts, () => false);
      setLastError(0);
      return n;
    };
    if (readyNow()) return settled(finish());
    const watched: [SocketEntry, number][] = [];
    for (const e of reads?.entries ?? []) watched.push([e, READY_READ]);
    for (const e of writes?.entries ?? []) watched.push([e, READY_WRITE]);
    return waitUntil(watched, ms, readyNow).then(finish, () => SOCKET_ERROR);
  } catch {
    return failWait(WSAEFAULT);
  }
}

/** Leaves in `of`'s set only the sockets for which `ready` holds; returns how many. */
function keep(of: SetOf | null | undefined, ready: (e: SocketEntry) => boolean): number {
  if (!of) return 0;
  const kept = of.handles.filter((_, i) => ready(of.entries[i] as SocketEntry));
  try {
    of.set.fd_array.length = 0;
    of.set.fd_array.push(...kept);
    of.set.fd_count = kept.length;
  } catch {
    // A set that stopped being writable while the call waited: nothing more to tell it.
  }
  return kept.length;
}

/** `WSAPOLLFD`. */
export interface WSAPOLLFD {
  fd: number;
  events: number;
  revents: number;
}

/** The events `WSAPoll` accepts in `events`. */
const POLL_EVENTS = POLLRDNORM | POLLRDBAND | POLLWRNORM | POLLWRBAND;

interface Polled {
  readonly pollfd: WSAPOLLFD;
  readonly entry: SocketEntry | null;
  readonly events: number;
}

/** What `WSAPoll` reports for one entry now. */
function reventsOf(p: Polled): number {
  if (!p.entry) return POLLNVAL;
  if (p.entry.closed) return POLLNVAL;
  let r = 0;
  if ((p.events & POLLRDNORM) !== 0 && p.entry.readable()) r |= POLLRDNORM;
  if ((p.events & POLLWRNORM) !== 0 && p.entry.writable()) r |= POLLWRNORM;
  return r;
}

/**
 * `WSAPoll(fdArray, fds, timeout)`: a Promise of the number of entries whose `revents` is
 * nonzero (`POLLRDNORM`, `POLLWRNORM`, `POLLNVAL` for a handle that is not a socket), 0 when
 * the time ran out, or `SOCKET_ERROR` (`WSAEINVAL` for flags `WSAPoll` does not take, no
 * valid socket at all, or `fds` 0; `WSAEFAULT` for an array it cannot read). `timeout` in
 * milliseconds, negative for ever.
 */
export function WSAPoll(fdArray: WSAPOLLFD[], fds: number, timeout: number): Promise<number> {
  try {
    if (!Array.isArray(fdArray) || !isU32(fds) || fds > fdArray.length) return failWait(WSAEFAULT);
    if (fds === 0 || !Number.isInteger(timeout)) return failWait(WSAEINVAL);
    const polled: Polled[] = [];
    for (let i = 0; i < fds; i++) {
      const pollfd = fdArray[i] as WSAPOLLFD;
      if (typeof pollfd !== "object" || pollfd === null) return failWait(WSAEFAULT);
      const events: unknown = pollfd.events;
      if (!Number.isInteger(events) || ((events as number) & ~POLL_EVENTS) !== 0) return failWait(WSAEINVAL);
      const entry = lookupSocket(pollfd.fd);
      polled.push({ pollfd, entry: typeof entry === "number" ? null : entry, events: events as number });
    }
    if (polled.every((p) => p.entry === null)) return failWait(WSAEINVAL);
    const count = () => polled.reduce((n, p) => n + (reventsOf(p) !== 0 ? 1 : 0), 0);
    const finish = () => {
      let n = 0;
      for (const p of polled) {
        const r = reventsOf(p);
        if (r !== 0) n++;
        try {
          p.pollfd.revents = r;
        } catch {
          // An entry that stopped being writable: it still counts.
        }
      }
      setLastError(0);
      return n;
    };
    if (count() > 0) return settled(finish());
    const ms = timeout < 0 ? INFINITE : Math.min(timeout, INFINITE - 1);
    const watched: [SocketEntry, number][] = [];
    for (const p of polled) {
      if (!p.entry) continue;
      const interest = ((p.events & POLLRDNORM) !== 0 ? READY_READ : 0) | ((p.events & POLLWRNORM) !== 0 ? READY_WRITE : 0);
      watched.push([p.entry, interest]);
    }
    return waitUntil(watched, ms, () => count() > 0).then(finish, () => SOCKET_ERROR);
  } catch {
    return failWait(WSAEFAULT);
  }
}

/** `WSANETWORKEVENTS`. */
export interface WSANETWORKEVENTS {
  lNetworkEvents: number;
  iErrorCode: number[];
}

/**
 * The `WSAEventSelect` state of one socket: which network events are wanted, which are
 * recorded, and Windows' re-enabling rules: `FD_READ` is recorded once, then again only
 * after a receive call re-enables it; `FD_WRITE` once when the socket is writable (a fresh
 * UDP socket is), then again only after a send failed with `WSAEWOULDBLOCK` and room came.
 */
export class NetworkEvents {
  recorded = 0;
  #readEnabled = true;
  #writeEnabled = true;
  #unwatch: (() => void) | null = null;

  constructor(
    readonly entry: SocketEntry,
    readonly event: WSAEVENT,
    readonly mask: number,
  ) {}

  /** Records what holds now and is enabled, signals the event, and watches for what is not yet there. */
  update(): void {
    const { entry, mask } = this;
    if (entry.closed) return;
    let newly = 0;
    if ((mask & FD_READ) !== 0 && this.#readEnabled && entry.readable()) {
      newly |= FD_READ;
      this.#readEnabled = false;
    }
    if ((mask & FD_WRITE) !== 0 && this.#writeEnabled && entry.writable()) {
      newly |= FD_WRITE;
      this.#writeEnabled = false;
    }
    if (newly !== 0) {
      this.recorded |= newly;
      signalEvent(this.event);
    }
    this.#rewatch();
  }

  #rewatch(): void {
    this.#unwatch?.();
    this.#unwatch = null;
    const interest =
      ((this.mask & FD_READ) !== 0 && this.#readEnabled ? READY_READ : 0) |
      ((this.mask & FD_WRITE) !== 0 && this.#writeEnabled ? READY_WRITE : 0);
    if (interest !== 0) this.#unwatch = this.entry.watch(interest, () => this.update());
  }

  /** A receive call re-enables `FD_READ`. */
  received(): void {
    this.#readEnabled = true;
    this.update();
  }

  /** A send refused with `WSAEWOULDBLOCK` re-enables `FD_WRITE` (recorded when room comes). */
  refused(): void {
    this.#writeEnabled = true;
    this.update();
  }

  stop(): void {
    this.#unwatch?.();
    this.#unwatch = null;
  }
}

/** Tells a socket's `WSAEventSelect` that a receive call was made (re-enables `FD_READ`). */
export function noteReceiveCall(entry: SocketEntry): void {
  entry.networkEvents?.received();
}

/** Tells a socket's `WSAEventSelect` that a send failed with `WSAEWOULDBLOCK` (re-enables `FD_WRITE`). */
export function noteSendRefused(entry: SocketEntry): void {
  entry.networkEvents?.refused();
}

function fail(code: number): number {
  setLastError(code);
  return SOCKET_ERROR;
}

/**
 * `WSAEventSelect(s, hEventObject, lNetworkEvents)`: 0 or `SOCKET_ERROR`. Associates the
 * event with the socket's `FD_*` network events and makes the socket non-blocking, as on
 * Windows; `lNetworkEvents` 0 cancels the association (the socket stays non-blocking).
 */
export function WSAEventSelect(s: number, hEventObject: WSAEVENT | null, lNetworkEvents: number): number {
  try {
    const entry = lookupSocket(s);
    if (typeof entry === "number") return fail(entry);
    if (!isU32(lNetworkEvents) || (lNetworkEvents & ~FD_ALL_EVENTS) !== 0) return fail(WSAEINVAL);
    if (lNetworkEvents !== 0 && !isLiveEvent(hEventObject)) return fail(WSAEINVAL);
    entry.networkEvents?.stop();
    entry.networkEvents = null;
    entry.nonBlocking = true;
    if (lNetworkEvents !== 0) {
      const events = new NetworkEvents(entry, hEventObject as WSAEVENT, lNetworkEvents);
      entry.networkEvents = events;
      events.update();
    }
    setLastError(0);
    return 0;
  } catch {
    return fail(WSAEFAULT);
  }
}

/**
 * `WSAEnumNetworkEvents(s, hEventObject, lpNetworkEvents)`: 0 or `SOCKET_ERROR`. Fills
 * `lNetworkEvents` with the events recorded since the last call (and `iErrorCode`, an
 * array of `FD_MAX_EVENTS` codes, all 0 here: a datagram socket's `FD_READ`/`FD_WRITE`
 * carry no error), clears them, and resets `hEventObject` when one is given.
 */
export function WSAEnumNetworkEvents(s: number, hEventObject: WSAEVENT | null, lpNetworkEvents: WSANETWORKEVENTS): number {
  try {
    const entry = lookupSocket(s);
    if (typeof entry === "number") return fail(entry);
    if (hEventObject !== null && hEventObject !== undefined && !isLiveEvent(hEventObject)) return fail(WSAEINVAL);
    if (typeof lpNetworkEvents !== "object" || lpNetworkEvents === null) return fail(WSAEFAULT);
    const events = entry.networkEvents;
    const recorded = events?.recorded ?? 0;
    const codes = Array.isArray(lpNetworkEvents.iErrorCode) ? lpNetworkEvents.iErrorCode : [];
    for (let i = 0; i < FD_MAX_EVENTS; i++) codes[i] = 0;
    lpNetworkEvents.lNetworkEvents = recorded;
    lpNetworkEvents.iErrorCode = codes;
    if (events) events.recorded = 0;
    if (isLiveEvent(hEventObject)) hEventObject.signalled = false;
    setLastError(0);
    return 0;
  } catch {
    return fail(WSAEFAULT);
  }
}
