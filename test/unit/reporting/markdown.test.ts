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
import { SECRET_VALUE, UNKNOWN_VALUE } from "../../../src/pulumi/diff.ts";
import {
  escapeHtml,
  escapeMarkdown,
  inlineCode,
  PREVIEW_MARKDOWN_MAX_CHARS,
  renderPreviewMarkdown,
} from "../../../src/reporting/markdown.ts";
import { preview, resource } from "../github/fixtures.ts";

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), "golden");

function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, actual);
  expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 once`).toBe(true);
  expect(actual).toBe(readFileSync(file, "utf8"));
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

  it("GIVEN hostile resource names, types, replace reasons, plan reasons and warnings WHEN rendered THEN every <details> holds and no value becomes markup", () => {
    const hostile = "x</details>\n\n<script>alert(1)</script> `tick` | pipe **bold** [l](u)";
    const md = renderPreviewMarkdown(
      preview(
        [
          resource(
            "replace",
            `aws:ec2/${hostile}:T`,
            `db${hostile}`,
            [{ path: "engineVersion", kind: "update-replace", old: "15", new: "16" }],
            [`engine${hostile}`],
          ),
          resource("update", "aws:ecs/service:Service", `api\r\n\r\n${hostile}`, [
            { path: "desiredCount", kind: "update", old: 2, new: 3 },
          ]),
        ],
        {
          warnings: [`warn ${hostile}\n\n# not a heading`],
          plan: [{ step: `release${hostile}`, included: true, why: `because ${hostile}` }],
        },
      ),
    );
    const lines = md.split("\n");
    // Each resource is one <details> whose <summary> stays on its line (a blank line inside would end
    // GitHub's HTML block); only gantry's own tags start a line (a value's is in a code span or escaped).
    expect(lines.filter((l) => /^<details><summary>.*<\/summary>$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("<details>"))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("</details>"))).toEqual(["</details>", "</details>"]);
    // A raw tag only where it is code: in the replace reasons' code span.
    for (const l of lines.filter((x) => x.includes("<script>")))
      expect(l).toMatch(/^Replaced because of: ``[^`]/);
    expect(md).not.toMatch(/^# not a heading/m);
    // The plan row stays one row of three cells: every pipe inside a value is escaped.
    const row = lines.find((l) => l.startsWith("| release"));
    expect(row?.replace(/\\\|/g, "").match(/\|/g)).toHaveLength(4);
    expect(row).toContain("\\*\\*bold\\*\\* \\[l\\](u)");
    // The warning is one blockquote line.
    expect(lines.filter((l) => l.startsWith("> warn"))).toHaveLength(1);
    expect(md).toContain("Replaced because of: ``engine");
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

  it("GIVEN a delete, a tag not found and no migration WHEN rendered THEN the golden warns and lists the deleted properties", () => {
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
              imageName: "app",
              from: null,
              to: { tag: "v9.9.9", digest: null, image: null },
            },
          ],
          migrations: { runs: false, command: null },
          snapshot: { taken: false, retention: 3 },
          planFile: "/work/plans/dev.json",
          warnings: ["api: image app:v9.9.9 not found: a deploy would stop in preflight"],
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

  it("GIVEN text with line breaks and tags WHEN escaped for HTML THEN one line, no tag", () => {
    expect(escapeHtml("a\r\n\r\nb</summary>\n'q\" & c")).toBe("a  b&lt;/summary&gt; &#39;q&quot; &amp; c");
  });

  it("GIVEN text with markdown, HTML and a mention WHEN escaped THEN none of them is live", () => {
    expect(escapeMarkdown("*x* <img> [l](u) | @team\nnext")).toBe(
      "\\*x\\* &lt;img&gt; \\[l\\](u) \\| \\@team next",
    );
  });
});
