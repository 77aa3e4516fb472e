/**
 * migrate: the migration as a one-off ECS task of the migration family, revised to the image
 * digest the release gives the migration's service (`gantry:migration.service`, default the first), with the command and deadline from config and the network from the stack outputs.
 * Fails on a RunTask failure or any non-zero exit code, showing the stoppedReason and the task's
 * last log lines; stops the task on timeout or interruption. Migrations are not undone
 * (expand/contract): a later failure keeps the schema.
 */
import { nextRevision } from "../aws/taskDefinition.ts";
import type { TaskState } from "../aws/ports.ts";
import { poll, type PollOutcome } from "../checks/poll.ts";
import { oneLine } from "../errors.ts";
import type { Step } from "../orchestrator/runner.ts";
import {
  checkpoint,
  type DeployContext,
  type DeployRequest,
  imageOf,
  outputsOf,
  StepError,
  targetsOf,
} from "./context.ts";

/** The service whose image the migration task runs: `gantry:migration.service`, else the first. */
export function migrationService(config: DeployContext["config"]): string {
  return config.gantry.migration.service ?? config.stack.services[0]?.name ?? "";
}

/**
 * Whether this deploy runs a migration: a command is configured, the release changes the
 * migration's service (a subset release without it keeps the schema), and no --skip-migrations.
 */
export function migrationWanted(
  ctx: Pick<DeployContext, "config"> & {
    readonly request: Pick<DeployRequest, "skipMigrations" | "targets">;
  },
): boolean {
  // No targets (a journal of an older version): every service is released.
  const { targets } = ctx.request;
  const released = !targets || targets.some((t) => t.name === migrationService(ctx.config));
  return ctx.config.gantry.migration.command !== undefined && !ctx.request.skipMigrations && released;
}

async function logTail(
  ctx: DeployContext,
  definition: Record<string, unknown>,
  container: string,
  taskArn: string,
) {
  const c = (
    definition.containerDefinitions as
      { name?: string; logConfiguration?: { options?: Record<string, string> } }[] | undefined
  )?.find((x) => x.name === container);
  const options = c?.logConfiguration?.options;
  const group = options?.["awslogs-group"];
  if (!group) return [];
  const prefix = options["awslogs-stream-prefix"];
  const taskId = taskArn.split("/").at(-1) ?? "";
  return ctx.ports.logs.tail(group, prefix ? `${prefix}/${container}/${taskId}` : taskId, 20).catch(() => []);
}

const taskIdOf = (taskArn: string): string => taskArn.split("/").at(-1) ?? taskArn;

/**
 * Stop the migration task, which did not end by itself. Whether it worked; a failure to stop it
 * is a warning naming the task, never the step's error (that stays the reason it was stopped).
 */
async function stopMigration(
  ctx: DeployContext,
  cluster: string,
  taskArn: string,
  reason: string,
): Promise<boolean> {
  try {
    await ctx.ports.ecs.stopTask(cluster, taskArn, reason);
    return true;
  } catch (err) {
    ctx.reporter.emit({
      type: "warn",
      message: `could not stop migration task ${taskIdOf(taskArn)} (${oneLine(err)}): stop it with aws ecs stop-task --cluster ${cluster} --task ${taskArn}`,
    });
    return false;
  }
}

/**
 * The migration: one ECS task of the migration family with the release's image and the configured
 * command, awaited to exit 0 under its deadline; stopped on failure, timeout or interruption.
 */
export const migrateStep: Step<DeployContext, void> = {
  name: "migrate",
  async run(ctx, signal) {
    const { ports, reporter, request, timing } = ctx;
    const outputs = outputsOf(ctx);
    const service = migrationService(ctx.config);
    const image = imageOf(ctx, service);
    const tag = targetsOf(request, ctx.config).find((t) => t.name === service)?.tag ?? request.tag;
    const command = ctx.config.gantry.migration.command ?? [];
    const { taskDefinitionFamily: family, containerName, subnets, securityGroups } = outputs.migration;
    const current = await ports.ecs.describeTaskDefinition(family);
    const revision = await ports.ecs.registerTaskDefinition(
      nextRevision(current, containerName, image.imageUri, tag),
    );
    const taskArn = await ports.ecs.runTask({
      cluster: outputs.clusterName,
      taskDefinition: revision,
      containerName,
      command,
      subnets,
      securityGroups,
      startedBy: `gantry/${request.deploymentId}`,
    });
    // From here on, any end other than the task observed STOPPED stops it: never a migration left
    // running behind a failed deploy.
    let out: PollOutcome<TaskState>;
    try {
      await checkpoint(ctx, "migrate", { cluster: outputs.clusterName, taskArn });
      reporter.emit({
        type: "info",
        message: `migration task ${taskIdOf(taskArn)}: ${command.join(" ")}`,
      });
      out = await poll<TaskState>(
        async () => {
          const t = await ports.ecs.describeTask(outputs.clusterName, taskArn, containerName);
          return t?.lastStatus === "STOPPED"
            ? { done: true, value: t }
            : { done: false, progress: `migration ${t?.lastStatus ?? "PENDING"}` };
        },
        {
          deadline: Date.now() + ctx.config.gantry.migration.timeoutSeconds * 1000,
          intervalMs: timing.pollIntervalMs,
          signal,
          onProgress: (message) => {
            reporter.emit({ type: "progress", message });
          },
        },
      );
    } catch (err) {
      await stopMigration(ctx, outputs.clusterName, taskArn, "gantry: migration step failed");
      throw err;
    }
    if (out.status !== "done") {
      const aborted = out.status === "aborted";
      const stopped = await stopMigration(
        ctx,
        outputs.clusterName,
        taskArn,
        aborted ? "gantry: deploy interrupted" : "gantry: migration timed out",
      );
      const fate = stopped ? "its task was stopped" : "its task could not be stopped";
      throw new StepError(
        aborted
          ? `migration interrupted: ${fate}`
          : `migration did not finish within ${String(ctx.config.gantry.migration.timeoutSeconds)} s: ${fate}`,
        {
          code: aborted ? "ABORTED" : "MIGRATION_TIMEOUT",
          hint: "raise gantry:migration.timeoutSeconds, or make the migration faster; nothing was released",
        },
      );
    }
    const task = out.value;
    if (task.exitCode !== 0) {
      const lines = await logTail(
        ctx,
        await ports.ecs.describeTaskDefinition(revision),
        containerName,
        taskArn,
      );
      for (const line of lines) reporter.emit({ type: "info", message: `  migration log: ${line}` });
      throw new StepError(
        `migration failed: exit code ${task.exitCode === undefined ? "none" : String(task.exitCode)} (${task.stoppedReason ?? task.stopCode ?? "stopped"})${lines.length ? `; last log line: ${lines.at(-1) ?? ""}` : ""}`,
        {
          code: "MIGRATION_FAILED",
          source: "user",
          hint: "fix the migration and deploy again; nothing was released",
        },
      );
    }
    reporter.emit({ type: "info", message: "migration exited 0" });
  },
};
