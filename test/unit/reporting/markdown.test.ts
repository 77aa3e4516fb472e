/**
 * Golden tests of the preview markdown (src/reporting/markdown.ts). The expected documents are
 * checked in under golden/; after an intended change regenerate them with
 * `UPDATE_GOLDEN=1 vitest run test/unit/reporting/markdown.test.ts` and review the diff.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { COMMENT_MAX_CHARS, STICKY_MARKER_MAX_CHARS } from "../../../src/github/comments.ts";
import type { PropertyChange, ResourceChange } from "../../../src/pulumi/stack.ts";
import { SECRET_VALUE, UNKNOWN_VALUE } from "../../../src/pulumi/stack.ts";
import {
  escapeMarkdown,
  inlineCode,
  PREVIEW_MARKDOWN_MAX_CHARS,
  renderPreviewMarkdown,
} from "../../../src/reporting/markdown.ts";
import type { DeployPreview } from "../../../src/steps/preview.ts";

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), "golden");

function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, actual);
  expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 once`).toBe(true);
  expect(actual).toBe(readFileSync(file, "utf8"));
}

const DIGEST = `sha256:${"ab12".repeat(16)}`;

function resource(
  op: ResourceChange["op"],
  type: string,
  name: string,
  properties: PropertyChange[],
  replaceReasons: string[] = [],
): ResourceChange {
  return {
    op,
    type,
    name,
    urn: `urn:pulumi:dev::platform::${type}::${name}`,
    diffs: [...new Set(properties.map((p) => p.path.split(/[.[]/)[0] ?? p.path))],
    properties,
    replaceReasons,
  };
}

function preview(changes: ResourceChange[], overrides: Partial<DeployPreview> = {}): DeployPreview {
  const summary: Record<string, number> = { same: 10 };
  for (const c of changes) summary[c.op] = (summary[c.op] ?? 0) + 1;
  return {
    env: "dev",
    tag: "v1.2.0",
    tagSource: "given",
    planFile: null,
    plan: [
      { step: "preflight", included: true, why: "image → digest, no deployment in progress, lock" },
      { step: "stack", included: true, why: "pulumi up of the environment's stack" },
      { step: "snapshot", included: true, why: "RDS snapshot, keep 3" },
      { step: "migrate", included: true, why: "one-off task: npm run migrate" },
      { step: "release", included: true, why: "new task definition revision with the digest, UpdateService" },
      {
        step: "gates",
        included: true,
        why: "rollout COMPLETED, targets, health + version, alarms; bake 5 s",
      },
    ],
    stack: { changeSummary: summary, changes, diffText: "(engine text, not rendered)" },
    image: {
      tag: "v1.2.0",
      digest: DIGEST,
      imageUri: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@${DIGEST}`,
    },
    taskDefinitions: [
      {
        service: "gantry-dev-api",
        from: {
          tag: "v1.1.0",
          taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/gantry-dev-api:7",
          image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:00",
        },
        to: { tag: "v1.2.0", image: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@${DIGEST}` },
      },
    ],
    migrations: { runs: true, command: ["npm", "run", "migrate"] },
    snapshot: { taken: true, retention: 3 },
    warnings: [],
    ...overrides,
  };
}

describe("renderPreviewMarkdown", () => {
  it("GIVEN a small diff with a hostile value WHEN rendered THEN it matches the golden and the layout holds", () => {
    const md = renderPreviewMarkdown(
      preview([
        resource("update", "aws:ecs/service:Service", "api", [
          { path: "desiredCount", kind: "update", old: 2, new: 3 },
          { path: "tags.note", kind: "update", old: "plain", new: "</details> ``` `x` | <b>bold</b> @team" },
          { path: "password", kind: "update", old: SECRET_VALUE, new: SECRET_VALUE },
        ]),
        resource("create", "aws:cloudwatch/metricAlarm:MetricAlarm", "api-cpu", [
          { path: "alarmName", kind: "add", new: "gantry-dev-api-cpu" },
          { path: "alarmActions", kind: "add", new: UNKNOWN_VALUE },
        ]),
      ]),
      { runUrl: "https://github.com/acme/shop/actions/runs/42", sha: "0123456789abcdef0123" },
    );
    expectGolden("small-diff.md", md);
    // The hostile value stays inside its code fence: one <details> per resource, all closed.
    expect(md.match(/^<details>/gm)).toHaveLength(2);
    expect(md.match(/^<\/details>$/gm)).toHaveLength(2);
    expect(md).toContain("~ desiredCount: 2 → 3");
    expect(md).toContain("~ password: [secret] → [secret]");
    expect(md).toContain("+ alarmActions: [known after apply]");
    expect(md).toContain("| **Infrastructure** | 1 to create · 1 to update · 0 to replace · 0 to delete |");
  });

  it("GIVEN a replacement WHEN rendered THEN the golden shows the reasons and the forcing properties", () => {
    const md = renderPreviewMarkdown(
      preview([
        resource(
          "replace",
          "aws:rds/instance:Instance",
          "gantry-dev-db",
          [
            { path: "engineVersion", kind: "update-replace", old: "15", new: "16" },
            { path: "allocatedStorage", kind: "update", old: 20, new: 50 },
          ],
          ["engineVersion"],
        ),
      ]),
    );
    expectGolden("replace.md", md);
    expect(md).toContain("Replaced because of: `engineVersion`");
    expect(md).toContain('~ engineVersion: "15" → "16"  (forces replacement)');
  });

  it("GIVEN a delete, a tag not in ECR and no migration WHEN rendered THEN the golden warns and lists the deleted properties", () => {
    const md = renderPreviewMarkdown(
      preview(
        [
          resource("delete", "aws:cloudwatch/metricAlarm:MetricAlarm", "gantry-dev-old", [
            { path: "alarmName", kind: "delete", old: "gantry-dev-old" },
            { path: "threshold", kind: "delete", old: 80 },
          ]),
        ],
        {
          tag: "v9.9.9",
          image: null,
          taskDefinitions: [
            {
              service: "gantry-dev-api",
              from: null,
              to: { tag: "v9.9.9", image: null },
            },
          ],
          migrations: { runs: false, command: null },
          snapshot: { taken: false, retention: 3 },
          planFile: "/work/plans/dev.json",
          warnings: ["image app:v9.9.9 is not in ECR: a deploy of it would stop in preflight"],
        },
      ),
    );
    expectGolden("delete.md", md);
    expect(md).toContain("> [!WARNING]");
    expect(md).toContain("**Delete** (1)");
    expect(md).toContain("- threshold: 80");
  });

  it("GIVEN 200 changed resources over the limit WHEN rendered THEN at most the limit, summary first, and a truncation note", () => {
    const changes = Array.from({ length: 200 }, (_, i) =>
      resource(
        (["update", "create", "delete", "replace"] as const)[i % 4] ?? "update",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        `rule-${String(i).padStart(3, "0")}`,
        Array.from({ length: 4 }, (_v, j) => ({
          path: `props.p${String(j)}`,
          kind: "update" as const,
          old: `old-value-${"x".repeat(40)}-${String(i)}-${String(j)}`,
          new: `new-value-${"y".repeat(40)}-${String(i)}-${String(j)}`,
        })),
      ),
    );
    const md = renderPreviewMarkdown(preview(changes));
    expectGolden("large.md", md);
    expect(PREVIEW_MARKDOWN_MAX_CHARS).toBe(COMMENT_MAX_CHARS - STICKY_MARKER_MAX_CHARS);
    expect(md.length).toBeLessThanOrEqual(PREVIEW_MARKDOWN_MAX_CHARS);
    expect(md.length).toBeGreaterThan(PREVIEW_MARKDOWN_MAX_CHARS - 2000);
    const shown = md.match(/^<details>/gm)?.length ?? 0;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(200);
    expect(md).toContain(
      `> ${String(200 - shown)} more resources not shown (size limit) — see the job summary / \`gantry preview --env dev\` output`,
    );
    expect(
      md.indexOf("| **Infrastructure** | 50 to create · 50 to update · 50 to replace · 50 to delete |"),
    ).toBeLessThan(md.indexOf("<details>"));
    expect(md.match(/^<details>/gm)).toHaveLength(md.match(/^<\/details>$/gm)?.length ?? -1);
  });

  it("GIVEN the same changes in another order WHEN rendered THEN the same text (deterministic)", () => {
    const changes = [
      resource("update", "t:a:B", "b", [{ path: "x", kind: "update", old: 1, new: 2 }]),
      resource("delete", "t:a:B", "a", [{ path: "x", kind: "delete", old: 1 }]),
      resource("update", "t:a:A", "z", [{ path: "y", kind: "update", old: 1, new: 2 }]),
      resource("create", "t:a:B", "c", [{ path: "x", kind: "add", new: 1 }]),
    ];
    const once = renderPreviewMarkdown(preview(changes));
    expect(renderPreviewMarkdown(preview([...changes].reverse()))).toBe(once);
    // Destructive first, then by type and name.
    const order = [...once.matchAll(/<code>([a-z])<\/code>/g)].map((m) => m[1]);
    expect(order).toEqual(["a", "z", "b", "c"]);
  });

  it.each([500, 1500, 4000])(
    "GIVEN a limit of %i characters WHEN rendered THEN never longer, whatever has to go",
    (limit) => {
      const changes = Array.from({ length: 30 }, (_, i) =>
        resource("update", "t:a:B", `r${String(i)}`, [
          { path: "x", kind: "update", old: "a".repeat(50), new: "b" },
        ]),
      );
      expect(renderPreviewMarkdown(preview(changes), { maxChars: limit }).length).toBeLessThanOrEqual(limit);
    },
  );
});

describe("escaping", () => {
  it.each([
    ["a`b", "``a`b``"],
    ["`edge`", "`` `edge` ``"],
    ["x | y", "`x \\| y`"],
  ])("GIVEN %j WHEN put in a table cell code span THEN %j", (text, expected) => {
    expect(inlineCode(text, { table: true })).toBe(expected);
  });

  it("GIVEN text with markdown, HTML and a mention WHEN escaped THEN none of them is live", () => {
    expect(escapeMarkdown("*x* <img> [l](u) | @team\nnext")).toBe(
      "\\*x\\* &lt;img&gt; \\[l\\](u) \\| \\@team next",
    );
  });
});
