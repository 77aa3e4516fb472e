/**
 * Time before the first UpdateService when the stack has no change (issue #11: target ≤ 1.3× the
 * sandbox's own snapshot and migration times). Whole deploys through the CLI, as a person runs
 * them, on a sandbox of their own at its default speeds (snapshot 3 s, migration task 2 s): one
 * deploy creates the stack, then `runs` measured ones. The clock starts when the gantry process is
 * spawned and stops at the earliest `createdAt` of the services' new PRIMARY deployments, read
 * from the sandbox (ground truth: when ECS took the UpdateService). The record's steps give where
 * the time went.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createAwsClients } from "../src/aws/clients.ts";
import { EcsAdapter } from "../src/aws/ecs.ts";
import { SandboxControl } from "../src/sandbox/control.ts";
import { startSandbox, stopSandbox } from "../src/sandbox/process.ts";
import type { DeploymentRecord } from "../src/steps/record.ts";
import { projectRoot, toolsDir } from "../src/tools/paths.ts";

/** One measured deploy. */
export interface FirstUpdate {
  /** Spawn of `gantry deploy` → first UpdateService (ms). */
  readonly toUpdateMs: number;
  /** Duration of each step before the release, by name (ms), from the record. */
  readonly steps: Record<string, number>;
  /** When each step started, relative to the spawn (ms). */
  readonly startedAt: Record<string, number>;
}

export interface FirstUpdateResults {
  readonly runs: FirstUpdate[];
  /** The sandbox's own snapshot and migration task times (s). */
  readonly snapshotSeconds: number;
  readonly taskSeconds: number;
}

const SPEEDS = { rolloutSeconds: 2, snapshotSeconds: 3, taskSeconds: 2 };

function gantry(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "gantry.js"), ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export async function benchFirstUpdate(runs: number): Promise<FirstUpdateResults> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-bench-first-"));
  const env = { ...process.env, GANTRY_SANDBOX_DIR: dir };
  const sandbox = await startSandbox({ stateDir: dir, toolsDir, log: () => undefined, speeds: SPEEDS });
  const control = new SandboxControl(sandbox.endpoint);
  const ecs = new EcsAdapter(createAwsClients({ region: "us-east-1", endpoint: sandbox.endpoint }).ecs);
  const out: FirstUpdate[] = [];
  try {
    const tags = Array.from({ length: runs + 1 }, (_, i) => `f${String(i)}`);
    for (const repository of ["api", "web"]) await control.publishImages(repository, tags);
    for (const [i, tag] of tags.entries()) {
      const spawned = Date.now();
      const res = await gantry(env, ["deploy", "--env", "sandbox", "--tag", tag, "--json"]);
      if (res.code !== 0)
        throw new Error(`bench: deploy of ${tag} exited ${String(res.code)}: ${res.stderr.slice(-500)}`);
      if (i === 0) continue; // created the stack: not measured
      const record = JSON.parse(res.stdout.trim().split("\n").at(-1) ?? "{}") as DeploymentRecord;
      const services = await ecs.describeServices(
        "gantry-sandbox",
        (record.services ?? []).map((s) => s.name),
      );
      const created = services.flatMap((s) =>
        (s?.deployments ?? [])
          .filter((d) => d.status === "PRIMARY")
          .map((d) => d.createdAt?.getTime() ?? NaN),
      );
      const steps: Record<string, number> = {};
      const startedAt: Record<string, number> = {};
      for (const step of record.steps) {
        steps[step.name] = step.durationMs;
        startedAt[step.name] = Date.parse(step.startedAt) - spawned;
      }
      out.push({ toUpdateMs: Math.min(...created) - spawned, steps, startedAt });
    }
  } finally {
    await stopSandbox(dir);
    await rm(dir, { recursive: true, force: true });
  }
  return { runs: out, snapshotSeconds: SPEEDS.snapshotSeconds, taskSeconds: SPEEDS.taskSeconds };
}
