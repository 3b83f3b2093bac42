/**
 * wsasendto: Winsock's WSASendTo for Node.js on every operating system.
 *
 * `import * as ws from "wsasendto"` gives the Winsock facade of CONTRACT.md (every
 * call, constant and structure with its C name); {@link openUdpSocket} gives the
 * idiomatic API. Both run on the same core and the backend chosen by
 * `WSASENDTO_BACKEND` (`dgram`, `native`, `auto`). Only the core's public part is
 * re-exported: its internals (operations, queues, the socket table) are the backends'.
 */
import { configureBackends } from "@wsasendto/core";
import { selectBackend } from "./backends.js";

configureBackends(selectBackend);

export * from "@wsasendto/core/public";
export { type BackendName, selectBackend } from "./backends.js";
export * from "./udp-socket.js";
