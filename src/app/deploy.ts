/**
 * `gantry deploy` (`npm run orchestrate`): release image tags to an environment's services (every
 * service at `--tag`, one at its own with `--image`, a subset with `--services`) through the deploy plan (src/steps/plan.ts), or with `dryRun` print the plan and the diffs and change nothing.
 */
import { loadEnvironmentConfig } from "../config/load.ts";
import { EXIT } from "../errors.ts";
import { checkPlanFile } from "../pulumi/plan.ts";
import type { DeployContext } from "../steps/context.ts";
import type { PlannedStep } from "../steps/plan.ts";
import { type AppContext, type Outcome, environmentNamed, sourceEnvironment } from "./context.ts";
import type { ReleaseOutcome } from "./release.ts";
import {
  deploySource,
  emergencyOf,
  newDeploymentId,
  type ReleaseSelection,
  releaseTargets,
  requestFor,
} from "./request.ts";

/** Options of {@link deploy}. */
export interface DeployOptions extends ReleaseSelection {
  readonly env: string;
  /** `--commit SHA`, `--pr N` (default: from the GitHub Actions run), `--reason TEXT`: recorded. */
  readonly commit?: string | undefined;
  readonly pr?: number | undefined;
  readonly reason?: string | undefined;
  /** Print the plan and the diffs; change nothing. */
  readonly dryRun: boolean;
  readonly skipSnapshot: boolean;
  readonly skipMigrations: boolean;
  /** No smoke gate (recorded in the ledger). */
  readonly skipSmoke: boolean;
  /** Apply exactly this Pulumi update plan, saved by `gantry preview --save-plan FILE`. */
  readonly plan?: string | undefined;
  /** Skip the promotion check and the smoke gate (never the health gates or the rollback); needs `reason`. */
  readonly emergency?: boolean | undefined;
  /** `--approved-by NAME`: who approved, where nobody can be asked (src/app/approval.ts). */
  readonly approvedBy?: string | undefined;
}

/** A dry run's outcome: nothing was changed. */
export interface DryRunOutcome extends Outcome {
  readonly dryRun: true;
}

/**
 * Deploy `options.tag` to `options.env`. Bad input (environment, services, tags, plan file) is refused
 * before anything is started, opened, locked — or loaded: the engine, the SDK and the steps are
 * imported once the input is valid. The outcome carries the DESIGN.md exit code.
 */
export async function deploy(
  app: AppContext,
  options: DeployOptions,
): Promise<ReleaseOutcome | DryRunOutcome> {
  const env = environmentNamed(app, options.env);
  const config = await loadEnvironmentConfig(app.paths.configDir, env);
  const { tag, targets } = releaseTargets(
    config.stack.services.map((s) => s.name),
    options,
  );
  const source = deploySource(app.actions, options);
  const emergency = emergencyOf(options);
  const policy = config.gantry.promotion;
  const from = policy && !emergency ? sourceEnvironment(app, policy.from, env) : undefined;
  const planFile = options.plan === undefined ? undefined : await checkPlanFile(options.plan, env);
  // Before anything is opened or changed; a dry run changes nothing and needs none.
  const { approve } = await import("./approval.ts");
  const approval = await approve(app, {
    env,
    config,
    what: `deploy ${tag} to ${env}`,
    approvedBy: options.approvedBy,
    dryRun: options.dryRun,
  });
  const { wireEnvironment, deployContext } = await import("./environment.ts");
  const { planDeploy } = await import("../steps/plan.ts");
  const wired = await wireEnvironment(app, env);
  const request = requestFor(app.runtime, {
    env,
    tag,
    targets,
    source,
    deploymentId: newDeploymentId(),
    skipSnapshot: options.skipSnapshot,
    skipMigrations: options.skipMigrations,
    skipSmoke: options.skipSmoke,
    ...(planFile !== undefined ? { planFile } : {}),
    ...(emergency ? { emergency } : {}),
    ...(approval ? { approval } : {}),
  });
  const plan = planDeploy({ config: wired.config, request });
  if (options.dryRun) {
    await dryRun(app, deployContext(wired, request, app), plan);
    return { exitCode: EXIT.ok, dryRun: true };
  }
  // The environment releases come from, read by preflight's promotion check.
  const promotion =
    policy && from !== undefined
      ? { policy, source: await (await import("./promotion.ts")).promotionSource(app, from) }
      : undefined;
  const { runRelease } = await import("./release.ts");
  return runRelease(app, { kind: "deploy", wired, request, plan, ...(promotion ? { promotion } : {}) });
}

/** Report the plan, the stack diff, the task definition diff and the hooks; change nothing. */
export async function dryRun(app: AppContext, ctx: DeployContext, plan: PlannedStep[]): Promise<void> {
  const { previewDeploy } = await import("../steps/preview.ts");
  const { planHooks } = await import("../steps/hooks.ts");
  const { stack, ...preview } = await previewDeploy(ctx, plan);
  app.reporter.emit({
    type: "result",
    title: "dry run: nothing was changed",
    data: {
      ...preview,
      stack: { changeSummary: stack.changeSummary, changes: stack.changes },
      hooks: planHooks(ctx),
    },
  });
}
