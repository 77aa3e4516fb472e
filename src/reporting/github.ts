/**
 * The GitHub Actions host of deploys and rollbacks, a Reporter reacting to the run events:
 * - `run-start`: a GitHub deployment of GITHUB_SHA to the job's GitHub environment
 *   (GANTRY_GITHUB_ENVIRONMENT, default gantry's env name) with an `in_progress` status linking
 *   the run (needs GITHUB_TOKEN and `permissions: deployments: write`);
 * - `run-end`: the job summary (the step timeline and the final record), the step outputs
 *   `deployment-id`, `digest`, `status`, `exit-code`, a `success`/`failure`/`error` deployment
 *   status with the environment URL, and on failure an `::error` annotation with the hint;
 * - `run-crash`: an `error` status, a summary line, the outputs and the annotation.
 * The calls run in the background, in order; `flush` awaits them. Everything written is passed
 * through the secret masker first; a GitHub failure is a warning on the log reporter.
 */
import { oneLine } from "../errors.ts";
import type { GitHubClient } from "../github/client.ts";
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
import type { RunEnd, RunStart, RunVersion } from "./events.ts";
import { escapeMarkdown, inlineCode } from "./markdown.ts";
import { formatDuration } from "./human.ts";
import { type ReportEvent, type Reporter, warnOnFailure } from "./reporter.ts";

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
function title(run: RunStart, status: string, redact: (value: string) => string): string {
  const code = (v: string): string => inlineCode(redact(v));
  return run.kind === "rollback"
    ? `gantry rollback of ${code(run.env)} to ${code(run.tag)}: ${status}`
    : `gantry deploy of ${code(run.tag)} to ${code(run.env)}: ${status}`;
}

/**
 * The job summary of a finished deploy or rollback (markdown). `redact` is applied to every value
 * before it is escaped (an escaped secret would no longer match the masker).
 */
export function renderDeploySummary(
  run: RunStart,
  end: RunEnd,
  redact: (value: string) => string = (v) => v,
): string {
  const r = end.record;
  const envUrl = end.environmentUrl;
  const text = (v: string): string => escapeMarkdown(redact(v));
  // Entities do not render inside code spans; a pipe still splits cells there, so it is escaped.
  const code = (v: string): string => inlineCode(redact(v), { table: true });
  const version = (v: RunVersion | null): string =>
    v ? `${code(v.tag)} (${code(v.taskDefinitionArn)})` : "—";
  const error = end.exitCode === 0 ? undefined : end.error;
  const rows: [string, string][] = [
    ["deployment", code(r.id)],
    ["environment", code(r.env)],
    ["tag", code(r.tag)],
    ["digest", r.imageDigest ? code(r.imageDigest) : "—"],
    ["status", `**${text(r.status)}** (exit code ${String(end.exitCode)})`],
    ["previous", version(r.previous)],
    ["current", version(r.current)],
    ["snapshot", r.snapshotId ? code(r.snapshotId) : "—"],
    ["actor", text(r.actor)],
    ["started", text(r.startedAt)],
    ["duration", formatDuration(r.durationMs)],
    ...(envUrl ? [["environment URL", `<${redact(envUrl)}>`] as [string, string]] : []),
    ...(run.reason ? [["why this target", text(run.reason)] as [string, string]] : []),
  ];
  const lines = [
    `## ${icon(r.status)} ${title(run, r.status, redact)}`,
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
export function finalStatus(run: RunStart, end: RunEnd): { state: DeploymentState; description: string } {
  const r = end.record;
  const took = formatDuration(r.durationMs);
  const what = run.kind === "rollback" ? `rollback to ${r.tag}` : r.tag;
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
        description: `${what} failed: ${end.error?.message ?? `exit code ${String(end.exitCode)}`}`,
      };
  }
}

/** Options of {@link GitHubHost}. */
export interface GitHubHostOptions {
  readonly context: ActionsContext;
  /** Where the host's warnings (GitHub failures) and notes go: the terminal host. */
  readonly log: Reporter;
  /** Applied to everything written (the secret masker). */
  readonly redact: (text: string) => string;
  /** Where `::error` lines go; default stderr (the runner reads workflow commands from both streams). */
  readonly annotate?: (line: string) => void;
  /** Default: a client for `context.token` and `context.apiUrl`, built at the first run. */
  readonly client?: GitHubClient;
  /** Deadline of one call (default 10,000 ms) and retries of a transient failure (default 2). */
  readonly network?: { readonly timeoutMs?: number; readonly retries?: number };
}

/** One run as the host follows it: the GitHub deployment is created at its start. */
interface Followed {
  readonly run: RunStart;
  deploymentId?: number;
}

/**
 * The GitHub Actions host. Without GITHUB_TOKEN or GITHUB_SHA it creates no deployment and sets
 * no status, but still writes the job summary, the outputs and the annotations.
 */
export class GitHubHost implements Reporter {
  private readonly options: GitHubHostOptions;
  private readonly repo: { readonly owner: string; readonly repo: string };
  private client: Promise<GitHubClient | undefined> | undefined;
  private current: Followed | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(options: GitHubHostOptions) {
    this.options = options;
    this.repo = { owner: options.context.owner, repo: options.context.repo };
  }

  emit(event: ReportEvent): void {
    switch (event.type) {
      case "run-start": {
        const { type: _type, ...run } = event;
        const followed: Followed = { run };
        this.current = followed;
        this.queue(() => this.started(followed));
        break;
      }
      case "run-end": {
        const followed = this.current;
        const { type: _type, ...end } = event;
        if (followed) this.queue(() => this.finished(followed, end));
        break;
      }
      case "run-crash": {
        const followed = this.current;
        if (followed) this.queue(() => this.crashed(followed, event.error.message, event.error.hint));
        break;
      }
      default:
        break;
    }
  }

  flush(): Promise<void> {
    return this.pending;
  }

  /** Run `work` after the work queued before it; whatever it throws becomes a warning. */
  private queue(work: () => Promise<void>): void {
    this.pending = this.pending.then(() => warnOnFailure(this.options.log, "GitHub reporting", work));
  }

  private github(): Promise<GitHubClient | undefined> {
    this.client ??= (async () => {
      if (this.options.client) return this.options.client;
      const { context, network } = this.options;
      if (!context.token) return undefined;
      // Loaded only when a run starts with a token: Octokit is not paid for by other commands.
      const { createGitHubClient } = await import("../github/client.ts");
      return createGitHubClient({
        token: context.token,
        baseUrl: context.apiUrl,
        timeoutMs: network?.timeoutMs ?? 10_000,
        retries: network?.retries ?? 2,
      });
    })();
    return this.client;
  }

  private async started(followed: Followed): Promise<void> {
    const { context, log, redact } = this.options;
    const { run } = followed;
    const client = await this.github();
    if (client && context.sha) {
      const sha = context.sha;
      await warnOnFailure(log, "GitHub deployment status", async () => {
        const created = await createDeployment(client, this.repo, {
          ref: sha,
          // The job's GitHub environment (GANTRY_GITHUB_ENVIRONMENT, e.g. `production`), else gantry's
          // env name; production/transient follow gantry's env, whatever the GitHub name.
          environment: context.environment ?? run.env,
          kind: environmentKind(run.env, run.account),
          description: redact(
            `gantry ${run.kind} of ${run.tag} (${run.deploymentId})${run.emergency ? ` EMERGENCY: ${run.emergency}` : ""}`,
          ),
          payload: { gantryDeploymentId: run.deploymentId, tag: run.tag, kind: run.kind },
        });
        followed.deploymentId = created.id;
        await setDeploymentStatus(client, this.repo, created.id, {
          state: "in_progress",
          description: redact(`${run.kind} of ${run.tag} started by ${run.actor}`),
          logUrl: context.runUrl,
        });
      });
    } else if (!client) {
      log.emit({
        type: "info",
        message: "GitHub deployment statuses are off: set GITHUB_TOKEN (and permissions: deployments: write)",
      });
    }
  }

  private async setStatus(followed: Followed, status: DeploymentStatusUpdate): Promise<void> {
    const client = await this.github();
    const id = followed.deploymentId;
    if (!client || id === undefined) return;
    await warnOnFailure(this.options.log, "GitHub deployment status", () =>
      setDeploymentStatus(client, this.repo, id, {
        ...status,
        description: this.options.redact(status.description ?? ""),
      }),
    );
  }

  private annotate(title: string, message: string, hint: string | undefined): void {
    const { redact } = this.options;
    const write = this.options.annotate ?? ((line: string) => process.stderr.write(line));
    // Redacted before escaping (an escaped secret would not match) and after.
    const body = redact(hint ? `${message} — next: ${hint}` : message);
    try {
      write(redact(annotation("error", body, { title: redact(title) })));
    } catch (err) {
      this.options.log.emit({ type: "warn", message: `GitHub annotation failed: ${oneLine(err)}` });
    }
  }

  private async finished(followed: Followed, end: RunEnd): Promise<void> {
    const { context, log, redact } = this.options;
    const { run } = followed;
    const r = end.record;
    const summaryFile = context.summaryFile;
    const outputFile = context.outputFile;
    if (summaryFile) {
      await warnOnFailure(log, "GitHub job summary", () =>
        appendJobSummary(summaryFile, redact(renderDeploySummary(run, end, redact))),
      );
    }
    if (outputFile) {
      await warnOnFailure(log, "GitHub step outputs", () =>
        appendOutputs(outputFile, {
          "deployment-id": redact(r.id),
          digest: redact(r.imageDigest),
          status: r.status,
          "exit-code": String(end.exitCode),
        }),
      );
    }
    if (end.exitCode !== 0) {
      this.annotate(
        `gantry ${run.kind} ${r.status} (exit ${String(end.exitCode)})`,
        end.error?.message ?? `${run.kind} of ${r.tag} to ${r.env} ended ${r.status}`,
        end.error?.hint,
      );
    }
    await this.setStatus(followed, {
      ...finalStatus(run, end),
      environmentUrl: end.environmentUrl,
      logUrl: context.runUrl,
    });
  }

  private async crashed(followed: Followed, message: string, hint: string | undefined): Promise<void> {
    const { context, log, redact } = this.options;
    const { run } = followed;
    this.annotate(`gantry ${run.kind} stopped with an error`, message, hint);
    const summaryFile = context.summaryFile;
    if (summaryFile) {
      await warnOnFailure(log, "GitHub job summary", () =>
        appendJobSummary(
          summaryFile,
          redact(
            `## ❌ ${title(run, "stopped with an error", redact)}\n\n> **error:** ${escapeMarkdown(redact(message))}\n`,
          ),
        ),
      );
    }
    const outputFile = context.outputFile;
    if (outputFile) {
      await warnOnFailure(log, "GitHub step outputs", () =>
        appendOutputs(outputFile, { "deployment-id": redact(run.deploymentId), status: "error" }),
      );
    }
    await this.setStatus(followed, {
      state: "error",
      description: `${run.kind} stopped: ${message}`,
      logUrl: context.runUrl,
    });
  }
}
