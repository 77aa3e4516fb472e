import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cruise, format, type ICruiseOptions, type ICruiseResult, type IViolation } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import { beforeAll, describe, expect, it } from "vitest";

// The architecture rules of .dependency-cruiser.js (run by `npm run lint:arch` in `npm test`),
// checked against the small trees under test/fixtures/architecture/: each holds a src/ with one
// forbidden arrow, or none (clean/, which draws every allowed arrow once).

const ROOT = path.resolve(import.meta.dirname, "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/architecture");

let options: ICruiseOptions;

beforeAll(async () => {
  options = await extractDepcruiseOptions(path.join(ROOT, ".dependency-cruiser.js"));
});

/** Cruises `<baseDir>/src` with the project's rules, the way `depcruise src` does from the root. */
async function cruiseSrc(baseDir: string, extra: ICruiseOptions = {}): Promise<ICruiseResult> {
  const reported = await cruise(["src"], { ...options, ...extra, baseDir });
  if (typeof reported.output === "string") throw new Error("expected a cruise result, got formatted output");
  return reported.output;
}

/** The violations that fail the run. */
function failing(result: ICruiseResult): { rule: string; from: string; to: string; cycle?: string[] }[] {
  return result.summary.violations
    .filter((v: IViolation) => v.rule.severity === "error")
    .map((v: IViolation) => ({
      rule: v.rule.name,
      from: v.from,
      to: v.to,
      ...(v.cycle ? { cycle: v.cycle.map((m) => m.name) } : {}),
    }));
}

describe("architecture rules (.dependency-cruiser.js)", () => {
  it("GIVEN a tree that draws every allowed arrow WHEN cruised THEN no rule fires and every arrow was seen", async () => {
    const result = await cruiseSrc(path.join(FIXTURES, "clean"));

    expect(failing(result)).toEqual([]);
    // The `.ts` specifiers resolve (otherwise the rules would see no arrow to judge): all 11 files
    // are cruised, and cli → app → steps → orchestrator is there, type-only imports included.
    expect(result.summary.totalCruised).toBe(11);
    const deps = (source: string): string[] =>
      (result.modules.find((m) => m.source === source)?.dependencies ?? []).map((d) => d.resolved);
    expect(deps("src/cli/index.ts")).toContain("src/app/deploy.ts");
    expect(deps("src/app/deploy.ts")).toContain("src/steps/release.ts");
    expect(deps("src/steps/release.ts")).toEqual(
      expect.arrayContaining(["src/orchestrator/runner.ts", "src/stacks/outputs.ts"]),
    );
  });

  describe.each([
    ["orchestrator-imports-aws", "orchestrator-is-generic", "src/orchestrator/x.ts", "src/aws/y.ts"],
    ["reporting-imports-steps", "reporting-is-a-host", "src/reporting/x.ts", "src/steps/y.ts"],
    ["cli-imports-steps", "layering-cli-through-app", "src/cli/x.ts", "src/steps/y.ts"],
    ["app-imports-cli", "layering-app-not-cli", "src/app/x.ts", "src/cli/y.ts"],
    ["steps-imports-app", "layering-steps-not-app-or-cli", "src/steps/x.ts", "src/app/y.ts"],
    ["stacks-imports-orchestrator", "stacks-are-resources", "src/stacks/x.ts", "src/orchestrator/y.ts"],
    ["checks-imports-steps", "checks-are-pure-ish", "src/checks/x.ts", "src/steps/y.ts"],
    ["steps-imports-adapter", "steps-through-ports", "src/steps/x.ts", "src/aws/ecs.ts"],
  ])("GIVEN the fixture %s", (fixture, rule, from, to) => {
    it(`WHEN cruised THEN exactly ${rule} fires, naming ${from} → ${to}`, async () => {
      const result = await cruiseSrc(path.join(FIXTURES, fixture));

      expect(failing(result)).toEqual([{ rule, from, to }]);
      expect(result.summary.error).toBe(1);
    });
  });

  it("GIVEN a type-only import of a forbidden layer WHEN cruised THEN it counts like any other import", async () => {
    const result = await cruiseSrc(path.join(FIXTURES, "reporting-imports-steps"));

    expect(result.summary.violations.map((v) => v.dependencyTypes)).toEqual([
      expect.arrayContaining(["type-only"]),
    ]);
  });

  it("GIVEN two steps importing each other WHEN cruised THEN no-cycles fires once, naming the cycle", async () => {
    const result = await cruiseSrc(path.join(FIXTURES, "cycle"));

    expect(failing(result)).toEqual([
      {
        rule: "no-cycles",
        from: "src/steps/a.ts",
        to: "src/steps/b.ts",
        cycle: ["src/steps/b.ts", "src/steps/a.ts"],
      },
    ]);
  });

  it("GIVEN a violation WHEN reported as `npm run lint:arch` does (err output) THEN the line names the rule and both files", async () => {
    const result = await cruiseSrc(path.join(FIXTURES, "orchestrator-imports-aws"));

    const report = await format(result, { outputType: "err" });

    expect(report.output).toContain("error orchestrator-is-generic: src/orchestrator/x.ts → src/aws/y.ts");
    expect(report.exitCode).toBe(1);
  });

  it("GIVEN an import of a file that does not exist WHEN cruised THEN resolvable fires (no arrow escapes the rules unseen)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-arch-"));
    try {
      await mkdir(path.join(dir, "src/orchestrator"), { recursive: true });
      await writeFile(path.join(dir, "src/orchestrator/x.ts"), 'export { y } from "../aws/gone.ts";\n');

      const result = await cruiseSrc(dir);

      expect(failing(result)).toEqual([
        { rule: "resolvable", from: "src/orchestrator/x.ts", to: "../aws/gone.ts" },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("GIVEN the real src/ WHEN cruised THEN no violation at all and every file was seen", async () => {
    const result = await cruiseSrc(ROOT);

    expect(failing(result)).toEqual([]);
    const sources = (await readdir(path.join(ROOT, "src"), { recursive: true }))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `src/${f.split(path.sep).join("/")}`)
      .sort();
    expect(
      result.modules
        .map((m) => m.source)
        .filter((s) => s.startsWith("src/"))
        .sort(),
    ).toEqual(sources);
  });
});
