/**
 * Waits in loops (issue 10): WSAWaitForMultipleEvents keeps what it learnt of an array of
 * events between waits on the same events, and every finite wait's timeout shares one
 * timer. What must hold whatever is kept: each wait ends with the lowest index signalled
 * (all of them with fWaitAll), on the array it was given; a closed event fails the next
 * wait that names it; no wait is lost when many arrays are waited on at once; timeouts
 * are waited in full, in deadline order; and a wait that ended leaves nothing that keeps
 * the process alive, while a pending one does.
 */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { T, useFacade, ws } from "../helpers.js";

const WAIT_0 = ws.WSA_WAIT_EVENT_0;

/** Whether `p` settled by now (after the microtasks queued so far ran). */
async function settledYet(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

function events(n: number): ws.WSAEVENT[] {
  return Array.from({ length: n }, () => ws.WSACreateEvent());
}

/** Runs an ES module in a child process with the library; its stdout and how long it ran. */
function runChild(source: string): Promise<{ stdout: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", source], { timeout: 15_000 }, (error, stdout) =>
      error ? reject(error) : resolve({ stdout: stdout.trim(), ms: Date.now() - t0 }),
    ),
  );
}

describe.each(BACKENDS)("waits in loops on $name", (backend) => {
  useFacade(backend);

  it("200 waits on the same 64 events: each ends with the lowest index signalled", T, async () => {
    const evs = events(64);
    for (let round = 0; round < 200; round++) {
      const i = (round * 37) % 64;
      const j = (i + 1 + (round % 63)) % 64;
      const wait = ws.WSAWaitForMultipleEvents(64, evs, false, 5000, false);
      expect(await settledYet(wait)).toBe(false);
      // The wait ends at the first signal: j's, whatever comes after.
      ws.WSASetEvent(evs[j] as ws.WSAEVENT);
      ws.WSASetEvent(evs[i] as ws.WSAEVENT);
      expect(await wait).toBe(WAIT_0 + j);
      // Both are signalled now: a wait is satisfied at once, by the lower index.
      expect(await ws.WSAWaitForMultipleEvents(64, evs, false, 5000, false)).toBe(WAIT_0 + Math.min(i, j));
      ws.WSAResetEvent(evs[i] as ws.WSAEVENT);
      ws.WSAResetEvent(evs[j] as ws.WSAEVENT);
    }
    for (const e of evs) ws.WSACloseEvent(e);
  });

  it("the same events in another array, in another order, give that array's indices", T, async () => {
    const evs = events(8);
    expect(await ws.WSAWaitForMultipleEvents(8, evs, false, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
    const reversed = [...evs].reverse();
    const wait = ws.WSAWaitForMultipleEvents(8, reversed, false, 5000, false);
    ws.WSASetEvent(evs[1] as ws.WSAEVENT);
    expect(await wait).toBe(WAIT_0 + 6);
    // The first array again, then only its first three events (cEvents 3).
    expect(await ws.WSAWaitForMultipleEvents(8, evs, false, 0, false)).toBe(WAIT_0 + 1);
    expect(await ws.WSAWaitForMultipleEvents(3, evs, false, 0, false)).toBe(WAIT_0 + 1);
    ws.WSAResetEvent(evs[1] as ws.WSAEVENT);
    expect(await ws.WSAWaitForMultipleEvents(1, [evs[1] as ws.WSAEVENT], false, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
    for (const e of evs) ws.WSACloseEvent(e);
  });

  it("an event closed between two waits on the same array fails the second with WSA_INVALID_HANDLE", T, async () => {
    const evs = events(4);
    ws.WSASetEvent(evs[3] as ws.WSAEVENT);
    expect(await ws.WSAWaitForMultipleEvents(4, evs, false, 5000, false)).toBe(WAIT_0 + 3);
    expect(ws.WSACloseEvent(evs[2])).toBe(true);
    expect(await ws.WSAWaitForMultipleEvents(4, evs, false, 5000, false)).toBe(ws.WSA_WAIT_FAILED);
    expect(ws.WSAGetLastError()).toBe(ws.WSA_INVALID_HANDLE);
    // Without it, the others still wait and wake.
    const rest = [evs[0], evs[1], evs[3]] as ws.WSAEVENT[];
    ws.WSAResetEvent(evs[3] as ws.WSAEVENT);
    const wait = ws.WSAWaitForMultipleEvents(3, rest, false, 5000, false);
    ws.WSASetEvent(evs[1] as ws.WSAEVENT);
    expect(await wait).toBe(WAIT_0 + 1);
    for (const e of rest) ws.WSACloseEvent(e);
  });

  it("a getter that closes an event already read fails the wait with WSA_INVALID_HANDLE", T, async () => {
    const evs = events(3);
    expect(await ws.WSAWaitForMultipleEvents(3, evs, false, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
    const hostile = [evs[0], evs[1]] as (ws.WSAEVENT | null)[];
    Object.defineProperty(hostile, 2, {
      get() {
        ws.WSACloseEvent(evs[0]);
        return evs[2];
      },
    });
    expect(await ws.WSAWaitForMultipleEvents(3, hostile, false, 5000, false)).toBe(ws.WSA_WAIT_FAILED);
    expect(ws.WSAGetLastError()).toBe(ws.WSA_INVALID_HANDLE);
    ws.WSACloseEvent(evs[1]);
    ws.WSACloseEvent(evs[2]);
  });

  it("waits pending on 20 different arrays at once all end, each with its own index", T, async () => {
    const shared = ws.WSACreateEvent();
    const own = events(20);
    const waits = own.map((e, k) => {
      // Arrays of different lengths, the shared event first, this wait's own event at k % 5 + 1.
      const arr = [shared, ...events(k % 5), e];
      return { wait: ws.WSAWaitForMultipleEvents(arr.length, arr, false, 5000, false), index: arr.length - 1 };
    });
    for (const w of waits) expect(await settledYet(w.wait)).toBe(false);
    // Signalled in reverse: the first arrays' waits have been pending longest.
    for (let k = own.length - 1; k >= 0; k--) {
      ws.WSASetEvent(own[k] as ws.WSAEVENT);
      const w = waits[k] as { wait: Promise<number>; index: number };
      expect(await w.wait).toBe(WAIT_0 + w.index);
    }
    // And the shared event, set now, ends a new wait on any of those arrays at index 0.
    ws.WSASetEvent(shared);
    expect(await ws.WSAWaitForMultipleEvents(2, [shared, own[0] as ws.WSAEVENT], false, 5000, false)).toBe(WAIT_0);
  });

  it("two waits pending on the same array end on one signal; fWaitAll waits for every event", T, async () => {
    const evs = events(5);
    const a = ws.WSAWaitForMultipleEvents(5, evs, false, 5000, false);
    const b = ws.WSAWaitForMultipleEvents(5, evs, false, 5000, false);
    const all = ws.WSAWaitForMultipleEvents(5, evs, true, 5000, false);
    ws.WSASetEvent(evs[2] as ws.WSAEVENT);
    expect(await a).toBe(WAIT_0 + 2);
    expect(await b).toBe(WAIT_0 + 2);
    for (const k of [0, 1, 3]) ws.WSASetEvent(evs[k] as ws.WSAEVENT);
    expect(await settledYet(all)).toBe(false);
    ws.WSASetEvent(evs[4] as ws.WSAEVENT);
    expect(await all).toBe(WAIT_0);
    for (const e of evs) ws.WSACloseEvent(e);
  });

  it("concurrent timed waits end in full, in the order of their deadlines", T, async () => {
    const ev = ws.WSACreateEvent();
    // Measured from before each call: Node's timers count from the loop's cached clock (in
    // whole milliseconds), which a timer of its own per wait let end up to 1 ms early.
    for (let round = 0; round < 4; round++) {
      const ended: string[] = [];
      const timed = (name: string, ms: number, wait: (ms: number) => Promise<number>) => {
        const t0 = performance.now();
        return wait(ms).then((rc) => {
          ended.push(name);
          return { rc, ms, took: performance.now() - t0 };
        });
      };
      const unit = 10 + round * 3;
      const results = await Promise.all([
        timed("wait 4", 4 * unit, (ms) => ws.WSAWaitForMultipleEvents(1, [ev], false, ms, false)),
        timed("sleep 1", unit, (ms) => ws.SleepEx(ms, false)),
        timed("wait 3", 3 * unit, (ms) => ws.WSAWaitForMultipleEvents(1, [ev], false, ms, true)),
        timed("sleep 2", 2 * unit, (ms) => ws.SleepEx(ms, true)),
      ]);
      expect(ended).toEqual(["sleep 1", "sleep 2", "wait 3", "wait 4"]);
      for (const r of results) {
        expect(r.took).toBeGreaterThanOrEqual(r.ms);
        expect([0, ws.WSA_WAIT_TIMEOUT]).toContain(r.rc);
      }
    }
    ws.WSACloseEvent(ev);
  });

  it("a wait that ended early keeps the process alive no longer; a pending one keeps it alive", {
    timeout: 20_000,
  }, async () => {
    const early = await runChild(`
      import * as ws from "wsasendto";
      process.env.WSASENDTO_BACKEND = ${JSON.stringify(backend.name)};
      ws.WSAStartup(ws.MAKEWORD(2, 2), {});
      const ev = ws.WSACreateEvent();
      setTimeout(() => ws.WSASetEvent(ev), 20);
      const a = await ws.WSAWaitForMultipleEvents(1, [ev], false, 60000, true);
      ws.WSAResetEvent(ev);
      setTimeout(() => ws.WSASetEvent(ev), 20);
      const b = await ws.WSAWaitForMultipleEvents(1, [ev], false, 0xfffffffe, false);
      console.log(a, b);
    `);
    expect(early.stdout).toBe("0 0");
    // Far below the 60 s the waits could have lasted.
    expect(early.ms).toBeLessThan(8_000);
    const pending = await runChild(`
      import * as ws from "wsasendto";
      process.env.WSASENDTO_BACKEND = ${JSON.stringify(backend.name)};
      ws.WSAStartup(ws.MAKEWORD(2, 2), {});
      const ev = ws.WSACreateEvent();
      const t0 = performance.now();
      const a = await ws.SleepEx(150, false);
      const b = await ws.WSAWaitForMultipleEvents(1, [ev], false, 150, false);
      console.log(a, b, performance.now() - t0 >= 300);
    `);
    expect(pending.stdout).toBe(`0 ${ws.WSA_WAIT_TIMEOUT} true`);
  });
});
