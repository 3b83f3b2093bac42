// Runs the Vitest test files (vitest.config.ts' `test/**/*.test.ts`, or the files named)
// under node:test, one process per file, one file at a time, in a Node where Vitest cannot
// run (Windows node.exe under Wine):
//   node scripts/wine/suite/run.mjs [file.test.ts ...]
// The TypeScript is transpiled first (transpile.mjs) unless WSASENDTO_SUITE_JS names a
// directory it was transpiled to already. Each file's process imports hooks.mjs (`vitest`
// is vitest.mjs, .ts loads as its transpiled JavaScript). Prints one line per file, every
// failure, and "N passed, N failed (...)"; exits 1 if any test failed.
//   WSASENDTO_SUITE_FILE_TIMEOUT   seconds a file may take (default 300)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import reporter from "./reporter.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../../..");

function* testFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* testFiles(path);
    else if (entry.isFile() && entry.name.endsWith(".test.ts")) yield path;
  }
}
const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => resolve(f)) : [...testFiles(join(root, "test"))].sort();

let transpiled = null;
if (!process.env.WSASENDTO_SUITE_JS) {
  transpiled = mkdtempSync(join(tmpdir(), "wsasendto-suite-"));
  execFileSync(process.execPath, [join(here, "transpile.mjs"), transpiled], { stdio: "inherit" });
  process.env.WSASENDTO_SUITE_JS = transpiled;
}
// Each file's process: the hooks, source maps for the stacks.
process.env.NODE_OPTIONS = [
  process.env.NODE_OPTIONS,
  `--import=${pathToFileURL(join(here, "hooks.mjs")).href}`,
  "--enable-source-maps",
]
  .filter(Boolean)
  .join(" ");

console.log(`node:test lane: ${files.length} files in ${process.execPath} (${process.version}, ${process.platform})`);
// The addon binary the native backend will load (node-gyp-build's choice, as the backend makes it).
try {
  const native = join(root, "packages", "native");
  console.log(`native addon: ${createRequire(join(native, "package.json"))("node-gyp-build").path(native)}`);
} catch (err) {
  console.log(`native addon: none (${String(err?.message ?? err).split("\n")[0]})`);
}
const fileTimeout = (Number(process.env.WSASENDTO_SUITE_FILE_TIMEOUT) || 300) * 1000;
let failed = false;
const stream = run({ files, concurrency: 1, timeout: fileTimeout });
stream.on("test:fail", () => {
  failed = true;
});
// File lines name the files from the repository root.
const prefix = `${root}${root.includes("\\") ? "\\" : "/"}`;
for await (const line of stream.compose(reporter)) {
  const named = /^[✓✗-] /.test(line) && line.slice(2).startsWith(prefix);
  process.stdout.write(named ? line.slice(0, 2) + line.slice(2 + prefix.length) : line);
}
if (transpiled) rmSync(transpiled, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
