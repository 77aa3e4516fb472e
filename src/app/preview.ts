/**
 * `gantry preview`: what a deploy would do — the stack diff and the app plan — as markdown on
 * stdout; inside GitHub Actions also in the job summary and, with `comment`, in the environment's
 * sticky PR comment. Changes nothing (except the plan file and, for the sandbox, starting it).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { loadEnvironmentConfig } from "../config/load.ts";
import { EXIT, UsageError } from "../errors.ts";
import type { ActionsContext } from "../github/context.ts";
import { appendJobSummary, SUMMARY_MAX_BYTES } from "../github/summary.ts";
import { PREVIEW_MARKDOWN_MAX_CHARS, renderPreviewMarkdown } from "../reporting/markdown.ts";
import type { SecretMasker } from "../reporting/mask.ts";
import type { Reporter } from "../reporting/reporter.ts";
import type { DeployPreview } from "../steps/preview.ts";
import { type AppContext, type Outcome, environmentNamed } from "./context.ts";
import { type ReleaseSelection, releaseTargets, requestFor } from "./request.ts";
import { engineOutput } from "./stack.ts";

/** Options of {@link preview}. */
export interface PreviewOptions extends ReleaseSelection {
  readonly env: string;
  /** Default: the tag each service serves now, so an infra-only change previews too. */
  readonly tag?: string | undefined;
  /** Create/update this environment's sticky comment on the pull request (GitHub Actions). */
  readonly comment: boolean;
  /** The pull request (default: from the Actions event). */
  readonly pr?: number | undefined;
  /** Save the Pulumi update plan here, for `gantry deploy --plan FILE`. */
  readonly savePlan?: string | undefined;
  /** The result document on the reporter instead of the markdown on `out`. */
  readonly json: boolean;
  /** Where the markdown goes (stdout). */
  readonly out: { write(text: string): unknown };
}

/** What {@link preview} found. */
export interface PreviewOutcome extends Outcome {
  readonly preview: DeployPreview;
}

/** Where `--comment` goes, checked before any work. */
export interface CommentPlan {
  readonly actions: ActionsContext;
  readonly token: string;
  readonly issueNumber: number;
}

/** Validate `comment`/`pr` against the Actions run: a usage error (exit 2) naming the fix. */
export function commentPlan(
  options: Pick<PreviewOptions, "comment" | "pr">,
  actions: ActionsContext | undefined,
): CommentPlan | undefined {
  if (options.pr !== undefined && (!Number.isSafeInteger(options.pr) || options.pr < 1)) {
    throw new UsageError(`--pr must be a pull request number, got ${String(options.pr)}`, "e.g. --pr 42");
  }
  if (!options.comment) return undefined;
  if (!actions) {
    throw new UsageError(
      "--comment posts to a pull request and needs a GitHub Actions run (GITHUB_ACTIONS, GITHUB_REPOSITORY)",
      "run it in a pull_request workflow (README: GitHub), or drop --comment to print the markdown",
    );
  }
  const issueNumber = options.pr ?? actions.pullRequest;
  if (issueNumber === undefined) {
    throw new UsageError(
      "--comment: this run is not for a pull request (no PR in the event payload or GITHUB_REF)",
      "run it on pull_request events, or name the PR with --pr N",
    );
  }
  if (!actions.token) {
    throw new UsageError(
      "--comment needs GITHUB_TOKEN",
      "add `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` and `permissions: pull-requests: write` to the job",
    );
  }
  return { actions, token: actions.token, issueNumber };
}

/** Validate, preview, render, publish. */
export async function preview(app: AppContext, options: PreviewOptions): Promise<PreviewOutcome> {
  const { reporter } = app;
  const env = environmentNamed(app, options.env);
  const config = await loadEnvironmentConfig(app.paths.configDir, env);
  // Without --tag, --image or --services, each service previews at the tag it serves now.
  const selection =
    options.tag === undefined && !options.images?.length && !options.services?.length
      ? undefined
      : releaseTargets(
          config.stack.services.map((s) => s.name),
          options,
        );
  const tag = selection?.tag;
  const { actions } = app;
  // GITHUB_TOKEN is registered with the masker at startup (src/main.ts).
  const comment = commentPlan(options, actions);
  const savePlan = options.savePlan === undefined ? undefined : path.resolve(options.savePlan);
  if (savePlan !== undefined) await mkdir(path.dirname(savePlan), { recursive: true });

  const { wireEnvironment } = await import("./environment.ts");
  const { planDeploy } = await import("../steps/plan.ts");
  const { previewDeploy } = await import("../steps/preview.ts");
  const wired = await wireEnvironment(app, env);
  const request = requestFor(app.runtime, {
    env,
    tag,
    ...(selection ? { targets: selection.targets } : {}),
    deploymentId: "preview",
  });
  // The plan does not depend on the tag.
  const plan = planDeploy({ config: wired.config, request: { ...request, tag: tag ?? "" } });
  reporter.emit({ type: "progress", message: `previewing ${env}${tag ? ` at ${tag}` : ""}` });
  const started = Date.now();
  const result = await previewDeploy(
    { config: wired.config, ports: wired.ports, stack: wired.stack, request },
    plan,
    {
      ...(savePlan !== undefined ? { savePlan } : {}),
      onOutput: engineOutput(reporter),
    },
  );
  reporter.emit({
    type: "progress",
    message: `preview of ${env} took ${((Date.now() - started) / 1000).toFixed(1)} s`,
  });
  for (const w of result.warnings) reporter.emit({ type: "warn", message: w });
  if (result.planFile !== null) {
    reporter.emit({
      type: "info",
      message: `update plan saved: ${result.planFile} (apply it with gantry deploy --env ${env} --tag ${result.tag ?? "<tag>"} --plan ${result.planFile})`,
    });
  }
  await publishPreview(result, {
    env,
    json: options.json,
    actions,
    comment,
    masker: app.masker,
    reporter,
    out: options.out,
  });
  return { exitCode: EXIT.ok, preview: result };
}

/** Options of {@link publishPreview}. */
export interface PublishOptions {
  readonly env: string;
  /** `--json`: the result document on the reporter instead of the markdown on `out`. */
  readonly json: boolean;
  /** The Actions run, for the footer and the job summary; undefined outside Actions. */
  readonly actions: ActionsContext | undefined;
  /** Where the sticky comment goes (`--comment`), from {@link commentPlan}. */
  readonly comment: CommentPlan | undefined;
  /** Every value is redacted with it before it is escaped, and every text again as a whole. */
  readonly masker: SecretMasker;
  readonly reporter: Reporter;
  /** stdout. */
  readonly out: { write(text: string): unknown };
}

/**
 * Print the preview (markdown on stdout, or the `--json` result), append it to the job summary,
 * and only then create/update the sticky PR comment: a GitHub failure (a 403, an outage) still
 * fails the command with its typed error, but never loses the preview already printed.
 */
export async function publishPreview(result: DeployPreview, options: PublishOptions): Promise<void> {
  const { actions, comment, masker, reporter, env } = options;
  const redact = (text: string): string => masker.redact(text);
  // Values are redacted before they are escaped (an escaped secret no longer matches the masker),
  // and the whole text once more.
  const render = (maxChars: number): string =>
    redact(renderPreviewMarkdown(result, { runUrl: actions?.runUrl, sha: actions?.sha, redact, maxChars }));

  const markdown = render(Infinity);
  if (options.json) {
    reporter.emit({
      type: "result",
      title: "preview",
      data: {
        env,
        tag: result.tag,
        markdown,
        changeSummary: result.stack.changeSummary,
        plan: result.plan,
        planFile: result.planFile,
        warnings: result.warnings,
      },
    });
  } else {
    options.out.write(markdown);
  }
  if (actions?.summaryFile) {
    // ≤ 3 UTF-8 bytes per UTF-16 code unit: this many characters always fit the summary.
    await appendJobSummary(actions.summaryFile, render(Math.floor(SUMMARY_MAX_BYTES / 3)));
    reporter.emit({ type: "info", message: "preview appended to the job summary" });
  }
  if (comment) {
    const { createGitHubClient } = await import("../github/client.ts");
    const { upsertStickyComment } = await import("../github/comments.ts");
    const client = createGitHubClient({ token: comment.token, baseUrl: comment.actions.apiUrl });
    const posted = await upsertStickyComment(
      client,
      { owner: comment.actions.owner, repo: comment.actions.repo, issueNumber: comment.issueNumber },
      env,
      render(PREVIEW_MARKDOWN_MAX_CHARS),
      { author: comment.actions.commentAuthor },
    );
    reporter.emit({
      type: "info",
      message: `PR #${String(comment.issueNumber)}: sticky comment for ${env} ${posted.action}: ${posted.url}`,
    });
  }
}
