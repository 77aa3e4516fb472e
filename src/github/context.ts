/**
 * The GitHub Actions run gantry is part of: what gantry needs to know about it, read once from the
 * standard Actions variables and the event payload by src/config/hosts.ts (src/github reads no
 * environment variables).
 */

/** What gantry needs to know about the Actions run it is in. */
export interface ActionsContext {
  readonly owner: string;
  readonly repo: string;
  /** REST API root, e.g. `https://api.github.com` (GITHUB_API_URL). */
  readonly apiUrl: string;
  /** Web root, e.g. `https://github.com` (GITHUB_SERVER_URL). */
  readonly serverUrl: string;
  /** Link to this workflow run (and attempt), when GITHUB_RUN_ID is set. */
  readonly runUrl: string | undefined;
  /** GITHUB_RUN_ID: the run whose review history says who approved its jobs. */
  readonly runId?: number;
  /** GITHUB_TOKEN, when the workflow passes it (`env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`). */
  readonly token: string | undefined;
  readonly sha: string | undefined;
  readonly ref: string | undefined;
  /** The pull request of a `pull_request`/`pull_request_target`/PR `issue_comment` event, or refs/pull/N/…. */
  readonly pullRequest: number | undefined;
  /** GITHUB_EVENT_NAME: `push`, `release`, `workflow_dispatch`, `pull_request`, … */
  readonly eventName?: string;
  /** The head commit's message of a `push` event (its payload's head_commit.message). */
  readonly commitMessage?: string;
  /** GITHUB_STEP_SUMMARY: the job summary file of this step. */
  readonly summaryFile: string | undefined;
  /** GITHUB_OUTPUT: the step outputs file. */
  readonly outputFile: string | undefined;
  /**
   * Login whose comments count as gantry's own sticky comments (GANTRY_GITHUB_COMMENT_AUTHOR,
   * default `github-actions[bot]`, the author of comments made with the Actions GITHUB_TOKEN).
   * Set it when the token is a personal access token or another GitHub App's.
   */
  readonly commentAuthor?: string;
  /**
   * The GitHub environment gantry's deployment records go to (GANTRY_GITHUB_ENVIRONMENT); unset,
   * they go to the environment named like gantry's (`prod`). Set it to the job's `environment:`
   * (e.g. `production` for prod) so gantry's record lands beside the one Actions creates for the job.
   */
  readonly environment?: string;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function fromPayload(payload: unknown): number | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const p = payload as {
    pull_request?: { number?: unknown };
    issue?: { number?: unknown; pull_request?: unknown };
  };
  const fromPr = positiveInt(p.pull_request?.number);
  if (fromPr !== undefined) return fromPr;
  // issue_comment events on a PR carry the PR as an issue with a `pull_request` key.
  if (p.issue?.pull_request !== undefined) return positiveInt(p.issue.number);
  return undefined;
}

/** The head commit's message in a `push` event payload (first line kept whole; undefined if none). */
export function commitMessageOf(payload: unknown): string | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const message = (payload as { head_commit?: { message?: unknown } }).head_commit?.message;
  return typeof message === "string" && message.trim() !== "" ? message.trim() : undefined;
}

/**
 * The PR number of an Actions run: from its event payload, if the event concerns a pull request,
 * else from a `refs/pull/N/…` ref.
 */
export function pullRequestOf(payload: unknown, ref?: string): number | undefined {
  return (
    fromPayload(payload) ?? positiveInt(Number(/^refs\/pull\/(\d+)\//.exec(ref ?? "")?.[1] ?? Number.NaN))
  );
}
