/**
 * Where the native addon cannot load (here: node-gyp-build told to look at prebuilds only,
 * and there is none for this platform), `auto` uses dgram and says why once, and asking
 * for `native` by name makes WSAStartup return WSASYSNOTREADY. Each case runs in a
 * process of its own, since a process loads the addon (or fails to) once.
 *
 * "No prebuild for this platform" is made so on every OS: PREBUILDS_ONLY=1 keeps
 * node-gyp-build away from build/Release, and npm_config_platform (which node-gyp-build
 * takes for os.platform()) names a platform nobody builds for. Windows has a real prebuild
 * (packages/native/prebuilds/win32-x64, which the Wine lane loads): PREBUILDS_ONLY alone
 * would still find it.
 */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { T } from "../helpers.js";

const SCRIPT = `
import * as ws from "wsasendto";
const warnings = [];
process.on("warning", (w) => warnings.push(w.code));
const rc = ws.WSAStartup(ws.MAKEWORD(2, 2), {});
const again = ws.openUdpSocket().backend;
await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify({ rc, backend: ws.backendName(), again, warnings }));
`;

/** A platform with no prebuilds/<platform>-<arch> directory (node-gyp-build reads npm_config_platform). */
const NO_SUCH_PLATFORM = "wsasendto-no-such-platform";

function run(backend: string): Promise<{ rc: number; backend: string; again?: string; warnings: string[] }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        SCRIPT.replace("ws.openUdpSocket().backend", backend === "auto" ? "ws.openUdpSocket().backend" : "undefined"),
      ],
      {
        env: { ...process.env, PREBUILDS_ONLY: "1", npm_config_platform: NO_SUCH_PLATFORM, WSASENDTO_BACKEND: backend },
        cwd: process.cwd(),
        timeout: 10_000,
      },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout))),
    );
  });
}

describe("without the native addon (no prebuild for this platform, and the build not looked at)", () => {
  it("auto uses dgram, and says why once", T, async () => {
    const out = await run("auto");
    expect(out).toMatchObject({ rc: 0, backend: "dgram", again: "dgram" });
    expect(out.warnings).toEqual(["WSASENDTO_NO_NATIVE"]);
  });

  it("native asked for by name: WSAStartup returns WSASYSNOTREADY", T, async () => {
    const out = await run("native");
    expect(out.rc).toBe(10091);
    expect(out.backend).toBe("none");
  });
});
