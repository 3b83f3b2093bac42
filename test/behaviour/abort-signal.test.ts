/**
 * AbortSignal in the idiomatic API: an already-aborted signal fails the send at once
 * with WSA_OPERATION_ABORTED and nothing is sent; aborting while the send is pending
 * either lets it complete normally or rejects it with WSA_OPERATION_ABORTED, and then
 * the datagram never arrives. (The facade has no AbortSignal: closesocket aborts.)
 */
import { describe, expect, it } from "vitest";
import { BACKENDS, completesDuringCall } from "../backends.js";
import {
  expectNothingSentBeforeIdiomatic,
  LOOPBACK4,
  openIdiomatic,
  openReceiver,
  pollUntil,
  seq,
  T,
  thrown,
  ws,
} from "../helpers.js";

const N = 300;
const MANY = 100_000;

describe.each(BACKENDS)("AbortSignal on $name", (backend) => {
  it(
    "an already-aborted signal: sendToOverlapped throws, sendTo rejects, WSA_OPERATION_ABORTED; nothing sent",
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const reason = new Error("caller gave up");
      const signal = AbortSignal.abort(reason);
      const to = { address: LOOPBACK4, port: rx.port };
      const e = thrown(() => sock.sendToOverlapped(Buffer.from("never"), to, { signal }));
      expect(e).toBeInstanceOf(ws.WSAError);
      expect((e as ws.WSAError).code).toBe("WSA_OPERATION_ABORTED");
      expect((e as ws.WSAError).errno).toBe(995);
      expect((e as ws.WSAError).cause).toBe(reason);
      let promise: Promise<ws.SendResult> | undefined;
      expect(() => {
        promise = sock.sendTo(Buffer.from("never"), to, { signal });
      }).not.toThrow();
      const rejected = await promise?.catch((err: unknown) => err);
      expect((rejected as ws.WSAError).code).toBe("WSA_OPERATION_ABORTED");
      await expectNothingSentBeforeIdiomatic(sock, rx);
    },
  );

  it(
    `aborting ${N / 2} of ${N} pending sends: each aborted one completes or rejects WSA_OPERATION_ABORTED and then never arrives`,
    T,
    async ({ onTestFinished }) => {
      const rx = await openReceiver();
      onTestFinished(() => rx.close());
      const sock = openIdiomatic(backend, onTestFinished);
      const to = { address: LOOPBACK4, port: rx.port };
      const controllers: AbortController[] = [];
      const results: Promise<ws.SendResult>[] = [];
      for (let i = 0; i < N; i++) {
        const c = new AbortController();
        controllers.push(c);
        results.push(sock.sendToOverlapped(seq(i, 4), to, { signal: c.signal }).result);
      }
      const reason = new Error("stop");
      for (let i = 1; i < N; i += 2) controllers[i]?.abort(reason);
      const settled = await Promise.allSettled(results);
      const aborted = new Set<number>();
      for (const [i, r] of settled.entries()) {
        if (r.status === "fulfilled") {
          expect(r.value.bytesSent, `send ${i}`).toBe(8);
          continue;
        }
        expect(i % 2, `send ${i} was not aborted but failed`).toBe(1);
        expect(r.reason).toBeInstanceOf(ws.WSAError);
        expect((r.reason as ws.WSAError).code).toBe("WSA_OPERATION_ABORTED");
        expect((r.reason as ws.WSAError).cause).toBe(reason);
        aborted.add(i);
      }
      const expectedCount = N - aborted.size;
      await rx.waitFor(expectedCount);
      await rx.settle(100);
      const arrived = rx.got.map((d) => d.msg.readUInt32BE(0));
      for (const i of arrived) expect(aborted.has(i), `datagram ${i} arrived but its send was rejected as aborted`).toBe(false);
      // The sends nobody aborted all arrive, in order.
      const evens = arrived.filter((i) => i % 2 === 0);
      expect(evens).toEqual(Array.from({ length: N / 2 }, (_, k) => 2 * k));
      expect(arrived).toEqual([...arrived].sort((a, b) => a - b));
    },
  );

  it(`one abort over ${MANY} pending sends withdraws them in linear time: each completes once, sent or aborted`, {
    timeout: 10_000,
  }, async ({ onTestFinished }) => {
    // Withdrawing one send used to rebuild the whole backlog: an abort over this many
    // took minutes (quadratic). Linear, it takes well under a second; the test's own
    // timeout is the bound, not an assertion on time.
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished, { maxOutstandingSends: MANY });
    const to = { address: LOOPBACK4, port: rx.port };
    const controller = new AbortController();
    const outcomes = new Int8Array(MANY);
    const payload = Buffer.from("many");
    for (let i = 0; i < MANY; i++) {
      sock.sendToOverlapped(payload, to, { signal: controller.signal }).result.then(
        () => {
          outcomes[i] = (outcomes[i] as number) + 1;
        },
        (e: ws.WSAError) => {
          expect(e.code).toBe("WSA_OPERATION_ABORTED");
          outcomes[i] = (outcomes[i] as number) - 1;
        },
      );
    }
    controller.abort();
    await pollUntil(() => outcomes.every((o) => o !== 0));
    // Exactly once each: +1 sent, -1 aborted; never 0 (lost) or ±2 (twice).
    expect(outcomes.filter((o) => o !== 1 && o !== -1).length).toBe(0);
    const aborted = outcomes.filter((o) => o === -1).length;
    // dgram keeps sends beyond 64 in flight in its backlog: nearly all are withdrawn.
    // (Native on Windows: every send is with Winsock from its call; none waits here.)
    if (!completesDuringCall(backend) && backend.deviations.sendsWaitInBackend) expect(aborted).toBeGreaterThan(MANY - 100);
    await rx.settle(50);
    expect(rx.got.length).toBeLessThanOrEqual(MANY - aborted);
  });

  it("aborting after the send completed changes nothing", T, async ({ onTestFinished }) => {
    const rx = await openReceiver();
    onTestFinished(() => rx.close());
    const sock = openIdiomatic(backend, onTestFinished);
    const c = new AbortController();
    const r = await sock.sendTo(Buffer.from("done"), { address: LOOPBACK4, port: rx.port }, { signal: c.signal });
    c.abort();
    expect(r.bytesSent).toBe(4);
    await rx.waitFor(1);
    expect(rx.texts()).toEqual(["done"]);
  });
});
