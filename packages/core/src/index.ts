/**
 * @wsasendto/core: the WSASendTo contract. Winsock's constants, error codes and their
 * one translation from OS errors, address helpers, event objects, overlapped
 * operations, completion routines and alertable waits, the socket table and every
 * check Winsock makes, and the {@link Backend} interface that backends implement.
 */
export * from "./apc.js";
export * from "./backend.js";
export * from "./buffers.js";
export * from "./constants.js";
export { Deque, PendingQueue } from "./deque.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./inet.js";
export { WSAGetLastError, WSASetLastError } from "./last-error.js";
export * from "./ntstatus.js";
export * from "./operation.js";
export * from "./os-errors.js";
export { resolveSoon } from "./progress.js";
export * from "./receive.js";
export { literalLookup } from "./route.js";
export * from "./sockaddr.js";
export * from "./socket.js";
export * from "./startup.js";
export { ReadinessWatchers } from "./watchers.js";
export * from "./winsock.js";
