/** `gantry sandbox ...`: lifecycle, images, faults and speeds of the local emulated account. */
import type { Argv } from "yargs";
import { parseTag } from "../config/tag.ts";
import { SandboxError, UsageError } from "../errors.ts";
import { FAULT_KINDS, type FaultKind, SandboxControl, type SandboxSpeeds } from "../sandbox/control.ts";
import { sandboxStatus, startSandbox, stopSandbox } from "../sandbox/process.ts";
import type { CliContext } from "./context.ts";
import type { GlobalArgs } from "./index.ts";

async function runningControl(ctx: CliContext): Promise<SandboxControl> {
  const status = await sandboxStatus(ctx.paths.sandboxDir);
  if (!status.running || !status.record) {
    throw new SandboxError(`the sandbox is not running (${status.reason ?? "unknown"})`, {
      code: "SANDBOX_NOT_RUNNING",
      hint: "gantry sandbox start",
      source: "user",
    });
  }
  return new SandboxControl(status.record.endpoint);
}

function seconds(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 3600) {
    throw new UsageError(
      `--${flag} must be a number of seconds, more than 0 and at most 3600`,
      `e.g. --${flag} 2`,
    );
  }
  return value;
}

/** The speed flags that were given, validated (absent ones left out). */
function speedArgs(argv: {
  rolloutSeconds?: number;
  snapshotSeconds?: number;
  taskSeconds?: number;
}): Partial<SandboxSpeeds> {
  const given = {
    rolloutSeconds: seconds(argv.rolloutSeconds, "rollout-seconds"),
    snapshotSeconds: seconds(argv.snapshotSeconds, "snapshot-seconds"),
    taskSeconds: seconds(argv.taskSeconds, "task-seconds"),
  };
  return Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
}

/** Register the `sandbox` command group. */
export function sandboxCommand(ctx: CliContext) {
  return {
    command: "sandbox <command>",
    describe: "Run the local emulated AWS account (moto + gantry behaviour) used by --env sandbox",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(
          "start",
          "Start the sandbox on a free 127.0.0.1 port (no-op if it is running)",
          (b) =>
            b
              .option("port", { type: "number", describe: "fixed port instead of a free one" })
              .option("rollout-seconds", { type: "number", describe: "ECS rollout duration" })
              .option("snapshot-seconds", { type: "number", describe: "RDS snapshot duration" })
              .option("task-seconds", { type: "number", describe: "RunTask duration" }),
          async (argv) => {
            const reporter = ctx.reporter(argv);
            if (
              argv.port !== undefined &&
              (!Number.isInteger(argv.port) || argv.port < 1 || argv.port > 65535)
            ) {
              throw new UsageError(
                `--port must be an integer between 1 and 65535`,
                "omit --port to use a free one",
              );
            }
            const speeds = speedArgs(argv);
            const started = await startSandbox({
              stateDir: ctx.paths.sandboxDir,
              toolsDir: ctx.paths.toolsDir,
              log: (message) => {
                reporter.emit({ type: "progress", message });
              },
              ...(argv.port === undefined ? {} : { port: argv.port }),
              speeds,
            });
            // A running sandbox keeps its process: apply the requested speeds to it.
            if (started.reused && Object.keys(speeds).length) {
              await new SandboxControl(started.endpoint).setSpeeds(speeds);
            }
            reporter.emit({
              type: "result",
              title: started.reused ? "sandbox already running" : "sandbox started",
              data: { endpoint: started.endpoint, pid: started.pid, logFile: started.logFile },
            });
          },
        )
        .command(
          "stop",
          "Stop the sandbox",
          (b) => b,
          async (argv) => {
            const stopped = await stopSandbox(ctx.paths.sandboxDir);
            ctx.reporter(argv).emit({
              type: "result",
              title: stopped ? "sandbox stopped" : "sandbox was not running",
              data: { stopped },
            });
          },
        )
        .command(
          "status",
          "Show whether the sandbox runs, where, and its speeds",
          (b) => b,
          async (argv) => {
            const status = await sandboxStatus(ctx.paths.sandboxDir);
            ctx.reporter(argv).emit({
              type: "result",
              title: status.running ? "sandbox running" : "sandbox not running",
              data: status.running
                ? {
                    running: true,
                    endpoint: status.record?.endpoint,
                    pid: status.record?.pid,
                    startedAt: status.record?.startedAt,
                    epoch: status.health?.epoch,
                    speeds: status.health?.speeds,
                  }
                : { running: false, reason: status.reason },
            });
            if (!status.running) process.exitCode = 1;
          },
        )
        .command(
          "reset",
          "Delete every emulated resource, image, fault and rule",
          (b) => b,
          async (argv) => {
            await (await runningControl(ctx)).reset();
            ctx.reporter(argv).emit({
              type: "result",
              title: "sandbox reset",
              data: { reset: true, next: "gantry stack up --env sandbox re-creates the stack" },
            });
          },
        )
        .command(
          "image <tags..>",
          "Publish images for these tags to the sandbox ECR",
          (b) =>
            b
              .positional("tags", { type: "string", array: true, demandOption: true })
              .option("repository", { type: "string", default: "app", describe: "ECR repository name" }),
          async (argv) => {
            const tags = argv.tags.map((t) => parseTag(t));
            const images = await (await runningControl(ctx)).publishImages(argv.repository, tags);
            ctx.reporter(argv).emit({ type: "result", title: "images published", data: images });
          },
        )
        .command(
          "fault <tag>",
          "Mark an image tag faulty (or --clear its faults)",
          (b) =>
            b
              .positional("tag", { type: "string", demandOption: true })
              .option("kind", { type: "string", describe: `one of ${FAULT_KINDS.join(", ")}` })
              .option("alarm", { type: "string", describe: "alarm to flip for --kind alarm (default: all)" })
              .option("delay-seconds", {
                type: "number",
                describe: "how long the health endpoint holds each answer, for --kind slow (default 1)",
              })
              .option("clear", {
                type: "boolean",
                default: false,
                describe: "remove every fault of the tag",
              }),
          async (argv) => {
            const tag = parseTag(argv.tag);
            if (argv.clear) {
              await (await runningControl(ctx)).clearFaults(tag);
              ctx.reporter(argv).emit({ type: "result", title: `faults cleared for ${tag}`, data: { tag } });
              return;
            }
            if (!argv.kind || !(FAULT_KINDS as readonly string[]).includes(argv.kind)) {
              throw new UsageError(
                `--kind must be one of ${FAULT_KINDS.join(", ")}`,
                `e.g. gantry sandbox fault ${tag} --kind rollout`,
              );
            }
            const fault = {
              tag,
              kind: argv.kind as FaultKind,
              ...(argv.alarm === undefined ? {} : { alarmName: argv.alarm }),
              ...(argv.delaySeconds === undefined ? {} : { delaySeconds: argv.delaySeconds }),
            };
            await (await runningControl(ctx)).addFault(fault);
            ctx.reporter(argv).emit({ type: "result", title: "fault marked", data: fault });
          },
        )
        .command(
          "speed",
          "Set how long rollouts, snapshots and tasks take",
          (b) =>
            b
              .option("rollout-seconds", { type: "number" })
              .option("snapshot-seconds", { type: "number" })
              .option("task-seconds", { type: "number" }),
          async (argv) => {
            const speeds = speedArgs(argv);
            const control = await runningControl(ctx);
            const now = Object.keys(speeds).length
              ? await control.setSpeeds(speeds)
              : (await control.health()).speeds;
            ctx.reporter(argv).emit({ type: "result", title: "sandbox speeds", data: now });
          },
        )
        .demandCommand(1, "name a sandbox command: start, stop, status, reset, image, fault, speed")
        .strict(),
    handler: () => undefined,
  };
}
