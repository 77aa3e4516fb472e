/**
 * Several environments on the one sandbox account: `sandbox` (Pulumi.sandbox.yaml as committed)
 * and `qa` (the same file with `gantry:account: sandbox`), each brought up with the real CLI
 * (`gantry stack up`) on the suite's running sandbox. Each gets its own stack, workspace and
 * emulated resources; qa's up leaves sandbox's stack and resources as they were. Own Pulumi state
 * (GANTRY_SANDBOX_DIR), config and state folders; both stacks are destroyed at the end.
 */
import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeServicesCommand } from "@aws-sdk/client-ecs";
import { DescribeTargetGroupsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeDBInstancesCommand } from "@aws-sdk/client-rds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { type AwsClients, createAwsClients } from "../../src/aws/clients.ts";
import type { EnvironmentOutputs } from "../../src/stacks/outputs.ts";
import { projectRoot } from "../../src/tools/paths.ts";
import { type CliRun, runGantry } from "../helpers/cli.ts";

const endpoint = workerSandbox().endpoint;
const ENVS = ["sandbox", "qa"] as const;

describe("two environments on the sandbox account", () => {
  let stateDir: string;
  let configDir: string;
  let aws: AwsClients;
  const outputs = new Map<string, EnvironmentOutputs>();

  function gantry(...args: string[]): Promise<CliRun> {
    return runGantry(
      {
        GANTRY_SANDBOX_DIR: stateDir,
        GANTRY_CONFIG_DIR: configDir,
        GANTRY_STATE_DIR: path.join(stateDir, "gantry"),
        USER: "accounts-test",
      },
      ...args,
    );
  }

  /** `gantry stack <action> --env <env> --json`, exit 0, and its JSON document. */
  async function stackJson<T>(action: string, env: string): Promise<T> {
    const run = await gantry("stack", action, "--env", env, "--json");
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as T;
  }

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-accounts-"));
    // The suite's running sandbox, reused by the CLI through its record.
    await copyFile(path.join(workerSandbox().dir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
    configDir = path.join(stateDir, "config");
    await mkdir(configDir);
    const committed = await readFile(path.join(projectRoot, "Pulumi.sandbox.yaml"), "utf8");
    await writeFile(path.join(configDir, "Pulumi.sandbox.yaml"), committed);
    await writeFile(
      path.join(configDir, "Pulumi.qa.yaml"),
      committed.replace("config:\n", "config:\n  gantry:account: sandbox\n"),
    );
    aws = createAwsClients({ region: "us-east-1", endpoint });
  });

  afterAll(async () => {
    // The suite shares one sandbox: leave no services behind for the next file.
    const destroyed = await Promise.all(ENVS.map((env) => gantry("stack", "destroy", "--env", env)));
    aws.destroy();
    await rm(stateDir, { recursive: true, force: true });
    for (const run of destroyed) expect(run.code, run.stderr).toBe(0);
  }, 240_000);

  it("GIVEN sandbox up WHEN gantry stack up --env qa THEN qa gets its own cluster, services, target groups, alarms and database", async () => {
    for (const env of ENVS) {
      const up = await stackJson<EnvironmentOutputs>("up", env);
      outputs.set(env, up);
      expect(up.clusterName).toBe(`gantry-${env}`);
      expect(up.database.instanceId).toBe(`gantry-${env}-db`);
      expect(up.deployRoleArn).toBe(`arn:aws:iam::123456789012:role/gantry-${env}-deploy`);
    }
    const [sandbox, qa] = ENVS.map((env) => outputs.get(env)!);
    expect(qa!.ecrRepositoryUrl).toBe(sandbox!.ecrRepositoryUrl);

    for (const out of [sandbox!, qa!]) {
      const services = await aws.ecs.send(
        new DescribeServicesCommand({ cluster: out.clusterName, services: ["api", "web"] }),
      );
      expect(services.services?.map((s) => [s.serviceName, s.status])).toEqual([
        ["api", "ACTIVE"],
        ["web", "ACTIVE"],
      ]);
      expect(services.services?.[0]?.taskDefinition).toContain(`task-definition/${out.clusterName}-api:`);
      const groups = await aws.elb.send(
        new DescribeTargetGroupsCommand({ TargetGroupArns: out.services.flatMap((s) => s.targetGroupArns) }),
      );
      expect(groups.TargetGroups?.map((g) => g.TargetGroupName)).toEqual([
        `${out.clusterName}-api-tg`,
        `${out.clusterName}-web-tg`,
      ]);
      const alarms = await aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: out.alarmNames }));
      expect(alarms.MetricAlarms?.map((a) => a.AlarmName).sort()).toEqual(
        [`${out.clusterName}-http-5xx`, `${out.clusterName}-unhealthy-hosts`].sort(),
      );
      const db = await aws.rds.send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: out.database.instanceId }),
      );
      expect(db.DBInstances).toHaveLength(1);
      for (const svc of out.services) {
        const health = await fetch(svc.healthUrl);
        expect(health.status).toBe(200);
      }
    }
    // Nothing physical is shared but the ECR repository.
    const names = (out: EnvironmentOutputs): string[] => [
      out.clusterName,
      out.database.instanceId,
      ...out.alarmNames,
      ...out.services.flatMap((s) => [s.taskDefinitionFamily, s.healthUrl, ...s.targetGroupArns]),
      out.migration.taskDefinitionFamily,
    ];
    expect(names(qa!).filter((n) => names(sandbox!).includes(n))).toEqual([]);
  });

  it("GIVEN both up WHEN sandbox's stack is previewed THEN qa's up changed nothing of it, and each has its own workspace", async () => {
    const preview = await stackJson<{ changeSummary: Record<string, number>; changes: unknown[] }>(
      "preview",
      "sandbox",
    );
    expect(preview.changes).toEqual([]);
    expect(await stackJson<EnvironmentOutputs>("outputs", "sandbox")).toEqual(outputs.get("sandbox"));
    await access(path.join(stateDir, "workspace", "Pulumi.sandbox.yaml"));
    await access(path.join(stateDir, "workspaces", "qa", "Pulumi.qa.yaml"));
  });
});
