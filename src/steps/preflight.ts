/**
 * preflight: everything that can be checked before anything changes — the image tag resolves to
 * a digest in ECR, no ECS deployment is already in progress, no alarm is already firing (reported,
 * not ignored), and the environment's deploy lock is ours. The lock is released by the deploy's finish, last of all.
 */
import type { Step } from "../orchestrator/runner.ts";
import { checkpoint, type DeployContext, StepError } from "./context.ts";
import { takeOverFrom } from "./recover.ts";

/** Refusal because another deploy holds the lock (exit code 5). */
export class LockHeldError extends StepError {}

/**
 * Preflight: take the environment's deploy lock (recovering a dead holder's half-done deploy
 * first), resolve the tag to a digest, and check that no deployment is in progress; records the
 * alarms already firing. Changes nothing in the environment.
 */
export const preflight: Step<DeployContext, void> = {
  name: "preflight",
  async run(ctx, signal) {
    const { request, reporter } = ctx;
    // The lock first, so a second deploy is refused at once.
    const acquired = await ctx.lock.acquire({
      deploymentId: request.deploymentId,
      env: request.env,
      actor: request.actor,
      host: request.host,
      pid: request.pid,
      startedAt: request.startedAt,
    });
    if (!acquired.acquired) {
      const h = acquired.holder;
      throw new LockHeldError(
        `${request.env} is locked by deployment ${h.deploymentId} of ${h.actor} on ${h.host} (pid ${String(h.pid)}) since ${h.startedAt}`,
        {
          code: "LOCKED",
          source: "user",
          hint: `wait for it, or if it is gone: gantry unlock --env ${request.env}`,
        },
      );
    }
    if (acquired.tookOverFrom) {
      reporter.emit({
        type: "warn",
        message: `took over the lock of deployment ${acquired.tookOverFrom.deploymentId}: ${acquired.why ?? ""}`,
      });
    }
    ctx.facts.lock = acquired.lock;
    try {
      // A holder that died mid-deploy left a journal: undo what it started before checking anything.
      if (acquired.tookOverFrom) await takeOverFrom(ctx, acquired.lock, acquired.tookOverFrom, signal);
      await checks(ctx);
    } catch (err) {
      await releaseHeld(ctx);
      throw err;
    }
  },
};

/**
 * Free the lock this preflight took, unless a failed recovery already gave it back to the dead
 * holder (takeOverFrom, src/steps/recover.ts), to be retried by the next deploy or unlock.
 */
async function releaseHeld(ctx: DeployContext): Promise<void> {
  const held = ctx.facts.lock;
  if (held) await ctx.lock.release(held);
  delete ctx.facts.lock;
}

async function checks(ctx: DeployContext): Promise<void> {
  const { request, config, ports, reporter } = ctx;
  const repository = config.stack.repositoryName;
  const image = await ports.ecr.resolveTag(repository, request.tag);
  if (!image) {
    throw new StepError(`image ${repository}:${request.tag} is not in ECR`, {
      code: "IMAGE_NOT_FOUND",
      source: "user",
      hint: `push it first (or for the sandbox: gantry sandbox image ${request.tag})`,
    });
  }
  if (request.expectedDigest && image.digest !== request.expectedDigest) {
    throw new StepError(
      `${repository}:${request.tag} now points at ${image.digest}, not ${request.expectedDigest} that the target ran`,
      {
        code: "IMAGE_MOVED",
        source: "user",
        hint: "the target's image no longer exists under that tag; pick another target (gantry history)",
      },
    );
  }
  ctx.facts.image = image;
  await checkpoint(ctx, "preflight", { image });
  reporter.emit({ type: "info", message: `${repository}:${request.tag} → ${image.digest}` });

  // An existing stack tells which services to check; a first deploy has none yet.
  const outputs = await ctx.stack.outputs().catch(() => undefined);
  if (outputs) {
    // Plans without a stack step (rollback) work from the existing stack's outputs.
    ctx.facts.outputs ??= outputs;
    for (const svc of outputs.services) {
      const state = await ports.ecs.describeService(outputs.clusterName, svc.serviceName);
      const busy = state?.deployments.find((d) => d.rolloutState === "IN_PROGRESS");
      if (busy) {
        throw new StepError(`service ${svc.serviceName} already has a deployment in progress (${busy.id})`, {
          code: "DEPLOYMENT_IN_PROGRESS",
          source: "user",
          hint: `wait for it (gantry status --env ${request.env}) and deploy again`,
        });
      }
    }
    const alarms = await ports.alarms.states([...outputs.alarmNames, ...config.gantry.alarms]);
    for (const a of alarms.alarms.filter((x) => x.state === "ALARM")) {
      ctx.facts.baselineAlarms.add(a.name);
      reporter.emit({
        type: "warn",
        message: `alarm ${a.name} is already in ALARM before the deploy: ${a.reason}`,
      });
    }
    for (const name of alarms.missing)
      reporter.emit({ type: "warn", message: `alarm ${name} does not exist` });
  }
}
