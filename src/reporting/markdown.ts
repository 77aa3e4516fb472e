/**
 * The deploy preview as GitHub-flavoured markdown, for the sticky PR comment, the job summary and
 * `gantry preview`'s stdout: summary first (env, tag → digest, counts by op, migrations, snapshot),
 * then the app plan, then the resource changes grouped by op with each resource's property diff
 * in a collapsed `<details>`. Deterministic (same preview, same text) and bounded: over the limit,
 * detail sections are dropped from the end and a note says how many resources are not shown.
 * Every value is escaped for where it lands (table cell, HTML, code fence), so a value holding
 * `</details>`, backticks, pipes or line breaks cannot break the layout; with `redact` (the secret
 * masker) every value is redacted before it is escaped, since an escaped secret no longer matches.
 *
 * The escaping helpers here are gantry's only ones for GitHub markdown (the deploy job summary in
 * src/reporting/github.ts uses them too); Slack's mrkdwn needs only {@link escapeEntities}.
 */
import { COMMENT_MAX_CHARS, STICKY_MARKER_MAX_CHARS } from "../github/comments.ts";
import { shortDigest } from "./human.ts";
import {
  type PreviewView,
  type PropertyChangeView,
  type ResourceChangeView,
  SECRET_VALUE,
  UNKNOWN_VALUE,
} from "./events.ts";

/** Default size limit: a PR comment's 65,536 characters minus room for the sticky marker. */
export const PREVIEW_MARKDOWN_MAX_CHARS: number = COMMENT_MAX_CHARS - STICKY_MARKER_MAX_CHARS;

/** Longest rendering of one property value; longer values are cut with an ellipsis. */
const VALUE_MAX_CHARS = 300;

/** Options of {@link renderPreviewMarkdown}. */
export interface MarkdownOptions {
  /** Size limit in UTF-16 code units (never fewer than GitHub's characters); default {@link PREVIEW_MARKDOWN_MAX_CHARS}. */
  readonly maxChars?: number;
  /** Link to the workflow run, shown in the footer. */
  readonly runUrl?: string | undefined;
  /** Commit previewed, shown in the footer. */
  readonly sha?: string | undefined;
  /** Applied to every value before it is escaped (the secret masker); default: none. */
  readonly redact?: ((text: string) => string) | undefined;
}

type Redact = (text: string) => string;
const asIs: Redact = (text) => text;

/** Line breaks as spaces: markdown and HTML blocks here must stay on one line. */
const flat = (text: string): string => text.replace(/\r?\n|\r/g, " ");

/**
 * `&`, `<`, `>` as entities: the characters that open markup in GitHub markdown and HTML, and the
 * only ones Slack mrkdwn needs escaped (https://api.slack.com/reference/surfaces/formatting#escaping).
 */
export function escapeEntities(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Text inside HTML tags such as `<summary>`: one line (a blank line would end GitHub's HTML block
 * and break the `<details>` around it), with `&`, `<`, `>`, `"`, `'` as entities.
 */
export function escapeHtml(text: string): string {
  return escapeEntities(flat(text)).replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Plain text safe in a markdown paragraph or table cell: one line, no emphasis, links, HTML or pipes. */
export function escapeMarkdown(text: string): string {
  return escapeEntities(flat(text)).replace(/([\\`*_[\]|~#@!])/g, "\\$1");
}

/**
 * An inline code span holding `text` literally: the fence is one backtick longer than the longest
 * run inside, padded when the text starts or ends with a backtick; `|` escaped for table cells.
 */
export function inlineCode(text: string, options: { table?: boolean } = {}): string {
  const oneLine = flat(text);
  const longest = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = oneLine.startsWith("`") || oneLine.endsWith("`") || oneLine === "" ? " " : "";
  const body = options.table ? oneLine.replace(/\|/g, "\\|") : oneLine;
  return `${fence}${pad}${body}${pad}${fence}`;
}

/**
 * A value as a reviewer reads it: JSON, placeholders bare, cut at {@link VALUE_MAX_CHARS}. `redact`
 * sees the whole JSON text before the cut (so a secret across the cut is still masked).
 */
export function formatValue(value: unknown, redact: Redact = asIs): string {
  if (value === SECRET_VALUE || value === UNKNOWN_VALUE) return value;
  // JSON.stringify gives undefined for undefined, functions and symbols, whatever its typings say.
  const json = JSON.stringify(value) as string | undefined;
  const text = redact(json ?? `(${typeof value})`);
  return text.length > VALUE_MAX_CHARS ? `${text.slice(0, VALUE_MAX_CHARS - 1)}…` : text;
}

/** Sections of resource changes, in review order: the destructive first. */
const OP_GROUPS: readonly { readonly title: string; readonly ops: readonly string[] }[] = [
  { title: "Delete", ops: ["delete"] },
  { title: "Replace", ops: ["replace"] },
  { title: "Update", ops: ["update"] },
  { title: "Create", ops: ["create"] },
  { title: "Import", ops: ["import"] },
];

function groupOf(op: string): string {
  return OP_GROUPS.find((g) => g.ops.includes(op))?.title ?? "Other";
}

/** Resource changes in a deterministic order: group, then type, name, URN. */
function ordered(changes: readonly ResourceChangeView[]): ResourceChangeView[] {
  const rank = (c: ResourceChangeView): number => {
    const i = OP_GROUPS.findIndex((g) => g.ops.includes(c.op));
    return i === -1 ? OP_GROUPS.length : i;
  };
  return [...changes]
    .filter((c) => c.op !== "same")
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        a.op.localeCompare(b.op) ||
        a.type.localeCompare(b.type) ||
        a.name.localeCompare(b.name) ||
        a.urn.localeCompare(b.urn),
    );
}

/** "1 to create · 2 to update · 0 to replace · 0 to delete" from the listed changes. */
export function countsLine(changes: readonly ResourceChangeView[]): string {
  const n = (op: string): number => changes.filter((c) => c.op === op).length;
  const base = (["create", "update", "replace", "delete"] as const).map((op) => `${String(n(op))} to ${op}`);
  const known = new Set(["same", "create", "update", "replace", "delete"]);
  const others = [...new Set(changes.map((c) => c.op).filter((op) => !known.has(op)))].sort();
  return [...base, ...others.map((op) => `${String(n(op))} to ${op}`)].join(" · ");
}

function diffLine(p: PropertyChangeView, r: Redact): string {
  const replace = p.kind.endsWith("-replace") ? "  (forces replacement)" : "";
  const has = (k: "old" | "new"): boolean => Object.prototype.hasOwnProperty.call(p, k);
  const path = r(p.path);
  if (p.kind.startsWith("add")) return `+ ${path}: ${formatValue(p.new, r)}${replace}`;
  if (p.kind.startsWith("delete")) return `- ${path}: ${formatValue(p.old, r)}${replace}`;
  if (!has("old") && !has("new")) return `~ ${path}${replace}`;
  return `~ ${path}: ${formatValue(p.old, r)} → ${formatValue(p.new, r)}${replace}`;
}

/** A fenced block whose fence no line of `lines` can close. */
function fenced(lines: readonly string[], lang: string): string {
  const text = lines.join("\n");
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${text}\n${fence}`;
}

/** One resource's collapsed section: op, name, type, replace reasons, property diff. */
function resourceSection(c: ResourceChangeView, r: Redact): string {
  const count = c.properties.length;
  const html = (text: string): string => escapeHtml(r(text));
  const summary =
    `<b>${html(c.op)}</b> <code>${html(c.name)}</code> <i>${html(c.type)}</i>` +
    (count ? ` · ${String(count)} ${count === 1 ? "property" : "properties"}` : "");
  const body: string[] = [];
  if (c.replaceReasons.length) {
    body.push(`Replaced because of: ${c.replaceReasons.map((reason) => inlineCode(r(reason))).join(", ")}`);
  }
  body.push(
    count
      ? fenced(
          c.properties.map((p) => diffLine(p, r)),
          "diff",
        )
      : "_The provider reported no property-level diff for this resource._",
  );
  return `<details><summary>${summary}</summary>\n\n${body.join("\n\n")}\n\n</details>\n`;
}

function shortArn(arn: string): string {
  return arn.includes("task-definition/") ? arn.slice(arn.indexOf("task-definition/") + 16) : arn;
}

/** `…@sha256:0123456789ab` for an image pinned by digest; any other reference as it is. */
function shortImage(image: string): string {
  return image.includes("@sha256:") ? `…@${shortDigest(image)}` : image;
}

/** Everything before the resource changes: title, summary table, warnings, app plan. */
function head(p: PreviewView, changes: readonly ResourceChangeView[], r: Redact): string {
  const cell = (text: string): string => inlineCode(r(text), { table: true });
  const text = (value: string): string => escapeMarkdown(r(value));
  const out: string[] = [`### gantry preview: ${inlineCode(r(p.env))}`, ""];
  const image =
    p.tag === null
      ? "none (no `--tag`, nothing serving)"
      : `${cell(p.tag)}${p.tagSource === "serving" ? " (serving now)" : ""} → ${
          p.image ? cell(p.image.digest) : "**not found**"
        }`;
  const migration = p.migrations.runs
    ? `yes: ${cell((p.migrations.command ?? []).join(" "))}`
    : p.migrations.command
      ? "no (skipped)"
      : "no (no `gantry:migration.command`)";
  const snapshot = p.snapshot.taken
    ? `yes, pre-deploy snapshots kept: ${String(p.snapshot.retention)}`
    : "no";
  out.push(
    "| | |",
    "| --- | --- |",
    `| **Image** | ${image} |`,
    `| **Infrastructure** | ${changes.length ? countsLine(changes) : "no changes"} |`,
    `| **Migrations** | ${migration} |`,
    `| **Snapshot** | ${snapshot} |`,
  );
  if (p.planFile !== null) out.push(`| **Update plan** | ${cell(p.planFile)} |`);
  out.push("");
  for (const w of p.warnings) out.push("> [!WARNING]", `> ${text(w)}`, "");

  out.push("#### Release plan", "", "| step | runs | why |", "| --- | --- | --- |");
  for (const s of p.plan) {
    out.push(`| ${text(s.step)} | ${s.included ? "yes" : "no"} | ${text(s.why)} |`);
  }
  out.push("");
  if (p.taskDefinitions.length) {
    out.push(
      "#### Services",
      "",
      "| service | image | now | after the deploy |",
      "| --- | --- | --- | --- |",
    );
    for (const t of p.taskDefinitions) {
      const from = t.from
        ? `${cell(t.from.tag)} · ${cell(shortDigest(t.from.digest ?? null))} · ${cell(shortArn(r(t.from.taskDefinitionArn)))}`
        : "not deployed yet";
      const to = t.to
        ? `${cell(t.to.tag)} · ${t.to.image ? cell(shortImage(r(t.to.image))) : "**not found**"}`
        : "unchanged";
      out.push(`| ${cell(t.service)} | ${t.imageName ? cell(r(t.imageName)) : "-"} | ${from} | ${to} |`);
    }
    out.push("");
  }
  out.push("#### Resource changes", "");
  if (!changes.length) out.push("No resource changes.", "");
  return `${out.join("\n")}\n`;
}

function truncationNote(hidden: number, env: string): string {
  return (
    `> [!NOTE]\n> ${String(hidden)} more ${hidden === 1 ? "resource" : "resources"} not shown (size limit) — ` +
    `see the job summary / ${inlineCode(`gantry preview --env ${env}`)} output\n\n`
  );
}

function footer(options: MarkdownOptions): string {
  const parts: string[] = [];
  if (options.sha) parts.push(`commit ${inlineCode(options.sha.slice(0, 12))}`);
  if (options.runUrl)
    parts.push(`[workflow run](<${options.runUrl.replace(/[<>\s]/g, encodeURIComponent)}>)`);
  return parts.length ? `<sub>${parts.join(" · ")}</sub>\n` : "";
}

/**
 * Render `preview` as GitHub-flavoured markdown of at most `options.maxChars` characters
 * (default {@link PREVIEW_MARKDOWN_MAX_CHARS}; pass Infinity for no limit).
 */
export function renderPreviewMarkdown(preview: PreviewView, options: MarkdownOptions = {}): string {
  const max = options.maxChars ?? PREVIEW_MARKDOWN_MAX_CHARS;
  const r = options.redact ?? asIs;
  const changes = ordered(preview.stack.changes);
  const top = head(preview, changes, r);
  const end = footer(options);
  // One block per resource; a group's heading travels with its first resource.
  const blocks: string[] = [];
  let group = "";
  for (const c of changes) {
    const g = groupOf(c.op);
    const heading =
      g === group ? "" : `**${g}** (${String(changes.filter((x) => groupOf(x.op) === g).length)})\n\n`;
    group = g;
    blocks.push(heading + resourceSection(c, r) + "\n");
  }
  const full = top + blocks.join("") + end;
  if (full.length <= max) return full;

  const note = truncationNote(changes.length, preview.env);
  let room = max - top.length - note.length - end.length;
  let shown = 0;
  while (shown < blocks.length && (blocks[shown]?.length ?? 0) <= room) {
    room -= blocks[shown]?.length ?? 0;
    shown++;
  }
  const text =
    top + blocks.slice(0, shown).join("") + truncationNote(changes.length - shown, preview.env) + end;
  if (text.length <= max) return text;
  // Only when the summary itself is over the limit (it never is in practice): cut it hard.
  const cut = "\n\n… (cut to the size limit)\n";
  return text.slice(0, Math.max(0, max - cut.length)) + cut;
}
