/**
 * The buffers of an operation in flight belong to the library until it completes, even
 * when the caller keeps no reference to them: WSABUFs, their views and the WSAOVERLAPPED
 * built inline in the call and dropped after it must survive a garbage collection while
 * the send or receive waits (on Windows the addon holds the views the kernel writes into
 * or reads from; a collected view would be memory the kernel still uses).
 *
 * Garbage collection is forced, so each run is a child process started with --expose-gc
 * (test/fixtures/pending-buffers-gc.mjs; the Vitest workers and the Wine runner do not
 * pass the flag), which prints one JSON line.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/pending-buffers-gc.mjs", import.meta.url));
const RUN_MS = 30_000;
const scale = Number(process.env.WSASENDTO_TEST_TIMEOUT_SCALE) || 1;

function runFixture(backend: string, mode: "send" | "receive"): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--expose-gc", FIXTURE, backend, mode],
      { timeout: RUN_MS * scale, encoding: "utf8" },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("{"));
        resolve(
          line ? (JSON.parse(line) as Record<string, unknown>) : { error: `no report (${error?.message}): ${stdout} ${stderr}` },
        );
      },
    );
  });
}

describe.each(BACKENDS)("buffers of operations in flight through a garbage collection on $name", (backend) => {
  it("220 overlapped sends from inline WSABUFs, gc() while in flight: each routine runs once with its bytes; every datagram arrives intact", {
    timeout: (RUN_MS + 5_000) * scale,
  }, async () => {
    const report = await runFixture(backend.name, "send");
    expect(report.error, "the fixture's error").toBeUndefined();
    expect(report.backend).toBe(backend.name);
    expect(report.refused).toEqual([]);
    expect(report.routines).toBe(220);
    expect(report.bad, "routines that did not run exactly once with (0, bytes)").toEqual([]);
    // Wine (dgram): a send that waited lost its destination and failed, once, unsent.
    const lost = backend.deviations.pendingSendsDelivered ? 0 : (report.lost as number);
    expect(report.lost).toBe(lost);
    expect(report.received).toBe(220 - lost);
    expect(report.intact).toBe(220 - lost);
  });

  it("20 overlapped WSARecvFrom and 20 receive() into inline buffers, gc() while they wait: each completes once with the whole datagram", {
    timeout: (RUN_MS + 5_000) * scale,
  }, async () => {
    const report = await runFixture(backend.name, "receive");
    expect(report.error, "the fixture's error").toBeUndefined();
    expect(report.backend).toBe(backend.name);
    expect(report.refused, "each overlapped receive pends (nothing was waiting)").toEqual([]);
    expect(report.routines).toBe(20);
    expect(report.bad, "routines that did not run exactly once with (0, 4005)").toEqual([]);
    expect(report.idiomatic).toBe(20);
    expect(report.badIdiomatic).toEqual([]);
  });
});
