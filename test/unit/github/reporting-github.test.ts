/**
 * The GitHub Actions host of deploys and rollbacks, end to end through the run events as
 * src/main.ts composes the hosts: deployment and statuses against the OpenAPI-validating fake
 * GitHub API, the job summary, the step outputs and the annotations in temp files / a captured
 * stream.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { environmentUrl, runEnd, type RunStart } from "../../../src/reporting/events.ts";
import { renderDeploySummary } from "../../../src/reporting/github.ts";
import { formatDuration } from "../../../src/reporting/human.ts";
import {
  DEFAULT_TOKEN,
  startGitHubApiServer,
  type GitHubApiServer,
} from "../../helpers/github-api-server.ts";
import {
  actionsRun,
  collectingReporter,
  DIGEST,
  OUTPUTS,
  remoteHosts,
  rolledBack,
  RUN_URL,
  SHA,
  succeeded,
} from "./fixtures.ts";

let server: GitHubApiServer;
const runs: { cleanup: () => void }[] = [];
const notice: RunStart = {
  kind: "deploy",
  env: "prod",
  tag: "v1.2.3",
  deploymentId: "20261122T101500Z-3f9a1c",
  actor: "alice",
};

beforeAll(async () => {
  server = await startGitHubApiServer();
});
afterEach(() => {
  expect(server.violations).toEqual([]);
  for (const r of runs.splice(0)) r.cleanup();
});
afterAll(async () => {
  await server.close();
});

async function start(extra: NodeJS.ProcessEnv = {}, overrides: Partial<typeof notice> = {}) {
  const run = actionsRun(server.url, { GITHUB_TOKEN: DEFAULT_TOKEN, ...extra });
  runs.push(run);
  const reporter = collectingReporter();
  const annotations: string[] = [];
  const before = server.deployments("acme", "shop").length;
  const notifier = await remoteHosts(run.env, {
    log: reporter,
    annotate: (line) => annotations.push(line),
    network: { retries: 0, timeoutMs: 2000 },
  });
  await notifier.started({ ...notice, ...overrides });
  const deployment = () => server.deployments("acme", "shop")[before];
  return { run, reporter, annotations, notifier, deployment };
}

/** GITHUB_OUTPUT → record (one-line values only, as these outputs are). */
const outputsOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

describe("GitHub Actions host", () => {
  it("GIVEN an emergency deploy to an environment on the sandbox account WHEN it starts THEN the deployment says EMERGENCY with the reason and is transient", async () => {
    const { deployment } = await start({}, { emergency: "checkout is down", account: "sandbox", env: "qa" });
    expect(deployment()?.request).toMatchObject({
      description: `gantry deploy of v1.2.3 (${notice.deploymentId}) EMERGENCY: checkout is down`,
      transient_environment: true,
      production_environment: false,
    });
  });

  it("GIVEN a deploy that succeeds WHEN it starts and finishes THEN deployment, statuses, summary and outputs say so", async () => {
    const { run, reporter, annotations, notifier, deployment } = await start();
    expect(deployment()?.request).toMatchObject({
      ref: SHA,
      environment: "prod",
      auto_merge: false,
      required_contexts: [],
      production_environment: true,
      payload: { gantryDeploymentId: notice.deploymentId, tag: "v1.2.3", kind: "deploy" },
    });
    expect(deployment()?.statuses).toEqual([
      { state: "in_progress", description: "deploy of v1.2.3 started by alice", log_url: RUN_URL },
    ]);

    await notifier.finished(succeeded(), OUTPUTS);

    expect(deployment()?.statuses[1]).toEqual({
      state: "success",
      description: "v1.2.3 verified healthy in 1 min 23 s",
      environment_url: "https://prod.example.com",
      log_url: RUN_URL,
    });
    const summary = run.summary();
    expect(summary).toContain("## ✅ gantry deploy of `v1.2.3` to `prod`: succeeded");
    expect(summary).toContain(`| digest | \`${DIGEST}\` |`);
    expect(summary).toContain("| status | **succeeded** (exit code 0) |");
    expect(summary).toContain(
      "| previous | `v1.1.0` (`arn:aws:ecs:eu-west-1:123456789012:task-definition/web:41`) |",
    );
    expect(summary).toContain("| snapshot | `gantry-prod-20261122t101500z` |");
    expect(summary).toContain("| environment URL | <https://prod.example.com> |");
    expect(summary).toContain("| snapshot | ✅ succeeded | 1 min 01 s |  |");
    expect(outputsOf(run.output())).toEqual({
      "deployment-id": "20261122T101500Z-3f9a1c",
      digest: DIGEST,
      status: "succeeded",
      "exit-code": "0",
    });
    expect(annotations).toEqual([]);
    expect(reporter.warnings()).toEqual([]);
  });

  it("GIVEN prod runs in the GitHub environment production WHEN the deploy starts and finishes THEN gantry's deployment and statuses are in production", async () => {
    const { notifier, deployment } = await start({ GANTRY_GITHUB_ENVIRONMENT: "production" });
    expect(deployment()?.request).toMatchObject({
      ref: SHA,
      environment: "production",
      production_environment: true,
      transient_environment: false,
    });
    await notifier.finished(succeeded(), OUTPUTS);
    expect(deployment()?.statuses.map((s) => s.state)).toEqual(["in_progress", "success"]);
  });

  it("GIVEN a deploy that is rolled back WHEN it finishes THEN failure status, the error in the summary and an ::error annotation with the hint", async () => {
    const { run, annotations, notifier, deployment } = await start();
    await notifier.finished(rolledBack(), OUTPUTS);

    expect(deployment()?.statuses.map((s) => s.state)).toEqual(["in_progress", "failure"]);
    expect(deployment()?.statuses[1]?.description).toBe("v1.2.3 failed; rolled back to v1.1.0 and verified");
    const summary = run.summary();
    expect(summary).toContain("## ↩️ gantry deploy of `v1.2.3` to `prod`: rolled_back");
    expect(summary).toContain(
      "| gates | ❌ failed | 30.0 s | health check https://prod.example.com/health answered 500 |",
    );
    expect(summary).toContain("| release | ↩️ undone | 20.0 s |  |");
    expect(summary).toContain("> **next:** gantry status --env prod");
    expect(outputsOf(run.output())).toMatchObject({ status: "rolled_back", "exit-code": "3" });
    expect(annotations).toEqual([
      "::error title=gantry deploy rolled_back (exit 3)::gates failed: health check https://prod.example.com/health answered 500 — next: gantry status --env prod\n",
    ]);
  });

  it("GIVEN a rollback WHEN it finishes THEN the summary and the statuses speak of a rollback", async () => {
    const { run, notifier, deployment } = await start(
      {},
      { kind: "rollback", tag: "v1.1.0", reason: "the succeeded deployment before v1.2.3" },
    );
    const result = succeeded();
    await notifier.finished({ ...result, record: { ...result.record, tag: "v1.1.0" } });
    expect(run.summary()).toContain("## ✅ gantry rollback of `prod` to `v1.1.0`: succeeded");
    expect(run.summary()).toContain("| why this target | the succeeded deployment before v1.2.3 |");
    expect(deployment()?.statuses[1]).toMatchObject({
      state: "success",
      description: "rollback to v1.1.0 verified healthy in 1 min 23 s",
    });
  });

  it("GIVEN the deploy throws WHEN it crashes THEN an error status, an annotation and a summary line", async () => {
    const { run, annotations, notifier, deployment } = await start();
    await notifier.crashed(new Error("ECS port exploded"));
    expect(deployment()?.statuses.map((s) => s.state)).toEqual(["in_progress", "error"]);
    expect(annotations[0]).toMatch(
      /^::error title=gantry deploy stopped with an error::ECS port exploded\n$/,
    );
    expect(run.summary()).toContain("stopped with an error");
    expect(outputsOf(run.output())).toEqual({ "deployment-id": notice.deploymentId, status: "error" });
  });

  it("GIVEN a token without deployments: write WHEN the deploy starts THEN a warning with the fix, and the deploy's own outputs still come", async () => {
    server.failNext({
      status: 403,
      body: {
        message: "Resource not accessible by integration",
        documentation_url: "https://docs.github.com/rest",
      },
      operationId: "repos/create-deployment",
    });
    const { run, reporter, notifier } = await start();
    const requests = server.requests.length;
    await notifier.finished(succeeded());
    expect(reporter.warnings()).toEqual([
      expect.stringContaining("the workflow needs `permissions: deployments: write`"),
    ]);
    expect(server.requests.length).toBe(requests);
    expect(outputsOf(run.output()).status).toBe("succeeded");
  });

  it("GIVEN GitHub is unreachable WHEN the deploy starts and finishes THEN warnings only, nothing throws", async () => {
    const { run, reporter, notifier } = await start({ GITHUB_API_URL: "http://127.0.0.1:9" });
    await notifier.finished(rolledBack());
    expect(reporter.warnings()).toEqual([
      expect.stringContaining("GitHub deployment status failed: could not reach GitHub"),
    ]);
    expect(run.summary()).toContain("rolled_back");
  });

  it("GIVEN the annotation sink fails WHEN a failed deploy ends THEN a warning, and the outputs and the final status are still written", async () => {
    const run = actionsRun(server.url, { GITHUB_TOKEN: DEFAULT_TOKEN });
    runs.push(run);
    const reporter = collectingReporter();
    const before = server.deployments("acme", "shop").length;
    const notifier = await remoteHosts(run.env, {
      log: reporter,
      annotate: () => {
        throw new Error("stderr is closed");
      },
      network: { retries: 0, timeoutMs: 2000 },
    });
    await notifier.started(notice);
    await notifier.finished(rolledBack(), OUTPUTS);
    expect(reporter.warnings()).toEqual(["GitHub annotation failed: stderr is closed"]);
    expect(outputsOf(run.output()).status).toBe("rolled_back");
    expect(server.deployments("acme", "shop")[before]?.statuses.map((s) => s.state)).toEqual([
      "in_progress",
      "failure",
    ]);
  });

  it("GIVEN no GITHUB_TOKEN WHEN the deploy runs THEN no API call, but summary and outputs are written", async () => {
    const requests = server.requests.length;
    const { run, reporter, notifier } = await start({ GITHUB_TOKEN: "" });
    await notifier.finished(succeeded());
    expect(server.requests.length).toBe(requests);
    expect(run.summary()).toContain("succeeded");
    expect(reporter.events).toHaveLength(1);
    expect(reporter.events[0]).toMatchObject({ type: "info" });
    expect(JSON.stringify(reporter.events[0])).toContain("set GITHUB_TOKEN");
  });

  it("GIVEN neither Actions nor Slack WHEN a deploy runs THEN no remote host is on and nothing happens at all", async () => {
    const reporter = collectingReporter();
    const annotations: string[] = [];
    const requests = server.requests.length;
    const notifier = await remoteHosts(
      { GITHUB_TOKEN: DEFAULT_TOKEN, GITHUB_API_URL: server.url },
      { log: reporter, annotate: (l) => annotations.push(l) },
    );
    await notifier.started(notice);
    await notifier.finished(rolledBack());
    await notifier.crashed(new Error("x"));
    expect(notifier.hosts).toEqual([]);
    expect([reporter.events, annotations, server.requests.length - requests]).toEqual([[], [], 0]);
  });
});

describe("summary rendering", () => {
  it("GIVEN step details with markdown and HTML THEN the table is not broken and nothing renders as HTML or markdown", () => {
    const result = rolledBack("a | b <script>x</script>\nsecond line **bold** [l](u) `c` @team");
    const md = renderDeploySummary(notice, runEnd(result));
    const gates = md.split("\n").find((l) => l.startsWith("| gates"));
    expect(gates).toBe(
      "| gates | ❌ failed | 30.0 s | a \\| b &lt;script&gt;x&lt;/script&gt; second line \\*\\*bold\\*\\* \\[l\\](u) \\`c\\` \\@team |",
    );
  });

  it("GIVEN a tag with a backtick and a pipe THEN its code spans hold it literally, in the table and in the heading", () => {
    const base = succeeded();
    const tag = "v1`|x";
    const md = renderDeploySummary({ ...notice, tag }, runEnd({ ...base, record: { ...base.record, tag } }));
    expect(md).toContain("## ✅ gantry deploy of ``v1`|x`` to `prod`: succeeded");
    expect(md).toContain("| tag | ``v1`\\|x`` |");
  });

  it.each([
    [400, "0.4 s"],
    [59_900, "59.9 s"],
    [61_000, "1 min 01 s"],
    [3_600_000, "60 min 00 s"],
  ])("GIVEN %i ms THEN %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("GIVEN outputs THEN the environment URL is the first service's origin", () => {
    expect(environmentUrl(OUTPUTS)).toBe("https://prod.example.com");
    expect(environmentUrl(undefined)).toBeUndefined();
  });
});
