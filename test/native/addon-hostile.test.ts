/**
 * The native addon's binding, called directly with hostile arguments (the calls are in
 * hostile-cases.mjs, shared with hostile-run.mjs, which scripts/valgrind-addon.sh runs
 * under valgrind). Every exported function gets wrong types in each parameter, detached
 * and zero-length views, views of the wrong element type, arrays with holes or non-views,
 * huge counts, closed and never-opened handles, and stale or foreign watchers. Each must
 * return what addon.c documents (a negated errno, false, or 0 for an empty datagram),
 * never throw, and leave the process alive; each also gets a positive control.
 *
 * Library bugs found here (and fixed) keep a regression test each: see KNOWN_BUGS (the
 * `knownBug` tags of hostile-cases.mjs name the calls that reproduced them).
 *
 * The binding differs per OS (addon.c init): POSIX exports watchers (watch, want, unwatch),
 * batches and GSO/GRO; Windows (win.c) exports overlapped receives with a completion
 * callback (recvOverlapped, onComplete, cancelReceive), setConnReset and pending, and
 * answers with WSA codes. KNOWN_FUNCTIONS and the cases follow the OS that runs them; a
 * test of a POSIX-only function says so in its title on Windows and checks that the
 * function is really absent there, and the Windows equivalents (completions instead of
 * watcher callbacks) are tested in their place.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBinding } from "@wsasendto/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Binding,
  type CaseResult,
  type Context,
  closeContext,
  EINVAL,
  type HostileCase,
  KNOWN_FUNCTIONS,
  knownBugCases,
  nextId,
  openContext,
  positiveControls,
  postIdle,
  retain,
  runCase,
  specificCases,
  sweepCases,
  WINDOWS,
  WSA,
} from "./hostile-cases.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");

/** The library bugs the `knownBug` cases reproduced (fixed since), by tag. */
const KNOWN_BUGS: Record<string, string> = {
  /**
   * addon.c get_handle() takes any integer up to 2**53 - 1 as a handle, and posix.c casts
   * it to int: 2**32 + fd is fd (getOption/localAddress answer for another socket; close
   * of 2**32 + 1 would close stdout). Handles above INT_MAX must be refused (EBADF).
   * Windows: a handle is a 64-bit SOCKET, so 2**32 + h is another value, which must not
   * reach socket h either (Wine's server keeps handles in 32 bits): WSAENOTSOCK.
   */
  "handle-truncation": "a handle beyond the fd range is refused, not truncated onto another descriptor",
  /**
   * addon.c fill_bufs() and js_send_batch() take a view's data pointer, then read the next
   * element with napi_get_element(), which runs the caller's getters: a getter that
   * detaches an earlier view (and a GC) leaves the iovec pointing at freed memory, which
   * sendmsg reads (valgrind: "Syscall param sendmsg(msg.msg_iov[0]) points to unaddressable
   * byte(s)" in ws_send, ws_send_segments, ws_send_batch). Read every element first, then
   * take the pointers (no JavaScript runs between taking a pointer and the system call).
   */
  "getter-detaches-view": "no bytes are sent from a view detached by a getter during the call",
  /**
   * addon.c js_send_batch() checked its address and port lists with
   * `array_length(list) < n`, but array_length() returns UINT32_MAX for a non-array, which
   * passed; the elements of the non-array were then read: null or undefined made the call
   * throw a TypeError. The lists have since become a Uint32Array descriptor and a
   * Uint8Array of address slots: anything else must fail with -EFAULT.
   */
  "batch-list-not-array": "sendBatch refuses a descriptor or address slots that are not typed arrays with -EFAULT",
};

/** The known bugs in functions only POSIX exports: the function, per tag. */
const POSIX_ONLY_BUGS: Record<string, string> = { "batch-list-not-array": "sendBatch" };

/** Why the watcher tests do not run on Windows, in their titles there. */
const NO_WATCHERS =
  "POSIX only: the Windows binding exports no watch/want/unwatch (index.ts polls readiness with a timer); " +
  "its completions through onComplete are tested instead";

/**
 * addon.c watch_close() hands the watcher to uv_close(), whose callback on_watch_closed()
 * frees it, while the JavaScript external still points to it: get_watch() (want, unwatch)
 * and watch_finalize() then read freed memory (valgrind: "Invalid read of size 4" in
 * js_want, js_unwatch, watch_finalize). A new watcher often gets the same memory, so a
 * stale external drives it; or libuv aborts ("uv_poll_start/uv_poll_stop: Assertion
 * `!uv__is_closing(handle)' failed"). The finalizer runs on every watcher the native
 * backend unwatched (NativeSocket.close) once GC collects it, or at exit. Free the
 * watcher only when both the close callback and the finalizer have run.
 */
const WATCHER_USE_AFTER_FREE = "a watcher unwatched a turn ago stays dead: using it neither aliases a new watcher nor crashes";

const loaded = loadBinding();
const b = loaded as unknown as Binding;
const functions = typeof loaded === "string" ? [] : Object.keys(loaded).filter((k) => typeof b[k] === "function");

function failures(results: readonly CaseResult[]): string[] {
  return results.filter((r) => !r.ok).map((r) => `${r.fn}: ${r.name}: ${r.outcome}`);
}

/** Runs unwatch-run.mjs in a child process (cached per mode); its JSON line, or what went wrong. */
const unwatchRuns = new Map<string, Promise<unknown>>();
function unwatchRun(...args: string[]): Promise<unknown> {
  const key = args.join(" ");
  let run = unwatchRuns.get(key);
  if (!run) {
    run = new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(HERE, "unwatch-run.mjs"), ...args],
        { cwd: ROOT, timeout: 20_000, encoding: "utf8" },
        (error, stdout, stderr) => {
          const line = stdout.split("\n").find((l) => l.startsWith("{"));
          try {
            resolve(line ? JSON.parse(line) : { error: `no output (${error?.message}): ${stderr}` });
          } catch {
            resolve({ error: `bad output: ${stdout} ${stderr}` });
          }
        },
      );
    });
    unwatchRuns.set(key, run);
  }
  return run;
}

/** A test of POSIX-only functions: on Windows, its title says so and it checks that they are absent. */
function posixOnly(title: string, fns: readonly string[], body: () => Promise<void> | void, timeout?: number): void {
  if (!WINDOWS) it(title, body, timeout);
  else
    it(`${title} [${NO_WATCHERS}]`, () => {
      for (const f of fns) expect(b[f], `${f} on Windows`).toBeUndefined();
    });
}

/** A test of Windows-only functions: on POSIX, its title says so and it checks that they are absent. */
function windowsOnly(title: string, fns: readonly string[], body: () => Promise<void> | void): void {
  if (WINDOWS) it(title, body);
  else
    it(`${title} [Windows only: the POSIX binding exports no ${fns.join("/")}; its watchers are tested instead]`, () => {
      for (const f of fns) expect(b[f], `${f} on POSIX`).toBeUndefined();
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded: 2 s) until the recorder holds a completion for `id`; then a moment more, so that a second one would show. */
async function completionsOf(ctx: Context, id: number): Promise<number[][]> {
  const of = () => ctx.completions.filter((c) => c[0] === id);
  for (let i = 0; i < 200 && of().length === 0; i++) await sleep(10);
  await sleep(30);
  return of();
}

async function runAll(cases: readonly HostileCase[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) results.push(await runCase(b, c));
  return results;
}

describe("the native addon's binding, with hostile arguments", () => {
  let ctx: Context;
  let controls: HostileCase[] = [];
  let hostile: HostileCase[] = [];
  let bugs: HostileCase[] = [];

  beforeAll(() => {
    if (typeof loaded === "string") return;
    ctx = openContext(b);
    controls = positiveControls(b, ctx);
    hostile = [...sweepCases(b, ctx), ...specificCases(b, ctx), ...knownBugCases(b, ctx)];
    bugs = hostile.filter((c) => c.knownBug);
    // Calls that unwatch a real watcher run in a child process (unwatch-run.mjs): see
    // WATCHER_USE_AFTER_FREE.
    hostile = hostile.filter((c) => !c.knownBug && !c.usesUnwatch);
  });
  afterAll(() => {
    if (ctx) closeContext(b, ctx);
  });

  it(`the addon loads; every function it exports (${WINDOWS ? "Windows" : "POSIX"}) has hostile cases and a positive control here`, () => {
    expect(loaded, "loadBinding()").not.toBeTypeOf("string");
    expect(
      functions.filter((f) => !KNOWN_FUNCTIONS.includes(f)),
      "exported functions hostile-cases.mjs does not know",
    ).toEqual([]);
    expect(
      KNOWN_FUNCTIONS.filter((f) => !functions.includes(f)),
      "functions hostile-cases.mjs expects that the binding does not export",
    ).toEqual([]);
    for (const f of functions) {
      expect(
        controls.filter((c) => c.fn === f),
        `positive control of ${f}`,
      ).toHaveLength(1);
      expect(hostile.filter((c) => c.fn === f).length, `hostile cases of ${f}`).toBeGreaterThan(0);
    }
  });

  describe.each(functions)("%s", (fn) => {
    it("positive control: valid arguments succeed", async () => {
      const control = controls.filter((c) => c.fn === fn);
      expect(control).toHaveLength(1);
      if (control[0]?.usesUnwatch) {
        const { results } = (await unwatchRun("cases")) as { results: CaseResult[] };
        expect(results.filter((r) => r.fn === fn && r.name === control[0]?.name && r.ok)).toHaveLength(1);
      } else {
        expect(failures(await runAll(control))).toEqual([]);
      }
    });

    it("hostile arguments: never throws, returns a negated errno (or false, or 0 for an empty datagram)", async () => {
      const cases = hostile.filter((c) => c.fn === fn);
      expect(cases.length).toBeGreaterThan(0);
      expect(failures(await runAll(cases))).toEqual([]);
    });
  });

  for (const [tag, behaviour] of Object.entries(KNOWN_BUGS)) {
    const posixFn = POSIX_ONLY_BUGS[tag];
    if (WINDOWS && posixFn) {
      it(`regression (${tag}): ${behaviour} [POSIX only: the Windows binding has no ${posixFn}]`, () => {
        expect(b[posixFn], `${posixFn} on Windows`).toBeUndefined();
        expect(bugs.filter((c) => c.knownBug === tag)).toEqual([]);
      });
      continue;
    }
    it(`regression (${tag}): ${behaviour}`, async () => {
      const cases = bugs.filter((c) => c.knownBug === tag);
      expect(cases.length).toBeGreaterThan(0);
      expect(failures(await runAll(cases))).toEqual([]);
    });
  }

  posixOnly(
    "unwatch, in a process of its own: valid, and a watcher used again in the turn it was unwatched is refused",
    ["unwatch"],
    async () => {
      const { results } = (await unwatchRun("cases")) as { results: CaseResult[] };
      expect(results.length).toBeGreaterThanOrEqual(3);
      expect(failures(results)).toEqual([]);
    },
  );

  posixOnly(`regression (watcher-use-after-free): ${WATCHER_USE_AFTER_FREE}`, ["watch", "want", "unwatch"], async () => {
    const out = (await unwatchRun("stale", "20")) as { stale?: Array<{ want: number; fired: number }> };
    expect(out.stale, "the probe ran to its end").toBeDefined();
    for (const t of out.stale ?? []) expect(t).toEqual({ want: -EINVAL, fired: 0 });
  });

  posixOnly("a watcher's callback runs, (0, WRITABLE), once the socket is writable", ["watch", "want"], async () => {
    const calls: Array<[number, number]> = [];
    const w = retain(
      (b.watch as (h: number, cb: (status: number, events: number) => void) => unknown)(ctx.h, (status, events) => {
        calls.push([status, events]);
        (b.want as (w: unknown, e: number) => number)(w, 0);
      }),
    );
    expect(w).toBeTypeOf("object");
    expect((b.want as (w: unknown, e: number) => number)(w, 2)).toBe(0);
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((b.want as (w: unknown, e: number) => number)(w, 0)).toBe(0);
    expect(calls.length, "callback calls").toBeGreaterThan(0);
    expect(calls[0]?.[0], "status").toBe(0);
    expect((calls[0]?.[1] ?? 0) & 2, "events include UV_WRITABLE").toBe(2);
  });

  // Windows' counterparts: a pending operation completes once through the onComplete
  // callback, and a finished one stays finished (its id names nothing any more).
  const recvOverlapped = (...args: unknown[]) => (b.recvOverlapped as (...a: unknown[]) => number)(...args);
  const cancelReceive = (id: unknown) => (b.cancelReceive as (id: unknown) => number)(id);

  windowsOnly(
    "a receive posted with nothing waiting pends, then completes once through onComplete when a datagram comes: (id, 0, 8, 0), out filled",
    ["recvOverlapped", "onComplete"],
    async () => {
      const s = (b.open as (f: number) => number)(4);
      expect((b.bind as (...a: unknown[]) => number)(s, 4, new Uint8Array([127, 0, 0, 1]), 0)).toBe(0);
      const port = (b.localAddress as (...a: unknown[]) => number)(s, 4, new Uint8Array(16));
      const hPort = (b.localAddress as (...a: unknown[]) => number)(ctx.h, 4, new Uint8Array(16));
      const id = nextId();
      const view = new Uint8Array(64);
      const out = new Uint8Array(24);
      try {
        expect(recvOverlapped(s, 4, [view], 0, id, out)).toBe(-WSA.WSA_IO_PENDING);
        const sent = (b.send as (...a: unknown[]) => number)(
          ctx.h,
          4,
          [new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2])],
          new Uint8Array([127, 0, 0, 1]),
          port,
          0,
          0,
        );
        expect([8, -WSA.WSA_IO_PENDING]).toContain(sent);
        expect(await completionsOf(ctx, id)).toEqual([[id, 0, 8, 0]]);
        expect([...view.subarray(0, 8)]).toEqual([9, 8, 7, 6, 5, 4, 3, 2]);
        expect([...out.subarray(0, 4)], "source address").toEqual([127, 0, 0, 1]);
        expect((out[16] ?? 0) * 256 + (out[17] ?? 0), "source port").toBe(hPort);
        expect(out[18], "family").toBe(4);
        expect(out[19], "truncated").toBe(0);
      } finally {
        (b.close as (h: number) => number)(s);
      }
    },
  );

  windowsOnly(
    "a pending receive, cancelled, completes once through onComplete: (id, WSA_OPERATION_ABORTED, 0, 0)",
    ["recvOverlapped", "cancelReceive", "onComplete"],
    async () => {
      const id = postIdle(b, ctx);
      expect(cancelReceive(id)).toBe(0);
      expect(await completionsOf(ctx, id)).toEqual([[id, WSA.WSA_OPERATION_ABORTED, 0, 0]]);
    },
  );

  windowsOnly(
    "a receive completed a turn ago stays gone: cancelReceive of its id is refused (-WSA_INVALID_HANDLE) and cancels no newer receive",
    ["recvOverlapped", "cancelReceive"],
    async () => {
      const old = postIdle(b, ctx);
      expect(cancelReceive(old)).toBe(0);
      expect(await completionsOf(ctx, old)).toHaveLength(1);
      const fresh = postIdle(b, ctx);
      expect(cancelReceive(old)).toBe(-WSA.WSA_INVALID_HANDLE);
      await sleep(30);
      expect(
        ctx.completions.filter((c) => c[0] === fresh),
        "the newer receive is still pending",
      ).toEqual([]);
      expect(cancelReceive(fresh)).toBe(0);
      expect(await completionsOf(ctx, fresh)).toEqual([[fresh, WSA.WSA_OPERATION_ABORTED, 0, 0]]);
    },
  );

  windowsOnly(
    "a socket closed with a receive pending: the receive completes once, aborted (WSA_OPERATION_ABORTED)",
    ["recvOverlapped", "onComplete"],
    async () => {
      const s = (b.open as (f: number) => number)(4);
      expect((b.bind as (...a: unknown[]) => number)(s, 4, new Uint8Array([127, 0, 0, 1]), 0)).toBe(0);
      const id = nextId();
      expect(recvOverlapped(s, 4, [new Uint8Array(64)], 0, id, new Uint8Array(24))).toBe(-WSA.WSA_IO_PENDING);
      expect((b.close as (h: number) => number)(s)).toBe(0);
      expect(await completionsOf(ctx, id)).toEqual([[id, WSA.WSA_OPERATION_ABORTED, 0, 0]]);
      expect(cancelReceive(id), "its id names nothing any more").toBe(-WSA.WSA_INVALID_HANDLE);
    },
  );

  it("hostile-run.mjs (the same calls as a plain script, for valgrind) runs to its end: 0 crashes, 0 unexpected", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(HERE, "hostile-run.mjs")],
        { cwd: ROOT, timeout: 30_000, encoding: "utf8" },
        (error, out, err) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout: out, stderr: err }),
      );
    });
    expect(stdout, stderr).toMatch(/addon hostile: \d+ calls, 0 crashes \(\d+ positive controls, 0 unexpected/);
    expect(code, stdout + stderr).toBe(0);
  }, 40_000);

  it("the process survived: the binding still opens, binds and closes a socket", () => {
    const open = b.open as (f: number) => number;
    const h = open(4);
    expect(h).toBeGreaterThanOrEqual(0);
    expect((b.bind as (h: number, f: number, a: Uint8Array, p: number) => number)(h, 4, new Uint8Array([127, 0, 0, 1]), 0)).toBe(
      0,
    );
    expect((b.close as (h: number) => number)(h)).toBe(0);
  });
});
