/**
 * viewsIntact decides whether an operation that waited may still use the caller's
 * buffers. It must see a detached view as empty also once the optimizing compiler has
 * compiled it for views of resizable ArrayBuffers: Node 20 then kept returning a detached
 * view's old `length` (found by the detached-buffers suite once sends were coalesced).
 */
import { describe, expect, it } from "vitest";
import { viewsIntact } from "../../packages/core/src/buffers.js";

type Resizable = ArrayBuffer & { resize(n: number): void };
const ResizableBuffer = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable;

function detach(view: Uint8Array): void {
  structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
}

describe("viewsIntact after the compiler has seen every kind of view", () => {
  it("a detached view reads as 0 bytes, a shrunk one as what is left", () => {
    // Train it as the send path does: plain views, detached ones, shrunk resizable ones.
    for (let i = 0; i < 3000; i++) {
      const plain = new Uint8Array(new ArrayBuffer(16));
      viewsIntact([plain], 16);
      detach(plain);
      viewsIntact([plain], 16);
      const rab = new ResizableBuffer(16, { maxByteLength: 16 });
      const tracking = new Uint8Array(rab);
      viewsIntact([tracking], 16);
      rab.resize(4);
      viewsIntact([tracking], 16);
    }
    const whole = new Uint8Array(new ArrayBuffer(64));
    const part = new Uint8Array(new ArrayBuffer(64), 8, 16);
    expect(viewsIntact([whole, part], 80)).toBe(true);
    detach(whole);
    detach(part);
    expect(viewsIntact([whole], 64)).toBe(false);
    expect(viewsIntact([part], 16)).toBe(false);
    const rab = new ResizableBuffer(64, { maxByteLength: 64 });
    const tracking = new Uint8Array(rab);
    const fixed = new Uint8Array(rab, 0, 32);
    rab.resize(8);
    expect(viewsIntact([tracking], 8)).toBe(true);
    expect(viewsIntact([tracking], 64)).toBe(false);
    expect(viewsIntact([fixed], 32)).toBe(false);
  });
});
