// Preloaded by run.sh into Windows node.exe under Wine (`--import`, through NODE_OPTIONS so
// that child processes such as `node --test` workers get it too).
//
// Wine shows a Unix symlink to Windows programs as a plain directory: lstat says "not a
// link", so Node's own realpath keeps the link's path, and a package that pnpm links into
// two places (node_modules/wsasendto/node_modules/@wsasendto/core and
// node_modules/@wsasendto/core) is loaded twice, as two modules. fs.realpathSync.native
// (GetFinalPathNameByHandleW) does see through the links. This makes module resolution use
// it, for require() and for import, so that every package is loaded once from its real
// path, as on Linux.
import fs from "node:fs";
import { register } from "node:module";

const native = fs.realpathSync.native;
const lstatBased = fs.realpathSync;
function realpathSync(path, options) {
  try {
    return native(path, options);
  } catch {
    return lstatBased(path, options);
  }
}
realpathSync.native = native;
// CommonJS resolution calls fs.realpathSync(path, cacheOptions) at each lookup.
fs.realpathSync = realpathSync;

// ES modules: a resolve hook (in Node's hooks thread) that maps file: URLs to real paths.
register(
  `data:text/javascript,${encodeURIComponent(`
import { realpathSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (!result.url.startsWith("file:")) return result;
  try {
    const url = new URL(result.url);
    const real = pathToFileURL(realpathSync.native(fileURLToPath(url)));
    real.search = url.search;
    real.hash = url.hash;
    return { ...result, url: real.href };
  } catch {
    return result;
  }
}`)}`,
);
