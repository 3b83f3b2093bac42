/**
 * The native addon's binding called directly: numbers in, numbers out. Every function
 * answers a bad argument with a negated error code (never a throw, never a crash), each
 * kind of fault with its own code: a bad number, handle, family, option, flag or
 * callback is "invalid" (POSIX -EINVAL, Windows -WSAEINVAL), a bad byte array or list
 * "fault" (-EFAULT, -WSAEFAULT), a handle that is not open "not a socket" (-EBADF,
 * -WSAENOTSOCK). The bindings differ in their codes (`errors`: "posix" or "win32") and in
 * a few functions: Windows has `onComplete` (the completion port's reports),
 * `recvOverlapped`, `pending` (FIONREAD) and `setConnReset`, and its `send` takes an id;
 * POSIX has the watchers instead (test/native/addon-hostile.test.ts sweeps the POSIX
 * binding's every function). Odd but valid views (an empty list, a detached view, a
 * getter, 1024 views) send what they hold. Only the native backend has a binding: the
 * dgram backend is node:dgram.
 */
import { constants } from "node:os";
import { loadBinding, type NativeBinding } from "@wsasendto/native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { openPeer, openReceiver, sleep, T } from "../helpers.js";

const loaded = loadBinding();
const b = loaded as NativeBinding;
const win = typeof loaded !== "string" && loaded.errors === "win32";
type Kind = "inval" | "fault" | "notsock";
const CODE: Record<Kind, number> = win
  ? { inval: 10022, fault: 10014, notsock: 10038 }
  : { inval: constants.errno.EINVAL, fault: constants.errno.EFAULT, notsock: constants.errno.EBADF };
const WSA_IO_PENDING = 997;
const WSAEMSGSIZE = 10040;
const WSAEWOULDBLOCK = 10035;
const MSG_PARTIAL = 0x8000;
const LOOP4 = Uint8Array.of(127, 0, 0, 1);
const NEVER_OPENED = 12345677;
type Loose = (...args: unknown[]) => unknown;
const call = (fn: string, ...args: unknown[]): unknown => ((b as unknown as Record<string, Loose>)[fn] as Loose)(...args);

/** Runs each case; the ones whose result differs from the expected value, with what they gave. */
function wrong(cases: ReadonlyArray<readonly [string, () => unknown, unknown]>): string[] {
  const out: string[] = [];
  for (const [name, fn, expected] of cases) {
    let got: unknown;
    try {
      got = fn();
    } catch (error) {
      got = `threw ${(error as Error).message}`;
    }
    if (got !== expected) out.push(`${name}: ${String(got)} (expected ${String(expected)})`);
  }
  return out;
}

/** A byte of `a` (0 past its end). */
const at = (a: Uint8Array, i: number): number => a[i] ?? 0;

function detached(n = 8): Uint8Array {
  const ab = new ArrayBuffer(n);
  const view = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return view;
}

/** Windows: the completion reports of the port, by id (this file's own callback). */
const completions = new Map<number, Array<[number, number, number]>>();
let nextId = 1;
async function completed(ids: readonly number[], ms = 5000): Promise<Array<[number, number, number]>> {
  const deadline = Date.now() + ms;
  while (ids.some((id) => !completions.has(id)) && Date.now() < deadline) await sleep(5);
  expect(
    ids.filter((id) => !completions.has(id)),
    "ids that never completed",
  ).toEqual([]);
  return ids.map((id) => (completions.get(id) as Array<[number, number, number]>)[0] as [number, number, number]);
}

describe.each(BACKENDS.filter((x) => x.name === "native"))("the $name backend's binding, called directly", () => {
  let h = 0;
  let port = 0;
  beforeAll(() => {
    expect(loaded, "loadBinding()").not.toBeTypeOf("string");
    if (win) {
      expect(
        b.onComplete?.((id, status, bytes, flags) => {
          completions.set(id, [...(completions.get(id) ?? []), [status, bytes, flags]]);
        }),
      ).toBe(0);
    }
    h = b.open(4);
    expect(h).toBeGreaterThan(0);
    expect(b.bind(h, 4, LOOP4, 0)).toBe(0);
    port = b.localAddress(h, 4, new Uint8Array(16));
  });
  afterAll(() => {
    if (h > 0) b.close(h);
  });

  it(`exports: errors is "${win ? "win32" : "posix"}", with that binding's functions and not the other's`, () => {
    for (const f of ["open", "bind", "localAddress", "setOption", "getOption", "send", "close", "isRetryable", "recv"])
      expect(typeof (b as unknown as Record<string, unknown>)[f], f).toBe("function");
    const windowsOnly = ["onComplete", "recvOverlapped", "pending", "setConnReset", "cancelReceive", "sendNow", "writable"];
    const posixOnly = ["watch", "want", "unwatch", "recvBatch", "sendBatch", "takeError"];
    const has = (f: string): boolean => typeof (b as unknown as Record<string, unknown>)[f] === "function";
    expect(windowsOnly.filter(has)).toEqual(win ? windowsOnly : []);
    expect(posixOnly.filter(has)).toEqual(win ? [] : posixOnly);
  });

  it("options read back: broadcast, sndbuf, rcvbuf, ttl (0..3)", () => {
    const s = b.open(4);
    expect(b.setOption(s, 4, 0, 1)).toBe(0);
    expect(b.getOption(s, 4, 0)).toBe(1);
    expect(b.setOption(s, 4, 0, 0)).toBe(0);
    expect(b.getOption(s, 4, 0)).toBe(0);
    expect(b.setOption(s, 4, 1, 1 << 20)).toBe(0);
    expect(b.getOption(s, 4, 1)).toBeGreaterThan(0);
    expect(b.setOption(s, 4, 2, 1 << 20)).toBe(0);
    expect(b.getOption(s, 4, 2)).toBeGreaterThan(0);
    expect(b.setOption(s, 4, 3, 42)).toBe(0);
    expect(b.getOption(s, 4, 3)).toBe(42);
    expect(b.close(s)).toBe(0);
    expect(b.close(s), "closed twice").toBe(-CODE.notsock);
  });

  it("hostile arguments to open, bind, localAddress, setOption, getOption, close, isRetryable: the documented negated code", () => {
    const E = (k: Kind): number => -CODE[k];
    const retryable = win ? [10035, 10055] : [constants.errno.EAGAIN, constants.errno.ENOBUFS];
    const notRetryable = win ? 10054 : constants.errno.ECONNREFUSED;
    expect(
      wrong([
        ["open()", () => call("open"), E("inval")],
        ["open(5)", () => call("open", 5), E("inval")],
        ["open('4')", () => call("open", "4"), E("inval")],
        ["open(4.5)", () => call("open", 4.5), E("inval")],
        ["bind('x')", () => call("bind", "x", 4, LOOP4, 0), E("inval")],
        ["bind(-1)", () => call("bind", -1, 4, LOOP4, 0), E("inval")],
        ["bind(2**60)", () => call("bind", 2 ** 60, 4, LOOP4, 0), E("inval")],
        ["bind family 5", () => call("bind", h, 5, LOOP4, 0), E("inval")],
        ["bind short address", () => call("bind", h, 4, new Uint8Array(3), 0), E("fault")],
        ["bind v6 with 4 bytes", () => call("bind", h, 6, LOOP4, 0), E("fault")],
        ["bind address not bytes", () => call("bind", h, 4, [127, 0, 0, 1], 0), E("fault")],
        ["bind port 65536", () => call("bind", h, 4, LOOP4, 65536), E("inval")],
        ["bind port NaN", () => call("bind", h, 4, LOOP4, Number.NaN), E("inval")],
        ["bind twice", () => call("bind", h, 4, LOOP4, 0), E("inval")],
        ["bind never opened", () => call("bind", NEVER_OPENED, 4, LOOP4, 0), E("notsock")],
        ["localAddress out of 15", () => call("localAddress", h, 4, new Uint8Array(15)), E("fault")],
        ["localAddress Float64Array", () => call("localAddress", h, 4, new Float64Array(2)), E("fault")],
        ["localAddress family 0", () => call("localAddress", h, 0, new Uint8Array(16)), E("inval")],
        ["setOption -1", () => call("setOption", h, 4, 0, -1), E("inval")],
        ["setOption 2**31", () => call("setOption", h, 4, 0, 2 ** 31), E("inval")],
        ["setOption value '1'", () => call("setOption", h, 4, 0, "1"), E("inval")],
        ["getOption 99", () => call("getOption", h, 4, 99), E("inval")],
        ["getOption no option", () => call("getOption", h, 4), E("inval")],
        ["close('x')", () => call("close", "x"), E("inval")],
        ["close(-1)", () => call("close", -1), E("inval")],
        ["close()", () => call("close"), E("inval")],
        ["close never opened", () => call("close", NEVER_OPENED), E("notsock")],
        ...retryable.map((code) => [`isRetryable(${code})`, () => call("isRetryable", code), true] as const),
        [`isRetryable(${notRetryable})`, () => call("isRetryable", notRetryable), false],
        ["isRetryable(string)", () => call("isRetryable", String(retryable[0])), false],
        ["isRetryable()", () => call("isRetryable"), false],
      ]),
    ).toEqual([]);
  });

  it("recv with hostile arguments: a negated code, never a throw; on a closed handle 'not a socket'", () => {
    const out = new Uint8Array(24);
    const bad: unknown[][] = [
      [-1, 4, [Buffer.alloc(4)], false, out],
      [h, 5, [Buffer.alloc(4)], false, out],
      [h, 4, "nope", false, out],
      [h, 4, [Buffer.alloc(4)], 1, out],
      [h, 4, [Buffer.alloc(4)], false, new Uint8Array(23)],
      [h, 4, [{}], false, out],
      [h, 4, new Array(2000).fill(Buffer.alloc(1)), false, out],
      [2 ** 40, 4, [Buffer.alloc(4)], false, out],
      [h, 4, [Buffer.alloc(4)], false, null],
    ];
    const results = bad.map((args) => {
      try {
        return call("recv", ...args);
      } catch (error) {
        return `threw ${(error as Error).message}`;
      }
    });
    expect(results.filter((r) => !(typeof r === "number" && r < 0))).toEqual([]);
    // A getter that detaches an earlier view, or the out, while the views are read.
    const detaching = (victim: Uint8Array) => (): Uint8Array => {
      structuredClone(victim.buffer, { transfer: [victim.buffer as ArrayBuffer] });
      return Buffer.alloc(1);
    };
    const victim = new Uint8Array(new ArrayBuffer(8));
    const views: Uint8Array[] = [victim];
    Object.defineProperty(views, 1, { get: detaching(victim), enumerable: true });
    expect(call("recv", h, 4, views, false, out)).toBeLessThan(0);
    const outBuf = new Uint8Array(new ArrayBuffer(24));
    const views2: Uint8Array[] = [];
    Object.defineProperty(views2, 0, { get: detaching(outBuf), enumerable: true });
    expect(call("recv", h, 4, views2, false, outBuf)).toBeLessThan(0);
    const s = b.open(4);
    expect(b.close(s)).toBe(0);
    expect(call("recv", s, 4, [Buffer.alloc(4)], false, out)).toBe(-CODE.notsock);
  });

  it(
    "recv during the call: nothing waits, then a datagram with its source, a truncated peek, a scatter, a truncation; an empty list drops one",
    T,
    async ({ onTestFinished }) => {
      const peer = await openPeer(onTestFinished);
      const s = b.open(4);
      onTestFinished(() => void b.close(s));
      expect(b.bind(s, 4, LOOP4, 0)).toBe(0);
      const p = b.localAddress(s, 4, new Uint8Array(16));
      const out = new Uint8Array(24);
      const buf = Buffer.alloc(16);
      const nothing = win ? -WSAEWOULDBLOCK : -constants.errno.EAGAIN;
      expect(b.recv?.(s, 4, [buf], false, out)).toBe(nothing);
      await peer.send("hello", p);
      await peer.send("second!", p);
      await sleep(50);
      const source = (): [string, number, number] => [
        [...out.subarray(0, 4)].join("."),
        (at(out, 16) << 8) | at(out, 17),
        at(out, 18),
      ];
      // Windows reports the message flags in 20..23; POSIX the whole length.
      const tail = (): number => at(out, 20) | (at(out, 21) << 8) | (at(out, 22) << 16) | (at(out, 23) << 24);
      expect(b.recv?.(s, 4, [Buffer.alloc(2)], true, out), "a peek of 2").toBe(2);
      expect(source()).toEqual(["127.0.0.1", peer.port, 4]);
      expect(out[19], "truncated").toBe(1);
      expect(tail()).toBe(win ? MSG_PARTIAL : 5);
      expect(b.recv?.(s, 4, [buf.subarray(0, 2), buf.subarray(2)], false, out)).toBe(5);
      expect(buf.toString("latin1", 0, 5)).toBe("hello");
      expect(out[19]).toBe(0);
      expect(tail()).toBe(win ? 0 : 5);
      const small = Buffer.alloc(4);
      expect(b.recv?.(s, 4, [small], false, out), "the bytes that fit").toBe(4);
      expect(small.toString()).toBe("seco");
      expect(out[19]).toBe(1);
      expect(tail()).toBe(win ? MSG_PARTIAL : 7);
      expect(b.recv?.(s, 4, [buf], false, out), "the rest of a truncated datagram is gone").toBe(nothing);
      await peer.send("gone", p);
      await sleep(50);
      expect(b.recv?.(s, 4, [], false, out), "an empty list receives the datagram").toBe(0);
      expect(b.recv?.(s, 4, [buf], false, out)).toBe(nothing);
    },
  );

  describe(
    win ? "Windows: send with an id, onComplete, recvOverlapped, pending, setConnReset" : "POSIX: none of the Windows functions",
    () => {
      it(
        win
          ? "hostile arguments to send and onComplete: the documented negated code"
          : "send takes no id; onComplete is not there",
        () => {
          if (!win) {
            expect(b.onComplete).toBeUndefined();
            // POSIX send completes during the call: the bytes sent (a trailing id is ignored).
            expect(call("send", h, 4, [Buffer.from("x")], LOOP4, port, 0, 1)).toBe(1);
            return;
          }
          const buf = Buffer.from("x");
          const holey = [buf, buf, buf];
          delete holey[1];
          const E = (k: Kind): number => -CODE[k];
          const send =
            (...args: unknown[]) =>
            () =>
              call("send", ...args);
          expect(
            wrong([
              ["send views not an array", send(h, 4, { length: 1, 0: buf }, LOOP4, port, 0, 1), E("fault")],
              ["send views a typed array", send(h, 4, buf, LOOP4, port, 0, 1), E("fault")],
              ["send view a number", send(h, 4, [1], LOOP4, port, 0, 1), E("fault")],
              ["send view a string", send(h, 4, ["abc"], LOOP4, port, 0, 1), E("fault")],
              ["send view a Float64Array", send(h, 4, [new Float64Array(1)], LOOP4, port, 0, 1), E("fault")],
              ["send view a DataView", send(h, 4, [new DataView(new ArrayBuffer(4))], LOOP4, port, 0, 1), E("fault")],
              ["send view an ArrayBuffer", send(h, 4, [new ArrayBuffer(4)], LOOP4, port, 0, 1), E("fault")],
              ["send a hole in views", send(h, 4, holey, LOOP4, port, 0, 1), E("fault")],
              ["send 1025 views", send(h, 4, new Array(1025).fill(buf), LOOP4, port, 0, 1), E("inval")],
              ["send a proxy of an array", send(h, 4, new Proxy([buf], {}), LOOP4, port, 0, 1), E("fault")],
              ["send id -1", send(h, 4, [buf], LOOP4, port, 0, -1), E("inval")],
              ["send id 1.5", send(h, 4, [buf], LOOP4, port, 0, 1.5), E("inval")],
              ["send id NaN", send(h, 4, [buf], LOOP4, port, 0, Number.NaN), E("inval")],
              ["send id '1'", send(h, 4, [buf], LOOP4, port, 0, "1"), E("inval")],
              ["send id 2**53", send(h, 4, [buf], LOOP4, port, 0, 2 ** 53), E("inval")],
              ["send no id", send(h, 4, [buf], LOOP4, port, 0), E("inval")],
              ["send flags -1", send(h, 4, [buf], LOOP4, port, -1, 1), E("inval")],
              ["send flags 2**32", send(h, 4, [buf], LOOP4, port, 2 ** 32, 1), E("inval")],
              ["send family 5", send(h, 5, [buf], LOOP4, port, 0, 1), E("inval")],
              ["send short address", send(h, 4, [buf], new Uint8Array(2), port, 0, 1), E("fault")],
              ["send port -1", send(h, 4, [buf], LOOP4, -1, 0, 1), E("inval")],
              ["send handle 'x'", send("x", 4, [buf], LOOP4, port, 0, 1), E("inval")],
              ["send never opened", send(NEVER_OPENED, 4, [buf], LOOP4, port, 0, 1), E("notsock")],
              ["send nothing at all", send(), E("inval")],
              ["setOption 5 (past the last)", () => call("setOption", h, 4, 5, 1), E("inval")],
              ["onComplete()", () => call("onComplete"), E("inval")],
              ["onComplete(42)", () => call("onComplete", 42), E("inval")],
              ["onComplete({})", () => call("onComplete", {}), E("inval")],
              ["onComplete(null)", () => call("onComplete", null), E("inval")],
            ]),
          ).toEqual([]);
        },
      );

      it(
        win
          ? "a send refused at once (70000 bytes: -WSAEMSGSIZE) never completes later through the port"
          : "a send refused at once (70000 bytes: -EMSGSIZE) is answered during the call",
        T,
        async () => {
          const id = nextId++;
          const n = call("send", h, 4, [Buffer.alloc(70000)], LOOP4, port, 0, id);
          expect(n).toBe(win ? -WSAEMSGSIZE : -constants.errno.EMSGSIZE);
          await sleep(300);
          expect(completions.has(id), "a completion for a send that failed at once").toBe(false);
        },
      );

      it(
        "odd but valid views send what they hold: an empty list, a detached view, a getter (read once), 1024 views",
        T,
        async ({ onTestFinished }) => {
          const rx = await openReceiver();
          onTestFinished(() => rx.close());
          const ids: number[] = [];
          const track = (n: unknown, id: number): void => {
            if (n === -WSA_IO_PENDING) ids.push(id);
            else expect(n, `send ${id}`).toBeGreaterThanOrEqual(0);
          };
          let reads = 0;
          const tricky: Uint8Array[] = [Buffer.from("g")];
          Object.defineProperty(tricky, 1, {
            enumerable: true,
            get: () => (reads++ === 0 ? Buffer.from("1st") : Buffer.from("later")),
          });
          const sends: unknown[][] = [[[]], [[detached(), Buffer.from("d")]], [tricky], [new Array(1024).fill(Buffer.from("z"))]];
          for (const [views] of sends) {
            const id = nextId++;
            track(win ? call("send", h, 4, views, LOOP4, rx.port, 0, id) : call("send", h, 4, views, LOOP4, rx.port, 0), id);
          }
          if (win) await completed(ids);
          await rx.waitFor(4);
          const texts = rx.got.map((d) => (d.msg.length > 10 ? `${d.msg.length} bytes` : JSON.stringify(d.msg.toString())));
          expect(texts.sort()).toEqual(['""', '"d"', '"g1st"', "1024 bytes"].sort());
          expect(reads, "the getter was read once").toBe(1);
        },
      );

      it(
        win
          ? "recvOverlapped, pending and setConnReset with hostile arguments: the documented negated code"
          : "recvOverlapped, pending and setConnReset are Windows' only",
        T,
        async ({ onTestFinished }) => {
          if (!win) {
            expect([b.recvOverlapped, b.pending, b.setConnReset]).toEqual([undefined, undefined, undefined]);
            return;
          }
          const buf = Buffer.alloc(4);
          const out = new Uint8Array(24);
          const holey = [buf, buf, buf];
          delete holey[1];
          const throwing = [buf];
          Object.defineProperty(throwing, 1, {
            enumerable: true,
            get: () => {
              throw new Error("hostile");
            },
          });
          const E = (k: Kind): number => -CODE[k];
          const ro =
            (...args: unknown[]) =>
            () =>
              call("recvOverlapped", ...args);
          const s = b.open(4);
          onTestFinished(() => void b.close(s));
          expect(b.bind(s, 4, LOOP4, 0)).toBe(0);
          expect(
            wrong([
              ["recvOverlapped nothing", ro(), E("inval")],
              ["recvOverlapped handle 'x'", ro("x", 4, [buf], 0, 1, out), E("inval")],
              ["recvOverlapped handle -1", ro(-1, 4, [buf], 0, 1, out), E("inval")],
              ["recvOverlapped family 5", ro(s, 5, [buf], 0, 1, out), E("inval")],
              ["recvOverlapped flags -1", ro(s, 4, [buf], -1, 1, out), E("inval")],
              ["recvOverlapped flags 2**32", ro(s, 4, [buf], 2 ** 32, 1, out), E("inval")],
              ["recvOverlapped id 1.5", ro(s, 4, [buf], 0, 1.5, out), E("inval")],
              ["recvOverlapped id 2**53", ro(s, 4, [buf], 0, 2 ** 53, out), E("inval")],
              ["recvOverlapped no out", ro(s, 4, [buf], 0, 1), E("fault")],
              ["recvOverlapped out of 23", ro(s, 4, [buf], 0, 1, new Uint8Array(23)), E("fault")],
              ["recvOverlapped out a Float64Array", ro(s, 4, [buf], 0, 1, new Float64Array(3)), E("fault")],
              ["recvOverlapped views not an array", ro(s, 4, buf, 0, 1, out), E("fault")],
              ["recvOverlapped view a number", ro(s, 4, [1], 0, 1, out), E("fault")],
              ["recvOverlapped view a DataView", ro(s, 4, [new DataView(new ArrayBuffer(4))], 0, 1, out), E("fault")],
              ["recvOverlapped a hole in views", ro(s, 4, holey, 0, 1, out), E("fault")],
              ["recvOverlapped a throwing getter", ro(s, 4, throwing, 0, 1, out), E("fault")],
              ["recvOverlapped a proxy of an array", ro(s, 4, new Proxy([buf], {}), 0, 1, out), E("fault")],
              ["recvOverlapped 1025 views", ro(s, 4, new Array(1025).fill(buf), 0, 1, out), E("inval")],
              ["recvOverlapped never opened", ro(NEVER_OPENED, 4, [buf], 0, 1, out), E("notsock")],
              ["setConnReset nothing", () => call("setConnReset"), E("inval")],
              ["setConnReset handle 'x'", () => call("setConnReset", "x", 0), E("inval")],
              ["setConnReset on 2", () => call("setConnReset", s, 2), E("inval")],
              ["setConnReset on 0.5", () => call("setConnReset", s, 0.5), E("inval")],
              ["setConnReset never opened", () => call("setConnReset", NEVER_OPENED, 0), E("notsock")],
              ...[-1, "1", null, 2 ** 40, 1.5].map(
                (x) => [`pending(${String(x)})`, () => (call("pending", x) as number) < 0, true] as const,
              ),
            ]),
          ).toEqual([]);
          // A detached view is accepted as empty; an out detached while in flight is never written.
          const peer = await openPeer(onTestFinished);
          const p = b.localAddress(s, 4, new Uint8Array(16));
          const id = nextId++;
          expect(call("recvOverlapped", s, 4, [detached()], 0, id, out)).toBe(-WSA_IO_PENDING);
          const outAb = new ArrayBuffer(24);
          const id2 = nextId++;
          expect(call("recvOverlapped", s, 4, [Buffer.alloc(8)], 0, id2, new Uint8Array(outAb))).toBe(-WSA_IO_PENDING);
          structuredClone(outAb, { transfer: [outAb] });
          await peer.send("zz", p);
          await peer.send("yy", p);
          const [first, second] = await completed([id, id2]);
          expect(first?.[1], "bytes into a detached view").toBe(0);
          expect(second?.[0], "status of the receive whose out was detached").toBe(0);
          expect(second?.[1]).toBe(2);
        },
      );

      it(
        win
          ? "recvOverlapped: truncated at once and later, each reported once (WSAEMSGSIZE, the bytes that fit, MSG_PARTIAL), even 300 ms on"
          : "POSIX has no recvOverlapped: truncation is recv's (above)",
        T,
        async ({ onTestFinished }) => {
          if (!win) {
            expect(b.recvOverlapped).toBeUndefined();
            return;
          }
          const peer = await openPeer(onTestFinished);
          const s = b.open(4);
          onTestFinished(() => void b.close(s));
          expect(b.bind(s, 4, LOOP4, 0)).toBe(0);
          const p = b.localAddress(s, 4, new Uint8Array(16));
          await peer.send(Buffer.alloc(100, 7), p);
          await sleep(50);
          for (const late of [false, true]) {
            const bufs = [Buffer.alloc(10), Buffer.alloc(3)];
            const out = new Uint8Array(24);
            const id = nextId++;
            const n = call("recvOverlapped", s, 4, bufs, 0, id, out) as number;
            if (late) await peer.send(Buffer.alloc(100, 8), p);
            let result: [number, number, number];
            if (n === -WSA_IO_PENDING) result = (await completed([id]))[0] as [number, number, number];
            else {
              // At once: the bytes that fit, out marked truncated (19) with MSG_PARTIAL (20..23).
              expect(n, `late ${late}`).toBe(13);
              expect(out[19], "truncated").toBe(1);
              result = [WSAEMSGSIZE, n, at(out, 20) | (at(out, 21) << 8)];
            }
            expect(result, `late ${late}`).toEqual([WSAEMSGSIZE, 13, MSG_PARTIAL]);
            expect(Buffer.concat(bufs).every((x) => x === (late ? 8 : 7))).toBe(true);
            await sleep(300);
            expect(completions.get(id)?.length ?? 0, "reports of one receive").toBeLessThanOrEqual(1);
          }
          await peer.send("next", p);
          const id = nextId++;
          const next = Buffer.alloc(16);
          const n = call("recvOverlapped", s, 4, [next], 0, id, new Uint8Array(24)) as number;
          if (n === -WSA_IO_PENDING) expect((await completed([id]))[0]?.slice(0, 2)).toEqual([0, 4]);
          else expect(n).toBe(4);
          expect(next.toString("latin1", 0, 4)).toBe("next");
        },
      );

      it(
        win
          ? "sendNow (a non-blocking send, answered during the call) and writable: hostile arguments, and the datagrams sent"
          : "sendNow and writable are Windows' only (POSIX sends during the call, and watches for room)",
        T,
        async ({ onTestFinished }) => {
          if (!win) {
            expect([b.sendNow, b.writable]).toEqual([undefined, undefined]);
            return;
          }
          const rx = await openReceiver();
          onTestFinished(() => rx.close());
          const buf = Buffer.from("n");
          const holey = [buf, buf, buf];
          delete holey[1];
          const E = (k: Kind): number => -CODE[k];
          const sn =
            (...args: unknown[]) =>
            () =>
              call("sendNow", ...args);
          expect(
            wrong([
              ["sendNow nothing", sn(), E("inval")],
              ["sendNow handle 'x'", sn("x", 4, [buf], LOOP4, rx.port, 0), E("inval")],
              ["sendNow handle -1", sn(-1, 4, [buf], LOOP4, rx.port, 0), E("inval")],
              ["sendNow never opened", sn(NEVER_OPENED, 4, [buf], LOOP4, rx.port, 0), E("notsock")],
              ["sendNow family 5", sn(h, 5, [buf], LOOP4, rx.port, 0), E("inval")],
              ["sendNow short address", sn(h, 4, [buf], new Uint8Array(2), rx.port, 0), E("fault")],
              ["sendNow port -1", sn(h, 4, [buf], LOOP4, -1, 0), E("inval")],
              ["sendNow flags -1", sn(h, 4, [buf], LOOP4, rx.port, -1), E("inval")],
              ["sendNow no flags", sn(h, 4, [buf], LOOP4, rx.port), E("inval")],
              ["sendNow views not an array", sn(h, 4, { length: 1, 0: buf }, LOOP4, rx.port, 0), E("fault")],
              ["sendNow views a typed array", sn(h, 4, buf, LOOP4, rx.port, 0), E("fault")],
              ["sendNow view a number", sn(h, 4, [1], LOOP4, rx.port, 0), E("fault")],
              ["sendNow view a DataView", sn(h, 4, [new DataView(new ArrayBuffer(4))], LOOP4, rx.port, 0), E("fault")],
              ["sendNow a hole in views", sn(h, 4, holey, LOOP4, rx.port, 0), E("fault")],
              ["sendNow a proxy of an array", sn(h, 4, new Proxy([buf], {}), LOOP4, rx.port, 0), E("fault")],
              ["sendNow 1025 views", sn(h, 4, new Array(1025).fill(buf), LOOP4, rx.port, 0), E("inval")],
              ["sendNow 70000 bytes", sn(h, 4, [Buffer.alloc(70000)], LOOP4, rx.port, 0), -WSAEMSGSIZE],
              ["writable nothing", () => call("writable"), E("inval")],
              ["writable handle 'x'", () => call("writable", "x"), E("inval")],
              ["writable handle 1.5", () => call("writable", 1.5), E("inval")],
              ["writable never opened", () => call("writable", NEVER_OPENED), E("notsock")],
            ]),
          ).toEqual([]);
          // Positive controls: sent during the call, in either skip mode (never -WSA_IO_PENDING,
          // nothing through onComplete); a socket with room is writable.
          const before = completions.size;
          expect(call("sendNow", h, 4, [Buffer.from("s1")], LOOP4, rx.port, 0)).toBe(2);
          expect(call("sendNow", h, 4, [Buffer.from("s"), detached(), Buffer.from("2x")], LOOP4, rx.port, 0)).toBe(3);
          expect(call("writable", h)).toBe(1);
          await rx.waitFor(2);
          expect(rx.got.map((d) => d.msg.toString()).sort()).toEqual(["s1", "s2x"]);
          await sleep(50);
          expect(completions.size, "no completion for a send answered during its call").toBe(before);
          // A closed socket: WSAENOTSOCK, for both.
          const s = b.open(4);
          expect(b.close(s)).toBe(0);
          expect([call("sendNow", s, 4, [buf], LOOP4, rx.port, 0), call("writable", s)]).toEqual([E("notsock"), E("notsock")]);
        },
      );

      it(
        win
          ? "a second onComplete replaces the first: later reports go to the new callback only"
          : "POSIX reports through watchers, not onComplete",
        T,
        async ({ onTestFinished }) => {
          if (!win) {
            expect(typeof b.watch).toBe("function");
            return;
          }
          const rx = await openReceiver();
          onTestFinished(() => rx.close());
          const seen: number[] = [];
          const before = completions.size;
          expect(b.onComplete?.((id) => seen.push(id))).toBe(0);
          onTestFinished(() => {
            b.onComplete?.((id, status, bytes, flags) => {
              completions.set(id, [...(completions.get(id) ?? []), [status, bytes, flags]]);
            });
          });
          const s = b.open(4);
          onTestFinished(() => void b.close(s));
          // A receive that pends (nothing waits), then its datagram: one report, to the new callback.
          expect(b.bind(s, 4, LOOP4, 0)).toBe(0);
          const p = b.localAddress(s, 4, new Uint8Array(16));
          const id = nextId++;
          expect(call("recvOverlapped", s, 4, [Buffer.alloc(8)], 0, id, new Uint8Array(24))).toBe(-WSA_IO_PENDING);
          const peer = await openPeer(onTestFinished);
          await peer.send("re", p);
          for (let i = 0; i < 300 && !seen.includes(id); i++) await sleep(10);
          expect(seen).toEqual([id]);
          expect(completions.size, "the first callback got nothing").toBe(before);
        },
      );
    },
  );
});
