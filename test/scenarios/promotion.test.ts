/**
 * The promotion chain on the sandbox through the real CLI: environments `stg` and `prd` on the
 * sandbox account (their own Pulumi.<env>.yaml, stacks, ledgers and locks), one service `web` from
 * the ECR repository `promo-web`; prd has `gantry:promotion: { from: stg }`. Each scenario checks
 * the exit code, the record, and the ground truth in the sandbox: what each ECS service runs.
 */
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { containerDigest } from "../../src/aws/taskDefinition.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import type { DeploymentRecord } from "../../src/steps/record.ts";
import { type CliRun, runGantry, runGantryInTerminal } from "../helpers/cli.ts";
import { workerSandbox } from "../helpers/sandbox.ts";

const { endpoint, dir: sandboxDir } = workerSandbox();
const REPOSITORY = "promo-web";

let stateDir: string;
let configDir: string;

const cliEnv = (): NodeJS.ProcessEnv => ({
  GANTRY_SANDBOX_DIR: stateDir,
  GANTRY_CONFIG_DIR: configDir,
  GANTRY_STATE_DIR: path.join(stateDir, "gantry"),
  USER: "promotion-scenario",
});

function gantry(...args: string[]): Promise<CliRun> {
  return runGantry(cliEnv(), ...args);
}

/** Pulumi.<env>.yaml of a one-service environment on the sandbox account. */
async function configure(env: string, extra: Record<string, unknown> = {}): Promise<void> {
  const config = {
    "aws:region": "us-east-1",
    "gantry:account": "sandbox",
    "platform:services": [
      { name: "web", image: REPOSITORY, containerPort: 3000, desiredCount: 1, healthCheckPath: "/health" },
    ],
    "gantry:bakeSeconds": 1,
    "gantry:deployTimeoutSeconds": 120,
    ...extra,
  };
  await writeFile(path.join(configDir, `Pulumi.${env}.yaml`), stringify({ config }));
}

/** The final record a `--json` run printed last (empty when none was printed). */
function recordOf(run: CliRun): DeploymentRecord {
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line.startsWith("{") ? line : "{}") as DeploymentRecord;
}

describe("promotion stg → prd on the sandbox", () => {
  let aws: AwsClients;
  let ecs: EcsAdapter;
  const control = new SandboxControl(endpoint);
  const suffix = Math.random().toString(36).slice(2, 6);
  const [v1, v2, v3] = ["p1", "p2", "p3"].map((t) => `${t}-${suffix}`) as [string, string, string];
  const digests = new Map<string, string>();

  /** Ground truth: the digest the env's web runs (undefined: no such service yet). */
  async function servedDigest(env: string): Promise<string | undefined> {
    const s = await ecs.describeService(`gantry-${env}`, "web").catch(() => undefined);
    if (!s) return undefined;
    expect(s.deployments.map((d) => [d.status, d.rolloutState])).toEqual([["PRIMARY", "COMPLETED"]]);
    return containerDigest(await ecs.describeTaskDefinition(s.taskDefinition), "web");
  }

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-promotion-"));
    configDir = await mkdtemp(path.join(os.tmpdir(), "gantry-promotion-config-"));
    await copyFile(path.join(sandboxDir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
    await configure("stg");
    await configure("prd", { "gantry:promotion": { from: "stg" } });
    aws = createAwsClients({ region: "us-east-1", endpoint });
    ecs = new EcsAdapter(aws.ecs);
    await control.setSpeeds({ rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 });
    for (const p of await control.publishImages(REPOSITORY, [v1, v2, v3])) digests.set(p.tag, p.digest);
    const first = await gantry("deploy", "--env", "stg", "--tag", v1);
    expect(first.code, first.stderr).toBe(0);
  });

  afterAll(async () => {
    const destroyed = await Promise.all(
      ["stg", "prd"].map((env) => gantry("stack", "destroy", "--env", env)),
    );
    aws.destroy();
    await rm(stateDir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
    for (const run of destroyed) expect(run.code, run.stderr).toBe(0);
  }, 180_000);

  it("GIVEN v2 never deployed to stg WHEN deployed to prd THEN exit 1 PROMOTION_REFUSED naming it and the promote command, nothing created in prd", async () => {
    const run = await gantry("deploy", "--env", "prd", "--tag", v2);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `promotion from stg refused: web: ${v2} (${digests.get(v2)?.slice(0, 19) ?? "?"}) never succeeded in stg`,
    );
    expect(run.stderr).toContain("gantry promote --from stg --to prd");
    expect(await servedDigest("prd")).toBeUndefined();
  });

  it("GIVEN stg serves v1, healthy WHEN promoted to prd THEN exit 0, prd runs exactly stg's digest, the record names the source", async () => {
    const run = await gantry("promote", "--from", "stg", "--to", "prd", "--json");
    expect(run.code, run.stderr).toBe(0);
    const record = recordOf(run);
    const stgHistory = JSON.parse(
      (await gantry("history", "--env", "stg", "--json")).stdout,
    ) as DeploymentRecord[];
    expect(record.promotedFrom).toEqual({ env: "stg", deploymentId: stgHistory[0]?.id });
    expect(record.services?.map((s) => [s.name, s.tag, s.digest])).toEqual([["web", v1, digests.get(v1)]]);
    expect(await servedDigest("prd")).toBe(digests.get(v1));
    expect(await servedDigest("stg")).toBe(digests.get(v1));
  });

  it("GIVEN v2 succeeded in stg but stg now serves v3 WHEN v2 is deployed to prd THEN exit 1 saying what stg serves; prd unchanged", async () => {
    expect((await gantry("deploy", "--env", "stg", "--tag", v2)).code).toBe(0);
    expect((await gantry("deploy", "--env", "stg", "--tag", v3)).code).toBe(0);
    const run = await gantry("deploy", "--env", "prd", "--tag", v2);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`web: stg serves ${v3} (${digests.get(v3)?.slice(0, 19) ?? "?"}), not`);
    expect(await servedDigest("prd")).toBe(digests.get(v1));
  });

  it("GIVEN a 60-minute soak WHEN v3, just deployed to stg, is deployed to prd THEN exit 1 naming the soak; prd unchanged", async () => {
    await configure("prd", { "gantry:promotion": { from: "stg", minSoakMinutes: 60 } });
    try {
      const run = await gantry("deploy", "--env", "prd", "--tag", v3);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(
        /web: sha256:\w{12} has served in stg for 0 min, less than 60 \(gantry:promotion\.minSoakMinutes\)/,
      );
      expect(await servedDigest("prd")).toBe(digests.get(v1));
    } finally {
      await configure("prd", { "gantry:promotion": { from: "stg" } });
    }
  });

  it("GIVEN an emergency WHEN v2 (not what stg serves) is deployed to prd with a reason THEN exit 0, the check skipped with a warning, the emergency recorded", async () => {
    expect((await gantry("deploy", "--env", "prd", "--tag", v2, "--emergency")).code).toBe(2);
    const run = await gantry(
      "deploy",
      "--env",
      "prd",
      "--tag",
      v2,
      "--emergency",
      "--reason",
      "hotfix",
      "--json",
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      "emergency deploy: the promotion check (from stg) and the smoke gate are skipped — hotfix",
    );
    expect(recordOf(run)).toMatchObject({ emergency: { reason: "hotfix" }, reason: "hotfix" });
    expect(await servedDigest("prd")).toBe(digests.get(v2));
  });

  it("GIVEN prd promoted from stg WHEN promoted from itself or from another environment THEN usage errors (exit 2); from one serving nothing THEN exit 1; nothing changed", async () => {
    expect((await gantry("promote", "--from", "prd", "--to", "prd")).code).toBe(2);
    await configure("dev");
    const run = await gantry("promote", "--from", "dev", "--to", "prd");
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /prd is promoted from stg \(gantry:promotion\.from in \S*Pulumi\.prd\.yaml\), not dev/,
    );
    expect(await servedDigest("prd")).toBe(digests.get(v2));
    // Nothing to promote: dev serves nothing (exit 1, what the source runs, not a usage error).
    const empty = await gantry("promote", "--from", "dev", "--to", "stg");
    expect(empty.code, empty.stderr).toBe(1);
    expect(empty.stderr).toContain("dev serves no digest for web");
  });

  it("GIVEN prd requires an approval WHEN promoted at a terminal THEN the wrong name is refused (exit 1, nothing changed) and the right one approves, recorded", async () => {
    await configure("prd", { "gantry:promotion": { from: "stg" }, "gantry:approvalRequired": true });
    const before = await servedDigest("prd");
    const wrong = await runGantryInTerminal(cliEnv(), "prod\n", "promote", "--from", "stg", "--to", "prd");
    expect(wrong.code, wrong.stdout).toBe(1);
    expect(wrong.stdout).toContain("needs an approval: type the environment's name (prd) to go on:");
    expect(wrong.stdout).toContain('not approved: typed "prod", not "prd"; nothing changed');
    expect(await servedDigest("prd")).toBe(before);

    const right = await runGantryInTerminal(cliEnv(), "prd\n", "promote", "--from", "stg", "--to", "prd");
    expect(right.code, right.stdout).toBe(0);
    const [last] = JSON.parse(
      (await gantry("history", "--env", "prd", "--limit", "1", "--json")).stdout,
    ) as DeploymentRecord[];
    expect(last?.approval).toEqual({ by: "promotion-scenario", how: "terminal" });
    expect(await servedDigest("prd")).toBe(digests.get(v3));
  });

  it("GIVEN prd requires an approval WHEN rolled back where nobody can be asked THEN refused naming --approved-by; with it THEN done and recorded", async () => {
    const refused = await gantry("rollback", "--env", "prd");
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain("--approved-by NAME");
    const run = await gantry("rollback", "--env", "prd", "--approved-by", "carol", "--json");
    expect(run.code, run.stderr).toBe(0);
    expect(recordOf(run).approval).toEqual({ by: "carol", how: "approved-by" });
  });

  it("GIVEN stg, prd and an undeployed dev WHEN status is asked without --env THEN every environment × service: tag, digest, who deployed, the lock", async () => {
    const run = await gantry("status", "--json");
    expect(run.code, run.stderr).toBe(0);
    const all = JSON.parse(run.stdout) as {
      env: string;
      stack: string;
      services: { service: string; image: string | null }[];
      lastDeployment: { actor: string } | null;
      lock: unknown;
    }[];
    expect(all.map((e) => [e.env, e.stack])).toEqual([
      ["dev", "not created"],
      ["prd", "up"],
      ["stg", "up"],
    ]);
    const prd = all.find((e) => e.env === "prd");
    expect(prd?.services.map((v) => [v.service, v.image?.split("@")[1]])).toEqual([
      ["web", await servedDigest("prd")],
    ]);
    expect(prd?.lastDeployment?.actor).toBe("promotion-scenario");
    expect(prd?.lock).toBeNull();
    const table = await gantry("status");
    expect(table.stdout).toMatch(/^ENV +SERVICE +TAG +DIGEST +ROLLOUT +HEALTH +DEPLOYED +BY +LOCK$/m);
    expect(table.stdout).toMatch(
      /^stg +web +p3-\w+ +sha256:\w{12} +COMPLETED +HTTP 200 +\S+ succeeded +promotion-scenario +free$/m,
    );
  });
});
