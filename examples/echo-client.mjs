// The echo client, with wsasendto's idiomatic API: for each request, sendTo the server,
// then receive its reply (bounded by an AbortSignal.timeout) and check that it is
// "echo: " + the request, from the server's address. The last request is "bye", which
// ends examples/echo-server.c and examples/echo-server.mjs.
//
//   node examples/echo-client.mjs PORT     (a server already listening on 127.0.0.1:PORT;
//                                           WSASENDTO_BACKEND=dgram|native|auto)
//
// examples/echo.mjs and `node examples/echo-server.mjs --self-test` import echoClient().
// Exit code 0 when every reply matched its request, 1 otherwise.
import { pathToFileURL } from "node:url";
import * as ws from "wsasendto";

export const REQUESTS = ["hello", "ping 1", "ping 2", "a longer request, gathered into the reply", "bye"];
export const PREFIX = "echo: ";
const REPLY_TIMEOUT_MS = 3000;

/**
 * Sends each request to 127.0.0.1:port and checks its reply. Resolves with how many
 * requests were sent, how many replies matched, and how many failed (wrong or no reply).
 */
export async function echoClient(port, { requests = REQUESTS, timeoutMs = REPLY_TIMEOUT_MS } = {}) {
  const client = ws.openUdpSocket({ bind: { address: "127.0.0.1", port: 0 } });
  const to = { address: "127.0.0.1", port };
  console.log(
    `client on 127.0.0.1:${client.localAddress().port} (${client.backend} backend), server on ${to.address}:${to.port}`,
  );

  let matched = 0;
  let failures = 0;
  const reply = Buffer.alloc(1500);
  try {
    for (const text of requests) {
      try {
        await client.sendTo(Buffer.from(text), to);
        console.log(`client: sent     "${text}"`);
        const { bytesReceived, from, truncated } = await client.receive(reply, { signal: AbortSignal.timeout(timeoutMs) });
        const got = reply.subarray(0, bytesReceived).toString();
        const ok = got === `${PREFIX}${text}` && !truncated && from.address === to.address && from.port === to.port;
        if (ok) matched++;
        else failures++;
        console.log(`client: got back "${got}" from ${from.address}:${from.port}${ok ? "" : "  <-- unexpected"}`);
      } catch (err) {
        failures++;
        console.log(`client: no reply to "${text}" (${err instanceof ws.WSAError ? err.code : err})`);
      }
    }
  } finally {
    client.close();
  }
  console.log(`client: ${requests.length} requests, ${matched} replies matched, ${failures} failed`);
  return { sent: requests.length, matched, failures };
}

// Run as a program: node examples/echo-client.mjs PORT
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.log("usage: node examples/echo-client.mjs PORT   (a server listening on 127.0.0.1:PORT)");
    process.exitCode = 2;
  } else {
    const { failures } = await echoClient(port);
    process.exitCode = failures === 0 ? 0 : 1;
  }
}
