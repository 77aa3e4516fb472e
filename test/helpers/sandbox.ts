/**
 * The shared sandbox a test file uses. Integration files run two at a time (vitest.config.ts);
 * the global setup starts one sandbox per worker and a file takes its worker's, so no two files
 * ever share a sandbox at the same time — each file still sees one whole AWS account, exactly as
 * when every file ran one after another.
 */
import { inject } from "vitest";

export interface SharedSandbox {
  /** The AWS endpoint (and control API) of the sandbox. */
  readonly endpoint: string;
  /** Its state folder (sandbox.json is what a CLI run needs to find it). */
  readonly dir: string;
}

/** The sandbox of the worker running this file (VITEST_POOL_ID is 1…maxWorkers, unique among running files). */
export function workerSandbox(): SharedSandbox {
  const sandboxes = inject("sandboxes");
  const poolId = Number(process.env.VITEST_POOL_ID ?? "1");
  const sandbox = sandboxes[(poolId - 1) % sandboxes.length];
  if (!sandbox) throw new Error("the integration global setup started no sandbox");
  return sandbox;
}
