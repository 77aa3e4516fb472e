/**
 * What `gantry preview` does with a finished preview (src/app/preview.ts publishPreview): the
 * markdown on stdout (or the --json result) and in the job summary first, the sticky PR comment
 * last, so a GitHub failure cannot lose the preview; and every value redacted before it is
 * escaped, so a secret holding markdown/HTML characters is masked in every place it lands.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { actionsContext } from "../../../src/config/hosts.ts";
import { commentPlan, publishPreview } from "../../../src/app/preview.ts";
import { GitHubError } from "../../../src/github/errors.ts";
import { escapeHtml, escapeMarkdown } from "../../../src/reporting/markdown.ts";
import { SecretMasker } from "../../../src/reporting/mask.ts";
import {
  DEFAULT_TOKEN,
  startGitHubApiServer,
  type GitHubApiServer,
} from "../../helpers/github-api-server.ts";
import { actionsRun, collectingReporter, preview, resource } from "./fixtures.ts";

let server: GitHubApiServer;
const runs: { cleanup: () => void }[] = [];
const PR = 17;

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

const changes = [
  resource("update", "aws:ecs/service:Service", "api", [
    { path: "desiredCount", kind: "update", old: 2, new: 3 },
  ]),
];

/** An Actions PR run with a job summary, and publishPreview's options for it. */
function setUp(json: boolean, masker = new SecretMasker()) {
  const run = actionsRun(server.url, { GITHUB_TOKEN: DEFAULT_TOKEN });
  runs.push(run);
  const actions = actionsContext(run.env);
  const out: string[] = [];
  const reporter = collectingReporter();
  const options = {
    env: "dev",
    json,
    actions,
    comment: commentPlan({ comment: true, pr: PR }, actions),
    masker,
    reporter,
    out: { write: (text: string) => out.push(text) },
  };
  const printed = (): string =>
    json
      ? reporter.events
          .flatMap((e) => (e.type === "result" ? [(e.data as { markdown: string }).markdown] : []))
          .join("")
      : out.join("");
  return { run, options, printed, reporter };
}

describe("publishPreview", () => {
  it.each([
    ["markdown", false],
    ["--json", true],
  ])(
    "GIVEN GitHub refuses the comment (403) WHEN the preview is published as %s THEN it is printed and in the job summary, and the typed error is thrown",
    async (_how, json) => {
      const { run, options, printed } = setUp(json);
      server.failNext({
        status: 403,
        body: {
          message: "Resource not accessible by integration",
          documentation_url: "https://docs.github.com/rest",
        },
        operationId: "issues/list-comments",
      });

      const err: unknown = await publishPreview(preview(changes), options).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(err).toBeInstanceOf(GitHubError);
      expect(err).toMatchObject({ code: "GITHUB_FORBIDDEN" });
      expect((err as GitHubError).hint).toContain("pull-requests: write");
      expect(printed()).toContain("~ desiredCount: 2 → 3");
      expect(run.summary()).toContain("~ desiredCount: 2 → 3");
      expect(server.comments("acme", "shop", PR)).toEqual([]);
    },
  );

  it("GIVEN GitHub accepts WHEN the preview is published THEN stdout, the job summary and the sticky comment all hold it", async () => {
    const { run, options, printed, reporter } = setUp(false);
    await publishPreview(preview(changes), options);
    const [comment] = server.comments("acme", "shop", PR);
    expect(comment?.body).toContain("~ desiredCount: 2 → 3");
    expect(printed()).toContain("~ desiredCount: 2 → 3");
    expect(run.summary()).toContain("~ desiredCount: 2 → 3");
    expect(reporter.events.map((e) => (e.type === "info" ? e.message : ""))).toContainEqual(
      expect.stringMatching(/^PR #17: sticky comment for dev (created|updated): /),
    );
  });

  it("GIVEN a secret with markdown and HTML characters in names, reasons, warnings and values WHEN published THEN no form of it lands anywhere", async () => {
    const secret = "s3cr_t*&<|x`Canary_9f";
    const masker = new SecretMasker();
    masker.add(secret);
    const { run, options, printed } = setUp(false, masker);
    const leaky = preview(
      [
        resource("update", "aws:ecs/service:Service", `api-${secret}`, [
          { path: "environment.TOKEN", kind: "update", old: "old", new: secret },
        ]),
        resource("replace", "aws:rds/instance:Instance", "db", [], [`password ${secret}`]),
      ],
      {
        warnings: [`the hook header is ${secret}`],
        plan: [{ step: "smoke", included: true, why: `curl -H 'X-Key: ${secret}'` }],
        migrations: { runs: true, command: ["npm", "run", "migrate", "--", secret] },
      },
    );

    await publishPreview(leaky, options);

    const places = {
      stdout: printed(),
      summary: run.summary(),
      comment: server.comments("acme", "shop", PR)[0]?.body ?? "",
    };
    // Every value went through: the masks are there (escaped where the value would have been).
    expect(places.comment).toContain("> the hook header is \\*\\*\\*");
    expect(places.comment).toContain('~ environment.TOKEN: "old" → "***"');
    for (const [where, text] of Object.entries(places)) {
      for (const form of [
        secret,
        escapeMarkdown(secret),
        escapeHtml(secret),
        secret.replace(/\|/g, "\\|"),
        "Canary",
      ]) {
        expect({ where, form, leaked: text.includes(form) }).toEqual({ where, form, leaked: false });
      }
    }
  });
});
