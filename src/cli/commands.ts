/**
 * The commands: each turns its argv into the options of one use case (src/app/), runs it, and
 * hands its outcome to `done`. Use cases are imported when their command runs, so `--help`
 * loads neither Pulumi nor the AWS SDK.
 */
import type { Argv } from "yargs";
import type { Outcome } from "../app/context.ts";
import type { StackAction } from "../app/stack.ts";
import type { CliContext, GlobalArgs } from "./context.ts";

/** Receives a command's outcome (its exit code, and the failure to print if it has one). */
export type Done = (outcome: Outcome & { readonly error?: unknown; readonly label?: string }) => void;

const EXIT_CODES =
  "Exit codes: 0 deployed and verified · 1 failed, nothing changed · 2 usage · 3 rolled back and verified · 4 rollback not verified · 5 locked · 130 interrupted";

const speedOptions = <T>(y: Argv<T>) =>
  y
    .option("rollout-seconds", { type: "number", describe: "ECS rollout duration" })
    .option("snapshot-seconds", { type: "number", describe: "RDS snapshot duration" })
    .option("task-seconds", { type: "number", describe: "RunTask duration" });

/** A deploy's or rollback's outcome: the failure is printed under the record's status. */
function released(outcome: Outcome & { record?: { status: string }; error?: unknown }) {
  return outcome.record && outcome.exitCode !== 0
    ? { ...outcome, error: outcome.error, label: outcome.record.status }
    : { exitCode: outcome.exitCode };
}

/** Every command of gantry, for yargs. */
export function commands(ctx: CliContext, done: Done) {
  // Exactly the environments whose Pulumi.<env>.yaml is in the config folder.
  const envOption = <T>(y: Argv<T>, describe = "environment (Pulumi.<env>.yaml)") =>
    y.option("env", { type: "string", choices: ctx.environments, demandOption: true, describe });

  const deploy = {
    command: "deploy",
    describe: "Deploy image tags to an environment's services (npm run orchestrate -- --env E --tag T)",
    builder: (y: Argv<GlobalArgs>) =>
      envOption(y, "target environment")
        .option("tag", {
          type: "string",
          describe: "image tag every released service gets, e.g. v1.2.3 (each from its own image)",
        })
        .option("image", {
          type: "string",
          array: true,
          describe: "SERVICE=TAG: this service gets another tag (repeatable)",
        })
        .option("services", {
          type: "string",
          array: true,
          describe: "release only these services (comma-separated or repeated); the others are untouched",
        })
        .option("commit", {
          type: "string",
          describe: "commit SHA to record (default: GITHUB_SHA in Actions)",
        })
        .option("pr", {
          type: "number",
          describe: "pull request number to record (default: from the Actions event)",
        })
        .option("reason", { type: "string", describe: "why this deploy, recorded in the history" })
        .option("approved-by", {
          type: "string",
          describe: "who approved it, where nobody can be asked (gantry:approvalRequired); recorded",
        })
        .option("emergency", {
          type: "boolean",
          default: false,
          describe:
            "skip the promotion check (gantry:promotion) and the smoke gate, never the health gates or the rollback; needs --reason, recorded",
        })
        .example("$0 deploy --env prod --tag v1.2.3", "every service at v1.2.3")
        .example(
          "$0 deploy --env prod --tag v1.2.3 --image api=v1.2.4",
          "api at v1.2.4, the others at v1.2.3",
        )
        .example("$0 deploy --env prod --services web --tag v1.2.4", "only web; the others are untouched")
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
        .epilogue(EXIT_CODES),
    handler: async (
      argv: GlobalArgs & {
        env: string;
        tag?: string;
        image?: string[];
        services?: string[];
        commit?: string;
        pr?: number;
        reason?: string;
        dryRun: boolean;
        skipSnapshot: boolean;
        skipMigrations: boolean;
        skipSmoke: boolean;
        plan?: string;
        emergency: boolean;
        approvedBy?: string;
      },
    ) => {
      const { deploy } = await import("../app/deploy.ts");
      done(
        released(
          await deploy(ctx.app(argv), {
            env: argv.env,
            tag: argv.tag,
            images: argv.image,
            services: argv.services,
            commit: argv.commit,
            pr: argv.pr,
            reason: argv.reason,
            dryRun: argv.dryRun,
            skipSnapshot: argv.skipSnapshot,
            skipMigrations: argv.skipMigrations,
            skipSmoke: argv.skipSmoke,
            plan: argv.plan,
            emergency: argv.emergency,
            approvedBy: argv.approvedBy,
          }),
        ),
      );
    },
  };

  const preview = {
    command: "preview",
    describe:
      "Show what a deploy would change (stack diff + app plan) as markdown; PR comment with --comment",
    builder: (y: Argv<GlobalArgs>) =>
      envOption(y, "target environment")
        .option("tag", {
          type: "string",
          describe:
            "image tag to preview (default: the tag each service serves now, so an infra-only change previews too)",
        })
        .option("image", {
          type: "string",
          array: true,
          describe: "SERVICE=TAG: this service at another tag (repeatable)",
        })
        .option("services", {
          type: "string",
          array: true,
          describe: "preview a release of only these services",
        })
        .option("comment", {
          type: "boolean",
          default: false,
          describe: "create/update this environment's sticky comment on the pull request (GitHub Actions)",
        })
        .option("pr", { type: "number", describe: "pull request number (default: from the Actions event)" })
        .option("save-plan", {
          type: "string",
          describe: "save the Pulumi update plan to FILE, for `gantry deploy --plan FILE`",
        }),
    handler: async (
      argv: GlobalArgs & {
        env: string;
        tag?: string;
        image?: string[];
        services?: string[];
        comment: boolean;
        pr?: number;
        savePlan?: string;
      },
    ) => {
      const { preview } = await import("../app/preview.ts");
      done(
        await preview(ctx.app(argv), {
          env: argv.env,
          tag: argv.tag,
          images: argv.image,
          services: argv.services,
          comment: argv.comment,
          pr: argv.pr,
          savePlan: argv.savePlan,
          json: argv.json,
          out: process.stdout,
        }),
      );
    },
  };

  const rollback = {
    command: "rollback",
    describe:
      "Roll an environment back to an earlier version (default: the previous succeeded deploy), verified",
    builder: (y: Argv<GlobalArgs>) =>
      envOption(y)
        .option("to", {
          type: "string",
          describe: "target tag or deployment id (default: the previous succeeded one)",
        })
        .option("dry-run", {
          type: "boolean",
          default: false,
          describe: "print the target and the plan; change nothing",
        })
        .option("reason", { type: "string", describe: "why this rollback, recorded in the history" })
        .option("approved-by", {
          type: "string",
          describe: "who approved it, where nobody can be asked (gantry:approvalRequired); recorded",
        })
        .epilogue(EXIT_CODES),
    handler: async (
      argv: GlobalArgs & { env: string; to?: string; dryRun: boolean; reason?: string; approvedBy?: string },
    ) => {
      const { rollback } = await import("../app/rollback.ts");
      done(
        released(
          await rollback(ctx.app(argv), {
            env: argv.env,
            to: argv.to,
            dryRun: argv.dryRun,
            reason: argv.reason,
            approvedBy: argv.approvedBy,
          }),
        ),
      );
    },
  };

  const promote = {
    command: "promote",
    describe:
      "Release to an environment exactly the digests the one before it serves now, service by service",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("from", {
          type: "string",
          choices: ctx.environments,
          demandOption: true,
          describe: "environment whose running digests are released (e.g. staging)",
        })
        .option("to", {
          type: "string",
          choices: ctx.environments,
          demandOption: true,
          describe: "environment to release them to (e.g. prod)",
        })
        .option("reason", { type: "string", describe: "why, recorded in the history" })
        .option("dry-run", {
          type: "boolean",
          default: false,
          describe: "print what would be released and the plan; change nothing",
        })
        .option("skip-snapshot", { type: "boolean", default: false, describe: "no pre-deploy RDS snapshot" })
        .option("skip-migrations", {
          type: "boolean",
          default: false,
          describe: "do not run the migration task",
        })
        .option("approved-by", {
          type: "string",
          describe: "who approved it, where nobody can be asked (gantry:approvalRequired); recorded",
        })
        .example("$0 promote --from staging --to prod", "prod gets what staging serves, verified there")
        .epilogue(EXIT_CODES),
    handler: async (
      argv: GlobalArgs & {
        from: string;
        to: string;
        reason?: string;
        dryRun: boolean;
        skipSnapshot: boolean;
        skipMigrations: boolean;
        approvedBy?: string;
      },
    ) => {
      const { promote } = await import("../app/promote.ts");
      done(
        released(
          await promote(ctx.app(argv), {
            from: argv.from,
            to: argv.to,
            reason: argv.reason,
            dryRun: argv.dryRun,
            skipSnapshot: argv.skipSnapshot,
            skipMigrations: argv.skipMigrations,
            approvedBy: argv.approvedBy,
          }),
        ),
      );
    },
  };

  const status = {
    command: "status",
    describe:
      "Show what an environment runs: tag and digest per service, rollout, health, last deploy, lock (every environment without --env)",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("env", {
          type: "string",
          choices: ctx.environments,
          describe: "one environment (default: every environment × service, one table)",
        })
        .example("$0 status", "which version is where, in every environment"),
    handler: async (argv: GlobalArgs & { env?: string }) => {
      const { status } = await import("../app/status.ts");
      done(await status(ctx.app(argv), { env: argv.env }));
    },
  };

  const history = {
    command: "history",
    describe: "List an environment's deployments, newest first",
    builder: (y: Argv<GlobalArgs>) =>
      envOption(y).option("limit", { type: "number", default: 20, describe: "how many (1-1000)" }),
    handler: async (argv: GlobalArgs & { env: string; limit: number }) => {
      const { history } = await import("../app/history.ts");
      done(await history(ctx.app(argv), { env: argv.env, limit: argv.limit }));
    },
  };

  const unlock = {
    command: "unlock",
    describe:
      "Remove an environment's deploy lock when its holder is gone (or with --force), recovering what it left half done",
    builder: (y: Argv<GlobalArgs>) =>
      envOption(y).option("force", {
        type: "boolean",
        default: false,
        describe: "even if the holder looks alive",
      }),
    handler: async (argv: GlobalArgs & { env: string; force: boolean }) => {
      const { unlock } = await import("../app/unlock.ts");
      done(await unlock(ctx.app(argv), { env: argv.env, force: argv.force }));
    },
  };

  const stackAction = (action: StackAction) => async (argv: GlobalArgs & { env: string }) => {
    const { stack } = await import("../app/stack.ts");
    done(await stack(ctx.app(argv), { env: argv.env, action }));
  };
  const stackEnv = (y: Argv<GlobalArgs>) => envOption(y);
  const stack = {
    command: "stack <command>",
    describe: "Preview, update, read or destroy an environment's Pulumi stack",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(
          "preview",
          "Show what `up` would change, with the property diff",
          stackEnv,
          stackAction("preview"),
        )
        .command("up", "Create or update the stack and print its outputs", stackEnv, stackAction("up"))
        .command("outputs", "Print the stack's EnvironmentOutputs", stackEnv, stackAction("outputs"))
        .command("destroy", "Delete every resource of the stack", stackEnv, stackAction("destroy"))
        .demandCommand(1, "name a stack command: preview, up, outputs, destroy")
        .strict(),
    handler: () => undefined,
  };

  const sandboxRun = async (argv: GlobalArgs, options: import("../app/sandbox.ts").SandboxOptions) => {
    const { sandbox } = await import("../app/sandbox.ts");
    done(await sandbox(ctx.app(argv), options));
  };
  type Speeds = { rolloutSeconds?: number; snapshotSeconds?: number; taskSeconds?: number };
  const speeds = (argv: Speeds) => ({
    rolloutSeconds: argv.rolloutSeconds,
    snapshotSeconds: argv.snapshotSeconds,
    taskSeconds: argv.taskSeconds,
  });
  const sandbox = {
    command: "sandbox <command>",
    describe: "Run the local emulated AWS account (moto + gantry behaviour) used by --env sandbox",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(
          "start",
          "Start the sandbox on a free 127.0.0.1 port (no-op if it is running)",
          (b) =>
            speedOptions(b.option("port", { type: "number", describe: "fixed port instead of a free one" })),
          (argv) => sandboxRun(argv, { action: "start", port: argv.port, speeds: speeds(argv) }),
        )
        .command(
          "stop",
          "Stop the sandbox",
          (b) => b,
          (argv) => sandboxRun(argv, { action: "stop" }),
        )
        .command(
          "status",
          "Show whether the sandbox runs, where, and its speeds",
          (b) => b,
          (argv) => sandboxRun(argv, { action: "status" }),
        )
        .command(
          "reset",
          "Delete every emulated resource, image, fault and rule",
          (b) => b,
          (argv) => sandboxRun(argv, { action: "reset" }),
        )
        .command(
          "image <tags..>",
          "Publish images for these tags to the sandbox ECR, or to a sandbox OCI registry",
          (b) =>
            b
              .positional("tags", { type: "string", array: true, demandOption: true })
              .option("repository", {
                type: "string",
                describe: "ECR repository name (default: every ECR image of Pulumi.sandbox.yaml's services)",
              })
              .option("image", {
                type: "string",
                describe:
                  "a sandbox registry's image instead, 127.0.0.1:PORT/NAME (see gantry sandbox status)",
              }),
          (argv) =>
            sandboxRun(argv, {
              action: "image",
              tags: argv.tags,
              repository: argv.repository,
              image: argv.image,
            }),
        )
        .command(
          "fault <tag>",
          "Mark an image tag faulty (or --clear its faults)",
          (b) =>
            b
              .positional("tag", { type: "string", demandOption: true })
              .option("kind", {
                type: "string",
                describe: "one of migration, rollout, health, wrong-version, alarm, slow",
              })
              .option("alarm", { type: "string", describe: "alarm to flip for --kind alarm (default: all)" })
              .option("delay-seconds", {
                type: "number",
                describe: "how long the health endpoint holds each answer, for --kind slow (default 1)",
              })
              .option("repository", {
                type: "string",
                describe: "only images of this repository, e.g. web (default: every image with the tag)",
              })
              .option("clear", {
                type: "boolean",
                default: false,
                describe: "remove every fault of the tag",
              }),
          (argv) =>
            sandboxRun(argv, {
              action: "fault",
              tag: argv.tag,
              clear: argv.clear,
              kind: argv.kind,
              alarm: argv.alarm,
              delaySeconds: argv.delaySeconds,
              repository: argv.repository,
            }),
        )
        .command(
          "speed",
          "Set how long rollouts, snapshots and tasks take",
          (b: Argv<GlobalArgs>) => speedOptions(b),
          (argv) => sandboxRun(argv, { action: "speed", speeds: speeds(argv) }),
        )
        .demandCommand(1, "name a sandbox command: start, stop, status, reset, image, fault, speed")
        .strict(),
    handler: () => undefined,
  };

  const demo = {
    command: "demo",
    describe:
      "Run the whole pipeline on the sandbox: two healthy deploys and one automatic, verified rollback",
    builder: (y: Argv<GlobalArgs>) => y,
    handler: async (argv: GlobalArgs) => {
      const { demo } = await import("../app/demo.ts");
      done(await demo(ctx.app(argv)));
    },
  };

  return { deploy, preview, promote, rollback, status, history, unlock, stack, sandbox, demo };
}
