/**
 * What every deploy step gets: the request, the validated config, the ports, the stack, the
 * lock, the reporter, and the facts earlier steps established (outputs, image, previous versions).
 */
import type {
  AlarmPort,
  EcsPort,
  ElbPort,
  HttpPort,
  ImagePort,
  LogsPort,
  RdsPort,
  ResolvedImage,
} from "../aws/ports.ts";
import type { Verdict } from "../checks/gates.ts";
import type { ResolvedSecrets } from "../config/secrets.ts";
import type { EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import type { Journal } from "../orchestrator/journal.ts";
import type { Ledger } from "../orchestrator/ledger.ts";
import type { DeployLock, HeldLock } from "../orchestrator/lock.ts";
import type { StackPort } from "../pulumi/port.ts";
import type { SecretMasker } from "../reporting/mask.ts";
import type { Reporter } from "../reporting/reporter.ts";
import type { EnvironmentOutputs } from "../stacks/outputs.ts";
import type { CommandRecord, DeploymentRecord, SmokeRecord } from "./record.ts";

/** The AWS ports a deploy uses. */
export interface DeployPorts {
  readonly ecs: EcsPort;
  readonly images: ImagePort;
  readonly rds: RdsPort;
  readonly elb: ElbPort;
  readonly alarms: AlarmPort;
  readonly http: HttpPort;
  readonly logs: LogsPort;
}

/** One service a release changes: the tag it gets, and for a rollback the digest that tag must still be. */
export interface ServiceTarget {
  /** The service's name in `platform:services`. */
  readonly name: string;
  readonly tag: string;
  /** Rollbacks: the digest the target ran; the tag must still point at it. */
  readonly expectedDigest?: string;
}

/** Where a deploy came from, as the record keeps it (GitHub Actions context, or the command line). */
export interface DeploySource {
  /** push, release, dispatch, pull_request, schedule, … in GitHub Actions; `terminal` elsewhere. */
  readonly trigger: string;
  readonly commit?: string;
  readonly commitMessage?: string;
  readonly pr?: number;
  /** The workflow run's URL. */
  readonly runUrl?: string;
  /** `--reason TEXT`. */
  readonly reason?: string;
}

/** What was asked. */
export interface DeployRequest {
  readonly env: string;
  /** The release's tag (`--tag`): what notifications and the summary name it by. */
  readonly tag: string;
  /**
   * The services released, in config order, each with its tag (`--tag`, or its own `--image`);
   * the others are untouched (`--services`). Journals of older versions have none: every service
   * at `tag`.
   */
  readonly targets?: readonly ServiceTarget[];
  /** Where the deploy came from (commit, pull request, trigger, reason). */
  readonly source?: DeploySource;
  readonly deploymentId: string;
  readonly actor: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly skipSnapshot: boolean;
  readonly skipMigrations: boolean;
  /** `--plan FILE`: the stack update applies exactly this plan saved by `gantry preview --save-plan`. */
  readonly planFile?: string;
  /** `--skip-smoke`: the smoke gate does not run (recorded in the ledger). */
  readonly skipSmoke?: boolean;
  /**
   * `--emergency --reason`: the promotion check and the smoke gate are skipped, never the health
   * gates or the rollback (recorded in the ledger and the GitHub deployment).
   */
  readonly emergency?: { readonly reason: string };
  /** `gantry promote`: the environment and deployment whose digests this release takes. */
  readonly promotedFrom?: { readonly env: string; readonly deploymentId: string };
  /** Who approved it and how (`gantry:approvalRequired`, or `--approved-by`; src/app/approval.ts). */
  readonly approval?: { readonly by: string; readonly how: string; readonly detail?: string };
}

/** What one service of a promotion's source environment runs now (src/steps/promotion.ts). */
export interface SourceServing {
  /** The version it runs (APP_VERSION, else the image tag). */
  readonly tag: string;
  /** The digest it runs (undefined: its image is not a digest reference). */
  readonly digest: string | undefined;
  /** One deployment, COMPLETED (not mid-rollout, not failed). */
  readonly settled: boolean;
  /** Its health URL's answer judged with the version it runs. */
  readonly health: Verdict;
}

/** The environment releases are promoted from, as a deploy reads it. */
export interface PromotionSource {
  readonly env: string;
  /** Its deploy history, newest first. */
  history(): Promise<readonly DeploymentRecord[]>;
  /** What each of `services` runs now (absent: no such service there). */
  serving(services: readonly string[]): Promise<ReadonlyMap<string, SourceServing>>;
}

/** The promotion policy of an environment (`gantry:promotion`). */
export interface PromotionPolicy {
  readonly from: string;
  readonly requireServing: boolean;
  readonly minSoakMinutes: number;
}

/** What one service looked like before the release and what the release made of it. */
export interface ServiceRelease {
  readonly name: string;
  readonly serviceName: string;
  readonly containerName: string;
  /** The image released (its name as configured, the tag, the digest). */
  readonly image: string;
  readonly tag: string;
  readonly digest: string;
  readonly previousTaskDefinition: string;
  readonly previousTag: string;
  /** The digest the service ran before (undefined: its image was not a digest reference). */
  readonly previousDigest?: string | undefined;
  /** Tasks the service runs: how many new targets must turn healthy. */
  readonly desiredCount: number;
  newTaskDefinition?: string;
  deploymentId?: string;
}

/**
 * Facts several steps share (mutable: each is set by one step and read by others or by the
 * finish, also when a later step fails). A result only its own undo or the finish needs is the
 * step's output instead (the runner hands it to the undo; `outputOf` reads it at the finish).
 */
export interface DeployFacts {
  /** Set by the stack step (or preflight, for plans without one); read by every later step. */
  outputs?: EnvironmentOutputs;
  /** Set by preflight: each released service's image resolved; read by the migration, the release and the record. */
  images?: ReadonlyMap<string, ResolvedImage>;
  /**
   * Set by the stack step when it started the snapshot alongside the update (the engine left the
   * database as it is): settles when CreateDBSnapshot was answered (rejects with its error).
   */
  snapshotStart?: Promise<void>;
  /** Taken by preflight, renewed and freed by the deploy; given back by a failed recovery. */
  lock?: HeldLock;
  /** Alarms already firing before the deploy (preflight), which the gates ignore. */
  baselineAlarms: Set<string>;
  /** Filled service by service by the release; read by the gates, the hooks and the finish. */
  releases: ServiceRelease[];
  /** What the smoke gate did (src/steps/smoke.ts): recorded even when it fails the gates. */
  smoke?: SmokeRecord;
  /** Hooks that ran so far, from several steps and the finish (src/steps/hooks.ts). */
  hooks?: CommandRecord[];
}

/** Timings, injectable so tests run fast. */
export interface DeployTiming {
  /** Gap between observations (≤ 2 s). */
  readonly pollIntervalMs: number;
  /** Deadline for a snapshot to become available. */
  readonly snapshotTimeoutMs: number;
  /** Deadline for a rollout (or a rollback) to complete. */
  readonly rolloutTimeoutMs: number;
  /** Timeout of one health request. */
  readonly httpTimeoutMs: number;
}

/** The context of one deploy. */
export interface DeployContext {
  readonly request: DeployRequest;
  readonly config: EnvironmentConfig;
  readonly ports: DeployPorts;
  readonly stack: StackPort;
  readonly lock: DeployLock;
  /** This deployment's journal; steps add checkpoints before they change something. */
  readonly journal: Journal;
  /** The environment's deploy history (shared store). */
  readonly ledger: Ledger<DeploymentRecord>;
  readonly reporter: Reporter;
  readonly timing: DeployTiming;
  readonly facts: DeployFacts;
  /**
   * The run's secret masker (built in src/main.ts): output of hooks and the smoke command is
   * redacted with it before it is reported or kept. Without one, only {@link secrets} are masked.
   */
  readonly masker?: SecretMasker;
  /** The `fromEnv` values of the smoke gate and the hooks (src/config/secrets.ts). */
  readonly secrets?: ResolvedSecrets;
  /**
   * The environment releases are promoted from and the rules they are checked with
   * (`gantry:promotion`, or `gantry promote`'s), wired by the application layer.
   */
  readonly promotion?: { readonly policy: PromotionPolicy; readonly source: PromotionSource };
}

/** A step failed on purpose (a gate, a migration, a lock): code, hint, and the detail for the journal. */
export class StepError extends GantryError {}

/** The outputs, or a bug-grade error if a step runs before the stack step. */
export function outputsOf(ctx: DeployContext): EnvironmentOutputs {
  if (!ctx.facts.outputs) {
    throw new StepError("stack outputs are not known yet", {
      code: "NO_OUTPUTS",
      hint: "the stack step must run first",
    });
  }
  return ctx.facts.outputs;
}

/** The resolved image of service `name`, or a bug-grade error if preflight did not resolve it. */
export function imageOf(ctx: DeployContext, name: string): ResolvedImage {
  const image = ctx.facts.images?.get(name);
  if (!image) {
    throw new StepError(`the image of ${name} is not resolved`, {
      code: "NO_IMAGE",
      hint: "preflight must run first, and the service must be part of the release",
    });
  }
  return image;
}

/**
 * The services `request` releases: its targets, or (a journal of an older version) every service
 * of `config` at the request's tag.
 */
export function targetsOf(
  request: Pick<DeployRequest, "tag" | "targets">,
  config: Pick<EnvironmentConfig, "stack">,
): readonly ServiceTarget[] {
  return request.targets ?? config.stack.services.map((s) => ({ name: s.name, tag: request.tag }));
}

/**
 * Record facts recovery will need (e.g. the task definitions a release replaces) before changing
 * anything; durable when it resolves.
 */
export function checkpoint(ctx: DeployContext, step: string, data: unknown): Promise<void> {
  return ctx.journal.append({ event: "checkpoint", step, data });
}
