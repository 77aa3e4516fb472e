/**
 * The sticky pull request comment: exactly one comment per PR per environment, found again by a
 * hidden marker (`<!-- gantry:preview:env=dev -->`) and updated in place, so reruns never pile up
 * comments and environments never overwrite each other.
 *
 * Which comments are "ours" — the authenticated identity matters: a comment counts only if it
 * carries the marker of the environment AND its author's login is gantry's commenting identity.
 * With the Actions GITHUB_TOKEN, `GET /user` is refused (403 "Resource not accessible by
 * integration"), so the identity cannot be asked for; it is configured instead: by default
 * `github-actions[bot]` (the author of every comment made with GITHUB_TOKEN), overridable with
 * `options.author` (GANTRY_GITHUB_COMMENT_AUTHOR via {@link ActionsContext.commentAuthor}) when
 * gantry comments with a personal access token or another GitHub App's token. A comment by anyone
 * else — even one quoting our text or carrying the very same marker — is never edited or deleted.
 */
import type { GitHubClient } from "./client.ts";
import { CommentTooLargeError, GitHubError } from "./errors.ts";

/** GitHub refuses issue and pull request comment bodies longer than this (characters). */
export const COMMENT_MAX_CHARS = 65_536;

/** The login of comments made with the Actions GITHUB_TOKEN. */
export const DEFAULT_COMMENT_AUTHOR = "github-actions[bot]";

/** Longest environment name a marker can carry (gantry's environment names are far shorter). */
const ENV_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

/** The hidden marker of `env`'s sticky comment (HTML comments do not render). */
export function stickyMarker(env: string): string {
  if (!ENV_NAME.test(env)) {
    throw new GitHubError(`"${env}" cannot name a sticky comment: use letters, digits, ".", "_" or "-"`, {
      code: "GITHUB_BAD_ENVIRONMENT",
      source: "user",
      hint: "pass one of the environments in Pulumi.<env>.yaml with --env",
    });
  }
  return `<!-- gantry:preview:env=${env} -->`;
}

/** Room the marker takes (with its line break), so renderers can stay under the limit. */
export const STICKY_MARKER_MAX_CHARS: number = stickyMarker("x".repeat(40)).length + 1;

/** Where the comment goes: a pull request is an issue for the comments API. */
export interface CommentTarget {
  readonly owner: string;
  readonly repo: string;
  readonly issueNumber: number;
}

interface ListedComment {
  readonly id: number;
  readonly body?: string | undefined;
  readonly user: { readonly login: string } | null;
}

/**
 * Create or update THE sticky comment of `env` on a PR (hidden marker); never touches others'
 * comments. Body must be <= 65,536 chars including the marker (else {@link CommentTooLargeError},
 * before any request). If earlier concurrent runs left several of our comments for `env`, the
 * oldest is updated and the others (ours, same marker) are deleted.
 */
export async function upsertStickyComment(
  client: GitHubClient,
  target: CommentTarget,
  env: string,
  body: string,
  options: { readonly author?: string | undefined } = {},
): Promise<{ id: number; action: "created" | "updated"; url: string }> {
  const marker = stickyMarker(env);
  const text = body.startsWith(marker) ? body : `${marker}\n${body}`;
  // UTF-16 length: never less than GitHub's character count, so a body under it is accepted.
  if (text.length > COMMENT_MAX_CHARS) throw new CommentTooLargeError(text.length, COMMENT_MAX_CHARS);
  const author = (options.author ?? DEFAULT_COMMENT_AUTHOR).toLowerCase();
  const where = { owner: target.owner, repo: target.repo };

  const comments: ListedComment[] = await client.paginate(client.rest.issues.listComments, {
    ...where,
    issue_number: target.issueNumber,
    per_page: 100,
  });
  const ours = comments
    // gantry writes the marker first: a comment merely quoting it elsewhere is not ours.
    .filter((c) => c.user?.login.toLowerCase() === author && (c.body ?? "").startsWith(marker))
    .sort((a, b) => a.id - b.id);

  const [keep, ...duplicates] = ours;
  let result: { id: number; action: "created" | "updated"; url: string } | undefined;
  if (keep) {
    try {
      const { data } = await client.rest.issues.updateComment({ ...where, comment_id: keep.id, body: text });
      result = { id: data.id, action: "updated", url: data.html_url };
    } catch (err) {
      // Deleted between listing and updating: fall through and create it again.
      if (!(err instanceof GitHubError && err.status === 404)) throw err;
    }
  }
  if (!result) {
    const { data } = await client.rest.issues.createComment({
      ...where,
      issue_number: target.issueNumber,
      body: text,
    });
    result = { id: data.id, action: "created", url: data.html_url };
  }
  // Only once ours is current: extra copies (a race of two runs) go; one already gone is fine.
  for (const extra of duplicates) {
    await client.rest.issues.deleteComment({ ...where, comment_id: extra.id }).catch((err: unknown) => {
      if (!(err instanceof GitHubError && err.status === 404)) throw err;
    });
  }
  return result;
}
