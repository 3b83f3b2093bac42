// The hostile calls of test/native/hostile-cases.mjs as a plain node script (no vitest),
// so that they can run under valgrind (scripts/valgrind-addon.sh). Prints one line per
// unexpected result and per library bug it reproduces, then
// "addon hostile: N calls, 0 crashes" (reaching the end is surviving). Exit status: 0 when
// every result was as expected (bugs it knows about do not count), 1 otherwise, 2 when the
// addon does not load.
//
//   node test/native/hostile-run.mjs [--skip-known-bugs] [--valgrind]
//
// --skip-known-bugs (triage only): leaves out the calls that reproduce the known library
// bugs, every unwatch included (an unwatched watcher is read after free when its external
// is finalized), so that valgrind can tell whether anything else is wrong.
//
// --valgrind (scripts/valgrind-addon.sh passes it):
//   - the getters that detach a view in the middle of a call also run two minor GCs, so
//     that the detached bytes the addon still points at are really freed and valgrind
//     sees the reads and writes of freed memory (outside valgrind that write, by recv,
//     corrupts the heap and glibc aborts: without the flag the bytes stay allocated,
//     owned by the dropped clone, and the bug shows in the results only);
//   - the process ends by itself, so that the watchers' finalizers run at exit (without
//     the flag it calls process.exit, and no finalizer runs).
//
// Without --skip-known-bugs a watcher is also used again a turn after unwatch, once the
// addon has freed it (valgrind: invalid reads in js_want and js_unwatch; outside valgrind
// the stale watcher often aliases a new one).
import v8 from "node:v8";
import vm from "node:vm";
import { loadBinding } from "@wsasendto/native";
import {
  closeContext,
  EINVAL,
  knownBugCases,
  openContext,
  positiveControls,
  runCase,
  specificCases,
  staleWatcherProbe,
  sweepCases,
} from "./hostile-cases.mjs";

const skipKnownBugs = process.argv.includes("--skip-known-bugs");
const underValgrind = process.argv.includes("--valgrind");
const started = Date.now();

const loaded = loadBinding();
if (typeof loaded === "string") {
  console.log(`addon hostile: ${loaded}`);
  process.exit(2);
}
// With --skip-known-bugs nothing is ever unwatched: watchers are left to their finalizers.
const b = skipKnownBugs ? { ...loaded, unwatch: () => 0 } : loaded;

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
const minorGc = () => {
  // The second GC finishes the first one's array-buffer sweep: the bytes are freed by then.
  gc({ type: "minor" });
  gc({ type: "minor" });
};

const ctx = openContext(b);
let calls = 0;
const unexpected = [];
const reproduced = new Map();
/** Calls that reach a memory bug only valgrind can see (their results may look right). */
const memoryProbes = new Map();
const probe = (bug) => memoryProbes.set(bug, (memoryProbes.get(bug) ?? 0) + 1);

async function runAll(cases) {
  for (const c of cases) {
    if (skipKnownBugs && (c.knownBug || c.memoryBug || c.usesUnwatch || c.fn === "unwatch")) continue;
    const r = await runCase(b, c);
    calls++;
    if (c.knownBug === "getter-detaches-view" || c.memoryBug) probe(c.memoryBug ?? c.knownBug);
    if (c.knownBug && !r.ok) {
      const seen = reproduced.get(c.knownBug);
      reproduced.set(c.knownBug, seen ? { ...seen, n: seen.n + 1 } : { n: 1, first: `${c.fn}: ${c.name}: ${r.outcome}` });
    } else if (!r.ok) unexpected.push(`${c.fn}: ${c.name}: ${r.outcome}`);
  }
}

const controls = positiveControls(b, ctx);
await runAll(controls);
await runAll(sweepCases(b, ctx));
await runAll(specificCases(b, ctx));
if (!skipKnownBugs) await runAll(knownBugCases(b, ctx, { forceGc: underValgrind ? minorGc : null }));
// The stale-watcher probe needs watchers (POSIX; the Windows binding has none).
if (!skipKnownBugs && typeof b.watch === "function") {
  // A watcher used again a turn after unwatch, once the addon freed it: valgrind sees the
  // read of freed memory; outside valgrind the new watcher often gets that memory.
  const tries = await staleWatcherProbe(b, ctx.h, underValgrind ? 1 : 5);
  calls += tries.length * 3;
  probe("watcher-use-after-free");
  const alias = tries.find((t) => t.want !== -EINVAL || t.fired > 0);
  if (alias)
    reproduced.set("watcher-use-after-free", {
      n: 1,
      first: `want() on a watcher unwatched a turn before returned ${alias.want} and started another watcher (fired ${alias.fired})`,
    });
}
closeContext(b, ctx);

for (const line of unexpected) console.log(`unexpected: ${line}`);
for (const [bug, { n, first }] of reproduced) console.log(`known bug ${bug} (${n} calls), e.g. ${first.split("\n")[0]}`);
if (memoryProbes.size > 0)
  console.log(
    `memory probes (valgrind's verdict${underValgrind ? "" : "; run with --valgrind under valgrind"}): ` +
      [...memoryProbes].map(([bug, n]) => `${bug} (${n} calls)`).join(", "),
  );
console.log(
  `addon hostile: ${calls} calls, 0 crashes` +
    ` (${controls.length} positive controls, ${unexpected.length} unexpected, ${reproduced.size} known bugs reproduced,` +
    ` ${skipKnownBugs ? "known bugs skipped, " : ""}${Date.now() - started} ms)`,
);
const code = unexpected.length === 0 ? 0 : 1;
// Under valgrind the process ends by itself, so that the watchers' finalizers run (and
// valgrind sees them); elsewhere it exits at once: a finalizer of an unwatched watcher
// reads freed memory (the bug above) and can abort the process.
if (underValgrind) process.exitCode = code;
else process.exit(code);
