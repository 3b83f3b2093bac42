/**
 * Bad input never throws out of the facade. Every facade call is made with a valid
 * baseline, then with ONE argument at a time replaced by each value of a table of
 * hostile values (no cartesian products). Each call must not throw (nor reject, nor
 * hang), must return the call's failure value (SOCKET_ERROR, INVALID_SOCKET, false,
 * WSA_WAIT_FAILED, INADDR_NONE, null, -1 ... or a Promise of it) with a last error that
 * is a code of the table, unless the value is a legitimate one for that parameter (then
 * success is allowed too).
 */
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BACKENDS, type BackendUnderTest, completesDuringCall } from "../backends.js";
import { addr4, bufs, openReceiver, type Receiver, ref, T, useFacade, ws } from "../helpers.js";
import {
  ARRAYS,
  BYTES,
  COMMON,
  COUNTS,
  type Hostile,
  NUMBERS,
  overlappedValues,
  revokedProxy,
  throwingValueOf,
} from "../hostile-values.js";

type Loose = (...args: unknown[]) => unknown;
const loose = (f: unknown): Loose => f as Loose;

// ---------------------------------------------------------------------------------
// Hostile values

/** Extra values for parameters of a given kind. */
const EXTRA = {
  count: [...COUNTS, ...NUMBERS],
  overlapped: overlappedValues(ws.WSAOVERLAPPED),
  array: [...ARRAYS, { label: "huge sparse array", make: () => new Array(2 ** 32 - 1) }],
  bytes: BYTES,
} satisfies Record<string, readonly Hostile[]>;

/** Object-like hostile values: legitimate for an out-parameter (any object can hold `value`). */
const OBJECTS = ["throwing getters", "throwing Proxy", "frozen object", "detached buffer", "throwing valueOf"] as const;
const NULLS = ["undefined", "null"] as const;
const BIG_LENGTHS = ["2**53", "2**32-1"] as const;
const EVERYTHING = "*";

interface Param {
  readonly name: string;
  readonly kind?: keyof typeof EXTRA;
  /** Hostile labels for which success is also allowed ("*": any). */
  readonly accepts?: readonly string[];
  /** Hostile labels not tried for this parameter (legitimate values that would block). */
  readonly skip?: readonly string[];
}

// ---------------------------------------------------------------------------------
// Results

type Outcome = "ok" | "fail" | string;

/** How a call reports: its success and failure values, and whether it sets the last error. */
interface ResultKind {
  /** "ok", "fail", or a description of an undocumented result; `lastError` is WSAGetLastError() after the call. */
  classify(result: unknown, lastError: number): Outcome;
  /** The call sets WSAGetLastError() when it fails. */
  readonly setsLastError: boolean;
}

const STATUS: ResultKind = {
  // An overlapped call that returns SOCKET_ERROR with WSA_IO_PENDING has started: a success.
  classify: (r, e) =>
    r === 0 || (r === ws.SOCKET_ERROR && e === ws.WSA_IO_PENDING)
      ? "ok"
      : r === ws.SOCKET_ERROR
        ? "fail"
        : `returned ${String(r)}`,
  setsLastError: true,
};
const COUNT: ResultKind = {
  classify: (r) =>
    r === ws.SOCKET_ERROR ? "fail" : typeof r === "number" && Number.isInteger(r) && r >= 0 ? "ok" : `returned ${String(r)}`,
  setsLastError: true,
};
const SOCKET: ResultKind = {
  classify: (r) =>
    r === ws.INVALID_SOCKET ? "fail" : typeof r === "number" && Number.isInteger(r) && r > 0 ? "ok" : `returned ${String(r)}`,
  setsLastError: true,
};
const BOOL: ResultKind = {
  classify: (r) => (r === true ? "ok" : r === false ? "fail" : `returned ${String(r)}`),
  setsLastError: true,
};
const WAIT: ResultKind = {
  classify: (r) =>
    r === ws.WSA_WAIT_FAILED
      ? "fail"
      : r === ws.WSA_WAIT_TIMEOUT || r === ws.WSA_WAIT_EVENT_0 || r === ws.WSA_WAIT_IO_COMPLETION
        ? "ok"
        : `returned ${String(r)}`,
  setsLastError: true,
};
const SLEEP: ResultKind = {
  classify: (r) => (r === 0 ? "ok" : `returned ${String(r)}`),
  setsLastError: false,
};
const INET_ADDR: ResultKind = {
  classify: (r) => (r === ws.INADDR_NONE ? "fail" : typeof r === "number" ? "ok" : `returned ${String(r)}`),
  setsLastError: false,
};
const NTOA: ResultKind = {
  // inet_ntoa reports a bad argument by NULL only (Windows documents no WSAGetLastError for it).
  classify: (r) => (r === null ? "fail" : typeof r === "string" ? "ok" : `returned ${String(r)}`),
  setsLastError: false,
};
const TEXT: ResultKind = {
  classify: (r) => (r === null ? "fail" : typeof r === "string" ? "ok" : `returned ${String(r)}`),
  setsLastError: true,
};
const PTON: ResultKind = {
  // -1 sets the last error; 0 means "not an address of that family" and sets none.
  classify: (r) => (r === 1 ? "ok" : r === -1 ? "fail" : r === 0 ? "not-an-address" : `returned ${String(r)}`),
  setsLastError: true,
};

// ---------------------------------------------------------------------------------
// The calls

interface Ctx {
  readonly rx: Receiver;
  readonly to: ws.SOCKADDR_IN;
  /** A socket shared by the calls of one function (bound, unconnected). */
  readonly s: number;
  /** A socket connected to the receiver. */
  readonly connected: number;
  /** A live event. */
  readonly ev: ws.WSAEVENT;
}

interface Spec {
  readonly name: string;
  readonly call: Loose;
  readonly params: readonly Param[];
  /** A valid call's arguments (fresh objects per call). */
  readonly args: (c: Ctx) => unknown[];
  readonly result: ResultKind;
  /** Cleans up after a successful call. */
  readonly onOk?: (result: unknown) => void;
}

const fresh = (): number => ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
const pending = (): ws.WSAOVERLAPPED => new ws.WSAOVERLAPPED();

const SPECS: readonly Spec[] = [
  {
    name: "WSASendTo (overlapped)",
    call: loose(ws.WSASendTo),
    params: [
      { name: "s" },
      { name: "lpBuffers", kind: "array" },
      { name: "dwBufferCount", kind: "count" },
      { name: "lpNumberOfBytesSent", accepts: [...NULLS, ...OBJECTS] },
      { name: "dwFlags", kind: "count" },
      { name: "lpTo" },
      { name: "iTolen", kind: "count", accepts: BIG_LENGTHS },
      // The call overwrites Internal: what it held before does not matter.
      { name: "lpOverlapped", kind: "overlapped", accepts: ["WSAOVERLAPPED whose Internal is a Symbol"] },
      { name: "lpCompletionRoutine", accepts: NULLS },
    ],
    args: (c) => [c.s, bufs("h"), 1, null, 0, c.to, 16, pending(), null],
    result: STATUS,
  },
  {
    name: "WSASendTo (blocking)",
    call: loose(ws.WSASendTo),
    params: [
      { name: "s" },
      { name: "lpBuffers", kind: "array" },
      { name: "dwBufferCount", kind: "count" },
      // Object-like counters are covered by the worker test of read-only counters below.
      { name: "lpNumberOfBytesSent", skip: OBJECTS },
      { name: "dwFlags", kind: "count" },
      { name: "lpTo" },
      { name: "iTolen", kind: "count", accepts: BIG_LENGTHS },
      { name: "lpOverlapped", accepts: NULLS },
      { name: "lpCompletionRoutine", accepts: NULLS },
    ],
    args: (c) => [c.s, bufs("h"), 1, ref(), 0, c.to, 16, null, null],
    result: STATUS,
  },
  {
    name: "WSASend",
    call: loose(ws.WSASend),
    params: [
      { name: "s" },
      { name: "lpBuffers", kind: "array" },
      { name: "dwBufferCount", kind: "count" },
      { name: "lpNumberOfBytesSent", accepts: [...NULLS, ...OBJECTS] },
      { name: "dwFlags", kind: "count" },
      { name: "lpOverlapped", kind: "overlapped", accepts: ["WSAOVERLAPPED whose Internal is a Symbol"] },
      { name: "lpCompletionRoutine", accepts: NULLS },
    ],
    args: (c) => [c.connected, bufs("h"), 1, null, 0, pending(), null],
    result: STATUS,
  },
  {
    name: "sendto",
    call: loose(ws.sendto),
    params: [
      { name: "s" },
      { name: "buf", kind: "bytes" },
      { name: "len", kind: "count" },
      { name: "flags", kind: "count" },
      { name: "to" },
      { name: "tolen", kind: "count", accepts: BIG_LENGTHS },
    ],
    args: (c) => [c.s, Buffer.from("h"), 1, 0, c.to, 16],
    result: COUNT,
  },
  {
    name: "bind",
    call: loose(ws.bind),
    params: [{ name: "s" }, { name: "name" }, { name: "namelen", kind: "count", accepts: BIG_LENGTHS }],
    args: () => [fresh(), addr4(0), 16],
    result: STATUS,
  },
  {
    name: "connect",
    call: loose(ws.connect),
    params: [{ name: "s" }, { name: "name" }, { name: "namelen", kind: "count", accepts: BIG_LENGTHS }],
    args: (c) => [fresh(), c.to, 16],
    result: STATUS,
  },
  {
    name: "getsockname",
    call: loose(ws.getsockname),
    params: [{ name: "s" }, { name: "name", accepts: OBJECTS }, { name: "namelenRef", accepts: OBJECTS }],
    args: (c) => [c.s, {}, ref(16)],
    result: STATUS,
  },
  {
    name: "setsockopt",
    call: loose(ws.setsockopt),
    params: [
      { name: "s" },
      { name: "level", kind: "count" },
      { name: "optname", kind: "count" },
      { name: "optval", kind: "bytes", accepts: ["-1", "2**32-1"] },
      { name: "optlen", kind: "count", accepts: BIG_LENGTHS },
    ],
    args: (c) => [c.s, ws.SOL_SOCKET, ws.SO_MAX_OUTSTANDING_SENDS, new Uint8Array([0, 16, 0, 0]), 4],
    result: STATUS,
  },
  {
    name: "getsockopt",
    call: loose(ws.getsockopt),
    params: [
      { name: "s" },
      { name: "level", kind: "count" },
      { name: "optname", kind: "count" },
      { name: "optvalRef", accepts: OBJECTS },
      { name: "optlenRef", accepts: OBJECTS },
    ],
    args: (c) => [c.s, ws.SOL_SOCKET, ws.SO_MAX_MSG_SIZE, ref(), ref(4)],
    result: STATUS,
  },
  {
    name: "shutdown",
    call: loose(ws.shutdown),
    params: [{ name: "s" }, { name: "how", kind: "count" }],
    args: (c) => [c.s, ws.SD_RECEIVE],
    result: STATUS,
  },
  {
    name: "closesocket",
    call: loose(ws.closesocket),
    params: [{ name: "s", kind: "count" }],
    args: () => [fresh()],
    result: STATUS,
  },
  {
    name: "WSAGetOverlappedResult",
    call: loose(ws.WSAGetOverlappedResult),
    params: [
      { name: "s" },
      // A frozen (zeroed, never used) structure is readable: Internal 0 is a success, as in C.
      {
        name: "lpOverlapped",
        kind: "overlapped",
        accepts: ["frozen WSAOVERLAPPED", "WSAOVERLAPPED subclass with read-only fields"],
      },
      { name: "lpcbTransfer", accepts: OBJECTS },
      { name: "fWait", accepts: [EVERYTHING] },
      { name: "lpdwFlags", accepts: OBJECTS },
    ],
    args: (c) => [c.s, new ws.WSAOVERLAPPED(), ref(), false, ref()],
    result: BOOL,
  },
  {
    name: "WSAWaitForMultipleEvents",
    call: loose(ws.WSAWaitForMultipleEvents),
    params: [
      { name: "cEvents", kind: "count" },
      { name: "lphEvents", kind: "array" },
      { name: "fWaitAll", accepts: [EVERYTHING] },
      // 2**32-1 is WSA_INFINITE: legitimate, and it would wait forever.
      { name: "dwTimeout", kind: "count", skip: ["2**32-1"] },
      { name: "fAlertable", accepts: [EVERYTHING] },
    ],
    args: (c) => [1, [c.ev], false, 0, false],
    result: WAIT,
  },
  {
    name: "WSASetEvent",
    call: loose(ws.WSASetEvent),
    params: [{ name: "hEvent" }],
    args: () => [ws.WSACreateEvent()],
    result: BOOL,
  },
  {
    name: "WSAResetEvent",
    call: loose(ws.WSAResetEvent),
    params: [{ name: "hEvent" }],
    args: () => [ws.WSACreateEvent()],
    result: BOOL,
  },
  {
    name: "WSACloseEvent",
    call: loose(ws.WSACloseEvent),
    params: [{ name: "hEvent" }],
    args: () => [ws.WSACreateEvent()],
    result: BOOL,
  },
  {
    name: "SleepEx",
    call: loose(ws.SleepEx),
    // Any value is accepted (a bad duration is no wait); 2**32-1 is INFINITE.
    params: [
      { name: "dwMilliseconds", kind: "count", accepts: [EVERYTHING], skip: ["2**32-1"] },
      { name: "bAlertable", accepts: [EVERYTHING] },
    ],
    args: () => [0, false],
    result: SLEEP,
  },
  {
    name: "inet_addr",
    call: loose(ws.inet_addr),
    params: [{ name: "cp" }],
    args: () => ["127.0.0.1"],
    result: INET_ADDR,
  },
  {
    name: "inet_ntoa",
    call: loose(ws.inet_ntoa),
    params: [{ name: "in_addr" }],
    args: () => [{ s_addr: 0x0100007f }],
    result: NTOA,
  },
  {
    name: "inet_pton",
    call: loose(ws.inet_pton),
    params: [{ name: "af", kind: "count" }, { name: "src" }, { name: "dst", kind: "bytes" }],
    args: () => [ws.AF_INET, "127.0.0.1", new Uint8Array(4)],
    result: PTON,
  },
  {
    name: "inet_ntop",
    call: loose(ws.inet_ntop),
    params: [
      { name: "af", kind: "count" },
      { name: "src", kind: "bytes" },
    ],
    args: () => [ws.AF_INET, new Uint8Array([127, 0, 0, 1])],
    result: TEXT,
  },
  {
    name: "WSASocket",
    call: loose(ws.WSASocket),
    params: [
      { name: "af", kind: "count" },
      { name: "type", kind: "count" },
      { name: "protocol", kind: "count" },
      { name: "lpProtocolInfo", accepts: NULLS },
      { name: "g", kind: "count", accepts: ["undefined"] },
      { name: "dwFlags", kind: "count", accepts: [...NULLS, "2**32-1"] },
    ],
    args: () => [ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED],
    result: SOCKET,
    onOk: (s) => ws.closesocket(s as number),
  },
  {
    name: "socket",
    call: loose(ws.socket),
    params: [
      { name: "af", kind: "count" },
      { name: "type", kind: "count" },
      { name: "protocol", kind: "count" },
    ],
    args: () => [ws.AF_INET, ws.SOCK_DGRAM, 0],
    result: SOCKET,
    onOk: (s) => ws.closesocket(s as number),
  },
];

/** WSAStartup runs outside a started session: it changes the reference count. */
const STARTUP: Spec = {
  name: "WSAStartup",
  call: loose(ws.WSAStartup),
  params: [
    { name: "wVersionRequested", kind: "count" },
    { name: "lpWSAData", kind: "array", accepts: [...NULLS, ...OBJECTS, ...EXTRA.array.map((h) => h.label)] },
  ],
  args: () => [ws.MAKEWORD(2, 2), {}],
  result: {
    classify: (r) =>
      r === 0 ? "ok" : typeof r === "number" && ws.wsaErrorName(r) !== undefined ? "fail" : `returned ${String(r)}`,
    setsLastError: false,
  },
};

// ---------------------------------------------------------------------------------
// The runner

function valuesFor(p: Param): Hostile[] {
  const all = [...COMMON, ...(p.kind ? EXTRA[p.kind] : [])];
  return all.filter((h) => !p.skip?.includes(h.label));
}

function describeError(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : typeof e;
  } catch {
    return "an unprintable value";
  }
}

/** Makes one call; returns null when it behaved, else what went wrong. */
async function tryOne(spec: Spec, ctx: Ctx, index: number, hostile: Hostile): Promise<string | null> {
  const args = spec.args(ctx);
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
  const outcome = spec.result.classify(result, ws.WSAGetLastError());
  const accepted = param.accepts?.includes(EVERYTHING) || param.accepts?.includes(hostile.label);
  if (outcome === "ok") {
    spec.onOk?.(result);
    return accepted ? null : `${where} succeeded`;
  }
  if (outcome === "not-an-address") return null;
  if (outcome !== "fail") return `${where} ${outcome}`;
  if (spec.result.setsLastError) {
    const code = ws.WSAGetLastError();
    if (ws.wsaErrorName(code) === undefined) return `${where} failed with a last error not in the table: ${code}`;
  }
  return null;
}

/** Tries every (parameter, hostile value) of `spec` selected by `keep`; returns the violations. */
async function tryAll(spec: Spec, ctx: Ctx, keep: (param: string, label: string) => boolean): Promise<string[]> {
  const violations: string[] = [];
  for (const [index, param] of spec.params.entries()) {
    for (const hostile of valuesFor(param)) {
      if (!keep(param.name, hostile.label)) continue;
      const v = await tryOne(spec, ctx, index, hostile);
      if (v) violations.push(v);
    }
  }
  return violations;
}

const everything = () => true;

async function makeCtx(onFinished: (fn: () => Promise<void>) => void): Promise<Ctx> {
  const rx = await openReceiver();
  onFinished(() => rx.close());
  const to = addr4(rx.port);
  const s = fresh();
  const local = addr4(0);
  expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
  const connected = fresh();
  expect(ws.connect(connected, to, ws.sizeof(to))).toBe(0);
  return { rx, to, s, connected, ev: ws.WSACreateEvent() };
}

/** Brings the facade's reference count back to 0 (bounded), whatever a call did to it. */
function cleanupAll(): void {
  for (let i = 0; i < 10 && ws.WSACleanup() === 0; i++);
}

const TOTAL = [...SPECS, STARTUP].reduce((n, spec) => n + spec.params.reduce((m, p) => m + valuesFor(p).length, 0), 0);

describe.each(BACKENDS)("hostile input on $name", (backend: BackendUnderTest) => {
  it(`the table has a bounded number of combinations (${TOTAL})`, () => {
    expect(TOTAL).toBeGreaterThan(200);
    expect(TOTAL).toBeLessThan(2000);
  });

  describe("started", () => {
    useFacade(backend);

    it.for(SPECS.map((spec) => ({ name: spec.name, spec })))(
      "$name: no throw, a failure value and a table code for every hostile argument",
      T,
      async ({ spec }, { onTestFinished }) => {
        const ctx = await makeCtx(onTestFinished);
        const violations = await tryAll(spec, ctx, everything);
        expect(violations).toEqual([]);
        // The baseline itself is valid: the table's failures come from the hostile argument.
        const baseline = spec.call(...spec.args(ctx));
        const outcome = spec.result.classify(baseline instanceof Promise ? await baseline : baseline, ws.WSAGetLastError());
        expect(outcome).toBe("ok");
      },
    );

    // A read-only lpNumberOfBytesSent (frozen, getter without setter, Proxy whose set trap
    // throws) is refused before anything is sent; the Promise settles and nothing is thrown
    // (run in a worker so that an uncaught exception would end the worker, not the runner).
    it(
      "a blocking WSASendTo with a read-only lpNumberOfBytesSent with a read-only lpNumberOfBytesSent settles and throws nothing",
      T,
      async ({ onTestFinished }) => {
        const rx = await openReceiver();
        onTestFinished(() => rx.close());
        const problems: string[] = [];
        for (const counter of ["frozen object", "getter without setter", "Proxy with a throwing set trap"]) {
          const worker = new Worker(new URL("../fixtures/blocking-counter-worker.mjs", import.meta.url), {
            workerData: { backend: backend.name, port: rx.port, counter },
          });
          const result = await new Promise<string>((resolve) => {
            const timer = setTimeout(() => resolve("no answer"), 5000);
            worker.once("error", (e) => {
              clearTimeout(timer);
              resolve(`uncaught exception: ${describeError(e)}`);
            });
            worker.once("message", (m: { kind: string; rc?: number; lastError?: number }) => {
              clearTimeout(timer);
              const ok = m.kind === "resolved" && (m.rc === 0 || (m.rc === ws.SOCKET_ERROR && ws.wsaErrorName(m.lastError ?? 0)));
              resolve(ok ? "ok" : `settled as ${JSON.stringify(m)}`);
            });
          });
          await worker.terminate();
          if (result !== "ok") problems.push(`${counter}: ${result}`);
        }
        expect(problems).toEqual([]);
      },
    );

    // With fWait true on a pending operation, a read-only lpcbTransfer makes the Promise
    // resolve (false with a table code), never reject.
    it(
      "WSAGetOverlappedResult(fWait true) with a read-only lpcbTransfer resolves, never rejects",
      T,
      async ({ onTestFinished }) => {
        const ctx = await makeCtx(onTestFinished);
        const ov = new ws.WSAOVERLAPPED();
        const rc = ws.WSASendTo(ctx.s, bufs("b7"), 1, null, 0, ctx.to, 16, ov, null);
        if (completesDuringCall(backend) && rc === 0) {
          // Completed during the call: the wait has nothing to wait for, the write still fails.
          expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
        } else {
          expect(rc).toBe(ws.SOCKET_ERROR);
          expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
        }
        const result = ws.WSAGetOverlappedResult(ctx.s, ov, Object.freeze({ value: 0 }), true, ref());
        const settled = await Promise.resolve(result).then(
          (v) => ({ v }),
          (e: unknown) => ({ e }),
        );
        expect(settled).toEqual({ v: false });
        expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
      },
    );
  });

  describe("WSAGetOverlappedResult answers in its kind", () => {
    useFacade(backend);

    /** What a call answered: "boolean" (synchronously), "Promise<boolean>", or what went wrong. */
    async function kindOf(call: () => unknown): Promise<string> {
      let r: unknown;
      try {
        r = call();
      } catch (e) {
        return `threw ${describeError(e)}`;
      }
      const code = ws.WSAGetLastError();
      if (typeof code !== "number" || (code !== 0 && ws.wsaErrorName(code) === undefined)) return `last error ${String(code)}`;
      if (!(r instanceof Promise)) return typeof r === "boolean" ? "boolean" : `returned ${String(r)}`;
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        r.then(
          (v: unknown) => (typeof v === "boolean" ? "Promise<boolean>" : `resolved to ${String(v)}`),
          (e: unknown) => `rejected with ${describeError(e)}`,
        ),
        new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve("a Promise that did not settle"), 3000);
        }),
      ]);
      clearTimeout(timer);
      const after = ws.WSAGetLastError();
      if (typeof after !== "number" || (after !== 0 && ws.wsaErrorName(after) === undefined))
        return `last error ${String(after)}`;
      return settled;
    }

    const FALSY: readonly unknown[] = [false, 0, -0, "", null, undefined, Number.NaN, 0n];
    const TRUTHY: readonly Hostile[] = [
      { label: "true", make: () => true },
      { label: "symbol", make: () => Symbol("fWait") },
      { label: "revoked Proxy", make: revokedProxy },
      { label: "throwing valueOf", make: throwingValueOf },
      { label: "frozen object", make: () => Object.freeze({}) },
      { label: "1n", make: () => 1n },
    ];

    it(
      "a hostile WSAOVERLAPPED used for a send, then asked for its result: a boolean, or a Promise of one",
      T,
      async ({ onTestFinished }) => {
        const ctx = await makeCtx(onTestFinished);
        const problems: string[] = [];
        for (const h of EXTRA.overlapped) {
          for (const fWait of [...FALSY, ...TRUTHY.map((t) => t.make())]) {
            const ov = h.make() as ws.WSAOVERLAPPED;
            // The send may fail (WSAEFAULT) or start; either way the structure is asked after.
            ws.WSASendTo(ctx.s, bufs("ov"), 1, null, 0, ctx.to, 16, ov, null);
            const want = fWait ? "Promise<boolean>" : "boolean";
            const got = await kindOf(() => loose(ws.WSAGetOverlappedResult)(ctx.s, ov, ref(), fWait, ref()));
            if (got !== want) problems.push(`${h.label}, fWait ${typeof fWait}: ${got}`);
            ws.HasOverlappedIoCompleted(ov);
          }
        }
        expect(problems).toEqual([]);
      },
    );

    it(
      "hostile values in every position: a boolean with fWait falsy, a Promise of a boolean with fWait truthy",
      T,
      async ({ onTestFinished }) => {
        const ctx = await makeCtx(onTestFinished);
        const problems: string[] = [];
        const values = [...COMMON, ...NUMBERS, ...EXTRA.overlapped, ...TRUTHY];
        for (const fWait of [false, true]) {
          for (let index = 0; index < 5; index++) {
            if (index === 3) continue;
            for (const h of values) {
              const args: unknown[] = [ctx.s, new ws.WSAOVERLAPPED(), ref(), fWait, ref()];
              args[index] = h.make();
              const got = await kindOf(() => loose(ws.WSAGetOverlappedResult)(...args));
              const want = fWait ? "Promise<boolean>" : "boolean";
              if (got !== want) problems.push(`argument ${index} = ${h.label}, fWait ${fWait}: ${got}`);
            }
          }
        }
        for (const fWait of FALSY) {
          const got = await kindOf(() => loose(ws.WSAGetOverlappedResult)(ctx.s, new ws.WSAOVERLAPPED(), ref(), fWait, ref()));
          if (got !== "boolean") problems.push(`fWait = ${String(fWait)}: ${got}`);
        }
        for (const h of TRUTHY) {
          const got = await kindOf(() => loose(ws.WSAGetOverlappedResult)(ctx.s, new ws.WSAOVERLAPPED(), ref(), h.make(), ref()));
          if (got !== "Promise<boolean>") problems.push(`fWait = ${h.label}: ${got}`);
        }
        expect(problems).toEqual([]);
      },
    );

    it("an Internal that is not a Winsock code gives false with WSAEFAULT, never a non-numeric last error", () => {
      for (const internal of [Symbol("x"), "0", -1, 1.5, 2 ** 32, null, {}]) {
        const ov = Object.assign(new ws.WSAOVERLAPPED(), { Internal: internal });
        ws.WSASetLastError(0);
        expect(ws.WSAGetOverlappedResult(ws.INVALID_SOCKET - 3, ov, ref(), false, ref())).toBe(false);
        const s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
        expect(ws.WSAGetOverlappedResult(s, ov, ref(), false, ref())).toBe(false);
        expect(ws.WSAGetLastError()).toBe(ws.WSAEFAULT);
        ws.closesocket(s);
      }
    });

    it("HasOverlappedIoCompleted answers a boolean for anything: true where no operation is in flight", () => {
      const loose1 = ws.HasOverlappedIoCompleted as unknown as (v: unknown) => unknown;
      for (const h of [...COMMON, ...NUMBERS, ...EXTRA.overlapped]) {
        const got = loose1(h.make());
        expect(typeof got, h.label).toBe("boolean");
        if (h.label !== "WSAOVERLAPPED subclass with read-only fields") expect(got, h.label).toBe(true);
      }
      const pendingOv = Object.assign(new ws.WSAOVERLAPPED(), { Internal: ws.STATUS_PENDING });
      expect(ws.HasOverlappedIoCompleted(pendingOv)).toBe(false);
    });
  });

  describe("not started (WSAStartup)", () => {
    beforeEach(() => {
      process.env.WSASENDTO_BACKEND = backend.name;
      cleanupAll();
    });
    afterEach(() => cleanupAll());

    /** Tries the WSAStartup combinations selected by `keep`; checks the count after each. */
    async function tryStartup(keep: (param: string, label: string) => boolean): Promise<string[]> {
      const violations: string[] = [];
      for (const [index, param] of STARTUP.params.entries()) {
        for (const hostile of valuesFor(param)) {
          if (!keep(param.name, hostile.label)) continue;
          const v = await tryOne(STARTUP, {} as Ctx, index, hostile);
          if (v) violations.push(v);
          // Balanced: a successful startup counts once, a failed one not at all.
          const ok = v === null && ws.WSACleanup() === 0;
          if (ws.WSACleanup() === 0)
            violations.push(`WSAStartup(${param.name} = ${hostile.label}) was counted ${ok ? "twice" : "though it failed"}`);
          cleanupAll();
        }
      }
      return violations;
    }

    it("WSAStartup: no throw and a table code for every hostile argument; the reference count stays balanced", async () => {
      expect(await tryStartup(everything)).toEqual([]);
    });
  });
});
