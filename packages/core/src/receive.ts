/**
 * The receiving half, shared by the backends: scattering one datagram over the posted
 * buffers (what fits, then `WSAEMSGSIZE` with `MSG_PARTIAL` for the rest, which is
 * discarded), and the receive buffer a kernel keeps, for a backend that is handed every
 * datagram as it arrives (dgram).
 */

import { byteLengthOf, viewsIntact } from "./buffers.js";
import { MSG_PARTIAL, MSG_PEEK, WSA_OPERATION_ABORTED, WSAEFAULT, WSAEMSGSIZE } from "./constants.js";
import { Deque, PendingQueue } from "./deque.js";
import type { Completion, ReceiveCompletion } from "./operation.js";
import type { Endpoint } from "./sockaddr.js";

/** Copies `data` over `views` in order; returns the bytes copied. */
export function scatter(data: Uint8Array, views: readonly Uint8Array[]): number {
  // .length, not .byteLength: in Node 20 a typed array's .byteLength is a builtin call.
  const total = data.length;
  if (views.length === 1) {
    const view = views[0] as Uint8Array;
    if (view.length >= total) {
      view.set(data);
      return total;
    }
  }
  let at = 0;
  for (let i = 0; i < views.length && at < total; i++) {
    const view = views[i] as Uint8Array;
    const n = Math.min(view.length, total - at);
    // A plain Uint8Array over the bytes: Buffer#subarray makes a Buffer, at several times the cost.
    view.set(n === total ? data : new Uint8Array(data.buffer, data.byteOffset + at, n));
    at += n;
  }
  return at;
}

/** Completes a receive with one datagram: the bytes that fit, and `WSAEMSGSIZE` if some did not. */
export function deliver(data: Uint8Array, from: Endpoint, views: readonly Uint8Array[], completion: ReceiveCompletion): void {
  const filled = scatter(data, views);
  const truncated = filled < data.byteLength;
  completion.from = from;
  completion.flags = truncated ? MSG_PARTIAL : 0;
  completion.complete(truncated ? WSAEMSGSIZE : 0, filled);
}

interface Arrived {
  readonly data: Uint8Array;
  readonly from: Endpoint;
}

/**
 * A receive of every datagram queued when its turn comes (at least one: it waits for the
 * first, as a receive does), each handed over as the bytes the backend holds, not copied
 * (node:dgram's own Buffer on the dgram backend): for an iterator of datagrams.
 * `datagram` once per datagram, in order, then `complete(0, count)`; or
 * `complete(WSA_OPERATION_ABORTED, 0)` alone at close. Withdrawn by the backend's `cancel`.
 */
export interface BufferReceiveCompletion extends Completion {
  datagram(data: Uint8Array, from: Endpoint): void;
}

interface Posted {
  /** Null for a {@link ReceiveQueue.postBuffers} (every datagram queued, as held). */
  readonly views: readonly Uint8Array[] | null;
  /** What the views held when the receive was posted. */
  readonly byteLength: number;
  readonly flags: number;
  readonly completion: Completion;
}

/**
 * The posted receives, oldest first: a PendingQueue (O(1) withdrawal of any) whose oldest
 * entry is held apart, so that a lone receive posted again and again (the usual case: one
 * iterator or one loop of receives) costs no queue entry.
 */
class PostedReceives {
  /** The oldest; undefined only when none is posted. */
  #first: Posted | undefined = undefined;
  readonly #rest = new PendingQueue<Completion, Posted>();

  get length(): number {
    return this.#first === undefined ? 0 : 1 + this.#rest.length;
  }

  peek(): Posted | undefined {
    return this.#first;
  }

  push(posted: Posted): void {
    if (this.#first === undefined) this.#first = posted;
    else this.#rest.push(posted.completion, posted);
  }

  shift(): Posted | undefined {
    const first = this.#first;
    this.#first = this.#rest.length > 0 ? this.#rest.shift() : undefined;
    return first;
  }

  remove(completion: Completion): boolean {
    if (this.#first === undefined) return false;
    if (this.#first.completion === completion) {
      this.shift();
      return true;
    }
    return this.#rest.remove(completion);
  }

  drain(): Posted[] {
    const first = this.#first;
    if (first === undefined) return [];
    this.#first = undefined;
    const rest = this.#rest.drain();
    rest.unshift(first);
    return rest;
  }
}

/**
 * A socket's receive buffer: datagrams that arrive while no receive is posted wait here,
 * in order, up to `limit` bytes (`SO_RCVBUF`); beyond it they are dropped and counted, as
 * a kernel drops them. Posted receives are served in the order they were posted: a receive
 * one datagram, a {@link ReceiveQueue.postBuffers} every datagram waiting then. A datagram
 * meeting a posted receive is handed over whatever the limit.
 */
export class ReceiveQueue {
  /** Datagrams dropped because they did not fit. */
  drops = 0;
  readonly #arrived = new Deque<Arrived>();
  readonly #posted = new PostedReceives();
  #bytes = 0;

  constructor(public limit: number) {}

  /** Receives posted and not yet served. */
  get waiting(): number {
    return this.#posted.length;
  }

  /** Bytes of the datagrams waiting for a receive (what Windows' FIONREAD counts). */
  get queuedBytes(): number {
    return this.#bytes;
  }

  /** Whether a datagram waits for a receive. */
  get hasQueued(): boolean {
    return this.#arrived.length > 0;
  }

  /** A datagram arrived. */
  push(data: Uint8Array, from: Endpoint): void {
    if (this.#arrived.length === 0 && this.#posted.length > 0) {
      // The usual case under load: a posted receive takes the datagram at once, which never
      // waits in the queue. A peek leaves it queued: the general path below.
      for (let posted = this.#posted.peek(); posted !== undefined; posted = this.#posted.peek()) {
        const views = posted.views;
        if (views === null) {
          this.#posted.shift();
          const many = posted.completion as BufferReceiveCompletion;
          many.datagram(data, from);
          many.complete(0, 1);
          return;
        }
        if ((posted.flags & MSG_PEEK) !== 0) break;
        this.#posted.shift();
        if (!viewsIntact(views, posted.byteLength)) {
          // Its buffer went away: it fails, the datagram stays for the next receive.
          posted.completion.complete(WSAEFAULT, 0);
          continue;
        }
        deliver(data, from, views, posted.completion as ReceiveCompletion);
        return;
      }
      // It met a posted receive: kept whatever the limit, and served in turn.
      this.#arrived.push({ data, from });
      this.#bytes += data.length;
      this.#serve();
      return;
    }
    if (this.#bytes + data.length > this.limit) {
      this.drops++;
      return;
    }
    this.#arrived.push({ data, from });
    this.#bytes += data.length;
  }

  /** A receive was posted: served at once if a datagram waits, else in turn. */
  post(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): void {
    this.#posted.push({ views, byteLength: byteLengthOf(views), flags, completion });
    if (this.#arrived.length > 0) this.#serve();
  }

  /** A receive of every datagram queued when its turn comes: served at once if one waits, else in turn. */
  postBuffers(completion: BufferReceiveCompletion): void {
    this.#posted.push({ views: null, byteLength: 0, flags: 0, completion });
    if (this.#arrived.length > 0) this.#serve();
  }

  #serve(): void {
    for (let posted = this.#posted.peek(); posted; posted = this.#posted.peek()) {
      const arrived = this.#arrived.peek();
      if (!arrived) return;
      this.#posted.shift();
      const views = posted.views;
      if (views === null) {
        // Every datagram waiting now, in order.
        const many = posted.completion as BufferReceiveCompletion;
        let count = 0;
        for (let next = this.#arrived.shift(); next !== undefined; next = this.#arrived.shift()) {
          this.#bytes -= next.data.length;
          many.datagram(next.data, next.from);
          count++;
        }
        many.complete(0, count);
        continue;
      }
      if (!viewsIntact(views, posted.byteLength)) {
        // The caller detached or shrank a buffer after posting: the receive fails and the
        // datagram stays for the next one (nothing is lost, nothing is miscounted).
        posted.completion.complete(WSAEFAULT, 0);
        continue;
      }
      if ((posted.flags & MSG_PEEK) === 0) {
        this.#arrived.shift();
        this.#bytes -= arrived.data.length;
      }
      deliver(arrived.data, arrived.from, views, posted.completion as ReceiveCompletion);
    }
  }

  /** Withdraws a posted receive; true if it was waiting. */
  cancel(completion: Completion): boolean {
    return this.#posted.remove(completion);
  }

  /** Aborts every posted receive and forgets what arrived (the socket is closing). */
  abort(): void {
    this.#arrived.drain();
    this.#bytes = 0;
    for (const posted of this.#posted.drain()) posted.completion.complete(WSA_OPERATION_ABORTED, 0);
  }
}
