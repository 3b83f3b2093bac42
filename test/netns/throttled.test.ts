/**
 * The pending paths, on a real throttled loopback. On plain loopback the kernel takes
 * every datagram at once, so a send never waits in a backend. Here the file makes a
 * network namespace of its own whose `lo` has a token-bucket qdisc (tbf); with a small
 * SO_SNDBUF the socket's send buffer fills within a few datagrams, sendmsg returns EAGAIN,
 * and sends really wait: in the native backend's queue (until the socket is writable) and
 * in dgram's backlog or libuv's queue.
 *
 * Each case runs a fixture script INSIDE the namespace (`ip netns exec NAME node
 * test/netns/fixtures/<case>.mjs`, with WSASENDTO_BACKEND set); the fixture prints one
 * JSON line of observations and this file asserts on them. Invariants are asserted, not
 * counts, except where the backend's deviations table fixes them (immediateCompletion).
 *
 * Requirements: Linux, iproute2 (`ip`, `tc`) and the right to create a network namespace
 * (root, or CAP_SYS_ADMIN + CAP_NET_ADMIN). Without them these tests FAIL, saying so.
 * WSASENDTO_NO_NETNS=1 turns them into explicit skips instead (the reason is printed),
 * for machines where that right cannot be had. On the Wine and Windows lanes they are
 * explicit skips too, the reason in every title (NOT_ON_THIS_LANE).
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, type BackendUnderTest, completesDuringCall, LANE, THROTTLED } from "../backends.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURES = join(ROOT, "test", "netns", "fixtures");

/**
 * On the Wine lane node.exe cannot make a Linux namespace (`ip netns`), so the namespace
 * comes the other way round: scripts/wine/netns.sh starts the whole run inside one of its
 * own whose lo is throttled to this file's rate (WSASENDTO_WINE_HTB, set by scripts/wine/test.sh), and
 * says so with WSASENDTO_WINE_NETNS=1. The fixtures then run right here, in Windows'
 * node.exe, on that throttled loopback. The Wine lane's runs on plain loopback cannot run
 * them, and say why in every title.
 */
const INSIDE_WINE_NETNS = THROTTLED;
const NOT_ON_THIS_LANE: string | undefined = {
  wine: INSIDE_WINE_NETNS
    ? undefined
    : "plain loopback: on the Wine lane these run in its throttled steps (scripts/wine/netns.sh), node.exe cannot make a namespace",
  win32: "not on Windows: a Linux network namespace (ip netns, tc tbf) has no Windows counterpart here",
  linux: undefined,
  darwin: undefined,
}[LANE];
const NO_NETNS = process.env.WSASENDTO_NO_NETNS === "1" || NOT_ON_THIS_LANE !== undefined;
const SKIP_REASON =
  NOT_ON_THIS_LANE ?? "WSASENDTO_NO_NETNS=1: the throttled-loopback tests (own network namespace, tbf on lo) are skipped";
if (NO_NETNS) console.warn(`${SKIP_REASON}.`);

/**
 * The throttle on the namespace's `lo`: 4 Mbit/s (one 1200-byte datagram each ~2.5 ms, so
 * 200 of them drain in ~0.5 s), a 4 KiB bucket, and a queue limit (400 kB) above what a
 * default send buffer can hold, so the socket's buffer fills (EAGAIN) before the qdisc
 * would drop anything.
 */
const TBF = ["rate", "4mbit", "burst", "32kbit", "limit", "400000"]; // scripts/wine/test.sh: the same rate (HTB)
const NS_PREFIX = "wsasendto-test-";

const SIZE = 1200;
const STATUS_PENDING = 0x103;
const WSA_IO_INCOMPLETE = 996;
const WSA_OPERATION_ABORTED = 995;
const WSA_WAIT_EVENT_0 = 0;
const WSAEWOULDBLOCK = 10035;
const POLLWRNORM = 0x10;
const FD_WRITE = 2;
const WSAEFAULT = 10014;
const WSAEINVAL = 10022;
const WSAENOTSOCK = 10038;
/** The NTSTATUS in `Internal` of a send failed with WSAEFAULT (STATUS_ACCESS_VIOLATION) or WSAEINVAL (STATUS_INVALID_PARAMETER). */
const LOST_STATUS = [0xc0000005, 0xc000000d];

/**
 * Where `pendingSendsDelivered` is false (Wine 8, dgram backend): a send that had to wait
 * completes once with WSAEFAULT or WSAEINVAL, 0 bytes, and never arrives; the others are
 * sent. Sorts `[i, error, bytes]` into the sent (error 0, `SIZE` bytes) and the lost, and
 * asserts nothing else happened (`also`: another error allowed, e.g. an abort).
 */
function sortLost(
  outcomes: Iterable<[number, number, number]>,
  also: number[] = [],
): { sent: number[]; lost: number[]; other: number[] } {
  const sent: number[] = [];
  const lost: number[] = [];
  const other: number[] = [];
  for (const [i, err, bytes] of outcomes) {
    if (err === 0) {
      expect(bytes, `send ${i}`).toBe(SIZE);
      sent.push(i);
    } else if (err === WSAEFAULT || err === WSAEINVAL) {
      expect(bytes, `send ${i} failed with ${err}`).toBe(0);
      lost.push(i);
    } else {
      expect([...also, WSAEFAULT, WSAEINVAL], `send ${i}: sent, or failed with WSAEFAULT/WSAEINVAL`).toContain(err);
      expect(bytes, `send ${i} failed with ${err}`).toBe(0);
      other.push(i);
    }
  }
  const up = (a: number, b: number) => a - b;
  return { sent: sent.sort(up), lost: lost.sort(up), other: other.sort(up) };
}

/** Options of each case: the fixture runs within 10 s, the runner kills it at 12 s. */
const CASE = { timeout: 20_000 } as const;

function findTool(name: string): string {
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return name;
}

const IP = findTool("ip");
const TC = findTool("tc");

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

function describeFailure(error: unknown): string {
  const e = error as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(error)).split("\n")[0] as string;
}

/** Removes namespaces of earlier runs whose process is gone (a run killed before its afterAll). */
function removeStaleNamespaces(): void {
  let list = "";
  try {
    list = run(IP, ["netns", "list"]);
  } catch {
    return;
  }
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = /^wsasendto-test-(\d+)-\d+$/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === "EPERM";
    }
    if (!alive) {
      try {
        run(IP, ["netns", "del", name]);
      } catch {
        // Someone else removed it meanwhile.
      }
    }
  }
}

let namespaceCount = 0;
let namespace: string | null = null;

function deleteNamespace(): void {
  if (namespace === null || INSIDE_WINE_NETNS) return;
  const name = namespace;
  namespace = null;
  try {
    run(IP, ["netns", "del", name]);
  } catch {
    // Already gone.
  }
}

/** Creates the namespace with the throttled `lo`, or throws saying what is required. */
function createNamespace(): string {
  if (INSIDE_WINE_NETNS) {
    namespace = "(scripts/wine/netns.sh's: this process's own)";
    return namespace;
  }
  removeStaleNamespaces();
  const name = `${NS_PREFIX}${process.pid}-${++namespaceCount}`;
  try {
    run(IP, ["netns", "add", name]);
  } catch (error) {
    throw new Error(
      `The throttled-loopback tests need their own network namespace: \`ip netns add ${name}\` failed ` +
        `(${describeFailure(error)}). They require Linux with iproute2 (ip, tc) and root ` +
        "(or CAP_SYS_ADMIN + CAP_NET_ADMIN). Run them as root, or set WSASENDTO_NO_NETNS=1 to skip them explicitly.",
    );
  }
  namespace = name;
  try {
    run(IP, ["-n", name, "link", "set", "lo", "up"]);
    run(TC, ["-n", name, "qdisc", "add", "dev", "lo", "root", "tbf", ...TBF]);
  } catch (error) {
    deleteNamespace();
    throw new Error(
      `The throttled-loopback tests could not set up lo in namespace ${name} (${describeFailure(error)}): ` +
        "they require iproute2's tc with the tbf qdisc (sch_tbf) and root. " +
        "Set WSASENDTO_NO_NETNS=1 to skip them explicitly.",
    );
  }
  return name;
}

/** Whatever happens to the worker, the namespace does not outlive it. */
process.on("exit", deleteNamespace);

interface FixtureRun {
  // biome-ignore lint/suspicious/noExplicitAny: the fixture's JSON, checked field by field below
  readonly json: any;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
}

/** Runs a fixture inside the namespace for `backend`; its JSON line, exit status and stderr. */
function runFixture(name: string, backend: BackendUnderTest, args: string[] = []): Promise<FixtureRun> {
  const ns = namespace;
  if (ns === null) throw new Error("no namespace: its creation failed (see the beforeAll error)");
  return new Promise((resolve) => {
    execFile(
      INSIDE_WINE_NETNS ? process.execPath : IP,
      INSIDE_WINE_NETNS
        ? [join(FIXTURES, `${name}.mjs`), ...args]
        : ["netns", "exec", ns, process.execPath, join(FIXTURES, `${name}.mjs`), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, WSASENDTO_BACKEND: backend.name },
        timeout: 12_000 * (INSIDE_WINE_NETNS ? 3 : 1),
        killSignal: "SIGKILL",
        maxBuffer: 16 << 20,
        encoding: "utf8",
      },
      (error, stdout, stderr) => {
        const line = stdout
          .split("\n")
          .reverse()
          .find((l) => l.startsWith("{"));
        let json: unknown = null;
        try {
          json = line ? JSON.parse(line) : null;
        } catch {
          json = null;
        }
        const e = error as (Error & { code?: number | string; signal?: string }) | null;
        resolve({
          json: json ?? {
            fixtureError: `no JSON line from ${name}.mjs: ${e?.message ?? "exited"}; stderr: ${stderr.slice(0, 2000)}`,
          },
          code: typeof e?.code === "number" ? e.code : e ? null : 0,
          signal: e?.signal ?? null,
          stderr,
        });
      },
    );
  });
}

/** The fixture ran to its end: no fixture error, a clean exit, the backend asked for. */
function expectRan(r: FixtureRun, backend: BackendUnderTest): void {
  expect(r.json.fixtureError, `fixture error (stderr: ${r.stderr.slice(0, 500)})`).toBeUndefined();
  expect(r.json.backend).toBe(backend.name);
  expect({ code: r.code, signal: r.signal }, `fixture exit (stderr: ${r.stderr.slice(0, 500)})`).toEqual({
    code: 0,
    signal: null,
  });
  if ("other" in r.json) expect(r.json.other, "overlapped calls that returned neither 0, PENDING nor WOULDBLOCK").toEqual([]);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const count = (s: string, c: string): number => [...s].filter((x) => x === c).length;

/**
 * How a backend's overlapped sends start on a socket whose buffer fills: where the backend
 * completes during the call, the first ones return 0 and, once the buffer is full, every
 * later one WSA_IO_PENDING (nothing overtakes a waiting send); elsewhere all are pending.
 */
function expectStartPattern(starts: string, backend: BackendUnderTest, n: number): void {
  expect(starts).toHaveLength(n);
  if (completesDuringCall(backend)) expect(starts, "0 for the first sends, then WSA_IO_PENDING").toMatch(/^0+P+$/);
  else expect(starts, "WSA_IO_PENDING for every send").toMatch(/^P+$/);
}

/** `it`, or an explicit skip under WSASENDTO_NO_NETNS=1 or on a lane where it cannot run (the reason in the title). */
const test = NO_NETNS ? it.skip : it;

function title(text: string): string {
  return NO_NETNS ? `${text} [${SKIP_REASON}]` : text;
}

describe(`throttled loopback: a network namespace of our own with tbf on lo${NOT_ON_THIS_LANE ? ` [${NOT_ON_THIS_LANE}]` : ""}`, () => {
  beforeAll(() => {
    if (!NO_NETNS) createNamespace();
  }, 30_000);
  afterAll(() => {
    deleteNamespace();
  }, 30_000);

  describe.each(BACKENDS)("$name", (backend) => {
    test(
      title("(a) 200 overlapped sends: 0 then WSA_IO_PENDING; each completes once with 1200 bytes; they arrive in order"),
      CASE,
      async () => {
        const r = await runFixture("order", backend, ["200"]);
        expectRan(r, backend);
        const { n, starts, completions, repeats, arrivals } = r.json;
        expect(n).toBe(200);
        expectStartPattern(starts, backend, n);
        expect(repeats, "completion routines that ran twice").toEqual([]);
        expect(r.json.wait.reached, "every send completed").toBe(true);
        const done = new Map<number, number[]>();
        for (const c of completions as number[][]) done.set(c[0] as number, c);
        expect(done.size).toBe(n);
        if (!backend.deviations.pendingSendsDelivered) {
          // Wine 8, dgram: the sends that waited in Winsock fail and never arrive.
          for (const [i, c] of done) expect([c[3], c[4]], `send ${i}: same lpOverlapped, dwFlags`).toEqual([1, 0]);
          const { sent, lost } = sortLost([...done.values()].map((c) => [c[0], c[1], c[2]] as [number, number, number]));
          expect(lost.length, "sends that waited failed (pendingSendsDelivered false)").toBeGreaterThan(0);
          expect(sent.length, "the first sends, taken at once, were sent").toBeGreaterThan(0);
          expect(arrivals, "arrivals: exactly the sends reported sent, in order").toEqual(sent);
          expect(r.json.closeRc, `closesocket (last error ${r.json.closeError})`).toBe(0);
          return;
        }
        for (const [i, c] of done)
          expect(c, `completion of send ${i}: [i, dwError, cbTransferred, same lpOverlapped, dwFlags]`).toEqual([
            i,
            0,
            SIZE,
            1,
            0,
          ]);
        expect(arrivals, "datagrams arrive once each, in the order they were posted").toEqual(range(n));
        expect(r.json.sizes).toEqual([SIZE]);
        expect(r.json.closeRc, `closesocket (last error ${r.json.closeError})`).toBe(0);
      },
    );

    test(
      title("(b) closesocket while sends wait: each completes once, sent or WSA_OPERATION_ABORTED; aborted ones never arrive"),
      CASE,
      async () => {
        const r = await runFixture("close", backend, ["200"]);
        expectRan(r, backend);
        const { n, k, starts, outcomes, repeats, arrivals, completedBeforeClose } = r.json;
        expectStartPattern(starts, backend, n);
        expect(r.json.progress.reached, `${k} sends that started pending completed before the close`).toBe(true);
        expect(r.json.closeRc, `closesocket (last error ${r.json.closeError})`).toBe(0);
        expect(r.json.wait.reached, "every send completed after the close").toBe(true);
        expect(repeats, "completion routines that ran twice").toEqual([]);
        const byIndex = new Map<number, [number, number]>();
        for (const [i, err, bytes] of outcomes as number[][]) byIndex.set(i as number, [err as number, bytes as number]);
        expect(byIndex.size).toBe(n);
        if (!backend.deviations.pendingSendsDelivered) {
          // Wine 8, dgram: a send that waited in Winsock fails (WSAEFAULT/WSAEINVAL) when
          // Winsock retries it, before or after the close; one still in the backend's
          // backlog at the close is aborted; one still in Winsock at the close fails with
          // WSAENOTSOCK (libuv closes with closesocket alone, and Wine 8 leaves what
          // pends to fail so: packages/native/src/addon/win.c, ws_close). None arrives.
          const {
            sent,
            lost,
            other: aborted,
          } = sortLost(
            [...byIndex].map(([i, [err, bytes]]) => [i, err, bytes] as [number, number, number]),
            [WSA_OPERATION_ABORTED, WSAENOTSOCK],
          );
          expect(lost.length + aborted.length, "sends that waited were lost or aborted").toBeGreaterThan(0);
          for (const [i, c] of [...(completedBeforeClose as string)].entries())
            if (c === "1") expect(byIndex.get(i)?.[0], `send ${i} completed before the close`).not.toBe(WSA_OPERATION_ABORTED);
          expect(arrivals, "arrivals: exactly the sends reported sent, in order").toEqual(sent);
          return;
        }
        const sent: number[] = [];
        const aborted: number[] = [];
        for (const [i, [err, bytes]] of byIndex) {
          if (err === 0) {
            expect(bytes, `send ${i}`).toBe(SIZE);
            sent.push(i);
          } else {
            expect([i, err, bytes], `send ${i}: sent, or WSA_OPERATION_ABORTED with 0 bytes`).toEqual([
              i,
              WSA_OPERATION_ABORTED,
              0,
            ]);
            aborted.push(i);
          }
        }
        sent.sort((a, b) => a - b);
        expect(aborted.length, "sends still waiting at the close were aborted").toBeGreaterThan(0);
        // What completed before the close (immediately or later) was sent.
        for (const [i, c] of [...(completedBeforeClose as string)].entries())
          if (c === "1") expect(byIndex.get(i)?.[0], `send ${i} completed before the close`).toBe(0);
        // Sends leave in order: the sent ones are the first ones, the aborted ones the rest.
        expect(sent, "the sent sends are a prefix of the posted ones").toEqual(range(sent.length));
        // Exactly the datagrams reported sent arrive (the link drained before judging).
        expect(arrivals, "arrivals: exactly the sends reported sent, in order, none reported aborted").toEqual(sent);
      },
    );

    test(
      title("(c) AbortSignal while sends wait: aborted sends reject WSA_OPERATION_ABORTED and never arrive"),
      CASE,
      async () => {
        const r = await runFixture("abort-signal", backend, ["300"]);
        expectRan(r, backend);
        const { n, sync, thrown, results, arrivals } = r.json;
        expect(thrown, "sendToOverlapped threw").toEqual([]);
        expect(sync).toHaveLength(n);
        if (completesDuringCall(backend))
          expect(sync, "completed synchronously until the send buffer filled, then pending").toMatch(/^1+0+$/);
        else expect(sync, "never completed synchronously").toMatch(/^0+$/);
        expect(r.json.progress.reached, "sends that started pending settled before the abort").toBe(true);
        expect(r.json.wait.reached, "every send settled").toBe(true);
        const fulfilled: number[] = [];
        const rejected: number[] = [];
        const lost: number[] = [];
        for (const [i, res] of (results as Array<Record<string, number | string> | null>).entries()) {
          expect(res, `send ${i} settled`).not.toBeNull();
          if (!backend.deviations.pendingSendsDelivered && (res?.code === "WSAEFAULT" || res?.code === "WSAEINVAL")) {
            // Wine 8, dgram: a send that waited in Winsock fails, signal or not.
            expect(res, `send ${i}`).toEqual({
              ok: 0,
              code: res?.code,
              errno: res?.code === "WSAEFAULT" ? WSAEFAULT : WSAEINVAL,
              isWSAError: 1,
              causeIsReason: 0,
            });
            lost.push(i);
            continue;
          }
          if (res?.ok === 1) {
            expect(res, `send ${i}`).toEqual({ ok: 1, bytes: SIZE, sync: sync[i] === "1" ? 1 : 0 });
            fulfilled.push(i);
          } else {
            expect(i % 2, `send ${i} had no signal but was rejected (${res?.code})`).toBe(1);
            expect(sync[i], `send ${i} was rejected but had completed synchronously`).toBe("0");
            expect(res, `send ${i}`).toEqual({
              ok: 0,
              code: "WSA_OPERATION_ABORTED",
              errno: WSA_OPERATION_ABORTED,
              isWSAError: 1,
              causeIsReason: 1,
            });
            rejected.push(i);
          }
        }
        if (!backend.deviations.pendingSendsDelivered) {
          // Wine 8, dgram: sends that waited in Winsock are lost; those still in the
          // backend's backlog at the abort are withdrawn.
          expect(lost.length + rejected.length, "sends that waited were lost or aborted").toBeGreaterThan(0);
          expect(
            range(n).filter((i) => i % 2 === 0 && !lost.includes(i)),
            "every send without the signal that was not lost was sent",
          ).toEqual(fulfilled.filter((i) => i % 2 === 0));
        } else if (!backend.deviations.sendsWaitInBackend) {
          // Windows, native: every send is with Winsock from its call; the signal has
          // nothing waiting in the backend to withdraw, and every send is sent.
          expect(rejected, "sends aborted by the signal").toEqual([]);
          expect(fulfilled, "every send was sent").toEqual(range(n));
        } else {
          expect(rejected.length, "sends waiting with the signal were aborted").toBeGreaterThan(0);
          expect(
            fulfilled.filter((i) => i % 2 === 0),
            "every send without the signal was sent",
          ).toEqual(range(n).filter((i) => i % 2 === 0));
        }
        expect(arrivals, "arrivals: exactly the fulfilled sends, in order; no aborted one").toEqual(fulfilled);
      },
    );

    test(
      title("(d) SO_MAX_OUTSTANDING_SENDS = 8: with 8 really outstanding, the next send fails WSAEWOULDBLOCK"),
      CASE,
      async () => {
        const r = await runFixture("wouldblock", backend);
        expectRan(r, backend);
        const { n, limit, starts, whilePending, outcomes, started, arrivals } = r.json;
        expect(r.json.setLimit, "setsockopt(SO_MAX_OUTSTANDING_SENDS)").toBe(0);
        expect(starts).toHaveLength(n);
        // Nothing completes between back-to-back calls: `limit` pending sends, then refusals.
        if (completesDuringCall(backend)) expect(starts).toMatch(new RegExp(`^0+P{${limit}}W+$`));
        else expect(starts).toMatch(new RegExp(`^P{${limit}}W+$`));
        expect(count(starts, "P")).toBe(limit);
        // Really outstanding: not completed, WSA_IO_INCOMPLETE.
        expect(whilePending).toHaveLength(limit);
        for (const p of whilePending)
          expect(p, `pending send ${p.i}`).toEqual({ i: p.i, done: false, result: false, lastError: WSA_IO_INCOMPLETE });
        expect(r.json.waitRc, "WSAWaitForMultipleEvents on the pending sends").toBe(WSA_WAIT_EVENT_0);
        // Wine 8, dgram (pendingSendsDelivered false): a send that waited in Winsock fails
        // (STATUS_ACCESS_VIOLATION or STATUS_INVALID_PARAMETER, 0 bytes) and never arrives.
        const lostHere = (o: number[]) =>
          !backend.deviations.pendingSendsDelivered && LOST_STATUS.includes(o[1] as number) && o[2] === 0;
        for (const o of outcomes) if (!lostHere(o)) expect(o, "[i, Internal, InternalHigh]").toEqual([o[0], 0, SIZE]);
        const lostSends = (outcomes as number[][]).filter(lostHere).map((o) => o[0] as number);
        // Room again once they completed.
        expect(["0", "P"], `a send after the pending ones completed started as ${r.json.againStart}`).toContain(
          r.json.againStart,
        );
        expect(r.json.againWait).toBe(WSA_WAIT_EVENT_0);
        const againLost = !backend.deviations.pendingSendsDelivered && lostHere([n, ...r.json.againOutcome]);
        if (!againLost) expect(r.json.againOutcome).toEqual([0, SIZE]);
        // A refused send sends nothing.
        expect(started).toHaveLength(n - count(starts, "W") + 1);
        if (againLost) lostSends.push(n);
        expect(arrivals, "arrivals: exactly the accepted sends (not lost), in order").toEqual(
          (started as number[]).filter((i) => !lostSends.includes(i)),
        );
        expect(r.json.closeRc).toBe(0);
      },
    );

    test(
      title("(e) WSAGetOverlappedResult(fWait = true) on a really pending send resolves true with 1200 bytes"),
      CASE,
      async () => {
        const r = await runFixture("overlapped-result", backend);
        expectRan(r, backend);
        const { n, starts, targets, before, waited, arrivals } = r.json;
        expectStartPattern(starts, backend, n);
        expect(targets.length, "pending sends to wait for").toBeGreaterThan(0);
        for (const b of before)
          expect(b, `send ${b.i} right after posting`).toEqual({
            i: b.i,
            internal: STATUS_PENDING,
            done: false,
            result: false,
            lastError: WSA_IO_INCOMPLETE,
          });
        expect(waited).toHaveLength(targets.length);
        if (!backend.deviations.pendingSendsDelivered) {
          // Wine 8, dgram: a send that waited in Winsock fails; WSAGetOverlappedResult
          // waits for it all the same and reports its error, and it never arrives.
          const { sent, lost } = sortLost(
            (r.json.outcomes as number[][]).map(([internal, bytes], i) => {
              const err =
                internal === 0 ? 0 : LOST_STATUS[0] === internal ? WSAEFAULT : LOST_STATUS[1] === internal ? WSAEINVAL : internal;
              return [i, err as number, bytes as number] as [number, number, number];
            }),
          );
          for (const w of waited) {
            const failed = lost.includes(w.i);
            expect({ ...w, ms: undefined }, `WSAGetOverlappedResult(fWait = true) on send ${w.i}`).toEqual({
              i: w.i,
              isPromise: true,
              result: !failed,
              lastError: failed ? (r.json.outcomes[w.i][0] === LOST_STATUS[0] ? WSAEFAULT : WSAEINVAL) : 0,
              bytes: failed ? 0 : SIZE,
              flags: 0,
              ms: undefined,
            });
          }
          expect(lost.length, "sends that waited failed (pendingSendsDelivered false)").toBeGreaterThan(0);
          expect(arrivals, "arrivals: exactly the sends reported sent, in order").toEqual(sent);
          expect(r.json.closeRc).toBe(0);
          return;
        }
        for (const w of waited)
          expect({ ...w, ms: undefined }, `WSAGetOverlappedResult(fWait = true) on send ${w.i}`).toEqual({
            i: w.i,
            isPromise: true,
            result: true,
            lastError: 0,
            bytes: SIZE,
            flags: 0,
            ms: undefined,
          });
        expect(arrivals).toEqual(range(n));
        expect(r.json.closeRc).toBe(0);
      },
    );

    test(
      title("(f) non-blocking sends until WSAEWOULDBLOCK, then select, WSAPoll and FD_WRITE wait for room"),
      CASE,
      async () => {
        const r = await runFixture("readiness", backend);
        expectRan(r, backend);
        const { first, second, third, selected, polled, evented, accepted, arrivals } = r.json;
        expect([r.json.nonBlocking, r.json.eventSelect]).toEqual([0, 0]);
        for (const fill of [first, second, third]) {
          // The buffer (or dgram's window of sends in flight) fills: a send is refused.
          expect(fill.refusedAfter, "non-blocking sends accepted before a refusal").toBeLessThan(2000);
          expect([fill.rc, fill.lastError]).toEqual([-1, WSAEWOULDBLOCK]);
        }
        // select: the socket in writefds once room came; then a send is accepted.
        expect([selected.rc, selected.isSet]).toEqual([1, 1]);
        expect(selected.after.rc).toBe(SIZE);
        expect([polled.rc, polled.revents]).toEqual([1, POLLWRNORM]);
        expect(polled.after.rc).toBe(SIZE);
        // FD_WRITE at the WSAEventSelect if the socket was writable then, and again after the refusal.
        expect([0, FD_WRITE]).toContain(evented.atOnce);
        expect([evented.waitRc, evented.lNetworkEvents]).toEqual([WSA_WAIT_EVENT_0, FD_WRITE]);
        expect(evented.after.rc).toBe(SIZE);
        // What arrived: exactly the accepted sends, in order; nothing refused was sent.
        if (backend.deviations.pendingSendsDelivered) expect(arrivals).toEqual(accepted);
        else {
          // Wine 8, dgram: an accepted send is on its way (in dgram's window); one that then
          // waited in Winsock is lost. What arrives is accepted sends, in order.
          const acceptedSet = new Set(accepted as number[]);
          expect(
            (arrivals as number[]).filter((i) => !acceptedSet.has(i)),
            "arrivals never accepted",
          ).toEqual([]);
          expect(arrivals, "in order, once each").toEqual([...new Set(arrivals as number[])].sort((a, b) => a - b));
        }
        expect(r.json.closeRc).toBe(0);
      },
    );
  });
});
