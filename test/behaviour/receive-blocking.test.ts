/**
 * Non-overlapped receives (no lpOverlapped, no routine) block in Winsock; here they are
 * Promises that stay pending until a datagram arrives and then settle with 0 (or the
 * byte count, for recvfrom), on sockets made with and without WSA_FLAG_OVERLAPPED. A
 * pending receive keeps the Node process alive, as a pending node:dgram operation does;
 * an idle socket does not.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, openPeer, ref, sleep, T, udp4, useFacade, ws } from "../helpers.js";

/** Binds `s` to 127.0.0.1 port 0; its port. */
function bindLoopback(s: number): number {
  const local = addr4(0);
  expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
  const name: Record<string, unknown> = {};
  expect(ws.getsockname(s, name, ref(16))).toBe(0);
  return ws.ntohs(name.sin_port as number);
}

/** Tracks whether a Promise has settled. */
function tracked<R>(p: Promise<R>): { readonly settled: boolean; readonly value: Promise<R> } {
  const state = { settled: false, value: p };
  p.then(
    () => {
      state.settled = true;
    },
    () => {
      state.settled = true;
    },
  );
  return state;
}

const SOCKETS: readonly { label: string; open: () => number }[] = [
  { label: "WSASocket with WSA_FLAG_OVERLAPPED", open: () => udp4(ws.WSA_FLAG_OVERLAPPED) },
  { label: "WSASocket without WSA_FLAG_OVERLAPPED", open: () => udp4(0) },
  { label: "socket()", open: () => ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP) },
];

const fixture = fileURLToPath(new URL("../fixtures/receive-keepalive.mjs", import.meta.url));

/** Runs the keep-alive fixture; calls `onPort` with the port it listens on; its exit and output lines. */
function runFixture(
  backend: string,
  api: string,
  onPort: (port: number) => void,
): Promise<{ code: number | null; lines: string[]; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, [fixture, backend, api], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    const m = /^port (\d+)$/.exec(line);
    if (m) onPort(Number(m[1]));
  });
  const killer = setTimeout(() => child.kill(), 8000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, lines, ms: Date.now() - started });
    }),
  );
}

describe.each(BACKENDS)("blocking receives on $name", (backend) => {
  describe("facade", () => {
    useFacade(backend);

    it.for(SOCKETS)(
      "$label: WSARecvFrom is a Promise that settles only when a datagram arrives",
      T,
      async ({ open }, { onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const s = open();
        expect(s).not.toBe(ws.INVALID_SOCKET);
        const port = bindLoopback(s);
        const buf = Buffer.alloc(16);
        const got = ref();
        const from: Record<string, unknown> = {};
        const result = ws.WSARecvFrom(s, [{ len: 16, buf }], 1, got, ref(0), from, ref(16), null, null);
        expect(result).toBeInstanceOf(Promise);
        const p = tracked(result as Promise<number>);
        await sleep(100);
        expect(p.settled).toBe(false);
        expect(got.value).toBe(0);
        await peer.send("arrived", port);
        expect(await p.value).toBe(0);
        expect(ws.WSAGetLastError()).toBe(0);
        expect(got.value).toBe(7);
        expect(buf.subarray(0, 7).toString()).toBe("arrived");
        expect(ws.ntohs(from.sin_port as number)).toBe(peer.port);
      },
    );

    it("WSARecv and recvfrom are Promises too; each settles with its own datagram, in order", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const s = udp4(0);
      const port = bindLoopback(s);
      const a = Buffer.alloc(8);
      const b = Buffer.alloc(8);
      const c = Buffer.alloc(8);
      const gotA = ref();
      const pa = tracked(ws.WSARecv(s, [{ len: 8, buf: a }], 1, gotA, ref(0), null, null) as Promise<number>);
      const pb = tracked(ws.recvfrom(s, b, 8, 0, null, null) as Promise<number>);
      const pc = tracked(ws.recvfrom(s, c, 8, 0, {}, ref(16)) as Promise<number>);
      await sleep(50);
      expect([pa.settled, pb.settled, pc.settled]).toEqual([false, false, false]);
      await peer.send("one", port);
      expect(await pa.value).toBe(0);
      expect(gotA.value).toBe(3);
      await sleep(30);
      expect([pb.settled, pc.settled]).toEqual([false, false]);
      await peer.send("two!", port);
      await peer.send("three", port);
      expect(await pb.value).toBe(4);
      expect(await pc.value).toBe(5);
      expect([a, b, c].map((x) => x.toString().replace(/\0+$/, ""))).toEqual(["one", "two!", "three"]);
    });

    it("a datagram already queued: the Promise settles without waiting for another", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const s = udp4(0);
      const port = bindLoopback(s);
      await peer.send("early", port);
      const buf = Buffer.alloc(8);
      // Bounded: a receive that missed the queued datagram would wait for ever.
      let timer: NodeJS.Timeout | undefined;
      const n = await Promise.race([
        ws.recvfrom(s, buf, 8, 0, null, null),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve("still pending"), 3000);
        }),
      ]);
      clearTimeout(timer);
      expect(n).toBe(5);
      expect(buf.subarray(0, 5).toString()).toBe("early");
    });

    it(
      "a pending recvfrom keeps the process alive until its datagram comes; an idle socket does not",
      T,
      async ({ onTestFinished }) => {
        const peer = await openPeer(onTestFinished);
        const waited = await runFixture(backend.name, "facade", (port) => {
          setTimeout(() => void peer.send("kept alive", port), 300);
        });
        expect(waited.lines).toEqual([expect.stringMatching(/^port \d+$/), "got kept alive"]);
        expect(waited.code).toBe(0);
        expect(waited.ms).toBeGreaterThanOrEqual(300);
        const idle = await runFixture(backend.name, "idle", () => {});
        expect(idle.lines).toEqual([expect.stringMatching(/^port \d+$/), "idle"]);
        expect(idle.code).toBe(0);
      },
    );
  });

  describe("idiomatic", () => {
    it("a pending receive keeps the process alive until its datagram comes", T, async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const waited = await runFixture(backend.name, "idiomatic", (port) => {
        setTimeout(() => void peer.send("kept alive", port), 300);
      });
      expect(waited.lines).toEqual([expect.stringMatching(/^port \d+$/), "got kept alive"]);
      expect(waited.code).toBe(0);
    });
  });
});
