// examples/echo-server.c ported line by line to the Winsock facade of wsasendto: the same
// variables, calls, checks, messages and order. A UDP echo server written the way Winsock
// servers are: a non-blocking socket (WSAEventSelect), a wait on its event,
// WSAEnumNetworkEvents, and on FD_READ recvfrom until WSAEWOULDBLOCK, each request answered
// with "echo: " + the request, gathered by WSASendTo from two WSABUFs. "bye" ends it after
// its reply; so does being idle for IDLE_TIMEOUT_MS.
//
//   node examples/echo-server.mjs [port] [--self-test]     (WSASENDTO_BACKEND=dgram|native|auto)
//
// Port 0 or none: any free port; it prints `echo server on 127.0.0.1:PORT` when ready.
// --self-test also runs examples/echo-client.mjs in this process against the server (the
// server's loop awaits WSAWaitForMultipleEvents, which lets the client make progress) and
// exits 0 when every reply matched and the server ended cleanly, 1 otherwise.
//
// Where C and JavaScript differ, the port says so in a comment:
// - `main` returns its exit code as in C; the end of the file hands it to `process.exitCode`.
// - Out-parameters (`&namelen`, `&fromlen`, `&sent`, `&ne`) are objects: `{ value }`, or the
//   structure itself, filled in place. `NULL` is `null`; `(SOCKADDR *) &local` is `local`.
// - WSAWaitForMultipleEvents blocks in Winsock, so it returns a Promise: `await` it. On the
//   non-blocking socket, recvfrom and WSASendTo return at once, as in C (no await).
// - printf becomes console.log, which understands the same `%s` and `%d`.
import * as ws from "wsasendto";
import { echoClient } from "./echo-client.mjs";

const BUFLEN = 1500; // #define BUFLEN 1500
const IDLE_TIMEOUT_MS = 10000; // #define IDLE_TIMEOUT_MS 10000

/** C's `atoi`: leading blanks, an optional sign, then digits; 0 when there are none. */
function atoi(text) {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return match ? Number.parseInt(match[1], 10) | 0 : 0;
}

/** JS only: told the port once the server is ready (--self-test starts its client then). */
let onListening = null;

async function main(argc, argv) {
  //---------------------------------------------
  // Declare and initialize variables
  const wsaData = {}; // WSADATA
  let s = ws.INVALID_SOCKET; // SOCKET
  let ev = ws.WSA_INVALID_EVENT; // WSAEVENT
  const ne = { lNetworkEvents: 0, iErrorCode: [] }; // WSANETWORKEVENTS
  const local = { sin_family: 0, sin_port: 0, sin_addr: { s_addr: 0 } }; // struct sockaddr_in
  const from = { sin_family: 0, sin_port: 0, sin_addr: { s_addr: 0 } }; // struct sockaddr_in
  const namelen = { value: ws.sizeof(local) }; // int, passed by address
  const fromlen = { value: ws.sizeof(from) }; // int, passed by address
  const buf = Buffer.alloc(BUFLEN); // char buf[BUFLEN];
  const prefix = Buffer.from("echo: ", "latin1"); // char prefix[] = "echo: ";
  const reply = [
    { len: 0, buf: null },
    { len: 0, buf: null },
  ]; // WSABUF reply[2];
  const sent = { value: 0 }; // DWORD, passed by address
  let wait; // DWORD
  let port = 0; // unsigned short
  let n;
  let rc;
  let err;
  let running = 1;
  let answered = 0;
  let retval = 0;

  if (argc > 1) port = atoi(argv[1]) & 0xffff; // (unsigned short) atoi(argv[1])

  //---------------------------------------------
  // Initialize Winsock
  rc = ws.WSAStartup(ws.MAKEWORD(2, 2), wsaData);
  if (rc !== 0) {
    console.log("WSAStartup failed with error: %d", rc);
    return 1;
  }

  //---------------------------------------------
  // Create a UDP socket and bind it to 127.0.0.1 and the port asked for
  s = ws.socket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP);
  if (s === ws.INVALID_SOCKET) {
    console.log("socket failed with error: %d", ws.WSAGetLastError());
    ws.WSACleanup();
    return 1;
  }

  local.sin_family = ws.AF_INET;
  local.sin_port = ws.htons(port);
  local.sin_addr.s_addr = ws.inet_addr("127.0.0.1");
  rc = ws.bind(s, local, ws.sizeof(local));
  if (rc === ws.SOCKET_ERROR) {
    console.log("bind failed with error: %d", ws.WSAGetLastError());
    ws.closesocket(s);
    ws.WSACleanup();
    return 1;
  }

  // Port 0 let the system choose: ask which port it gave.
  rc = ws.getsockname(s, local, namelen);
  if (rc === ws.SOCKET_ERROR) {
    console.log("getsockname failed with error: %d", ws.WSAGetLastError());
    ws.closesocket(s);
    ws.WSACleanup();
    return 1;
  }

  //---------------------------------------------
  // Ask for FD_READ on an event; this makes the socket non-blocking
  ev = ws.WSACreateEvent();
  if (ev === ws.WSA_INVALID_EVENT) {
    console.log("WSACreateEvent failed with error: %d", ws.WSAGetLastError());
    ws.closesocket(s);
    ws.WSACleanup();
    return 1;
  }

  rc = ws.WSAEventSelect(s, ev, ws.FD_READ);
  if (rc === ws.SOCKET_ERROR) {
    console.log("WSAEventSelect failed with error: %d", ws.WSAGetLastError());
    ws.WSACloseEvent(ev);
    ws.closesocket(s);
    ws.WSACleanup();
    return 1;
  }

  console.log("echo server on %s:%d", ws.inet_ntoa(local.sin_addr), ws.ntohs(local.sin_port));
  // fflush(stdout): console.log needs none. JS only: --self-test learns the port here.
  onListening?.(ws.ntohs(local.sin_port));

  // The reply: "echo: " then the request, gathered from two buffers
  reply[0].buf = prefix;
  reply[0].len = prefix.length; // (ULONG) strlen(prefix)
  reply[1].buf = buf;
  reply[1].len = 0;

  //---------------------------------------------
  // Wait for requests until "bye", or until nothing came for IDLE_TIMEOUT_MS
  while (running) {
    // &ev: an array of one event. The wait blocks in Winsock: here a Promise, awaited.
    wait = await ws.WSAWaitForMultipleEvents(1, [ev], false, IDLE_TIMEOUT_MS, false);
    if (wait === ws.WSA_WAIT_TIMEOUT) {
      console.log("server: idle for %d ms, quitting", IDLE_TIMEOUT_MS);
      break;
    }
    if (wait === ws.WSA_WAIT_FAILED) {
      console.log("WSAWaitForMultipleEvents failed with error: %d", ws.WSAGetLastError());
      retval = 1;
      break;
    }

    // What happened (this also resets the event)
    rc = ws.WSAEnumNetworkEvents(s, ev, ne);
    if (rc === ws.SOCKET_ERROR) {
      console.log("WSAEnumNetworkEvents failed with error: %d", ws.WSAGetLastError());
      retval = 1;
      break;
    }
    if ((ne.lNetworkEvents & ws.FD_READ) === 0) continue;
    if (ne.iErrorCode[ws.FD_READ_BIT] !== 0) {
      console.log("FD_READ failed with error: %d", ne.iErrorCode[ws.FD_READ_BIT]);
      retval = 1;
      break;
    }

    // One FD_READ may stand for several datagrams: read until none is left
    while (running) {
      fromlen.value = ws.sizeof(from);
      // Non-blocking socket: recvfrom returns the count (or SOCKET_ERROR) at once, no Promise.
      n = ws.recvfrom(s, buf, BUFLEN, 0, from, fromlen);
      if (n === ws.SOCKET_ERROR) {
        err = ws.WSAGetLastError();
        if (err === ws.WSAEWOULDBLOCK) break; // drained (this call re-enabled FD_READ)
        if (err === ws.WSAECONNRESET || err === ws.WSAEMSGSIZE) {
          // An earlier reply found no one (ICMP port unreachable), or a
          // datagram larger than buf was cut: skip it, keep serving.
          console.log("recvfrom failed with error: %d (ignored)", err);
          continue;
        }
        console.log("recvfrom failed with error: %d", err);
        retval = 1;
        running = 0;
        break;
      }
      console.log("server: got %d bytes from %s:%d", n, ws.inet_ntoa(from.sin_addr), ws.ntohs(from.sin_port));

      reply[1].len = n; // (ULONG) n
      // Non-overlapped (both last arguments null) on a non-blocking socket: returns at once.
      rc = ws.WSASendTo(s, reply, 2, sent, 0, from, fromlen.value, null, null);
      if (rc === ws.SOCKET_ERROR) console.log("WSASendTo failed with error: %d", ws.WSAGetLastError());
      else answered++;

      // n == 3 && memcmp(buf, "bye", 3) == 0
      if (n === 3 && buf.subarray(0, 3).equals(Buffer.from("bye"))) {
        console.log("server: bye after %d replies", answered);
        running = 0;
      }
    }
  }

  //---------------------------------------------
  // Clean up and quit
  if (ws.closesocket(s) === ws.SOCKET_ERROR) {
    console.log("closesocket failed with error: %d", ws.WSAGetLastError());
    retval = 1;
  }
  ws.WSACloseEvent(ev);
  ws.WSACleanup();
  return retval;
}

// int main(int argc, char **argv): argv[0] is the program (this script), as in C;
// --self-test is this port's own option, taken out before main sees the arguments.
const selfTest = process.argv.includes("--self-test");
const argv = process.argv.slice(1).filter((a) => a !== "--self-test");
if (!selfTest) {
  process.exitCode = await main(argv.length, argv);
} else {
  // The server and the client in one process: the server's loop awaits its waits, so
  // the client's sends and receives progress meanwhile. The client starts once the
  // server printed its port (or never, when main failed before).
  const listening = new Promise((resolve) => {
    onListening = resolve;
  });
  const server = main(argv.length, argv);
  const port = await Promise.race([listening, server.then(() => 0)]);
  const client = port === 0 ? null : await echoClient(port);
  const retval = await server;
  const ok = retval === 0 && client !== null && client.failures === 0 && client.matched === client.sent;
  console.log(
    `self-test: server exited with ${retval}, client ${client ? `${client.matched}/${client.sent} matched` : "not run"}`,
  );
  process.exitCode = ok ? 0 : 1;
}
