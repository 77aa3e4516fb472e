/**
 * The GitHub Actions run gantry is part of, read once from the standard Actions variables
 * (https://docs.github.com/actions/reference/variables-reference) and the event payload.
 */
import { readFileSync } from "node:fs";

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
  /** GITHUB_TOKEN, when the workflow passes it (`env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`). */
  readonly token: string | undefined;
  readonly sha: string | undefined;
  readonly ref: string | undefined;
  /** The pull request of a `pull_request`/`pull_request_target`/PR `issue_comment` event, or refs/pull/N/…. */
  readonly pullRequest: number | undefined;
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

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === "" ? undefined : value.trim();

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** The PR number of an Actions event payload, if the event concerns a pull request. */
export function pullRequestOf(payload: unknown): number | undefined {
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

function readEvent(file: string | undefined): unknown {
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** undefined outside GitHub Actions (GITHUB_ACTIONS !== "true" or no GITHUB_REPOSITORY). */
export function actionsContext(env: NodeJS.ProcessEnv = process.env): ActionsContext | undefined {
  if (env.GITHUB_ACTIONS !== "true") return undefined;
  const [owner, repo, ...rest] = (nonEmpty(env.GITHUB_REPOSITORY) ?? "").split("/");
  if (!owner || !repo || rest.length > 0) return undefined;
  const apiUrl = (nonEmpty(env.GITHUB_API_URL) ?? "https://api.github.com").replace(/\/+$/, "");
  const serverUrl = (nonEmpty(env.GITHUB_SERVER_URL) ?? "https://github.com").replace(/\/+$/, "");
  const runId = nonEmpty(env.GITHUB_RUN_ID);
  const attempt = nonEmpty(env.GITHUB_RUN_ATTEMPT);
  const runUrl = runId
    ? `${serverUrl}/${owner}/${repo}/actions/runs/${runId}${attempt && attempt !== "1" ? `/attempts/${attempt}` : ""}`
    : undefined;
  const ref = nonEmpty(env.GITHUB_REF);
  const fromRef = /^refs\/pull\/(\d+)\//.exec(ref ?? "")?.[1];
  const commentAuthor = nonEmpty(env.GANTRY_GITHUB_COMMENT_AUTHOR);
  const environment = nonEmpty(env.GANTRY_GITHUB_ENVIRONMENT);
  return Object.freeze({
    owner,
    repo,
    apiUrl,
    serverUrl,
    runUrl,
    token: nonEmpty(env.GITHUB_TOKEN),
    sha: nonEmpty(env.GITHUB_SHA),
    ref,
    pullRequest:
      pullRequestOf(readEvent(nonEmpty(env.GITHUB_EVENT_PATH))) ?? positiveInt(Number(fromRef ?? Number.NaN)),
    summaryFile: nonEmpty(env.GITHUB_STEP_SUMMARY),
    outputFile: nonEmpty(env.GITHUB_OUTPUT),
    ...(commentAuthor ? { commentAuthor } : {}),
    ...(environment ? { environment } : {}),
  });
}
