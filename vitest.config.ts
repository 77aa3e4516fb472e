import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The JSON report feeds the one-line tally that .ci/run prints (passed, failed, skipped).
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
          // One shared sandbox account: files run one after another, tests inside a file in order.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
