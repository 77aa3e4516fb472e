import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The JSON report feeds the one-line tally that .ci/run prints (passed, failed, skipped).
    // Two workers (vitest's default on 2 cores is one): unit and integration files interleave, and
    // each integration worker has its own sandbox (test/integration/global-setup.ts).
    maxWorkers: 2,
    reporters: ["default", ["json", { outputFile: ".test-results/vitest.json" }]],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "test/scenarios/**/*.test.ts"],
          // Pulumi's closure serializer loads node:sqlite, whose ExperimentalWarning is only noise.
          execArgv: ["--disable-warning=ExperimentalWarning"],
          globalSetup: ["test/integration/global-setup.ts"],
          // Tests inside a file run in order; files run two at a time, each on its worker's own
          // sandbox account (test/helpers/sandbox.ts).
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
