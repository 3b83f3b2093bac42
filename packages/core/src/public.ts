/**
 * What users of the library see: the Winsock facade of CONTRACT.md (every call, constant,
 * error code and structure with its C name) and the helpers its documentation names. The
 * package `wsasendto` re-exports exactly this; the rest of the core (operations, queues,
 * address parsing, the socket table) is for backends and stays out of the facade, so that
 * a user cannot reach state the facade's calls rely on.
 */
export { SleepEx } from "./apc.js";
export type { WSABUF } from "./buffers.js";
export * from "./constants.js";
export * from "./errors.js";
export {
  WSACloseEvent,
  WSACreateEvent,
  WSAEVENT,
  WSAResetEvent,
  WSASetEvent,
  WSAWaitForMultipleEvents,
} from "./events.js";
export {
  htonl,
  htons,
  inet_addr,
  inet_ntoa,
  inet_ntop,
  inet_pton,
  MAKEWORD,
  ntohl,
  ntohs,
} from "./inet.js";
export { ioctlsocket, WSAIoctl } from "./ioctl.js";
export { WSAGetLastError, WSASetLastError } from "./last-error.js";
export { NTSTATUS_OF_WSA, STATUS_BUFFER_OVERFLOW, STATUS_CANCELLED, STATUS_SUCCESS } from "./ntstatus.js";
export { type CompletionRoutine, HasOverlappedIoCompleted, WSAOVERLAPPED } from "./operation.js";
export { errnoName, OS_ERROR_TO_WSA, wsaFromOsError } from "./os-errors.js";
export {
  FD_CLR,
  FD_ISSET,
  FD_SET,
  FD_ZERO,
  fd_set,
  select,
  type timeval,
  WSAEnumNetworkEvents,
  WSAEventSelect,
  type WSANETWORKEVENTS,
  type WSAPOLLFD,
  WSAPoll,
} from "./readiness.js";
export type { IN_ADDR, SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6 } from "./sockaddr.js";
export { sizeof } from "./sockaddr.js";
export { backendName, backendUnavailableReason, WSACleanup, type WSADATA, WSAStartup } from "./startup.js";
export * from "./winsock.js";
