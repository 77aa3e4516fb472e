/** Operate commands: `gantry status`, `gantry history`, `gantry unlock`. */
import type { Argv } from "yargs";
import { parseEnvironmentName } from "../config/load.ts";
import { ENVIRONMENTS } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import type { CliContext } from "./context.ts";
import type { GlobalArgs } from "./index.ts";

async function wired(ctx: CliContext, env: string, argv: GlobalArgs) {
  const reporter = ctx.reporter(argv);
  const { wireEnvironment } = await import("../steps/wire.ts");
  const { DeployLock, hostClock } = await import("../orchestrator/lock.ts");
  const { Ledger } = await import("../orchestrator/ledger.ts");
  const w = await wireEnvironment(parseEnvironmentName(env), ctx.paths, reporter);
  const lock = new DeployLock(w.store, env, hostClock());
  return { w, lock, ledger: new Ledger(w.store), reporter };
}

const envOption = (y: Argv<GlobalArgs>) =>
  y.option("env", { type: "string", choices: ENVIRONMENTS, demandOption: true, describe: "environment" });

/** `gantry status --env E`: what runs, its health, the last deployment, the lock. */
export function statusCommand(ctx: CliContext) {
  return {
    command: "status",
    describe: "Show what an environment runs: tag and digest per service, rollout, health, last deploy, lock",
    builder: envOption,
    handler: async (argv: GlobalArgs & { env: string }) => {
      const { w, lock, ledger, reporter } = await wired(ctx, argv.env, argv);
      try {
        const { containerVersion } = await import("../aws/ecs.ts");
        const outputs = await w.stack.outputs().catch(() => undefined);
        const services = [];
        for (const svc of outputs?.services ?? []) {
          const state = await w.ports.ecs.describeService(outputs?.clusterName ?? "", svc.serviceName);
          const definition = state
            ? await w.ports.ecs.describeTaskDefinition(state.taskDefinition)
            : undefined;
          const health = await w.ports.http.get(svc.healthUrl, 3000);
          services.push({
            service: svc.serviceName,
            tag: definition ? containerVersion(definition, svc.containerName) : null,
            image: definition?.containerDefinitions?.find((c) => c.name === svc.containerName)?.image ?? null,
            taskDefinition: state?.taskDefinition ?? null,
            deployments: state?.deployments.map((d) => `${d.status} ${d.rolloutState} ${d.id}`) ?? [],
            health:
              health.status === undefined
                ? `unreachable (${health.error ?? ""})`
                : `HTTP ${String(health.status)}`,
          });
        }
        const last = (await ledger.list(argv.env, 1))[0];
        const holder = await lock.holder();
        reporter.emit({
          type: "result",
          title: `status of ${argv.env}`,
          data: {
            env: argv.env,
            stack: outputs ? "up" : "not created",
            services,
            lastDeployment: last
              ? { id: last.id, tag: last.tag, status: last.status, startedAt: last.startedAt }
              : null,
            lock: holder?.holder ?? null,
          },
        });
      } finally {
        w.clients.destroy();
      }
    },
  };
}

/** `gantry history --env E`: the ledger, newest first. */
export function historyCommand(ctx: CliContext) {
  return {
    command: "history",
    describe: "List an environment's deployments, newest first",
    builder: (y: Argv<GlobalArgs>) =>
      envOption(y).option("limit", { type: "number", default: 20, describe: "how many (1-1000)" }),
    handler: async (argv: GlobalArgs & { env: string; limit: number }) => {
      if (!Number.isInteger(argv.limit) || argv.limit < 1 || argv.limit > 1000) {
        throw new UsageError("--limit must be an integer from 1 to 1000", "e.g. --limit 10");
      }
      const { w, ledger, reporter } = await wired(ctx, argv.env, argv);
      try {
        const records = await ledger.list(argv.env, argv.limit);
        reporter.emit({
          type: "result",
          title: `history of ${argv.env} (${String(records.length)})`,
          data: argv.json
            ? records
            : records.map((r) => ({
                id: r.id,
                tag: r.tag,
                status: r.status,
                startedAt: r.startedAt,
                seconds: Math.round(r.durationMs / 1000),
                actor: r.actor,
                digest: r.imageDigest,
              })),
        });
      } finally {
        w.clients.destroy();
      }
    },
  };
}

/** `gantry unlock --env E [--force]`. */
export function unlockCommand(ctx: CliContext) {
  return {
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
      const { w, reporter } = await wired(ctx, argv.env, argv);
      try {
        const { deployContext } = await import("../steps/wire.ts");
        const { takeOverFrom } = await import("../steps/recover.ts");
        const { stillHeld } = await import("../steps/preflight.ts");
        const { newDeploymentId, requestFor } = await import("./deploy.ts");
        const request = requestFor({
          env: argv.env,
          tag: "",
          deploymentId: `unlock-${newDeploymentId()}`,
          skipSnapshot: true,
          skipMigrations: true,
        });
        const recovery = deployContext(w, request, reporter, ctx.paths);
        const taken = await recovery.lock.acquire(request, { force: argv.force });
        if (!taken.acquired) {
          const h = taken.holder;
          throw new UsageError(
            `${argv.env} is locked by deployment ${h.deploymentId} of ${h.actor} on ${h.host} (pid ${String(h.pid)}), which looks alive`,
            `wait for it; if you are sure it is gone: gantry unlock --env ${argv.env} --force`,
          );
        }
        // Holding the lock ourselves, undo what a dead holder left half done, then free it. A
        // signal meanwhile is only acknowledged: stopping a rollback half way helps nobody.
        recovery.facts.lock = taken.lock;
        const onSignal = (signal: NodeJS.Signals): void => {
          reporter.emit({ type: "warn", message: `${signal}: recovering; please wait for it to finish` });
        };
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        let recovered;
        try {
          if (taken.tookOverFrom) {
            if (taken.why === "forced") {
              reporter.emit({
                type: "warn",
                message: `--force: treating deployment ${taken.tookOverFrom.deploymentId} as gone`,
              });
            }
            recovered = await takeOverFrom(
              recovery,
              taken.lock,
              taken.tookOverFrom,
              new AbortController().signal,
            );
          }
        } finally {
          process.removeListener("SIGINT", onSignal);
          process.removeListener("SIGTERM", onSignal);
          // Unless a failed recovery gave the lock back to the dead holder, to be retried.
          const held = stillHeld(recovery);
          if (held) await recovery.lock.release(held);
        }
        reporter.emit({
          type: "result",
          title: taken.tookOverFrom ? `${argv.env} unlocked` : `${argv.env} was not locked`,
          data: {
            released: taken.tookOverFrom !== undefined,
            holder: taken.tookOverFrom ?? null,
            why: taken.why ?? null,
            recovery: recovered ?? null,
          },
        });
      } finally {
        w.clients.destroy();
      }
    },
  };
}
