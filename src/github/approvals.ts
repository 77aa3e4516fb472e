/**
 * What GitHub says about an approval: whether an environment has required reviewers (its
 * protection rules) and who approved this workflow run's jobs for which environment (the run's
 * review history). Together they prove a person approved the job gantry runs in.
 */
import type { GitHubClient } from "./client.ts";
import type { RepoRef } from "./deployments.ts";
import { GitHubError } from "./errors.ts";

/** An environment's protection as far as approvals go. */
export interface EnvironmentProtection {
  /** Logins (users) and slugs (teams) that may approve; empty: no required reviewers. */
  readonly reviewers: readonly string[];
  /** The wait timer, in minutes (0: none). */
  readonly waitTimerMinutes: number;
}

/** The protection rules of environment `name`; undefined when the repository has no such environment. */
export async function environmentProtection(
  client: GitHubClient,
  repo: RepoRef,
  name: string,
): Promise<EnvironmentProtection | undefined> {
  try {
    const { data } = await client.rest.repos.getEnvironment({
      owner: repo.owner,
      repo: repo.repo,
      environment_name: name,
    });
    const reviewers: string[] = [];
    let waitTimerMinutes = 0;
    for (const rule of data.protection_rules ?? []) {
      if ("wait_timer" in rule && typeof rule.wait_timer === "number") waitTimerMinutes = rule.wait_timer;
      if ("reviewers" in rule) {
        for (const r of rule.reviewers ?? []) {
          const who = r.reviewer;
          if (who && "login" in who) reviewers.push(who.login);
          else if (who && "slug" in who) reviewers.push(who.slug);
        }
      }
    }
    return { reviewers, waitTimerMinutes };
  } catch (err) {
    if (err instanceof GitHubError && err.status === 404) return undefined;
    throw err;
  }
}

/** One review of a run's deployment to an environment. */
export interface RunReview {
  readonly environments: readonly string[];
  readonly state: "approved" | "rejected" | "pending";
  readonly user: string;
  readonly comment: string;
}

/** The review history of workflow run `runId` (who approved or rejected which environments). */
export async function runReviews(client: GitHubClient, repo: RepoRef, runId: number): Promise<RunReview[]> {
  const { data } = await client.rest.actions.getReviewsForRun({
    owner: repo.owner,
    repo: repo.repo,
    run_id: runId,
  });
  return data.map((r) => ({
    environments: r.environments.flatMap((e) => (e.name ? [e.name] : [])),
    state: r.state,
    user: r.user.login,
    comment: r.comment,
  }));
}
