// A Vitest reporter that adds one closing line in the form the Wine lane prints too
// (scripts/wine/suite/reporter.mjs), so that both lanes' counts read alike:
//   linux: N passed, N failed (N skipped, N todo; N files, N s)
//   by backend: dgram N passed, N failed, N skipped; native ...; neither ...
// then the same counts by backend. It runs after Vitest's default reporter
// (vitest.config.ts lists both).
import { platform } from "node:os";
import { backendOf, byBackendLine } from "./wine/suite/reporter.mjs";

export default class SummaryReporter {
  started = performance.now();

  onTestRunEnd(testModules, unhandledErrors) {
    const counts = { passed: 0, failed: 0, skipped: 0, todo: 0 };
    const tally = {
      dgram: { pass: 0, fail: 0, skip: 0 },
      native: { pass: 0, fail: 0, skip: 0 },
      neither: { pass: 0, fail: 0, skip: 0 },
    };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const { state } = test.result();
        const backend = tally[backendOf(test.fullName)];
        if (state === "passed") {
          counts.passed++;
          backend.pass++;
        } else if (state === "failed") {
          counts.failed++;
          backend.fail++;
        } else {
          if (test.options.mode === "todo") counts.todo++;
          else counts.skipped++;
          backend.skip++;
        }
      }
      // A file that failed to load has no tests to count: it fails once.
      if (module.state() === "failed" && ![...module.children.allTests()].length) counts.failed++;
    }
    counts.failed += unhandledErrors.length;
    const seconds = Math.round((performance.now() - this.started) / 1000);
    console.log(
      `${platform()}: ${counts.passed} passed, ${counts.failed} failed (${counts.skipped} skipped, ${counts.todo} todo; ${testModules.length} files, ${seconds} s)`,
    );
    process.stdout.write(byBackendLine(tally));
  }
}
