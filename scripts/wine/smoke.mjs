// Smoke test of the native addon's Windows side: run with Windows node.exe, under Wine
// (scripts/wine/run.sh --expose-gc scripts/wine/smoke.mjs) or on Windows. Loopback only.
//
// WSASENDTO_WIN_SKIP_ON_SUCCESS=0 makes the addon leave FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
// off, so that every send completes through the completion port: the pending path, which
// loopback never takes otherwise under Wine. scripts/wine/test.sh runs both modes.
//
// Layers, in order: the raw binding (numbers in, numbers out, our own onComplete), then
// the Backend that @wsasendto/native builds on it, then the public facade with
// WSASENDTO_BACKEND=native where the `wsasendto` package offers it. Prints every check
// and one "N passed, N failed" line; exits 1 on any failure.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const nativeRoot = join(root, "packages", "native");
const allPending = process.env.WSASENDTO_WIN_SKIP_ON_SUCCESS === "0";
// Set by netns.sh: loopback is rate-limited, so sends really wait in the kernel.
const throttled = process.env.WSASENDTO_WINE_NETNS === "1";
const mode = `${allPending ? "every send through the port" : "skip-on-success"}${throttled ? ", throttled loopback" : ""}`;

const WSAEINVAL = 10022;
const WSAEFAULT = 10014;
const WSAENOTSOCK = 10038;
const WSAEMSGSIZE = 10040;
const WSA_IO_PENDING = 997;
const WSA_OPERATION_ABORTED = 995;

let passed = 0;
let failed = 0;
const notes = [];
function check(name, fn) {
  try {
    const detail = fn();
    passed++;
    console.log(`  ok   ${name}${detail ? ` (${detail})` : ""}`);
  } catch (error) {
    failed++;
    console.log(`  FAIL ${name}: ${error?.message ?? error}`);
  }
}
async function checkAsync(name, fn) {
  try {
    const detail = await fn();
    passed++;
    console.log(`  ok   ${name}${detail ? ` (${detail})` : ""}`);
  } catch (error) {
    failed++;
    console.log(`  FAIL ${name}: ${error?.message ?? error}`);
  }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- Loading ------------------------------------------------------------------------

// @wsasendto/native by name where the workspace links it, else by path.
async function importNative() {
  try {
    return await import("@wsasendto/native");
  } catch {
    return await import(pathToFileURL(join(nativeRoot, "dist", "index.js")).href);
  }
}

// The same exports object that @wsasendto/native's loadBinding gets later (require's cache).
const requireHere = createRequire(pathToFileURL(join(nativeRoot, "dist", "index.js")));
const gypBuild = requireHere("node-gyp-build");
const bindingPath = gypBuild.path(nativeRoot);
const b = gypBuild(nativeRoot);
console.log(`smoke: node ${process.version} ${process.platform}-${process.arch}, mode: ${mode}`);
console.log(`smoke: addon ${bindingPath}`);

/** A node:dgram receiver on loopback that records every datagram; unref'd. */
async function receiver(type = "udp4") {
  // As large as the OS allows: bursts are sent before JavaScript gets to read any.
  const sock = dgram.createSocket({ type, recvBufferSize: 8 << 20 });
  const got = [];
  let wake = null;
  sock.on("message", (msg) => {
    got.push(msg);
    wake?.();
  });
  await new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, type === "udp4" ? "127.0.0.1" : "::1", resolve);
  });
  sock.unref();
  return {
    port: sock.address().port,
    got,
    async waitFor(n, ms = 3000) {
      const deadline = Date.now() + ms;
      while (got.length < n && Date.now() < deadline) {
        await new Promise((resolve) => {
          const t = setTimeout(resolve, deadline - Date.now());
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      return got;
    },
    close: () => sock.close(),
  };
}

const v4 = (ip) => Uint8Array.from(ip.split(".").map(Number));
const LOOP4 = v4("127.0.0.1");
const LOOP6 = (() => {
  const a = new Uint8Array(16);
  a[15] = 1;
  return a;
})();

// --- 1. The raw binding -------------------------------------------------------------

console.log("raw binding:");
const completions = new Map(); // id -> [status, bytes]
const duplicates = [];
const waiting = new Map(); // id -> resolve
function record(id, status, bytes) {
  if (completions.has(id)) duplicates.push(id);
  completions.set(id, [status, bytes]);
  const w = waiting.get(id);
  waiting.delete(id);
  w?.();
}
b.onComplete?.(record);
let nextId = 1;
/** Resolves when every id has completed, or after ms (then the check fails). */
async function completed(ids, ms = 5000) {
  const deadline = Date.now() + ms;
  for (const id of ids) {
    while (!completions.has(id) && Date.now() < deadline) {
      await new Promise((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        waiting.set(id, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  const missing = ids.filter((id) => !completions.has(id));
  if (missing.length) throw new Error(`${missing.length} of ${ids.length} never completed (first id ${missing[0]})`);
  return ids.map((id) => completions.get(id));
}

check("exports: errors is win32, onComplete registered, no POSIX watcher", () => {
  assert.equal(b.errors, "win32");
  for (const f of ["open", "bind", "localAddress", "setOption", "getOption", "send", "close", "isRetryable", "onComplete"])
    assert.equal(typeof b[f], "function", f);
  assert.equal(b.watch, undefined);
  return Object.keys(b).join(",");
});

const h = b.open(4);
check("open(4) gives a handle", () => {
  assert.ok(Number.isInteger(h) && h > 0, `open -> ${h}`);
  return `handle ${h}`;
});
check("bind 127.0.0.1:0, localAddress", () => {
  assert.equal(b.bind(h, 4, LOOP4, 0), 0);
  const out = new Uint8Array(16);
  const port = b.localAddress(h, 4, out);
  assert.ok(port > 0 && port < 65536, `port ${port}`);
  assert.deepEqual([...out.subarray(0, 4)], [127, 0, 0, 1]);
  return `port ${port}`;
});
check("options: broadcast, sndbuf, rcvbuf, ttl", () => {
  assert.equal(b.setOption(h, 4, 0, 1), 0);
  assert.equal(b.getOption(h, 4, 0), 1);
  assert.equal(b.setOption(h, 4, 0, 0), 0);
  assert.equal(b.getOption(h, 4, 0), 0);
  assert.equal(b.setOption(h, 4, 1, 1 << 20), 0);
  assert.ok(b.getOption(h, 4, 1) > 0);
  assert.equal(b.setOption(h, 4, 2, 1 << 20), 0);
  assert.ok(b.getOption(h, 4, 2) > 0);
  assert.equal(b.setOption(h, 4, 3, 42), 0);
  assert.equal(b.getOption(h, 4, 3), 42);
  return `sndbuf ${b.getOption(h, 4, 1)}, rcvbuf ${b.getOption(h, 4, 2)}`;
});

// First send of the run, before any other handle or timer exists: while it is pending,
// nothing but the addon's thread-safe function keeps Node alive. Were it not referenced,
// Node would exit here with "unsettled top-level await" (exit code 13).
await checkAsync("a pending send keeps Node alive (and nothing else does here)", async () => {
  const out = new Uint8Array(16);
  const self = b.localAddress(h, 4, out);
  const id = nextId++;
  const n = b.send(h, 4, [Buffer.from("to myself")], LOOP4, self, 0, id);
  if (n !== -WSA_IO_PENDING) {
    assert.equal(n, 9);
    if (allPending) throw new Error("completed at once although skip-on-success is off");
    return "completed at once: not tested in this mode";
  }
  await new Promise((resolve) => waiting.set(id, resolve));
  assert.deepEqual(completions.get(id), [0, 9]);
  return "pending, then completed (0, 9)";
});

const hasV6 = await new Promise((resolve) => {
  const probe = dgram.createSocket("udp6");
  probe.once("error", () => resolve(false));
  probe.bind(0, "::1", () => probe.close(() => resolve(true)));
});
const r4 = await receiver("udp4");
const parts = () => [Buffer.from("alpha-"), Buffer.from("beta-"), Buffer.from("gamma")];

await checkAsync("gathered send of 3 buffers to a node:dgram receiver", async () => {
  const id = nextId++;
  const n = b.send(h, 4, parts(), LOOP4, r4.port, 0, id);
  if (n === -WSA_IO_PENDING) {
    await completed([id]);
    assert.deepEqual(completions.get(id), [0, 16]);
  } else {
    assert.equal(n, 16, `send -> ${n}`);
    if (allPending) throw new Error("completed at once although skip-on-success is off");
  }
  const got = await r4.waitFor(1);
  assert.equal(got[0]?.toString(), "alpha-beta-gamma");
  return n === -WSA_IO_PENDING ? "pending, then completed (0, 16)" : "completed at once: 16";
});

await checkAsync("200 gathered sends: every outcome once, every datagram intact", async () => {
  const before = r4.got.length;
  let now = 0;
  const pending = [];
  const expected = [];
  for (let i = 0; i < 200; i++) {
    const id = nextId++;
    const length = `#${i}:`.length + 101;
    const n = b.send(h, 4, [Buffer.from(`#${i}:`), Buffer.alloc(100, i & 0xff), Buffer.from("!")], LOOP4, r4.port, 0, id);
    if (n === -WSA_IO_PENDING) {
      pending.push(id);
      expected.push([0, length]);
    } else if (n === length) now++;
    else throw new Error(`send ${i} -> ${n}`);
  }
  // Collect garbage while sends are in flight: the addon holds their views.
  globalThis.gc?.();
  assert.deepEqual(await completed(pending), expected);
  const got = await r4.waitFor(before + 200);
  assert.equal(got.length - before, 200, `received ${got.length - before}`);
  for (const m of got.slice(before)) {
    const i = Number(/^#(\d+):/.exec(m.toString("latin1"))?.[1]);
    assert.equal(m.length, `#${i}:`.length + 101);
    assert.ok(
      m.subarray(`#${i}:`.length, -1).every((x) => x === (i & 0xff)),
      `payload of ${i}`,
    );
  }
  if (allPending) assert.equal(pending.length, 200);
  notes.push(`loopback sends: ${now} completed at once, ${pending.length} pending (${mode})`);
  return `${now} at once, ${pending.length} pending${globalThis.gc ? ", gc() ran meanwhile" : ""}`;
});

await checkAsync("pending views survive gc with no other reference", async () => {
  const before = r4.got.length;
  const ids = [];
  const count = throttled ? 150 : 20; // 150 x 4 KB overflow the send buffer of a throttled loopback
  for (let i = 0; i < count; i++) {
    const id = nextId++;
    // Built inline: after send returns, only the addon refers to these buffers.
    const n = b.send(h, 4, [new Uint8Array(4000).fill(0x5a), Buffer.from(`end${i}`)], LOOP4, r4.port, 0, id);
    if (n === -WSA_IO_PENDING) ids.push(id);
    else assert.ok(n >= 0, `send -> ${n}`);
  }
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  await completed(ids, 15000);
  const got = await r4.waitFor(before + count, 15000);
  assert.equal(got.length - before, count);
  for (const m of got.slice(before)) assert.ok(m.subarray(0, 4000).every((x) => x === 0x5a));
  return `${ids.length} were pending${globalThis.gc ? "" : " (run with --expose-gc to collect)"}`;
});

await checkAsync("errors pass through as WSA codes: datagram too large", async () => {
  const id = nextId++;
  const n = b.send(h, 4, [Buffer.alloc(70000)], LOOP4, r4.port, 0, id);
  assert.equal(n, -WSAEMSGSIZE);
  // Wine also posts a completion packet for it: it must never reach JavaScript.
  await sleep(300);
  assert.equal(completions.has(id), false, "a send that failed at once also completed");
  return `-${WSAEMSGSIZE}, no completion`;
});

check("IPv4 destination on an IPv6 socket, port 0, 0.0.0.0: some WSA code or a send", () => {
  const out = [];
  if (hasV6) {
    const h6 = b.open(6);
    const n = b.send(h6, 4, [Buffer.from("x")], LOOP4, r4.port, 0, nextId++);
    out.push(`v4-on-v6 ${n}`);
    b.close(h6);
  }
  out.push(`port 0 ${b.send(h, 4, [Buffer.from("x")], LOOP4, 0, 0, nextId++)}`);
  out.push(`0.0.0.0 ${b.send(h, 4, [Buffer.from("x")], v4("0.0.0.0"), 9, 0, nextId++)}`);
  return out.join(", ");
});

if (hasV6) {
  await checkAsync("IPv6: open, bind ::1, gathered send", async () => {
    const r6 = await receiver("udp6");
    const h6 = b.open(6);
    assert.ok(h6 > 0);
    assert.equal(b.bind(h6, 6, LOOP6, 0), 0);
    const out = new Uint8Array(16);
    assert.ok(b.localAddress(h6, 6, out) > 0);
    assert.deepEqual(out, LOOP6);
    assert.equal(b.setOption(h6, 6, 3, 7), 0);
    assert.equal(b.getOption(h6, 6, 3), 7);
    const id = nextId++;
    const n = b.send(h6, 6, parts(), LOOP6, r6.port, 0, id);
    if (n === -WSA_IO_PENDING) await completed([id]);
    else assert.equal(n, 16);
    const got = await r6.waitFor(1);
    assert.equal(got[0]?.toString(), "alpha-beta-gamma");
    assert.equal(b.close(h6), 0);
    r6.close();
    return n === -WSA_IO_PENDING ? "pending" : "at once";
  });

  await checkAsync("IPv6: IPV6_V6ONLY (option 4) reads 1, set to 0 before bind: dual-stack reaches 127.0.0.1", async () => {
    const r4 = await receiver("udp4");
    const h6 = b.open(6);
    assert.ok(h6 > 0);
    assert.equal(b.getOption(h6, 6, 4), 1);
    assert.equal(b.setOption(h6, 6, 4, 0), 0);
    assert.equal(b.getOption(h6, 6, 4), 0);
    assert.equal(b.bind(h6, 6, new Uint8Array(16), 0), 0);
    const mapped = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]);
    const id = nextId++;
    const n = b.send(h6, 6, parts(), mapped, r4.port, 0, id);
    if (n === -WSA_IO_PENDING) await completed([id]);
    else assert.equal(n, 16);
    const got = await r4.waitFor(1);
    assert.equal(got[0]?.toString(), "alpha-beta-gamma");
    assert.equal(b.close(h6), 0);
    r4.close();
    return n === -WSA_IO_PENDING ? "pending" : "at once";
  });
}

await checkAsync("closesocket with sends in flight: each completes exactly once", async () => {
  const sink = await receiver("udp4"); // its own: what is still queued arrives late
  const hc = b.open(4);
  assert.equal(b.bind(hc, 4, LOOP4, 0), 0);
  const pending = [];
  let now = 0;
  for (let i = 0; i < 300; i++) {
    const id = nextId++;
    const n = b.send(hc, 4, [Buffer.alloc(1000, 1), Buffer.alloc(1000, 2)], LOOP4, sink.port, 0, id);
    if (n === -WSA_IO_PENDING) pending.push(id);
    else if (n >= 0) now++;
    else throw new Error(`send -> ${n}`);
  }
  assert.equal(b.close(hc), 0);
  const results = await completed(pending);
  const statuses = {};
  for (const [status, bytes] of results) {
    assert.ok(status === 0 || status === WSA_OPERATION_ABORTED, `status ${status}`);
    if (status === 0) assert.equal(bytes, 2000);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  await sleep(300);
  assert.deepEqual(duplicates, [], "completed twice");
  assert.equal(b.send(hc, 4, [Buffer.from("late")], LOOP4, sink.port, 0, nextId++), -WSAENOTSOCK);
  assert.equal(b.close(hc), -WSAENOTSOCK);
  sink.close();
  if (throttled) assert.ok(statuses[WSA_OPERATION_ABORTED] > 0, "nothing was still in the kernel to abort");
  notes.push(
    `close with sends in flight: ${now} had completed at once, ${pending.length} in flight -> ${JSON.stringify(statuses)}`,
  );
  return `${now} at once, ${pending.length} in flight -> ${JSON.stringify(statuses)}`;
});

check("hostile arguments to every function: errors, never a crash", () => {
  const buf = Buffer.from("x");
  const holey = [buf, buf, buf];
  delete holey[1];
  const E = (code) => -code;
  const cases = [
    ["open()", () => b.open(), E(WSAEINVAL)],
    ["open(5)", () => b.open(5), E(WSAEINVAL)],
    ["open('4')", () => b.open("4"), E(WSAEINVAL)],
    ["open(4.5)", () => b.open(4.5), E(WSAEINVAL)],
    ["bind('x')", () => b.bind("x", 4, LOOP4, 0), E(WSAEINVAL)],
    ["bind(-1)", () => b.bind(-1, 4, LOOP4, 0), E(WSAEINVAL)],
    ["bind(2**60)", () => b.bind(2 ** 60, 4, LOOP4, 0), E(WSAEINVAL)],
    ["bind family 5", () => b.bind(h, 5, LOOP4, 0), E(WSAEINVAL)],
    ["bind short address", () => b.bind(h, 4, new Uint8Array(3), 0), E(WSAEFAULT)],
    ["bind v6 with 4 bytes", () => b.bind(h, 6, LOOP4, 0), E(WSAEFAULT)],
    ["bind address not bytes", () => b.bind(h, 4, [127, 0, 0, 1], 0), E(WSAEFAULT)],
    ["bind port 65536", () => b.bind(h, 4, LOOP4, 65536), E(WSAEINVAL)],
    ["bind port NaN", () => b.bind(h, 4, LOOP4, Number.NaN), E(WSAEINVAL)],
    ["bind twice", () => b.bind(h, 4, LOOP4, 0), E(WSAEINVAL)],
    ["localAddress out of 15", () => b.localAddress(h, 4, new Uint8Array(15)), E(WSAEFAULT)],
    ["localAddress Float64Array", () => b.localAddress(h, 4, new Float64Array(2)), E(WSAEFAULT)],
    ["localAddress family 0", () => b.localAddress(h, 0, new Uint8Array(16)), E(WSAEINVAL)],
    ["setOption 5 (past the last)", () => b.setOption(h, 4, 5, 1), E(WSAEINVAL)],
    ["setOption -1", () => b.setOption(h, 4, 0, -1), E(WSAEINVAL)],
    ["setOption 2**31", () => b.setOption(h, 4, 0, 2 ** 31), E(WSAEINVAL)],
    ["setOption value '1'", () => b.setOption(h, 4, 0, "1"), E(WSAEINVAL)],
    ["getOption 99", () => b.getOption(h, 4, 99), E(WSAEINVAL)],
    ["getOption no option", () => b.getOption(h, 4), E(WSAEINVAL)],
    ["send views not an array", () => b.send(h, 4, { length: 1, 0: buf }, LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send views a typed array", () => b.send(h, 4, buf, LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send view a number", () => b.send(h, 4, [1], LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send view a string", () => b.send(h, 4, ["abc"], LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send view a Float64Array", () => b.send(h, 4, [new Float64Array(1)], LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send view a DataView", () => b.send(h, 4, [new DataView(new ArrayBuffer(4))], LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send view an ArrayBuffer", () => b.send(h, 4, [new ArrayBuffer(4)], LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send a hole in views", () => b.send(h, 4, holey, LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send 1025 views", () => b.send(h, 4, new Array(1025).fill(buf), LOOP4, r4.port, 0, 1), E(WSAEINVAL)],
    ["send a proxy of an array", () => b.send(h, 4, new Proxy([buf], {}), LOOP4, r4.port, 0, 1), E(WSAEFAULT)],
    ["send id -1", () => b.send(h, 4, [buf], LOOP4, r4.port, 0, -1), E(WSAEINVAL)],
    ["send id 1.5", () => b.send(h, 4, [buf], LOOP4, r4.port, 0, 1.5), E(WSAEINVAL)],
    ["send id NaN", () => b.send(h, 4, [buf], LOOP4, r4.port, 0, Number.NaN), E(WSAEINVAL)],
    ["send id '1'", () => b.send(h, 4, [buf], LOOP4, r4.port, 0, "1"), E(WSAEINVAL)],
    ["send id 2**53", () => b.send(h, 4, [buf], LOOP4, r4.port, 0, 2 ** 53), E(WSAEINVAL)],
    ["send no id", () => b.send(h, 4, [buf], LOOP4, r4.port, 0), E(WSAEINVAL)],
    ["send flags -1", () => b.send(h, 4, [buf], LOOP4, r4.port, -1, 1), E(WSAEINVAL)],
    ["send flags 2**32", () => b.send(h, 4, [buf], LOOP4, r4.port, 2 ** 32, 1), E(WSAEINVAL)],
    ["send family 5", () => b.send(h, 5, [buf], LOOP4, r4.port, 0, 1), E(WSAEINVAL)],
    ["send short address", () => b.send(h, 4, [buf], new Uint8Array(2), r4.port, 0, 1), E(WSAEFAULT)],
    ["send port -1", () => b.send(h, 4, [buf], LOOP4, -1, 0, 1), E(WSAEINVAL)],
    ["send handle 'x'", () => b.send("x", 4, [buf], LOOP4, r4.port, 0, 1), E(WSAEINVAL)],
    ["send on a handle never opened", () => b.send(12345677, 4, [buf], LOOP4, r4.port, 0, 1), E(WSAENOTSOCK)],
    ["send nothing at all", () => b.send(), E(WSAEINVAL)],
    ["close('x')", () => b.close("x"), E(WSAEINVAL)],
    ["close(-1)", () => b.close(-1), E(WSAEINVAL)],
    ["close()", () => b.close(), E(WSAEINVAL)],
    ["onComplete()", () => b.onComplete(), E(WSAEINVAL)],
    ["onComplete(42)", () => b.onComplete(42), E(WSAEINVAL)],
    ["onComplete({})", () => b.onComplete({}), E(WSAEINVAL)],
    ["onComplete(null)", () => b.onComplete(null), E(WSAEINVAL)],
    ["isRetryable(10035)", () => b.isRetryable(10035), true],
    ["isRetryable(10055)", () => b.isRetryable(10055), true],
    ["isRetryable(10054)", () => b.isRetryable(10054), false],
    ["isRetryable('10035')", () => b.isRetryable("10035"), false],
    ["isRetryable()", () => b.isRetryable(), false],
  ];
  const wrong = [];
  for (const [name, call, expected] of cases) {
    let got;
    try {
      got = call();
    } catch (error) {
      got = `threw ${error.message}`;
    }
    if (got !== expected) wrong.push(`${name}: ${got} (expected ${expected})`);
  }
  if (wrong.length) throw new Error(wrong.join("; "));
  return `${cases.length} cases`;
});

await checkAsync("odd but valid views: empty list, detached, getter, 1024 views", async () => {
  const before = r4.got.length;
  const ids = [];
  const out = [];
  const track = (name, n, id) => {
    out.push(`${name} ${n}`);
    if (n === -WSA_IO_PENDING) ids.push(id);
    else assert.ok(n >= 0, `${name} -> ${n}`);
  };
  let id = nextId++;
  track("empty", b.send(h, 4, [], LOOP4, r4.port, 0, id), id);
  const ab = new ArrayBuffer(8);
  const detached = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  id = nextId++;
  track("detached", b.send(h, 4, [detached, Buffer.from("d")], LOOP4, r4.port, 0, id), id);
  const tricky = [Buffer.from("g")];
  let reads = 0;
  Object.defineProperty(tricky, 1, { enumerable: true, get: () => (reads++ === 0 ? Buffer.from("1st") : Buffer.from("later")) });
  id = nextId++;
  track("getter", b.send(h, 4, tricky, LOOP4, r4.port, 0, id), id);
  id = nextId++;
  track("1024 views", b.send(h, 4, new Array(1024).fill(Buffer.from("z")), LOOP4, r4.port, 0, id), id);
  globalThis.gc?.();
  await completed(ids);
  const got = await r4.waitFor(before + 4);
  const texts = got.slice(before).map((m) => (m.length > 10 ? `${m.length} bytes` : JSON.stringify(m.toString())));
  assert.deepEqual(texts.sort(), ['""', '"d"', '"g1st"', "1024 bytes"].sort());
  assert.equal(reads, 1, "the getter was read more than once");
  return out.join(", ");
});

await checkAsync("onComplete survives hostile calls; a second registration replaces the first", async () => {
  let seen = 0;
  assert.equal(
    b.onComplete(() => seen++),
    0,
  );
  const hp = b.open(4);
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const id = nextId++;
    if (b.send(hp, 4, [Buffer.from("re")], LOOP4, r4.port, 0, id) === -WSA_IO_PENDING) ids.push(id);
  }
  const deadline = Date.now() + 3000;
  while (seen < ids.length && Date.now() < deadline) await sleep(10);
  assert.equal(seen, ids.length);
  b.close(hp);
  assert.equal(b.onComplete(record), 0);
  return `${ids.length} pending went to the new callback`;
});

await checkAsync("a worker thread: its own environment, torn down with sends in flight", async () => {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const b = require(workerData.path);
    let done = 0;
    b.onComplete(() => done++);
    const h = b.open(4);
    let pending = 0, now = 0;
    for (let i = 0; i < workerData.count; i++) {
      const n = b.send(h, 4, [Buffer.from("w" + i), Buffer.alloc(workerData.pad)], Uint8Array.of(127, 0, 0, 1), workerData.port, 0, i + 1);
      if (n === -997) pending++; else if (n >= 0) now++;
    }
    parentPort.postMessage({ pending, now, done });
    // Exits at once: the environment goes with sends possibly still in flight.
    process.exit(0);`;
  const sink = await receiver("udp4"); // its own: the worker's datagrams may arrive late
  // Throttled: 300 datagrams of 1 KB, so that some are still in the kernel at teardown.
  const count = throttled ? 300 : 100;
  const workerData = { path: bindingPath, port: sink.port, count, pad: throttled ? 1000 : 0 };
  const w = new Worker(code, { eval: true, workerData });
  // Both listeners at once: a worker that exits right away emits 'exit' in the same tick
  // as its last 'message'.
  const exited = new Promise((resolve) => w.once("exit", resolve));
  const report = await new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
  const exitCode = await exited;
  assert.equal(exitCode, 0);
  assert.equal(report.pending + report.now, count);
  // The main environment still works after the worker's teardown.
  const id = nextId++;
  const n = b.send(h, 4, [Buffer.from("after-worker")], LOOP4, sink.port, 0, id);
  if (n === -WSA_IO_PENDING) await completed([id]);
  else assert.equal(n, 12);
  const isIt = (m) => m.toString() === "after-worker";
  const deadline = Date.now() + 15000;
  while (!sink.got.some(isIt) && Date.now() < deadline) await sink.waitFor(sink.got.length + 1, deadline - Date.now());
  assert.ok(sink.got.some(isIt), "the datagram sent after the worker's end never arrived");
  sink.close();
  return `worker: ${report.now} at once, ${report.pending} pending at exit; main still sends`;
});

check("close the socket", () => {
  assert.equal(b.close(h), 0);
  assert.equal(b.close(h), -WSAENOTSOCK);
});

// --- 2. The Backend of @wsasendto/native ---------------------------------------------

console.log("backend (@wsasendto/native):");
const native = await importNative();
const backend = native.loadNativeBackend();
await checkAsync("loadNativeBackend, open, bind, gathered send, close with sends in flight", async () => {
  if (typeof backend === "string") throw new Error(backend);
  assert.equal(backend.name, "native");
  const s = backend.open(4);
  assert.equal(typeof s, "object", `open -> ${s}`);
  assert.equal(s.bind({ family: 4, address: "127.0.0.1", port: 0 }), 0);
  const local = s.localAddress();
  assert.equal(local.address, "127.0.0.1");
  const before = r4.got.length;
  const to = { family: 4, address: "127.0.0.1", port: r4.port };
  const outcomes = { now: 0, pending: 0, failed: 0 };
  const results = [];
  // 1000-byte datagrams: on a throttled loopback, enough of them fill the send buffer.
  const views = [...parts(), Buffer.alloc(984, 0x2e)];
  for (let i = 0; i < (throttled ? 300 : 100); i++) {
    const completion = { complete: (status, bytes) => results.push([status, bytes]) };
    const o = s.send(views, 1000, to, 0, completion);
    if (o >= 0) outcomes.now++;
    else if (o === -1) outcomes.pending++;
    else outcomes.failed++;
  }
  s.close();
  const deadline = Date.now() + 5000;
  while (results.length < outcomes.pending && Date.now() < deadline) await sleep(10);
  assert.equal(outcomes.failed, 0);
  assert.equal(results.length, outcomes.pending, "completions");
  for (const [status, bytes] of results) assert.ok((status === 0 && bytes === 1000) || status === WSA_OPERATION_ABORTED);
  const sent = outcomes.now + results.filter(([st]) => st === 0).length;
  const got = await r4.waitFor(before + sent);
  assert.equal(got.length - before, sent);
  assert.ok(got.slice(before).every((m) => m.length === 1000 && m.toString("latin1", 0, 16) === "alpha-beta-gamma"));
  const aborted = results.length - (sent - outcomes.now);
  return `${outcomes.now} at once, ${outcomes.pending} pending (${aborted} aborted by close)`;
});

// --- 3. The facade with WSASENDTO_BACKEND=native --------------------------------------

console.log("facade (wsasendto, WSASENDTO_BACKEND=native):");
process.env.WSASENDTO_BACKEND = "native";
const ws = await import("wsasendto");
const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
if (rc !== 0) {
  console.log(`  skip the facade: WSAStartup -> ${rc} (the wsasendto package does not offer "native" yet)`);
} else {
  await checkAsync("WSASendTo overlapped with an event, then WSAGetOverlappedResult", async () => {
    assert.equal(ws.backendName(), "native");
    const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
    assert.notEqual(s, ws.INVALID_SOCKET);
    const to = { sin_family: ws.AF_INET, sin_port: ws.htons(r4.port), sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
    const ov = new ws.WSAOVERLAPPED();
    ov.hEvent = ws.WSACreateEvent();
    const sent = { value: 0 };
    const bufs = parts().map((buf) => ({ len: buf.length, buf }));
    const before = r4.got.length;
    const r = ws.WSASendTo(s, bufs, 3, sent, 0, to, ws.sizeof(to), ov, null);
    const err = ws.WSAGetLastError();
    assert.ok(r === 0 || err === ws.WSA_IO_PENDING, `WSASendTo -> ${r}, ${err}`);
    assert.equal(await ws.WSAWaitForMultipleEvents(1, [ov.hEvent], true, 3000, false), ws.WSA_WAIT_EVENT_0);
    const bytes = { value: 0 };
    const flags = { value: 0 };
    assert.equal(ws.WSAGetOverlappedResult(s, ov, bytes, false, flags), true);
    assert.equal(bytes.value, 16);
    const got = await r4.waitFor(before + 1);
    assert.equal(got[before]?.toString(), "alpha-beta-gamma");
    ws.WSACloseEvent(ov.hEvent);
    assert.equal(ws.closesocket(s), 0);
    return r === 0 ? "completed at once" : "pending, then signalled";
  });
  await checkAsync("a burst of 2,000 overlapped sends polled with SleepEx(0, TRUE) every 100 posts all complete", async () => {
    // Progress while polling: a zero-timeout wait lets Node's loop turn, so completions
    // from the port arrive (on the throttled loopback these sends really pend).
    const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
    const to = { sin_family: ws.AF_INET, sin_port: ws.htons(r4.port), sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
    const TOTAL = 2000;
    let ok = 0;
    let pending = 0;
    const refused = [];
    const payload = Buffer.from("poll");
    for (let i = 0; i < TOTAL; i++) {
      const rc = ws.WSASendTo(s, [{ len: 4, buf: payload }], 1, null, 0, to, 16, new ws.WSAOVERLAPPED(), (e, n) => {
        if (e === 0 && n === 4) ok++;
      });
      if (rc !== 0) {
        if (ws.WSAGetLastError() === ws.WSA_IO_PENDING) pending++;
        else refused.push(ws.WSAGetLastError());
      }
      if (i % 100 === 99) await ws.SleepEx(0, true);
    }
    assert.deepEqual(refused, []);
    for (let polls = 0; ok < TOTAL && polls < 20000; polls++) await ws.SleepEx(0, true);
    assert.equal(ok, TOTAL);
    assert.equal(ws.closesocket(s), 0);
    return `${pending} pended`;
  });
  ws.WSACleanup();
}

r4.close();
console.log(`notes: ${notes.join("; ")}`);
console.log(`smoke (${mode}): ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
