/**
 * Ground truth and CLI plumbing shared by the scenario tests (test/scenarios): a deploy through the
 * real CLI with its final record, "every service on exactly one COMPLETED deployment of this tag,
 * never a mix", and "the deploy lock is free", read straight from the sandbox.
 */
import { expect } from "vitest";
import type { AwsClients } from "../../src/aws/clients.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { containerVersion } from "../../src/aws/taskDefinition.ts";
import { S3Store } from "../../src/aws/store.ts";
import type { DeploymentRecord } from "../../src/steps/record.ts";
import { DeployLock } from "../../src/orchestrator/lock.ts";
import type { SandboxControl } from "../../src/sandbox/control.ts";
import { SANDBOX_STATE_BUCKET } from "../../src/app/environment.ts";
import type { CliRun } from "./cli.ts";

/** The sandbox ECR repositories the committed Pulumi.sandbox.yaml's services (api, web) take their images from. */
export const SANDBOX_REPOSITORIES = ["api", "web"] as const;

/** Publish `tags` to every repository of {@link SANDBOX_REPOSITORIES}. */
export async function publishSandboxImages(control: SandboxControl, tags: readonly string[]): Promise<void> {
  for (const repository of SANDBOX_REPOSITORIES) await control.publishImages(repository, tags);
}

/** The sandbox stack's cluster. */
export const SANDBOX_CLUSTER = "gantry-sandbox";

/** `gantry deploy --env sandbox --tag T --json …` and its final record (empty when none was printed). */
export async function deployJson(
  gantry: (...args: string[]) => Promise<CliRun>,
  tag: string,
  ...extra: string[]
): Promise<CliRun & { record: DeploymentRecord }> {
  const run = await gantry("deploy", "--env", "sandbox", "--tag", tag, "--json", ...extra);
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  return { ...run, record: JSON.parse(line.startsWith("{") ? line : "{}") as DeploymentRecord };
}

/** Ground truth: each service on one COMPLETED deployment of `tag`, never a mix. */
export async function expectServing(
  aws: AwsClients,
  services: readonly string[],
  tag: string,
): Promise<void> {
  const ecs = new EcsAdapter(aws.ecs);
  for (const name of services) {
    const s = await ecs.describeService(SANDBOX_CLUSTER, name);
    expect(s?.deployments.map((d) => [d.status, d.rolloutState])).toEqual([["PRIMARY", "COMPLETED"]]);
    expect(containerVersion(await ecs.describeTaskDefinition(s!.taskDefinition), name)).toBe(tag);
  }
}

/** The sandbox's deploy lock (in the sandbox state bucket), seen from outside. */
export function sandboxLock(aws: AwsClients): DeployLock {
  return new DeployLock(new S3Store(aws.s3, SANDBOX_STATE_BUCKET, "gantry"), "sandbox", {
    now: () => Date.now(),
    host: "test",
    isAlive: () => true,
  });
}

/** Ground truth: nobody holds the sandbox's deploy lock. */
export async function expectUnlocked(aws: AwsClients): Promise<void> {
  expect(await sandboxLock(aws).holder()).toBeUndefined();
}
