/**
 * `gantry preview --env E [--tag T] [--comment] [--pr N] [--save-plan FILE]`: what a deploy would
 * do — the stack diff and the app plan — as markdown on stdout; inside GitHub Actions also in the
 * job summary and, with `--comment`, in the environment's sticky PR comment. Changes nothing
 * (except the plan file and, for the sandbox, starting it).
 */
import path from "node:path";
import type { Argv } from "yargs";
import { parseEnvironmentName } from "../config/load.ts";
import { ENVIRONMENTS } from "../config/schema.ts";
import { parseTag } from "../config/tag.ts";
import { UsageError } from "../errors.ts";
import type { ActionsContext } from "../github/context.ts";
import type { SecretMasker } from "../reporting/mask.ts";
import type { Reporter } from "../reporting/reporter.ts";
import type { DeployPreview } from "../steps/preview.ts";
import type { CliContext } from "./context.ts";
import type { GlobalArgs } from "./index.ts";

interface PreviewArgs extends GlobalArgs {
  env: string;
  tag?: string;
  comment: boolean;
  pr?: number;
  savePlan?: string;
}

/** Where `--comment` goes, checked before any work. */
export interface CommentPlan {
  readonly actions: ActionsContext;
  readonly token: string;
  readonly issueNumber: number;
}

/** Validate `--comment`/`--pr` against the Actions run: a usage error (exit 2) naming the fix. */
export function commentPlan(
  argv: Pick<PreviewArgs, "comment" | "pr">,
  actions: ActionsContext | undefined,
): CommentPlan | undefined {
  if (argv.pr !== undefined && (!Number.isSafeInteger(argv.pr) || argv.pr < 1)) {
    throw new UsageError(`--pr must be a pull request number, got ${String(argv.pr)}`, "e.g. --pr 42");
  }
  if (!argv.comment) return undefined;
  if (!actions) {
    throw new UsageError(
      "--comment posts to a pull request and needs a GitHub Actions run (GITHUB_ACTIONS, GITHUB_REPOSITORY)",
      "run it in a pull_request workflow (README: GitHub), or drop --comment to print the markdown",
    );
  }
  const issueNumber = argv.pr ?? actions.pullRequest;
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

/** Register `preview`. */
export function previewCommand(ctx: CliContext) {
  return {
    command: "preview",
    describe:
      "Show what a deploy would change (stack diff + app plan) as markdown; PR comment with --comment",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("env", {
          type: "string",
          choices: ENVIRONMENTS,
          demandOption: true,
          describe: "target environment",
        })
        .option("tag", {
          type: "string",
          describe:
            "image tag to preview (default: the tag serving now, so an infra-only change previews too)",
        })
        .option("comment", {
          type: "boolean",
          default: false,
          describe: "create/update this environment's sticky comment on the pull request (GitHub Actions)",
        })
        .option("pr", { type: "number", describe: "pull request number (default: from the Actions event)" })
        .option("save-plan", {
          type: "string",
          describe: "save the Pulumi update plan to FILE, for `gantry deploy --plan FILE`",
        }),
    handler: async (argv: PreviewArgs) => {
      await performPreview(ctx, argv, ctx.reporter(argv));
    },
  };
}

/** Validate, preview, render, publish. */
export async function performPreview(ctx: CliContext, argv: PreviewArgs, reporter: Reporter): Promise<void> {
  const env = parseEnvironmentName(argv.env);
  const tag = argv.tag === undefined ? undefined : parseTag(argv.tag);
  const { actionsContext } = await import("../github/context.ts");
  const actions = actionsContext();
  // GITHUB_TOKEN is registered with the masker at startup (src/main.ts).
  const comment = commentPlan(argv, actions);
  const savePlan = argv.savePlan === undefined ? undefined : path.resolve(argv.savePlan);
  if (savePlan !== undefined) {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(path.dirname(savePlan), { recursive: true });
  }

  const { wireEnvironment } = await import("../steps/wire.ts");
  const { planDeploy } = await import("../steps/plan.ts");
  const { previewDeploy } = await import("../steps/preview.ts");
  const wired = await wireEnvironment(env, ctx.paths, reporter);
  try {
    const { requestFor } = await import("./deploy.ts");
    const request = requestFor({ env, tag, deploymentId: "preview" });
    // The plan does not depend on the tag.
    const plan = planDeploy({ config: wired.config, request: { ...request, tag: tag ?? "" } });
    reporter.emit({ type: "progress", message: `previewing ${env}${tag ? ` at ${tag}` : ""}` });
    const started = Date.now();
    const preview = await previewDeploy(
      { config: wired.config, ports: wired.ports, stack: wired.stack, request },
      plan,
      {
        ...(savePlan !== undefined ? { savePlan } : {}),
        onOutput: (text) => {
          for (const line of text.split("\n")) if (line.trim()) reporter.emit({ type: "engine", line });
        },
      },
    );
    reporter.emit({
      type: "progress",
      message: `preview of ${env} took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    });
    for (const w of preview.warnings) reporter.emit({ type: "warn", message: w });
    if (preview.planFile !== null) {
      reporter.emit({
        type: "info",
        message: `update plan saved: ${preview.planFile} (apply it with gantry deploy --env ${env} --tag ${preview.tag ?? "<tag>"} --plan ${preview.planFile})`,
      });
    }

    await publishPreview(preview, {
      env,
      json: argv.json,
      actions,
      comment,
      masker: ctx.masker,
      reporter,
      out: process.stdout,
    });
  } finally {
    wired.clients.destroy();
  }
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
export async function publishPreview(preview: DeployPreview, options: PublishOptions): Promise<void> {
  const { actions, comment, masker, reporter, env } = options;
  const { renderPreviewMarkdown, PREVIEW_MARKDOWN_MAX_CHARS } = await import("../reporting/markdown.ts");
  const redact = (text: string): string => masker.redact(text);
  // Values are redacted before they are escaped (an escaped secret no longer matches the masker),
  // and the whole text once more.
  const render = (maxChars: number): string =>
    redact(renderPreviewMarkdown(preview, { runUrl: actions?.runUrl, sha: actions?.sha, redact, maxChars }));

  const markdown = render(Infinity);
  if (options.json) {
    reporter.emit({
      type: "result",
      title: "preview",
      data: {
        env,
        tag: preview.tag,
        markdown,
        changeSummary: preview.stack.changeSummary,
        plan: preview.plan,
        planFile: preview.planFile,
        warnings: preview.warnings,
      },
    });
  } else {
    options.out.write(markdown);
  }
  if (actions?.summaryFile) {
    const { appendJobSummary, SUMMARY_MAX_BYTES } = await import("../github/summary.ts");
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
