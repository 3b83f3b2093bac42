/**
 * Sends in flight keep the Node process alive until they complete, as pending node:dgram
 * sends do: a program whose only work is a burst of sends it awaits must see every
 * result, then exit by itself. (A send waiting in the kernel, or coalesced for the end of
 * the run, that kept nothing alive would let Node end the program at its top-level await,
 * exit code 13, before the results.) Each run is a child process
 * (test/fixtures/send-keepalive.mjs) with nothing else alive.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/send-keepalive.mjs", import.meta.url));
const scale = Number(process.env.WSASENDTO_TEST_TIMEOUT_SCALE) || 1;
const KILL_MS = 8000 * scale;
const N = 50;
const BYTES = Buffer.byteLength("keep me alive");

function runFixture(backend: string, api: string): Promise<{ code: number | null; lines: string[] }> {
  const child = spawn(process.execPath, [FIXTURE, backend, api], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  const killer = setTimeout(() => child.kill(), KILL_MS);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, lines });
    }),
  );
}

describe.each(BACKENDS)("sends in flight keep the process alive on $name", (backend) => {
  for (const api of ["idiomatic", "blocking"] as const) {
    it(`${N} ${api === "idiomatic" ? "sendTo()" : "blocking WSASendTo"} of one run, awaited at the top level: every result comes, then the process exits 0 by itself`, {
      timeout: KILL_MS + 5000,
    }, async () => {
      const run = await runFixture(backend.name, api);
      expect(run.lines, "what the fixture printed").toEqual([`sent ${N} ${N * BYTES}`]);
      expect(run.code, "exit code (13: ended at an unsettled top-level await; null: killed, never exited)").toBe(0);
    });
  }
});
