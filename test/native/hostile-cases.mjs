// Hostile calls of the native addon's binding, shared by test/native/addon-hostile.test.ts
// (vitest) and test/native/hostile-run.mjs (plain node, run under valgrind by
// scripts/valgrind-addon.sh). Every binding function is called with wrong types in each
// parameter, detached and zero-length views, views of the wrong element type, arrays with
// holes or non-views, huge counts, closed and never-opened handles, and stale or foreign
// watchers; and once with valid arguments (a positive control, so that the checks can fail).
//
// What addon.c documents, and what each case expects: numbers in, numbers out. A call
// never throws (except to rethrow an exception of the caller's own getter); a bad argument
// returns a negated errno: -EINVAL for a bad number, handle, family, flag, port, option,
// boolean, callback or watcher, -EFAULT for a bad byte array or list, -EBADF for a handle
// that is not open; isRetryable returns false for anything but a retryable errno;
// gsoSupported and groSupported ignore their arguments. Zero-length and detached views have no bytes: a
// datagram of them is empty (the send returns 0).
import { constants } from "node:os";

/**
 * The Windows binding (win.c): its own set of functions, and WSA codes for errors (addon.c
 * WS_ERR_*: WSAEINVAL, WSAEFAULT, and WSAENOTSOCK where POSIX says EBADF). Windows' node
 * is the one that loads it (node.exe under Wine too).
 */
export const WINDOWS = process.platform === "win32";
/** The WSA codes the Windows cases expect (winerror.h). */
export const WSA = {
  WSA_INVALID_HANDLE: 6,
  WSA_IO_PENDING: 997,
  WSA_OPERATION_ABORTED: 995,
  WSAEFAULT: 10014,
  WSAEINVAL: 10022,
  WSAEWOULDBLOCK: 10035,
  WSAENOTSOCK: 10038,
  WSAEMSGSIZE: 10040,
  WSAENOBUFS: 10055,
};
/** errno codes (POSIX) or their WSA counterparts (Windows), by their POSIX names. */
const E = WINDOWS
  ? {
      EINVAL: WSA.WSAEINVAL,
      EFAULT: WSA.WSAEFAULT,
      EBADF: WSA.WSAENOTSOCK,
      EAGAIN: WSA.WSAEWOULDBLOCK,
      ENOBUFS: WSA.WSAENOBUFS,
      EMSGSIZE: WSA.WSAEMSGSIZE,
    }
  : constants.errno;
export const EINVAL = E.EINVAL;
export const EFAULT = E.EFAULT;
export const EBADF = E.EBADF;

/** Every function the Windows binding exports (addon.c init, _WIN32), and what this file calls it with. */
const WINDOWS_FUNCTIONS = [
  "open",
  "bind",
  "localAddress",
  "setOption",
  "getOption",
  "send",
  "close",
  "isRetryable",
  "onComplete",
  "recvOverlapped",
  "setConnReset",
  "cancelReceive",
  "recv",
  "pending",
  "sendNow",
  "writable",
];

/** Every function the POSIX binding exports, and what this file calls it with. */
const POSIX_FUNCTIONS = [
  "open",
  "bind",
  "localAddress",
  "setOption",
  "getOption",
  "send",
  "sendArgs",
  "sendBatch",
  "sendSegments",
  "gsoSupported",
  "recvBatch",
  "setGro",
  "groSupported",
  "close",
  "isRetryable",
  "recv",
  "takeError",
  "drops",
  "watch",
  "want",
  "unwatch",
];

/** Every function this OS's binding exports. */
export const KNOWN_FUNCTIONS = WINDOWS ? WINDOWS_FUNCTIONS : POSIX_FUNCTIONS;

const LOOPBACK = new Uint8Array([127, 0, 0, 1]);
const FOREVER = 987654;
const READABLE = 1;
const WRITABLE = 2;

/**
 * Watchers made here stay referenced until the process exits, so that no finalizer runs
 * during a run: a watcher's finalizer reads freed memory once it has been unwatched (a
 * library bug, see addon-hostile.test.ts), which can crash the process that runs it.
 */
const retained = [];
export function retain(watcher) {
  retained.push(watcher);
  return watcher;
}

// ---------------------------------------------------------------------------------
// Expectations

/** A negated errno (exactly -code when given). */
export function neg(code) {
  return {
    what: code ? `-${code}` : "a negative errno",
    test: (r) => typeof r === "number" && Number.isInteger(r) && r < 0 && (code === undefined || r === -code),
  };
}
const negOrZero = { what: "a negative errno or 0", test: (r) => typeof r === "number" && Number.isInteger(r) && r <= 0 };
const isFalse = { what: "false", test: (r) => r === false };
const isTrue = { what: "true", test: (r) => r === true };
const isBool = { what: "a boolean", test: (r) => typeof r === "boolean" };
const isZero = { what: "0", test: (r) => r === 0 };
const nonNeg = { what: "a number >= 0", test: (r) => typeof r === "number" && Number.isInteger(r) && r >= 0 };
const positive = { what: "a number > 0", test: (r) => typeof r === "number" && Number.isInteger(r) && r > 0 };
const equals = (v) => ({ what: String(v), test: (r) => r === v });
const isExternal = { what: "a watcher (an external)", test: (r) => typeof r === "object" && r !== null };

/**
 * Windows: whether a send or receive that succeeds at once completes during its call
 * (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, win.c), or returns -WSA_IO_PENDING and completes
 * through the port (WSASENDTO_WIN_SKIP_ON_SUCCESS=0, read by the addon at its load).
 */
const SKIP_ON_SUCCESS = process.env.WSASENDTO_WIN_SKIP_ON_SUCCESS !== "0";
const isPending = { what: "-WSA_IO_PENDING", test: (r) => r === -WSA.WSA_IO_PENDING };
/**
 * A send (or receive) of n bytes that Winsock takes: POSIX, n. Windows: n during the call
 * (Windows may still pend one now and then: -WSA_IO_PENDING); -WSA_IO_PENDING when every
 * completion goes through the port.
 */
function done(n) {
  if (!WINDOWS) return equals(n);
  if (!SKIP_ON_SUCCESS) return isPending;
  return { what: `${n} (completed during the call), or -WSA_IO_PENDING`, test: (r) => r === n || r === -WSA.WSA_IO_PENDING };
}

// ---------------------------------------------------------------------------------
// Hostile values

/** Values hostile to every parameter kind (none of them is, or truncates to, a live fd). */
function hostileValues() {
  return [
    ["undefined", undefined],
    ["null", null],
    ['""', ""],
    ['"4"', "4"],
    ['"abc"', "abc"],
    ["{}", {}],
    ["[]", []],
    ["[1]", [1]],
    ["Symbol()", Symbol("hostile")],
    ["10n", 10n],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["-1", -1],
    ["2**53", 2 ** 53],
    ["1.5", 1.5],
    ["-1.5", -1.5],
    ["true", true],
    ["false", false],
    ["a function", () => 0],
    ["Uint8Array(4)", new Uint8Array(4)],
    ["Int16Array(2)", new Int16Array(2)],
    ["Float64Array(2)", new Float64Array(2)],
    ["DataView", new DataView(new ArrayBuffer(16))],
    ["ArrayBuffer(16)", new ArrayBuffer(16)],
    ["a Date", new Date(0)],
  ];
}

/**
 * Detaches a view's buffer (transfers it to a clone that is dropped at once: once this
 * frame is gone, nothing holds the bytes, and the next GC frees them).
 */
export function detach(view) {
  structuredClone(view.buffer, { transfer: [view.buffer] });
}

/** A Uint8Array whose buffer has been transferred away (detached). */
export function detached(n = 16) {
  const view = new Uint8Array(n);
  detach(view);
  return view;
}

/** An array of `length` holes but one element (at `at`). */
function holed(length, at, value) {
  const a = new Array(length);
  a[at] = value;
  return a;
}

/** A batch descriptor: n, then [count, port, slot] per datagram. */
function batchDesc(...datagrams) {
  return new Uint32Array([datagrams.length, ...datagrams.flat()]);
}

/** A receive batch descriptor: n, then each datagram's view count. */
function recvDesc(...counts) {
  return new Uint32Array([counts.length, ...counts]);
}

/** Address slots (16 bytes each) holding `addresses`. */
function slots(...addresses) {
  const out = new Uint8Array(16 * addresses.length);
  for (const [i, a] of addresses.entries()) out.set(a, 16 * i);
  return out;
}

/** A handle that was open and is closed now (the higher of two closed fds: the kernel reuses the lower first). */
function closedHandle(b) {
  const x = b.open(4);
  const y = b.open(4);
  b.close(x);
  b.close(y);
  return Math.max(x, y);
}

// ---------------------------------------------------------------------------------
// Parameters: what each kind accepts, and the code a hostile value gets

/**
 * Parameter kinds: `valid(v)` says a hostile value happens to be acceptable there (it is
 * then not used), `code` is what a refused one returns.
 */
const KIND = {
  handle: { code: EINVAL, valid: () => false },
  family: { code: EINVAL, valid: () => false },
  int: { code: EINVAL, valid: () => false },
  bool: { code: EINVAL, valid: (v) => typeof v === "boolean" },
  fn: { code: EINVAL, valid: (v) => typeof v === "function" },
  watcher: { code: EINVAL, valid: () => false },
  views: { code: EFAULT, valid: (v) => Array.isArray(v) && v.length === 0 },
  address: { code: EFAULT, valid: (v) => v instanceof Uint8Array && v.length >= 4 },
  out16: { code: EFAULT, valid: (v) => v instanceof Uint8Array && v.length >= 16 },
  out24: { code: EFAULT, valid: (v) => v instanceof Uint8Array && v.length >= 24 },
  /** recvBatch's out: 32 bytes a datagram (one here). */
  out32: { code: EFAULT, valid: (v) => v instanceof Uint8Array && v.length >= 32 },
  /** A batch's descriptor: a Uint32Array (n, then count, port, address slot per datagram). */
  desc: { code: EFAULT, valid: () => false },
  /** A batch's address slots: any Uint8Array of at least one 16-byte slot. */
  slots: { code: EFAULT, valid: (v) => v instanceof Uint8Array && v.length >= 16 },
  /** One view passed as an argument (sendArgs): any typed array of 8-bit elements is taken. */
  view: { code: EFAULT, valid: (v) => v instanceof Uint8Array || v instanceof Int8Array || v instanceof Uint8ClampedArray },
  ignored: null,
};

/**
 * The context every case runs in: two bound sockets on 127.0.0.1 (`h` sends, `rx`
 * receives) and a watcher. Created by openContext, released by closeContext.
 */
export function openContext(b) {
  const h = b.open(4);
  const rx = b.open(4);
  const unbound = b.open(4);
  if (h < 0 || rx < 0 || unbound < 0) throw new Error(`open failed: ${h} ${rx} ${unbound}`);
  if (b.bind(h, 4, LOOPBACK, 0) !== 0 || b.bind(rx, 4, LOOPBACK, 0) !== 0) throw new Error("bind failed");
  const out = new Uint8Array(16);
  const rxPort = b.localAddress(rx, 4, out);
  if (rxPort <= 0) throw new Error(`localAddress failed: ${rxPort}`);
  // A large receive buffer: many cases send to rx.
  b.setOption(rx, 4, 2, 1 << 22);
  const watcher = b.watch ? retain(b.watch(h, () => {})) : null;
  // Windows: a bound socket nothing is sent to (overlapped receives posted there pend,
  // and are cancelled), and the completions of pending sends and receives, recorded. The
  // recorder replaces the library's callback (loadBinding registered it): nothing in a
  // process that runs these cases sends through the library.
  const idle = WINDOWS ? b.open(4) : -1;
  if (WINDOWS && (idle < 0 || b.bind(idle, 4, LOOPBACK, 0) !== 0)) throw new Error(`idle socket: ${idle}`);
  const completions = [];
  const onCompletion = (id, status, bytes, flags) => completions.push([id, status, bytes, flags]);
  if (WINDOWS && b.onComplete(onCompletion) !== 0) throw new Error("onComplete failed");
  return { h, rx, rxPort, unbound, watcher, idle, completions, onCompletion };
}

export function closeContext(b, ctx) {
  // Not unwatched: see `retain`.
  if (ctx.watcher && typeof ctx.watcher === "object") b.want(ctx.watcher, 0);
  b.close(ctx.h);
  b.close(ctx.rx);
  b.close(ctx.unbound);
  if (ctx.idle >= 0) b.close(ctx.idle);
}

/** Windows: ids for overlapped receives, unique in the process (sends use 0: nobody waits for them). */
let lastId = 1_000_000;
export function nextId() {
  return ++lastId;
}

/**
 * Windows: a receive pending on ctx.idle (nothing is ever sent there) under a fresh id;
 * the id, or throws. It completes (aborted) once cancelled, or when the socket closes.
 */
export function postIdle(b, ctx) {
  const id = nextId();
  const r = b.recvOverlapped(ctx.idle, 4, [new Uint8Array(64)], 0, id, new Uint8Array(24));
  if (r !== -WSA.WSA_IO_PENDING) throw new Error(`recvOverlapped on the idle socket returned ${r}`);
  return id;
}

/**
 * The signature of each function: its parameters' kinds and valid arguments (a function
 * of the context, so that handles are fresh), and what the valid call returns.
 */
function signatures(b, ctx) {
  const small = () => [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])];
  /** Receives (bounded) whatever earlier cases sent to rx, then sends it one 8-byte datagram. */
  const drainThenSend = async () => {
    const sink = [new Uint8Array(65536)];
    for (let i = 0; i < 100000 && b.recv(ctx.rx, 4, sink, false, new Uint8Array(24)) >= 0; i++);
    b.send(ctx.h, 4, small(), LOOPBACK, ctx.rxPort, 0, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  return {
    open: { params: [["family", () => 4]], valid: positive, cleanup: (r) => r >= 0 && b.close(r) },
    bind: {
      params: [
        ["handle", () => ctx.unbound],
        ["family", () => 4],
        ["address", () => LOOPBACK],
        ["int", () => 0],
      ],
      // The valid call is made once, as the positive control (a socket binds once).
      valid: isZero,
      validOnce: true,
    },
    localAddress: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["out16", () => new Uint8Array(16)],
      ],
      valid: positive,
    },
    setOption: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["int", () => 1],
        ["int", () => 1 << 16],
      ],
      valid: isZero,
    },
    getOption: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["int", () => 1],
      ],
      valid: positive,
    },
    send: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["views", small],
        ["address", () => LOOPBACK],
        ["int", () => ctx.rxPort],
        ["int", () => 0],
        // The operation id: Windows reads it (an integer up to 2**53 - 1), POSIX does not.
        [WINDOWS ? "int" : "ignored", () => 0],
      ],
      valid: done(8),
    },
    sendArgs: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["address", () => LOOPBACK],
        ["int", () => ctx.rxPort],
        ["int", () => 0],
        ["view", () => new Uint8Array([1, 2, 3, 4])],
        ["view", () => new Uint8Array([5, 6, 7, 8])],
      ],
      valid: equals(8),
    },
    sendBatch: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["desc", () => batchDesc([1, ctx.rxPort, 0], [2, ctx.rxPort, 0])],
        ["slots", () => slots(LOOPBACK)],
        ["int", () => 0],
        ["view", () => new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])],
        ["view", () => new Uint8Array([1, 2, 3, 4])],
        ["view", () => new Uint8Array([5, 6, 7, 8])],
      ],
      valid: equals(2),
    },
    sendSegments: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["address", () => LOOPBACK],
        ["int", () => ctx.rxPort],
        ["int", () => 16],
        ["int", () => 0],
        ["view", () => new Uint8Array(32)],
        ["view", () => new Uint8Array(32)],
      ],
      // 64 bytes as four 16-byte datagrams, where the kernel has UDP GSO.
      valid: b.gsoSupported?.() ? equals(64) : neg(),
    },
    gsoSupported: { params: [["ignored", () => undefined]], valid: isBool },
    recvBatch: {
      params: [
        ["handle", () => ctx.rx],
        ["family", () => 4],
        ["desc", () => recvDesc(1, 1)],
        ["out32", () => new Uint8Array(64)],
        ["int", () => 0],
        ["view", () => new Uint8Array(2048)],
        ["view", () => new Uint8Array(2048)],
      ],
      // Two datagrams are sent to rx first (others may wait already): both slots filled.
      valid: equals(2),
      prepare: async () => {
        for (let i = 0; i < 2; i++) b.send(ctx.h, 4, small(), LOOPBACK, ctx.rxPort, 0, 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
    },
    // On the sending socket (h): GRO on rx would coalesce the GSO sends other cases make to it.
    setGro: {
      params: [
        ["handle", () => ctx.h],
        ["bool", () => false],
      ],
      valid: b.groSupported?.() ? isZero : neg(),
    },
    groSupported: { params: [["ignored", () => undefined]], valid: isBool },
    close: { params: [["handle", () => b.open(4)]], valid: isZero },
    isRetryable: { params: [["int", () => E.EAGAIN]], valid: isTrue, refused: isFalse },
    // Windows only (win.c). The completion callback: the recorder openContext registered.
    onComplete: { params: [["fn", () => ctx.onCompletion]], valid: isZero },
    // One overlapped WSARecvFrom on rx, where a datagram is sent first (what earlier cases
    // sent is received before): 8 bytes at once (or pending, then completed through the
    // port with them).
    recvOverlapped: {
      params: [
        ["handle", () => ctx.rx],
        ["family", () => 4],
        ["views", () => [new Uint8Array(2048)]],
        ["int", () => 0],
        ["int", () => nextId()],
        ["out24", () => new Uint8Array(24)],
      ],
      valid: done(8),
      prepare: drainThenSend,
    },
    // The id of a receive pending on the idle socket (posted just before).
    cancelReceive: {
      params: [["int", () => postIdle(b, ctx)]],
      valid: isZero,
    },
    // SIO_UDP_CONNRESET, on = 0 or 1 (a number).
    setConnReset: {
      params: [
        ["handle", () => ctx.h],
        ["int", () => 1],
      ],
      valid: isZero,
    },
    // FIONREAD on rx.
    pending: { params: [["handle", () => ctx.rx]], valid: nonNeg },
    // A non-blocking socket's send (a non-overlapped WSASendTo): answered during the call,
    // whatever the skip mode: 8 bytes, never -WSA_IO_PENDING.
    sendNow: {
      params: [
        ["handle", () => ctx.h],
        ["family", () => 4],
        ["views", small],
        ["address", () => LOOPBACK],
        ["int", () => ctx.rxPort],
        ["int", () => 0],
      ],
      valid: equals(8),
    },
    // select with a zero timeout: h, on plain loopback, has room.
    writable: { params: [["handle", () => ctx.h]], valid: equals(1) },
    recv: {
      params: [
        ["handle", () => ctx.rx],
        ["family", () => 4],
        ["views", () => [new Uint8Array(2048)]],
        ["bool", () => false],
        ["out24", () => new Uint8Array(24)],
      ],
      // What earlier cases sent to rx is received first; then one datagram is sent to rx,
      // and given a moment to arrive.
      valid: equals(8),
      prepare: drainThenSend,
    },
    takeError: { params: [["handle", () => ctx.h]], valid: isZero },
    drops: { params: [["handle", () => ctx.rx]], valid: nonNeg },
    watch: {
      params: [
        ["handle", () => ctx.h],
        ["fn", () => () => {}],
      ],
      valid: isExternal,
      cleanup: retain,
    },
    want: {
      params: [
        ["watcher", () => ctx.watcher],
        ["int", () => READABLE | WRITABLE],
      ],
      valid: isZero,
      // Stops again at once (level-triggered: a writable socket reports on every turn).
      cleanup: () => b.want(ctx.watcher, 0),
    },
    unwatch: {
      params: [["watcher", () => retain(b.watch(ctx.h, () => {}))]],
      valid: isZero,
      usesUnwatch: true,
    },
  };
}

// ---------------------------------------------------------------------------------
// Cases

/**
 * A case: `fn` is called with `args()`; `expect` describes the result. `throws` (a
 * function returning the error object) marks the one case where rethrowing is right: the
 * caller's own getter threw. `knownBug` marks a case that fails because of a library bug.
 */
function kase(fn, name, args, expect, extra = {}) {
  return { fn, name, args, expect, ...extra };
}

/** The positive control of each function: valid arguments succeed. */
export function positiveControls(b, ctx) {
  const sig = signatures(b, ctx);
  return Object.entries(sig)
    .filter(([fn]) => typeof b[fn] === "function")
    .map(([fn, s]) =>
      kase(fn, "valid arguments", () => s.params.map(([, make]) => make()), s.valid, {
        prepare: s.prepare,
        cleanup: s.cleanup,
        usesUnwatch: s.usesUnwatch,
      }),
    );
}

/** Each parameter of each function in turn gets every hostile value; the others are valid. */
export function sweepCases(b, ctx) {
  const sig = signatures(b, ctx);
  const cases = [];
  for (const [fn, s] of Object.entries(sig)) {
    if (typeof b[fn] !== "function") continue;
    s.params.forEach(([kind, _], position) => {
      const k = KIND[kind];
      for (const [label, value] of hostileValues()) {
        if (k === null) {
          // An argument the function does not read: any value, the valid outcome.
          if (fn === "gsoSupported" || fn === "groSupported")
            cases.push(kase(fn, `argument ${position} = ${label}`, () => [value], isBool));
          continue;
        }
        if (k.valid(value)) continue;
        const args = () => s.params.map(([, make], i) => (i === position ? value : make()));
        const expect = s.refused ?? neg(k.code);
        // sendBatch once read address and port lists that were not arrays as lists (a
        // non-array's "length" passed its check); its descriptor and slots now.
        const knownBug = fn === "sendBatch" && (kind === "desc" || kind === "slots") ? "batch-list-not-array" : undefined;
        cases.push(kase(fn, `argument ${position} (${kind}) = ${label}`, args, expect, { cleanup: s.cleanup, knownBug }));
      }
    });
  }
  return cases;
}

/** Cases aimed at particular parameters: handles, views, lists, huge counts, watchers. */
export function specificCases(b, ctx, { scale = 1 } = {}) {
  const cases = [];
  const add = (fn, name, args, expect, extra) => {
    if (typeof b[fn] === "function") cases.push(kase(fn, name, args, expect, extra));
  };
  const v8 = () => [new Uint8Array(8)];
  const dest = () => [LOOPBACK, ctx.rxPort];

  // Handles: closed, never opened, beyond the fd range (kept clear of values that truncate to a live fd).
  const handleCalls = {
    bind: (h) => [h, 4, LOOPBACK, 0],
    localAddress: (h) => [h, 4, new Uint8Array(16)],
    setOption: (h) => [h, 4, 1, 1 << 16],
    getOption: (h) => [h, 4, 1],
    send: (h) => [h, 4, v8(), ...dest(), 0, 0],
    sendArgs: (h) => [h, 4, ...dest(), 0, new Uint8Array(8)],
    sendBatch: (h) => [h, 4, batchDesc([1, ctx.rxPort, 0]), slots(LOOPBACK), 0, new Uint8Array(8)],
    sendSegments: (h) => [h, 4, ...dest(), 16, 0, new Uint8Array(64)],
    recv: (h) => [h, 4, [new Uint8Array(64)], false, new Uint8Array(24)],
    recvBatch: (h) => [h, 4, recvDesc(1), new Uint8Array(32), 0, new Uint8Array(64)],
    setGro: (h) => [h, true],
    takeError: (h) => [h],
    drops: (h) => [h],
    close: (h) => [h],
    watch: (h) => [h, () => {}],
    // Windows (win.c looks the handle up among the addon's sockets first: WSAENOTSOCK).
    recvOverlapped: (h) => [h, 4, [new Uint8Array(64)], 0, nextId(), new Uint8Array(24)],
    setConnReset: (h) => [h, 1],
    pending: (h) => [h],
    sendNow: (h) => [h, 4, v8(), ...dest(), 0],
    writable: (h) => [h],
  };
  for (const [fn, call] of Object.entries(handleCalls)) {
    add(fn, "a closed handle", () => call(closedHandle(b)), fn === "watch" ? neg() : neg(EBADF));
    add(fn, `a handle never opened (${FOREVER})`, () => call(FOREVER), fn === "watch" ? neg() : neg(EBADF));
    add(fn, "handle 2**31 (beyond int)", () => call(2 ** 31), neg());
    add(fn, "handle 2**53 - 1", () => call(2 ** 53 - 1), neg());
  }
  // A handle beyond the fd range must not reach another descriptor: 2**32 + h is not h.
  add("getOption", "handle 2**32 + h (an open socket's fd plus 2**32)", () => [2 ** 32 + ctx.h, 4, 1], neg(), {
    knownBug: "handle-truncation",
  });
  add(
    "localAddress",
    "handle 2**32 + h (an open socket's fd plus 2**32)",
    () => [2 ** 32 + ctx.h, 4, new Uint8Array(16)],
    neg(),
    {
      knownBug: "handle-truncation",
    },
  );

  // The error queue (IP_RECVERR, Linux): an ICMP port-unreachable that a send consumed as
  // the pending error stays queued, and takeError reports it from there (parsing its cmsg).
  const icmp = { fd: -1 };
  add(
    "takeError",
    "after sends to a closed port (the queued port-unreachable)",
    () => {
      const dead = b.open(4);
      b.bind(dead, 4, LOOPBACK, 0);
      const port = b.localAddress(dead, 4, new Uint8Array(16));
      b.close(dead);
      icmp.fd = b.open(4);
      b.bind(icmp.fd, 4, LOOPBACK, 0);
      // The second send fails with the first one's error (ECONNREFUSED) and sends nothing.
      for (let i = 0; i < 2; i++) b.send(icmp.fd, 4, [new Uint8Array(4)], LOOPBACK, port, 0, 0);
      return [icmp.fd];
    },
    { what: "ECONNREFUSED (queued) or 0 (the ICMP error not there yet)", test: (r) => r === E.ECONNREFUSED || r === 0 },
    { cleanup: () => b.close(icmp.fd) },
  );

  // Families and options.
  add("open", "family 5", () => [5], neg(EINVAL));
  add("open", "family 6.5", () => [6.5], neg(EINVAL));
  add("open", "family 23 (AF_INET6 as Winsock numbers it)", () => [23], neg(EINVAL));
  add("bind", "IPv6 family with a 4-byte address", () => [ctx.unbound, 6, LOOPBACK, 0], neg(EFAULT));
  add("bind", "port 65536", () => [ctx.unbound, 4, LOOPBACK, 65536], neg(EINVAL));
  add("bind", "a detached address", () => [ctx.unbound, 4, detached(4), 0], neg(EFAULT));
  add("bind", "a 3-byte address", () => [ctx.unbound, 4, new Uint8Array(3), 0], neg(EFAULT));
  add("bind", "an Int16Array address", () => [ctx.unbound, 4, new Int16Array(2), 0], neg(EFAULT));
  add("localAddress", "a 15-byte out", () => [ctx.h, 4, new Uint8Array(15)], neg(EFAULT));
  add("localAddress", "a detached out", () => [ctx.h, 4, detached(16)], neg(EFAULT));
  add("localAddress", "a Float64Array out", () => [ctx.h, 4, new Float64Array(2)], neg(EFAULT));
  add("localAddress", "a DataView out", () => [ctx.h, 4, new DataView(new ArrayBuffer(16))], neg(EFAULT));
  add("localAddress", "an unbound socket", () => [ctx.unbound, 4, new Uint8Array(16)], nonNeg);
  add("setOption", "option 5 (past the last, IPV6_V6ONLY)", () => [ctx.h, 4, 5, 1], neg(EINVAL));
  add("setOption", "value 2**31", () => [ctx.h, 4, 1, 2 ** 31], neg(EINVAL));
  add("setOption", "value -1", () => [ctx.h, 4, 1, -1], neg(EINVAL));
  add("getOption", "option 5 (past the last, IPV6_V6ONLY)", () => [ctx.h, 4, 5], neg(EINVAL));
  add("getOption", "option -1", () => [ctx.h, 4, -1], neg(EINVAL));

  // Views where a list of Uint8Arrays is expected. Expected: [send, sendSegments, recv, sendBatch].
  const anyInt = { what: "an integer (bytes received, or a negative errno)", test: (r) => Number.isInteger(r) };
  const orNeg = (x) => ({ what: `${x.what}, or a negative errno`, test: (r) => x.test(r) || neg().test(r) });
  const fault = [neg(EFAULT), neg(EFAULT), neg(EFAULT), neg(EFAULT)];
  const inval = [neg(EINVAL), neg(EINVAL), neg(EINVAL), neg(EINVAL)];
  const empty = [done(0), negOrZero, negOrZero, equals(1)];
  const bytes = (n) => [done(n), orNeg(equals(n)), anyInt, equals(1)];
  const badViews = [
    ["a detached view", () => [detached(64)], empty],
    ["a zero-length view", () => [new Uint8Array(0)], empty],
    ["no views", () => [], empty],
    ["a detached and a live view", () => [detached(64), new Uint8Array(8)], bytes(8)],
    ["an Int16Array", () => [new Int16Array(4)], fault],
    ["a Uint16Array", () => [new Uint16Array(4)], fault],
    ["a Float64Array", () => [new Float64Array(2)], fault],
    ["a BigInt64Array", () => [new BigInt64Array(2)], fault],
    ["a DataView", () => [new DataView(new ArrayBuffer(8))], fault],
    ["an ArrayBuffer", () => [new ArrayBuffer(8)], fault],
    ["a hole", () => holed(2, 1, new Uint8Array(8)), fault],
    ["new Array(3) (all holes)", () => new Array(3), fault],
    ["a view then undefined", () => [new Uint8Array(8), undefined], fault],
    ["a number", () => [new Uint8Array(8), 5], fault],
    ["a string", () => ["abcdefgh"], fault],
    ["a plain object", () => [{ length: 8, byteLength: 8 }], fault],
    ["null", () => [null], fault],
    ["an array-like object", () => ({ length: 1, 0: new Uint8Array(8) }), fault],
    ["a Proxy of an array", () => new Proxy([new Uint8Array(8)], {}), fault],
    ["a view instead of an array", () => new Uint8Array(8), fault],
    ["a nested array", () => [[new Uint8Array(8)]], fault],
    ["1025 views (over the limit)", () => Array.from({ length: 1025 }, () => new Uint8Array(1)), inval],
    ["2000 views", () => Array.from({ length: 2000 }, () => new Uint8Array(1)), inval],
    ["100000 elements", () => new Array(100000).fill(0), inval],
    ["1024 one-byte views (the limit)", () => Array.from({ length: 1024 }, () => new Uint8Array(1)), bytes(1024)],
    ["an Int8Array (accepted: bytes)", () => [new Int8Array(8)], bytes(8)],
    ["a Uint8ClampedArray (accepted: bytes)", () => [new Uint8ClampedArray(8)], bytes(8)],
    ["a 70000-byte datagram", () => [new Uint8Array(70000)], [neg(), neg(), anyInt, neg()]],
  ];
  // sendArgs takes the views as arguments: every entry whose views are a true array of at
  // most 2000 elements (beyond that the call's arguments are the limit, not the addon); a
  // Proxy of an array spreads into its elements, which are valid.
  const asArguments = (label, views) => {
    const v = views();
    return Array.isArray(v) && v.length <= 2000 && label !== "a Proxy of an array";
  };
  // sendSegments and sendBatch take them so too (sendBatch: one datagram of all of them;
  // its limit is 1024 views a datagram as well).
  for (const [label, views, [sendX, segX, , batchX]] of badViews) {
    if (!asArguments(label, views)) continue;
    add("sendArgs", `views as arguments: ${label}`, () => [ctx.h, 4, ...dest(), 0, ...views()], sendX);
    add("sendSegments", `views as arguments: ${label}`, () => [ctx.h, 4, ...dest(), 16, 0, ...views()], segX);
    add(
      "sendBatch",
      `a datagram's views as arguments: ${label}`,
      () => {
        const v = views();
        return [ctx.h, 4, batchDesc([v.length, ctx.rxPort, 0]), slots(LOOPBACK), 0, ...v];
      },
      batchX,
    );
  }
  for (const [label, views, [sendX, , recvX]] of badViews) {
    add("send", `views: ${label}`, () => [ctx.h, 4, views(), ...dest(), 0, 0], sendX);
    add("recv", `views: ${label}`, () => [ctx.rx, 4, views(), false, new Uint8Array(24)], recvX);
  }
  // Addresses and ports for sends.
  const badAddresses = [
    ["a detached address", () => detached(4)],
    ["a 3-byte address", () => new Uint8Array(3)],
    ["an Int16Array address", () => new Int16Array(2)],
    ["a DataView address", () => new DataView(new ArrayBuffer(4))],
    ["a Float64Array address", () => new Float64Array(1)],
  ];
  for (const [label, address] of badAddresses) {
    add("send", label, () => [ctx.h, 4, v8(), address(), ctx.rxPort, 0, 0], neg(EFAULT));
    add("sendSegments", label, () => [ctx.h, 4, address(), ctx.rxPort, 16, 0, new Uint8Array(64)], neg(EFAULT));
    add(
      "sendBatch",
      `${label} table`,
      () => [ctx.h, 4, batchDesc([1, ctx.rxPort, 0]), address(), 0, new Uint8Array(8)],
      neg(EFAULT),
    );
  }
  add("send", "IPv6 family with a 4-byte address", () => [ctx.h, 6, v8(), ...dest(), 0, 0], neg(EFAULT));
  add("send", "port 65536", () => [ctx.h, 4, v8(), LOOPBACK, 65536, 0, 0], neg(EINVAL));
  add("send", "flags 2**32", () => [ctx.h, 4, v8(), ...dest(), 2 ** 32, 0], neg(EINVAL));
  add("sendSegments", "segment 0", () => [ctx.h, 4, ...dest(), 0, 0, new Uint8Array(64)], neg(EINVAL));
  add("sendSegments", "segment 65536", () => [ctx.h, 4, ...dest(), 65536, 0, new Uint8Array(64)], neg(EINVAL));
  add(
    "sendSegments",
    "segment 1 over 1000 bytes (too many segments)",
    () => [ctx.h, 4, ...dest(), 1, 0, new Uint8Array(1000)],
    neg(),
  );
  add("sendSegments", "no arguments", () => [], neg(EINVAL));
  add("sendSegments", "an array of views (the old form)", () => [ctx.h, 4, [new Uint8Array(64)], ...dest(), 16, 0], neg(EFAULT));

  // Batches: descriptors that do not match the views, bad counts, ports, slots; huge counts.
  const n5000 = Math.max(1025, Math.round(5000 * scale));
  const to = (count) => [count, ctx.rxPort, 0];
  const batch =
    (desc, ...views) =>
    () => [ctx.h, 4, desc, slots(LOOPBACK), 0, ...views];
  add("sendBatch", "no datagrams", batch(batchDesc()), equals(0));
  add("sendBatch", "no datagrams but a view", batch(batchDesc(), new Uint8Array(8)), neg(EINVAL));
  add("sendBatch", "counts over the views", batch(batchDesc(to(1), to(1)), new Uint8Array(8)), neg(EINVAL));
  add("sendBatch", "counts under the views", batch(batchDesc(to(1)), new Uint8Array(8), new Uint8Array(8)), neg(EINVAL));
  add("sendBatch", "a count of 2**32 - 1", batch(batchDesc([2 ** 32 - 1, ctx.rxPort, 0]), new Uint8Array(8)), neg(EINVAL));
  add("sendBatch", "an empty datagram", batch(batchDesc(to(0))), equals(1));
  add("sendBatch", "port 65536", batch(batchDesc([1, 65536, 0]), new Uint8Array(8)), neg(EINVAL));
  add("sendBatch", "port 2**32 - 1", batch(batchDesc([1, 2 ** 32 - 1, 0]), new Uint8Array(8)), neg(EINVAL));
  add("sendBatch", "slot 1 of a one-slot table", batch(batchDesc([1, ctx.rxPort, 1]), new Uint8Array(8)), neg(EFAULT));
  add("sendBatch", "slot 2**32 - 1", batch(batchDesc([1, ctx.rxPort, 2 ** 32 - 1]), new Uint8Array(8)), neg(EFAULT));
  add("sendBatch", "a 15-byte table", () => [ctx.h, 4, batchDesc(to(1)), new Uint8Array(15), 0, new Uint8Array(8)], neg(EFAULT));
  add(
    "sendBatch",
    "IPv6 with a one-slot table",
    () => [ctx.h, 6, batchDesc(to(1)), slots(LOOPBACK), 0, new Uint8Array(8)],
    neg(),
  );
  add("sendBatch", "n over the descriptor", batch(new Uint32Array([2, 1, ctx.rxPort, 0]), new Uint8Array(8)), neg(EFAULT));
  add("sendBatch", "an empty descriptor", batch(new Uint32Array(0)), neg(EFAULT));
  add(
    "sendBatch",
    "a detached descriptor",
    () => {
      const desc = batchDesc(to(1));
      detach(desc);
      return [ctx.h, 4, desc, slots(LOOPBACK), 0, new Uint8Array(8)];
    },
    neg(EFAULT),
  );
  add("sendBatch", "a detached table", () => [ctx.h, 4, batchDesc(to(1)), detached(16), 0, new Uint8Array(8)], neg(EFAULT));
  add("sendBatch", "an Int32Array descriptor", batch(new Int32Array([1, 1, ctx.rxPort, 0]), new Uint8Array(8)), neg(EFAULT));
  add("sendBatch", "a Float64Array descriptor", batch(new Float64Array([1, 1, ctx.rxPort, 0]), new Uint8Array(8)), neg(EFAULT));
  add("sendBatch", "a descriptor as a plain array", batch([1, 1, ctx.rxPort, 0], new Uint8Array(8)), neg(EFAULT));
  add("sendBatch", "the old form (lists)", () => [ctx.h, 4, [[new Uint8Array(8)]], [LOOPBACK], [ctx.rxPort], 0], neg());
  add("sendBatch", "no arguments", () => [], neg(EINVAL));
  add(
    "sendBatch",
    "a view of the descriptor among the views",
    () => {
      const desc = batchDesc(to(1));
      return [ctx.h, 4, desc, slots(LOOPBACK), 0, new Uint8Array(desc.buffer)];
    },
    equals(1),
  );
  add(
    "sendBatch",
    "1025 datagrams (over the limit)",
    batch(batchDesc(...Array.from({ length: 1025 }, () => to(0)))),
    neg(EINVAL),
  );
  add("sendBatch", `n = ${n5000} in a short descriptor`, batch(new Uint32Array([n5000, 0, ctx.rxPort, 0])), neg(EINVAL));
  add("sendBatch", "n = 2**32 - 1", batch(new Uint32Array([2 ** 32 - 1, 0, ctx.rxPort, 0])), neg(EINVAL));
  add(
    "sendBatch",
    "a datagram of 1025 views",
    batch(batchDesc(to(1025)), ...Array.from({ length: 1025 }, () => new Uint8Array(1))),
    neg(EINVAL),
  );
  add(
    "sendBatch",
    "4097 views in all (over the limit)",
    batch(batchDesc(to(1024), to(1024), to(1024), to(1024), to(1)), ...Array.from({ length: 4097 }, () => new Uint8Array(1))),
    neg(EINVAL),
  );
  add(
    "sendBatch",
    "4096 views in all (the limit)",
    batch(batchDesc(to(1024), to(1024), to(1024), to(1024)), ...Array.from({ length: 4096 }, () => new Uint8Array(1))),
    equals(4),
  );

  // Receives: booleans and out-parameters.
  add("recv", "peek = 1 (not a boolean)", () => [ctx.rx, 4, [new Uint8Array(8)], 1, new Uint8Array(24)], neg(EINVAL));
  add("recv", "a 23-byte out", () => [ctx.rx, 4, [new Uint8Array(8)], false, new Uint8Array(23)], neg(EFAULT));
  add("recv", "a detached out", () => [ctx.rx, 4, [new Uint8Array(8)], false, detached(24)], neg(EFAULT));
  add("recv", "an Int16Array out", () => [ctx.rx, 4, [new Uint8Array(8)], false, new Int16Array(12)], neg(EFAULT));
  add("recv", "nothing to receive (EAGAIN)", () => [ctx.unbound, 4, [new Uint8Array(8)], false, new Uint8Array(24)], neg());

  // Batched receives: descriptors that do not match the views, bad counts, short or
  // detached outs, detached views (refused: a receive into no bytes would drop a datagram),
  // flags other than MSG_PEEK, huge counts. Most on the unbound socket, where nothing waits:
  // arguments that pass get -EAGAIN.
  const EAGAIN = E.EAGAIN;
  const rb =
    (d, out, ...views) =>
    () => [ctx.unbound, 4, d, out, 0, ...views];
  const out32 = (n = 1) => new Uint8Array(32 * n);
  const u8 = (n = 8) => new Uint8Array(n);
  add("recvBatch", "valid, nothing waits (EAGAIN)", rb(recvDesc(1), out32(), u8()), neg(EAGAIN));
  add("recvBatch", "n = 0", rb(recvDesc(), out32()), neg(EINVAL));
  add("recvBatch", "n = 0 with a view", rb(recvDesc(), out32(), u8()), neg(EINVAL));
  add("recvBatch", "n = 1025 (over the limit)", rb(recvDesc(...new Array(1025).fill(0)), out32(1025)), neg(EINVAL));
  add("recvBatch", "n = 1024, no views (the limit)", rb(recvDesc(...new Array(1024).fill(0)), out32(1024)), neg(EAGAIN));
  add("recvBatch", "n = 2**32 - 1", rb(new Uint32Array([2 ** 32 - 1, 1]), out32(), u8()), neg(EINVAL));
  add("recvBatch", `n = ${n5000} in a short descriptor`, rb(new Uint32Array([n5000, 1]), out32(), u8()), neg(EINVAL));
  add("recvBatch", "n over the descriptor", rb(new Uint32Array([2, 1]), out32(2), u8()), neg(EFAULT));
  add("recvBatch", "an empty descriptor", rb(new Uint32Array(0), out32(), u8()), neg(EFAULT));
  add(
    "recvBatch",
    "a detached descriptor",
    () => {
      const d = recvDesc(1);
      detach(d);
      return [ctx.unbound, 4, d, out32(), 0, u8()];
    },
    neg(EFAULT),
  );
  add("recvBatch", "an Int32Array descriptor", rb(new Int32Array([1, 1]), out32(), u8()), neg(EFAULT));
  add("recvBatch", "a descriptor as a plain array", rb([1, 1], out32(), u8()), neg(EFAULT));
  add("recvBatch", "counts over the views", rb(recvDesc(1, 1), out32(2), u8()), neg(EINVAL));
  add("recvBatch", "counts under the views", rb(recvDesc(1), out32(), u8(), u8()), neg(EINVAL));
  add("recvBatch", "a count of 2**32 - 1", rb(recvDesc(2 ** 32 - 1), out32(), u8()), neg(EINVAL));
  add("recvBatch", "a count of 2**32 - 1 then 1 (sum wraps)", rb(recvDesc(2 ** 32 - 1, 2), out32(2), u8()), neg(EINVAL));
  add("recvBatch", "a 31-byte out", rb(recvDesc(1), u8(31), u8()), neg(EFAULT));
  add("recvBatch", "a 63-byte out for two", rb(recvDesc(1, 0), u8(63), u8()), neg(EFAULT));
  add("recvBatch", "a detached out", rb(recvDesc(1), detached(32), u8()), neg(EFAULT));
  add("recvBatch", "a Uint32Array out", rb(recvDesc(1), new Uint32Array(8), u8()), neg(EFAULT));
  add("recvBatch", "out of a 1024-batch 1 byte short", rb(recvDesc(...new Array(1024).fill(0)), u8(32 * 1024 - 1)), neg(EFAULT));
  add("recvBatch", "a detached view", rb(recvDesc(1), out32(), detached(64)), neg(EFAULT));
  add("recvBatch", "a live and a detached view", rb(recvDesc(2), out32(), u8(), detached(64)), neg(EFAULT));
  add("recvBatch", "a zero-length view (accepted)", rb(recvDesc(1), out32(), u8(0)), neg(EAGAIN));
  add("recvBatch", "a datagram of no views (accepted)", rb(recvDesc(0), out32()), neg(EAGAIN));
  add("recvBatch", "an Int8Array view (accepted: bytes)", rb(recvDesc(1), out32(), new Int8Array(8)), neg(EAGAIN));
  add("recvBatch", "a Uint16Array view", rb(recvDesc(1), out32(), new Uint16Array(4)), neg(EFAULT));
  add("recvBatch", "an array of views as a view", rb(recvDesc(1), out32(), [u8()]), neg(EFAULT));
  add("recvBatch", "undefined as a view", rb(recvDesc(1), out32(), undefined), neg(EFAULT));
  add(
    "recvBatch",
    "a view of the out among the views",
    () => {
      const out = out32();
      return [ctx.unbound, 4, recvDesc(1), out, 0, out];
    },
    neg(EAGAIN),
  );
  add(
    "recvBatch",
    "a datagram of 1025 views",
    rb(recvDesc(1025), out32(), ...Array.from({ length: 1025 }, () => u8(1))),
    neg(EINVAL),
  );
  add(
    "recvBatch",
    "4097 views in all (over the limit)",
    rb(recvDesc(1024, 1024, 1024, 1024, 1), out32(5), ...Array.from({ length: 4097 }, () => u8(1))),
    neg(EINVAL),
  );
  add(
    "recvBatch",
    "4096 views in all (the limit)",
    rb(recvDesc(1024, 1024, 1024, 1024), out32(4), ...Array.from({ length: 4096 }, () => u8(1))),
    neg(EAGAIN),
  );
  for (const flags of [1, 4, 3, 2 ** 31, 2 ** 32, -2])
    add("recvBatch", `flags ${flags}`, () => [ctx.unbound, 4, recvDesc(1), out32(), flags, u8()], neg(EINVAL));
  add("recvBatch", "flags MSG_PEEK (accepted)", () => [ctx.unbound, 4, recvDesc(1), out32(), 2, u8()], neg(EAGAIN));
  add("recvBatch", "family 6 on an IPv4 socket (nothing waits)", () => [ctx.unbound, 6, recvDesc(1), out32(), 0, u8()], neg());
  add("recvBatch", "no arguments", () => [], neg(EINVAL));
  // Receives that fill records (for valgrind): past the addon's stack arrays (20 datagrams,
  // 80 views), and a GRO-coalesced datagram (its control message read), each on a socket of its own.
  const own = { fd: -1, port: 0 };
  const ownSocket = () => {
    own.fd = b.open(4);
    b.bind(own.fd, 4, LOOPBACK, 0);
    own.port = b.localAddress(own.fd, 4, new Uint8Array(16));
    b.setOption(own.fd, 4, 2, 1 << 20);
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  add(
    "recvBatch",
    "20 datagrams over 4 views each (heap arrays)",
    () => [own.fd, 4, recvDesc(...new Array(20).fill(4)), out32(20), 0, ...Array.from({ length: 80 }, () => u8(3))],
    equals(20),
    {
      prepare: async () => {
        ownSocket();
        for (let i = 0; i < 20; i++) b.send(ctx.h, 4, [u8(5 + i)], LOOPBACK, own.port, 0, 0);
        await settle();
      },
      cleanup: () => b.close(own.fd),
    },
  );
  const groHere = b.groSupported?.() && b.gsoSupported?.();
  add(
    "recvBatch",
    "a GRO-coalesced datagram (four 16-byte segments)",
    () => [own.fd, 4, recvDesc(1, 1), out32(2), 0, u8(256), u8(256)],
    groHere ? equals(1) : { what: "an integer (no GRO or GSO here)", test: (r) => Number.isInteger(r) },
    {
      prepare: async () => {
        ownSocket();
        b.setGro?.(own.fd, true);
        b.sendSegments?.(ctx.h, 4, LOOPBACK, own.port, 16, 0, u8(64));
        await settle();
      },
      cleanup: () => b.close(own.fd),
    },
  );
  add("setGro", "on = 1 (not a boolean)", () => [ctx.h, 1], neg(EINVAL));
  add("setGro", "no arguments", () => [], neg(EINVAL));

  // isRetryable: anything but EAGAIN/EWOULDBLOCK/ENOBUFS is not retryable.
  for (const e of [0, E.EINVAL, E.EBADF, -E.EAGAIN, 2 ** 31, 2 ** 53]) add("isRetryable", `errno ${e}`, () => [e], isFalse);
  add("isRetryable", "ENOBUFS", () => [E.ENOBUFS], isTrue);

  // Watchers: foreign values, stale externals.
  add("want", "events 4", () => [ctx.watcher, 4], neg(EINVAL));
  add("want", "events -1", () => [ctx.watcher, -1], neg(EINVAL));
  add("want", "events true (a boolean)", () => [ctx.watcher, true], neg(EINVAL));
  for (const [label, value] of [
    ["a plain object", {}],
    ["a function", () => {}],
    ["a socket handle", ctx.h],
    ["a Uint8Array", new Uint8Array(8)],
    ["an array holding a watcher", [ctx.watcher]],
  ]) {
    add("want", `watcher: ${label}`, () => [value, WRITABLE], neg(EINVAL));
    add("unwatch", `watcher: ${label}`, () => [value], neg(EINVAL));
  }
  // Unwatched, then used again in the same turn (before libuv closes the handle).
  const usesUnwatch = { usesUnwatch: true };
  add(
    "want",
    "a watcher unwatched just before (same turn)",
    () => {
      const w = retain(b.watch(ctx.h, () => {}));
      b.unwatch(w);
      return [w, WRITABLE];
    },
    neg(EINVAL),
    usesUnwatch,
  );
  add(
    "unwatch",
    "a watcher unwatched just before (same turn)",
    () => {
      const w = retain(b.watch(ctx.h, () => {}));
      b.unwatch(w);
      return [w];
    },
    neg(EINVAL),
    usesUnwatch,
  );
  add("watch", "a callback that is an object", () => [ctx.h, {}], neg(EINVAL));
  add("watch", "a callback that is a class instance", () => [ctx.h, new Date()], neg(EINVAL));
  if (WINDOWS) cases.push(...windowsCases(b, ctx, badViews, new Set([fault[2], inval[2]])));

  // A getter of the caller's that throws: its own exception comes back, nothing else.
  const thrownByGetter = new Error("getter of the caller");
  const throwingViews = () => {
    const views = [new Uint8Array(8)];
    Object.defineProperty(views, 1, {
      enumerable: true,
      get() {
        throw thrownByGetter;
      },
    });
    return views;
  };
  add("send", "views: an element getter that throws", () => [ctx.h, 4, throwingViews(), ...dest(), 0, 0], neg(EFAULT), {
    throws: () => thrownByGetter,
  });
  return cases;
}

/**
 * Windows' own functions (win.c): overlapped receives, their cancellation, SIO_UDP_CONNRESET
 * and FIONREAD. A receive that passes the checks on the idle socket pends (nothing is sent
 * there): each such case cancels it again (its completion, aborted, goes to the recorder),
 * so that no receive stays posted. `badViews` are send's and recv's view lists, and
 * `refusedViews` the expectations of recv's column that refuse them.
 */
function windowsCases(b, ctx, badViews, refusedViews) {
  const cases = [];
  const add = (fn, name, args, expect, extra) => cases.push(kase(fn, name, args, expect, extra));
  const out24 = () => new Uint8Array(24);
  const v64 = () => [new Uint8Array(64)];
  /** A receive on the idle socket with these arguments after (handle, family); cancelled if it pends. */
  const idleRecv = (name, rest, expect) => {
    let id = -1;
    add(
      "recvOverlapped",
      name,
      () => {
        const args = [ctx.idle, 4, ...rest()];
        id = args[4];
        return args;
      },
      expect,
      { cleanup: (r) => r === -WSA.WSA_IO_PENDING && b.cancelReceive(id) },
    );
  };
  idleRecv("valid, nothing waits (pending, then cancelled)", () => [v64(), 0, nextId(), out24()], isPending);
  idleRecv("flags MSG_PEEK (accepted)", () => [v64(), 2, nextId(), out24()], isPending);
  idleRecv("flags 2**32", () => [v64(), 2 ** 32, nextId(), out24()], neg(EINVAL));
  idleRecv("id 2**53 (past the integers)", () => [v64(), 0, 2 ** 53, out24()], neg(EINVAL));
  idleRecv("id -1", () => [v64(), 0, -1, out24()], neg(EINVAL));
  idleRecv("a 23-byte out", () => [v64(), 0, nextId(), new Uint8Array(23)], neg(EFAULT));
  idleRecv("a detached out", () => [v64(), 0, nextId(), detached(24)], neg(EFAULT));
  idleRecv("an Int16Array out", () => [v64(), 0, nextId(), new Int16Array(12)], neg(EFAULT));
  idleRecv(
    "a view of the out as the view",
    () => {
      const out = out24();
      return [[out], 0, nextId(), out];
    },
    isPending,
  );
  // The views send and recv get: refused the same way; the accepted ones post a receive.
  for (const [label, views, [, , recvX]] of badViews) {
    // No views: the addon hands Winsock zero WSABUFs, which Winsock may refuse (WSAEINVAL)
    // or post (Wine 8 does): either, never a crash.
    const noBuffers = {
      what: "-WSAEINVAL or -WSA_IO_PENDING (Winsock's answer to zero WSABUFs)",
      test: (r) => r === -EINVAL || r === -WSA.WSA_IO_PENDING,
    };
    const expect = refusedViews.has(recvX) ? recvX : label === "no views" ? noBuffers : isPending;
    idleRecv(`views: ${label}`, () => [views(), 0, nextId(), out24()], expect);
  }
  add("recvOverlapped", "an unbound socket", () => [ctx.unbound, 4, v64(), 0, nextId(), out24()], neg());
  add("recvOverlapped", "no arguments", () => [], neg(EINVAL));
  // A datagram larger than the views, on a socket of its own: its first part, truncated.
  const own = { fd: -1, port: 0, out: out24() };
  add(
    "recvOverlapped",
    "a 100-byte datagram into 8 bytes (truncated: WSAEMSGSIZE in out)",
    () => [own.fd, 4, [new Uint8Array(8)], 0, nextId(), own.out],
    // WSAEMSGSIZE is a failure at once (no skip mode involved): the glue reports it during the call.
    { what: "8, out[19] = 1 (truncated)", test: (r) => r === 8 && own.out[19] === 1 },
    {
      prepare: async () => {
        own.fd = b.open(4);
        b.bind(own.fd, 4, LOOPBACK, 0);
        own.port = b.localAddress(own.fd, 4, new Uint8Array(16));
        b.send(ctx.h, 4, [new Uint8Array(100)], LOOPBACK, own.port, 0, 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
      // Closing cancels a receive still pending (aborted, through the port).
      cleanup: () => b.close(own.fd),
    },
  );

  // cancelReceive: ids that name no pending receive of this environment.
  add("cancelReceive", "an id never posted", () => [nextId()], neg(WSA.WSA_INVALID_HANDLE));
  add("cancelReceive", "id 0", () => [0], neg(WSA.WSA_INVALID_HANDLE));
  add("cancelReceive", "id 2**53 - 1", () => [2 ** 53 - 1], neg(WSA.WSA_INVALID_HANDLE));
  add("cancelReceive", "no arguments", () => [], neg(EINVAL));
  add(
    "cancelReceive",
    "a receive that completed during its call (never pending)",
    () => {
      const id = nextId();
      const r = b.recvOverlapped(ctx.unbound, 4, v64(), 0, id, out24());
      return r === -WSA.WSA_IO_PENDING ? [nextId()] : [id];
    },
    neg(WSA.WSA_INVALID_HANDLE),
  );

  // setConnReset: on is the number 0 or 1.
  add("setConnReset", "on = 0", () => [ctx.h, 0], isZero);
  add("setConnReset", "on = 2", () => [ctx.h, 2], neg(EINVAL));
  add("setConnReset", "on = true (a boolean)", () => [ctx.h, true], neg(EINVAL));
  add("setConnReset", "no arguments", () => [], neg(EINVAL));

  // sendNow: send's checks without the id, and every datagram answered during the call
  // (a non-overlapped WSASendTo: never -WSA_IO_PENDING, in either skip mode).
  const dest = () => [LOOPBACK, ctx.rxPort];
  const v8 = () => [new Uint8Array(8)];
  for (const [label, views, [, , recvX]] of badViews) {
    const sum = () => views().reduce((n, v) => n + v.byteLength, 0);
    const expect = refusedViews.has(recvX)
      ? recvX
      : label === "a 70000-byte datagram"
        ? neg(WSA.WSAEMSGSIZE)
        : label === "no views"
          ? { what: "0 or -WSAEINVAL (Winsock's answer to zero WSABUFs)", test: (r) => r === 0 || r === -EINVAL }
          : { what: `${sum()} (sent during the call)`, test: (r) => r === sum() };
    add("sendNow", `views: ${label}`, () => [ctx.h, 4, views(), ...dest(), 0], expect);
  }
  add("sendNow", "IPv6 family with a 4-byte address", () => [ctx.h, 6, v8(), ...dest(), 0], neg(EFAULT));
  add("sendNow", "port 65536", () => [ctx.h, 4, v8(), LOOPBACK, 65536, 0], neg(EINVAL));
  add("sendNow", "flags 2**32", () => [ctx.h, 4, v8(), ...dest(), 2 ** 32], neg(EINVAL));
  add("sendNow", "a detached address", () => [ctx.h, 4, v8(), detached(4), ctx.rxPort, 0], neg(EFAULT));
  add("sendNow", "an unbound socket (bound implicitly, as sendto does)", () => [ctx.unbound, 4, v8(), ...dest(), 0], equals(8));
  add("sendNow", "no arguments", () => [], neg(EINVAL));
  add("sendNow", "an id after the flags (ignored)", () => [ctx.h, 4, v8(), ...dest(), 0, "x"], equals(8));

  // writable: select with a zero timeout.
  add("writable", "an unbound socket (0 or 1, never an error)", () => [ctx.unbound], {
    what: "0 or 1",
    test: (r) => r === 0 || r === 1,
  });
  add("writable", "handle -1", () => [-1], neg(EINVAL));
  add("writable", "handle 1.5", () => [1.5], neg(EINVAL));
  add("writable", "no arguments", () => [], neg(EINVAL));

  // pending: FIONREAD.
  add("pending", "the idle socket (nothing waits)", () => [ctx.idle], isZero);
  add("pending", "an unbound socket", () => [ctx.unbound], isZero);
  add("pending", "no arguments", () => [], neg(EINVAL));

  // onComplete: only a function.
  add("onComplete", "no arguments", () => [], neg(EINVAL));
  add("onComplete", "a class instance", () => [new Date()], neg(EINVAL));
  return cases;
}

/**
 * The library bugs these calls reproduce (see addon-hostile.test.ts). Each is a case the
 * addon gets wrong without a memory error, or one only valgrind sees.
 */
export function knownBugCases(b, ctx, { forceGc = null } = {}) {
  const cases = [];
  // fill_bufs reads a view's pointer, then runs the next element's getter (napi_get_element),
  // which can detach, and with a GC free, the bytes already pointed at.
  const victimSize = 60000;
  const detachingViews = () => {
    const victim = new Uint8Array(victimSize).fill(0x41);
    const views = [victim];
    Object.defineProperty(views, 1, {
      enumerable: true,
      get() {
        detach(victim);
        forceGc?.();
        return new Uint8Array(4);
      },
    });
    return views;
  };
  const notFromDetached = {
    what: `not the ${victimSize} bytes of a view detached during the call`,
    test: (r) => typeof r === "number" && Number.isInteger(r) && r < victimSize,
  };
  cases.push(
    kase(
      "send",
      "an element getter detaches an earlier view",
      () => [ctx.h, 4, detachingViews(), LOOPBACK, ctx.rxPort, 0, 0],
      notFromDetached,
      {
        knownBug: "getter-detaches-view",
      },
    ),
  );
  // sendBatch and sendSegments take their views as arguments: no getter runs during the call.
  // The same for a receive, where the stale pointer is written to: recvmsg fills the
  // detached (and, after a GC, freed) bytes.
  if (typeof b.recv === "function")
    cases.push(
      kase(
        "recv",
        "an element getter detaches an earlier view",
        () => [ctx.rx, 4, detachingViews(), false, new Uint8Array(24)],
        {
          what: `not ${victimSize} bytes written into a view detached during the call`,
          test: (r) => Number.isInteger(r) && r < victimSize,
        },
        {
          knownBug: "getter-detaches-view",
          prepare: async () => {
            // Whatever earlier cases sent to rx goes first; then the one datagram to receive.
            const sink = [new Uint8Array(65536)];
            for (let i = 0; i < 100000 && b.recv(ctx.rx, 4, sink, false, new Uint8Array(24)) >= 0; i++);
            b.send(ctx.h, 4, [new Uint8Array(victimSize + 4)], LOOPBACK, ctx.rxPort, 0, 0);
            await new Promise((resolve) => setTimeout(resolve, 20));
          },
        },
      ),
    );
  return cases;
}

/**
 * A watcher unwatched a turn ago must stay dead. Up to `attempts` times: watch, unwatch,
 * let libuv close (and the addon free) it, watch again, then use the old watcher. While
 * the addon frees a watcher its external still points to, the new watcher often gets the
 * same memory, and the stale external starts it. Stops at the first such alias.
 */
export async function staleWatcherProbe(b, h, attempts = 20) {
  const tries = [];
  for (let i = 0; i < attempts; i++) {
    const old = retain(b.watch(h, () => {}));
    b.unwatch(old);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 2));
    let fired = 0;
    const fresh = retain(
      b.watch(h, () => {
        fired++;
        b.want(fresh, 0);
      }),
    );
    const want = b.want(old, WRITABLE);
    await new Promise((resolve) => setTimeout(resolve, 10));
    b.want(fresh, 0);
    tries.push({ want, fired });
    if (want !== -EINVAL || fired > 0) break;
  }
  return tries;
}

// ---------------------------------------------------------------------------------
// Running

/** Calls one case; never throws. The outcome says whether the result met the expectation. */
export async function runCase(b, c) {
  let args;
  try {
    await c.prepare?.();
    args = c.args();
  } catch (e) {
    return { ...c, ok: false, outcome: `building the arguments threw: ${e}` };
  }
  let result;
  try {
    result = b[c.fn](...args);
  } catch (e) {
    if (c.throws && e === c.throws()) return { ...c, ok: true, outcome: "rethrew the caller's own exception" };
    return { ...c, ok: false, outcome: `threw ${e?.stack ?? e}` };
  }
  try {
    c.cleanup?.(result);
  } catch {
    // A cleanup that fails leaves a socket open: no matter here.
  }
  const ok = c.expect.test(result);
  return { ...c, ok, result, outcome: ok ? "as expected" : `returned ${describe(result)}, expected ${c.expect.what}` };
}

function describe(v) {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return v.toString();
  if (typeof v === "object" && v !== null) return Object.prototype.toString.call(v);
  return String(v);
}
