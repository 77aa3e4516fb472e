/**
 * The final record of a deployment (DESIGN.md "Contracts"): its types, as the ledger keeps them and
 * `--json` prints them, and the one function that builds it — for a deploy's finish
 * (src/steps/deploy.ts) and for the recovery of an abandoned one (src/steps/recover.ts).
 */
/** A command gantry ran for a deploy (a hook, the smoke command), as the record keeps it. */
export interface CommandRecord {
  /** The hook's name (`preDeploy`, …) or `smoke`. */
  readonly name: string;
  /** The command as configured (secrets masked). */
  readonly command: string;
  /** `warned`: it failed, and its setting says to only warn (postDeploy `onError: warn`). */
  readonly status: "succeeded" | "failed" | "warned";
  /** null: it did not exit by itself (timed out, interrupted) or could not start. */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** Its last lines of output (stdout and stderr interleaved), secrets masked. */
  readonly tail: readonly string[];
}

/** One declarative HTTP smoke check, as the record keeps it. */
export interface SmokeCheckRecord {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly status: "passed" | "failed";
  readonly attempts: number;
  /** Of the last attempt; null when nothing answered. */
  readonly httpStatus: number | null;
  readonly latencyMs: number | null;
  readonly detail: string;
}

/** The smoke gate of a deployment: skipped (`--skip-smoke`) or what ran. */
export interface SmokeRecord {
  readonly skipped: boolean;
  readonly checks: readonly SmokeCheckRecord[];
  readonly command?: CommandRecord;
}

/** What a release replaced in one service (a ServiceRelease of src/steps/context.ts). */
export interface ReplacedVersion {
  readonly previousTag: string;
  readonly previousTaskDefinition: string;
}

/** A version of a service as the record keeps it. */
export interface RecordedVersion {
  readonly tag: string;
  readonly taskDefinitionArn: string;
}

/** One step of a deployment as the record keeps it. */
export interface RecordedStep {
  readonly name: string;
  readonly status: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly detail?: string;
}

/** The final record of a deployment (DESIGN.md "Contracts"). */
export interface DeploymentRecord {
  readonly id: string;
  readonly env: string;
  readonly tag: string;
  readonly imageDigest: string;
  readonly status: "succeeded" | "rolled_back" | "failed" | "aborted";
  readonly startedAt: string;
  readonly durationMs: number;
  readonly actor: string;
  readonly previous: RecordedVersion | null;
  readonly current: RecordedVersion | null;
  readonly snapshotId: string | null;
  readonly steps: readonly RecordedStep[];
  /** The smoke gate, when one is configured or `--skip-smoke` was given. */
  readonly smoke?: SmokeRecord;
  /** The hooks that ran, in order. */
  readonly hooks?: readonly CommandRecord[];
}

/** What {@link deploymentRecord} builds a record from. */
export interface DeploymentRecordInput {
  readonly id: string;
  readonly env: string;
  readonly tag: string;
  readonly actor: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly status: DeploymentRecord["status"];
  /** The image the deploy resolved (undefined: it got no further than that). */
  readonly image: { readonly digest: string } | undefined;
  readonly snapshotId: string | undefined;
  /** The release's services; the first one's previous version is the record's `previous`. */
  readonly releases: readonly ReplacedVersion[];
  /** What the first service runs at the end (null: nothing released, or not known). */
  readonly current: RecordedVersion | null;
  /** The steps, in order; a `detail` that is undefined or empty is left out. */
  readonly steps: readonly RecordedStep[];
  /** `--skip-smoke` was given: recorded as a skipped smoke gate. */
  readonly skipSmoke?: boolean;
  readonly smoke?: SmokeRecord;
  readonly hooks?: readonly CommandRecord[];
}

/** The version a release replaced, as the record keeps it (null: no release). */
export function previousVersion(release: ReplacedVersion | undefined): RecordedVersion | null {
  return release ? { tag: release.previousTag, taskDefinitionArn: release.previousTaskDefinition } : null;
}

/** The final record of a deployment, for the ledger and `--json`: the one place it is assembled. */
export function deploymentRecord(input: DeploymentRecordInput): DeploymentRecord {
  const { current, smoke, hooks } = input;
  return {
    id: input.id,
    env: input.env,
    tag: input.tag,
    imageDigest: input.image?.digest ?? "",
    status: input.status,
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    actor: input.actor,
    previous: previousVersion(input.releases[0]),
    current: current ? { tag: current.tag, taskDefinitionArn: current.taskDefinitionArn } : null,
    snapshotId: input.snapshotId ?? null,
    steps: input.steps.map((s) => ({
      name: s.name,
      status: s.status,
      startedAt: s.startedAt,
      durationMs: s.durationMs,
      ...(s.detail ? { detail: s.detail } : {}),
    })),
    ...(input.skipSmoke === true ? { smoke: { skipped: true, checks: [] } } : smoke ? { smoke } : {}),
    ...(hooks?.length ? { hooks } : {}),
  };
}
