/**
 * A whole deploy: run the plan through the step engine with a journal, keep the lock's lease
 * alive, then finish — check the outcome against what ECS reports, release the lock, append the
 * final record to the ledger — and map it to the exit code of DESIGN.md "Contracts".
 */
import { serviceImageName } from "../config/image.ts";
import { EXIT, GantryError, oneLine } from "../errors.ts";
import { outputOf, runSteps, type RunOutcome, type StepRecord } from "../orchestrator/runner.ts";
import type { DeployContext } from "./context.ts";
import { runFinishHooks } from "./hooks.ts";
import { planDeploy, type PlannedStep } from "./plan.ts";
import { LockHeldError } from "./preflight.ts";
import { snapshotStep } from "./snapshot.ts";
import {
  type DeploymentRecord,
  deploymentRecord,
  type RecordedVersion,
  type ServiceRecord,
  serviceRecord,
} from "./record.ts";
import { runningVersion } from "./running.ts";

/** What a deploy ended with. */
export interface DeployResult {
  readonly exitCode: number;
  readonly record: DeploymentRecord;
  readonly error?: unknown;
}

function detailOf(r: StepRecord): string | undefined {
  if (r.error === undefined) return undefined;
  return oneLine(r.error);
}

/** Verify the final state against ECS: every service on exactly the expected task definition. */
async function servicesOn(ctx: DeployContext, which: "new" | "previous"): Promise<boolean> {
  const outputs = ctx.facts.outputs;
  if (!outputs || !ctx.facts.releases.length) return false;
  for (const r of ctx.facts.releases) {
    const want = which === "new" ? r.newTaskDefinition : r.previousTaskDefinition;
    const state = await ctx.ports.ecs.describeService(outputs.clusterName, r.serviceName);
    const primary = state?.deployments.find((d) => d.status === "PRIMARY");
    // Exactly one deployment, COMPLETED, on the expected task definition: never a mix.
    if (
      !state ||
      state.taskDefinition !== want ||
      primary?.rolloutState !== "COMPLETED" ||
      state.deployments.length !== 1
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Every service of the environment as the record keeps it, in config order, with what each runs
 * now as ECS says (null when ECS cannot say, or before the stack exists).
 */
async function serviceRecords(ctx: DeployContext): Promise<ServiceRecord[]> {
  const outputs = ctx.facts.outputs;
  return Promise.all(
    ctx.config.stack.services.map(async (configured) => {
      const svc = outputs?.services.find((s) => s.name === configured.name);
      const running =
        outputs && svc
          ? await runningVersion(ctx.ports.ecs, outputs.clusterName, svc).catch(() => undefined)
          : undefined;
      const current: RecordedVersion | null = running
        ? {
            tag: running.tag,
            taskDefinitionArn: running.taskDefinitionArn,
            ...(running.digest ? { digest: running.digest } : {}),
          }
        : null;
      return serviceRecord(
        { name: configured.name, image: serviceImageName(ctx.config.stack, configured) },
        ctx.facts.releases.find((r) => r.name === configured.name),
        current,
      );
    }),
  );
}

/** Run the deploy of `ctx.request` and finish it truthfully. */
export async function runDeploy(
  ctx: DeployContext,
  deps: {
    signal: AbortSignal;
    leaseRenewMs?: number;
    /** Default: {@link planDeploy}. */
    plan?: PlannedStep[];
  },
): Promise<DeployResult> {
  const started = Date.now();
  const { request, reporter } = ctx;
  const plan = deps.plan ?? planDeploy(ctx);
  await ctx.journal.append({
    event: "begin",
    data: { request, plan: plan.map((p) => ({ step: p.step.name, included: p.included })) },
  });

  // Once preflight holds the lock, keep its lease alive (a crashed holder's lease then expires).
  // Losing it (taken over, or renewals failing until the lease ends) stops the deploy: someone
  // else may now act on this environment.
  const lockLost = new AbortController();
  const signal = AbortSignal.any([deps.signal, lockLost.signal]);
  let keeper: { stop(): Promise<void> } | undefined;
  const keepLease = (): void => {
    const held = ctx.facts.lock;
    if (keeper || !held) return;
    keeper = ctx.lock.keepAlive(held, {
      intervalMs: deps.leaseRenewMs ?? 60_000,
      onRenewed: (lock) => {
        if (ctx.facts.lock) ctx.facts.lock = lock;
      },
      onRenewFailed: (err) => {
        reporter.emit({ type: "warn", message: `could not renew the deploy lock: ${oneLine(err)}` });
      },
      onLost: (reason) => {
        reporter.emit({ type: "warn", message: `the deploy lock was lost (${reason}): stopping` });
        lockLost.abort(
          new GantryError(`the deploy lock was lost: ${reason}`, {
            code: "LOCK_LOST",
            hint: `check who deploys: gantry status --env ${request.env}`,
          }),
        );
      },
    });
  };

  try {
    const outcome: RunOutcome = await runSteps(
      plan.filter((p) => p.included).map((p) => p.step),
      ctx,
      {
        signal,
        observer: {
          onStepStart: async (name) => {
            // Durable before the step runs (and before it is announced): recovery after a
            // SIGKILL knows what was in flight.
            await ctx.journal.append({ event: "step-start", step: name });
            reporter.emit({ type: "step-start", name });
          },
          onStepEnd: (r) => {
            keepLease();
            const detail = detailOf(r);
            reporter.emit({
              type: "step-end",
              name: r.name,
              status: r.status,
              durationMs: r.durationMs,
              detail,
            });
            void ctx.journal.append({
              event: "step-end",
              step: r.name,
              status: r.status,
              ...(detail ? { detail } : {}),
            });
          },
        },
      },
    );

    // Finish: the status comes from what ECS reports now, never from the plan's hopes.
    const { status, exitCode } = await verdict(ctx, outcome, deps.signal).catch((err: unknown) => {
      // ECS could not be asked (credentials, network): nothing is verified, a human must look.
      reporter.emit({ type: "warn", message: `could not verify the final state: ${oneLine(err)}` });
      return { status: "failed" as const, exitCode: EXIT.rollbackUnverified };
    });

    // The end's hooks (onRollback, onFailure) get the status; a refused deploy (lock held) runs none.
    // They run while the lock is still ours: nothing else deploys alongside them.
    if (exitCode !== EXIT.locked) {
      await runFinishHooks(ctx, status).catch((err: unknown) => {
        reporter.emit({ type: "warn", message: `could not run the ${status} hooks: ${oneLine(err)}` });
      });
    }

    const services = await serviceRecords(ctx);
    // Released in parallel: the record lists them in config order, whatever order they started in.
    const order = ctx.config.stack.services.map((s) => s.name);
    const releases = [...ctx.facts.releases].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    const first = releases[0];
    const snapshot = outputOf(outcome, snapshotStep);
    const record = deploymentRecord({
      id: request.deploymentId,
      env: request.env,
      tag: request.tag,
      actor: request.actor,
      startedAt: request.startedAt,
      durationMs: Date.now() - started,
      status,
      imageDigest: first ? first.digest : ctx.facts.images?.values().next().value?.digest,
      snapshotId: snapshot?.snapshotId,
      releases,
      current: services.find((s) => s.name === first?.name)?.current ?? null,
      services,
      source: request.source,
      steps: outcome.steps.map((s) => ({
        name: s.name,
        status: s.status,
        startedAt: s.startedAt,
        durationMs: s.durationMs,
        detail: detailOf(s),
      })),
      skipSmoke: request.skipSmoke === true || request.emergency !== undefined,
      ...(request.emergency ? { emergency: request.emergency } : {}),
      ...(request.promotedFrom ? { promotedFrom: request.promotedFrom } : {}),
      ...(request.approval ? { approval: request.approval } : {}),
      smoke: ctx.facts.smoke,
      hooks: ctx.facts.hooks,
    });
    // A refused deploy (lock held) changed nothing and is not history.
    if (exitCode !== EXIT.locked) {
      await ctx.ledger.append(record).catch((err: unknown) => {
        reporter.emit({ type: "warn", message: `could not append to the ledger: ${oneLine(err)}` });
      });
    }
    await ctx.journal.append({ event: "finish", status, data: { exitCode } }).catch((err: unknown) => {
      reporter.emit({ type: "warn", message: `could not journal the finish: ${oneLine(err)}` });
    });
    if (snapshot) {
      reporter.emit({
        type: "info",
        message: `pre-deploy snapshot ${snapshot.snapshotId}; restore with: ${snapshot.restoreCommand}`,
      });
    }
    return { exitCode, record, ...(outcome.ok ? {} : { error: outcome.error }) };
  } finally {
    // Last of all, whatever happened above: stop renewing and free the lock.
    // A renewal still in flight is not waited for: release() follows the lock's newer version.
    void keeper?.stop().catch(() => undefined);
    await releaseLock(ctx);
  }
}

/** Status and exit code (DESIGN.md "Contracts") of a finished run, checked against ECS. */
async function verdict(
  ctx: DeployContext,
  outcome: RunOutcome,
  signal: AbortSignal,
): Promise<{ status: DeploymentRecord["status"]; exitCode: number }> {
  // A release counts once its task definition was registered: an UpdateService whose answer was
  // lost may still have taken effect, and only ECS can say.
  const released = ctx.facts.releases.some((r) => r.newTaskDefinition !== undefined);
  if (outcome.ok) {
    const verified = await servicesOn(ctx, "new");
    if (!verified)
      ctx.reporter.emit({ type: "warn", message: "the gates passed but ECS no longer runs the release" });
    return verified
      ? { status: "succeeded", exitCode: EXIT.ok }
      : { status: "failed", exitCode: EXIT.rollbackUnverified };
  }
  // A dead deployment's release that could not be rolled back: a human is needed.
  if (outcome.error instanceof GantryError && outcome.error.code === "RECOVERY_FAILED") {
    return { status: "failed", exitCode: EXIT.rollbackUnverified };
  }
  if (signal.aborted) {
    // Interrupted: "cancelled cleanly" only if nothing was released or the rollback verified.
    const clean = !released || (outcome.undone && (await servicesOn(ctx, "previous")));
    return clean
      ? { status: "aborted", exitCode: EXIT.interrupted }
      : { status: "failed", exitCode: EXIT.rollbackUnverified };
  }
  if (outcome.error instanceof LockHeldError) return { status: "failed", exitCode: EXIT.locked };
  if (!released) return { status: "failed", exitCode: EXIT.failed };
  const restored = outcome.undone && (await servicesOn(ctx, "previous"));
  return restored
    ? { status: "rolled_back", exitCode: EXIT.rolledBack }
    : { status: "failed", exitCode: EXIT.rollbackUnverified };
}

/** Free the lock if this deploy still holds it; never throws. */
async function releaseLock(ctx: DeployContext): Promise<void> {
  const held = ctx.facts.lock;
  if (!held) return;
  delete ctx.facts.lock;
  const freed = await ctx.lock.release(held).catch((err: unknown) => {
    ctx.reporter.emit({ type: "warn", message: `could not release the deploy lock: ${oneLine(err)}` });
    return true;
  });
  if (!freed) {
    ctx.reporter.emit({
      type: "warn",
      message: `the deploy lock was no longer ours to release; check: gantry status --env ${ctx.request.env}`,
    });
  }
}
