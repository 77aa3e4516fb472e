/**
 * Plans are data (house style 5): the ordered steps of a deploy for a given config and request.
 * `--dry-run` prints them.
 */
import type { Step } from "../orchestrator/runner.ts";
import { type DeployContext, targetsOf } from "./context.ts";
import { gatesStep } from "./gates.ts";
import { planHooks, postDeployStep, preDeployStep } from "./hooks.ts";
import { migrateStep, migrationService, migrationWanted } from "./migrate.ts";
import { preflight } from "./preflight.ts";
import { releaseStep } from "./release.ts";
import { smokeSummary } from "./smoke.ts";
import { snapshotStep, snapshotWanted } from "./snapshot.ts";
import { stackStep } from "./stack.ts";

/** A planned step and why it is in (or out of) the plan. */
export interface PlannedStep {
  readonly step: Step<DeployContext>;
  readonly included: boolean;
  readonly why: string;
}

/** Which services a release changes and which it leaves alone. */
function releasedSummary(ctx: Pick<DeployContext, "config" | "request">): string {
  const released = new Set(targetsOf(ctx.request, ctx.config).map((t) => t.name));
  const untouched = ctx.config.stack.services.filter((s) => !released.has(s.name)).map((s) => s.name);
  return `${[...released].join(", ")}${untouched.length ? `; unchanged: ${untouched.join(", ")}` : ""}`;
}

/**
 * The deploy plan: preflight → [preDeploy hook] → stack → snapshot → migrate → release → gates
 * (with the smoke gate) → [postDeploy hook]; the release's undo is the verified rollback. The
 * onRollback/onFailure hooks run at the finish (see {@link planHooks}).
 */
export function planDeploy(ctx: Pick<DeployContext, "config" | "request">): PlannedStep[] {
  const snapshot = snapshotWanted(ctx);
  const migrate = migrationWanted(ctx);
  const hooks = new Map(
    planHooks(ctx).map((h) => [
      h.hook,
      `hook: ${h.command} (timeout ${String(h.timeoutSeconds)} s), ${h.when}`,
    ]),
  );
  const smoke = smokeSummary(ctx);
  return [
    {
      step: preflight,
      included: true,
      why: `${targetsOf(ctx.request, ctx.config)
        .map((t) => `${t.name}:${t.tag}`)
        .join(", ")} → digests, no deployment in progress, lock`,
    },
    ...(hooks.has("preDeploy")
      ? [{ step: preDeployStep, included: true, why: hooks.get("preDeploy") ?? "" }]
      : []),
    {
      step: stackStep,
      included: true,
      why: ctx.request.planFile
        ? `pulumi up of the environment's stack, constrained to the saved plan ${ctx.request.planFile} (--plan)`
        : "pulumi up of the environment's stack",
    },
    {
      step: snapshotStep,
      included: snapshot,
      why: snapshot
        ? `RDS snapshot, keep ${String(ctx.config.gantry.snapshot.retention)}`
        : ctx.request.skipSnapshot
          ? "skipped (--skip-snapshot)"
          : "off (gantry:snapshot.enabled false)",
    },
    {
      step: migrateStep,
      included: migrate,
      why: migrate
        ? `one-off task with ${migrationService(ctx.config)}'s image: ${(ctx.config.gantry.migration.command ?? []).join(" ")}`
        : ctx.request.skipMigrations
          ? "skipped (--skip-migrations)"
          : ctx.config.gantry.migration.command === undefined
            ? "off (no gantry:migration.command)"
            : `skipped (${migrationService(ctx.config)}, whose image runs the migration, is not released)`,
    },
    {
      step: releaseStep,
      included: true,
      why: `new task definition revision with the digest, UpdateService (${releasedSummary(ctx)}); undo = verified rollback`,
    },
    {
      step: gatesStep,
      included: true,
      why: `rollout COMPLETED, targets, health + version, alarms; bake ${String(ctx.config.gantry.bakeSeconds)} s${smoke ? `; ${smoke}` : ""}`,
    },
    ...(hooks.has("postDeploy")
      ? [{ step: postDeployStep, included: true, why: hooks.get("postDeploy") ?? "" }]
      : []),
  ];
}

/**
 * The manual rollback plan (`gantry rollback`): the target's image goes out like a release —
 * preflight (lock, the image still exists at the recorded digest), release, gates — with the same
 * verified undo if the target itself fails. No stack update, snapshot or migration.
 */
export function planRollback(): PlannedStep[] {
  return [
    { step: preflight, included: true, why: "lock; the target's image still exists at its recorded digest" },
    {
      step: releaseStep,
      included: true,
      why: "each service's target image as a new revision, UpdateService",
    },
    { step: gatesStep, included: true, why: "rollout COMPLETED, targets, health + version, alarms, bake" },
  ];
}
