/**
 * Long timeouts wait in full. Any DWORD below INFINITE is a time to wait, also beyond
 * setTimeout's limit (2^31 - 1 ms, past which Node fires at once): SleepEx(2^31) and
 * WSAWaitForMultipleEvents(..., 3e9, ...) must not end after a millisecond. The waits run
 * in a child process (test/fixtures/long-timeouts.mjs), which exits with the timers armed.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";

const fixture = fileURLToPath(new URL("../fixtures/long-timeouts.mjs", import.meta.url));

function runFixture(backend: string): Promise<{ early: Record<string, number>; afterSet: number | null }> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [fixture, backend], { timeout: 8000 }, (error, stdout) =>
      error ? reject(error) : resolve(JSON.parse(stdout.trim())),
    ),
  );
}

describe.each(BACKENDS)("long timeouts on $name", (backend) => {
  it("SleepEx(2^31), SleepEx(0xfffffffe) and WSAWaitForMultipleEvents(3e9) are still waiting after 300 ms", {
    timeout: 10_000,
  }, async () => {
    const { early, afterSet } = await runFixture(backend.name);
    expect(early).toEqual({});
    // The event wait was live all along: setting its event ended it with WSA_WAIT_EVENT_0.
    expect(afterSet).toBe(0);
  });
});
