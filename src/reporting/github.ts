/**
 * The GitHub Actions host of deploys and rollbacks:
 * - at the start, a GitHub deployment of GITHUB_SHA to the job's GitHub environment
 *   (GANTRY_GITHUB_ENVIRONMENT, default gantry's env name) with an `in_progress` status linking
 *   the run (needs GITHUB_TOKEN and `permissions: deployments: write`);
 * - at the end, the job summary (the step timeline and the final record), the step outputs
 *   `deployment-id`, `digest`, `status`, `exit-code`, a `success`/`failure`/`error` deployment
 *   status with the environment URL, and on failure an `::error` annotation with the hint.
 * Everything written is passed through the secret masker first; a GitHub failure is a warning.
 */
import { oneLine } from "../errors.ts";
import { createGitHubClient, type GitHubClient } from "../github/client.ts";
import { annotation, appendOutputs } from "../github/commands.ts";
import type { ActionsContext } from "../github/context.ts";
import {
  createDeployment,
  type DeploymentState,
  type DeploymentStatusUpdate,
  environmentKind,
  setDeploymentStatus,
} from "../github/deployments.ts";
import { appendJobSummary } from "../github/summary.ts";
import type { DeploymentRecord } from "../orchestrator/ledger.ts";
import type { EnvironmentOutputs } from "../stacks/outputs.ts";
import type { DeployResult } from "../steps/deploy.ts";
import { escapeMarkdown, inlineCode } from "./markdown.ts";
import {
  describeError,
  type DeployFactsForNotice,
  type DeployNotice,
  type DeployNotifier,
  warnOnFailure,
} from "./notify.ts";
import { formatDuration, type Reporter } from "./reporter.ts";

/** The environment's URL for GitHub: the origin of the first service's health URL. */
export function environmentUrl(outputs: EnvironmentOutputs | undefined): string | undefined {
  const health = outputs?.services[0]?.healthUrl;
  if (!health) return undefined;
  try {
    return new URL(health).origin;
  } catch {
    return undefined;
  }
}

const STATUS_ICON: Record<string, string> = {
  succeeded: "✅",
  rolled_back: "↩️",
  failed: "❌",
  aborted: "⏹️",
  skipped: "⏭️",
  undone: "↩️",
  undo_failed: "⚠️",
};

const icon = (status: string): string => STATUS_ICON[status] ?? "•";

/** The heading's text; `redact` is applied to each value before it is put in a code span. */
function title(notice: DeployNotice, status: string, redact: (value: string) => string): string {
  const code = (v: string): string => inlineCode(redact(v));
  return notice.kind === "rollback"
    ? `gantry rollback of ${code(notice.env)} to ${code(notice.tag)}: ${status}`
    : `gantry deploy of ${code(notice.tag)} to ${code(notice.env)}: ${status}`;
}

/**
 * The job summary of a finished deploy or rollback (markdown). `redact` is applied to every value
 * before it is escaped (an escaped secret would no longer match the masker).
 */
export function renderDeploySummary(
  notice: DeployNotice,
  result: DeployResult,
  envUrl: string | undefined,
  redact: (value: string) => string = (v) => v,
): string {
  const r = result.record;
  const text = (v: string): string => escapeMarkdown(redact(v));
  // Entities do not render inside code spans; a pipe still splits cells there, so it is escaped.
  const code = (v: string): string => inlineCode(redact(v), { table: true });
  const version = (v: DeploymentRecord["previous"]): string =>
    v ? `${code(v.tag)} (${code(v.taskDefinitionArn)})` : "—";
  const error = result.exitCode === 0 ? undefined : describeError(result.error);
  const rows: [string, string][] = [
    ["deployment", code(r.id)],
    ["environment", code(r.env)],
    ["tag", code(r.tag)],
    ["digest", r.imageDigest ? code(r.imageDigest) : "—"],
    ["status", `**${text(r.status)}** (exit code ${String(result.exitCode)})`],
    ["previous", version(r.previous)],
    ["current", version(r.current)],
    ["snapshot", r.snapshotId ? code(r.snapshotId) : "—"],
    ["actor", text(r.actor)],
    ["started", text(r.startedAt)],
    ["duration", formatDuration(r.durationMs)],
    ...(envUrl ? [["environment URL", `<${redact(envUrl)}>`] as [string, string]] : []),
    ...(notice.reason ? [["why this target", text(notice.reason)] as [string, string]] : []),
  ];
  const lines = [
    `## ${icon(r.status)} ${title(notice, r.status, redact)}`,
    "",
    "| | |",
    "| --- | --- |",
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    "",
    "### Steps",
    "",
    "| step | status | duration | detail |",
    "| --- | --- | ---: | --- |",
    ...r.steps.map(
      (s) =>
        `| ${text(s.name)} | ${icon(s.status)} ${text(s.status)} | ${formatDuration(s.durationMs)} | ${s.detail ? text(s.detail) : ""} |`,
    ),
  ];
  if (error) {
    lines.push("", `> **error:** ${text(error.message)}`);
    if (error.hint) lines.push(">", `> **next:** ${text(error.hint)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The deployment status that ends a deploy with this record. */
export function finalStatus(
  notice: DeployNotice,
  result: DeployResult,
): { state: DeploymentState; description: string } {
  const r = result.record;
  const took = formatDuration(r.durationMs);
  const what = notice.kind === "rollback" ? `rollback to ${r.tag}` : r.tag;
  switch (r.status) {
    case "succeeded":
      return { state: "success", description: `${what} verified healthy in ${took}` };
    case "rolled_back":
      return {
        state: "failure",
        description: `${what} failed; rolled back${r.previous ? ` to ${r.previous.tag}` : ""} and verified`,
      };
    case "aborted":
      return { state: "error", description: `${what} interrupted` };
    default:
      return {
        state: "failure",
        description: `${what} failed: ${describeError(result.error)?.message ?? `exit code ${String(result.exitCode)}`}`,
      };
  }
}

/** Options of {@link startGitHubHost}. */
export interface GitHubHostOptions {
  readonly context: ActionsContext;
  readonly notice: DeployNotice;
  /** Warnings (GitHub failures) go here. */
  readonly reporter: Reporter;
  /** Applied to everything written (the secret masker). */
  readonly redact: (text: string) => string;
  /** Where `::error` lines go (stderr in production). */
  readonly annotate: (line: string) => void;
  /** Default: a client for `context.token` and `context.apiUrl`. */
  readonly client?: GitHubClient;
  readonly network?: { readonly timeoutMs?: number; readonly retries?: number };
}

/**
 * Create the GitHub deployment and its `in_progress` status (when GITHUB_TOKEN and GITHUB_SHA
 * are set; otherwise only the summary, outputs and annotations are written), and return the
 * notifier that finishes them.
 */
export async function startGitHubHost(options: GitHubHostOptions): Promise<DeployNotifier> {
  const { context, notice, reporter, redact } = options;
  const repo = { owner: context.owner, repo: context.repo };
  const token = context.token;
  const client =
    options.client ??
    (token
      ? createGitHubClient({
          token,
          baseUrl: context.apiUrl,
          timeoutMs: options.network?.timeoutMs ?? 10_000,
          retries: options.network?.retries ?? 2,
        })
      : undefined);

  let deploymentId: number | undefined;
  if (client && context.sha) {
    await warnOnFailure(reporter, "GitHub deployment status", async () => {
      const created = await createDeployment(client, repo, {
        ref: context.sha ?? "",
        // The job's GitHub environment (GANTRY_GITHUB_ENVIRONMENT, e.g. `production`), else gantry's
        // env name; production/transient follow gantry's env, whatever the GitHub name.
        environment: context.environment ?? notice.env,
        kind: environmentKind(notice.env),
        description: redact(`gantry ${notice.kind} of ${notice.tag} (${notice.deploymentId})`),
        payload: { gantryDeploymentId: notice.deploymentId, tag: notice.tag, kind: notice.kind },
      });
      deploymentId = created.id;
      await setDeploymentStatus(client, repo, created.id, {
        state: "in_progress",
        description: redact(`${notice.kind} of ${notice.tag} started by ${notice.actor}`),
        logUrl: context.runUrl,
      });
    });
  } else if (!client) {
    reporter.emit({
      type: "info",
      message: "GitHub deployment statuses are off: set GITHUB_TOKEN (and permissions: deployments: write)",
    });
  }

  const setStatus = async (status: DeploymentStatusUpdate): Promise<void> => {
    if (!client || deploymentId === undefined) return;
    const id = deploymentId;
    await warnOnFailure(reporter, "GitHub deployment status", () =>
      setDeploymentStatus(client, repo, id, { ...status, description: redact(status.description ?? "") }),
    );
  };
  const annotate = (title: string, message: string, hint: string | undefined): void => {
    // Redacted before escaping (an escaped secret would not match) and after.
    const body = redact(hint ? `${message} — next: ${hint}` : message);
    options.annotate(redact(annotation("error", body, { title: redact(title) })));
  };

  return {
    async finished(result: DeployResult, facts?: DeployFactsForNotice) {
      const envUrl = environmentUrl(facts?.outputs);
      const r = result.record;
      const summaryFile = context.summaryFile;
      const outputFile = context.outputFile;
      if (summaryFile) {
        await warnOnFailure(reporter, "GitHub job summary", () =>
          appendJobSummary(summaryFile, redact(renderDeploySummary(notice, result, envUrl, redact))),
        );
      }
      if (outputFile) {
        await warnOnFailure(reporter, "GitHub step outputs", () =>
          appendOutputs(outputFile, {
            "deployment-id": redact(r.id),
            digest: redact(r.imageDigest),
            status: r.status,
            "exit-code": String(result.exitCode),
          }),
        );
      }
      if (result.exitCode !== 0) {
        const error = describeError(result.error);
        annotate(
          `gantry ${notice.kind} ${r.status} (exit ${String(result.exitCode)})`,
          error?.message ?? `${notice.kind} of ${r.tag} to ${r.env} ended ${r.status}`,
          error?.hint,
        );
      }
      const final = finalStatus(notice, result);
      await setStatus({ ...final, environmentUrl: envUrl, logUrl: context.runUrl });
    },
    async crashed(err: unknown) {
      const error = describeError(err);
      const message = error?.message ?? oneLine(err);
      annotate(`gantry ${notice.kind} stopped with an error`, message, error?.hint);
      const summaryFile = context.summaryFile;
      if (summaryFile) {
        await warnOnFailure(reporter, "GitHub job summary", () =>
          appendJobSummary(
            summaryFile,
            redact(
              `## ❌ ${title(notice, "stopped with an error", redact)}\n\n> **error:** ${escapeMarkdown(redact(message))}\n`,
            ),
          ),
        );
      }
      const outputFile = context.outputFile;
      if (outputFile) {
        await warnOnFailure(reporter, "GitHub step outputs", () =>
          appendOutputs(outputFile, { "deployment-id": redact(notice.deploymentId), status: "error" }),
        );
      }
      await setStatus({
        state: "error",
        description: `${notice.kind} stopped: ${message}`,
        logUrl: context.runUrl,
      });
    },
  };
}
