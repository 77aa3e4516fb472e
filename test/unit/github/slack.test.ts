/** The Slack host (incoming webhook) against a local 127.0.0.1 webhook. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { postSlackMessage, slackEscape, SlackError } from "../../../src/reporting/slack.ts";
import { collectingReporter, remoteHosts, rolledBack, succeeded } from "./fixtures.ts";

interface Hit {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

let server: Server;
let base: string;
const hits: Hit[] = [];
/** Answers to give, in order (then 200 "ok"). */
const answers: { status: number; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      hits.push({
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString(),
      });
      const answer = answers.shift() ?? { status: 200, body: "ok" };
      res.writeHead(answer.status, { "content-type": "text/plain" });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});
beforeEach(() => {
  hits.length = 0;
  answers.length = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
});

const hook = () => `${base}/services/T0000/B0000/abcdefghijklmnopqrstuvwx`;
const texts = () => hits.map((h) => (JSON.parse(h.body) as { text: string }).text);

async function start(
  kind: "deploy" | "rollback" = "deploy",
  env: NodeJS.ProcessEnv = { GANTRY_SLACK_WEBHOOK_URL: hook() },
) {
  const reporter = collectingReporter();
  const notifier = await remoteHosts(env, { log: reporter, network: { retries: 0, timeoutMs: 2000 } });
  await notifier.started({
    kind,
    env: "prod",
    tag: kind === "deploy" ? "v1.2.3" : "v1.1.0",
    deploymentId: "20261122T101500Z-3f9a1c",
    actor: "alice",
    ...(kind === "rollback" ? { reason: "the succeeded deployment before v1.2.3" } : {}),
  });
  return { reporter, notifier };
}

describe("Slack notifications", () => {
  it("GIVEN a webhook WHEN a deploy starts and succeeds THEN two JSON messages are posted to it", async () => {
    const { reporter, notifier } = await start();
    await notifier.finished(succeeded());
    expect(hits.map((h) => [h.path, h.contentType])).toEqual([
      ["/services/T0000/B0000/abcdefghijklmnopqrstuvwx", "application/json"],
      ["/services/T0000/B0000/abcdefghijklmnopqrstuvwx", "application/json"],
    ]);
    expect(texts()).toEqual([
      ":rocket: deploy of `v1.2.3` to *prod* started by alice · `20261122T101500Z-3f9a1c`",
      expect.stringMatching(
        /^:white_check_mark: deploy of `v1\.2\.3` to \*prod\* succeeded in 1 min 23 s \(`sha256:9f86/,
      ),
    ]);
    expect(reporter.warnings()).toEqual([]);
  });

  it("GIVEN a deploy rolled back WHEN it finishes THEN the message says rolled back, to what, why and what next", async () => {
    const { notifier } = await start();
    await notifier.finished(rolledBack());
    expect(texts()[1]).toBe(
      ":rewind: deploy of `v1.2.3` to *prod* failed and was rolled back to `v1.1.0`, verified healthy (exit 3) · `20261122T101500Z-3f9a1c`\n> gates failed: health check https://prod.example.com/health answered 500\n> next: gantry status --env prod",
    );
  });

  it("GIVEN a rollback WHEN it starts and fails THEN the messages speak of a rollback and a failure", async () => {
    const { notifier } = await start("rollback");
    const failed = rolledBack();
    await notifier.finished({ ...failed, exitCode: 4, record: { ...failed.record, status: "failed" } });
    expect(texts()[0]).toBe(
      ":rocket: rollback of *prod* to `v1.1.0` started by alice (the succeeded deployment before v1.2.3) · `20261122T101500Z-3f9a1c`",
    );
    expect(texts()[1]).toMatch(/^:x: rollback of \*prod\* to `v1\.1\.0` failed \(exit 4\)/);
  });

  it("GIVEN a revoked webhook (404 no_service) WHEN notifying THEN a warning with the fix, never an exception, never the URL", async () => {
    answers.push({ status: 404, body: "no_service" }, { status: 404, body: "no_service" });
    const { reporter, notifier } = await start();
    await notifier.finished(succeeded());
    const warnings = reporter.warnings();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("Slack answered 404: no_service");
    expect(warnings[0]).toContain("create a new one and update GANTRY_SLACK_WEBHOOK_URL");
    expect(warnings.join("\n")).not.toContain("abcdefghijklmnopqrstuvwx");
  });

  it("GIVEN Slack fails with 500 once WHEN retries are allowed THEN the message is delivered", async () => {
    answers.push({ status: 500, body: "oops" });
    await postSlackMessage(hook(), { text: "hi" }, { retries: 1 });
    expect(hits.map((h) => h.body)).toEqual(['{"text":"hi"}', '{"text":"hi"}']);
  });

  it.each([
    ["not a URL", "hooks slack com"],
    ["not http(s)", "file:///etc/passwd"],
  ])(
    "GIVEN a webhook URL that is %s WHEN posting THEN SLACK_BAD_URL without the value",
    async (_what, url) => {
      const err: unknown = await postSlackMessage(url, { text: "x" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SlackError);
      expect(err).toMatchObject({ code: "SLACK_BAD_URL" });
      expect((err as Error).message).not.toContain(url);
    },
  );

  it("GIVEN no GANTRY_SLACK_WEBHOOK_URL WHEN a deploy runs THEN nothing is posted", async () => {
    const { notifier } = await start("deploy", {});
    await notifier.finished(succeeded());
    expect(hits).toEqual([]);
  });

  it("GIVEN text with Slack control characters THEN they are escaped", () => {
    expect(slackEscape("a < b && c > d")).toBe("a &lt; b &amp;&amp; c &gt; d");
  });
});
