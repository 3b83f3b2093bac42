/**
 * Buffers the caller detaches (transfers) or shrinks after the call. In Winsock the bytes
 * belong to the system until the operation completes; a program that frees them early is
 * wrong, but it must get an error, never a crash: an operation that reaches such a buffer
 * later completes once with WSAEFAULT (a send is not sent short, a receive leaves its
 * datagram for the next one). dgram reaches the buffers of sends beyond 64 in flight only
 * later (its backlog); both backends reach the buffers of a receive that waited.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, completesDuringCall } from "../backends.js";
import { addr4, bound, openReceiver, ref, sync, T, udp4, useFacade, waitAll, ws } from "../helpers.js";

const N = 200;

/** ES2024's resizable ArrayBuffer (Node 20 has it; the project's TypeScript lib predates it). */
interface ResizableArrayBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const Resizable = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

/** Detaches the ArrayBuffer under `view` (transfers it away). */
function detach(view: Uint8Array): void {
  structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
}

describe.each(BACKENDS)("buffers detached or shrunk after the call on $name", (backend) => {
  useFacade(backend);

  it.for(["detached", "shrunk"] as const)(
    `${N} overlapped sends whose buffers are %s right after each call: each completes once, sent whole or WSAEFAULT`,
    T,
    async (how, { onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const outcomes: { err: number; bytes: number }[][] = Array.from({ length: N }, () => []);
      for (let i = 0; i < N; i++) {
        const ab = how === "shrunk" ? new Resizable(16, { maxByteLength: 16 }) : new ArrayBuffer(16);
        const buf = new Uint8Array(ab);
        buf.fill(i & 0xff);
        const rc = sync(
          ws.WSASendTo(s, [{ len: 16, buf }], 1, null, 0, to, ws.sizeof(to), new ws.WSAOVERLAPPED(), (err, bytes) => {
            outcomes[i]?.push({ err, bytes });
          }),
        );
        expect(rc === 0 || ws.WSAGetLastError() === ws.WSA_IO_PENDING).toBe(true);
        if (how === "detached") detach(buf);
        else (ab as ResizableArrayBuffer).resize(4);
      }
      const deadline = Date.now() + 5000;
      while (outcomes.some((o) => o.length === 0) && Date.now() < deadline) await ws.SleepEx(20, true);
      await ws.SleepEx(50, true);
      expect(outcomes.map((o) => o.length)).toEqual(Array(N).fill(1));
      const sent = outcomes.filter(([o]) => o?.err === 0);
      for (const [o] of outcomes) {
        if (o?.err === 0) expect(o.bytes).toBe(16);
        else expect(o).toEqual({ err: ws.WSAEFAULT, bytes: 0 });
      }
      // What was sent went whole; nothing went short.
      await rx.settle(100);
      expect(rx.got.every((d) => d.msg.length === 16)).toBe(true);
      expect(rx.got.length).toBe(sent.length);
      // Sends waiting in the backend meet the detached buffer (native on Windows: Winsock
      // took each at its call).
      if (!completesDuringCall(backend) && backend.deviations.sendsWaitInBackend) expect(sent.length).toBeLessThan(N);
    },
  );

  const keeps = backend.deviations.detachedReceiveKeepsDatagram;
  it(
    `a pending receive whose buffer is detached fails with WSAEFAULT; ${keeps ? "the datagram waits for the next one" : "its datagram is lost, never written"}`,
    T,
    async () => {
      const { s, port } = bound();
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      const buf = new Uint8Array(new ArrayBuffer(64));
      expect(sync(ws.WSARecvFrom(s, [{ len: 64, buf }], 1, null, ref(), null, null, ov, null))).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
      // Detached: its memory now belongs to `moved`, which the receive must never write.
      const moved = structuredClone(buf.buffer, { transfer: [buf.buffer] });
      expect(buf.buffer.byteLength).toBe(0);
      const sender = udp4();
      const to = addr4(port);
      expect(await ws.WSASendTo(sender, [{ len: 5, buf: Buffer.from("kept!") }], 1, ref(), 0, to, 16, null, null)).toBe(0);
      await waitAll([ov.hEvent as ws.WSAEVENT]);
      expect(Buffer.from(moved).toString("latin1"), "the memory given away").toBe("\0".repeat(64));
      expect(ov.Internal).toBe(0xc0000005); // STATUS_ACCESS_VIOLATION
      expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, ref())).toBe(false);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      expect(ov.InternalHigh).toBe(0);
      // Not kept (Winsock took it for the failed receive): the next receive gets the next one.
      if (!keeps) {
        expect(await ws.WSASendTo(sender, [{ len: 5, buf: Buffer.from("next!") }], 1, ref(), 0, to, 16, null, null)).toBe(0);
      }
      const next = Buffer.alloc(64);
      const got = ref();
      expect(await ws.WSARecvFrom(s, [{ len: 64, buf: next }], 1, got, ref(), null, null, null, null)).toBe(0);
      expect(next.subarray(0, got.value).toString()).toBe(keeps ? "kept!" : "next!");
    },
  );
});
