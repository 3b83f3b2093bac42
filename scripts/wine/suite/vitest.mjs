// The part of Vitest's API that the test files use (`describe`, `it`, `expect`, hooks,
// `.each`, `.for`, `.skipIf`, `onTestFinished`), over `node:test`, so that the same files
// run where Vitest itself cannot load: Windows node.exe under Wine (its bundler's Windows
// binding does not load there). hooks.mjs maps `import ... from "vitest"` here.
//
// `expect` is Vitest's own (`@vitest/expect`: Jest's matchers as a Chai plugin, set up as
// Vitest sets it up), so assertions mean the same on both lanes. What differs is only the
// runner: node:test, one process per file (`node --test`), tests in order, as the
// repository's vitest.config.ts runs them.
import * as nodeTest from "node:test";
import { inspect } from "node:util";
import {
  ASYMMETRIC_MATCHERS_OBJECT,
  ChaiStyleAssertions,
  chai,
  GLOBAL_EXPECT,
  getState,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  setState,
} from "@vitest/expect";

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

/** Vitest's `expect` (as vitest/dist builds it in createExpect, without snapshots or polls). */
export const expect = (value, message) => {
  const { assertionCalls } = getState(expect);
  setState({ assertionCalls: assertionCalls + 1 }, expect);
  return chai.expect(value, message);
};
Object.assign(expect, chai.expect);
Object.assign(expect, globalThis[ASYMMETRIC_MATCHERS_OBJECT]);
expect.getState = () => getState(expect);
expect.setState = (state) => setState(state, expect);
expect.extend = (matchers) => chai.expect.extend(expect, matchers);
setState(
  {
    assertionCalls: 0,
    isExpectingAssertions: false,
    isExpectingAssertionsError: null,
    expectedAssertionsNumber: null,
    expectedAssertionsNumberErrorGen: null,
    currentTestName: "",
  },
  expect,
);
globalThis[GLOBAL_EXPECT] = expect;

/**
 * Timeouts: vitest.config.ts' 10 s for tests and hooks, or the test's own, times
 * WSASENDTO_TEST_TIMEOUT_SCALE (the Wine lane runs slower than Linux).
 */
const SCALE = Number(process.env.WSASENDTO_TEST_TIMEOUT_SCALE) || 1;
const DEFAULT_TIMEOUT = 10_000;
function timeoutOf(option) {
  const ms = typeof option === "number" ? option : (option?.timeout ?? DEFAULT_TIMEOUT);
  return Math.round(ms * SCALE);
}

/**
 * The hooks of each suite, run by the test bodies here rather than by node:test: node:test
 * leaves out `afterEach` for a test skipped while it runs (Vitest's `context.skip()`), which
 * would leave that test's sockets and WSAStartup behind for the next one.
 */
let scope = { beforeEach: [], afterEach: [], parent: null };
function inScope(fn) {
  return (...args) => {
    scope = { beforeEach: [], afterEach: [], parent: scope };
    try {
      return fn(...args);
    } finally {
      scope = scope.parent;
    }
  };
}

/** The running test's `onTestFinished` / `onTestFailed` callbacks (tests run one at a time). */
let current = null;
const SKIP = Symbol("skip");

/**
 * A test body for node:test, as Vitest runs one: the `beforeEach` hooks (outermost suite
 * first), the test with Vitest's context, the `afterEach` hooks (innermost first, newest
 * first), then the `onTestFinished` callbacks (newest first). The first error fails it.
 */
function body(fn, argsFor) {
  const hooks = scope;
  return async (t) => {
    const record = { finished: [], failed: [] };
    current = record;
    const context = {
      onTestFinished: (cb) => record.finished.push(cb),
      onTestFailed: (cb) => record.failed.push(cb),
      signal: t.signal,
      // Vitest's skip(): skip(), skip(note), skip(condition, note); it ends the test.
      skip: (condition, note) => {
        if (condition === false) return;
        throw { [SKIP]: typeof condition === "string" ? condition : note };
      },
      task: { name: t.name },
      expect,
    };
    setState({ assertionCalls: 0, currentTestName: t.name }, expect);
    const chain = [];
    for (let s = hooks; s; s = s.parent) chain.unshift(s);
    let failure = null;
    let skipped = null;
    const attempt = async (step) => {
      try {
        await step();
      } catch (err) {
        if (typeof err === "object" && err !== null && SKIP in err) skipped ??= { note: err[SKIP] };
        else failure ??= { err };
      }
    };
    const teardowns = [];
    let ready = true;
    for (const s of chain) {
      for (const hook of s.beforeEach) {
        if (!ready) break;
        await attempt(async () => {
          const teardown = await hook(context);
          if (typeof teardown === "function") teardowns.push(teardown);
        });
        if (failure || skipped) ready = false;
      }
    }
    if (ready) await attempt(() => fn(...argsFor(context)));
    if (current === record) current = null;
    for (const teardown of teardowns.reverse()) await attempt(() => teardown(context));
    for (const s of [...chain].reverse()) {
      for (const hook of [...s.afterEach].reverse()) await attempt(() => hook(context));
    }
    if (failure) for (const cb of record.failed.reverse()) await Promise.resolve(cb(context)).catch(() => {});
    for (const cb of record.finished.reverse()) await attempt(() => cb(context));
    if (failure) throw failure.err;
    if (skipped) t.skip(skipped.note);
  };
}

/** `it(name, fn, timeout?)` or `it(name, options, fn)`, as Vitest takes them. */
function split(a, b) {
  return typeof a === "function" ? { fn: a, options: b } : { fn: b, options: a };
}

/** Vitest's test-name templates: printf's %s %d %i %f %j %o %O %# %%, and $key.path on objects. */
function formatName(template, row, index) {
  const args = Array.isArray(row) ? row : [row];
  let next = 0;
  const show = (v) => (typeof v === "string" ? v : inspect(v, { depth: 1, breakLength: Number.POSITIVE_INFINITY }));
  let name = String(template).replace(/%([sdifjoO#%])/g, (whole, kind) => {
    if (kind === "%") return "%";
    if (kind === "#") return String(index);
    if (next >= args.length) return whole;
    const v = args[next++];
    if (kind === "d" || kind === "i") return String(Math.trunc(Number(v)));
    if (kind === "f") return String(Number(v));
    if (kind === "j") return JSON.stringify(v);
    return show(v);
  });
  if (row !== null && typeof row === "object" && !Array.isArray(row)) {
    name = name.replace(/\$([A-Za-z_][\w.]*)/g, (whole, path) => {
      let v = row;
      for (const key of path.split(".")) v = v?.[key];
      return v === undefined && !(path in row) ? whole : show(v);
    });
  }
  return name;
}

function makeTest(skip) {
  const define = (name, a, b) => {
    const { fn, options } = split(a, b);
    const opts = { timeout: timeoutOf(options), skip: skip || options?.skip === true || !fn };
    return nodeTest.it(String(name), opts, fn ? body(fn, (ctx) => [ctx]) : undefined);
  };
  // One test per row, named from the template; argsFor(row, context) is what fn gets.
  const rowsOf = (argsFor) => (rows) => (name, a, b) => {
    const { fn, options } = split(a, b);
    [...rows].forEach((row, i) => {
      const opts = { timeout: timeoutOf(options), skip };
      nodeTest.it(
        formatName(name, row, i),
        opts,
        body(fn, (ctx) => argsFor(row, ctx)),
      );
    });
  };
  // each: rows that are arrays are spread into the arguments; no context.
  define.each = rowsOf((row) => (Array.isArray(row) ? row : [row]));
  // for: each row as one argument, then the context.
  define.for = rowsOf((row, ctx) => [row, ctx]);
  return define;
}

function makeDescribe(skip) {
  const define = (name, a, b) => {
    const { fn } = split(a, b);
    return nodeTest.describe(String(name), { skip }, inScope(fn));
  };
  define.each = (rows) => (name, a, b) => {
    const { fn } = split(a, b);
    [...rows].forEach((row, i) => {
      nodeTest.describe(
        formatName(name, row, i),
        { skip },
        inScope(() => (Array.isArray(row) ? fn(...row) : fn(row))),
      );
    });
  };
  define.for = (rows) => (name, a, b) => {
    const { fn } = split(a, b);
    [...rows].forEach((row, i) => {
      nodeTest.describe(
        formatName(name, row, i),
        { skip },
        inScope(() => fn(row)),
      );
    });
  };
  return define;
}

function withModifiers(make) {
  const run = make(false);
  const skipped = make(true);
  run.skip = skipped;
  run.skipIf = (condition) => (condition ? skipped : run);
  run.runIf = (condition) => (condition ? run : skipped);
  // Files run one test at a time here, as vitest.config.ts runs them.
  run.concurrent = run;
  run.sequential = run;
  run.todo = (name) => nodeTest.it(String(name), { todo: true });
  return run;
}

export const it = withModifiers(makeTest);
export const test = it;
export const describe = withModifiers(makeDescribe);
export const suite = describe;

/** Vitest's hooks; a function returned by `beforeAll` / `beforeEach` is its teardown. */
export function beforeAll(fn, timeout) {
  let teardown;
  nodeTest.before(
    async () => {
      teardown = await fn();
    },
    { timeout: timeoutOf(timeout) },
  );
  nodeTest.after(
    async () => {
      if (typeof teardown === "function") await teardown();
    },
    { timeout: timeoutOf(timeout) },
  );
}
export function afterAll(fn, timeout) {
  nodeTest.after(async () => fn(), { timeout: timeoutOf(timeout) });
}
export function beforeEach(fn) {
  scope.beforeEach.push(fn);
}
export function afterEach(fn) {
  scope.afterEach.push(fn);
}
export function onTestFinished(cb) {
  if (!current) throw new Error("onTestFinished() must be called inside a test");
  current.finished.push(cb);
}
export function onTestFailed(cb) {
  if (!current) throw new Error("onTestFailed() must be called inside a test");
  current.failed.push(cb);
}
