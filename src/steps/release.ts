/**
 * release: for each service the release changes (bounded parallelism) record the task definition
 * and tag it runs, register the next revision of its family (the latest revision, with the image
 * set to the digest of that service's own image and APP_VERSION to its tag), and UpdateService.
 * Its undo is the verified rollback: UpdateService back to the recorded task definition (unless
 * ECS already rolled back by itself), wait until that deployment COMPLETES, and re-run the gates
 * on it with the previous version.
 */
import { containerDigest, containerVersion, nextRevision } from "../aws/taskDefinition.ts";
import { serviceImageName } from "../config/image.ts";
import { oneLine } from "../errors.ts";
import type { Step } from "../orchestrator/runner.ts";
import type { ServiceOutputs } from "../stacks/outputs.ts";
import {
  checkpoint,
  type DeployContext,
  imageOf,
  outputsOf,
  type ServiceRelease,
  type ServiceTarget,
  StepError,
  targetsOf,
} from "./context.ts";
import { watch, type Watched } from "./watch.ts";

/** How many services are released at once. */
const PARALLEL = 4;

/** Run `fn` over `items`, PARALLEL at a time; every started call settles before the first error is thrown. */
async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) {
    const settled = await Promise.allSettled(items.slice(i, i + PARALLEL).map(fn));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

/** The image name service `name` is configured with. */
function imageNameOf(ctx: DeployContext, name: string): string {
  const service = ctx.config.stack.services.find((s) => s.name === name);
  return serviceImageName(ctx.config.stack, service ?? {});
}

async function releaseOne(ctx: DeployContext, svc: ServiceOutputs, target: ServiceTarget): Promise<void> {
  const { ports, request, reporter } = ctx;
  const outputs = outputsOf(ctx);
  const image = imageOf(ctx, svc.name);
  const state = await ports.ecs.describeService(outputs.clusterName, svc.serviceName);
  if (!state) {
    throw new StepError(`service ${svc.serviceName} does not exist in ${outputs.clusterName}`, {
      code: "SERVICE_NOT_FOUND",
      hint: `gantry stack up --env ${request.env}`,
    });
  }
  const current = await ports.ecs.describeTaskDefinition(state.taskDefinition);
  const release: ServiceRelease = {
    name: svc.name,
    serviceName: svc.serviceName,
    containerName: svc.containerName,
    image: imageNameOf(ctx, svc.name),
    tag: target.tag,
    digest: image.digest,
    previousTaskDefinition: state.taskDefinition,
    previousTag: containerVersion(current, svc.containerName),
    previousDigest: containerDigest(current, svc.containerName),
    desiredCount: state.desiredCount,
  };
  ctx.facts.releases.push(release);
  // Built from the family's latest revision, so what the stack step just changed (cpu, memory,
  // secrets: the service ignores taskDefinition) ships with the new image.
  const latest = await ports.ecs.describeTaskDefinition(svc.taskDefinitionFamily);
  release.newTaskDefinition = await ports.ecs.registerTaskDefinition(
    nextRevision(latest, svc.containerName, image.imageUri, target.tag),
  );
  // Durable before the service changes: a crash from here on is recovered from this record.
  await checkpoint(ctx, "release", { releases: ctx.facts.releases });
  release.deploymentId = await ports.ecs.updateService(
    outputs.clusterName,
    svc.serviceName,
    release.newTaskDefinition,
  );
  await checkpoint(ctx, "release", { releases: ctx.facts.releases });
  reporter.emit({
    type: "info",
    message: `${svc.serviceName}: ${release.previousTag} → ${target.tag} (${release.newTaskDefinition.split("/").at(-1) ?? ""}, deployment ${release.deploymentId})`,
  });
}

/** Put one service back on its recorded task definition; returns the deployment to watch. */
async function revertOne(ctx: DeployContext, release: ServiceRelease): Promise<Watched | undefined> {
  const { ports, reporter } = ctx;
  const outputs = outputsOf(ctx);
  const svc = outputs.services.find((s) => s.serviceName === release.serviceName);
  if (!svc || !release.newTaskDefinition) return undefined; // never released: nothing to revert
  const state = await ports.ecs.describeService(outputs.clusterName, release.serviceName);
  const primary = state?.deployments.find((d) => d.status === "PRIMARY");
  let deploymentId: string;
  if (state?.taskDefinition === release.previousTaskDefinition && primary) {
    // ECS's circuit breaker already rolled back (or the UpdateService never took effect): verify
    // what runs instead of starting another deployment.
    deploymentId = primary.id;
    reporter.emit({
      type: "info",
      message:
        release.deploymentId === undefined
          ? `${release.serviceName}: still on ${release.previousTag}; verifying it (deployment ${deploymentId})`
          : `${release.serviceName}: ECS is already rolling back (deployment ${deploymentId})`,
    });
  } else {
    deploymentId = await ports.ecs.updateService(
      outputs.clusterName,
      release.serviceName,
      release.previousTaskDefinition,
    );
    reporter.emit({
      type: "info",
      message: `${release.serviceName}: rolling back to ${release.previousTag} (${release.previousTaskDefinition.split("/").at(-1) ?? ""}, deployment ${deploymentId})`,
    });
  }
  return { service: svc, deploymentId, version: release.previousTag, desiredCount: release.desiredCount };
}

/**
 * The verified rollback of `releases`: every released service back on its recorded task
 * definition (unless ECS already rolled back), then watched until that deployment COMPLETES and
 * the gates pass on the previous version. Throws ROLLBACK_UNVERIFIED otherwise.
 */
async function rollBack(
  ctx: DeployContext,
  releases: readonly ServiceRelease[],
  signal: AbortSignal,
): Promise<void> {
  const watched: Watched[] = [];
  for (const release of releases) {
    const w = await revertOne(ctx, release);
    if (w) watched.push(w);
  }
  if (!watched.length) return;
  const outputs = outputsOf(ctx);
  const done = await watch(
    ctx,
    outputs,
    watched,
    {
      name: "rollback",
      untilPass: true,
      durationMs: ctx.timing.rolloutTimeoutMs,
      health: true,
      alarmsFatal: false,
    },
    signal,
  );
  if (!done.ok) {
    throw new StepError(
      `rollback not verified: ${done.verdict.detail}${done.timedOut ? " (deadline reached)" : ""}`,
      {
        code: "ROLLBACK_UNVERIFIED",
        hint: `a human is needed: gantry status --env ${ctx.request.env}`,
      },
    );
  }
  ctx.reporter.emit({
    type: "info",
    message: `rollback verified: ${watched.map((w) => `${w.service.serviceName}=${w.version}`).join(", ")} (${done.detail})`,
  });
}

/**
 * The release step. Its output is what it released (also kept in `ctx.facts.releases`, which the
 * gates and the deploy's finish read); its undo rolls back exactly that output, verified.
 */
export const releaseStep: Step<DeployContext, readonly ServiceRelease[]> = {
  name: "release",
  async run(ctx) {
    try {
      const targets = new Map(targetsOf(ctx.request, ctx.config).map((t) => [t.name, t]));
      const released = outputsOf(ctx).services.flatMap((svc) => {
        const target = targets.get(svc.name);
        return target ? [{ svc, target }] : [];
      });
      await inBatches(released, ({ svc, target }) => releaseOne(ctx, svc, target));
      return ctx.facts.releases;
    } catch (err) {
      // Part of the release went out (e.g. UpdateService failed for one service of two): the
      // runner only undoes steps that succeeded, so this step rolls back what it started itself
      // (like the runner's undos, even after an abort). The deploy's finish verifies the result.
      // A registered revision counts: its UpdateService may have taken effect with the answer lost.
      if (ctx.facts.releases.some((r) => r.newTaskDefinition !== undefined)) {
        await rollBack(ctx, ctx.facts.releases, new AbortController().signal).catch((undoErr: unknown) => {
          ctx.reporter.emit({
            type: "warn",
            message: `rollback of the partial release: ${oneLine(undoErr)}`,
          });
        });
      }
      throw err;
    }
  },
  undo(ctx, releases, signal) {
    return rollBack(ctx, releases, signal);
  },
};
