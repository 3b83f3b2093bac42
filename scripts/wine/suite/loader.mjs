// Module hooks of the node:test lane (registered by hooks.mjs; they run in Node's hooks
// thread):
//   - `vitest` is vitest.mjs, the shim over node:test;
//   - a relative `./x.js` that does not exist but `./x.ts` does is the .ts, as TypeScript's
//     NodeNext resolution (and Vitest) read it;
//   - a .ts file loads as the JavaScript transpile.mjs wrote for it, under
//     WSASENDTO_SUITE_JS: <that directory>/<the file's absolute path, drive left out>.js.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SHIM = new URL("./vitest.mjs", import.meta.url).href;
const OUT = process.env.WSASENDTO_SUITE_JS;

export async function resolve(specifier, context, next) {
  if (specifier === "vitest") return { url: SHIM, shortCircuit: true };
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code === "ERR_MODULE_NOT_FOUND" && /^\.\.?\//.test(specifier) && specifier.endsWith(".js") && context.parentURL) {
      const ts = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
      if (existsSync(ts)) return { url: ts.href, shortCircuit: true };
    }
    throw err;
  }
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  if (!OUT) throw new Error(`${url}: WSASENDTO_SUITE_JS is not set (scripts/wine/suite/transpile.mjs writes it)`);
  const js = join(OUT, `${fileURLToPath(url).replace(/^[A-Za-z]:/, "")}.js`);
  if (!existsSync(js)) throw new Error(`${url}: not transpiled (no ${js}); run scripts/wine/suite/transpile.mjs`);
  return { format: "module", source: readFileSync(js, "utf8"), shortCircuit: true };
}
