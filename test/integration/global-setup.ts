/**
 * Integration tests share one sandbox started here in a temporary state folder (never the
 * user's .sandbox/) and always stopped at teardown. Also provisions the Pulumi CLI and the
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
    sandboxEndpoint: string;
    sandboxDir: string;
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
  const sandboxDir = await mkdtemp(path.join(os.tmpdir(), "gantry-it-"));
  const sandbox = await startSandbox({
    stateDir: sandboxDir,
    toolsDir,
    log,
    speeds: { rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 },
  });
  log(`sandbox on ${sandbox.endpoint} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide("sandboxEndpoint", sandbox.endpoint);
  project.provide("sandboxDir", sandboxDir);
  return async () => {
    await stopSandbox(sandboxDir);
    await rm(sandboxDir, { recursive: true, force: true });
  };
}
