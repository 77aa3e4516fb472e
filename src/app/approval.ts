/**
 * `gantry:approvalRequired: true` means a person approved this deploy, rollback or promotion, and
 * the record says who and how. Checked before anything is opened or changed:
 * - in GitHub Actions: the job's GitHub environment (GANTRY_GITHUB_ENVIRONMENT) must have required
 *   reviewers, and this run's review history must show it approved — an approval gate someone
 *   forgot to configure must not pass silently;
 * - at a terminal: the person types the environment's name;
 * - elsewhere: `--approved-by NAME`, recorded as given.
 */
import type { EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import type { AppContext } from "./context.ts";

/** Who approved, and how gantry knows. */
export interface Approval {
  readonly by: string;
  readonly how: "github-environment" | "terminal" | "approved-by";
  /** E.g. the GitHub environment that was approved. */
  readonly detail?: string;
}

/** What {@link approve} asks about. */
export interface ApprovalRequest {
  readonly env: string;
  readonly config: Pick<EnvironmentConfig, "gantry" | "file">;
  /** One line naming what is approved, e.g. `deploy v1.2.3 to prod`. */
  readonly what: string;
  /** `--approved-by NAME`. */
  readonly approvedBy?: string | undefined;
  /** A dry run changes nothing and needs no approval. */
  readonly dryRun?: boolean;
}

function refused(message: string, hint: string): GantryError {
  return new GantryError(message, { code: "APPROVAL_REQUIRED", source: "user", hint });
}

/** Check the approval `request.config` requires; undefined when none is required nor given. */
export async function approve(
  app: Pick<AppContext, "actions" | "ask" | "runtime" | "reporter">,
  request: ApprovalRequest,
): Promise<Approval | undefined> {
  const { env, config, what } = request;
  if (request.dryRun === true) return undefined;
  const approvedBy = request.approvedBy?.trim();
  if (!config.gantry.approvalRequired) return approvedBy ? { by: approvedBy, how: "approved-by" } : undefined;
  const approval = app.actions
    ? await approvedInActions(app.actions, env)
    : app.ask
      ? await approvedAtTerminal(app.ask, env, what, app.runtime.actor)
      : approvedByFlag(approvedBy, env, config.file);
  app.reporter.emit({
    type: "info",
    message: `approved by ${approval.by} (${approval.how}${approval.detail ? `: ${approval.detail}` : ""})`,
  });
  return approval;
}

async function approvedInActions(
  actions: NonNullable<AppContext["actions"]>,
  env: string,
): Promise<Approval> {
  const environment = actions.environment;
  if (!environment) {
    throw refused(
      `${env} requires an approval, and this job names no GitHub environment`,
      "run the job in a protected environment (environment: production) and set GANTRY_GITHUB_ENVIRONMENT to its name",
    );
  }
  if (!actions.token || actions.runId === undefined) {
    throw refused(
      `${env} requires an approval, and GitHub cannot be asked (no GITHUB_TOKEN or GITHUB_RUN_ID)`,
      "give the job GITHUB_TOKEN (env: GITHUB_TOKEN: ${{ github.token }}) with actions: read",
    );
  }
  const { createGitHubClient } = await import("../github/client.ts");
  const { environmentProtection, runReviews } = await import("../github/approvals.ts");
  const client = createGitHubClient({ token: actions.token, baseUrl: actions.apiUrl });
  const repo = { owner: actions.owner, repo: actions.repo };
  const protection = await environmentProtection(client, repo, environment);
  if (!protection?.reviewers.length) {
    throw refused(
      `${env} requires an approval, and GitHub environment ${environment} has no required reviewers`,
      `add them: Settings → Environments → ${environment} → Required reviewers (an unconfigured gate must not pass)`,
    );
  }
  const reviews = await runReviews(client, repo, actions.runId);
  const approved = reviews.filter((r) => r.state === "approved" && r.environments.includes(environment));
  if (!approved.length) {
    throw refused(
      `${env} requires an approval, and nobody approved this run for GitHub environment ${environment}`,
      `run the job in environment ${environment} (environment: ${environment}) so its reviewers approve it`,
    );
  }
  return {
    by: [...new Set(approved.map((r) => r.user))].join(", "),
    how: "github-environment",
    detail: environment,
  };
}

async function approvedAtTerminal(
  ask: NonNullable<AppContext["ask"]>,
  env: string,
  what: string,
  actor: string,
): Promise<Approval> {
  const typed = (
    await ask(`${what} needs an approval: type the environment's name (${env}) to go on: `)
  ).trim();
  if (typed !== env) {
    throw refused(
      `not approved: typed "${typed}", not "${env}"; nothing changed`,
      "run it again and type the name exactly",
    );
  }
  return { by: actor, how: "terminal" };
}

function approvedByFlag(approvedBy: string | undefined, env: string, file: string): Approval {
  if (!approvedBy) {
    throw refused(
      `${env} requires an approval (gantry:approvalRequired in ${file}), and nobody can be asked here`,
      "run it at a terminal, in a GitHub environment with required reviewers, or name the approver: --approved-by NAME",
    );
  }
  return { by: approvedBy, how: "approved-by" };
}
