/**
 * The local address routing picks for a peer, asked of the kernel without connecting the
 * caller's socket: the core keeps a datagram socket's peer itself (so that `lpTo` can
 * override it on any send), yet Windows' `getsockname` after `connect` reports the local
 * address the route to the peer uses. A throwaway UDP socket connected to the peer tells it.
 */
import dgram from "node:dgram";
import { isIP } from "node:net";
import type { Endpoint } from "./sockaddr.js";

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * A node:dgram `lookup` that answers IP literals at once (the core resolves nothing else),
 * so that dgram binds, connects and sends inside the call, with no DNS hop.
 */
export function literalLookup(hostname: string, options: unknown, callback?: LookupCallback): void {
  const cb = (typeof options === "function" ? options : callback) as LookupCallback;
  const family = isIP(hostname);
  if (family === 0) {
    const err: NodeJS.ErrnoException = new Error(`not an IP literal: ${hostname}`);
    err.code = "EADDRNOTAVAIL";
    cb(err, "", 0);
    return;
  }
  cb(null, hostname, family);
}

/**
 * The local address (text) the kernel would send from to `peer`, or null when it has no
 * route (then the caller keeps the address it is bound to). `dualStack`: the peer may be a
 * v4-mapped address on an IPv6 socket, and the answer then is one too ("::ffff:127.0.0.1").
 */
export function routeLocalAddress(peer: Endpoint, dualStack: boolean): string | null {
  let socket: dgram.Socket | null = null;
  try {
    socket = dgram.createSocket({
      type: peer.family === 4 ? "udp4" : "udp6",
      ipv6Only: peer.family === 6 && !dualStack,
      lookup: literalLookup as unknown as dgram.SocketOptions["lookup"],
    });
    // A failed connect is reported on the next tick: nothing may crash the process then.
    socket.on("error", () => {});
    socket.unref();
    // With a synchronous lookup, dgram binds and connects during this call.
    socket.connect(peer.port, peer.address);
    socket.remoteAddress(); // throws unless the connect succeeded
    return socket.address().address.replace(/%.*$/, "");
  } catch {
    return null;
  } finally {
    try {
      socket?.close();
    } catch {
      // Already closed: nothing to release.
    }
  }
}
