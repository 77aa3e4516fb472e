/**
 * The GitHub REST client: an Octokit (`@octokit/rest`) with gantry's policies attached once, in a
 * request hook, so every call made through it — including `paginate` — gets them:
 * - a deadline per request (default 15 s), combined with the caller's AbortSignal if any;
 * - retries of transient failures only (5xx, 429, connection failures) with p-retry and jitter;
 * - failures classified into {@link GitHubError} (src/github/errors.ts) with a hint;
 * - no logging of its own (Octokit's default logger writes to the console, bypassing the masker).
 */
import { Octokit } from "@octokit/rest";
import pRetry from "p-retry";
import { classifyGitHubError, isTransientGitHubError } from "./errors.ts";

/** An Octokit instance with gantry's deadline, retry and error policy. */
export type GitHubClient = Octokit;

/** Options of {@link createGitHubClient}. */
export interface GitHubClientOptions {
  /** GITHUB_TOKEN or another token; register it with the masker before calling. */
  readonly token: string;
  /** GITHUB_API_URL, e.g. `https://api.github.com`. */
  readonly baseUrl: string;
  /** Deadline of one HTTP request (default 15,000 ms). */
  readonly timeoutMs?: number;
  /** Retries of a transient failure (default 3). */
  readonly retries?: number;
  /** Aborts every request in flight and every retry wait. */
  readonly signal?: AbortSignal;
}

const silent = (): void => undefined;

/** Build the client once per command (house style 2); its calls fail with GitHubError only. */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const client = new Octokit({
    auth: options.token,
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    userAgent: "gantry",
    log: { debug: silent, info: silent, warn: silent, error: silent },
  });
  const timeoutMs = options.timeoutMs ?? 15_000;
  client.hook.wrap("request", async (request, endpoint) => {
    const route = `${endpoint.method} ${endpoint.url}`;
    const attempt = () => {
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
      // before-after-hook passes each hook the options it was bound with, not the ones handed to
      // `request(...)`: the per-call options object must be changed in place (with a new
      // `request` object: the old one may be the client's shared defaults).
      endpoint.request = { ...endpoint.request, signal };
      return request(endpoint);
    };
    try {
      return await pRetry(attempt, {
        retries: options.retries ?? 3,
        minTimeout: 300,
        maxTimeout: 3000,
        randomize: true,
        // A POST that failed with a 5xx may have been applied: retrying it could duplicate a
        // comment or a deployment. Only a rate limit (not applied) is retried for POSTs.
        shouldRetry: ({ error }) =>
          isTransientGitHubError(error) &&
          (endpoint.method !== "POST" || (error as { status?: number }).status === 429),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      throw classifyGitHubError(err, route);
    }
  });
  return client;
}
