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
  readonly previousDigest?: string | undefined;
}

/** A version of a service as the record keeps it. */
export interface RecordedVersion {
  readonly tag: string;
  readonly taskDefinitionArn: string;
  /** `sha256:…` when the service's image is a digest reference (records before 0.11 have none). */
  readonly digest?: string;
}

/**
 * What happened to one service: `released` (it ends on the release's task definition),
 * `rolled_back` (released, and ends on its previous one), `unchanged` (not part of the release,
 * or nothing was registered for it), `unknown` (ECS could not be asked, or it ends on neither).
 */
export type ServiceOutcome = "released" | "rolled_back" | "unchanged" | "unknown";

/** One service of a deployment, as the record keeps it. */
export interface ServiceRecord {
  readonly name: string;
  /** The image as configured (an ECR repository or `registry/name`). */
  readonly image: string;
  /** The tag and digest the release gave it (an unchanged service: null). */
  readonly tag: string | null;
  readonly digest: string | null;
  /** What it ran before the deploy (an unchanged service: what it runs). */
  readonly previous: RecordedVersion | null;
  /** What it runs at the end, as ECS says (null: not known). */
  readonly current: RecordedVersion | null;
  readonly outcome: ServiceOutcome;
}

/** Where a deployment came from (src/steps/context.ts DeploySource). */
export interface RecordedSource {
  readonly trigger?: string;
  readonly commit?: string;
  readonly commitMessage?: string;
  readonly pr?: number;
  readonly runUrl?: string;
  readonly reason?: string;
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
export interface DeploymentRecord extends RecordedSource {
  readonly id: string;
  readonly env: string;
  readonly tag: string;
  readonly imageDigest: string;
  readonly status: "succeeded" | "rolled_back" | "failed" | "aborted";
  readonly startedAt: string;
  readonly durationMs: number;
  readonly actor: string;
  /** The first released service's version before and after (every service: `services`). */
  readonly previous: RecordedVersion | null;
  readonly current: RecordedVersion | null;
  /** Every service of the environment (records before 0.11 have none). */
  readonly services?: readonly ServiceRecord[];
  readonly snapshotId: string | null;
  readonly steps: readonly RecordedStep[];
  /** The smoke gate, when one is configured or `--skip-smoke` was given. */
  readonly smoke?: SmokeRecord;
  /** The hooks that ran, in order. */
  readonly hooks?: readonly CommandRecord[];
  /** `--emergency --reason`: the promotion check and the smoke gate were skipped. */
  readonly emergency?: { readonly reason: string };
  /** `gantry promote`: the environment and deployment whose digests this release took. */
  readonly promotedFrom?: { readonly env: string; readonly deploymentId: string };
  /** Who approved it and how (terminal, github-environment, approved-by). */
  readonly approval?: { readonly by: string; readonly how: string; readonly detail?: string };
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
  /** The digest of the first released service's image (empty: it got no further than preflight). */
  readonly imageDigest: string | undefined;
  readonly snapshotId: string | undefined;
  /** The release's services; the first one's previous version is the record's `previous`. */
  readonly releases: readonly ReplacedVersion[];
  /** What the first released service runs at the end (null: nothing released, or not known). */
  readonly current: RecordedVersion | null;
  /** Every service, in config order (see {@link serviceRecord}). */
  readonly services?: readonly ServiceRecord[];
  readonly source?: RecordedSource | undefined;
  /** The steps, in order; a `detail` that is undefined or empty is left out. */
  readonly steps: readonly RecordedStep[];
  /** `--skip-smoke` was given: recorded as a skipped smoke gate. */
  readonly skipSmoke?: boolean;
  readonly smoke?: SmokeRecord;
  readonly hooks?: readonly CommandRecord[];
  readonly emergency?: DeploymentRecord["emergency"];
  readonly promotedFrom?: DeploymentRecord["promotedFrom"];
  readonly approval?: DeploymentRecord["approval"];
}

/** The version a release replaced, as the record keeps it (null: no release). */
export function previousVersion(release: ReplacedVersion | undefined): RecordedVersion | null {
  if (!release) return null;
  return {
    tag: release.previousTag,
    taskDefinitionArn: release.previousTaskDefinition,
    ...(release.previousDigest ? { digest: release.previousDigest } : {}),
  };
}

/** A released service as {@link serviceRecord} reads it (a ServiceRelease, or one from an older journal). */
export interface ReleasedService extends ReplacedVersion {
  readonly tag?: string;
  readonly digest?: string;
  readonly newTaskDefinition?: string | undefined;
}

/**
 * One service's entry: `release` is what the deploy did to it (undefined: not part of the
 * release), `current` what it runs at the end as ECS says (null: not known).
 */
export function serviceRecord(
  service: { readonly name: string; readonly image: string },
  release: ReleasedService | undefined,
  current: RecordedVersion | null,
): ServiceRecord {
  const registered = release?.newTaskDefinition;
  let outcome: ServiceOutcome;
  if (!release || !registered) outcome = "unchanged";
  else if (current?.taskDefinitionArn === registered) outcome = "released";
  else if (current?.taskDefinitionArn === release.previousTaskDefinition) outcome = "rolled_back";
  else outcome = "unknown";
  return {
    name: service.name,
    image: service.image,
    tag: release?.tag ?? null,
    digest: release?.digest ?? null,
    previous: release ? previousVersion(release) : current,
    current,
    outcome,
  };
}

/** Only the fields of `source` that are set. */
function sourceFields(source: RecordedSource | undefined): RecordedSource {
  if (!source) return {};
  return Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
}

/** The final record of a deployment, for the ledger and `--json`: the one place it is assembled. */
export function deploymentRecord(input: DeploymentRecordInput): DeploymentRecord {
  const { current, smoke, hooks } = input;
  return {
    id: input.id,
    env: input.env,
    tag: input.tag,
    imageDigest: input.imageDigest ?? "",
    status: input.status,
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    actor: input.actor,
    previous: previousVersion(input.releases[0]),
    current: current
      ? {
          tag: current.tag,
          taskDefinitionArn: current.taskDefinitionArn,
          ...(current.digest ? { digest: current.digest } : {}),
        }
      : null,
    ...(input.services ? { services: input.services } : {}),
    ...sourceFields(input.source),
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
    ...(input.emergency ? { emergency: input.emergency } : {}),
    ...(input.promotedFrom ? { promotedFrom: input.promotedFrom } : {}),
    ...(input.approval ? { approval: input.approval } : {}),
  };
}
