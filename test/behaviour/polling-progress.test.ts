/**
 * Polling loops progress. On Windows the kernel completes I/O while a thread polls with a
 * zero timeout, so a C loop of `WSAGetOverlappedResult(..., FALSE, ...)` and `SleepEx(0, ...)`
 * ends. Here completions come from Node's event loop: every wait that returns a Promise
 * must let it turn before it settles empty-handed, and a loop of waits satisfied at once
 * must let it turn now and then. Every loop below is bounded in count and time; a loop
 * that does not progress fails instead of hanging.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bound, bufs, openReceiver, ref, sync, T, udp4, useFacade, ws } from "../helpers.js";

const STATUS_PENDING = 0x103;
/** The most polls a loop may take (each lets the loop turn at most once). */
const MAX_POLLS = 20_000;

/** Polls with `wait` until `done()` holds; returns how many polls it took (MAX_POLLS: never). */
async function poll(done: () => boolean, wait: () => Promise<unknown>): Promise<number> {
  const deadline = Date.now() + 5000;
  let polls = 0;
  while (!done() && polls < MAX_POLLS && Date.now() < deadline) {
    await wait();
    polls++;
  }
  return done() ? polls : MAX_POLLS;
}

/** Posts an overlapped WSARecvFrom on `s` with an event; the datagram lands in `buf`. */
function postReceive(s: number): { ov: ws.WSAOVERLAPPED; buf: Buffer } {
  const ov = new ws.WSAOVERLAPPED();
  ov.hEvent = ws.WSACreateEvent();
  const buf = Buffer.alloc(64);
  const rc = sync(ws.WSARecvFrom(s, bufs(buf), 1, null, ref(), null, null, ov, null));
  expect(rc).toBe(ws.SOCKET_ERROR);
  expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
  return { ov, buf };
}

/** Sends `text` to `port` with an overlapped WSASendTo that nobody waits for. */
function sendAndForget(s: number, port: number, text: string): void {
  const to = addr4(port);
  const rc = sync(ws.WSASendTo(s, bufs(text), 1, null, 0, to, ws.sizeof(to), new ws.WSAOVERLAPPED(), null));
  expect(rc === 0 || ws.WSAGetLastError() === ws.WSA_IO_PENDING, `WSASendTo: ${ws.WSAGetLastError()}`).toBe(true);
}

describe.each(BACKENDS)("polling loops progress on $name", (backend) => {
  useFacade(backend);

  it(
    "a send polled with WSAGetOverlappedResult(fWait = false) and SleepEx(0, false) completes",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const ov = new ws.WSAOVERLAPPED();
      ov.hEvent = ws.WSACreateEvent();
      sync(ws.WSASendTo(s, bufs("polled"), 1, null, 0, to, ws.sizeof(to), ov, null));
      const n = ref();
      const f = ref();
      const polls = await poll(
        () => ws.WSAGetOverlappedResult(s, ov, n, false, f) === true,
        () => ws.SleepEx(0, false),
      );
      expect(polls).toBeLessThan(MAX_POLLS);
      expect(n.value).toBe(6);
      expect((await rx.waitFor(1)).map((d) => d.msg.toString())).toEqual(["polled"]);
    },
  );

  it("a receive polled with WSAWaitForMultipleEvents(..., 0, ...) gets the datagram sent meanwhile", T, async () => {
    const { s, port } = bound();
    const { ov, buf } = postReceive(s);
    sendAndForget(udp4(), port, "to the poller");
    let result = -1;
    const polls = await poll(
      () => result === ws.WSA_WAIT_EVENT_0,
      async () => {
        result = await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], false, 0, false);
        if (result !== ws.WSA_WAIT_EVENT_0) expect(result).toBe(ws.WSA_WAIT_TIMEOUT);
      },
    );
    expect(polls).toBeLessThan(MAX_POLLS);
    expect(ov.Internal).toBe(0);
    expect(buf.subarray(0, ov.InternalHigh).toString()).toBe("to the poller");
  });

  it("a receive polled with HasOverlappedIoCompleted and SleepEx(0, true) completes", T, async () => {
    const { s, port } = bound();
    const { ov, buf } = postReceive(s);
    expect(ov.Internal).toBe(STATUS_PENDING);
    sendAndForget(udp4(), port, "alertable poll");
    const polls = await poll(
      () => ws.HasOverlappedIoCompleted(ov),
      () => ws.SleepEx(0, true),
    );
    expect(polls).toBeLessThan(MAX_POLLS);
    expect(buf.subarray(0, ov.InternalHigh).toString()).toBe("alertable poll");
  });

  it("a loop of waits satisfied at once still lets a pending receive complete", T, async () => {
    const { s, port } = bound();
    const { ov } = postReceive(s);
    const always = ws.WSACreateEvent();
    ws.WSASetEvent(always);
    sendAndForget(udp4(), port, "meanwhile");
    const polls = await poll(
      () => ws.HasOverlappedIoCompleted(ov),
      () => ws.WSAWaitForMultipleEvents(1, [always], false, 0, false),
    );
    expect(polls).toBeLessThan(MAX_POLLS);
    expect(ov.InternalHigh).toBe(9);
  });

  it("a loop of blocking sends lets a pending receive complete", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const { s, port } = bound();
    const { ov } = postReceive(s);
    const sender = udp4();
    sendAndForget(sender, port, "to the receiver");
    const to = addr4(rx.port);
    const polls = await poll(
      () => ws.HasOverlappedIoCompleted(ov),
      () => ws.WSASendTo(sender, bufs("x"), 1, ref(), 0, to, ws.sizeof(to), null, null) as Promise<number>,
    );
    expect(polls).toBeLessThan(MAX_POLLS);
    expect(ov.InternalHigh).toBe(15);
  });

  it(
    "a burst of 5,000 overlapped sends with SleepEx(0, true) every 100 posts all complete and arrive",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const s = udp4();
      const to = addr4(rx.port);
      const TOTAL = 5000;
      const statuses = new Map<number, number>();
      const refused: number[] = [];
      for (let i = 0; i < TOTAL; i++) {
        const payload = Buffer.alloc(8);
        payload.writeUInt32BE(i, 0);
        const rc = sync(
          ws.WSASendTo(s, bufs(payload), 1, null, 0, to, ws.sizeof(to), new ws.WSAOVERLAPPED(), (err, bytes) => {
            statuses.set(i, err === 0 && bytes === 8 ? 0 : err || -1);
          }),
        );
        if (rc !== 0 && ws.WSAGetLastError() !== ws.WSA_IO_PENDING) refused.push(ws.WSAGetLastError());
        if (i % 100 === 99) await ws.SleepEx(0, true);
      }
      expect(refused).toEqual([]);
      const polls = await poll(
        () => statuses.size === TOTAL,
        () => ws.SleepEx(0, true),
      );
      expect(polls).toBeLessThan(MAX_POLLS);
      expect([...statuses.values()].filter((v) => v !== 0)).toEqual([]);
      expect((await rx.waitFor(TOTAL)).length).toBe(TOTAL);
    },
  );
});
