/**
 * Usage errors of `gantry preview --comment` and `gantry deploy --plan`: exit 2 with a hint,
 * refused before anything is wired (no sandbox is started, nothing is read from AWS or Pulumi).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commentPlan } from "../../../src/app/preview.ts";
import type { ActionsContext } from "../../../src/github/context.ts";
import { projectRoot } from "../../../src/tools/paths.ts";

const stateDir = mkdtempSync(path.join(os.tmpdir(), "gantry-preview-usage-"));
afterAll(() => {
  rmSync(stateDir, { recursive: true, force: true });
});

/** The real CLI with Actions variables cleared, then `env` applied. */
function gantry(env: NodeJS.ProcessEnv, ...args: string[]) {
  const cleared = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GITHUB_")));
  const res = spawnSync(process.execPath, [path.join(projectRoot, "bin", "gantry.js"), ...args], {
    encoding: "utf8",
    env: { ...cleared, NO_COLOR: "1", GANTRY_SANDBOX_DIR: stateDir, ...env },
    timeout: 20_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

const actions: ActionsContext = {
  owner: "acme",
  repo: "shop",
  apiUrl: "https://api.github.com",
  serverUrl: "https://github.com",
  runUrl: undefined,
  token: "ghs_exampletoken",
  sha: undefined,
  ref: "refs/pull/7/merge",
  pullRequest: 7,
  summaryFile: undefined,
  outputFile: undefined,
};

describe("gantry preview --comment / deploy --plan usage", () => {
  it.each([
    [
      "--comment outside GitHub Actions",
      {},
      ["preview", "--env", "sandbox", "--comment"],
      /--comment .*GitHub Actions/,
    ],
    [
      "--comment in a run that is not for a PR",
      { GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "acme/shop", GITHUB_TOKEN: "t0ken-value" },
      ["preview", "--env", "sandbox", "--comment"],
      /not for a pull request[\s\S]*hint: .*--pr N/,
    ],
    [
      "--comment without GITHUB_TOKEN",
      { GITHUB_ACTIONS: "true", GITHUB_REPOSITORY: "acme/shop", GITHUB_REF: "refs/pull/3/merge" },
      ["preview", "--env", "sandbox", "--comment"],
      /needs GITHUB_TOKEN[\s\S]*hint: .*pull-requests: write/,
    ],
    [
      "a --plan file that does not exist",
      {},
      ["deploy", "--env", "sandbox", "--tag", "v1", "--plan", path.join(stateDir, "missing.json")],
      /the plan file does not exist[\s\S]*hint: save one first: gantry preview --env sandbox --save-plan /,
    ],
  ])("GIVEN %s WHEN run THEN exit 2 with a hint, and nothing was started", (_what, env, args, message) => {
    const res = gantry(env, ...args);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stdout).toBe("");
    expect(readdirSync(stateDir).filter((f) => f !== "not-a-plan.json")).toEqual([]);
  });

  it("GIVEN a --plan file that is not a Pulumi plan WHEN deploying THEN exit 2 before anything", () => {
    const file = path.join(stateDir, "not-a-plan.json");
    writeFileSync(file, '{"hello": "world"}');
    const res = gantry({}, "deploy", "--env", "sandbox", "--tag", "v1", "--plan", file);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not a Pulumi update plan/);
    expect(existsSync(path.join(stateDir, "sandbox.json"))).toBe(false);
  });

  it("GIVEN deploy --help and preview --help WHEN run THEN --plan, --save-plan, --comment and --pr are documented", () => {
    expect(gantry({}, "deploy", "--help").stdout).toContain("--plan");
    const help = gantry({}, "preview", "--help").stdout;
    for (const flag of ["--env", "--tag", "--comment", "--pr", "--save-plan", "--json"])
      expect(help).toContain(flag);
  });
});

describe("commentPlan", () => {
  it("GIVEN an Actions PR run with a token WHEN --comment THEN it targets that PR (or --pr)", () => {
    expect(commentPlan({ comment: true }, actions)).toMatchObject({
      issueNumber: 7,
      token: "ghs_exampletoken",
    });
    expect(commentPlan({ comment: true, pr: 12 }, actions)?.issueNumber).toBe(12);
  });

  it("GIVEN no --comment WHEN planned THEN nothing to post, even outside Actions", () => {
    expect(commentPlan({ comment: false }, undefined)).toBeUndefined();
  });

  it.each([0, -1, 1.5])("GIVEN --pr %s WHEN planned THEN a usage error", (pr) => {
    expect(() => commentPlan({ comment: true, pr }, actions)).toThrow(/--pr must be a pull request number/);
  });
});
