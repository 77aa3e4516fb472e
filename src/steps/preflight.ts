/**
 * preflight: everything that can be checked before anything changes — every released service's
 * image tag resolves to a digest (ECR or any OCI registry), no ECS deployment is already in progress, no alarm is already firing (reported,
 * not ignored), and the environment's deploy lock is ours. The lock is released by the deploy's finish, last of all.
 */
import type { ResolvedImage } from "../aws/ports.ts";
import { serviceImageName } from "../config/image.ts";
import { PROJECT_NAME } from "../config/schema.ts";
import type { Step } from "../orchestrator/runner.ts";
import { checkpoint, type DeployContext, StepError, targetsOf } from "./context.ts";
import { takeOverFrom } from "./recover.ts";
import { checkPromotion } from "./promotion.ts";

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

/** How many images are resolved at once. */
const RESOLVE_PARALLEL = 4;

/**
 * Resolve the image of every service the release changes (each distinct image:tag once), all of
 * them even when some are missing, so a missing image is reported with every other missing one.
 * Registry errors (unreachable, refused credentials, wrong platform) are thrown as they are, the
 * first one first.
 */
async function resolveImages(ctx: DeployContext): Promise<Map<string, ResolvedImage>> {
  const { request, config, ports, reporter } = ctx;
  const targets = targetsOf(request, config);
  const known = config.stack.services.map((s) => s.name);
  const wanted = targets.map((t) => {
    const service = config.stack.services.find((s) => s.name === t.name);
    if (!service) {
      throw new StepError(`service ${t.name} is not in ${PROJECT_NAME}:services`, {
        code: "UNKNOWN_SERVICE",
        source: "user",
        hint: `release one of: ${known.join(", ")}`,
      });
    }
    return { target: t, ref: `${serviceImageName(config.stack, service)}:${t.tag}` };
  });
  const refs = [...new Set(wanted.map((w) => w.ref))];
  const found = new Map<string, ResolvedImage | undefined>();
  for (let i = 0; i < refs.length; i += RESOLVE_PARALLEL) {
    const batch = refs.slice(i, i + RESOLVE_PARALLEL);
    const settled = await Promise.allSettled(
      batch.map((ref) => {
        const at = ref.lastIndexOf(":");
        return ports.images.resolve(ref.slice(0, at), ref.slice(at + 1));
      }),
    );
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    settled.forEach((r, j) => found.set(batch[j] ?? "", r.status === "fulfilled" ? r.value : undefined));
  }
  // Each missing image:tag once, with the services that use it.
  const missing = new Map<string, string[]>();
  for (const w of wanted) {
    if (!found.get(w.ref)) missing.set(w.ref, [...(missing.get(w.ref) ?? []), w.target.name]);
  }
  if (missing.size) {
    const list = [...missing].map(([ref, names]) => `${ref} (${names.join(", ")})`).join(", ");
    const firstTag = wanted.find((w) => missing.has(w.ref))?.target.tag ?? request.tag;
    throw new StepError(
      `${missing.size === 1 ? "image" : `${String(missing.size)} images`} not found: ${list}`,
      {
        code: "IMAGE_NOT_FOUND",
        source: "user",
        hint: `push ${missing.size === 1 ? "it" : "them"} first (for the sandbox: gantry sandbox image ${firstTag}${known.length > 1 ? " --repository <image>" : ""})`,
      },
    );
  }
  const images = new Map<string, ResolvedImage>();
  for (const { target: t, ref } of wanted) {
    const image = found.get(ref);
    if (!image) continue;
    if (t.expectedDigest && image.digest !== t.expectedDigest) {
      throw new StepError(
        `${t.name}: ${ref} now points at ${image.digest}, not ${t.expectedDigest} that the target ran`,
        {
          code: "IMAGE_MOVED",
          source: "user",
          hint: "the target's image no longer exists under that tag; pick another target (gantry history)",
        },
      );
    }
    images.set(t.name, image);
    reporter.emit({ type: "info", message: `${t.name}: ${ref} → ${image.digest}` });
  }
  return images;
}

async function checks(ctx: DeployContext): Promise<void> {
  const { request, config, ports, reporter } = ctx;
  // The images and the existing stack's outputs (a first deploy has none yet) are independent
  // reads: asked together. A missing image is the failure reported even when both fail.
  const [images, outputs] = await Promise.all([
    resolveImages(ctx),
    ctx.stack.outputs().catch(() => undefined),
  ]);
  ctx.facts.images = images;
  await checkPromotion(
    ctx,
    targetsOf(request, config).flatMap((t) => {
      const image = images.get(t.name);
      return image ? [{ name: t.name, tag: t.tag, digest: image.digest }] : [];
    }),
  );
  await checkpoint(ctx, "preflight", { images: Object.fromEntries(images) });
  if (!outputs) return;
  // Plans without a stack step (rollback) work from the existing stack's outputs.
  ctx.facts.outputs ??= outputs;
  const [states, alarms] = await Promise.all([
    ports.ecs.describeServices(
      outputs.clusterName,
      outputs.services.map((svc) => svc.serviceName),
    ),
    ports.alarms.states([...outputs.alarmNames, ...config.gantry.alarms]),
  ]);
  for (const state of states) {
    const busy = state?.deployments.find((d) => d.rolloutState === "IN_PROGRESS");
    if (state && busy) {
      throw new StepError(`service ${state.serviceName} already has a deployment in progress (${busy.id})`, {
        code: "DEPLOYMENT_IN_PROGRESS",
        source: "user",
        hint: `wait for it (gantry status --env ${request.env}) and deploy again`,
      });
    }
  }
  for (const a of alarms.alarms.filter((x) => x.state === "ALARM")) {
    ctx.facts.baselineAlarms.add(a.name);
    reporter.emit({
      type: "warn",
      message: `alarm ${a.name} is already in ALARM before the deploy: ${a.reason}`,
    });
  }
  for (const name of alarms.missing) reporter.emit({ type: "warn", message: `alarm ${name} does not exist` });
}
