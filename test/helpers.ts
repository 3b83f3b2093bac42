/**
 * Shared helpers of the behaviour suite: plain node:dgram receivers on loopback (the
 * receiving side never uses the library under test), the C-shaped arguments of the
 * facade, and balanced WSAStartup/WSACleanup per test.
 */
import dgram from "node:dgram";
import { afterEach, beforeEach, expect } from "vitest";
import * as ws from "wsasendto";
import { type BackendUnderTest, completesDuringCall } from "./backends.js";

export { ws };

/** Options for tests that wait for sockets. */
export const T = { timeout: 10_000 } as const;

export const LOOPBACK4 = "127.0.0.1";
export const LOOPBACK6 = "::1";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True where ::1 can be bound; IPv6 tests skip elsewhere, saying so. */
export const hasV6: boolean = await new Promise<boolean>((resolve) => {
  const probe = dgram.createSocket("udp6");
  probe.once("error", () => {
    probe.close();
    resolve(false);
  });
  probe.bind(0, LOOPBACK6, () => probe.close(() => resolve(true)));
});

export const NO_V6_REASON = "::1 cannot be bound on this host (no IPv6 loopback)";

/** One received datagram. */
export interface Datagram {
  readonly msg: Buffer;
  readonly rinfo: dgram.RemoteInfo;
}

/** A node:dgram socket bound to loopback port 0 that records every datagram it gets. */
export class Receiver {
  readonly got: Datagram[] = [];
  readonly #socket: dgram.Socket;
  readonly #waiters = new Set<() => void>();

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    socket.on("message", (msg, rinfo) => {
      this.got.push({ msg, rinfo });
      for (const w of [...this.#waiters]) w();
    });
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** The payloads received so far, as text. */
  texts(): string[] {
    return this.got.map((d) => d.msg.toString());
  }

  /** Waits until `n` datagrams arrived or `ms` passed (one wake per datagram at most); returns what arrived. */
  async waitFor(n: number, ms = 5000): Promise<Datagram[]> {
    const deadline = Date.now() + ms;
    for (let rounds = 0; this.got.length < n && Date.now() < deadline && rounds < n + 1000; rounds++) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
        this.#waiters.add(done);
      });
    }
    return this.got;
  }

  /** Lets late datagrams arrive, then returns everything. */
  async settle(ms = 100): Promise<Datagram[]> {
    await sleep(ms);
    return this.got;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** Opens a receiver on 127.0.0.1:0 (or [::1]:0). */
export async function openReceiver(type: "udp4" | "udp6" = "udp4"): Promise<Receiver> {
  const socket = dgram.createSocket({ type, recvBufferSize: 8 << 20 });
  const rx = new Receiver(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, type === "udp4" ? LOOPBACK4 : LOOPBACK6, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  socket.unref();
  return rx;
}

// ---------------------------------------------------------------------------------
// The facade's C shapes

export function addr4(port: number, ip = LOOPBACK4): ws.SOCKADDR_IN {
  return { sin_family: ws.AF_INET, sin_port: ws.htons(port), sin_addr: { s_addr: ws.inet_addr(ip) } };
}

export function addr6(port: number, ip = LOOPBACK6): ws.SOCKADDR_IN6 {
  const sin6_addr = new Uint8Array(16);
  expect(ws.inet_pton(ws.AF_INET6, ip, sin6_addr)).toBe(1);
  return { sin6_family: ws.AF_INET6, sin6_port: ws.htons(port), sin6_flowinfo: 0, sin6_addr, sin6_scope_id: 0 };
}

/** WSABUFs covering each chunk exactly. */
export function bufs(...chunks: (string | Uint8Array)[]): ws.WSABUF[] {
  return chunks.map((c) => {
    const buf = typeof c === "string" ? Buffer.from(c) : c;
    return { len: buf.byteLength, buf };
  });
}

export function ref(value = 0): ws.Ref {
  return { value };
}

/** An overlapped-capable IPv4 UDP socket (WSASocket with the given flags). */
export function udp4(flags: number = ws.WSA_FLAG_OVERLAPPED): number {
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, flags);
  expect(s, `WSASocket: ${ws.WSAGetLastError()}`).not.toBe(ws.INVALID_SOCKET);
  return s;
}

export function udp6(flags: number = ws.WSA_FLAG_OVERLAPPED): number {
  const s = ws.WSASocket(ws.AF_INET6, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, flags);
  expect(s, `WSASocket: ${ws.WSAGetLastError()}`).not.toBe(ws.INVALID_SOCKET);
  return s;
}

/** A 4-byte big-endian sequence number followed by `pad` zero bytes. */
export function seq(i: number, pad = 0): Buffer {
  const b = Buffer.alloc(4 + pad);
  b.writeUInt32BE(i, 0);
  return b;
}

/** The synchronous return value of an overlapped call (asserts it is not a Promise). */
export function sync<R>(rc: R | Promise<R>, what = "overlapped call"): R {
  expect(rc, `${what} returned a Promise`).not.toBeInstanceOf(Promise);
  return rc as R;
}

/** Asserts a synchronous SOCKET_ERROR with the given last error. */
export function expectFails(rc: number | Promise<number>, code: number, what = "call"): void {
  expect(sync(rc, what), `${what}: return value`).toBe(ws.SOCKET_ERROR);
  expect(ws.wsaErrorName(ws.WSAGetLastError()), `${what}: WSAGetLastError`).toBe(ws.wsaErrorName(code));
}

/**
 * Asserts that an overlapped send was started, as the backend's deviations allow: 0
 * (completed during the call) only where the backend may (`immediateCompletion`), else SOCKET_ERROR with
 * WSA_IO_PENDING. Returns true when it completed during the call.
 */
export function expectStarted(result: number | Promise<number>, backend: BackendUnderTest, what = "WSASendTo"): boolean {
  const rc = sync(result, what);
  if (completesDuringCall(backend) && rc === 0) {
    expect(ws.WSAGetLastError(), `${what}: last error after 0`).toBe(0);
    return true;
  }
  expect(rc, `${what}: return value`).toBe(ws.SOCKET_ERROR);
  expect(ws.wsaErrorName(ws.WSAGetLastError()), `${what}: WSAGetLastError`).toBe("WSA_IO_PENDING");
  return false;
}

/** Runs alertable waits until `done()` holds, bounded in count and time. */
export async function alertUntil(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 500 && !done() && Date.now() < deadline; i++) await ws.SleepEx(20, true);
}

/** Polls (without alertable waits) until `done()` holds, bounded in count and time. */
export async function pollUntil(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1000 && !done() && Date.now() < deadline; i++) await sleep(5);
}

/** Waits (non-alertable) for every event, 64 at a time; asserts each wait is satisfied. */
export async function waitAll(events: readonly ws.WSAEVENT[]): Promise<void> {
  for (let i = 0; i < events.length; i += ws.WSA_MAXIMUM_WAIT_EVENTS) {
    const chunk = events.slice(i, i + ws.WSA_MAXIMUM_WAIT_EVENTS);
    expect(await ws.WSAWaitForMultipleEvents(chunk.length, chunk, true, 5000, false)).toBe(ws.WSA_WAIT_EVENT_0);
  }
}

/** Sends `text` with a blocking WSASendTo from `s` and asserts it succeeded. */
export async function sendMarker(s: number, to: ws.SOCKADDR, text = "marker"): Promise<void> {
  const sent = ref();
  expect(await ws.WSASendTo(s, bufs(text), 1, sent, 0, to, ws.sizeof(to), null, null)).toBe(0);
  expect(sent.value).toBe(Buffer.byteLength(text));
}

/**
 * Proves that nothing was sent from `s` before: a marker sent now from the same socket
 * must be the first and only datagram the receiver gets (one socket's datagrams arrive
 * on loopback in the order they were sent).
 */
export async function expectNothingSentBefore(s: number, rx: Receiver, to: ws.SOCKADDR): Promise<void> {
  await sendMarker(s, to);
  await rx.waitFor(1);
  await rx.settle(20);
  expect(rx.texts()).toEqual(["marker"]);
}

/** As {@link expectNothingSentBefore}, for a socket of the idiomatic API. */
export async function expectNothingSentBeforeIdiomatic(sock: ws.UdpSocket, rx: Receiver, address = LOOPBACK4): Promise<void> {
  const r = await sock.sendTo(Buffer.from("marker"), { address, port: rx.port });
  expect(r.bytesSent).toBe(6);
  await rx.waitFor(1);
  await rx.settle(20);
  expect(rx.texts()).toEqual(["marker"]);
}

// ---------------------------------------------------------------------------------
// Balanced WSAStartup / WSACleanup

/** The facade's startup state of one describe block. */
export interface FacadeSession {
  /** WSAStartup(2.2) with WSASENDTO_BACKEND set to the backend; counted. */
  startup(): void;
  /** WSACleanup(); counted (so afterEach does not clean up twice). */
  cleanup(): void;
}

/**
 * Starts the facade on `backend` before each test (WSASENDTO_BACKEND = name, then
 * WSAStartup) and balances every startup with a WSACleanup after it. The last cleanup
 * closes any socket a test left open; completion routines that queues are drained, so
 * the next test starts with an empty queue.
 */
export function useFacade(backend: BackendUnderTest): FacadeSession {
  let started = 0;
  const session: FacadeSession = {
    startup() {
      process.env.WSASENDTO_BACKEND = backend.name;
      const data: ws.WSADATA = {};
      expect(ws.WSAStartup(ws.MAKEWORD(2, 2), data)).toBe(0);
      started++;
      expect(data.wVersion).toBe(0x0202);
    },
    cleanup() {
      expect(started).toBeGreaterThan(0);
      expect(ws.WSACleanup()).toBe(0);
      started--;
    },
  };
  beforeEach(() => {
    session.startup();
    expect(ws.backendName()).toBe(backend.name);
  });
  afterEach(async () => {
    for (let i = 0; i < 10 && started > 0; i++) session.cleanup();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await ws.SleepEx(0, true);
  });
  return session;
}

/** Opens an idiomatic socket on `backend`; closed when the test finishes. */
export function openIdiomatic(
  backend: BackendUnderTest,
  onFinished: (fn: () => void) => void,
  options: Omit<ws.UdpSocketOptions, "backend"> = {},
): ws.UdpSocket {
  const sock = ws.openUdpSocket({ ...options, backend: backend.name });
  expect(sock.backend).toBe(backend.name);
  onFinished(() => sock.close());
  return sock;
}

/** Catches what a function throws (undefined if it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Asserts `e` is a WSAError with the given Winsock name. */
export function expectWSAError(e: unknown, code: ws.WSAErrorName, syscall?: string): void {
  expect(e).toBeInstanceOf(ws.WSAError);
  const err = e as ws.WSAError;
  expect(err.code).toBe(code);
  expect(err.errno).toBe(ws.WSA_ERRORS[code]);
  if (syscall !== undefined) expect(err.syscall).toBe(syscall);
}

/** A node:dgram socket on loopback port 0 that sends datagrams to the library. */
export interface Peer {
  readonly port: number;
  send(data: Uint8Array | string, port: number): Promise<void>;
}

/**
 * Opens a {@link Peer} (closed when the test finishes). With `connected` (for a peer that
 * floods one socket), see below.
 */
export async function openPeer(
  onFinished: (fn: () => Promise<void>) => void,
  type: "udp4" | "udp6" = "udp4",
  { connected: connectFirst = false }: { connected?: boolean } = {},
): Promise<Peer> {
  const socket = dgram.createSocket(type);
  const address = type === "udp4" ? LOOPBACK4 : LOOPBACK6;
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, address, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  onFinished(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  if (!connectFirst)
    return {
      port: socket.address().port,
      send: (data, port) =>
        new Promise<void>((resolve, reject) => socket.send(data, port, address, (e) => (e ? reject(e) : resolve()))),
    };
  // `connected`: the socket is connect()ed to the port it sends to (at its first send
  // there), and sends name no destination: an overlapped WSASendTo that pends under Wine 8
  // keeps a pointer to its destination and reads it later (test/backends.ts,
  // pendingSendsDelivered), and libuv's lives on its stack; with none (NULL, a connected
  // socket) every send that waits is delivered. A send to another port waits for those in
  // flight, then connects the socket there. (Being connected, it receives only from that
  // port, and reports an ICMP error of an earlier send on a later one.)
  let connected: number | null = null;
  let inFlight = 0;
  let idle: (() => void) | null = null;
  let turn: Promise<void> = Promise.resolve();
  const connectTo = async (port: number): Promise<void> => {
    for (let i = 0; i < 1000 && inFlight > 0; i++) await new Promise<void>((resolve) => (idle = resolve));
    if (connected !== null) socket.disconnect();
    connected = null;
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(port, address, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    connected = port;
  };
  const sendNow = (data: Uint8Array | string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      inFlight++;
      socket.send(data, (e) => {
        if (--inFlight === 0 && idle) {
          const wake = idle;
          idle = null;
          wake();
        }
        if (e) reject(e);
        else resolve();
      });
    });
  return {
    port: socket.address().port,
    send: (data, port) => {
      if (connected === port) return sendNow(data);
      // The sends after a change of destination wait, in order, for the connect.
      const next = turn.then(() => (connected === port ? undefined : connectTo(port)));
      turn = next.catch(() => undefined);
      return next.then(() => sendNow(data));
    },
  };
}

/** A facade socket bound to loopback port 0 (with SO_RCVBUF set first, when given); its handle and port. */
export function bound(family: 4 | 6 = 4, rcvbuf?: number): { s: number; port: number } {
  const s = family === 4 ? udp4() : udp6();
  if (rcvbuf !== undefined) expect(ws.setsockopt(s, ws.SOL_SOCKET, ws.SO_RCVBUF, rcvbuf, 4)).toBe(0);
  const local = family === 4 ? addr4(0) : addr6(0);
  expect(ws.bind(s, local, ws.sizeof(local))).toBe(0);
  const name: Record<string, unknown> = {};
  expect(ws.getsockname(s, name, ref(28))).toBe(0);
  return { s, port: ws.ntohs((family === 4 ? name.sin_port : name.sin6_port) as number) };
}

/** A loopback port where nothing listens (bound by a node:dgram socket, noted, closed): a send there draws an ICMP port-unreachable. */
export async function deadPort(type: "udp4" | "udp6" = "udp4"): Promise<number> {
  const socket = dgram.createSocket(type);
  await new Promise<void>((resolve) => socket.bind(0, type === "udp4" ? LOOPBACK4 : LOOPBACK6, () => resolve()));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Settles with `p`'s value, or with "pending" after `ms`. */
export async function within<R>(p: Promise<R>, ms: number): Promise<R | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    p,
    new Promise<"pending">((resolve) => {
      timer = setTimeout(() => resolve("pending"), ms);
    }),
  ]);
  clearTimeout(timer);
  return r;
}
