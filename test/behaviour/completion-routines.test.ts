/**
 * Completion routines: queued when their operation completes, run only inside an
 * alertable wait of the same thread (SleepEx(ms, true), alertable
 * WSAWaitForMultipleEvents), never inside WSASendTo, never outside an alertable wait,
 * once each, with dwFlags 0 and the caller's lpOverlapped; hEvent is not signalled; a
 * routine may post another send; routines are not nested.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, alertUntil, bufs, expectStarted, openReceiver, pollUntil, T, udp4, useFacade, ws } from "../helpers.js";

interface Call {
  readonly dwError: number;
  readonly cbTransferred: number;
  readonly lpOverlapped: ws.WSAOVERLAPPED;
  readonly dwFlags: number;
}

/** A completion routine that records its calls. */
function recorder(): { calls: Call[]; routine: ws.CompletionRoutine } {
  const calls: Call[] = [];
  return {
    calls,
    routine: (dwError, cbTransferred, lpOverlapped, dwFlags) => {
      calls.push({ dwError, cbTransferred, lpOverlapped, dwFlags });
    },
  };
}

describe.each(BACKENDS)("completion routines on $name", (backend) => {
  useFacade(backend);

  it("run only inside an alertable SleepEx, once, with (0, bytes, lpOverlapped, 0)", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    const ov = new ws.WSAOVERLAPPED();
    const { calls, routine } = recorder();
    expectStarted(ws.WSASendTo(s, bufs("ab", "cd"), 2, null, 0, to, ws.sizeof(to), ov, routine), backend);
    expect(calls, "not run inside WSASendTo").toHaveLength(0);
    // Let the operation complete without any alertable wait.
    await pollUntil(() => ws.HasOverlappedIoCompleted(ov));
    await rx.waitFor(1);
    expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
    expect(calls, "not run outside an alertable wait").toHaveLength(0);
    expect(await ws.SleepEx(20, false), "a non-alertable SleepEx").toBe(0);
    expect(calls, "not run by a non-alertable SleepEx").toHaveLength(0);
    const ev = ws.WSACreateEvent();
    expect(await ws.WSAWaitForMultipleEvents(1, [ev], false, 20, false)).toBe(ws.WSA_WAIT_TIMEOUT);
    expect(calls, "not run by a non-alertable WSAWaitForMultipleEvents").toHaveLength(0);

    expect(await ws.SleepEx(5000, true)).toBe(ws.WAIT_IO_COMPLETION);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.dwError).toBe(0);
    expect(call?.cbTransferred).toBe(4);
    expect(call?.lpOverlapped).toBe(ov);
    expect(call?.dwFlags).toBe(0);
    expect(rx.texts()).toEqual(["abcd"]);
    // Once: the next alertable wait finds nothing to run and times out.
    expect(await ws.SleepEx(20, true)).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it("run inside an alertable WSAWaitForMultipleEvents, which returns WSA_WAIT_IO_COMPLETION", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    const ov = new ws.WSAOVERLAPPED();
    const { calls, routine } = recorder();
    expectStarted(ws.WSASendTo(s, bufs("wfme"), 1, null, 0, to, ws.sizeof(to), ov, routine), backend);
    const never = ws.WSACreateEvent();
    // Started while the send is (possibly) pending: the completion wakes it.
    expect(await ws.WSAWaitForMultipleEvents(1, [never], false, 5000, true)).toBe(ws.WSA_WAIT_IO_COMPLETION);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.lpOverlapped).toBe(ov);
    expect(calls[0]?.cbTransferred).toBe(4);
    await rx.waitFor(1);
    expect(rx.texts()).toEqual(["wfme"]);
  });

  it("an alertable SleepEx begun before the completion is woken by it", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    const ov = new ws.WSAOVERLAPPED();
    const { calls, routine } = recorder();
    expectStarted(ws.WSASendTo(s, bufs("wake"), 1, null, 0, to, ws.sizeof(to), ov, routine), backend);
    const wait = ws.SleepEx(5000, true);
    expect(await wait).toBe(ws.WAIT_IO_COMPLETION);
    expect(calls).toHaveLength(1);
  });

  it("with a completion routine, hEvent is left to the caller and not signalled", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    const ev = ws.WSACreateEvent();
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = ev;
    const { calls, routine } = recorder();
    expectStarted(ws.WSASendTo(s, bufs("ctx"), 1, null, 0, to, ws.sizeof(to), ov, routine), backend);
    await alertUntil(() => calls.length === 1);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.lpOverlapped.hEvent).toBe(ev);
    expect(await ws.WSAWaitForMultipleEvents(1, [ev], true, 0, false)).toBe(ws.WSA_WAIT_TIMEOUT);
    expect(ws.WSACloseEvent(ev)).toBe(true);
  });

  it("one alertable wait runs every queued routine", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    const { calls, routine } = recorder();
    const ovs = Array.from({ length: 5 }, () => new ws.WSAOVERLAPPED());
    for (const [i, ov] of ovs.entries()) {
      expectStarted(ws.WSASendTo(s, bufs(`r${i}`), 1, null, 0, to, ws.sizeof(to), ov, routine), backend);
    }
    await pollUntil(() => ovs.every((ov) => ws.HasOverlappedIoCompleted(ov)));
    expect(calls).toHaveLength(0);
    expect(await ws.SleepEx(0, true)).toBe(ws.WAIT_IO_COMPLETION);
    expect(calls).toHaveLength(5);
    expect(new Set(calls.map((c) => c.lpOverlapped))).toEqual(new Set(ovs));
    expect(await ws.SleepEx(0, true)).toBe(0);
  });

  it(
    "a routine may post another WSASendTo; each routine runs once and every datagram arrives in order",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const seen: number[] = [];
      const posted: number[] = [];
      const post = (i: number): void => {
        const ov = new ws.WSAOVERLAPPED();
        const rc = ws.WSASendTo(s, bufs(`chain${i}`), 1, null, 0, to, ws.sizeof(to), ov, (err, n, o) => {
          expect(err).toBe(0);
          expect(n).toBe(`chain${i}`.length);
          expect(o).toBe(ov);
          seen.push(i);
          if (i < 4) post(i + 1);
        });
        expectStarted(rc, backend);
        posted.push(i);
      };
      post(0);
      await alertUntil(() => seen.length === 5);
      expect(posted).toEqual([0, 1, 2, 3, 4]);
      expect(seen).toEqual([0, 1, 2, 3, 4]);
      await rx.waitFor(5);
      expect(rx.texts()).toEqual(["chain0", "chain1", "chain2", "chain3", "chain4"]);
      expect(await ws.SleepEx(20, true)).toBe(0);
      expect(seen).toHaveLength(5);
    },
  );

  it("routines are not nested: an alertable wait inside a routine runs no other routine", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const s = udp4();
    const to = addr4(rx.port);
    let depth = 0;
    let maxDepth = 0;
    const order: string[] = [];
    const innerWaits: Promise<number>[] = [];
    const routine = (tag: string): ws.CompletionRoutine => {
      return () => {
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        order.push(`enter ${tag}`);
        innerWaits.push(ws.SleepEx(0, true));
        const ev = ws.WSACreateEvent();
        innerWaits.push(ws.WSAWaitForMultipleEvents(1, [ev], false, 0, true));
        order.push(`leave ${tag}`);
        depth--;
      };
    };
    const ovA = new ws.WSAOVERLAPPED();
    const ovB = new ws.WSAOVERLAPPED();
    expectStarted(ws.WSASendTo(s, bufs("A"), 1, null, 0, to, ws.sizeof(to), ovA, routine("A")), backend);
    expectStarted(ws.WSASendTo(s, bufs("B"), 1, null, 0, to, ws.sizeof(to), ovB, routine("B")), backend);
    await pollUntil(() => ws.HasOverlappedIoCompleted(ovA) && ws.HasOverlappedIoCompleted(ovB));
    expect(await ws.SleepEx(1000, true)).toBe(ws.WAIT_IO_COMPLETION);
    expect(maxDepth).toBe(1);
    expect(order).toHaveLength(4);
    expect(order[0]?.startsWith("enter")).toBe(true);
    expect(order[1]?.startsWith("leave")).toBe(true);
    // The waits begun inside routines found nothing they were allowed to run.
    expect(await Promise.all(innerWaits)).toEqual([0, ws.WSA_WAIT_TIMEOUT, 0, ws.WSA_WAIT_TIMEOUT]);
  });

  it(
    "a routine that completed before an alertable wait runs even when the wait has a zero timeout",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      const { calls, routine } = recorder();
      expectStarted(ws.WSASendTo(s, bufs("z"), 1, null, 0, to, ws.sizeof(to), ov, routine), backend);
      await pollUntil(() => ws.HasOverlappedIoCompleted(ov));
      const ev = ws.WSACreateEvent();
      expect(await ws.WSAWaitForMultipleEvents(1, [ev], false, 0, true)).toBe(ws.WSA_WAIT_IO_COMPLETION);
      expect(calls).toHaveLength(1);
    },
  );
});
