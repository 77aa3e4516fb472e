/**
 * Approvals (src/app/approval.ts): in GitHub Actions against the OpenAPI-validating fake GitHub API
 * (an environment's protection rules and the run's review history), at a terminal through a
 * stand-in `ask`, and with `--approved-by` where nobody can be asked. The terminal itself is
 * exercised through a real pseudo-terminal in test/scenarios/promotion.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ApprovalRequest, approve } from "../../../src/app/approval.ts";
import type { ActionsContext } from "../../../src/github/context.ts";
import { RecordingReporter } from "../../fakes/context.ts";
import {
  DEFAULT_TOKEN,
  startGitHubApiServer,
  type GitHubApiServer,
} from "../../helpers/github-api-server.ts";

const runtime = { actor: "ana", host: "laptop", pid: 1 };
const required = (approvalRequired: boolean): ApprovalRequest => ({
  env: "prod",
  config: { file: "Pulumi.prod.yaml", gantry: { approvalRequired } as ApprovalRequest["config"]["gantry"] },
  what: "deploy v1.2.3 to prod",
});

let server: GitHubApiServer;
beforeAll(async () => {
  server = await startGitHubApiServer();
  server.seedEnvironment("acme", "shop", {
    name: "production",
    reviewers: [{ login: "rita", type: "User" }],
  });
  server.seedEnvironment("acme", "shop", { name: "open", reviewers: [], waitTimer: 5 });
  server.seedRunReview("acme", "shop", {
    runId: 77,
    environments: ["production"],
    state: "approved",
    user: { login: "rita", type: "User" },
  });
});
afterEach(() => {
  expect(server.violations).toEqual([]);
});
afterAll(async () => {
  await server.close();
});

function actions(overrides: Partial<ActionsContext> = {}): ActionsContext {
  return {
    owner: "acme",
    repo: "shop",
    apiUrl: server.url,
    serverUrl: "https://github.com",
    runUrl: "https://github.com/acme/shop/actions/runs/77",
    runId: 77,
    token: DEFAULT_TOKEN,
    sha: undefined,
    ref: undefined,
    pullRequest: undefined,
    summaryFile: undefined,
    outputFile: undefined,
    environment: "production",
    ...overrides,
  };
}

describe("approve", () => {
  it("GIVEN no approval required WHEN nothing is given THEN none; WHEN --approved-by is given THEN it is recorded", async () => {
    const app = { actions: undefined, runtime, reporter: new RecordingReporter() };
    expect(await approve(app, required(false))).toBeUndefined();
    expect(await approve(app, { ...required(false), approvedBy: "bob" })).toEqual({
      by: "bob",
      how: "approved-by",
    });
  });

  it("GIVEN a job in a GitHub environment with required reviewers that approved this run THEN approved by the reviewer", async () => {
    const reporter = new RecordingReporter();
    const approval = await approve({ actions: actions(), runtime, reporter }, required(true));
    expect(approval).toEqual({ by: "rita", how: "github-environment", detail: "production" });
    expect(reporter.messages("info")).toContain("approved by rita (github-environment: production)");
  });

  it.each([
    [
      "an environment without required reviewers",
      { environment: "open" },
      /GitHub environment open has no required reviewers/,
    ],
    [
      "an environment GitHub does not know",
      { environment: "nowhere" },
      /GitHub environment nowhere has no required reviewers/,
    ],
    [
      "no review of this run for it",
      { runId: 78 },
      /nobody approved this run for GitHub environment production/,
    ],
    ["no GANTRY_GITHUB_ENVIRONMENT", { environment: undefined }, /this job names no GitHub environment/],
    ["no token", { token: undefined }, /GitHub cannot be asked/],
  ])(
    "GIVEN Actions with %s WHEN approval is required THEN refused (APPROVAL_REQUIRED), --approved-by notwithstanding",
    async (_what, overrides, message) => {
      const ctx = {
        actions: actions(overrides),
        runtime,
        reporter: new RecordingReporter(),
      };
      const err = await approve(ctx, { ...required(true), approvedBy: "mallory" }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "APPROVAL_REQUIRED", source: "user" });
      expect((err as Error).message).toMatch(message);
    },
  );

  it("GIVEN a terminal WHEN the environment's name is typed THEN approved by the person running gantry; anything else is refused", async () => {
    const asked: string[] = [];
    const at = (answer: string) => ({
      actions: undefined,
      runtime,
      reporter: new RecordingReporter(),
      ask: (q: string) => {
        asked.push(q);
        return Promise.resolve(answer);
      },
    });
    expect(await approve(at(" prod\n"), required(true))).toEqual({ by: "ana", how: "terminal" });
    expect(asked[0]).toBe(
      "deploy v1.2.3 to prod needs an approval: type the environment's name (prod) to go on: ",
    );
    await expect(approve(at("yes"), required(true))).rejects.toThrow(
      'not approved: typed "yes", not "prod"; nothing changed',
    );
  });

  it("GIVEN approval required WHEN it is a dry run THEN nobody is asked and none is needed", async () => {
    const app = { actions: actions({ token: undefined }), runtime, reporter: new RecordingReporter() };
    expect(await approve(app, { ...required(true), dryRun: true })).toBeUndefined();
  });

  it("GIVEN nobody to ask WHEN approval is required THEN refused naming --approved-by; WITH it THEN recorded as given", async () => {
    const app = { actions: undefined, runtime, reporter: new RecordingReporter() };
    const err = await approve(app, required(true)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "APPROVAL_REQUIRED" });
    expect((err as { hint?: string }).hint).toContain("--approved-by NAME");
    expect(await approve(app, { ...required(true), approvedBy: "carol" })).toEqual({
      by: "carol",
      how: "approved-by",
    });
  });
});
