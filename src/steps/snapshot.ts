/**
 * snapshot: a manual RDS snapshot named from the deployment id (so a rerun finds it instead of
 * taking another), tagged with env/tag/deployment, awaited until available within a deadline;
 * then the environment's pre-deploy snapshots beyond the configured retention are deleted.
 */
import { poll } from "../checks/poll.ts";
import type { SnapshotState } from "../aws/ports.ts";
import { oneLine } from "../errors.ts";
import type { Step } from "../orchestrator/runner.ts";
import { checkpoint, type DeployContext, type DeployRequest, outputsOf, StepError } from "./context.ts";

/** Tag that marks gantry's pre-deploy snapshots (only these are ever pruned). */
export const PRE_DEPLOY_TAG = "gantry:pre-deploy";

/** The snapshot id of a deployment: RDS allows letters, digits and hyphens, starting with a letter. */
export function snapshotId(env: string, deploymentId: string): string {
  return `gantry-${env}-${deploymentId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 255);
}

/** Whether this deploy takes a snapshot (config, unless --skip-snapshot). */
export function snapshotWanted(
  ctx: Pick<DeployContext, "config"> & { readonly request: Pick<DeployRequest, "skipSnapshot"> },
): boolean {
  return ctx.config.gantry.snapshot.enabled && !ctx.request.skipSnapshot;
}

/** What the snapshot step took: the restore point of this deploy. */
export interface SnapshotTaken {
  readonly snapshotId: string;
  /** The command that restores it to a new instance (shown at the end of the deploy). */
  readonly restoreCommand: string;
}

/** Delete this environment's oldest pre-deploy snapshots beyond the retention (never `keep`). */
async function prune(ctx: DeployContext, instance: string, keep: string): Promise<void> {
  const { ports, reporter, request } = ctx;
  const retention = ctx.config.gantry.snapshot.retention;
  // Retention counts this deploy's snapshot, which is never pruned (it is the restore point).
  const older = (await ports.rds.listSnapshots(instance)).filter(
    (s) => s.tags[PRE_DEPLOY_TAG] === "true" && s.tags["gantry:env"] === request.env && s.id !== keep,
  );
  for (const old of older.slice(Math.max(0, retention - 1))) {
    await ports.rds.deleteSnapshot(old.id);
    reporter.emit({
      type: "info",
      message: `pruned pre-deploy snapshot ${old.id} (retention ${String(retention)})`,
    });
  }
}

/** Journal the snapshot (recovery knows it) and ask RDS for it: CreateDBSnapshot, tagged. */
export async function startSnapshot(ctx: DeployContext, instance: string): Promise<void> {
  const { request, ports } = ctx;
  const id = snapshotId(request.env, request.deploymentId);
  await checkpoint(ctx, "snapshot", { snapshotId: id });
  await ports.rds.createSnapshot(instance, id, {
    [PRE_DEPLOY_TAG]: "true",
    "gantry:env": request.env,
    "gantry:tag": request.tag,
    "gantry:deployment": request.deploymentId,
  });
}

/**
 * The pre-deploy RDS snapshot: taken (or found, on a rerun), awaited until available under its
 * deadline, older ones pruned beyond the retention; its output is the restore point. When the
 * stack step already started it (the update left the database as it was), only the wait is left.
 */
export const snapshotStep: Step<DeployContext, SnapshotTaken> = {
  name: "snapshot",
  async run(ctx, signal) {
    const { request, ports, reporter, timing } = ctx;
    const instance = outputsOf(ctx).database.instanceId;
    const id = snapshotId(request.env, request.deploymentId);
    await (ctx.facts.snapshotStart ?? startSnapshot(ctx, instance));
    const out = await poll<SnapshotState>(
      async () => {
        const s = await ports.rds.describeSnapshot(id);
        if (s?.status === "available") return { done: true, value: s };
        if (s && ["failed", "error", "incompatible-restore"].includes(s.status)) {
          throw new StepError(`snapshot ${id} is ${s.status}`, {
            code: "SNAPSHOT_FAILED",
            hint: "see the RDS console",
          });
        }
        return {
          done: false,
          progress: `snapshot ${id} ${s?.status ?? "?"} ${String(s?.percentProgress ?? 0)}%`,
        };
      },
      {
        deadline: Date.now() + timing.snapshotTimeoutMs,
        intervalMs: timing.pollIntervalMs,
        signal,
        onProgress: (message) => {
          reporter.emit({ type: "progress", message });
        },
      },
    );
    if (out.status !== "done") {
      throw new StepError(
        `snapshot ${id} not available after ${String(Math.round(out.elapsedMs / 1000))} s (${out.status})`,
        {
          code: out.status === "aborted" ? "ABORTED" : "SNAPSHOT_TIMEOUT",
          hint: `nothing was released; check it with: aws rds describe-db-snapshots --db-snapshot-identifier ${id}`,
        },
      );
    }
    const taken: SnapshotTaken = {
      snapshotId: id,
      restoreCommand: `aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier ${id} --db-instance-identifier ${instance}-restored`,
    };
    // Housekeeping: snapshots that cannot be listed or pruned are a warning, never a failed
    // deploy — this deploy's restore point exists either way.
    await prune(ctx, instance, id).catch((err: unknown) => {
      reporter.emit({ type: "warn", message: `could not prune older pre-deploy snapshots: ${oneLine(err)}` });
    });
    return taken;
  },
};
