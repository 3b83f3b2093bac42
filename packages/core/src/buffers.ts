/**
 * Capturing the caller's buffers at the call, as Winsock captures the WSABUF array:
 * the result is a new array of views of exactly the bytes to send (no copy of the
 * payload), so changing the array or its WSABUFs afterwards changes nothing.
 */
import { WSAEFAULT } from "./constants.js";
import { isU32 } from "./inet.js";

/** `WSABUF`: `len` bytes of `buf` are sent. */
export interface WSABUF {
  len: number;
  buf: Uint8Array;
}

/** The first `len` bytes of any view as a Uint8Array, or null if they are not there. */
export function viewOf(buf: unknown, len: number): Uint8Array | null {
  // Uint8Array (and Buffer) first, with .length: in Node 20 a typed array's .byteLength
  // is a builtin call, ten times the cost of .length.
  if (buf instanceof Uint8Array) {
    const n = buf.length;
    return len > n ? null : len === n ? buf : buf.subarray(0, len);
  }
  if (!ArrayBuffer.isView(buf) || len > buf.byteLength) return null;
  return new Uint8Array(buf.buffer, buf.byteOffset, len);
}

/**
 * Captures `count` WSABUFs of `lpBuffers`: the views, or `WSAEFAULT` for a missing
 * array, a count beyond it, a malformed WSABUF, or a `len` beyond its buffer (also a
 * detached one).
 */
export function captureWsabufs(lpBuffers: unknown, count: unknown): Uint8Array[] | number {
  if (!Array.isArray(lpBuffers) || !isU32(count) || count > lpBuffers.length) return WSAEFAULT;
  const views = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) {
    const wsabuf = lpBuffers[i] as Partial<WSABUF> | null;
    if (typeof wsabuf !== "object" || wsabuf === null) return WSAEFAULT;
    const len = wsabuf.len;
    const buf = wsabuf.buf;
    if (buf instanceof Uint8Array && len === buf.length) {
      views[i] = buf;
      continue;
    }
    if (!isU32(len)) return WSAEFAULT;
    const view = viewOf(buf, len);
    if (!view) return WSAEFAULT;
    views[i] = view;
  }
  return views;
}

/** Captures whole buffers (the idiomatic API's spelling): the views, or `WSAEFAULT`. */
export function captureViews(buffers: unknown): Uint8Array[] | number {
  try {
    return captureWhole(buffers);
  } catch {
    // A Proxy or a getter of the caller's threw (an `instanceof` runs a Proxy's trap).
    return WSAEFAULT;
  }
}

function captureWhole(buffers: unknown): Uint8Array[] | number {
  if (ArrayBuffer.isView(buffers)) {
    const view = viewOf(buffers, buffers.byteLength);
    return view ? [view] : WSAEFAULT;
  }
  if (!Array.isArray(buffers)) return WSAEFAULT;
  const views = new Array<Uint8Array>(buffers.length);
  for (let i = 0; i < buffers.length; i++) {
    const b: unknown = buffers[i];
    if (b instanceof Uint8Array) {
      views[i] = b;
      continue;
    }
    const view = ArrayBuffer.isView(b) ? viewOf(b, b.byteLength) : null;
    if (!view) return WSAEFAULT;
    views[i] = view;
  }
  return views;
}

/**
 * True while captured views still hold the `byteLength` bytes they held at the call. A
 * view whose ArrayBuffer was detached (transferred) or shrunk since reads as shorter: an
 * operation that reaches it later fails with `WSAEFAULT`, as a bad buffer does in Winsock,
 * rather than sending or filling fewer bytes than were asked for. Each view's last byte
 * is read too: once this function has seen views of resizable ArrayBuffers, Node 20's
 * optimizing compiler can go on returning a detached view's old `length` (its `byteLength`
 * is right, but costs a builtin call), while an element read past the real end is
 * `undefined`.
 */
export function viewsIntact(views: readonly Uint8Array[], byteLength: number): boolean {
  let total = 0;
  for (let i = 0; i < views.length; i++) {
    const view = views[i] as Uint8Array;
    const n = view.length;
    if (n > 0 && view[n - 1] === undefined) return false;
    total += n;
  }
  return total === byteLength;
}

/** The bytes the views hold together. */
export function byteLengthOf(views: readonly Uint8Array[]): number {
  let total = 0;
  for (let i = 0; i < views.length; i++) total += (views[i] as Uint8Array).length;
  return total;
}
