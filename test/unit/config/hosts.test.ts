/**
 * The reporting hosts' settings (src/config/hosts.ts): the Actions run, read from the standard
 * variables and the event payload, the tokens to mask and the Slack webhook.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { actionsContext, hostSettings } from "../../../src/config/hosts.ts";
import { pullRequestOf } from "../../../src/github/context.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "gantry-ctx-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const event = (name: string, payload: unknown): string => {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(payload));
  return file;
};

const base = {
  GITHUB_ACTIONS: "true",
  GITHUB_REPOSITORY: "acme/shop",
  GITHUB_RUN_ID: "42",
  GITHUB_SHA: "abc123",
  GITHUB_REF: "refs/heads/main",
};

describe("actionsContext", () => {
  it.each([
    ["no GITHUB_ACTIONS", { GITHUB_REPOSITORY: "acme/shop" }],
    ["GITHUB_ACTIONS=false", { GITHUB_ACTIONS: "false", GITHUB_REPOSITORY: "acme/shop" }],
    ["no GITHUB_REPOSITORY", { GITHUB_ACTIONS: "true" }],
    ["a malformed GITHUB_REPOSITORY", { GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "acme" }],
  ])("GIVEN %s THEN it is undefined (not in Actions)", (_what, env) => {
    expect(actionsContext(env)).toBeUndefined();
  });

  it("GIVEN a push run on github.com THEN defaults, the run URL, the files and the token are read", () => {
    const ctx = actionsContext({
      ...base,
      GITHUB_TOKEN: "ghs_x",
      GITHUB_STEP_SUMMARY: "/tmp/summary",
      GITHUB_OUTPUT: "/tmp/output",
    });
    expect(ctx).toEqual({
      owner: "acme",
      repo: "shop",
      apiUrl: "https://api.github.com",
      serverUrl: "https://github.com",
      runUrl: "https://github.com/acme/shop/actions/runs/42",
      runId: 42,
      token: "ghs_x",
      sha: "abc123",
      ref: "refs/heads/main",
      pullRequest: undefined,
      summaryFile: "/tmp/summary",
      outputFile: "/tmp/output",
    });
  });

  it("GIVEN GitHub Enterprise, a re-run attempt and a comment author THEN they are used", () => {
    const ctx = actionsContext({
      ...base,
      GITHUB_API_URL: "https://ghe.example.com/api/v3/",
      GITHUB_SERVER_URL: "https://ghe.example.com",
      GITHUB_RUN_ATTEMPT: "2",
      GANTRY_GITHUB_COMMENT_AUTHOR: "deploy-bot",
    });
    expect(ctx?.apiUrl).toBe("https://ghe.example.com/api/v3");
    expect(ctx?.runUrl).toBe("https://ghe.example.com/acme/shop/actions/runs/42/attempts/2");
    expect(ctx?.commentAuthor).toBe("deploy-bot");
    expect(ctx?.token).toBeUndefined();
  });

  it.each([
    ["GANTRY_GITHUB_ENVIRONMENT=production", { GANTRY_GITHUB_ENVIRONMENT: " production " }, "production"],
    ["it unset", {}, undefined],
    ["it empty", { GANTRY_GITHUB_ENVIRONMENT: "" }, undefined],
  ])("GIVEN %s THEN the GitHub environment of gantry's deployments is %s", (_what, extra, want) => {
    expect(actionsContext({ ...base, ...extra })?.environment).toBe(want);
  });

  it.each([
    ["a pull_request event", { pull_request: { number: 17 } }, 17],
    ["an issue_comment on a PR", { issue: { number: 18, pull_request: { url: "x" } } }, 18],
    ["an issue_comment on an issue", { issue: { number: 19 } }, undefined],
    ["a push event", { ref: "refs/heads/main" }, undefined],
  ])("GIVEN %s THEN the PR number is %s", (_what, payload, want) => {
    expect(pullRequestOf(payload)).toBe(want);
    expect(
      actionsContext({ ...base, GITHUB_EVENT_PATH: event(`${String(want)}.json`, payload) })?.pullRequest,
    ).toBe(want);
  });

  it("GIVEN no payload but a refs/pull ref THEN the PR number comes from the ref", () => {
    expect(actionsContext({ ...base, GITHUB_REF: "refs/pull/23/merge" })?.pullRequest).toBe(23);
  });

  it("GIVEN an unreadable or broken payload THEN there is no PR (and no crash)", () => {
    const broken = path.join(dir, "broken.json");
    writeFileSync(broken, "{");
    expect(actionsContext({ ...base, GITHUB_EVENT_PATH: broken })?.pullRequest).toBeUndefined();
    expect(
      actionsContext({ ...base, GITHUB_EVENT_PATH: path.join(dir, "missing.json") })?.pullRequest,
    ).toBeUndefined();
  });
});

describe("hostSettings", () => {
  it("GIVEN a run outside Actions with a token, a blank webhook and CI THEN the token is kept for masking, no host is on and CI is seen", () => {
    expect(hostSettings({ GITHUB_TOKEN: "ghs_local", GANTRY_SLACK_WEBHOOK_URL: "  ", CI: "true" })).toEqual({
      inActions: false,
      ci: true,
      actions: undefined,
      githubToken: "ghs_local",
      slackWebhookUrl: undefined,
    });
  });

  it("GIVEN an Actions run with a webhook THEN the run is read and the webhook is trimmed", () => {
    const settings = hostSettings({ ...base, GANTRY_SLACK_WEBHOOK_URL: " https://hooks.example/x ", CI: "" });
    expect(settings.inActions).toBe(true);
    expect(settings.ci).toBe(false);
    expect(settings.actions?.runUrl).toBe("https://github.com/acme/shop/actions/runs/42");
    expect(settings.slackWebhookUrl).toBe("https://hooks.example/x");
    expect(Object.isFrozen(settings)).toBe(true);
  });
});
