/**
 * The settings of the reporting hosts, read once from gantry's environment at the edge
 * (src/main.ts) and passed in: src/reporting and src/github read no environment variables.
 *
 * - `GITHUB_ACTIONS`, `GITHUB_REPOSITORY`, `GITHUB_API_URL`, `GITHUB_SERVER_URL`, `GITHUB_RUN_ID`,
 *   `GITHUB_RUN_ATTEMPT`, `GITHUB_SHA`, `GITHUB_REF`, `GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`, `GITHUB_STEP_SUMMARY`,
 *   `GITHUB_OUTPUT` (https://docs.github.com/actions/reference/variables-reference): the Actions run.
 * - `GITHUB_TOKEN`: deployment statuses and the PR comment; masked in all output wherever it is set.
 * - `GANTRY_GITHUB_ENVIRONMENT`, `GANTRY_GITHUB_COMMENT_AUTHOR`: see {@link ActionsContext}.
 * - `GANTRY_SLACK_WEBHOOK_URL`: Slack notifications; a secret, masked in all output.
 * - `CI`: set, the terminal host prints plain lines (no spinner).
 */
import { readFileSync } from "node:fs";
import { type ActionsContext, commitMessageOf, pullRequestOf } from "../github/context.ts";

/** Where reports go besides the terminal, and how the terminal behaves. */
export interface HostSettings {
  /** GITHUB_ACTIONS=true: secrets are also registered with the runner (`::add-mask::`). */
  readonly inActions: boolean;
  /** CI is set: plain timestamped lines, never a spinner. */
  readonly ci: boolean;
  /** The Actions run (GitHub host, `gantry preview`'s job summary and PR comment); undefined outside Actions. */
  readonly actions: ActionsContext | undefined;
  /** GITHUB_TOKEN as given, inside Actions or not (only to mask it). */
  readonly githubToken: string | undefined;
  /** GANTRY_SLACK_WEBHOOK_URL, trimmed; undefined when unset or blank. */
  readonly slackWebhookUrl: string | undefined;
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === "" ? undefined : value.trim();

function readEvent(file: string | undefined): unknown {
  if (!file) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The GitHub Actions run gantry is part of, from the standard Actions variables and the event
 * payload; undefined outside GitHub Actions (GITHUB_ACTIONS !== "true" or no GITHUB_REPOSITORY).
 */
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
  const commentAuthor = nonEmpty(env.GANTRY_GITHUB_COMMENT_AUTHOR);
  const environment = nonEmpty(env.GANTRY_GITHUB_ENVIRONMENT);
  const event = readEvent(nonEmpty(env.GITHUB_EVENT_PATH));
  const eventName = nonEmpty(env.GITHUB_EVENT_NAME);
  const commitMessage = commitMessageOf(event);
  return Object.freeze({
    owner,
    repo,
    apiUrl,
    serverUrl,
    runUrl,
    ...(runId && /^\d+$/.test(runId) ? { runId: Number(runId) } : {}),
    token: nonEmpty(env.GITHUB_TOKEN),
    sha: nonEmpty(env.GITHUB_SHA),
    ref,
    pullRequest: pullRequestOf(event, ref),
    ...(eventName ? { eventName } : {}),
    ...(commitMessage ? { commitMessage } : {}),
    summaryFile: nonEmpty(env.GITHUB_STEP_SUMMARY),
    outputFile: nonEmpty(env.GITHUB_OUTPUT),
    ...(commentAuthor ? { commentAuthor } : {}),
    ...(environment ? { environment } : {}),
  });
}

/** The {@link HostSettings} of this process, read once. */
export function hostSettings(env: NodeJS.ProcessEnv = process.env): HostSettings {
  return Object.freeze({
    inActions: env.GITHUB_ACTIONS === "true",
    ci: Boolean(env.CI),
    actions: actionsContext(env),
    githubToken: env.GITHUB_TOKEN,
    slackWebhookUrl: nonEmpty(env.GANTRY_SLACK_WEBHOOK_URL),
  });
}
