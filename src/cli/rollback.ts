/**
 * `gantry rollback --env E [--to TAG|DEPLOYMENT_ID]`: put a previous version back, verified like
 * the automatic rollback. Default target: the last succeeded deployment before the current one.
 * The target's image must still exist under its tag at the digest that ran (deploy by digest).
 */
import type { Argv } from "yargs";
import { ENVIRONMENTS } from "../config/schema.ts";
import { UsageError } from "../errors.ts";
import type { DeploymentRecord } from "../orchestrator/ledger.ts";
import type { CliContext } from "./context.ts";
import { performDeploy } from "./deploy.ts";
import type { GlobalArgs } from "./index.ts";

/** Pick the rollback target from the ledger (newest first). Pure, for tests. */
export function pickTarget(
  records: readonly DeploymentRecord[],
  to: string | undefined,
): { tag: string; expectedDigest: string; why: string } {
  const succeeded = records.filter((r) => r.status === "succeeded");
  if (to !== undefined) {
    const byId = records.find((r) => r.id === to);
    if (byId) {
      if (byId.status !== "succeeded") {
        throw new UsageError(
          `deployment ${to} ended ${byId.status}; only a succeeded deployment can be a target`,
          "gantry history",
        );
      }
      return { tag: byId.tag, expectedDigest: byId.imageDigest, why: `deployment ${byId.id}` };
    }
    const byTag = succeeded.find((r) => r.tag === to);
    if (!byTag) {
      throw new UsageError(
        `no succeeded deployment of tag or id "${to}" in the history`,
        "gantry history --env <env>",
      );
    }
    return {
      tag: byTag.tag,
      expectedDigest: byTag.imageDigest,
      why: `last succeeded deployment of ${to} (${byTag.id})`,
    };
  }
  const [current, ...older] = succeeded;
  const previous = older.find((r) => r.tag !== current?.tag);
  if (!current || !previous) {
    throw new UsageError(
      "no earlier succeeded deployment to roll back to",
      "name one with --to TAG|DEPLOYMENT_ID",
    );
  }
  return {
    tag: previous.tag,
    expectedDigest: previous.imageDigest,
    why: `the succeeded deployment before ${current.tag}: ${previous.id}`,
  };
}

/** Register `rollback`. */
export function rollbackCommand(ctx: CliContext) {
  return {
    command: "rollback",
    describe:
      "Roll an environment back to an earlier version (default: the previous succeeded deploy), verified",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("env", { type: "string", choices: ENVIRONMENTS, demandOption: true, describe: "environment" })
        .option("to", {
          type: "string",
          describe: "target tag or deployment id (default: the previous succeeded one)",
        })
        .option("dry-run", {
          type: "boolean",
          default: false,
          describe: "print the target and the plan; change nothing",
        }),
    handler: async (argv: GlobalArgs & { env: string; to?: string; dryRun: boolean }) => {
      const result = await performDeploy(
        ctx,
        { env: argv.env, tag: "rollback", dryRun: argv.dryRun, skipSnapshot: true, skipMigrations: true },
        ctx.reporter(argv),
        async (wired) => {
          const { Ledger } = await import("../orchestrator/ledger.ts");
          return pickTarget(await new Ledger(wired.store).list(argv.env, 200), argv.to);
        },
      );
      if (result) process.exitCode = result.exitCode;
    },
  };
}
