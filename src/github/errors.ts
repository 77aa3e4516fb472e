/**
 * Classification of GitHub REST failures at the boundary (house style 4): callers see a
 * {@link GitHubError} with a stable code and a hint naming the fix, never an Octokit exception.
 */
import { GantryError, type GantryErrorOptions, oneLine } from "../errors.ts";

/** A GitHub API failure (or a request gantry refuses to send), classified in src/github. */
export class GitHubError extends GantryError {
  /** HTTP status GitHub answered with; undefined for network failures and local refusals. */
  readonly status: number | undefined;

  constructor(message: string, options: GantryErrorOptions & { status?: number | undefined }) {
    super(message, options);
    this.status = options.status;
  }
}

/** A sticky comment body over GitHub's 65,536-character limit: renderers must truncate first. */
export class CommentTooLargeError extends GitHubError {
  constructor(length: number, limit: number) {
    super(`the comment body has ${String(length)} characters; GitHub accepts at most ${String(limit)}`, {
      code: "GITHUB_COMMENT_TOO_LARGE",
      source: "system",
      hint: "truncate the rendered markdown to the limit minus STICKY_MARKER_MAX_CHARS (src/github/comments.ts)",
    });
  }
}

/** The shape of an Octokit `RequestError` (status, response headers and data), read defensively. */
interface OctokitErrorShape {
  name?: string;
  message?: string;
  status?: number;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
  cause?: { name?: string };
}

/** Our own deadline or the caller's abort (Octokit wraps fetch's TimeoutError in a status-500 error). */
function isAbort(e: OctokitErrorShape): boolean {
  return ABORT_NAMES.has(e.name ?? "") || ABORT_NAMES.has(e.cause?.name ?? "");
}

const ABORT_NAMES = new Set(["AbortError", "TimeoutError"]);

/**
 * True for a failure worth retrying: 5xx answers, 429 and connection failures. Octokit reports
 * failures without an answer as status 500 with no response; a timeout of our own deadline is
 * not retried (the deadline is the point).
 */
export function isTransientGitHubError(err: unknown): boolean {
  const e = err as OctokitErrorShape;
  if (isAbort(e)) return false;
  const status = e.status ?? 0;
  return status === 429 || status >= 500;
}

/** The GitHub Actions `permissions:` entry an API route needs (for hints). */
export function permissionFor(route: string): string {
  if (route.includes("/deployments")) return "deployments: write";
  if (route.includes("/issues") || route.includes("/pulls")) return "pull-requests: write";
  return "contents: read";
}

/**
 * Map a failure of `route` (e.g. `POST /repos/{owner}/{repo}/deployments`) to a {@link GitHubError}.
 * Messages never carry the token: Octokit redacts the authorization header, and only GitHub's
 * answer message is kept.
 */
export function classifyGitHubError(err: unknown, route: string): GitHubError {
  if (err instanceof GitHubError) return err;
  const e = err as OctokitErrorShape;
  const status = e.status;
  const detail = oneLine(e.message ?? String(err)).slice(0, 300);
  const permission = permissionFor(route);
  const common = { cause: err, status };

  if (isAbort(e) || (status === 500 && e.response === undefined)) {
    return new GitHubError(`could not reach GitHub for ${route}: ${detail}`, {
      ...common,
      status: undefined,
      code: "GITHUB_UNREACHABLE",
      source: "system",
      hint: "check that GITHUB_API_URL (default https://api.github.com) is reachable from the runner, then re-run the job",
    });
  }
  const headers = e.response?.headers ?? {};
  const rateLimited =
    status === 429 ||
    (status === 403 && (String(headers["x-ratelimit-remaining"]) === "0" || /rate limit/i.test(detail)));
  if (rateLimited) {
    const reset = Number(headers["x-ratelimit-reset"]);
    const when = Number.isFinite(reset) && reset > 0 ? new Date(reset * 1000).toISOString() : "a few minutes";
    return new GitHubError(`GitHub rate limit hit for ${route}: ${detail}`, {
      ...common,
      code: "GITHUB_RATE_LIMITED",
      source: "system",
      hint: `re-run the job after ${when}`,
    });
  }
  switch (status) {
    case 401:
      return new GitHubError(`GitHub refused the token for ${route} (401): ${detail}`, {
        ...common,
        code: "GITHUB_UNAUTHORIZED",
        source: "user",
        hint: "pass a valid token: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` in the workflow step",
      });
    case 403:
      return new GitHubError(`GitHub denied ${route} (403): ${detail}`, {
        ...common,
        code: "GITHUB_FORBIDDEN",
        source: "user",
        hint: `the workflow needs \`permissions: ${permission}\` (and a token of this repository, not of a fork)`,
      });
    case 404:
      return new GitHubError(`GitHub found nothing at ${route} (404): ${detail}`, {
        ...common,
        code: "GITHUB_NOT_FOUND",
        source: "user",
        hint: `check GITHUB_REPOSITORY and the pull request number; a token without access also gets 404: the workflow needs \`permissions: ${permission}\``,
      });
    case 409:
    case 422:
      return new GitHubError(`GitHub rejected ${route} (${String(status)}): ${detail}`, {
        ...common,
        code: "GITHUB_REJECTED",
        source: "system",
        hint: "the request did not match what GitHub accepts (ref, environment name, body size); run with --verbose for GitHub's answer",
      });
    default:
      if (status !== undefined && status >= 500) {
        return new GitHubError(`GitHub failed ${route} (${String(status)}): ${detail}`, {
          ...common,
          code: "GITHUB_UNAVAILABLE",
          source: "system",
          hint: "GitHub is having trouble (https://www.githubstatus.com); re-run the job later",
        });
      }
      return new GitHubError(`GitHub answered ${route} with ${String(status ?? "no status")}: ${detail}`, {
        ...common,
        code: "GITHUB_FAILED",
        source: "system",
        hint: "run with --verbose for GitHub's answer",
      });
  }
}
