import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each test file gets its own module instance of the facade (its own WSAStartup
    // count, last error and completion-routine queue).
    pool: "forks",
    isolate: true,
    testTimeout: 10_000,
    hookTimeout: 10_000,
    // Real sockets: a file must not fail because another one is busy; keep it deterministic.
    sequence: { concurrent: false },
    // Vitest's own report, then one closing line in the Wine lane's form ("N passed, N failed").
    reporters: ["default", "./scripts/vitest-summary.mjs"],
  },
});
