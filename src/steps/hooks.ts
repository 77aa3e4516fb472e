/**
 * Deploy hooks (`gantry:hooks`): commands run at fixed moments of a deploy with the GANTRY_*
 * environment (GANTRY_ENV, GANTRY_TAG, GANTRY_DEPLOYMENT_ID, GANTRY_STATUS, GANTRY_PREVIOUS_TAG,
 * and BASE_URL once the stack's outputs are known).
 *
 * - preDeploy: a step after preflight, before the stack update; a failure aborts the deploy with
 *   nothing changed (exit 1).
 * - postDeploy: a step after the gates; a failure rolls the release back (`onError: fail`, the
 *   default) or is only reported (`onError: warn`).
 * - onRollback / onFailure: run by the finish of the deploy (src/steps/deploy.ts); their failure
 *   is reported and changes nothing.
 */
import type { HookName } from "../config/schema.ts";
import type { Step } from "../orchestrator/runner.ts";
import { type CommandOutcome, commandText, runCommand } from "./command.ts";
import { type DeployContext, StepError } from "./context.ts";
import type { DeploymentRecord } from "./record.ts";
import { runningVersion } from "./running.ts";
import { baseUrlOf, gantryEnv } from "./smoke.ts";

/** The tag the environment ran before this deploy ("" on a first deploy or when unknown). */
async function previousTagOf(ctx: DeployContext): Promise<string> {
  const first = ctx.facts.releases[0];
  if (first) return first.previousTag;
  const outputs = ctx.facts.outputs;
  const svc = outputs?.services[0];
  if (!outputs || !svc) return "";
  const running = await runningVersion(ctx.ports.ecs, outputs.clusterName, svc).catch(() => undefined);
  return running?.tag ?? "";
}

function baseUrl(ctx: DeployContext): string | undefined {
  const outputs = ctx.facts.outputs;
  if (!outputs) return undefined;
  try {
    return baseUrlOf(outputs, ctx.config.gantry.smoke?.service);
  } catch {
    return undefined;
  }
}

/**
 * Run hook `name` if it is configured, with GANTRY_STATUS=`status`; its record goes to
 * `ctx.facts.hooks` (status `warned` instead of `failed` when `warnOnly`).
 */
async function runHook(
  ctx: DeployContext,
  name: HookName,
  status: string,
  signal: AbortSignal | undefined,
  warnOnly = false,
): Promise<CommandOutcome | undefined> {
  const hook = ctx.config.gantry.hooks[name];
  if (!hook) return undefined;
  const env = {
    ...gantryEnv(ctx, baseUrl(ctx)),
    GANTRY_STATUS: status,
    GANTRY_PREVIOUS_TAG: await previousTagOf(ctx),
  };
  const outcome = await runCommand(ctx, name, hook, env, signal);
  const record =
    warnOnly && outcome.record.status === "failed"
      ? { ...outcome.record, status: "warned" as const }
      : outcome.record;
  (ctx.facts.hooks ??= []).push(record);
  return outcome;
}

/** preDeploy: after preflight, before anything changes; a failure aborts (exit 1, nothing changed). */
export const preDeployStep: Step<DeployContext, void> = {
  name: "preDeploy",
  async run(ctx, signal) {
    const outcome = await runHook(ctx, "preDeploy", "started", signal);
    if (outcome?.failure !== undefined) {
      throw new StepError(`hook ${outcome.failure}`, {
        code: "HOOK_FAILED",
        source: "user",
        hint: "nothing was changed; fix what the hook reports (gantry:hooks.preDeploy) and deploy again",
      });
    }
  },
};

/** postDeploy: after the gates passed; a failure rolls back (`onError: fail`) or only warns. */
export const postDeployStep: Step<DeployContext, void> = {
  name: "postDeploy",
  async run(ctx, signal) {
    const warnOnly = ctx.config.gantry.hooks.postDeploy?.onError === "warn";
    const outcome = await runHook(ctx, "postDeploy", "succeeded", signal, warnOnly);
    if (outcome?.failure === undefined) return;
    if (warnOnly) {
      ctx.reporter.emit({
        type: "warn",
        message: `hook ${outcome.failure} (gantry:hooks.postDeploy.onError: warn, the release stays)`,
      });
      return;
    }
    throw new StepError(`hook ${outcome.failure}`, {
      code: "HOOK_FAILED",
      hint: "the release is rolled back automatically (gantry:hooks.postDeploy.onError: fail; set warn to only report)",
    });
  },
};

/**
 * The hooks of a deploy's end, for a final `status` other than succeeded: onRollback when it was
 * rolled back, then onFailure. Their failures are reported; they change nothing else.
 */
export async function runFinishHooks(ctx: DeployContext, status: DeploymentRecord["status"]): Promise<void> {
  if (status === "succeeded") return;
  const names: HookName[] = status === "rolled_back" ? ["onRollback", "onFailure"] : ["onFailure"];
  for (const name of names) {
    // Their own timeout bounds them; the deploy's signal may already be aborted (SIGINT).
    const outcome = await runHook(ctx, name, status, undefined);
    if (outcome?.failure !== undefined)
      ctx.reporter.emit({ type: "warn", message: `hook ${outcome.failure}` });
  }
}

/** One line per configured hook, for the plan and --dry-run. */
export function planHooks(
  ctx: Pick<DeployContext, "config">,
): { hook: HookName; command: string; timeoutSeconds: number; when: string }[] {
  const hooks = ctx.config.gantry.hooks;
  const when: Record<HookName, string> = {
    preDeploy: "after preflight, before any change; a failure aborts the deploy (exit 1, nothing changed)",
    postDeploy:
      hooks.postDeploy?.onError === "warn"
        ? "after the gates passed; a failure is only reported (onError: warn)"
        : "after the gates passed; a failure rolls the release back (onError: fail)",
    onRollback: "after a failed deploy was rolled back",
    onFailure: "after any deploy that did not succeed",
  };
  return (Object.keys(when) as HookName[]).flatMap((hook) => {
    const h = hooks[hook];
    return h
      ? [{ hook, command: commandText(h.command), timeoutSeconds: h.timeoutSeconds, when: when[hook] }]
      : [];
  });
}
