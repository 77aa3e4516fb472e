/**
 * What deploy and rollback share once they know what to release: the secrets of the smoke gate
 * and hooks (masked from then on), the interrupt signal, the notifications, the step engine run
 * that finishes truthfully (src/steps/deploy.ts), the AWS calls it made, and the final record.
 */
import { callsSince } from "../aws/factory.ts";
import { resolveDeploySecrets } from "../config/secrets.ts";
import { accountOf } from "../config/schema.ts";
import { describeError, environmentUrl, runEnd } from "../reporting/events.ts";
import type { DeployContext, DeployRequest } from "../steps/context.ts";
import { runDeploy } from "../steps/deploy.ts";
import type { PlannedStep } from "../steps/plan.ts";
import type { DeploymentRecord } from "../steps/record.ts";
import type { AppContext, Outcome } from "./context.ts";
import { deployContext, type WiredEnvironment } from "./environment.ts";
import { interruptible } from "./signals.ts";

/** How a deploy or rollback ended: the final record, and the failure if it did not succeed. */
export interface ReleaseOutcome extends Outcome {
  readonly record: DeploymentRecord;
  /** Why it did not succeed (one line and a hint are printed by the CLI). */
  readonly error?: unknown;
}

/** What {@link runRelease} runs. */
export interface ReleaseRun {
  readonly kind: "deploy" | "rollback";
  readonly wired: WiredEnvironment;
  readonly request: DeployRequest;
  readonly plan: PlannedStep[];
  /** Why this target (rollbacks). */
  readonly reason?: string | undefined;
  /** The environment this release is promoted from and its rules (src/app/promotion.ts). */
  readonly promotion?: DeployContext["promotion"];
}

/** Run a planned release of a wired environment to its verified end. */
export async function runRelease(app: AppContext, run: ReleaseRun): Promise<ReleaseOutcome> {
  const { reporter, masker } = app;
  const { wired, request, plan } = run;
  // Secrets of the smoke gate and hooks: read once here, masked in all output from now on.
  const secrets = resolveDeploySecrets(wired.config, { skipSmoke: request.skipSmoke ?? false });
  for (const value of Object.values(secrets)) masker.add(value);
  const ctx = {
    ...deployContext(wired, request, app),
    masker,
    secrets,
    ...(run.promotion ? { promotion: run.promotion } : {}),
  };
  const callsBefore = app.aws.calls();
  return interruptible(reporter, async (signal) => {
    // GitHub (deployment statuses, job summary, outputs) and Slack hear of it where configured;
    // each stage's calls are awaited (flush), and their failures are only warnings.
    reporter.emit({
      type: "run-start",
      kind: run.kind,
      env: request.env,
      tag: request.tag,
      deploymentId: request.deploymentId,
      actor: request.actor,
      reason: run.reason,
      account: accountOf(wired.config),
      emergency: request.emergency?.reason,
    });
    await reporter.flush?.();
    const result = await runDeploy(ctx, { signal, plan }).catch(async (err: unknown) => {
      reporter.emit({ type: "run-crash", error: describeError(err) });
      await reporter.flush?.();
      throw err;
    });
    reporter.emit({ type: "run-end", ...runEnd(result, environmentUrl(ctx.facts.outputs)) });
    await reporter.flush?.();
    const calls = Object.entries(callsSince(callsBefore, app.aws.calls())).sort(([a], [b]) =>
      a.localeCompare(b),
    );
    reporter.emit({
      type: "info",
      message: `AWS API calls: ${String(calls.reduce((n, [, c]) => n + c, 0))} (${calls.map(([k, c]) => `${k}=${String(c)}`).join(", ")})`,
    });
    reporter.emit({
      type: "result",
      title: `${run.kind} ${result.record.status}`,
      data: result.record,
      view: {
        kind: "run",
        run: run.kind,
        exitCode: result.exitCode,
        record: result.record,
        ...(result.exitCode !== 0 && result.error !== undefined
          ? { error: describeError(result.error) }
          : {}),
      },
    });
    return result;
  });
}
