/**
 * Bad input never throws out of the receive calls (WSARecvFrom, WSARecv, recvfrom, in
 * their overlapped and blocking forms). Each call is made with a valid baseline on a
 * fresh bound socket that has a datagram waiting (so a call that is accepted completes
 * at once and writes its out-parameters), then with ONE argument at a time replaced by
 * each value of a table of hostile values. The call must not throw, nor reject, nor hang;
 * it returns SOCKET_ERROR (or a Promise of it) with a last error from the table, unless
 * the value is a legitimate one for that parameter (then success is allowed too).
 */
import dgram from "node:dgram";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { BACKENDS, type BackendUnderTest } from "../backends.js";
import { addr4, LOOPBACK4, ref, T, udp4, useFacade, ws } from "../helpers.js";
import { ALL_TRAPS_THROW, ARRAYS, BYTES, COMMON, COUNTS, detachedView, type Hostile, thrower } from "../hostile-values.js";

type Loose = (...args: unknown[]) => unknown;
const loose = (f: unknown): Loose => f as Loose;

/** A `{ value }` that can be read and written once (the call's check), then refuses writes. */
function lateReadOnlyRef(initial = 0): object {
  let value = initial;
  let writes = 0;
  return {
    get value() {
      return value;
    },
    set value(v: number) {
      if (writes++ > 0) throw new Error("hostile setter");
      value = v;
    },
  };
}

const EXTRA = {
  count: COUNTS,
  array: [
    ...ARRAYS,
    { label: "a WSABUF with a detached buffer", make: () => [{ len: 16, buf: detachedView(16) }] },
    { label: "a WSABUF with a throwing buf getter", make: () => [Object.defineProperty({ len: 16 }, "buf", { get: thrower })] },
    { label: "huge sparse array", make: () => new Array(2 ** 32 - 1) },
  ],
  bytes: BYTES,
  ref: [{ label: "a { value } that refuses later writes", make: () => lateReadOnlyRef() }],
  overlapped: [
    { label: "frozen WSAOVERLAPPED", make: () => Object.freeze(new ws.WSAOVERLAPPED()) },
    { label: "WSAOVERLAPPED Proxy whose traps throw", make: () => new Proxy(new ws.WSAOVERLAPPED(), ALL_TRAPS_THROW) },
  ],
} satisfies Record<string, readonly Hostile[]>;

/** Object-like hostile values: legitimate for an out-parameter (any object can hold `value`). */
const OBJECTS = ["throwing getters", "throwing Proxy", "frozen object", "detached buffer", "throwing valueOf"] as const;
const NULLS = ["undefined", "null"] as const;
const LATE_WRITES = "a { value } that refuses later writes";

interface Param {
  readonly name: string;
  readonly kind?: keyof typeof EXTRA;
  /** Hostile labels for which success is also allowed. */
  readonly accepts?: readonly string[];
  /**
   * Hostile labels that must succeed where an overlapped receive that finds a datagram
   * waiting pends (`immediateReceive` false): the value is written only by a receive that
   * completes during the call, and refused only then.
   */
  readonly succeedsWhenPending?: readonly string[];
}

interface Spec {
  readonly name: string;
  readonly call: Loose;
  readonly params: readonly Param[];
  /** A valid call's arguments for socket `s` (fresh objects per call). */
  readonly args: (s: number) => unknown[];
  /** Success of the call's return value. */
  readonly ok: (result: unknown, lastError: number) => boolean;
}

const started = (r: unknown, e: number): boolean => r === 0 || (r === ws.SOCKET_ERROR && e === ws.WSA_IO_PENDING);
const bufs = (): ws.WSABUF[] => [{ len: 16, buf: Buffer.alloc(16) }];
const overlapped = (): ws.WSAOVERLAPPED => new ws.WSAOVERLAPPED();

const SPECS: readonly Spec[] = [
  {
    name: "WSARecvFrom (overlapped)",
    call: loose(ws.WSARecvFrom),
    params: [
      { name: "s" },
      { name: "lpBuffers", kind: "array" },
      { name: "dwBufferCount", kind: "count" },
      { name: "lpNumberOfBytesRecvd", kind: "ref", accepts: [...NULLS, ...OBJECTS, "a { value } that refuses later writes"] },
      // Written back only by a receive that completes during the call (a pending one's flags
      // come from WSAGetOverlappedResult).
      { name: "lpFlags", kind: "ref", succeedsWhenPending: [LATE_WRITES] },
      // Any object can hold an address; one that refuses it is found when the receive completes.
      { name: "lpFrom", accepts: [...NULLS, ...OBJECTS] },
      { name: "lpFromlen", kind: "ref" },
      // NULL makes it a blocking call, which the waiting datagram completes.
      { name: "lpOverlapped", kind: "overlapped", accepts: NULLS },
      { name: "lpCompletionRoutine", accepts: NULLS },
    ],
    args: (s) => [s, bufs(), 1, null, ref(0), {}, ref(16), overlapped(), null],
    ok: started,
  },
  {
    name: "WSARecvFrom (blocking)",
    call: loose(ws.WSARecvFrom),
    params: [
      { name: "s" },
      { name: "lpBuffers", kind: "array" },
      { name: "dwBufferCount", kind: "count" },
      { name: "lpNumberOfBytesRecvd", kind: "ref", accepts: OBJECTS },
      { name: "lpFlags", kind: "ref" },
      { name: "lpFrom", accepts: [...NULLS, ...OBJECTS] },
      { name: "lpFromlen", kind: "ref" },
      { name: "lpOverlapped", kind: "overlapped", accepts: NULLS },
      { name: "lpCompletionRoutine", accepts: NULLS },
    ],
    args: (s) => [s, bufs(), 1, ref(), ref(0), {}, ref(16), null, null],
    ok: (r) => r === 0,
  },
  {
    name: "WSARecv (overlapped)",
    call: loose(ws.WSARecv),
    params: [
      { name: "s" },
      { name: "lpBuffers", kind: "array" },
      { name: "dwBufferCount", kind: "count" },
      { name: "lpNumberOfBytesRecvd", kind: "ref", accepts: [...NULLS, ...OBJECTS, "a { value } that refuses later writes"] },
      { name: "lpFlags", kind: "ref", succeedsWhenPending: [LATE_WRITES] },
      { name: "lpOverlapped", kind: "overlapped", accepts: NULLS },
      { name: "lpCompletionRoutine", accepts: NULLS },
    ],
    args: (s) => [s, bufs(), 1, null, ref(0), overlapped(), null],
    ok: started,
  },
  {
    name: "WSARecv (blocking)",
    call: loose(ws.WSARecv),
    params: [
      { name: "s" },
      { name: "lpBuffers", kind: "array" },
      { name: "dwBufferCount", kind: "count" },
      { name: "lpNumberOfBytesRecvd", kind: "ref", accepts: OBJECTS },
      { name: "lpFlags", kind: "ref" },
      { name: "lpOverlapped", kind: "overlapped", accepts: NULLS },
      { name: "lpCompletionRoutine", accepts: NULLS },
    ],
    args: (s) => [s, bufs(), 1, ref(), ref(0), null, null],
    ok: (r) => r === 0,
  },
  {
    name: "recvfrom",
    call: loose(ws.recvfrom),
    params: [
      { name: "s" },
      { name: "buf", kind: "bytes" },
      { name: "len", kind: "count" },
      { name: "flags", kind: "count" },
      { name: "from", accepts: [...NULLS, ...OBJECTS] },
      { name: "fromlen", kind: "ref" },
    ],
    args: (s) => [s, Buffer.alloc(16), 16, 0, {}, ref(16)],
    ok: (r) => typeof r === "number" && Number.isInteger(r) && r >= 0,
  },
];

function valuesFor(p: Param): Hostile[] {
  return [...COMMON, ...(p.kind ? EXTRA[p.kind] : [])];
}

function describeError(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : typeof e;
  } catch {
    return "an unprintable value";
  }
}

/** A node:dgram peer and a way to make a fresh bound socket with one datagram waiting on it. */
interface Ctx {
  fresh(): Promise<number>;
}

async function makeCtx(onFinished: (fn: () => Promise<void>) => void): Promise<Ctx> {
  const peer = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => peer.bind(0, LOOPBACK4, () => resolve()));
  onFinished(() => new Promise<void>((resolve) => peer.close(() => resolve())));
  return {
    async fresh() {
      const s = udp4();
      const local = addr4(0);
      expect(ws.bind(s, local, 16)).toBe(0);
      const name: Record<string, unknown> = {};
      expect(ws.getsockname(s, name, ref(16))).toBe(0);
      const port = ws.ntohs(name.sin_port as number);
      await new Promise<void>((resolve, reject) => peer.send("waiting", port, LOOPBACK4, (e) => (e ? reject(e) : resolve())));
      // Wait until it is queued (MSG_PEEK leaves it).
      expect(await ws.recvfrom(s, Buffer.alloc(16), 16, ws.MSG_PEEK, null, null)).toBe(7);
      return s;
    },
  };
}

/** Makes one call; returns null when it behaved, else what went wrong. */
async function tryOne(spec: Spec, s: number, index: number, hostile: Hostile, pends: boolean): Promise<string | null> {
  const args = spec.args(s);
  const param = spec.params[index] as Param;
  args[index] = hostile.make();
  const where = `${spec.name}(${param.name} = ${hostile.label})`;
  ws.WSASetLastError(0);
  let result: unknown;
  try {
    result = spec.call(...args);
  } catch (e) {
    return `${where} threw ${describeError(e)}`;
  }
  if (result instanceof Promise) {
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      result.then(
        (v: unknown) => ({ v }),
        (e: unknown) => ({ e }),
      ),
      new Promise<{ hung: true }>((resolve) => {
        timer = setTimeout(() => resolve({ hung: true }), 3000);
      }),
    ]);
    clearTimeout(timer);
    if ("hung" in settled) return `${where} returned a Promise that did not settle`;
    if ("e" in settled) return `${where} returned a Promise that rejected with ${describeError(settled.e)}`;
    result = settled.v;
  }
  const lastError = ws.WSAGetLastError();
  const mustSucceed = pends && param.succeedsWhenPending?.includes(hostile.label) === true;
  if (spec.ok(result, lastError)) return mustSucceed || param.accepts?.includes(hostile.label) ? null : `${where} succeeded`;
  if (mustSucceed) return `${where} failed (${lastError}), though the receive pends and never writes it again`;
  if (result !== ws.SOCKET_ERROR) return `${where} returned ${String(result)}`;
  if (ws.wsaErrorName(lastError) === undefined) return `${where} failed with a last error not in the table: ${lastError}`;
  return null;
}

const TOTAL = SPECS.reduce((n, spec) => n + spec.params.reduce((m, p) => m + valuesFor(p).length, 0), 0);

describe.each(BACKENDS)("hostile input to the receive calls on $name", (backend: BackendUnderTest) => {
  useFacade(backend);

  it(`the table has a bounded number of combinations (${TOTAL})`, () => {
    expect(TOTAL).toBeGreaterThan(200);
    expect(TOTAL).toBeLessThan(800);
  });

  it.for(SPECS.map((spec) => ({ name: spec.name, spec })))(
    "$name: no throw, a failure value and a table code for every hostile argument",
    { timeout: 30_000 },
    async ({ spec }, { onTestFinished }) => {
      const ctx = await makeCtx(onTestFinished);
      const violations: string[] = [];
      for (const [index, param] of spec.params.entries()) {
        for (const hostile of valuesFor(param)) {
          const s = await ctx.fresh();
          const v = await tryOne(spec, s, index, hostile, !backend.deviations.immediateReceive);
          if (v) violations.push(v);
          ws.closesocket(s);
        }
      }
      // Routines of calls that were accepted (none have one here) and aborted receives settle.
      await ws.SleepEx(0, true);
      expect(violations).toEqual([]);
      // The baseline itself is valid: the failures come from the hostile argument.
      const s = await ctx.fresh();
      const baseline = spec.call(...spec.args(s));
      const result = baseline instanceof Promise ? await baseline : baseline;
      expect(spec.ok(result, ws.WSAGetLastError())).toBe(true);
    },
  );

  // Winsock checks lpFrom with the other out-parameters: an lpFrom that cannot be written
  // is WSAEFAULT at once, and the datagram stays queued.
  it.for([
    { form: "overlapped", overlappedCall: true },
    { form: "blocking", overlappedCall: false },
  ])(
    "$form WSARecvFrom with a frozen lpFrom: WSAEFAULT before anything is received",
    T,
    async ({ overlappedCall }, { onTestFinished }) => {
      const ctx = await makeCtx(onTestFinished);
      const s = await ctx.fresh();
      const from = Object.freeze({});
      const args = [s, bufs(), 1, ref(), ref(0), from, ref(16), overlappedCall ? new ws.WSAOVERLAPPED() : null, null];
      const raw = loose(ws.WSARecvFrom)(...args);
      expect(raw instanceof Promise).toBe(!overlappedCall);
      expect(await raw).toBe(ws.SOCKET_ERROR);
      expect(ws.wsaErrorName(ws.WSAGetLastError())).toBe("WSAEFAULT");
      // The datagram is still there: a receive completes with it during the call (or,
      // through the completion port, pends and completes with it).
      const got = ref();
      const ov = new ws.WSAOVERLAPPED();
      const rc = ws.WSARecvFrom(s, bufs(), 1, got, ref(0), null, null, ov, null);
      if (backend.deviations.immediateReceive) expect([rc, got.value]).toEqual([0, 7]);
      else {
        expect([rc, ws.WSAGetLastError()]).toEqual([ws.SOCKET_ERROR, ws.WSA_IO_PENDING]);
        const bytes = ref(-1);
        expect(await ws.WSAGetOverlappedResult(s, ov, bytes, true, ref())).toBe(true);
        expect(bytes.value).toBe(7);
      }
    },
  );

  // A WSAOVERLAPPED that turns hostile after the call (an accessor that throws from its
  // second use on): the completion must not throw out of the library (run in a worker, so
  // that an uncaught exception would end the worker and not the runner).
  it.for([{ field: "hEvent" }, { field: "Internal" }, { field: "InternalHigh" }])(
    "an overlapped receive whose WSAOVERLAPPED.$field throws after the call completes without an uncaught exception",
    T,
    async ({ field }) => {
      const worker = new Worker(new URL("../fixtures/receive-late-throw-worker.mjs", import.meta.url), {
        workerData: { backend: backend.name, field },
      });
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve("no answer"), 5000);
        worker.once("error", (e) => {
          clearTimeout(timer);
          resolve(`uncaught exception: ${describeError(e)}`);
        });
        worker.once("message", (m: { rc: number; lastError: number }) => {
          clearTimeout(timer);
          resolve(
            m.rc === ws.SOCKET_ERROR && m.lastError === ws.WSA_IO_PENDING ? "ok" : `the call returned ${JSON.stringify(m)}`,
          );
        });
      });
      await worker.terminate();
      expect(outcome).toBe("ok");
    },
  );
});
