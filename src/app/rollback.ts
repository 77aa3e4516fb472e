/**
 * `gantry rollback`: put an earlier version back, verified like the automatic rollback. Default
 * target: the last succeeded deployment before the current one. The target's image must still
 * exist under its tag at the digest that ran (deploy by digest). It reuses the release, the gates
 * and their undo (src/steps/plan.ts planRollback); no stack update, snapshot or migration.
 */
import { parseTag } from "../config/tag.ts";
import { EXIT, UsageError } from "../errors.ts";
import { Ledger } from "../orchestrator/ledger.ts";
import type { DeploymentRecord } from "../steps/record.ts";
import { type AppContext, environmentNamed } from "./context.ts";
import { type DryRunOutcome, dryRun } from "./deploy.ts";
import type { ReleaseOutcome } from "./release.ts";
import { deploySource, newDeploymentId, requestFor } from "./request.ts";

/** Options of {@link rollback}. */
export interface RollbackOptions {
  readonly env: string;
  /** A tag or a deployment id; default: the previous succeeded deployment. */
  readonly to?: string | undefined;
  /** Print the target and the plan; change nothing. */
  readonly dryRun: boolean;
  /** `--reason TEXT`, recorded (default: why this target). */
  readonly reason?: string | undefined;
  /** `--approved-by NAME` (src/app/approval.ts). */
  readonly approvedBy?: string | undefined;
}

/** The version a rollback puts back, and why that one. */
export interface RollbackTarget {
  /** The target deployment's tag. */
  readonly tag: string;
  /** Each service's tag and digest as the target left it (all services at `tag` for records before 0.11). */
  readonly services:
    readonly { readonly name: string; readonly tag: string; readonly expectedDigest: string }[] | undefined;
  readonly expectedDigest: string;
  readonly why: string;
}

/** The rollback target of a succeeded record. */
function targetOf(record: DeploymentRecord, why: string): RollbackTarget {
  const services = record.services?.flatMap((s) =>
    s.current?.digest ? [{ name: s.name, tag: s.current.tag, expectedDigest: s.current.digest }] : [],
  );
  return {
    tag: record.tag,
    services: services?.length ? services : undefined,
    expectedDigest: record.imageDigest,
    why,
  };
}

/** Pick the rollback target from the ledger (newest first). Pure. */
export function pickTarget(records: readonly DeploymentRecord[], to: string | undefined): RollbackTarget {
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
      return targetOf(byId, `deployment ${byId.id}`);
    }
    const byTag = succeeded.find((r) => r.tag === to);
    if (!byTag) {
      throw new UsageError(
        `no succeeded deployment of tag or id "${to}" in the history`,
        "gantry history --env <env>",
      );
    }
    return targetOf(byTag, `last succeeded deployment of ${to} (${byTag.id})`);
  }
  const [current, ...older] = succeeded;
  const previous = older.find((r) => r.tag !== current?.tag);
  if (!current || !previous) {
    throw new UsageError(
      "no earlier succeeded deployment to roll back to",
      "name one with --to TAG|DEPLOYMENT_ID",
    );
  }
  return targetOf(previous, `the succeeded deployment before ${current.tag}: ${previous.id}`);
}

/** Roll `options.env` back; the outcome carries the DESIGN.md exit code. */
export async function rollback(
  app: AppContext,
  options: RollbackOptions,
): Promise<ReleaseOutcome | DryRunOutcome> {
  const env = environmentNamed(app, options.env);
  const { wireEnvironment, deployContext } = await import("./environment.ts");
  const { planRollback } = await import("../steps/plan.ts");
  const wired = await wireEnvironment(app, env);
  const target = pickTarget(await new Ledger<DeploymentRecord>(wired.store).list(env, 200), options.to);
  app.reporter.emit({ type: "info", message: `rollback target: ${target.tag} (${target.why})` });
  const tag = parseTag(target.tag);
  const names = new Set(wired.config.stack.services.map((s) => s.name));
  // Each service back to what the target left it on; a record before 0.11: all at its one image.
  const targets = target.services
    ? target.services.filter((t) => names.has(t.name))
    : [...names].map((name) => ({ name, tag, expectedDigest: target.expectedDigest }));
  const { approve } = await import("./approval.ts");
  const approval = await approve(app, {
    env,
    config: wired.config,
    what: `rollback of ${env} to ${target.tag}`,
    approvedBy: options.approvedBy,
    dryRun: options.dryRun,
  });
  const request = requestFor(app.runtime, {
    env,
    tag,
    targets,
    ...(approval ? { approval } : {}),
    source: deploySource(app.actions, { reason: options.reason ?? target.why }),
    deploymentId: newDeploymentId(),
    skipSnapshot: true,
    skipMigrations: true,
    skipSmoke: false,
  });
  const plan = planRollback();
  if (options.dryRun) {
    await dryRun(app, deployContext(wired, request, app), plan);
    return { exitCode: EXIT.ok, dryRun: true };
  }
  const { runRelease } = await import("./release.ts");
  return runRelease(app, { kind: "rollback", wired, request, plan, reason: target.why });
}
