// A compact node:test reporter for the node:test lane: one line per file, each failure
// with its full name (file > suites > test) and error, what the failing files printed,
// and a closing line in the form the other lanes use:
//   N passed, N failed (N skipped, N todo; N files, N s)
// where "failed" includes cancelled tests (a timeout, or a file whose process died), then
// the same counts by backend (backendOf: the first backend its suites' names name).
import { inspect } from "node:util";

const SUMMARY = /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/;

/** The backend a test belongs to: the first of "dgram" and "native" its full name names, else "neither". */
export function backendOf(fullName) {
  const match = /\b(dgram|native)\b/.exec(fullName);
  return match ? match[1] : "neither";
}

/** "by backend: dgram 1 passed, 0 failed, 0 skipped; ..." from { backend: { pass, fail, skip } }. */
export function byBackendLine(tally) {
  const parts = Object.entries(tally).map(([b, t]) => `${b} ${t.pass} passed, ${t.fail} failed, ${t.skip} skipped`);
  return `by backend: ${parts.join("; ")}\n`;
}

export default async function* reporter(source) {
  const counts = {};
  const names = [];
  const output = new Map(); // file -> what its process printed
  let files = 0;
  let tests = { pass: 0, fail: 0, skip: 0 }; // the current file's
  const tally = {
    dgram: { pass: 0, fail: 0, skip: 0 },
    native: { pass: 0, fail: 0, skip: 0 },
    neither: { pass: 0, fail: 0, skip: 0 },
  };
  const count = (data, outcome) => {
    tests[outcome]++;
    tally[backendOf([...names.slice(0, data.nesting), data.name].join(" > "))][outcome]++;
  };
  for await (const event of source) {
    const data = event.data ?? {};
    switch (event.type) {
      case "test:start":
        names[data.nesting] = data.name;
        names.length = data.nesting + 1;
        break;
      case "test:stdout":
      case "test:stderr":
        if (data.file) output.set(data.file, (output.get(data.file) ?? "") + data.message);
        break;
      case "test:pass":
        if (data.details?.type !== "suite") count(data, data.skip || data.todo ? "skip" : "pass");
        break;
      case "test:fail": {
        if (data.details?.type !== "suite") count(data, "fail");
        const error = data.details?.error;
        // A suite fails because a test in it failed: that test was reported already.
        if (error?.failureType !== "subtestsFailed") {
          const path = [...names.slice(0, data.nesting), data.name].join(" > ");
          yield `  ✗ ${path}\n${indent(describe(error), 6)}`;
        }
        break;
      }
      case "test:complete":
        // The end of a file: its process has exited (node --test names it by its path).
        if (data.nesting === 0 && data.name === data.file) {
          files++;
          const ok = data.details?.passed && tests.fail === 0;
          const skipped = tests.skip ? `, ${tests.skip} skipped` : "";
          yield `${ok ? "✓" : "✗"} ${data.name} (${tests.pass} passed, ${tests.fail} failed${skipped}; ${Math.round(data.details?.duration_ms ?? 0)} ms)\n`;
          const printed = output.get(data.file);
          if (!ok && printed) yield indent(`what it printed:\n${printed.slice(-4000)}`, 4);
          if (!data.details?.passed && tests.fail === 0) yield indent(describe(data.details?.error), 4);
          output.delete(data.file);
          tests = { pass: 0, fail: 0, skip: 0 };
        }
        break;
      case "test:diagnostic": {
        const match = data.nesting === 0 ? SUMMARY.exec(data.message) : null;
        if (match) counts[match[1]] = Number(match[2]);
        break;
      }
    }
  }
  yield summary(counts, files);
  yield byBackendLine(tally);
}

function summary(counts, files) {
  const failed = (counts.fail ?? 0) + (counts.cancelled ?? 0);
  const seconds = Math.round((counts.duration_ms ?? 0) / 1000);
  return `${counts.pass ?? 0} passed, ${failed} failed (${counts.skipped ?? 0} skipped, ${counts.todo ?? 0} todo; ${files} files, ${seconds} s)\n`;
}

function describe(error) {
  const cause = error?.cause ?? error;
  if (cause instanceof Error) return `${cause.stack ?? cause.message}\n`;
  return `${inspect(cause, { depth: 3 })}\n`;
}

function indent(text, n) {
  const pad = " ".repeat(n);
  return `${text.trimEnd().replace(/^/gm, pad)}\n`;
}
