/** `gantry deploy` (`npm run orchestrate`): the release pipeline, its dry run, and its exit codes. */
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { Argv } from "yargs";
import { parseEnvironmentName } from "../config/load.ts";
import { runtimeActor } from "../config/runtime.ts";
import { ENVIRONMENTS } from "../config/schema.ts";
import { parseTag } from "../config/tag.ts";
import { GantryError, oneLine } from "../errors.ts";
import type { CliContext } from "./context.ts";
import type { GlobalArgs } from "./index.ts";

interface DeployArgs extends GlobalArgs {
  env: string;
  tag: string;
  dryRun: boolean;
  skipSnapshot: boolean;
  skipMigrations: boolean;
}

/** A sortable, unique deployment id: UTC time plus randomness, e.g. 20261122T101500Z-3f9a1c. */
export function newDeploymentId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
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
  const { wireEnvironment } = await import("../steps/wire.ts");
  const wired = await wireEnvironment(env, ctx.paths, reporter);
  try {
    const target = rollback ? await rollback(wired) : undefined;
    if (target) reporter.emit({ type: "info", message: `rollback target: ${target.tag} (${target.why})` });
    const tag = parseTag(target?.tag ?? argv.tag);
    const { DeployLock, hostClock } = await import("../orchestrator/lock.ts");
    const { Ledger } = await import("../orchestrator/ledger.ts");
    const { Journal } = await import("../orchestrator/journal.ts");
    const { runDeploy } = await import("../steps/deploy.ts");
    const { planDeploy, planRollback } = await import("../steps/plan.ts");
    const request = {
      env,
      tag,
      deploymentId: newDeploymentId(),
      actor: runtimeActor(),
      host: os.hostname(),
      pid: process.pid,
      startedAt: new Date().toISOString(),
      skipSnapshot: argv.skipSnapshot,
      skipMigrations: argv.skipMigrations,
      ...(target ? { expectedDigest: target.expectedDigest } : {}),
    };
    const deployCtx = {
      request,
      config: wired.config,
      ports: wired.ports,
      stack: wired.stack,
      lock: new DeployLock(wired.store, env, hostClock()),
      reporter,
      timing: {
        pollIntervalMs: 1000,
        snapshotTimeoutMs: 60 * 60_000,
        rolloutTimeoutMs: wired.config.gantry.deployTimeoutSeconds * 1000,
        httpTimeoutMs: 5000,
      },
      facts: { baselineAlarms: new Set<string>(), releases: [], notes: [] },
    };
    const plan = target ? planRollback() : planDeploy(deployCtx);
    if (argv.dryRun) {
      await dryRun(deployCtx, plan, reporter);
      return undefined;
    }

    // SIGINT/SIGTERM: abort the run (the stack update gets one SIGINT; a release is rolled back).
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      reporter.emit({
        type: "warn",
        message: `${signal}: stopping cleanly (rolling back what was started)…`,
      });
      controller.abort(new GantryError(`interrupted by ${signal}`, { code: "INTERRUPTED" }));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const journalDir =
        env === "sandbox"
          ? path.join(ctx.paths.sandboxDir, "journal")
          : path.join(ctx.paths.projectDir, ".gantry", "journal");
      const journal = new Journal(journalDir, env, request.deploymentId);
      const result = await runDeploy(deployCtx, {
        ledger: new Ledger(wired.store),
        journal,
        signal: controller.signal,
        plan,
      });
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
        process.stderr.write(`gantry: ${result.record.status}: ${oneLine(e)}\n`);
        if (e instanceof GantryError && e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
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
  const { containerVersion } = await import("../aws/ecs.ts");
  const image = await ctx.ports.ecr.resolveTag(ctx.config.stack.repositoryName, ctx.request.tag);
  const preview = await ctx.stack.preview();
  const outputs = await ctx.stack.outputs().catch(() => undefined);
  const services = [];
  for (const svc of outputs?.services ?? []) {
    const state = await ctx.ports.ecs.describeService(outputs?.clusterName ?? "", svc.serviceName);
    const current = state ? await ctx.ports.ecs.describeTaskDefinition(state.taskDefinition) : undefined;
    services.push({
      service: svc.serviceName,
      from: current
        ? `${containerVersion(current, svc.containerName)} (${state?.taskDefinition ?? ""})`
        : "(not deployed yet)",
      to: image
        ? `${ctx.request.tag} (${image.imageUri})`
        : `${ctx.request.tag} (NOT IN ECR: the deploy would stop in preflight)`,
    });
  }
  reporter.emit({
    type: "result",
    title: "dry run: nothing was changed",
    data: {
      plan: plan.map((p) => ({ step: p.step.name, included: p.included, why: p.why })),
      stack: {
        changeSummary: preview.changeSummary,
        changes: preview.changes.filter((c) => c.op !== "same"),
      },
      taskDefinitions: services,
      image: image ?? null,
    },
  });
}
