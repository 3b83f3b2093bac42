/**
 * Every function the facade exports answers in its documented kind and never throws.
 * Each export is called with ONE hostile value at a time in each argument position (the
 * others undefined), from the shared table of hostile values; a Promise must settle (not
 * reject, not hang) to a value of the documented kind. Constructors are called with `new`,
 * with no arguments and with each hostile value. Every function export must be classified
 * here, in PUBLIC with its documented kind or in APART. The core's internals are not the
 * facade's (it exports only `@wsasendto/core/public`); the internals of inet.ts, which
 * backends use on hostile input too, are checked here from the core.
 */
import * as core from "@wsasendto/core";
import { describe, expect, it } from "vitest";
import { BACKENDS, type BackendUnderTest } from "../backends.js";
import { T, useFacade, ws } from "../helpers.js";
import { ARRAYS, BYTES, COMMON, type Hostile, NUMBERS, overlappedValues } from "../hostile-values.js";

type Loose = (...args: unknown[]) => unknown;
type Ctor = new (...args: unknown[]) => unknown;

/** A documented kind: a check of a (settled) answer, and whether a Promise is allowed. */
interface Kind {
  readonly label: string;
  readonly check: (value: unknown) => boolean;
  /** "sync": never a Promise; "async": always a Promise; "either": both are documented. */
  readonly when: "sync" | "async" | "either";
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const u16: Kind = { label: "a number in 0..0xffff", check: (v) => isInt(v) && v >= 0 && v <= 0xffff, when: "sync" };
const u32: Kind = { label: "a number in 0..2**32-1", check: (v) => isInt(v) && v >= 0 && v <= 0xffffffff, when: "sync" };
const status: Kind = { label: "0 or SOCKET_ERROR", check: (v) => v === 0 || v === ws.SOCKET_ERROR, when: "sync" };
const statusOrPromise: Kind = { ...status, when: "either" };
const countOrPromise: Kind = { label: "a byte count or SOCKET_ERROR", check: (v) => isInt(v) && v >= -1, when: "either" };
const bool: Kind = { label: "a boolean", check: (v) => typeof v === "boolean", when: "sync" };
const text: Kind = { label: "a string", check: (v) => typeof v === "string", when: "sync" };
const textOrNull: Kind = { label: "a string or null", check: (v) => v === null || typeof v === "string", when: "sync" };
const nameOrUndefined: Kind = {
  label: "a string or undefined",
  check: (v) => v === undefined || typeof v === "string",
  when: "sync",
};
const int: Kind = { label: "an integer", check: isInt, when: "sync" };
const none: Kind = { label: "undefined", check: (v) => v === undefined, when: "sync" };
const waitResult: Kind = {
  label: "a WSA_WAIT_* value",
  check: (v) =>
    v === ws.WSA_WAIT_FAILED ||
    v === ws.WSA_WAIT_TIMEOUT ||
    v === ws.WSA_WAIT_IO_COMPLETION ||
    (isInt(v) && v >= ws.WSA_WAIT_EVENT_0 && v < ws.WSA_WAIT_EVENT_0 + ws.WSA_MAXIMUM_WAIT_EVENTS),
  when: "async",
};

/**
 * The documented kind of each public function of the facade (CONTRACT.md and the README),
 * including the calls CONTRACT.md lists that are not exported yet: they are checked as soon
 * as they are. WSAGetOverlappedResult's kind depends on fWait and is checked apart.
 */
const PUBLIC: Readonly<Record<string, Kind>> = {
  MAKEWORD: u16,
  htons: u16,
  ntohs: u16,
  htonl: u32,
  ntohl: u32,
  sizeof: { label: "0, 16 or 28", check: (v) => v === 0 || v === 16 || v === 28, when: "sync" },
  inet_addr: u32,
  inet_ntoa: textOrNull,
  inet_pton: { label: "1, 0 or -1", check: (v) => v === 1 || v === 0 || v === -1, when: "sync" },
  inet_ntop: textOrNull,
  WSAStartup: int,
  WSACleanup: status,
  WSAGetLastError: int,
  WSASetLastError: none,
  socket: u32,
  WSASocket: u32,
  WSASocketA: u32,
  WSASocketW: u32,
  bind: status,
  connect: status,
  getsockname: status,
  getpeername: status,
  setsockopt: status,
  getsockopt: status,
  shutdown: status,
  closesocket: status,
  WSASendTo: statusOrPromise,
  WSASend: statusOrPromise,
  WSARecvFrom: statusOrPromise,
  WSARecv: statusOrPromise,
  sendto: countOrPromise,
  send: countOrPromise,
  recvfrom: countOrPromise,
  recv: countOrPromise,
  WSACreateEvent: { label: "a WSAEVENT or null", check: (v) => v === null || v instanceof ws.WSAEVENT, when: "sync" },
  WSACloseEvent: bool,
  WSASetEvent: bool,
  WSAResetEvent: bool,
  WSAWaitForMultipleEvents: waitResult,
  SleepEx: { label: "0 or WAIT_IO_COMPLETION", check: (v) => v === 0 || v === ws.WAIT_IO_COMPLETION, when: "async" },
  HasOverlappedIoCompleted: bool,
  backendName: text,
  backendUnavailableReason: text,
  selectBackend: {
    label: "a backend or why it is missing",
    check: (v) => typeof v === "string" || (typeof v === "object" && v !== null),
    when: "sync",
  },
  wsaErrorName: nameOrUndefined,
  wsaErrorMessage: text,
  wsaFromOsError: int,
  errnoName: nameOrUndefined,
  // CONTRACT.md, "Around WSASendTo".
  ioctlsocket: status,
  WSAIoctl: status,
  select: { label: "a count or SOCKET_ERROR", check: (v) => isInt(v) && v >= -1, when: "async" },
  WSAPoll: { label: "a count or SOCKET_ERROR", check: (v) => isInt(v) && v >= -1, when: "async" },
  FD_ZERO: none,
  FD_SET: none,
  FD_CLR: none,
  FD_ISSET: { label: "a boolean or a number", check: (v) => typeof v === "boolean" || isInt(v), when: "sync" },
  WSAEventSelect: status,
  WSAEnumNetworkEvents: status,
};

/** Public classes: `new` with no arguments, and with any one hostile argument, works. */
const CLASSES = ["WSAOVERLAPPED", "WSAError", "WSAEVENT", "UdpSocket", "fd_set"] as const;

/**
 * Function exports whose kind is checked elsewhere in this file or in another: the
 * facade exports only the core's public part (CONTRACT.md), so nothing else is here.
 */
const APART: Readonly<Record<string, string>> = {
  WSAGetOverlappedResult: "hostile-input.test.ts: its kind depends on fWait",
  openUdpSocket: "below: the idiomatic API, which reports errors by throwing WSAError",
};

/** Internals of inet.ts, which are also checked here (they never throw either). */
const INET_INTERNALS: Readonly<Record<string, Kind>> = {
  isU32: bool,
  parseIPv4: { label: "4 bytes or null", check: (v) => v === null || (v instanceof Uint8Array && v.length === 4), when: "sync" },
  parseIPv6: {
    label: "16 bytes or null",
    check: (v) => v === null || (v instanceof Uint8Array && v.length === 16),
    when: "sync",
  },
  formatIPv6: text,
  sAddrToBytes: { label: "4 bytes", check: (v) => Array.isArray(v) && v.length === 4 && v.every(isInt), when: "sync" },
  sAddrToString: text,
};

const HOSTILE: readonly Hostile[] = [...COMMON, ...NUMBERS, ...ARRAYS, ...BYTES, ...overlappedValues(ws.WSAOVERLAPPED)];
/** One position past each function's declared parameters (an extra argument must be ignored). */
const ARITY_EXTRA = 1;

const facade = ws as unknown as Record<string, unknown>;
const inet = core as unknown as Record<string, unknown>;
const functions = Object.entries(facade).filter(([, v]) => typeof v === "function") as [string, Loose][];

function describeError(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}` : typeof e;
  } catch {
    return "an unprintable value";
  }
}

/** Calls `f` once; null when it answered in its kind, else what went wrong. */
async function answerOf(call: () => unknown, kind: Kind): Promise<string | null> {
  let r: unknown;
  try {
    r = call();
  } catch (e) {
    return `threw ${describeError(e)}`;
  }
  if (r instanceof Promise) {
    if (kind.when === "sync") return "returned a Promise";
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      r.then(
        (v: unknown) => ({ v }),
        (e: unknown) => ({ e }),
      ),
      new Promise<{ hung: true }>((resolve) => {
        timer = setTimeout(() => resolve({ hung: true }), 3000);
      }),
    ]);
    clearTimeout(timer);
    if ("hung" in settled) return "returned a Promise that did not settle";
    if ("e" in settled) return `returned a Promise that rejected with ${describeError(settled.e)}`;
    r = settled.v;
  } else if (kind.when === "async") {
    return `returned ${typeof r}, not a Promise`;
  }
  return kind.check(r) ? null : `answered ${typeof r === "symbol" ? "a symbol" : String(r)}, not ${kind.label}`;
}

/** Tries every (position, hostile value) of `name`; returns the violations. */
async function tryFunction(name: string, f: Loose, kind: Kind): Promise<string[]> {
  const problems: string[] = [];
  const arity = Math.max(f.length, 1) + ARITY_EXTRA;
  for (let index = 0; index < arity; index++) {
    for (const h of HOSTILE) {
      const args: unknown[] = new Array(arity).fill(undefined);
      args[index] = h.make();
      // WSACleanup runs one count above the session's, so that a success leaves the session started.
      if (name === "WSACleanup") ws.WSAStartup(ws.MAKEWORD(2, 2), {});
      let result: unknown;
      const p = await answerOf(() => {
        result = f(...args);
        return result;
      }, kind);
      if (name === "WSACleanup" && result !== 0) ws.WSACleanup();
      if (name === "WSAStartup" && result === 0) ws.WSACleanup();
      if (p) problems.push(`${name}(argument ${index} = ${h.label}) ${p}`);
    }
  }
  if (name === "WSACleanup") ws.WSAStartup(ws.MAKEWORD(2, 2), {});
  let result: unknown;
  const p = await answerOf(() => {
    result = f();
    return result;
  }, kind);
  if (p) problems.push(`${name}() ${p}`);
  if (name === "WSACleanup" && result !== 0) ws.WSACleanup();
  if (name === "WSAStartup" && result === 0) ws.WSACleanup();
  return problems;
}

describe("every facade export is classified", () => {
  it("each function export has a documented kind here (PUBLIC, a class, or APART)", () => {
    const unclassified = functions
      .map(([name]) => name)
      .filter((name) => !(name in PUBLIC) && !(CLASSES as readonly string[]).includes(name) && !(name in APART));
    expect(unclassified).toEqual([]);
  });
});

describe.each(BACKENDS)("hostile values for every export on $name", (backend: BackendUnderTest) => {
  useFacade(backend);

  const publicNames = functions.filter(([name]) => name in PUBLIC);
  it.for(publicNames.map(([name, f]) => ({ name, f })))(
    "$name answers in its documented kind for every hostile argument, never a throw",
    T,
    async ({ name, f }) => {
      expect(await tryFunction(name, f, PUBLIC[name] as Kind)).toEqual([]);
    },
  );

  it.for(Object.keys(INET_INTERNALS).map((name) => ({ name })))(
    "inet.ts internal $name answers in its kind for every hostile argument",
    T,
    async ({ name }) => {
      expect(await tryFunction(name, inet[name] as Loose, INET_INTERNALS[name] as Kind)).toEqual([]);
    },
  );

  it("the public classes construct with no arguments and with any one hostile argument", () => {
    const problems: string[] = [];
    for (const name of CLASSES) {
      const C = facade[name] as Ctor | undefined;
      if (C === undefined) continue;
      const attempts: [string, unknown[]][] = [["no arguments", []]];
      for (const h of HOSTILE) for (let i = 0; i < 3; i++) attempts.push([`argument ${i} = ${h.label}`, [i, h.make()]]);
      for (const [label, spec] of attempts) {
        const args: unknown[] = spec.length === 0 ? [] : new Array(3).fill(undefined);
        if (spec.length === 2) args[spec[0] as number] = spec[1];
        try {
          const made = new C(...args);
          if (!(made instanceof C)) problems.push(`new ${name}(${label}) is not a ${name}`);
        } catch (e) {
          problems.push(`new ${name}(${label}) threw ${describeError(e)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("openUdpSocket with any one hostile value as its options or an option: a UdpSocket or a thrown WSAError", () => {
    const problems: string[] = [];
    const fields = ["family", "bind", "backend", "broadcast", "maxOutstandingSends", "receiveBufferSize"];
    for (const h of HOSTILE) {
      for (const field of [null, ...fields]) {
        if (field === "broadcast") continue; // SO_BROADCAST is never enabled outside a namespace of one's own
        const options = field === null ? h.make() : { backend: backend.name, [field]: h.make() };
        try {
          const sock = ws.openUdpSocket(options as ws.UdpSocketOptions);
          if (!(sock instanceof ws.UdpSocket)) problems.push(`${field ?? "options"} = ${h.label}: not a UdpSocket`);
          else sock.close();
        } catch (e) {
          if (!(e instanceof ws.WSAError)) problems.push(`${field ?? "options"} = ${h.label}: threw ${describeError(e)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("new WSAOVERLAPPED() is zeroed", () => {
    const ov = new ws.WSAOVERLAPPED();
    expect({ ...ov }).toEqual({ Internal: 0, InternalHigh: 0, Offset: 0, OffsetHigh: 0, hEvent: null });
  });
});
