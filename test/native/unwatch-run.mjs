// The calls that unwatch a real watcher, in a process of their own (addon-hostile.test.ts
// runs it): once unwatched, a watcher's memory is freed while its external still points
// to it (a library bug), so its finalizer, or a later call with it, reads freed memory and
// can crash the process that does it. Here every watcher stays referenced and the process
// exits with process.exit, so that no finalizer runs. Prints one JSON line:
//
//   node test/native/unwatch-run.mjs cases       { results: [{ fn, name, ok, outcome }] }
//     the positive control of unwatch, and watchers used again in the turn they were
//     unwatched (before the addon frees them);
//   node test/native/unwatch-run.mjs stale [n]   { stale: [{ want, fired }] }
//     up to n times, a watcher used again a turn after unwatch (see staleWatcherProbe):
//     with the bug it aliases a new watcher, or the process aborts in libuv.
import { loadBinding } from "@wsasendto/native";
import { openContext, positiveControls, runCase, specificCases, staleWatcherProbe } from "./hostile-cases.mjs";

const b = loadBinding();
if (typeof b === "string") {
  console.log(JSON.stringify({ error: b }));
  process.exit(2);
}
if (typeof b.watch !== "function") {
  console.log(JSON.stringify({ error: "this binding has no watchers (Windows: readiness is polled in JavaScript)" }));
  process.exit(2);
}
const ctx = openContext(b);
const mode = process.argv[2] ?? "cases";
let out;
if (mode === "stale") {
  out = { stale: await staleWatcherProbe(b, ctx.h, Number(process.argv[3] ?? 20)) };
} else {
  const results = [];
  for (const c of [...positiveControls(b, ctx), ...specificCases(b, ctx)].filter((c) => c.usesUnwatch)) {
    const r = await runCase(b, c);
    results.push({ fn: r.fn, name: r.name, ok: r.ok, outcome: r.outcome });
  }
  out = { results };
}
process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
