// The WSASendTo documentation's example program ("using an event object"), ported line by
// line to the Winsock facade of wsasendto: the same variables, checks, messages and order.
//
//   node examples/wsasendto-example.mjs targetip port
//
// Where C and JavaScript differ, the port says so in a comment:
// - `main` returns its exit code as in C; the last line of the file hands it to
//   `process.exitCode` (a top-level `return` is not allowed in a module).
// - Out-parameters (`&BytesSent`, `&Flags`) are `{ value }` objects, `NULL` is `null`.
// - Calls that block in Winsock (`WSAWaitForMultipleEvents`) return a Promise: `await` it.
// - printf becomes console.log, which understands the same `%s` and `%d`.
import { networkInterfaces } from "node:os";
import * as ws from "wsasendto";

/** C's `atoi`: leading blanks, an optional sign, then digits; 0 when there are none. */
function atoi(text) {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return match ? Number.parseInt(match[1], 10) | 0 : 0;
}

/**
 * The address `gethostbyname("")` would give first: this host's first IPv4 address that
 * is not loopback, or 0.0.0.0 (INADDR_ANY) on a host that has none.
 */
function firstHostIPv4() {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "0.0.0.0";
}

async function main(argc, argv) {
  //---------------------------------------------
  // Declare and initialize variables
  const wsaData = {}; // WSADATA
  const DataBuf = { len: 0, buf: null }; // WSABUF

  let Overlapped = null; // WSAOVERLAPPED
  let SendToSocket = ws.INVALID_SOCKET;

  const RecvAddr = { sin_family: 0, sin_port: 0, sin_addr: { s_addr: 0 } }; // struct sockaddr_in
  const LocalAddr = { sin_family: 0, sin_port: 0, sin_addr: { s_addr: 0 } }; // struct sockaddr_in
  const RecvAddrSize = ws.sizeof(RecvAddr);
  const LocalAddrSize = ws.sizeof(LocalAddr);

  // The C program binds to the fixed port 27777. Here that port is used only when
  // EXAMPLE_LOCAL_PORT asks for it (EXAMPLE_LOCAL_PORT=27777); by default the port is 0, so
  // the system picks a free one and two runs (or a receiver on 27777) never collide.
  const Port = atoi(process.env.EXAMPLE_LOCAL_PORT ?? "0") & 0xffff; // u_short
  // char *ip; char *targetip; char *targetport; are declared below where they are set
  // (const: each is set once).

  const SendBuf = Buffer.alloc(1024); // char SendBuf[1024] = "Data buffer to send";
  SendBuf.write("Data buffer to send", "latin1");
  const BufLen = 1024;
  const BytesSent = { value: 0 }; // DWORD, passed by address
  const Flags = { value: 0 }; // DWORD, passed by value to WSASendTo, by address to WSAGetOverlappedResult

  let rc;
  let err;
  let retval = 0;

  // Validate the parameters
  if (argc !== 3) {
    console.log("usage: %s targetip port", argv[0]);
    console.log("  to sendto the localhost on port 27777");
    console.log("       %s 127.0.0.1 27777", argv[0]);
    return 1;
  }

  const targetip = argv[1];
  const targetport = argv[2];

  //---------------------------------------------
  // Initialize Winsock
  // Load Winsock
  rc = ws.WSAStartup(ws.MAKEWORD(2, 2), wsaData);
  if (rc !== 0) {
    console.log("Unable to load Winsock: %d", rc);
    return 1;
  }

  // Make sure the Overlapped struct is zeroed out
  Overlapped = new ws.WSAOVERLAPPED(); // SecureZeroMemory((PVOID) &Overlapped, sizeof(WSAOVERLAPPED));

  // Create an event handle and setup the overlapped structure.
  Overlapped.hEvent = ws.WSACreateEvent();
  if (Overlapped.hEvent === ws.WSA_INVALID_EVENT) {
    console.log("WSACreateEvent failed with error: %d", ws.WSAGetLastError());
    ws.WSACleanup();
    return 1;
  }
  //---------------------------------------------
  // Create a socket for sending data
  SendToSocket = ws.WSASocket(ws.AF_INET, ws.SOCK_DGRAM, ws.IPPROTO_UDP, null, 0, ws.WSA_FLAG_OVERLAPPED);
  if (SendToSocket === ws.INVALID_SOCKET) {
    console.log("socket failed with error: %d", ws.WSAGetLastError());
    ws.WSACloseEvent(Overlapped.hEvent);
    ws.WSACleanup();
    return 1;
  }
  //---------------------------------------------
  // Set up the RecvAddr structure with the IP address of
  // the receiver (in this example case "123.123.123.1")
  // and the specified port number.
  RecvAddr.sin_family = ws.AF_INET;

  RecvAddr.sin_addr.s_addr = ws.inet_addr(targetip);
  if (RecvAddr.sin_addr.s_addr === ws.INADDR_NONE) {
    console.log("The target ip address entered must be a legal IPv4 address");
    ws.WSACloseEvent(Overlapped.hEvent);
    ws.WSACleanup();
    return 1;
  }
  RecvAddr.sin_port = ws.htons(atoi(targetport) & 0xffff); // htons( (u_short) atoi(targetport))
  if (RecvAddr.sin_port === 0) {
    console.log("The targetport must be a legal UDP port number");
    ws.WSACloseEvent(Overlapped.hEvent);
    ws.WSACleanup();
    return 1;
  }

  //---------------------------------------------
  // Set up the LocalAddr structure with the local IP address
  // and the specified port number.
  //
  // localHost = gethostbyname(""); ip = inet_ntoa(*(struct in_addr *) *localHost->h_addr_list);
  // gethostbyname("") (this host's own first address) has no counterpart in the facade,
  // which does no name lookups. A loopback target is reached from 127.0.0.1, so that is the
  // local address then; any other target gets what gethostbyname("") would typically return,
  // the host's first non-loopback IPv4 address (INADDR_ANY if it has none).
  const ip = ws.ntohl(RecvAddr.sin_addr.s_addr) >>> 24 === 127 ? "127.0.0.1" : firstHostIPv4();

  LocalAddr.sin_family = ws.AF_INET;
  LocalAddr.sin_addr.s_addr = ws.inet_addr(ip);
  LocalAddr.sin_port = ws.htons(Port);

  //---------------------------------------------
  // Bind the sending socket to the LocalAddr structure
  // that has the internet address family, local IP address
  // and specified port number.
  rc = ws.bind(SendToSocket, LocalAddr, LocalAddrSize);
  if (rc === ws.SOCKET_ERROR) {
    console.log("bind failed with error: %d", ws.WSAGetLastError());
    ws.WSACloseEvent(Overlapped.hEvent);
    ws.closesocket(SendToSocket);
    ws.WSACleanup();
    return 1;
  }
  // Not in the C program, which knows its port (27777): with port 0 the system picked one,
  // so read the address the socket is really bound to, for the message below.
  rc = ws.getsockname(SendToSocket, LocalAddr, { value: LocalAddrSize });
  if (rc === ws.SOCKET_ERROR) {
    console.log("getsockname failed with error: %d", ws.WSAGetLastError());
    ws.WSACloseEvent(Overlapped.hEvent);
    ws.closesocket(SendToSocket);
    ws.WSACleanup();
    return 1;
  }
  //---------------------------------------------
  // Send a datagram to the receiver
  console.log("Sending datagram from IPv4 address = %s port=%d", ws.inet_ntoa(LocalAddr.sin_addr), ws.ntohs(LocalAddr.sin_port));
  console.log("   to IPv4 address = %s port=%d", ws.inet_ntoa(RecvAddr.sin_addr), ws.ntohs(RecvAddr.sin_port));

  //    printf("Sending a datagram...\n");
  DataBuf.len = BufLen;
  DataBuf.buf = SendBuf;
  rc = ws.WSASendTo(SendToSocket, [DataBuf], 1, BytesSent, Flags.value, RecvAddr, RecvAddrSize, Overlapped, null);

  // biome-ignore lint/suspicious/noAssignInExpressions: the C condition, kept as written
  if (rc === ws.SOCKET_ERROR && ws.WSA_IO_PENDING !== (err = ws.WSAGetLastError())) {
    console.log("WSASendTo failed with error: %d", err);
    ws.WSACloseEvent(Overlapped.hEvent);
    ws.closesocket(SendToSocket);
    ws.WSACleanup();
    return 1;
  }

  rc = await ws.WSAWaitForMultipleEvents(1, [Overlapped.hEvent], true, ws.WSA_INFINITE, true);
  if (rc === ws.WSA_WAIT_FAILED) {
    console.log("WSAWaitForMultipleEvents failed with error: %d", ws.WSAGetLastError());
    retval = 1;
  }

  rc = ws.WSAGetOverlappedResult(SendToSocket, Overlapped, BytesSent, false, Flags);
  if (rc === false) {
    console.log("WSASendTo failed with error: %d", ws.WSAGetLastError());
    retval = 1;
  } else console.log("Number of sent bytes = %d", BytesSent.value);

  //---------------------------------------------
  // When the application is finished sending, close the socket.
  console.log("Finished sending. Closing socket.");
  ws.WSACloseEvent(Overlapped.hEvent);
  ws.closesocket(SendToSocket);
  console.log("Exiting.");

  //---------------------------------------------
  // Clean up and quit.
  ws.WSACleanup();
  return retval;
}

// int main(int argc, char **argv): argv[0] is the program (this script), as in C.
const argv = process.argv.slice(1);
const retval = await main(argv.length, argv);
process.exitCode = retval;
