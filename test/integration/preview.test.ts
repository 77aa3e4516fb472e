/**
 * `gantry preview` and `gantry deploy --plan` against the sandbox: a real preview of the sandbox
 * stack through the Automation API rendered to markdown end to end; a plan saved by
 * `gantry preview --save-plan` applied by `gantry deploy --plan`; and a plan that no longer
 * matches (config changed after it was saved) refused with PLAN_MISMATCH, nothing changed.
 * Own Pulumi state (GANTRY_SANDBOX_DIR) and config folders (GANTRY_CONFIG_DIR), the suite's sandbox.
 */
import { runtimePaths } from "../../src/config/runtime.ts";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { AwsClientFactory } from "../../src/aws/factory.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { PulumiError } from "../../src/errors.ts";
import type { DeploymentRecord } from "../../src/steps/record.ts";
import { renderPreviewMarkdown } from "../../src/reporting/markdown.ts";
import { SecretMasker } from "../../src/reporting/mask.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import { planDeploy } from "../../src/steps/plan.ts";
import { previewDeploy } from "../../src/steps/preview.ts";
import { wireEnvironment, type WiredEnvironment } from "../../src/app/environment.ts";
import { projectRoot } from "../../src/tools/paths.ts";
import { type CliRun, runGantry } from "../helpers/cli.ts";
import { publishSandboxImages } from "../helpers/scenario.ts";
import { DEFAULT_TOKEN, startGitHubApiServer } from "../helpers/github-api-server.ts";

const endpoint = workerSandbox().endpoint;
const quiet = { emit: () => undefined };

describe("gantry preview and deploy --plan on the sandbox", () => {
  let stateDir: string;
  /** Config folders: `a` = the committed Pulumi.sandbox.yaml, `b` = the same with api's desiredCount 2 → 3. */
  let configA: string;
  let configB: string;
  let aws: AwsClients;
  /** The clients of the environments wired here, as src/main.ts builds them. */
  const clients = new AwsClientFactory();
  const tag = `pv-${Math.random().toString(36).slice(2, 8)}`;

  function gantry(configDir: string, ...args: string[]): Promise<CliRun> {
    return runGantry(
      { GANTRY_SANDBOX_DIR: stateDir, GANTRY_CONFIG_DIR: configDir, USER: "preview-test" },
      ...args,
    );
  }

  function wire(configDir: string): Promise<WiredEnvironment> {
    return wireEnvironment(
      {
        paths: runtimePaths({ GANTRY_SANDBOX_DIR: stateDir, GANTRY_CONFIG_DIR: configDir }),
        reporter: quiet,
        aws: clients,
        masker: new SecretMasker(),
      },
      "sandbox",
    );
  }

  async function apiDesiredCount(): Promise<number | undefined> {
    return (await new EcsAdapter(aws.ecs).describeService("gantry-sandbox", "api"))?.desiredCount;
  }

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-preview-"));
    await copyFile(path.join(workerSandbox().dir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
    const committed = await readFile(path.join(projectRoot, "Pulumi.sandbox.yaml"), "utf8");
    expect(committed).toMatch(/desiredCount: 2\n/);
    configA = path.join(stateDir, "config-a");
    configB = path.join(stateDir, "config-b");
    await mkdir(configA);
    await mkdir(configB);
    await writeFile(path.join(configA, "Pulumi.sandbox.yaml"), committed);
    await writeFile(
      path.join(configB, "Pulumi.sandbox.yaml"),
      committed.replace("desiredCount: 2\n", "desiredCount: 3\n"),
    );
    aws = createAwsClients({ region: "us-east-1", endpoint });
    await publishSandboxImages(new SandboxControl(endpoint), [tag]);
  });

  afterAll(async () => {
    // The suite shares one sandbox: leave no services behind for the next file.
    const destroyed = await gantry(configA, "stack", "destroy", "--env", "sandbox");
    aws.destroy();
    clients.destroy();
    await rm(stateDir, { recursive: true, force: true });
    expect(destroyed.code, destroyed.stderr).toBe(0);
  }, 120_000);

  it("GIVEN no stack yet WHEN gantry preview --save-plan F, then gantry deploy --plan F THEN the previewed creates are applied and the deploy succeeds", async () => {
    const planFile = path.join(stateDir, "plans", "create.json");
    const preview = await gantry(
      configA,
      "preview",
      "--env",
      "sandbox",
      "--tag",
      tag,
      "--save-plan",
      planFile,
      "--json",
    );
    expect(preview.code, preview.stderr).toBe(0);
    const doc = JSON.parse(preview.stdout) as {
      markdown: string;
      planFile: string;
      changeSummary: Record<string, number>;
    };
    expect(doc.planFile).toBe(planFile);
    expect(doc.changeSummary.create).toBeGreaterThan(0);
    expect(doc.markdown).toContain("**Create**");
    expect(doc.markdown).toMatch(
      new RegExp(`\\| \\*\\*Image\\*\\* \\| \`${tag}\` → \`sha256:[0-9a-f]{64}\` \\|`),
    );
    expect(JSON.parse(await readFile(planFile, "utf8"))).toHaveProperty("resourcePlans");

    const dry = await gantry(
      configA,
      "deploy",
      "--env",
      "sandbox",
      "--tag",
      tag,
      "--plan",
      planFile,
      "--dry-run",
      "--json",
    );
    expect(dry.code, dry.stderr).toBe(0);
    const dryOut = JSON.parse(dry.stdout) as { planFile: string; plan: { step: string; why: string }[] };
    expect(dryOut.planFile).toBe(planFile);
    expect(dryOut.plan.find((p) => p.step === "stack")?.why).toContain(
      `constrained to the saved plan ${planFile}`,
    );

    const deploy = await gantry(
      configA,
      "deploy",
      "--env",
      "sandbox",
      "--tag",
      tag,
      "--plan",
      planFile,
      "--skip-snapshot",
      "--skip-migrations",
      "--json",
    );
    expect(deploy.code, deploy.stderr).toBe(0);
    const record = JSON.parse(deploy.stdout.trim().split("\n").at(-1) ?? "{}") as DeploymentRecord;
    expect(record.status).toBe("succeeded");
    expect(record.steps.find((s) => s.name === "stack")?.status).toBe("succeeded");
    expect(await apiDesiredCount()).toBe(2);
  });

  it("GIVEN the stack WHEN previewed through the Automation API with a changed config THEN the markdown names the property with its old and new value", async () => {
    const wired = await wire(configB);
    const request = {
      env: "sandbox",
      tag: undefined,
      deploymentId: "preview",
      actor: "preview-test",
      host: os.hostname(),
      pid: process.pid,
      startedAt: new Date().toISOString(),
      skipSnapshot: false,
      skipMigrations: false,
    };
    const started = Date.now();
    const preview = await previewDeploy(
      { config: wired.config, ports: wired.ports, stack: wired.stack, request },
      planDeploy({ config: wired.config, request: { ...request, tag: "" } }),
    );
    process.stderr.write(`[preview.test] sandbox preview took ${String(Date.now() - started)} ms\n`);
    expect(preview.tag).toBe(tag);
    expect(preview.tagSource).toBe("serving");
    expect(preview.stack.changes).toEqual([
      expect.objectContaining({
        op: "update",
        name: "gantry-sandbox-api",
        properties: [{ path: "props.desiredCount", kind: "update", old: 2, new: 3 }],
      }),
    ]);
    const md = renderPreviewMarkdown(preview);
    expect(md).toContain("| **Infrastructure** | 0 to create · 1 to update · 0 to replace · 0 to delete |");
    expect(md).toContain("<b>update</b> <code>gantry-sandbox-api</code>");
    expect(md).toContain("~ props.desiredCount: 2 → 3");
    expect(md).toContain(`| \`api\` | \`${tag}\``);
  });

  it("GIVEN a plan saved with one config WHEN the config changed before deploy --plan THEN refused with PLAN_MISMATCH and a hint, nothing changed", async () => {
    const planFile = path.join(stateDir, "plans", "scale-api.json");
    const saved = await gantry(configB, "preview", "--env", "sandbox", "--tag", tag, "--save-plan", planFile);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toContain("~ props.desiredCount: 2 → 3");

    // The Automation API adapter classifies the engine's refusal.
    const wired = await wire(configA);
    const refused = await wired.stack.up({ plan: planFile }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(PulumiError);
    expect(refused).toMatchObject({ code: "PLAN_MISMATCH", source: "user" });
    expect((refused as PulumiError).message).toMatch(
      /no longer matches stack sandbox.*properties changed: platform:services/,
    );
    expect((refused as PulumiError).hint).toBe(
      `re-run gantry preview --env sandbox --save-plan ${planFile}, review it, and deploy with the new plan`,
    );

    // And the CLI: exit 1 (nothing changed), the reason and the hint on stderr.
    const dry = await gantry(
      configA,
      "deploy",
      "--env",
      "sandbox",
      "--tag",
      tag,
      "--plan",
      planFile,
      "--dry-run",
      "--json",
    );
    expect(dry.code, dry.stderr).toBe(0);
    const dryOut = JSON.parse(dry.stdout) as { planFile: string; plan: { step: string; why: string }[] };
    expect(dryOut.planFile).toBe(planFile);
    expect(dryOut.plan.find((p) => p.step === "stack")?.why).toContain(
      `constrained to the saved plan ${planFile}`,
    );

    const deploy = await gantry(
      configA,
      "deploy",
      "--env",
      "sandbox",
      "--tag",
      tag,
      "--plan",
      planFile,
      "--json",
    );
    expect(deploy.code, deploy.stderr).toBe(1);
    expect(deploy.stderr).toMatch(/the saved plan .*scale-api\.json no longer matches stack sandbox/);
    expect(deploy.stderr).toMatch(/hint: re-run gantry preview --env sandbox --save-plan /);
    const record = JSON.parse(deploy.stdout.trim().split("\n").at(-1) ?? "{}") as DeploymentRecord;
    expect(record.status).toBe("failed");
    expect(record.steps.find((s) => s.name === "stack")?.status).toBe("failed");
    expect(record.steps.some((s) => s.name === "release")).toBe(false);

    // Nothing changed: ECS as before, and the stack still matches the committed config exactly.
    expect(await apiDesiredCount()).toBe(2);
    const check = await wire(configA);
    const after = await check.stack.preview();
    expect(after.changes.filter((c) => c.op !== "same")).toEqual([]);
  });
  it("GIVEN a pull request run in GitHub Actions WHEN gantry preview --comment runs twice THEN one sticky comment with the diff, and the job summary has it", async () => {
    const github = await startGitHubApiServer();
    try {
      const event = path.join(stateDir, "event.json");
      const summary = path.join(stateDir, "step-summary.md");
      await writeFile(event, JSON.stringify({ pull_request: { number: 17 } }));
      const actions = {
        GANTRY_SANDBOX_DIR: stateDir,
        GANTRY_CONFIG_DIR: configB,
        GITHUB_ACTIONS: "true",
        GITHUB_REPOSITORY: "acme/shop",
        GITHUB_API_URL: github.url,
        GITHUB_SERVER_URL: "https://github.example",
        GITHUB_RUN_ID: "99",
        GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
        GITHUB_EVENT_PATH: event,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_TOKEN: DEFAULT_TOKEN,
      };
      for (let i = 0; i < 2; i++) {
        const run = await runGantry(actions, "preview", "--env", "sandbox", "--comment");
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toContain("~ props.desiredCount: 2 → 3");
        expect(run.stdout).not.toContain(DEFAULT_TOKEN);
        // The runner is told the token once at startup (`::add-mask::`, consumed by the runner and never
        // shown); no other line of stderr carries it.
        const stderrLines = run.stderr.split("\n");
        expect(stderrLines).toContain(`::add-mask::${DEFAULT_TOKEN}`);
        expect(stderrLines.filter((l) => !l.startsWith("::add-mask::")).join("\n")).not.toContain(
          DEFAULT_TOKEN,
        );
      }
      expect(github.violations).toEqual([]);
      const comments = github.comments("acme", "shop", 17);
      expect(comments).toHaveLength(1);
      expect(comments[0]?.body).toContain("<!-- gantry:preview:env=sandbox -->");
      expect(comments[0]?.body).toContain("~ props.desiredCount: 2 → 3");
      expect(comments[0]?.body).toContain(
        "[workflow run](<https://github.example/acme/shop/actions/runs/99>)",
      );
      const written = await readFile(summary, "utf8");
      expect(written.split("~ props.desiredCount: 2 → 3")).toHaveLength(3);
    } finally {
      await github.close();
    }
  });
});
