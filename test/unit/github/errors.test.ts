/** GitHub failures come out of the client as GitHubErrors with a hint, retried only when transient. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitHubClient } from "../../../src/github/client.ts";
import { createDeployment } from "../../../src/github/deployments.ts";
import { upsertStickyComment } from "../../../src/github/comments.ts";
import { GitHubError } from "../../../src/github/errors.ts";
import {
  DEFAULT_TOKEN,
  startGitHubApiServer,
  type GitHubApiServer,
} from "../../helpers/github-api-server.ts";

let server: GitHubApiServer;
const repo = { owner: "acme", repo: "shop" };
const docs = "https://docs.github.com/rest";

beforeAll(async () => {
  server = await startGitHubApiServer();
});
afterAll(async () => {
  await server.close();
});

const client = (options: { retries?: number; timeoutMs?: number; baseUrl?: string; token?: string } = {}) =>
  createGitHubClient({
    token: options.token ?? DEFAULT_TOKEN,
    baseUrl: options.baseUrl ?? server.url,
    retries: options.retries ?? 0,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });

const failure = async (call: () => Promise<unknown>): Promise<GitHubError> => {
  const err: unknown = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GitHubError);
  return err as GitHubError;
};

describe("classification of GitHub failures", () => {
  it.each([
    [401, { message: "Bad credentials", documentation_url: docs }, {}, "GITHUB_UNAUTHORIZED", "GITHUB_TOKEN"],
    [
      403,
      { message: "Resource not accessible by integration", documentation_url: docs },
      {},
      "GITHUB_FORBIDDEN",
      "permissions: deployments: write",
    ],
    [
      403,
      { message: "API rate limit exceeded", documentation_url: docs },
      { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2000000000" },
      "GITHUB_RATE_LIMITED",
      "2033-05-18T03:33:20.000Z",
    ],
    [404, { message: "Not Found", documentation_url: docs }, {}, "GITHUB_NOT_FOUND", "GITHUB_REPOSITORY"],
    [
      422,
      { message: "Validation Failed", documentation_url: docs, errors: [{ code: "invalid", field: "ref" }] },
      {},
      "GITHUB_REJECTED",
      "--verbose",
    ],
    [
      409,
      { message: "Conflict merging main into abc", documentation_url: docs },
      {},
      "GITHUB_REJECTED",
      "--verbose",
    ],
  ])(
    "GIVEN GitHub answers %i WHEN a deployment is created THEN the error is classified",
    async (status, body, headers, code, hint) => {
      server.failNext({ status, body, headers, operationId: "repos/create-deployment" });
      const err = await failure(() => createDeployment(client(), repo, { ref: "abc", environment: "dev" }));
      expect(err.code).toBe(code);
      expect(err.status).toBe(status);
      expect(err.hint).toContain(hint);
      expect(err.message).toContain("POST /repos/{owner}/{repo}/deployments");
    },
  );

  it("GIVEN a 403 on a comment WHEN classified THEN the hint names pull-requests: write", async () => {
    server.failNext({
      status: 403,
      body: { message: "Resource not accessible by integration", documentation_url: docs },
      operationId: "issues/list-comments",
    });
    const err = await failure(() => upsertStickyComment(client(), { ...repo, issueNumber: 1 }, "dev", "x"));
    expect(err.hint).toBe(
      "the workflow needs `permissions: pull-requests: write` (and a token of this repository, not of a fork)",
    );
  });

  const listComments = (c: ReturnType<typeof client>) =>
    c.rest.issues.listComments({ ...repo, issue_number: 1 });

  it("GIVEN a GET fails twice with 502 WHEN retries are allowed THEN the third attempt succeeds", async () => {
    const before = server.requests.length;
    server.failNext({
      status: 502,
      body: { message: "Bad Gateway" },
      operationId: "issues/list-comments",
      times: 2,
    });
    await listComments(client({ retries: 2 }));
    expect(server.requests.slice(before).map((r) => r.status)).toEqual([502, 502, 200]);
  });

  it("GIVEN a GET keeps failing with 503 WHEN the retries run out THEN GITHUB_UNAVAILABLE", async () => {
    const before = server.requests.length;
    server.failNext({
      status: 503,
      body: { message: "Unavailable" },
      operationId: "issues/list-comments",
      times: 2,
    });
    const err = await failure(() => listComments(client({ retries: 1 })));
    expect(err.code).toBe("GITHUB_UNAVAILABLE");
    expect(server.requests.slice(before).map((r) => r.status)).toEqual([503, 503]);
  });

  it("GIVEN a POST fails with 502 WHEN retries are allowed THEN it is not retried (it may have been applied)", async () => {
    const before = server.requests.length;
    server.failNext({
      status: 502,
      body: { message: "Bad Gateway" },
      operationId: "repos/create-deployment",
    });
    const err = await failure(() =>
      createDeployment(client({ retries: 3 }), repo, { ref: "abc", environment: "dev" }),
    );
    expect(err.code).toBe("GITHUB_UNAVAILABLE");
    expect(server.requests.slice(before).map((r) => r.status)).toEqual([502]);
  });

  it("GIVEN a POST is rate limited (429, not applied) WHEN retries are allowed THEN it is retried", async () => {
    const before = server.requests.length;
    server.failNext({
      status: 429,
      body: { message: "API rate limit exceeded", documentation_url: docs },
      operationId: "repos/create-deployment",
    });
    const created = await createDeployment(client({ retries: 2 }), repo, { ref: "abc", environment: "dev" });
    expect(created.id).toBeGreaterThan(0);
    expect(server.requests.slice(before).map((r) => r.status)).toEqual([429, 201]);
  });

  it("GIVEN a 404 WHEN retries are allowed THEN it is not retried", async () => {
    const before = server.requests.length;
    server.failNext({
      status: 404,
      body: { message: "Not Found", documentation_url: docs },
      operationId: "repos/create-deployment",
    });
    await failure(() => createDeployment(client({ retries: 3 }), repo, { ref: "abc", environment: "dev" }));
    expect(server.requests.length - before).toBe(1);
  });

  it("GIVEN nothing listens at the API URL WHEN a call is made THEN GITHUB_UNREACHABLE with the URL to check", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) =>
      closed.close(() => {
        resolve();
      }),
    );
    const err = await failure(() =>
      createDeployment(client({ baseUrl: `http://127.0.0.1:${String(port)}` }), repo, {
        ref: "a",
        environment: "dev",
      }),
    );
    expect(err.code).toBe("GITHUB_UNREACHABLE");
    expect(err.hint).toContain("GITHUB_API_URL");
  });

  describe("a GitHub that never answers", () => {
    let hanging: Server;
    let url: string;
    beforeAll(async () => {
      hanging = createServer(() => undefined);
      await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${String((hanging.address() as AddressInfo).port)}`;
    });
    afterAll(async () => {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) =>
        hanging.close(() => {
          resolve();
        }),
      );
    });

    it("GIVEN a hung request WHEN its deadline passes THEN it fails fast as unreachable and is not retried", async () => {
      const started = Date.now();
      const err = await failure(() =>
        createDeployment(client({ baseUrl: url, timeoutMs: 300, retries: 3 }), repo, {
          ref: "a",
          environment: "dev",
        }),
      );
      expect(err.code).toBe("GITHUB_UNREACHABLE");
      expect(Date.now() - started).toBeLessThan(3000);
    });
  });

  it("GIVEN a failing call WHEN the error is printed in every form THEN the token is not in it", async () => {
    const token = "ghs_canaryTokenValue1234567890";
    const err = await failure(() =>
      createDeployment(client({ token }), repo, { ref: "abc", environment: "dev" }),
    );
    expect(err.code).toBe("GITHUB_UNAUTHORIZED");
    // JSON.stringify skips the non-enumerable `cause` (Octokit's error, with the request it sent):
    // util.inspect (what console.error and --verbose-style dumps use) walks it.
    const inspected = inspect(err, { depth: 10 });
    expect(inspected).toContain("cause");
    expect(inspected).toContain("POST /repos/{owner}/{repo}/deployments");
    const printed = [err.message, err.hint ?? "", JSON.stringify(err), String(err.stack), inspected].join(
      "\n",
    );
    expect(printed).not.toContain(token);
  });
});
