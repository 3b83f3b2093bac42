/**
 * The receiving half, shared by the backends: scattering one datagram over the posted
 * buffers (what fits, then `WSAEMSGSIZE` with `MSG_PARTIAL` for the rest, which is
 * discarded), and the receive buffer a kernel keeps, for a backend that is handed every
 * datagram as it arrives (dgram).
 */

import { byteLengthOf, viewsIntact } from "./buffers.js";
import { MSG_PARTIAL, MSG_PEEK, WSA_OPERATION_ABORTED, WSAEFAULT, WSAEMSGSIZE } from "./constants.js";
import { Deque, PendingQueue } from "./deque.js";
import type { ReceiveCompletion } from "./operation.js";
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

interface Posted {
  readonly views: readonly Uint8Array[];
  /** What the views held when the receive was posted. */
  readonly byteLength: number;
  readonly flags: number;
  readonly completion: ReceiveCompletion;
}

/**
 * A socket's receive buffer: datagrams that arrive while no receive is posted wait here,
 * in order, up to `limit` bytes (`SO_RCVBUF`); beyond it they are dropped and counted, as
 * a kernel drops them. Posted receives are served in the order they were posted, one
 * datagram each; a datagram meeting a posted receive is handed over whatever the limit.
 */
export class ReceiveQueue {
  /** Datagrams dropped because they did not fit. */
  drops = 0;
  readonly #arrived = new Deque<Arrived>();
  readonly #posted = new PendingQueue<ReceiveCompletion, Posted>();
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
        if ((posted.flags & MSG_PEEK) !== 0) break;
        this.#posted.shift();
        if (!viewsIntact(posted.views, posted.byteLength)) {
          // Its buffer went away: it fails, the datagram stays for the next receive.
          posted.completion.complete(WSAEFAULT, 0);
          continue;
        }
        deliver(data, from, posted.views, posted.completion);
        return;
      }
      // It met a posted receive: kept whatever the limit, and served in turn.
      this.#arrived.push({ data, from });
      this.#bytes += data.byteLength;
      this.#serve();
      return;
    }
    if (this.#bytes + data.byteLength > this.limit) {
      this.drops++;
      return;
    }
    this.#arrived.push({ data, from });
    this.#bytes += data.byteLength;
  }

  /** A receive was posted: served at once if a datagram waits, else in turn. */
  post(views: readonly Uint8Array[], flags: number, completion: ReceiveCompletion): void {
    this.#posted.push(completion, { views, byteLength: byteLengthOf(views), flags, completion });
    if (this.#arrived.length > 0) this.#serve();
  }

  #serve(): void {
    for (let posted = this.#posted.peek(); posted; posted = this.#posted.peek()) {
      const arrived = this.#arrived.peek();
      if (!arrived) return;
      this.#posted.shift();
      if (!viewsIntact(posted.views, posted.byteLength)) {
        // The caller detached or shrank a buffer after posting: the receive fails and the
        // datagram stays for the next one (nothing is lost, nothing is miscounted).
        posted.completion.complete(WSAEFAULT, 0);
        continue;
      }
      if ((posted.flags & MSG_PEEK) === 0) {
        this.#arrived.shift();
        this.#bytes -= arrived.data.byteLength;
      }
      deliver(arrived.data, arrived.from, posted.views, posted.completion);
    }
  }

  /** Withdraws a posted receive; true if it was waiting. */
  cancel(completion: ReceiveCompletion): boolean {
    return this.#posted.remove(completion);
  }

  /** Aborts every posted receive and forgets what arrived (the socket is closing). */
  abort(): void {
    this.#arrived.drain();
    this.#bytes = 0;
    for (const posted of this.#posted.drain()) posted.completion.complete(WSA_OPERATION_ABORTED, 0);
  }
}
