/**
 * The node:test shim the Wine lane runs the suite with (scripts/wine/suite/): a sample file
 * written against Vitest's API, run by the lane's runner in a child process of this Node,
 * must count, skip, fail and order hooks as Vitest does. If the shim drifted from Vitest,
 * the Wine lane's counts would mean something else than the Linux lane's.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const runner = fileURLToPath(new URL("../../scripts/wine/suite/run.mjs", import.meta.url));
const sample = fileURLToPath(new URL("../fixtures/node-test-shim-sample.mjs", import.meta.url));

describe("the node:test lane's Vitest shim", () => {
  it("runs a Vitest-style file: 8 passed, 1 failed on purpose, 2 skipped, hooks in Vitest's order", {
    timeout: 60_000,
  }, async () => {
    // A runner of its own, also when this file itself runs under node --test (the Wine
    // lane), whose NODE_TEST_CONTEXT would make the inner runner report to this one.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [runner, sample], { cwd: root, env, timeout: 50_000 }, (err, stdout) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout });
      });
    });
    expect(stdout).toMatch(/^8 passed, 1 failed \(2 skipped, 0 todo; 1 files, /m);
    expect(stdout).toMatch(/✗ fails on purpose/);
    expect(stdout).not.toMatch(/✗ hooks and callbacks ran/);
    expect(code).toBe(1);
  });
});
