/**
 * Readiness: select with fd_sets and the FD_* macros, and WSAPoll. Readable means a
 * datagram waits (in dgram's queue or the kernel's); a bound socket with no send waiting
 * for room is writable. Zero timeouts let the loop turn first, so a polling loop sees
 * datagrams arrive.
 */
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";
import { addr4, bound, ref, sleep, T, udp4, useFacade, ws } from "../helpers.js";

const ZERO = { tv_sec: 0, tv_usec: 0 };

function setOf(...sockets: number[]): ws.fd_set {
  const set = new ws.fd_set();
  for (const s of sockets) ws.FD_SET(s, set);
  return set;
}

/** Sends `text` to loopback `port` from a fresh socket of the library (blocking send). */
async function sendTo(port: number, text: string): Promise<void> {
  const s = udp4();
  const to = addr4(port);
  expect(await ws.sendto(s, Buffer.from(text), text.length, 0, to, 16)).toBe(text.length);
}

describe("fd_set and the FD_* macros", () => {
  it("FD_ZERO, FD_SET (no duplicates, at most FD_SETSIZE), FD_ISSET, FD_CLR (order kept)", () => {
    const set = new ws.fd_set();
    expect([set.fd_count, set.fd_array]).toEqual([0, []]);
    ws.FD_SET(7, set);
    ws.FD_SET(9, set);
    ws.FD_SET(7, set);
    expect([set.fd_count, set.fd_array]).toEqual([2, [7, 9]]);
    expect(ws.FD_ISSET(9, set)).toBe(1);
    expect(ws.FD_ISSET(8, set)).toBe(0);
    ws.FD_SET(11, set);
    ws.FD_CLR(7, set);
    expect([set.fd_count, set.fd_array]).toEqual([2, [9, 11]]);
    ws.FD_ZERO(set);
    expect([set.fd_count, set.fd_array]).toEqual([0, []]);
    for (let i = 0; i < 100; i++) ws.FD_SET(1000 + i, set);
    expect(set.fd_count).toBe(ws.FD_SETSIZE);
    expect(ws.FD_SETSIZE).toBe(64);
  });
});

describe.each(BACKENDS)("select and WSAPoll on $name", (backend) => {
  useFacade(backend);

  it("select: a fresh bound socket is writable at once; not readable; the sets keep only the ready", T, async () => {
    const { s } = bound();
    const rs = setOf(s);
    const wsSet = setOf(s);
    expect(await ws.select(0, rs, wsSet, null, ZERO)).toBe(1);
    expect(ws.WSAGetLastError()).toBe(0);
    expect([rs.fd_count, ws.FD_ISSET(s, rs)]).toEqual([0, 0]);
    expect([wsSet.fd_count, ws.FD_ISSET(s, wsSet)]).toEqual([1, 1]);
  });

  it("select: a zero timeout with nothing ready gives 0 and empties the sets", T, async () => {
    const { s } = bound();
    const rs = setOf(s);
    const es = setOf(s);
    expect(await ws.select(0, rs, null, es, ZERO)).toBe(0);
    expect([rs.fd_count, es.fd_count]).toEqual([0, 0]);
  });

  it("select waits for a datagram sent meanwhile, then a receive gets it", T, async () => {
    const { s, port } = bound();
    const other = bound();
    const rs = setOf(s, other.s);
    const waiting = ws.select(0, rs, null, null, { tv_sec: 5, tv_usec: 0 });
    await sleep(30);
    await sendTo(port, "wake");
    expect(await waiting).toBe(1);
    expect(rs.fd_array).toEqual([s]);
    const buf = Buffer.alloc(8);
    expect(await ws.recvfrom(s, buf, 8, 0, null, null)).toBe(4);
    expect(buf.subarray(0, 4).toString()).toBe("wake");
  });

  it("select times out after its time when nothing comes", T, async () => {
    const { s } = bound();
    const started = Date.now();
    expect(await ws.select(0, setOf(s), null, null, { tv_sec: 0, tv_usec: 150_000 })).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("select: no socket in any set is WSAEINVAL; a closed handle WSAENOTSOCK; a negative time WSAEINVAL", T, async () => {
    expect(await ws.select(0, new ws.fd_set(), null, null, ZERO)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
    const s = udp4();
    expect(ws.closesocket(s)).toBe(0);
    expect(await ws.select(0, setOf(s), null, null, ZERO)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAENOTSOCK);
    const t = udp4();
    expect(await ws.select(0, setOf(t), null, null, { tv_sec: -1, tv_usec: 0 })).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
  });

  it("a polling loop of zero-timeout selects sees a pending receive's datagram arrive", T, async () => {
    const { s, port } = bound();
    const ov = new ws.WSAOVERLAPPED();
    const buf = Buffer.alloc(16);
    expect(ws.WSARecvFrom(s, [{ len: 16, buf }], 1, null, ref(), null, null, ov, null)).toBe(ws.SOCKET_ERROR);
    expect(ws.WSAGetLastError()).toBe(ws.WSA_IO_PENDING);
    const sender = udp4();
    const to = addr4(port);
    ws.WSASendTo(sender, [{ len: 4, buf: Buffer.from("poll") }], 1, null, 0, to, 16, new ws.WSAOVERLAPPED(), null);
    let polls = 0;
    while (!ws.HasOverlappedIoCompleted(ov) && polls < 20_000) {
      await ws.select(0, setOf(sender), null, null, ZERO);
      polls++;
    }
    expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
    expect(buf.subarray(0, 4).toString()).toBe("poll");
  });

  it("WSAPoll: POLLWRNORM at once on a bound socket; POLLRDNORM when a datagram waits", T, async () => {
    const { s, port } = bound();
    const fds: ws.WSAPOLLFD[] = [{ fd: s, events: ws.POLLRDNORM | ws.POLLWRNORM, revents: 77 }];
    expect(await ws.WSAPoll(fds, 1, 0)).toBe(1);
    expect(fds[0]?.revents).toBe(ws.POLLWRNORM);
    const readOnly: ws.WSAPOLLFD[] = [{ fd: s, events: ws.POLLRDNORM, revents: 0 }];
    expect(await ws.WSAPoll(readOnly, 1, 0)).toBe(0);
    expect(readOnly[0]?.revents).toBe(0);
    const waiting = ws.WSAPoll(readOnly, 1, 5000);
    await sleep(30);
    await sendTo(port, "poll");
    expect(await waiting).toBe(1);
    expect(readOnly[0]?.revents).toBe(ws.POLLRDNORM);
  });

  it(
    "WSAPoll: a handle that is not a socket is POLLNVAL; none valid, fds 0 or a flag it does not take is WSAEINVAL",
    T,
    async () => {
      const { s } = bound();
      const fds: ws.WSAPOLLFD[] = [
        { fd: s, events: ws.POLLRDNORM, revents: 0 },
        { fd: 0x7ffffff0, events: ws.POLLRDNORM, revents: 0 },
      ];
      expect(await ws.WSAPoll(fds, 2, 0)).toBe(1);
      expect(fds.map((f) => f.revents)).toEqual([0, ws.POLLNVAL]);
      expect(await ws.WSAPoll([{ fd: 0x7ffffff0, events: ws.POLLRDNORM, revents: 0 }], 1, 0)).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
      expect(await ws.WSAPoll([{ fd: s, events: ws.POLLRDNORM, revents: 0 }], 0, 0)).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
      expect(await ws.WSAPoll([{ fd: s, events: ws.POLLPRI, revents: 0 }], 1, 0)).toBe(ws.SOCKET_ERROR);
      expect(ws.WSAGetLastError()).toBe(ws.WSAEINVAL);
    },
  );

  it("a polling loop of WSAPoll(..., 0) sees a pending receive's datagram arrive", T, async () => {
    const { s, port } = bound();
    const ov = new ws.WSAOVERLAPPED();
    expect(ws.WSARecvFrom(s, [{ len: 8, buf: Buffer.alloc(8) }], 1, null, ref(), null, null, ov, null)).toBe(ws.SOCKET_ERROR);
    const sender = udp4();
    ws.WSASendTo(sender, [{ len: 2, buf: Buffer.from("hi") }], 1, null, 0, addr4(port), 16, new ws.WSAOVERLAPPED(), null);
    let polls = 0;
    while (!ws.HasOverlappedIoCompleted(ov) && polls < 20_000) {
      await ws.WSAPoll([{ fd: sender, events: ws.POLLRDNORM, revents: 0 }], 1, 0);
      polls++;
    }
    expect(ws.HasOverlappedIoCompleted(ov)).toBe(true);
    expect(ov.InternalHigh).toBe(2);
  });
});
