/**
 * What Windows keeps in `WSAOVERLAPPED.Internal`: the NTSTATUS of the I/O request (AFD
 * completes it with one), not the Winsock code. Programs read it through
 * `HasOverlappedIoCompleted` (`Internal != STATUS_PENDING`) and sometimes directly. This
 * table gives the NTSTATUS for each Winsock code an operation can complete with; the
 * Winsock code itself stays with the operation, for `WSAGetOverlappedResult` and the
 * completion routine's `dwError`, so nothing is lost in the translation back.
 */
import * as C from "./constants.js";

/** `STATUS_SUCCESS`. */
export const STATUS_SUCCESS = 0;
/** `STATUS_BUFFER_OVERFLOW`: a datagram larger than the buffers (`WSAEMSGSIZE`, `MSG_PARTIAL`). */
export const STATUS_BUFFER_OVERFLOW = 0x80000005;
/** `STATUS_CANCELLED`: an operation aborted by `closesocket` or a cancellation. */
export const STATUS_CANCELLED = 0xc0000120;

/**
 * The NTSTATUS for each Winsock code an operation can complete with: the status whose
 * translation by Windows' own NtStatusToSocketError (msafd) gives that code. The values
 * are those of ntstatus.h.
 */
export const NTSTATUS_OF_WSA: ReadonlyMap<number, number> = new Map([
  [0, STATUS_SUCCESS],
  [C.WSAEMSGSIZE, STATUS_BUFFER_OVERFLOW],
  [C.WSA_OPERATION_ABORTED, STATUS_CANCELLED],
  [C.WSAEINTR, STATUS_CANCELLED],
  [C.WSAECONNRESET, 0xc000023f], // STATUS_PORT_UNREACHABLE (an ICMP port-unreachable)
  [C.WSAENETUNREACH, 0xc000023c], // STATUS_NETWORK_UNREACHABLE
  [C.WSAEHOSTUNREACH, 0xc000023d], // STATUS_HOST_UNREACHABLE
  [C.WSAEHOSTDOWN, 0xc0000350], // STATUS_HOST_DOWN
  [C.WSAENOBUFS, 0xc000009a], // STATUS_INSUFFICIENT_RESOURCES
  [C.WSAEFAULT, 0xc0000005], // STATUS_ACCESS_VIOLATION
  [C.WSAEINVAL, 0xc000000d], // STATUS_INVALID_PARAMETER
  [C.WSAEACCES, 0xc0000022], // STATUS_ACCESS_DENIED
  [C.WSAENOTSOCK, 0xc0000008], // STATUS_INVALID_HANDLE
  [C.WSAEADDRNOTAVAIL, 0xc0000141], // STATUS_INVALID_ADDRESS
  [C.WSAEADDRINUSE, 0xc000020a], // STATUS_ADDRESS_ALREADY_EXISTS
  [C.WSAENETDOWN, 0xc00000c4], // STATUS_UNEXPECTED_NETWORK_ERROR
  [C.WSAESHUTDOWN, 0xc00000b0], // STATUS_PIPE_DISCONNECTED
  [C.WSAEWOULDBLOCK, 0xc00000a3], // STATUS_DEVICE_NOT_READY
  [C.WSAEOPNOTSUPP, 0xc00000bb], // STATUS_NOT_SUPPORTED
  [C.WSAECONNREFUSED, 0xc0000236], // STATUS_CONNECTION_REFUSED
  [C.WSAENOTCONN, 0xc0000140], // STATUS_INVALID_CONNECTION
  [C.WSAETIMEDOUT, 0xc00000b5], // STATUS_IO_TIMEOUT
  [C.WSAECONNABORTED, 0xc0000241], // STATUS_CONNECTION_ABORTED
]);

/** `STATUS_UNSUCCESSFUL`: the NTSTATUS of an error with none of its own (Windows reads it as `WSAEINVAL`). */
export const STATUS_UNSUCCESSFUL = 0xc0000001;

/** The NTSTATUS to keep in `Internal` for an operation that completed with `code`. */
export function ntstatusOf(code: number): number {
  return NTSTATUS_OF_WSA.get(code) ?? STATUS_UNSUCCESSFUL;
}
