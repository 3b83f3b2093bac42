/**
 * The echo examples, run as their users run them (a child process per run, the backend
 * chosen by WSASENDTO_BACKEND): examples/echo-server.mjs --self-test (the Winsock-style
 * server ported from examples/echo-server.c, non-blocking with WSAEventSelect, answering
 * examples/echo-client.mjs in the same process) and examples/echo.mjs (an overlapped
 * server with completion routines, answering the same client). Each must exit 0 by
 * itself, every request answered with "echo: " + the request. Loopback only; every port
 * comes from the system (port 0).
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BACKENDS } from "../backends.js";

/** What examples/echo-client.mjs sends, in order (the last one ends the server). */
const REQUESTS = ["hello", "ping 1", "ping 2", "a longer request, gathered into the reply", "bye"];
/** Bounds each run: 5 requests of at most 3 s each, plus the server's 10 s idle timeout. */
const RUN_TIMEOUT_MS = 30_000;
const TEST = { timeout: RUN_TIMEOUT_MS + 10_000 } as const;

const examples = fileURLToPath(new URL("../../examples/", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: readonly string[];
  readonly output: string;
}

/** Runs `node examples/<script> ...args` with WSASENDTO_BACKEND=backend; never rejects. */
function runExample(script: string, args: readonly string[], backend: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${examples}${script}`, ...args],
      { cwd: root, env: { ...process.env, WSASENDTO_BACKEND: backend }, timeout: RUN_TIMEOUT_MS, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        const signal = error?.signal ?? null;
        const lines = stdout.split("\n").filter((line) => line !== "");
        resolve({ code, signal, lines, output: `exit ${code} ${signal ?? ""}\n--- stdout\n${stdout}--- stderr\n${stderr}` });
      },
    );
  });
}

/** The port of the first line `echo server on 127.0.0.1:PORT`. */
function serverPort(run: Run): number {
  const match = /^echo server on 127\.0\.0\.1:(\d+)$/.exec(run.lines[0] ?? "");
  expect(match, run.output).not.toBeNull();
  return Number(match?.[1]);
}

/** The client's own line: its port, and the backend it reports. */
function clientLine(run: Run, serverPort: number): { port: number; backend: string } {
  const pattern = new RegExp(`^client on 127\\.0\\.0\\.1:(\\d+) \\((\\w+) backend\\), server on 127\\.0\\.0\\.1:${serverPort}$`);
  const found = run.lines.map((line) => pattern.exec(line)).filter((m) => m !== null);
  expect(found, run.output).toHaveLength(1);
  return { port: Number(found[0]?.[1]), backend: found[0]?.[2] ?? "" };
}

/** Every request sent once and answered with "echo: " + it, from the server, in order, and the server saw each. */
function expectEveryRequestAnswered(run: Run, server: number, client: number): void {
  const sent = run.lines.filter((line) => line.startsWith("client: sent "));
  const back = run.lines.filter((line) => line.startsWith("client: got back ") || line.startsWith("client: no reply"));
  const got = run.lines.filter((line) => line.startsWith("server: got "));
  expect(sent, run.output).toEqual(REQUESTS.map((text) => `client: sent     "${text}"`));
  expect(back, run.output).toEqual(REQUESTS.map((text) => `client: got back "echo: ${text}" from 127.0.0.1:${server}`));
  expect(got, run.output).toEqual(REQUESTS.map((text) => `server: got ${text.length} bytes from 127.0.0.1:${client}`));
  expect(run.lines, run.output).toContain(`client: ${REQUESTS.length} requests, ${REQUESTS.length} replies matched, 0 failed`);
  expect(run.output).not.toMatch(/unexpected|failed with error/);
}

describe.each(BACKENDS)("the echo examples on $name", (backend) => {
  it(
    "echo-server.mjs --self-test: the Winsock-style server (WSAEventSelect) answers every request of the client",
    TEST,
    async () => {
      const run = await runExample("echo-server.mjs", ["0", "--self-test"], backend.name);
      expect({ code: run.code, signal: run.signal }, run.output).toEqual({ code: 0, signal: null });
      const server = serverPort(run);
      expect(server).toBeGreaterThan(0);
      const client = clientLine(run, server);
      expect(client.backend).toBe(backend.name);
      expectEveryRequestAnswered(run, server, client.port);
      // "bye" ended the server (not its idle timeout), after its reply.
      expect(run.lines, run.output).toContain(`server: bye after ${REQUESTS.length} replies`);
      expect(run.output).not.toMatch(/idle for/);
      expect(run.lines.at(-1), run.output).toBe(
        `self-test: server exited with 0, client ${REQUESTS.length}/${REQUESTS.length} matched`,
      );
    },
  );

  it("echo.mjs: the overlapped server (completion routines) answers every request of the same client", TEST, async () => {
    const run = await runExample("echo.mjs", [], backend.name);
    expect({ code: run.code, signal: run.signal }, run.output).toEqual({ code: 0, signal: null });
    const server = serverPort(run);
    const client = clientLine(run, server);
    expect(client.backend).toBe(backend.name);
    expectEveryRequestAnswered(run, server, client.port);
    expect(run.lines.at(-1), run.output).toBe(`${REQUESTS.length} requests, ${REQUESTS.length} answered, 0 failed`);
  });
});
