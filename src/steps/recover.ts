/**
 * Recovery of an abandoned deployment — one whose process died (SIGKILL, a lost CI runner) while it
 * held the environment's lock — from its journal, without a human editing state:
 * - a stack update in flight: the engine's stale update lock is cancelled;
 * - a migration task still running: stopped;
 * - a release started: every service put back on the task definition it ran before (the journal's
 *   checkpoint), and verified like any rollback (rollout COMPLETED, targets, health + version);
 * - the abandoned deployment's final record goes to the ledger, and its journal gets a `finish`
 *   naming who recovered it (so recovering twice is a no-op).
 * Runs after the lock has been taken over (the next deploy's preflight, or `gantry unlock`), which
 * first journal a `recovering` checkpoint naming the dead holder: if the recoverer dies too, the
 * one after it follows that pointer.
 */
import { GantryError, oneLine } from "../errors.ts";
import type { JournalEntry } from "../orchestrator/journal.ts";
import type { HeldLock, LockHolder } from "../orchestrator/lock.ts";
import {
  checkpoint,
  type DeployContext,
  type DeployRequest,
  type ServiceRelease,
  StepError,
} from "./context.ts";
import { type DeploymentRecord, deploymentRecord, previousVersion, serviceRecord } from "./record.ts";
import { releaseStep } from "./release.ts";

/** How many dead recoverers in a row are followed back (each names the one it was recovering). */
const MAX_DEPTH = 3;

/** What recovery found and did. */
export interface Recovery {
  readonly deploymentId: string;
  /** The abandoned deployment's status as recorded in the ledger (undefined: nothing to do). */
  readonly status: DeploymentRecord["status"] | undefined;
  readonly actions: readonly string[];
}

function lastCheckpoint(entries: readonly JournalEntry[], step: string): unknown {
  return entries.filter((e) => e.event === "checkpoint" && e.step === step).at(-1)?.data;
}

/** Steps started and never ended: what was in flight when the process died. */
function inFlight(entries: readonly JournalEntry[]): Set<string> {
  const open = new Set<string>();
  for (const e of entries) {
    if (e.event === "step-start" && e.step) open.add(e.step);
    if (e.event === "step-end" && e.step) open.delete(e.step);
  }
  return open;
}

/**
 * Recover the dead `holder` of a lock this process just took over: note it in our journal first
 * (so a recoverer that dies is followed back), then recover; on an error other than a verified
 * failure (RECOVERY_FAILED, which is recorded), put the dead holder back in the lock so the next
 * deploy or `gantry unlock` tries again, and rethrow.
 */
export async function takeOverFrom(
  ctx: DeployContext,
  held: HeldLock,
  holder: LockHolder,
  signal: AbortSignal,
): Promise<Recovery> {
  await checkpoint(ctx, "recovering", { holder });
  try {
    return await recoverAbandoned(ctx, holder, signal);
  } catch (err) {
    if (!(err instanceof GantryError && err.code === "RECOVERY_FAILED")) {
      const restored = await ctx.lock.restore(held, holder).catch(() => false);
      if (restored && ctx.facts.lock?.etag === held.etag) delete ctx.facts.lock;
    }
    throw err;
  }
}

/**
 * Recover the deployment of `abandoned` (whose lock this process now holds). Throws a StepError
 * when the release it started cannot be rolled back and verified: then a human is needed.
 */
export async function recoverAbandoned(
  ctx: DeployContext,
  abandoned: LockHolder,
  signal: AbortSignal,
  depth = 0,
): Promise<Recovery> {
  const { reporter } = ctx;
  const id = abandoned.deploymentId;
  const journal = ctx.journal.sibling(id);
  const entries = await journal.read();
  const actions: string[] = [];
  if (!entries.length) {
    reporter.emit({ type: "warn", message: `deployment ${id} left no journal: nothing to recover from` });
    return { deploymentId: id, status: undefined, actions };
  }
  if (entries.some((e) => e.event === "finish")) return { deploymentId: id, status: undefined, actions };
  // The dead process may itself have been recovering an older one: that one comes first.
  const pointer = lastCheckpoint(entries, "recovering") as { holder?: LockHolder } | undefined;
  if (pointer?.holder && depth < MAX_DEPTH) await recoverAbandoned(ctx, pointer.holder, signal, depth + 1);
  // Not a deployment (a `gantry unlock` that died while recovering): nothing of its own to undo.
  if (!entries.some((e) => e.event === "begin")) return { deploymentId: id, status: undefined, actions };
  reporter.emit({ type: "warn", message: `recovering abandoned deployment ${id} from its journal…` });
  const open = inFlight(entries);
  const begin = entries.find((e) => e.event === "begin")?.data as { request?: DeployRequest } | undefined;

  if (open.has("stack")) {
    // The dead process held the engine's update lock; nobody else can be running (we hold ours).
    await ctx.stack.cancel().then(
      () => actions.push("cancelled the interrupted stack update's lock"),
      (err: unknown) => {
        reporter.emit({ type: "warn", message: `could not cancel the stack update: ${oneLine(err)}` });
      },
    );
  }
  const migration = lastCheckpoint(entries, "migrate") as { cluster: string; taskArn: string } | undefined;
  if (migration && open.has("migrate")) {
    const task = await ctx.ports.ecs.describeTask(migration.cluster, migration.taskArn, "");
    if (task && task.lastStatus !== "STOPPED") {
      await ctx.ports.ecs.stopTask(migration.cluster, migration.taskArn, `gantry: recovering ${id}`);
      actions.push(`stopped migration task ${migration.taskArn.split("/").at(-1) ?? ""}`);
    }
  }

  // Journals of 0.10 have releases without image, tag and digest.
  type Journaled = Omit<ServiceRelease, "image" | "tag" | "digest"> &
    Partial<Pick<ServiceRelease, "image" | "tag" | "digest">>;
  const released = (
    (lastCheckpoint(entries, "release") as { releases?: Journaled[] } | undefined)?.releases ?? []
  ).filter((r) => r.newTaskDefinition !== undefined);
  let status: DeploymentRecord["status"] = "aborted";
  let failure: unknown;
  if (released.length) {
    // A release that never verified is rolled back: the previous version is the last verified one.
    const outputs = ctx.facts.outputs ?? (await ctx.stack.outputs());
    // The undo reads only what 0.10 journals have too (service, previous task definition and tag).
    const releases: ServiceRelease[] = released.map((r) => ({ image: "", tag: "", digest: "", ...r }));
    const scratch: DeployContext = { ...ctx, facts: { ...ctx.facts, outputs, releases } };
    try {
      await releaseStep.undo?.(scratch, releases, signal);
      status = "rolled_back";
      actions.push(`rolled back ${released.map((r) => `${r.serviceName} to ${r.previousTag}`).join(", ")}`);
    } catch (err) {
      status = "failed";
      failure = err;
    }
  }

  const request = begin?.request;
  const lastAt = Date.parse(entries.at(-1)?.at ?? abandoned.startedAt);
  // Journals of 0.10 checkpoint one `image`, later ones `images` by service.
  const preflight = lastCheckpoint(entries, "preflight") as
    { image?: { digest: string }; images?: Record<string, { digest: string }> } | undefined;
  const imageDigest =
    released[0]?.digest ?? preflight?.image?.digest ?? Object.values(preflight?.images ?? {})[0]?.digest;
  const snapshot = (lastCheckpoint(entries, "snapshot") as { snapshotId?: string } | undefined)?.snapshotId;
  const steps = entries
    .filter((e) => e.event === "step-end" && e.step)
    .map((e) => ({
      name: e.step ?? "",
      status: e.status ?? "",
      startedAt: e.at,
      durationMs: 0,
      detail: e.detail,
    }));
  const startedAt = request?.startedAt ?? abandoned.startedAt;
  const record = deploymentRecord({
    id,
    env: abandoned.env,
    tag: request?.tag ?? "",
    actor: request?.actor ?? abandoned.actor,
    startedAt,
    durationMs: Math.max(0, lastAt - Date.parse(startedAt)),
    status,
    imageDigest,
    snapshotId: snapshot,
    releases: released,
    // A verified rollback put the previous version back; otherwise what runs is not known.
    current: status === "rolled_back" ? previousVersion(released[0]) : null,
    services: released.map((r) =>
      serviceRecord(
        { name: r.name, image: r.image ?? "" },
        r,
        status === "rolled_back" ? previousVersion(r) : null,
      ),
    ),
    ...(request?.source ? { source: request.source } : {}),
    ...(request?.emergency ? { emergency: request.emergency } : {}),
    ...(request?.promotedFrom ? { promotedFrom: request.promotedFrom } : {}),
    ...(request?.approval ? { approval: request.approval } : {}),
    steps: [
      ...steps,
      ...[...open].map((name) => ({
        name,
        status: "abandoned",
        startedAt: entries.find((e) => e.event === "step-start" && e.step === name)?.at ?? "",
        durationMs: 0,
        detail: `the process died (${abandoned.host} pid ${String(abandoned.pid)})`,
      })),
      {
        name: "recovery",
        status: failure === undefined ? "succeeded" : "failed",
        startedAt: new Date().toISOString(),
        durationMs: 0,
        detail: `by deployment ${ctx.request.deploymentId}: ${actions.join("; ") || "nothing to undo"}${failure === undefined ? "" : `; ${oneLine(failure)}`}`,
      },
    ],
  });
  await ctx.ledger.append(record);
  await journal.append({
    event: "finish",
    status,
    detail: `recovered by ${ctx.request.deploymentId}`,
    data: { actions },
  });
  reporter.emit({
    type: status === "failed" ? "warn" : "info",
    message: `abandoned deployment ${id}: ${status}${actions.length ? ` (${actions.join("; ")})` : ""}`,
  });
  if (failure !== undefined) {
    throw new StepError(`could not recover abandoned deployment ${id}: ${oneLine(failure)}`, {
      code: "RECOVERY_FAILED",
      hint: `a human is needed: gantry status --env ${abandoned.env}`,
      cause: failure,
    });
  }
  return { deploymentId: id, status, actions };
}
