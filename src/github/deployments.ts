/**
 * GitHub Deployments (https://docs.github.com/rest/deployments): one deployment per gantry
 * deploy or rollback, for the commit being deployed and the environment, with statuses that
 * follow it (`in_progress`, then `success`, `failure` or `error`). They show on the commit, the
 * pull request and the repository's Environments page, with links to the run and the service.
 */
import type { GitHubClient } from "./client.ts";
import { GitHubError } from "./errors.ts";

/** The repository a deployment belongs to. */
export interface RepoRef {
  readonly owner: string;
  readonly repo: string;
}

/** What to deploy where. */
export interface NewDeployment {
  /** The commit SHA (GITHUB_SHA): deploying by SHA never merges and never moves. */
  readonly ref: string;
  /** The GitHub environment name, as in the job's `environment:` (e.g. `production`). */
  readonly environment: string;
  /**
   * Whether it is production / transient (`production_environment`, `transient_environment`);
   * default: {@link environmentKind} of `environment`.
   */
  readonly kind?: { readonly production: boolean; readonly transient: boolean };
  readonly description?: string;
  /** Extra data kept with the deployment (gantry's deployment id, tag, kind). */
  readonly payload?: Readonly<Record<string, string>>;
}

/** The states gantry sets. */
export type DeploymentState = "in_progress" | "success" | "failure" | "error" | "inactive";

/** A status update. */
export interface DeploymentStatusUpdate {
  readonly state: DeploymentState;
  readonly description?: string;
  /** Where the environment answers (e.g. the service's origin). */
  readonly environmentUrl?: string | undefined;
  /** The workflow run's URL (its log). */
  readonly logUrl?: string | undefined;
}

/** GitHub keeps at most this many characters of a description. */
export const DESCRIPTION_MAX_CHARS = 140;

const short = (text: string): string =>
  text.length <= DESCRIPTION_MAX_CHARS ? text : `${text.slice(0, DESCRIPTION_MAX_CHARS - 1)}…`;

/**
 * `production_environment`: `prod`/`production` are production; `transient_environment`: an
 * environment on the sandbox account (by default only the one named sandbox), which lives on one
 * machine and goes away with it.
 */
export function environmentKind(
  environment: string,
  account?: "aws" | "sandbox",
): { production: boolean; transient: boolean } {
  return {
    production: /^prod(uction)?$/i.test(environment),
    transient: (account ?? (environment === "sandbox" ? "sandbox" : "aws")) === "sandbox",
  };
}

/**
 * Create a deployment of `ref` to `environment`, with `auto_merge: false` (never merge the
 * default branch into the ref) and `required_contexts: []` (the workflow already gated on its
 * checks; a pending check must not refuse a rollback).
 */
export async function createDeployment(
  client: GitHubClient,
  repo: RepoRef,
  deployment: NewDeployment,
): Promise<{ id: number; url: string }> {
  const kind = deployment.kind ?? environmentKind(deployment.environment);
  const { data } = await client.rest.repos.createDeployment({
    owner: repo.owner,
    repo: repo.repo,
    ref: deployment.ref,
    environment: deployment.environment,
    task: "deploy",
    auto_merge: false,
    required_contexts: [],
    production_environment: kind.production,
    transient_environment: kind.transient,
    ...(deployment.description ? { description: short(deployment.description) } : {}),
    ...(deployment.payload ? { payload: { ...deployment.payload } } : {}),
  });
  if (!("id" in data)) {
    // 202: GitHub merged something instead of creating a deployment (cannot happen without auto_merge).
    throw new GitHubError(`GitHub created no deployment: ${data.message ?? "202 Accepted"}`, {
      code: "GITHUB_NO_DEPLOYMENT",
      source: "system",
      hint: "deploy a commit SHA (GITHUB_SHA), not a branch",
    });
  }
  return { id: data.id, url: data.url };
}

/** Add a status to a deployment; `auto_inactive` (GitHub's default) retires earlier ones on success. */
export async function setDeploymentStatus(
  client: GitHubClient,
  repo: RepoRef,
  deploymentId: number,
  status: DeploymentStatusUpdate,
): Promise<{ id: number }> {
  const { data } = await client.rest.repos.createDeploymentStatus({
    owner: repo.owner,
    repo: repo.repo,
    deployment_id: deploymentId,
    state: status.state,
    ...(status.description ? { description: short(status.description) } : {}),
    ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
    ...(status.logUrl ? { log_url: status.logUrl } : {}),
  });
  return { id: data.id };
}
