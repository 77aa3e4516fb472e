/**
 * `gantry promote --from staging --to prod`: release to `to` exactly the digests `from` serves now,
 * service by service (no tag to give: each service gets the tag `from` runs, and preflight checks
 * that tag still points at that digest). The release is checked with `to`'s `gantry:promotion`
 * (or, without one, "serving in `from` now, healthy"), runs the deploy plan, and its record names
 * the source: `promotedFrom { env, deploymentId }`.
 */
import { loadEnvironmentConfig } from "../config/load.ts";
import { parseTag } from "../config/tag.ts";
import { EXIT, GantryError, UsageError } from "../errors.ts";
import { type AppContext, environmentNamed, sourceEnvironment } from "./context.ts";
import type { DryRunOutcome } from "./deploy.ts";
import type { ReleaseOutcome } from "./release.ts";

/** Options of {@link promote}. */
export interface PromoteOptions {
  readonly from: string;
  readonly to: string;
  readonly reason?: string | undefined;
  /** Print what would be released and the plan; change nothing. */
  readonly dryRun: boolean;
  readonly skipSnapshot: boolean;
  readonly skipMigrations: boolean;
  /** `--approved-by NAME` (src/app/approval.ts). */
  readonly approvedBy?: string | undefined;
}

/** Promote what `options.from` serves to `options.to`; the outcome carries the DESIGN.md exit code. */
export async function promote(
  app: AppContext,
  options: PromoteOptions,
): Promise<ReleaseOutcome | DryRunOutcome> {
  const to = environmentNamed(app, options.to);
  const from = sourceEnvironment(app, options.from, to);
  const config = await loadEnvironmentConfig(app.paths.configDir, to);
  const configured = config.gantry.promotion;
  if (configured && configured.from !== from) {
    throw new UsageError(
      `${to} is promoted from ${configured.from} (gantry:promotion.from in ${config.file}), not ${from}`,
      `gantry promote --from ${configured.from} --to ${to}`,
    );
  }
  const { promotionSource, promotionPolicy } = await import("./promotion.ts");
  const { wireEnvironment, deployContext } = await import("./environment.ts");
  const { planDeploy } = await import("../steps/plan.ts");
  const { newDeploymentId, requestFor, deploySource } = await import("./request.ts");
  const source = await promotionSource(app, from);
  const names = config.stack.services.map((s) => s.name);
  const [serving, history] = await Promise.all([source.serving(names), source.history()]);
  const missing = names.filter((n) => !serving.get(n)?.digest);
  if (missing.length) {
    // What `from` runs, not how gantry was called: exit 1 like the promotion check, nothing changed.
    throw new GantryError(
      `${from} serves no digest for ${missing.join(", ")} (no such service there, or not deployed by digest)`,
      {
        code: "PROMOTION_REFUSED",
        source: "user",
        hint: `deploy it to ${from} first: gantry deploy --env ${from} --tag <tag>`,
      },
    );
  }
  const targets = names.map((name) => {
    const s = serving.get(name);
    return { name, tag: parseTag(s?.tag ?? ""), expectedDigest: s?.digest ?? "" };
  });
  const verified = history.find((r) => r.status === "succeeded");
  const tags = [...new Set(targets.map((t) => t.tag))];
  app.reporter.emit({
    type: "info",
    message: `promoting from ${from}: ${targets.map((t) => `${t.name} ${t.tag} (${t.expectedDigest.slice(0, 19)})`).join(", ")}`,
  });
  const tag = tags.length === 1 ? (tags[0] ?? "") : tags.join("+");
  const { approve } = await import("./approval.ts");
  const approval = await approve(app, {
    env: to,
    config,
    what: `promotion of ${tag} from ${from} to ${to}`,
    approvedBy: options.approvedBy,
    dryRun: options.dryRun,
  });
  const wired = await wireEnvironment(app, to);
  const request = requestFor(app.runtime, {
    env: to,
    tag,
    ...(approval ? { approval } : {}),
    targets,
    source: deploySource(app.actions, { reason: options.reason ?? `promoted from ${from}` }),
    deploymentId: newDeploymentId(),
    skipSnapshot: options.skipSnapshot,
    skipMigrations: options.skipMigrations,
    skipSmoke: false,
    promotedFrom: { env: from, deploymentId: verified?.id ?? "" },
  });
  const plan = planDeploy({ config: wired.config, request });
  const promotion = { policy: promotionPolicy(configured, from), source };
  if (options.dryRun) {
    const { dryRun } = await import("./deploy.ts");
    await dryRun(app, { ...deployContext(wired, request, app), promotion }, plan);
    return { exitCode: EXIT.ok, dryRun: true };
  }
  const { runRelease } = await import("./release.ts");
  return runRelease(app, { kind: "deploy", wired, request, plan, promotion });
}
