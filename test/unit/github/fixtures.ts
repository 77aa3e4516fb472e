/**
 * Deploy results, previews and an Actions environment for the notification and preview tests, and
 * the remote hosts driven the way src/main.ts builds them and src/app/release.ts feeds them.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GantryError } from "../../../src/errors.ts";
import type { DeploymentRecord } from "../../../src/steps/record.ts";
import type { PropertyChange, ResourceChange } from "../../../src/pulumi/port.ts";
import { hostSettings } from "../../../src/config/hosts.ts";
import { describeError, environmentUrl, runEnd, type RunStart } from "../../../src/reporting/events.ts";
import { loadRemoteHosts } from "../../../src/reporting/hosts.ts";
import { SecretMasker } from "../../../src/reporting/mask.ts";
import { fanOut, type ReportEvent, type Reporter } from "../../../src/reporting/reporter.ts";
import type { EnvironmentOutputs } from "../../../src/stacks/outputs.ts";
import type { DeployResult } from "../../../src/steps/deploy.ts";
import type { DeployPreview } from "../../../src/steps/preview.ts";

export const SHA = "0123456789abcdef0123456789abcdef01234567";
export const DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

const baseRecord: DeploymentRecord = {
  id: "20261122T101500Z-3f9a1c",
  env: "prod",
  tag: "v1.2.3",
  imageDigest: DIGEST,
  status: "succeeded",
  startedAt: "2026-11-22T10:15:00.000Z",
  durationMs: 83_400,
  actor: "alice",
  previous: { tag: "v1.1.0", taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:41" },
  current: { tag: "v1.2.3", taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42" },
  snapshotId: "gantry-prod-20261122t101500z",
  steps: [
    { name: "preflight", status: "succeeded", startedAt: "2026-11-22T10:15:00.000Z", durationMs: 400 },
    { name: "snapshot", status: "succeeded", startedAt: "2026-11-22T10:15:01.000Z", durationMs: 61_000 },
    { name: "release", status: "succeeded", startedAt: "2026-11-22T10:16:02.000Z", durationMs: 20_000 },
  ],
};

/** A succeeded deploy. */
export function succeeded(): DeployResult {
  return { exitCode: 0, record: baseRecord };
}

/** A deploy whose gates failed and that was rolled back to v1.1.0 (exit 3). */
export function rolledBack(
  detail = "health check https://prod.example.com/health answered 500",
): DeployResult {
  const error = new GantryError(`gates failed: ${detail}`, {
    code: "GATE_FAILED",
    hint: "gantry status --env prod",
  });
  return {
    exitCode: 3,
    error,
    record: {
      ...baseRecord,
      status: "rolled_back",
      current: baseRecord.previous,
      steps: [
        ...baseRecord.steps.slice(0, 2),
        {
          name: "release",
          status: "undone",
          startedAt: "2026-11-22T10:16:02.000Z",
          durationMs: 20_000,
        },
        {
          name: "gates",
          status: "failed",
          startedAt: "2026-11-22T10:16:22.000Z",
          durationMs: 30_000,
          detail,
        },
      ],
    },
  };
}

export const OUTPUTS: EnvironmentOutputs = {
  clusterName: "gantry-prod",
  services: [
    {
      name: "web",
      serviceName: "gantry-prod-web",
      taskDefinitionFamily: "gantry-prod-web",
      containerName: "web",
      targetGroupArns: ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/1"],
      healthUrl: "https://prod.example.com/health",
    },
  ],
  migration: { taskDefinitionFamily: "m", containerName: "m", subnets: ["s"], securityGroups: ["g"] },
  database: { instanceId: "db" },
  alarmNames: [],
  ecrRepositoryUrl: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
  deployRoleArn: "arn:aws:iam::123456789012:role/deploy",
};

/** A temp dir with the Actions files, and the env of a run in it. */
export function actionsRun(apiUrl: string, extra: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gantry-actions-"));
  const summary = path.join(dir, "summary.md");
  const output = path.join(dir, "output.txt");
  const env: NodeJS.ProcessEnv = {
    GITHUB_ACTIONS: "true",
    GITHUB_REPOSITORY: "acme/shop",
    GITHUB_API_URL: apiUrl,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "42",
    GITHUB_SHA: SHA,
    GITHUB_REF: "refs/heads/main",
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: output,
    ...extra,
  };
  const read = (file: string): string => {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return "";
    }
  };
  return {
    env,
    summary: () => read(summary),
    output: () => read(output),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A reporter that keeps what it gets. */
export function collectingReporter(): Reporter & { events: ReportEvent[]; warnings: () => string[] } {
  const events: ReportEvent[] = [];
  return {
    events,
    emit: (e) => events.push(e),
    warnings: () => events.flatMap((e) => (e.type === "warn" ? [e.message] : [])),
  };
}

export const RUN_URL = "https://github.com/acme/shop/actions/runs/42";

/** Options of {@link remoteHosts}. */
export interface RemoteHostsOptions {
  /** Where the hosts' warnings and notes go. */
  readonly log: Reporter;
  /** Default: an empty masker. */
  readonly masker?: SecretMasker;
  /** Default: stderr, as in production. */
  readonly annotate?: (line: string) => void;
  readonly network?: { readonly timeoutMs?: number; readonly retries?: number };
}

/**
 * The remote hosts the process environment `env` turns on (src/config/hosts.ts), built as src/main.ts
 * builds them and fanned out, with the run events of a deploy as src/app/release.ts emits them.
 */
export async function remoteHosts(env: NodeJS.ProcessEnv, options: RemoteHostsOptions) {
  const masker = options.masker ?? new SecretMasker();
  const hosts = (await loadRemoteHosts(hostSettings(env)))({
    log: options.log,
    redact: (text) => masker.redact(text),
    ...(options.annotate ? { annotate: options.annotate } : {}),
    ...(options.network ? { network: options.network } : {}),
  });
  const reporter = fanOut(hosts);
  return {
    hosts,
    reporter,
    async started(run: RunStart): Promise<void> {
      reporter.emit({ type: "run-start", ...run });
      await reporter.flush?.();
    },
    async finished(result: DeployResult, outputs?: EnvironmentOutputs): Promise<void> {
      reporter.emit({ type: "run-end", ...runEnd(result, environmentUrl(outputs)) });
      await reporter.flush?.();
    },
    async crashed(err: unknown): Promise<void> {
      reporter.emit({ type: "run-crash", error: describeError(err) });
      await reporter.flush?.();
    },
  };
}

const PREVIEW_DIGEST = `sha256:${"ab12".repeat(16)}`;

/** One resource change of a preview. */
export function resource(
  op: ResourceChange["op"],
  type: string,
  name: string,
  properties: PropertyChange[],
  replaceReasons: string[] = [],
): ResourceChange {
  return {
    op,
    type,
    name,
    urn: `urn:pulumi:dev::platform::${type}::${name}`,
    diffs: [...new Set(properties.map((p) => p.path.split(/[.[]/)[0] ?? p.path))],
    properties,
    replaceReasons,
  };
}

/** A dev preview of v1.2.0 with `changes` (the preview markdown goldens are built from it). */
export function preview(changes: ResourceChange[], overrides: Partial<DeployPreview> = {}): DeployPreview {
  const summary: Record<string, number> = { same: 10 };
  for (const c of changes) summary[c.op] = (summary[c.op] ?? 0) + 1;
  return {
    env: "dev",
    tag: "v1.2.0",
    tagSource: "given",
    planFile: null,
    plan: [
      { step: "preflight", included: true, why: "image → digest, no deployment in progress, lock" },
      { step: "stack", included: true, why: "pulumi up of the environment's stack" },
      { step: "snapshot", included: true, why: "RDS snapshot, keep 3" },
      { step: "migrate", included: true, why: "one-off task: npm run migrate" },
      { step: "release", included: true, why: "new task definition revision with the digest, UpdateService" },
      {
        step: "gates",
        included: true,
        why: "rollout COMPLETED, targets, health + version, alarms; bake 5 s",
      },
    ],
    stack: { changeSummary: summary, changes, diffText: "(engine text, not rendered)" },
    image: {
      tag: "v1.2.0",
      digest: PREVIEW_DIGEST,
      imageUri: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@${PREVIEW_DIGEST}`,
    },
    taskDefinitions: [
      {
        service: "gantry-dev-api",
        imageName: "app",
        from: {
          tag: "v1.1.0",
          taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/gantry-dev-api:7",
          image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:00",
          digest: null,
        },
        to: {
          tag: "v1.2.0",
          digest: PREVIEW_DIGEST,
          image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@${PREVIEW_DIGEST}`,
        },
      },
    ],
    migrations: { runs: true, command: ["npm", "run", "migrate"] },
    snapshot: { taken: true, retention: 3 },
    warnings: [],
    ...overrides,
  };
}
