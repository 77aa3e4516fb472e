/**
 * Integration tests share sandboxes started here, one per test worker (test/helpers/sandbox.ts:
 * a file uses its worker's, so two files never share one at the same time), each in a temporary
 * state folder (never the user's .sandbox/) and always stopped at teardown. Also provisions the Pulumi CLI and the
 * sandbox's Python environment once, so their cost shows up here and not in a test's timeout.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ensurePulumiCli } from "../../src/pulumi/cli.ts";
import { startSandbox, stopSandbox } from "../../src/sandbox/process.ts";
import { toolsDir } from "../../src/tools/paths.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** One sandbox per worker, in VITEST_POOL_ID order. */
    sandboxes: { endpoint: string; dir: string }[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (line: string): void => {
    process.stderr.write(`[integration setup] ${line}\n`);
  };
  const started = Date.now();
  const cli = await ensurePulumiCli({ toolsDir, log });
  log(
    `pulumi CLI v${cli.version} (${cli.source}) ready after ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  // One per worker; started together (each is mostly waiting on its Python server's start-up).
  const count = Math.max(1, project.config.maxWorkers);
  const sandboxes = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-it-"));
      const sandbox = await startSandbox({
        stateDir: dir,
        toolsDir,
        log: (line) => {
          log(`[${i + 1}] ${line}`);
        },
        speeds: { rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 },
      });
      log(
        `sandbox ${i + 1} on ${sandbox.endpoint} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      return { endpoint: sandbox.endpoint, dir };
    }),
  );
  project.provide("sandboxes", sandboxes);
  return async () => {
    for (const { dir } of sandboxes) {
      await stopSandbox(dir);
      await rm(dir, { recursive: true, force: true });
    }
  };
}
