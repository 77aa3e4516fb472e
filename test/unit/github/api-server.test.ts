/**
 * The validating fake GitHub server must really reject what GitHub's OpenAPI description does
 * not allow, or every other GitHub test could pass against a wrong path, method or body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitHubClient, type GitHubClient } from "../../../src/github/client.ts";
import { GitHubError } from "../../../src/github/errors.ts";
import {
  DEFAULT_TOKEN,
  startGitHubApiServer,
  type GitHubApiServer,
} from "../../helpers/github-api-server.ts";

let server: GitHubApiServer;
let client: GitHubClient;

beforeAll(async () => {
  server = await startGitHubApiServer();
  client = createGitHubClient({ token: DEFAULT_TOKEN, baseUrl: server.url, retries: 0 });
});
afterAll(async () => {
  await server.close();
});

/** Untyped on purpose: these requests are wrong, and Octokit's types would refuse to compile them. */
const send = (route: string, params: Record<string, unknown>) => client.request(route, params);

const violationsAfter = async (call: () => Promise<unknown>) => {
  const before = server.violations.length;
  const outcome = await call().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return { outcome, added: server.violations.slice(before) };
};

describe("the fake GitHub API validates against the OpenAPI description", () => {
  it("GIVEN a well-formed request WHEN it is sent THEN it is served and no violation is recorded", async () => {
    const before = server.violations.length;
    const { data } = await client.rest.issues.createComment({
      owner: "acme",
      repo: "shop",
      issue_number: 7,
      body: "hello",
    });
    expect(data.body).toBe("hello");
    expect(data.user?.login).toBe("github-actions[bot]");
    expect(server.violations.slice(before)).toEqual([]);
    expect(server.specLoadMs).toBeGreaterThan(0);
  });

  it.each([
    [
      "a path GitHub does not have",
      () =>
        send("POST /repos/{owner}/{repo}/issue/{issue_number}/comments", {
          owner: "acme",
          repo: "shop",
          issue_number: 7,
          body: "x",
        }),
      "route",
      404,
    ],
    [
      "a method the path does not have",
      () =>
        send("PUT /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner: "acme",
          repo: "shop",
          issue_number: 7,
          body: "x",
        }),
      "method",
      404,
    ],
    [
      "a body missing a required property",
      () =>
        send("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner: "acme",
          repo: "shop",
          issue_number: 7,
          text: "x",
        }),
      "request",
      422,
    ],
    [
      "a body property of the wrong type",
      () =>
        send("POST /repos/{owner}/{repo}/deployments", {
          owner: "acme",
          repo: "shop",
          ref: "abc",
          auto_merge: "no",
        }),
      "request",
      422,
    ],
    [
      "a misspelt body property",
      () =>
        send("POST /repos/{owner}/{repo}/deployments", {
          owner: "acme",
          repo: "shop",
          ref: "abc",
          auto_merged: false,
        }),
      "request",
      422,
    ],
    [
      "a deployment state GitHub does not know",
      () =>
        send("POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses", {
          owner: "acme",
          repo: "shop",
          deployment_id: 1,
          state: "succeeded",
        }),
      "request",
      422,
    ],
    [
      "a path parameter of the wrong type",
      () =>
        send("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner: "acme",
          repo: "shop",
          issue_number: "seven",
        }),
      "request",
      422,
    ],
    [
      "a query parameter of the wrong type",
      () =>
        send("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner: "acme",
          repo: "shop",
          issue_number: 7,
          per_page: "many",
        }),
      "request",
      422,
    ],
    [
      "a query parameter the operation does not have",
      () =>
        send("GET /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner: "acme",
          repo: "shop",
          issue_number: 7,
          pagesize: 10,
        }),
      "request",
      422,
    ],
  ])(
    "GIVEN %s WHEN it is sent THEN it is refused and recorded as a violation",
    async (_what, call, kind, status) => {
      const { outcome, added } = await violationsAfter(call);
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error instanceof GitHubError && outcome.error.status).toBe(status);
      expect(added).toHaveLength(1);
      expect(added[0]?.kind).toBe(kind);
    },
  );

  it("GIVEN a body that is not JSON WHEN it is sent THEN it is refused and recorded", async () => {
    const { outcome, added } = await violationsAfter(() =>
      fetch(`${server.url}/repos/acme/shop/issues/7/comments`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `token ${DEFAULT_TOKEN}` },
        body: "{not json",
      }),
    );
    expect(outcome.ok && (outcome.value as Response).status).toBe(400);
    expect(added.map((v) => v.kind)).toEqual(["request"]);
  });

  it("GIVEN an answer the description does not allow WHEN the fake sends it THEN that is recorded too", async () => {
    server.failNext({ status: 201, body: { id: "not-a-number" }, operationId: "issues/create-comment" });
    const { added } = await violationsAfter(() =>
      client.rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: 7, body: "x" }),
    );
    expect(added.map((v) => v.kind)).toEqual(["response"]);
    expect(added[0]?.message).toMatch(/node_id|\/id/);
  });

  it("GIVEN an unknown token WHEN a request is sent THEN GitHub's 401 comes back (not a violation)", async () => {
    const stranger = createGitHubClient({ token: "wrong-token", baseUrl: server.url, retries: 0 });
    const { outcome, added } = await violationsAfter(() =>
      stranger.rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: 7, body: "x" }),
    );
    expect(!outcome.ok && outcome.error instanceof GitHubError && outcome.error.code).toBe(
      "GITHUB_UNAUTHORIZED",
    );
    expect(added).toEqual([]);
  });
});
