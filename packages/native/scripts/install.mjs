// Install step of @wsasendto/native: use a prebuild that matches this platform, else build
// the addon from source with node-gyp against this machine's Node headers. A failure only
// warns: the `auto` backend then uses dgram and says why, and asking for `native` by name
// makes WSAStartup return WSASYSNOTREADY.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

function found() {
  try {
    return require("node-gyp-build").path(root);
  } catch {
    return null;
  }
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    join(dirname(process.execPath), "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

const force = process.argv.includes("--rebuild");
const existing = force ? null : found();
if (existing) {
  console.log(`@wsasendto/native: using ${existing}`);
  process.exit(0);
}
const gyp = nodeGyp();
const args = ["rebuild"];
// Node's own headers beside the running binary (official builds and Debian install them).
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h")))
  args.push(`--nodedir=${prefix}`);
const r = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: "inherit" })
  : spawnSync("node-gyp", args, { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
if (r.status === 0 && found()) {
  console.log(`@wsasendto/native: built ${found()}`);
} else {
  console.warn("@wsasendto/native: the addon could not be built here; the `auto` backend will use dgram instead.");
}
