// A request/response exchange with wsasendto on both ends, in one process:
//
// - the echo server uses the Winsock facade: an overlapped WSARecvFrom whose completion
//   routine sends the reply with an overlapped WSASendTo, whose routine posts the next
//   receive; the routines run inside the server's alertable waits (SleepEx).
// - the client (examples/echo-client.mjs) uses the idiomatic API: sendTo, then receive,
//   for each request, and checks every reply.
//
//   node examples/echo.mjs                        (WSASENDTO_BACKEND=dgram|native|auto)
//
// Both bind 127.0.0.1 with port 0 (the system picks free ports). Exit code 0 when every
// reply matched its request, 1 otherwise; it exits by itself either way.
import * as ws from "wsasendto";
import { echoClient, PREFIX } from "./echo-client.mjs";

const REPLY_PREFIX = Buffer.from(PREFIX);

// ---------------------------------------------------------------------------------
// The echo server (facade)

/** Starts the server; returns its port, how many requests it answered, and a stop(). */
function startServer() {
  if (ws.WSAStartup(ws.MAKEWORD(2, 2), {}) !== 0) throw new Error("WSAStartup failed");
  const s = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  if (s === ws.INVALID_SOCKET) throw new Error(`WSASocket failed with error ${ws.WSAGetLastError()}`);
  const local = { sin_family: ws.AF_INET, sin_port: ws.htons(0), sin_addr: { s_addr: ws.inet_addr("127.0.0.1") } };
  if (ws.bind(s, local, ws.sizeof(local)) === ws.SOCKET_ERROR) throw new Error(`bind failed with error ${ws.WSAGetLastError()}`);
  const name = {};
  ws.getsockname(s, name, { value: ws.sizeof(local) });

  const state = { answered: 0, running: true, stopping: false };
  const buf = Buffer.alloc(1500);
  const recvOv = new ws.WSAOVERLAPPED();
  const sendOv = new ws.WSAOVERLAPPED();
  const from = {};
  const fromlen = { value: 16 };

  // Posts the next receive; its routine runs when a request arrives (or the socket closes).
  function postReceive() {
    fromlen.value = 16;
    const rc = ws.WSARecvFrom(s, [{ len: buf.length, buf }], 1, null, { value: 0 }, from, fromlen, recvOv, onRequest);
    if (rc === ws.SOCKET_ERROR && ws.WSAGetLastError() !== ws.WSA_IO_PENDING) {
      console.log(`server: WSARecvFrom failed with error ${ws.WSAGetLastError()}`);
      state.running = false;
    }
  }

  // A request arrived: reply with "echo: " and the request, gathered from two buffers.
  function onRequest(dwError, cbTransferred) {
    if (dwError !== 0) {
      // WSA_OPERATION_ABORTED: closesocket ended the pending receive; anything else is a failure.
      if (dwError !== ws.WSA_OPERATION_ABORTED) console.log(`server: receive failed with error ${dwError}`);
      state.running = false;
      return;
    }
    console.log(`server: got ${cbTransferred} bytes from ${ws.inet_ntoa(from.sin_addr)}:${ws.ntohs(from.sin_port)}`);
    const reply = [
      { len: REPLY_PREFIX.length, buf: REPLY_PREFIX },
      { len: cbTransferred, buf },
    ];
    const rc = ws.WSASendTo(s, reply, 2, null, 0, from, ws.sizeof(from), sendOv, onReplied);
    if (rc === ws.SOCKET_ERROR && ws.WSAGetLastError() !== ws.WSA_IO_PENDING) {
      console.log(`server: WSASendTo failed with error ${ws.WSAGetLastError()}`);
      postReceive();
    }
  }

  // The reply left (its buffer is free again): wait for the next request, unless stopping.
  function onReplied(dwError) {
    if (dwError === 0) state.answered++;
    else console.log(`server: reply failed with error ${dwError}`);
    if (state.stopping) state.running = false;
    else postReceive();
  }

  postReceive();
  // The server's thread: alertable waits, in which the completion routines run.
  const loop = (async () => {
    while (state.running) await ws.SleepEx(100, true);
  })();

  return {
    port: ws.ntohs(name.sin_port),
    get answered() {
      return state.answered;
    },
    async stop() {
      state.stopping = true;
      // Completes the pending receive with WSA_OPERATION_ABORTED; its routine, or the
      // routine of a reply still queued, ends the loop.
      ws.closesocket(s);
      await loop;
      ws.WSACleanup();
    },
  };
}

// ---------------------------------------------------------------------------------
// The client (idiomatic API): examples/echo-client.mjs, the same client that talks to
// examples/echo-server.mjs and examples/echo-server.c.

const server = startServer();
console.log(`echo server on 127.0.0.1:${server.port}`);
const { sent, failures } = await echoClient(server.port);
await server.stop();
console.log(`${sent} requests, ${server.answered} answered, ${failures} failed`);
process.exitCode = failures === 0 && server.answered === sent ? 0 : 1;
