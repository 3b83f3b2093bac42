/**
 * The calling thread's last Winsock error. Module state is per isolate, so a worker
 * thread has its own, as each Windows thread has its own.
 */
let lastError = 0;

/** `WSAGetLastError()`: the last error of this thread. */
export function WSAGetLastError(): number {
  return lastError;
}

/** `WSASetLastError(iError)`. */
export function WSASetLastError(iError: number): void {
  lastError = typeof iError === "number" && Number.isFinite(iError) ? iError | 0 : 0;
}

/** Sets the last error (internal spelling). */
export function setLastError(code: number): void {
  lastError = code;
}
