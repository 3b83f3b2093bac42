// Seeded fuzz of the facade: every function that `import * as ws from "wsasendto"`
// exports is called with random values, hostile ones mixed with valid sockets, events,
// WSAOVERLAPPEDs, buffers and loopback addresses (so that deep paths are reached), in
// every argument position. A call must never throw; its answer must be of the export's
// documented kind (a Promise, where one is documented, must settle to that kind: it must
// not reject, nor stay pending once its socket is closed); an uncaught exception or an
// unhandled rejection is a failure too.
//
// Safety: datagrams go only to 127.0.0.1 and ::1 (every address handed to a call is made
// here, fresh for each call, and checked just before it), and SO_BROADCAST is never set.
//
// Exports outside CONTRACT.md's calls (selectBackend) are fuzzed after the public calls,
// in the same process, and counted apart.
//
// Usage: node stress/fuzz.mjs [--calls N] [--seed S] [--backend dgram|native]
//   N calls per backend (default 100000); S the seed (default 0x5eed, printed, so that a
//   failure can be replayed); each backend runs in its own child process. Prints figures,
//   then `fuzz: N passed, M failed`, and exits 1 when M > 0.
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";
import { types } from "node:util";

/** What the fuzz's own throwing completion routines throw (the caller's bug, reported as such). */
class RoutineError extends Error {}

const argv = process.argv.slice(2);
function option(name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const CALLS = Number(option("--calls", "100000"));
const SEED = Number(option("--seed", String(0x5eed))) >>> 0;
const BACKEND = option("--backend", "");
const CHILD = argv.includes("--child");

if (!CHILD) {
  process.exit(parent());
} else {
  await child();
}

// ---------------------------------------------------------------------------------
// The parent: one child per backend, figures, the final line.

function parent() {
  const backends = BACKEND ? [BACKEND] : ["dgram", "native"];
  console.log(`fuzz: seed ${SEED} (replay: node stress/fuzz.mjs --seed ${SEED} --calls ${CALLS}), ${CALLS} calls per backend`);
  let passed = 0;
  let failed = 0;
  const script = fileURLToPath(import.meta.url);
  for (const backend of backends) {
    const started = Date.now();
    const run = spawnSync(
      process.execPath,
      [script, "--child", "--backend", backend, "--calls", String(CALLS), "--seed", String(SEED)],
      { env: { ...process.env, WSASENDTO_BACKEND: backend }, encoding: "utf8", timeout: 120_000, maxBuffer: 64 << 20 },
    );
    const lines = (run.stdout ?? "").trim().split("\n");
    let result = null;
    try {
      result = JSON.parse(lines.at(-1) ?? "");
    } catch {
      result = null;
    }
    console.log(`\n== ${backend} ==`);
    if (!result) {
      console.log(`the child did not report (status ${run.status}, signal ${run.signal}); stderr:\n${run.stderr?.slice(-4000)}`);
      failed += 1;
      continue;
    }
    if (result.skipped) {
      console.log(`skipped: ${result.skipped}`);
      if (BACKEND) failed += 1;
      continue;
    }
    report(result, Date.now() - started);
    passed += result.passed;
    failed += result.failed;
  }
  console.log(`fuzz: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

function report(r, wallMs) {
  console.log(`calls ${r.calls} (public ${r.publicCalls}, internal ${r.internalCalls}) in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  console.log(`wall time with startup ${(wallMs / 1000).toFixed(1)} s; rounds ${r.rounds}; sockets opened ${r.socketsOpened}`);
  console.log(
    `passed ${r.passed}, failed ${r.failed} (uncaught exceptions ${r.uncaught}, unhandled rejections ${r.unhandled}, hangs ${r.hangs}); ` +
      `the fuzz's own throwing completion routines reported as uncaught, as designed: ${r.routineExceptions}`,
  );
  console.log(`failed calls of the public API ${r.publicFailed}, of the other exports (*) ${r.internalFailed}`);
  const kinds = Object.entries(r.failuresByKind);
  console.log(`failures by kind: ${kinds.length ? kinds.map(([k, v]) => `${k} ${v}`).join(", ") : "none"}`);
  console.log("per export (calls / failed):");
  const rows = Object.entries(r.perExport).sort(([a], [b]) => a.localeCompare(b));
  const cells = rows.map(([name, e]) => `${e.internal ? "*" : ""}${name} ${e.calls}/${e.failed}`);
  for (let i = 0; i < cells.length; i += 5) console.log(`  ${cells.slice(i, i + 5).join("  ")}`);
  console.log("  (* exports outside CONTRACT.md's calls)");
  if (r.examples.length) {
    console.log("first failures (replay with the same seed):");
    for (const e of r.examples) console.log(`  #${e.call} ${e.name}: ${e.what} [args: ${e.args}]`);
  }
}

// ---------------------------------------------------------------------------------
// The child: one backend.

async function child() {
  const ws = await import("wsasendto");
  const random = mulberry32(SEED ^ (BACKEND === "native" ? 0x9e3779b9 : 0));
  const pick = (list) => list[Math.floor(random() * list.length)];
  const int = (n) => Math.floor(random() * n);

  // Native only if it loads: WSAStartup says so.
  process.env.WSASENDTO_BACKEND = BACKEND;
  const probe = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
  if (probe !== 0) {
    console.log(JSON.stringify({ skipped: `WSAStartup on ${BACKEND} returned ${probe}: ${ws.backendUnavailableReason()}` }));
    return;
  }
  ws.WSACleanup();

  const stats = {
    calls: 0,
    publicCalls: 0,
    internalCalls: 0,
    passed: 0,
    failed: 0,
    publicFailed: 0,
    internalFailed: 0,
    uncaught: 0,
    routineExceptions: 0,
    unhandled: 0,
    hangs: 0,
    rounds: 0,
    socketsOpened: 0,
    failuresByKind: {},
    perExport: {},
    examples: [],
    elapsedMs: 0,
  };
  let current = "(between calls)";
  function failure(name, kind, what, args) {
    stats.failed++;
    stats.failuresByKind[kind] = (stats.failuresByKind[kind] ?? 0) + 1;
    stats.perExport[name] ??= { calls: 0, failed: 0, internal: false };
    stats.perExport[name].failed++;
    if (stats.perExport[name].internal) stats.internalFailed++;
    else stats.publicFailed++;
    const shown = stats.examples.filter((x) => x.name === name).length;
    if (shown < 2 && stats.examples.length < 60) stats.examples.push({ call: stats.calls, name, what, args });
  }
  process.on("uncaughtException", (e) => {
    if (e instanceof RoutineError) {
      stats.routineExceptions++;
      return;
    }
    stats.uncaught++;
    if (process.env.FUZZ_TRACE) process.stderr.write(`uncaught: ${e?.stack}\n`);
    failure(current, "uncaught exception", `uncaught ${describe(e)} (during or after ${current})`, "");
  });
  process.on("unhandledRejection", (e) => {
    stats.unhandled++;
    if (process.env.FUZZ_TRACE) process.stderr.write(`unhandled: ${e?.stack}\n`);
    failure(current, "unhandled rejection", `unhandled rejection ${describe(e)} (during or after ${current})`, "");
  });

  // A loopback receiver, so that sends have somewhere to go.
  const rx = dgram.createSocket("udp4");
  await new Promise((resolve) => rx.bind(0, "127.0.0.1", resolve));
  rx.on("message", () => {});
  const rxPort = rx.address().port;

  // ------------------------------------------------------------------ values
  const thrower = () => {
    throw new Error("hostile");
  };
  const throwingRoutine = () => {
    throw new RoutineError("hostile routine");
  };
  const revoked = () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const allTraps = {};
  for (const t of [
    "get",
    "set",
    "has",
    "getPrototypeOf",
    "ownKeys",
    "getOwnPropertyDescriptor",
    "defineProperty",
    "deleteProperty",
  ]) {
    allTraps[t] = thrower;
  }
  const throwingGetters = () => {
    const o = {};
    for (const k of ["value", "len", "buf", "s_addr", "sin_family", "sin6_family", "sin_port", "sin_addr", "sin6_addr"]) {
      Object.defineProperty(o, k, { get: thrower, enumerable: true });
    }
    for (const k of ["hEvent", "Internal", "InternalHigh", "length", "fd_count", "fd_array", "tv_sec", "tv_usec", "szProtocol"]) {
      Object.defineProperty(o, k, { get: thrower, enumerable: true });
    }
    return o;
  };
  const detached = (n = 8) => {
    const v = new Uint8Array(n);
    structuredClone(v.buffer, { transfer: [v.buffer] });
    return v;
  };
  class ThrowingOverlapped extends ws.WSAOVERLAPPED {
    constructor() {
      super();
      for (const k of ["Internal", "InternalHigh", "hEvent"]) Object.defineProperty(this, k, { get: thrower, set: thrower });
    }
  }
  /** An overlapped structure whose accessors throw from their second use on. */
  const lateOverlapped = () => {
    const ov = new ws.WSAOVERLAPPED();
    let uses = 0;
    let v = 0;
    Object.defineProperty(ov, pick(["Internal", "InternalHigh"]), {
      get: () => v,
      set(x) {
        if (uses++ > 0) throw new Error("hostile late");
        v = x;
      },
    });
    return ov;
  };

  // The pool of valid things of one round (refilled each round).
  let pool = { sockets: [], events: [], overlapped: [], closed: [] };
  const loopback4 = (port) => ({
    sin_family: ws.AF_INET,
    sin_port: ws.htons(port),
    sin_addr: { s_addr: 0x0100007f },
  });
  const loopback6 = (port) => {
    const a = new Uint8Array(16);
    a[15] = 1;
    return { sin6_family: ws.AF_INET6, sin6_port: ws.htons(port), sin6_flowinfo: 0, sin6_addr: a, sin6_scope_id: 0 };
  };
  const bytes = () => Buffer.alloc(pick([0, 1, 16, 100, 1500]), 0x61);
  const wsabufs = () =>
    Array.from({ length: pick([0, 1, 2, 3]) }, () => {
      const buf = bytes();
      return { len: pick([buf.length, 0, buf.length + 10]), buf };
    });

  /** The value makers: [label, make]. */
  const VALUES = [
    // Primitives and numbers of every sort.
    ["undefined", () => undefined],
    ["null", () => null],
    ["true", () => true],
    ["false", () => false],
    ["0", () => 0],
    ["1", () => 1],
    ["-1", () => -1],
    ["small int", () => int(70)],
    ["2**31", () => 2 ** 31],
    ["2**32-1", () => 2 ** 32 - 1],
    ["2**32", () => 2 ** 32],
    ["2**53", () => 2 ** 53],
    ["huge", () => 1e300],
    ["-huge", () => -1e300],
    ["NaN", () => Number.NaN],
    ["Infinity", () => Number.POSITIVE_INFINITY],
    ["-Infinity", () => Number.NEGATIVE_INFINITY],
    ["fraction", () => 1.5],
    ["negative fraction", () => -0.5],
    ["bigint", () => 2n],
    ["big bigint", () => 2n ** 70n],
    ["string", () => "\u0000hostile"],
    ["numeric string", () => "16"],
    ["address string", () => "127.0.0.1"],
    ["symbol", () => Symbol("hostile")],
    ["function", () => () => 0],
    // Hostile objects.
    ["revoked Proxy", revoked],
    ["throwing Proxy", () => new Proxy({}, allTraps)],
    ["throwing getters", throwingGetters],
    ["throwing valueOf", () => ({ valueOf: thrower, toString: thrower, [Symbol.toPrimitive]: thrower })],
    ["frozen object", () => Object.freeze({ value: 0 })],
    ["empty object", () => ({})],
    ["detached view", () => detached()],
    ["detached ArrayBuffer", () => detached().buffer],
    ["throwing array Proxy", () => new Proxy([], allTraps)],
    [
      "array with a throwing element",
      () => {
        const a = [];
        Object.defineProperty(a, 0, { get: thrower, enumerable: true });
        return a;
      },
    ],
    ["huge sparse array", () => new Array(2 ** 32 - 1)],
    ["frozen WSAOVERLAPPED", () => Object.freeze(new ws.WSAOVERLAPPED())],
    ["WSAOVERLAPPED with throwing accessors", () => new ThrowingOverlapped()],
    ["WSAOVERLAPPED turning hostile late", lateOverlapped],
    ["WSAOVERLAPPED Proxy", () => new Proxy(new ws.WSAOVERLAPPED(), allTraps)],
    ["WSABUF with a detached buffer", () => [{ len: 16, buf: detached(16) }]],
    // Valid things, so that calls get past their first checks.
    ["live socket", () => pick(pool.sockets) ?? 4],
    ["live socket", () => pick(pool.sockets) ?? 4],
    ["closed socket", () => pick(pool.closed) ?? 8],
    ["AF_INET", () => ws.AF_INET],
    ["AF_INET6", () => ws.AF_INET6],
    ["SOCK_DGRAM", () => ws.SOCK_DGRAM],
    ["IPPROTO_UDP", () => ws.IPPROTO_UDP],
    ["SOL_SOCKET", () => ws.SOL_SOCKET],
    ["SO_MAX_MSG_SIZE", () => ws.SO_MAX_MSG_SIZE],
    ["SO_RCVBUF", () => ws.SO_RCVBUF],
    ["FIONBIO", () => 0x8004667e],
    ["FIONREAD", () => 0x4004667f],
    ["WSA_FLAG_OVERLAPPED", () => ws.WSA_FLAG_OVERLAPPED],
    ["MSG_PEEK", () => ws.MSG_PEEK],
    ["MAKEWORD(2,2)", () => 0x0202],
    ["sizeof v4", () => 16],
    ["sizeof v6", () => 28],
    ["event", () => pick(pool.events) ?? null],
    ["event array", () => pool.events.slice(0, 1 + int(3))],
    ["new WSAOVERLAPPED", () => new ws.WSAOVERLAPPED()],
    ["used WSAOVERLAPPED", () => pick(pool.overlapped) ?? new ws.WSAOVERLAPPED()],
    ["WSAOVERLAPPED with an event", () => Object.assign(new ws.WSAOVERLAPPED(), { hEvent: pick(pool.events) ?? null })],
    ["WSABUF[]", wsabufs],
    ["WSABUF[]", wsabufs],
    ["bytes", bytes],
    ["4 bytes", () => new Uint8Array(4)],
    ["16 bytes", () => new Uint8Array(16)],
    ["{ value }", () => ({ value: pick([0, 16, 28, 1, 4]) })],
    ["{ value }", () => ({ value: 0 })],
    ["sockaddr v4 to the receiver", () => loopback4(rxPort)],
    ["sockaddr v4 to a loopback port", () => loopback4(int(65536))],
    ["sockaddr v4 port 0", () => loopback4(0)],
    ["sockaddr v6 loopback", () => loopback6(int(65536))],
    ["in_addr", () => ({ s_addr: 0x0100007f })],
    ["completion routine", () => () => {}],
    // A routine's own exception is the caller's bug: the library reports it as an uncaught
    // exception (as any Node callback's), after running the other routines; counted apart.
    ["throwing completion routine", () => throwingRoutine],
    ["timeval", () => ({ tv_sec: 0, tv_usec: int(2000) })],
    ["fd_set", () => ({ fd_count: 1, fd_array: [pick(pool.sockets) ?? 4] })],
    ["WSAPOLLFD[]", () => [{ fd: pick(pool.sockets) ?? 4, events: pick([0x100, 0x10, 0x310]), revents: 0 }]],
    ["WSANETWORKEVENTS", () => ({ lNetworkEvents: 0, iErrorCode: new Array(10).fill(0) })],
    ["WSADATA", () => ({})],
    ["WSAPROTOCOL_INFO", () => ({ szProtocol: pick(["dgram", "native", "nope", "auto"]) })],
    ["backend name", () => pick(["dgram", "native", "auto", "nope"])],
    ["errno name", () => pick(["EADDRINUSE", "ECONNREFUSED", "ENOPE"])],
  ];

  // ------------------------------------------------------------------ baselines
  const live = () => pick(pool.sockets) ?? 4;
  const rxAddr = () => loopback4(rxPort);
  const ov = () =>
    random() < 0.5 ? new ws.WSAOVERLAPPED() : Object.assign(new ws.WSAOVERLAPPED(), { hEvent: pick(pool.events) ?? null });
  const routine = () => (random() < 0.5 ? null : () => {});
  const BASELINES = {
    WSASendTo: () => [live(), wsabufs(), 1, { value: 0 }, 0, rxAddr(), 16, random() < 0.5 ? null : ov(), routine()],
    WSASend: () => [live(), wsabufs(), 1, { value: 0 }, 0, random() < 0.5 ? null : ov(), routine()],
    sendto: () => [live(), bytes(), 1, 0, rxAddr(), 16],
    send: () => [live(), bytes(), 1, 0],
    WSARecvFrom: () => [live(), wsabufs(), 1, { value: 0 }, { value: 0 }, {}, { value: 28 }, ov(), routine()],
    WSARecv: () => [live(), wsabufs(), 1, { value: 0 }, { value: 0 }, ov(), routine()],
    recvfrom: () => [live(), bytes(), 16, 0, {}, { value: 28 }],
    recv: () => [live(), bytes(), 16, 0],
    WSAGetOverlappedResult: () => [
      pool.sockets[0] ?? 4,
      pick(pool.overlapped) ?? ov(),
      { value: 0 },
      random() < 0.5,
      { value: 0 },
    ],
    WSAWaitForMultipleEvents: () => [1, pool.events.slice(0, 1), false, int(5), random() < 0.5],
    SleepEx: () => [int(3), random() < 0.5],
    bind: () => [live(), loopback4(0), 16],
    connect: () => [live(), rxAddr(), 16],
    getsockname: () => [live(), {}, { value: 28 }],
    getpeername: () => [live(), {}, { value: 28 }],
    setsockopt: () => [live(), ws.SOL_SOCKET, pick([ws.SO_RCVBUF, ws.SO_SNDBUF]), 65536, 4],
    getsockopt: () => [
      live(),
      ws.SOL_SOCKET,
      pick([ws.SO_MAX_MSG_SIZE, ws.SO_BROADCAST, ws.SO_RCVBUF]),
      { value: 0 },
      { value: 4 },
    ],
    shutdown: () => [live(), int(3)],
    closesocket: () => [live()],
    ioctlsocket: () => [live(), pick([0x8004667e, 0x4004667f]), { value: int(2) }],
    WSAIoctl: () => [
      live(),
      pick([0x8004667e, 0x4004667f, 0x9800000c, 0x28000004]),
      0,
      4,
      { value: 0 },
      4,
      { value: 0 },
      null,
      null,
    ],
    select: () => [0, { fd_count: 1, fd_array: [live()] }, null, null, { tv_sec: 0, tv_usec: 1000 }],
    WSAPoll: () => [[{ fd: live(), events: 0x100, revents: 0 }], 1, int(3)],
    WSAEventSelect: () => [live(), pick(pool.events) ?? null, 1],
    WSAEnumNetworkEvents: () => [live(), pick(pool.events) ?? null, { lNetworkEvents: 0, iErrorCode: new Array(10).fill(0) }],
  };

  // ------------------------------------------------------------------ kinds
  const isInt = (v) => typeof v === "number" && Number.isInteger(v);
  const K = {
    u16: ["a number in 0..0xffff", (v) => isInt(v) && v >= 0 && v <= 0xffff, "sync"],
    u32: ["a number in 0..2**32-1", (v) => isInt(v) && v >= 0 && v <= 0xffffffff, "sync"],
    status: ["0 or SOCKET_ERROR", (v) => v === 0 || v === -1, "sync"],
    statusOrPromise: ["0 or SOCKET_ERROR", (v) => v === 0 || v === -1, "either"],
    countOrPromise: ["a count or SOCKET_ERROR", (v) => isInt(v) && v >= -1, "either"],
    countAsync: ["a count or SOCKET_ERROR", (v) => isInt(v) && v >= -1, "async"],
    bool: ["a boolean", (v) => typeof v === "boolean", "sync"],
    text: ["a string", (v) => typeof v === "string", "sync"],
    textOrNull: ["a string or null", (v) => v === null || typeof v === "string", "sync"],
    nameOrUndefined: ["a string or undefined", (v) => v === undefined || typeof v === "string", "sync"],
    int: ["an integer", isInt, "sync"],
    none: ["undefined", (v) => v === undefined, "sync"],
    wait: ["a WSA_WAIT_* value", (v) => v === 0xffffffff || v === 258 || v === 0xc0 || (isInt(v) && v >= 0 && v < 64), "async"],
    sleep: ["0 or WAIT_IO_COMPLETION", (v) => v === 0 || v === 0xc0, "async"],
    sizeof: ["0, 16 or 28", (v) => v === 0 || v === 16 || v === 28, "sync"],
    pton: ["1, 0 or -1", (v) => v === 1 || v === 0 || v === -1, "sync"],
    event: ["a WSAEVENT or null", (v) => v === null || v instanceof ws.WSAEVENT, "sync"],
    fdIsSet: ["a boolean or a number", (v) => typeof v === "boolean" || isInt(v), "sync"],
  };
  /** The documented kinds (CONTRACT.md); WSAGetOverlappedResult's depends on fWait. */
  const PUBLIC = {
    MAKEWORD: K.u16,
    htons: K.u16,
    ntohs: K.u16,
    htonl: K.u32,
    ntohl: K.u32,
    sizeof: K.sizeof,
    inet_addr: K.u32,
    inet_ntoa: K.textOrNull,
    inet_pton: K.pton,
    inet_ntop: K.textOrNull,
    WSAStartup: K.int,
    WSACleanup: K.status,
    WSAGetLastError: K.int,
    WSASetLastError: K.none,
    socket: K.u32,
    WSASocket: K.u32,
    WSASocketA: K.u32,
    WSASocketW: K.u32,
    bind: K.status,
    connect: K.status,
    getsockname: K.status,
    getpeername: K.status,
    setsockopt: K.status,
    getsockopt: K.status,
    shutdown: K.status,
    closesocket: K.status,
    WSASendTo: K.statusOrPromise,
    WSASend: K.statusOrPromise,
    WSARecvFrom: K.statusOrPromise,
    WSARecv: K.statusOrPromise,
    sendto: K.countOrPromise,
    send: K.countOrPromise,
    recvfrom: K.countOrPromise,
    recv: K.countOrPromise,
    WSACreateEvent: K.event,
    WSACloseEvent: K.bool,
    WSASetEvent: K.bool,
    WSAResetEvent: K.bool,
    WSAWaitForMultipleEvents: K.wait,
    SleepEx: K.sleep,
    HasOverlappedIoCompleted: K.bool,
    WSAGetOverlappedResult: null,
    backendName: K.text,
    backendUnavailableReason: K.text,
    wsaErrorName: K.nameOrUndefined,
    wsaErrorMessage: K.text,
    wsaFromOsError: K.int,
    errnoName: K.nameOrUndefined,
    ioctlsocket: K.status,
    WSAIoctl: K.status,
    select: K.countAsync,
    WSAPoll: K.countAsync,
    FD_ZERO: K.none,
    FD_SET: K.none,
    FD_CLR: K.none,
    FD_ISSET: K.fdIsSet,
    WSAEventSelect: K.status,
    WSAEnumNetworkEvents: K.status,
    // The idiomatic API reports errors by throwing WSAError: only other throws fail.
    openUdpSocket: ["a UdpSocket (or a thrown WSAError)", (v) => v instanceof ws.UdpSocket, "sync"],
  };
  const THROWS_WSAERROR = new Set(["openUdpSocket"]);
  /** Argument positions that are a wait's timeout: a legitimate INFINITE would wait for ever. */
  const TIMEOUTS = { SleepEx: 0, WSAWaitForMultipleEvents: 3, select: 4, WSAPoll: 2 };

  /** The classes of CONTRACT.md and the idiomatic API: `new` with any arguments must work. */
  const PUBLIC_CLASSES = new Set(["WSAOVERLAPPED", "WSAError", "WSAEVENT", "UdpSocket", "fd_set"]);
  const isClass = (f) => /^class\b/.test(Function.prototype.toString.call(f));
  const all = Object.entries(ws).filter(([, v]) => typeof v === "function");
  const isPublic = (name) => name in PUBLIC || PUBLIC_CLASSES.has(name);
  const publicExports = all.filter(([name]) => isPublic(name));
  const internalExports = all.filter(([name]) => !isPublic(name));
  for (const [name] of all) stats.perExport[name] = { calls: 0, failed: 0, internal: !publicExports.some(([n]) => n === name) };

  // ------------------------------------------------------------------ safety
  /** True when every address among the arguments is 127.0.0.1 or ::1 (the values are ours). */
  function loopbackOnly(args) {
    for (const a of args) {
      if (typeof a !== "object" || a === null || types.isProxy(a)) continue;
      let family;
      try {
        if (Object.getPrototypeOf(a) !== Object.prototype) continue;
        family = Object.getOwnPropertyDescriptor(a, "sin_family") ?? Object.getOwnPropertyDescriptor(a, "sin6_family");
      } catch {
        continue;
      }
      if (!family || !("value" in family)) continue;
      const v4 = Object.getOwnPropertyDescriptor(a, "sin_addr")?.value;
      const v6 = Object.getOwnPropertyDescriptor(a, "sin6_addr")?.value;
      if (v4 !== undefined && !(v4 && v4.s_addr === 0x0100007f)) return false;
      if (v6 !== undefined && !(v6 instanceof Uint8Array && v6.every((b, i) => b === (i === 15 ? 1 : 0)))) return false;
    }
    return true;
  }
  function allowed(name, args) {
    // Never enable SO_BROADCAST (whatever the level).
    if (name === "setsockopt" && args[2] === 0x20 && args[3] !== 0 && args[3] !== false) return false;
    return loopbackOnly(args);
  }

  // ------------------------------------------------------------------ rounds
  const pending = [];
  function describe(e) {
    try {
      return e instanceof Error ? `${e.name}: ${e.message}` : typeof e;
    } catch {
      return "an unprintable value";
    }
  }
  function label(v) {
    try {
      if (typeof v === "symbol") return "Symbol";
      if (typeof v === "bigint") return `${v}n`;
      if (typeof v === "function") return "function";
      if (typeof v === "string") return JSON.stringify(v);
      if (v === null || typeof v !== "object") return String(v);
      return Array.isArray(v) ? `array(${v.length})` : (Object.getPrototypeOf(v)?.constructor?.name ?? "object");
    } catch {
      return "hostile object";
    }
  }
  /** A call the harness makes itself: a throw is a failure of that export too. */
  function safe(name, call) {
    try {
      return call();
    } catch (e) {
      failure(name, "threw (harness call)", `threw ${describe(e)} when the harness called it`, "");
      return undefined;
    }
  }
  function cleanupAll() {
    for (let i = 0; i < 10 && safe("WSACleanup", () => ws.WSACleanup()) === 0; i++);
  }
  function startRound() {
    cleanupAll();
    safe("WSAStartup", () => ws.WSAStartup(0x0202, {}));
    try {
      fillPool();
    } catch (e) {
      failure("(harness)", "threw (harness call)", `filling the pool threw ${describe(e)}`, "");
    }
  }
  function fillPool() {
    pool = { sockets: [], events: [], overlapped: [], closed: [] };
    for (let i = 0; i < 4; i++) {
      const v6 = i === 3;
      const s = ws.socket(v6 ? ws.AF_INET6 : ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
      if (s === ws.INVALID_SOCKET) continue;
      stats.socketsOpened++;
      const local = v6 ? loopback6(0) : loopback4(0);
      if (i !== 2) ws.bind(s, local, ws.sizeof(local));
      if (i === 1) ws.connect(s, loopback4(rxPort), 16);
      pool.sockets.push(s);
    }
    const closed = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, 0);
    ws.closesocket(closed);
    pool.closed.push(closed);
    for (let i = 0; i < 3; i++) pool.events.push(ws.WSACreateEvent());
    for (let i = 0; i < 3; i++) {
      const ov = new ws.WSAOVERLAPPED();
      ws.WSASendTo(pool.sockets[0] ?? 4, [{ len: 1, buf: Buffer.from("x") }], 1, null, 0, loopback4(rxPort), 16, ov, null);
      pool.overlapped.push(ov);
    }
  }
  /** Ends a round: closes every socket (WSACleanup), then every Promise must settle. */
  async function endRound() {
    current = "(end of round)";
    cleanupAll();
    const deadline = Date.now() + 2000;
    for (const p of pending.splice(0)) {
      const left = Math.max(1, deadline - Date.now());
      let timer;
      const outcome = await Promise.race([
        p.promise.then(
          (v) => ({ v }),
          (e) => ({ e }),
        ),
        new Promise((resolve) => {
          timer = setTimeout(() => resolve({ hung: true }), left);
        }),
      ]);
      clearTimeout(timer);
      if ("hung" in outcome) {
        stats.hangs++;
        failure(p.name, "hang", "a Promise still pending after its socket was closed", p.args);
      } else if ("e" in outcome) {
        failure(p.name, "rejected", `rejected with ${describe(outcome.e)}`, p.args);
      } else if (!p.check(outcome.v)) {
        failure(p.name, "wrong kind", `resolved to ${label(outcome.v)}, not ${p.kindLabel}`, p.args);
      } else {
        stats.passed++;
      }
    }
    stats.rounds++;
  }

  // ------------------------------------------------------------------ one call
  function callOne(name, f, internal) {
    const ctor = isClass(f);
    const arity = Math.min(Math.max(f.length, 1) + int(2), 10);
    let args;
    const baseline = BASELINES[name];
    if (baseline && random() < 0.5) {
      // A valid call with one or two arguments replaced: the deep paths behind the checks.
      args = baseline();
      for (let k = 1 + int(2); k > 0; k--) args[int(args.length)] = pick(VALUES)[1]();
    } else {
      args = Array.from({ length: arity }, () => pick(VALUES)[1]());
    }
    if (name in TIMEOUTS) {
      const i = TIMEOUTS[name];
      // A legitimate INFINITE (or a long wait) is not a hang: bounded here.
      if (name === "select") args[i] = { tv_sec: 0, tv_usec: int(2000) };
      else if (typeof args[i] !== "number" || !(args[i] < 20)) args[i] = int(20);
    }
    if (!allowed(name, args)) return;
    stats.calls++;
    if (internal) stats.internalCalls++;
    else stats.publicCalls++;
    stats.perExport[name].calls++;
    current = name;
    const argText = args.map(label).join(", ");
    if (process.env.FUZZ_TRACE) process.stderr.write(`#${stats.calls} ${name}(${argText})\n`);
    let kind = PUBLIC[name];
    if (name === "WSAGetOverlappedResult") {
      kind = args[3] ? ["a Promise of a boolean", (v) => typeof v === "boolean", "async"] : K.bool;
    }
    let r;
    try {
      r = ctor ? new f(...args) : f(...args);
    } catch (e) {
      if (THROWS_WSAERROR.has(name) && e instanceof ws.WSAError) {
        stats.passed++;
        return;
      }
      failure(name, ctor ? "constructor threw" : "threw", `threw ${describe(e)}`, argText);
      return;
    }
    // Sockets a call opened are closed at the end of the round (by WSACleanup).
    if (ctor) {
      if (r instanceof f) stats.passed++;
      else failure(name, "wrong kind", `new ${name} gave ${label(r)}`, argText);
      return;
    }
    if (!kind) {
      // An internal: any answer but a throw; a Promise must settle.
      if (r instanceof Promise) pending.push({ name, promise: r, check: () => true, kindLabel: "anything", args: argText });
      else stats.passed++;
      return;
    }
    const [kindLabel, check, when] = kind;
    if (r instanceof Promise) {
      if (when === "sync") {
        failure(name, "wrong kind", "returned a Promise", argText);
        r.catch(() => {});
        return;
      }
      pending.push({ name, promise: r, check, kindLabel, args: argText });
      return;
    }
    if (when === "async") {
      failure(name, "wrong kind", `returned ${label(r)}, not a Promise`, argText);
      return;
    }
    if (check(r)) stats.passed++;
    else failure(name, "wrong kind", `answered ${label(r)}, not ${kindLabel}`, argText);
  }

  // ------------------------------------------------------------------ the run
  const started = Date.now();
  const ROUND = 400;
  const publicShare = Math.round((CALLS * publicExports.length) / Math.max(1, all.length));
  const phases = [
    [publicExports, publicShare, false],
    [internalExports, CALLS - publicShare, true],
  ];
  try {
    await run(phases);
  } catch (e) {
    failure("(harness)", "harness error", `the fuzz loop itself threw ${describe(e)}`, "");
  }
  // Late completions and routines: time for anything still queued to fail loudly.
  current = "(after the last round)";
  await new Promise((resolve) => setTimeout(resolve, 200));
  stats.elapsedMs = Date.now() - started;
  rx.close();
  cleanupAll();
  console.log(JSON.stringify(stats));
  process.exit(0);

  async function run(phases) {
    for (const [exports, budget, internal] of phases) {
      if (exports.length === 0) continue;
      let made = 0;
      while (made < budget) {
        startRound();
        const before = stats.calls;
        for (let i = 0; i < ROUND && made < budget; i++, made++) {
          const [name, f] = pick(exports);
          try {
            callOne(name, f, internal);
          } catch (e) {
            // Looking at an answer ran the answer's code (a Proxy that an internal handed back).
            failure(name, "unreadable answer", `its answer threw ${describe(e)} when inspected`, "");
          }
          // Let I/O progress now and then, as a program's event loop would.
          if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
        }
        if (stats.calls === before) made++;
        await endRound();
      }
    }
  }
}

/** A small seeded PRNG (mulberry32): the same seed gives the same run. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
