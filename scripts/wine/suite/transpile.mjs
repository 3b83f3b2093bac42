// Transpiles the TypeScript the test files load (test/ and packages/*/src) to JavaScript,
// one file each, types stripped, for the node:test lane (loader.mjs reads it):
//   node scripts/wine/suite/transpile.mjs OUT_DIR
// OUT_DIR/<absolute path of the .ts>.js, with an inline source map (so that stacks name
// the .ts lines under --enable-source-maps). Runs on Linux, before node.exe starts:
// TypeScript's own transpiler, the same one `tsc -b` uses.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const out = process.argv[2];
if (!out) {
  console.error("usage: node scripts/wine/suite/transpile.mjs OUT_DIR");
  process.exit(2);
}

function* tsFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules" && entry.name !== "dist") yield* tsFiles(path);
    else if (entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) yield path;
  }
}

const dirs = [join(root, "test"), ...readdirSync(join(root, "packages")).map((p) => join(root, "packages", p, "src"))];
let count = 0;
for (const dir of dirs) {
  let files;
  try {
    files = [...tsFiles(dir)];
  } catch {
    continue; // a package without src/
  }
  for (const file of files) {
    const { outputText, diagnostics } = ts.transpileModule(readFileSync(file, "utf8"), {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
        inlineSourceMap: true,
        inlineSources: true,
      },
    });
    if (diagnostics?.length) {
      console.error(
        ts.formatDiagnostics(diagnostics, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => root,
          getNewLine: () => "\n",
        }),
      );
      process.exit(1);
    }
    const target = join(out, `${file.replace(/^[A-Za-z]:/, "")}.js`); // as loader.mjs looks it up
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    count++;
  }
}
console.log(`transpile.mjs: ${count} TypeScript files -> ${out}`);
