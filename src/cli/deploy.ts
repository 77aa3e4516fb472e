/** `gantry deploy` (`npm run orchestrate`): the release pipeline, its dry run, and its exit codes. */
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { Argv } from "yargs";
import { parseEnvironmentName } from "../config/load.ts";
import { runtimeActor } from "../config/runtime.ts";
import { ENVIRONMENTS } from "../config/schema.ts";
import { parseTag } from "../config/tag.ts";
import { GantryError, oneLine } from "../errors.ts";
import type { DeployRequest } from "../steps/context.ts";
import type { CliContext } from "./context.ts";
import type { GlobalArgs } from "./index.ts";

interface DeployArgs extends GlobalArgs {
  env: string;
  tag: string;
  dryRun: boolean;
  skipSnapshot: boolean;
  skipMigrations: boolean;
  /** `--plan FILE`: apply exactly this saved Pulumi update plan. */
  plan?: string;
  /** `--skip-smoke`: no smoke gate (recorded in the ledger); `gantry rollback` never skips it. */
  skipSmoke?: boolean;
}

/** A sortable, unique deployment id: UTC time plus randomness, e.g. 20261122T101500Z-3f9a1c. */
export function newDeploymentId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * A request made by this process: who (GITHUB_ACTOR or USER), where (host, pid) and when, with
 * every step wanted unless `fields` says otherwise.
 */
export function requestFor<T extends Pick<DeployRequest, "env" | "deploymentId">>(fields: T) {
  const now: Omit<DeployRequest, "env" | "tag" | "deploymentId"> = {
    actor: runtimeActor(),
    host: os.hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    skipSnapshot: false,
    skipMigrations: false,
  };
  return { ...now, ...fields };
}

/** Register `deploy`. */
export function deployCommand(ctx: CliContext) {
  return {
    command: "deploy",
    describe: "Deploy an image tag to an environment (npm run orchestrate -- --env E --tag T)",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("env", {
          type: "string",
          choices: ENVIRONMENTS,
          demandOption: true,
          describe: "target environment",
        })
        .option("tag", { type: "string", demandOption: true, describe: "image tag to deploy, e.g. v1.2.3" })
        .option("dry-run", {
          type: "boolean",
          default: false,
          describe: "print the plan and the diffs; change nothing",
        })
        .option("skip-snapshot", { type: "boolean", default: false, describe: "no pre-deploy RDS snapshot" })
        .option("skip-migrations", {
          type: "boolean",
          default: false,
          describe: "do not run the migration task",
        })
        .option("skip-smoke", {
          type: "boolean",
          default: false,
          describe: "do not run the smoke gate (gantry:smoke); recorded in the ledger",
        })
        .option("plan", {
          type: "string",
          describe: "apply exactly the Pulumi update plan saved by `gantry preview --save-plan FILE`",
        })
        .epilogue(
          "Exit codes: 0 deployed and verified · 1 failed, nothing changed · 2 usage · 3 rolled back and verified · 4 rollback not verified · 5 locked · 130 interrupted",
        ),
    handler: async (argv: DeployArgs) => {
      const result = await performDeploy(ctx, argv, ctx.reporter(argv));
      if (result) process.exitCode = result.exitCode;
    },
  };
}

/**
 * Validate, wire and run one deploy (or its dry run, which returns undefined). Reports the final
 * record as a result event and the failure, if any, as one line with its hint on stderr.
 */
export async function performDeploy(
  ctx: CliContext,
  argv: Omit<DeployArgs, "json" | "verbose">,
  reporter: import("../reporting/reporter.ts").Reporter,
  rollback?: (
    wired: import("../steps/wire.ts").WiredEnvironment,
  ) => Promise<{ tag: string; expectedDigest: string; why: string }>,
): Promise<import("../steps/deploy.ts").DeployResult | undefined> {
  const env = parseEnvironmentName(argv.env);
  // A malformed tag is refused before anything is started or opened.
  if (!rollback) parseTag(argv.tag);
  // A bad --plan is refused before anything is wired, locked or changed.
  const planFile =
    argv.plan === undefined
      ? undefined
      : await (await import("../pulumi/plan.ts")).checkPlanFile(argv.plan, env);
  const { deployContext, wireEnvironment } = await import("../steps/wire.ts");
  const wired = await wireEnvironment(env, ctx.paths, reporter);
  try {
    const target = rollback ? await rollback(wired) : undefined;
    if (target) reporter.emit({ type: "info", message: `rollback target: ${target.tag} (${target.why})` });
    const tag = parseTag(target?.tag ?? argv.tag);
    const { runDeploy } = await import("../steps/deploy.ts");
    const { planDeploy, planRollback } = await import("../steps/plan.ts");
    const request = requestFor({
      env,
      tag,
      deploymentId: newDeploymentId(),
      skipSnapshot: argv.skipSnapshot,
      skipMigrations: argv.skipMigrations,
      skipSmoke: argv.skipSmoke ?? false,
      ...(target ? { expectedDigest: target.expectedDigest } : {}),
      ...(planFile !== undefined ? { planFile } : {}),
    });
    // Secrets of the smoke gate and hooks: read once here, masked in all output from now on.
    const { resolveDeploySecrets } = await import("../config/secrets.ts");
    const secrets = argv.dryRun ? {} : resolveDeploySecrets(wired.config, { skipSmoke: request.skipSmoke });
    for (const value of Object.values(secrets)) ctx.masker.add(value);
    const deployCtx = {
      ...deployContext(wired, request, reporter, ctx.paths),
      masker: ctx.masker,
      secrets,
    };
    const plan = target ? planRollback() : planDeploy(deployCtx);
    if (argv.dryRun) {
      await dryRun(deployCtx, plan, reporter);
      return undefined;
    }

    // SIGINT/SIGTERM: abort the run (the stack update gets one SIGINT; a release is rolled back).
    // The handler stays registered until the end: libraries that re-raise a signal when no other
    // listener is left (signal-exit, used under the Automation API) would otherwise kill us mid-undo.
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (controller.signal.aborted) {
        reporter.emit({ type: "warn", message: `${signal}: still stopping cleanly; please wait` });
        return;
      }
      reporter.emit({
        type: "warn",
        message: `${signal}: stopping cleanly (rolling back what was started)…`,
      });
      controller.abort(new GantryError(`interrupted by ${signal}`, { code: "INTERRUPTED" }));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      // GitHub (deployment statuses, job summary, outputs) and Slack: no-ops where not configured.
      const { deployNotifier } = await import("../reporting/notify.ts");
      const notifier = await deployNotifier({
        notice: {
          kind: target ? "rollback" : "deploy",
          env,
          tag,
          deploymentId: request.deploymentId,
          actor: request.actor,
          reason: target?.why,
        },
        reporter,
        masker: ctx.masker,
      });
      const result = await runDeploy(deployCtx, {
        signal: controller.signal,
        plan,
      }).catch(async (err: unknown) => {
        await notifier.crashed(err);
        throw err;
      });
      await notifier.finished(result, deployCtx.facts);
      for (const note of deployCtx.facts.notes) reporter.emit({ type: "info", message: note });
      const calls = Object.entries(wired.clients.calls()).sort(([a], [b]) => a.localeCompare(b));
      reporter.emit({
        type: "info",
        message: `AWS API calls: ${String(calls.reduce((n, [, c]) => n + c, 0))} (${calls.map(([k, c]) => `${k}=${String(c)}`).join(", ")})`,
      });
      reporter.emit({
        type: "result",
        title: `${target ? "rollback" : "deploy"} ${result.record.status}`,
        data: result.record,
      });
      if (result.error !== undefined && result.exitCode !== 0) {
        const e = result.error;
        process.stderr.write(`gantry: ${result.record.status}: ${ctx.masker.redact(oneLine(e))}\n`);
        if (e instanceof GantryError && e.hint)
          process.stderr.write(`  hint: ${ctx.masker.redact(e.hint)}\n`);
      }
      return result;
    } finally {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
  } finally {
    wired.clients.destroy();
  }
}

async function dryRun(
  ctx: import("../steps/context.ts").DeployContext,
  plan: import("../steps/plan.ts").PlannedStep[],
  reporter: import("../reporting/reporter.ts").Reporter,
): Promise<void> {
  const { previewDeploy } = await import("../steps/preview.ts");
  const { planHooks } = await import("../steps/hooks.ts");
  const { stack, ...preview } = await previewDeploy(ctx, plan);
  reporter.emit({
    type: "result",
    title: "dry run: nothing was changed",
    data: {
      ...preview,
      stack: { changeSummary: stack.changeSummary, changes: stack.changes },
      hooks: planHooks(ctx),
    },
  });
}
