/**
 * The sandbox stack through the real Automation API and Pulumi engine, on a file backend in a
 * temporary folder: preview with a diff, up, outputs (EnvironmentOutputs), a config change,
 * destroy. What the stack created is checked through the AWS SDK against the sandbox.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DescribeClustersCommand, DescribeServicesCommand } from "@aws-sdk/client-ecs";
import { DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import { DescribeDBInstancesCommand } from "@aws-sdk/client-rds";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import type { ReportEvent, Reporter } from "../../src/reporting/reporter.ts";
import { environmentOutputsSchema, type EnvironmentOutputs } from "../../src/stacks/outputs.ts";
import { openEnvironment } from "../../src/app/environment.ts";
import type { EnvironmentPaths } from "../../src/config/runtime.ts";
import { projectRoot, toolsDir } from "../../src/tools/paths.ts";

const endpoint = workerSandbox().endpoint;
const sandboxDir = workerSandbox().dir;

class Collect implements Reporter {
  readonly events: ReportEvent[] = [];
  emit(event: ReportEvent): void {
    this.events.push(event);
  }
}

describe("sandbox stack via the Automation API", () => {
  let projectDir: string;
  let paths: EnvironmentPaths;
  let aws: AwsClients;
  let outputs: EnvironmentOutputs;

  beforeAll(async () => {
    // A copy of the project files, so the test never touches the repository's Pulumi.sandbox.yaml.
    projectDir = await mkdtemp(path.join(os.tmpdir(), "gantry-stack-"));
    await copyFile(path.join(projectRoot, "Pulumi.yaml"), path.join(projectDir, "Pulumi.yaml"));
    await copyFile(
      path.join(projectRoot, "Pulumi.sandbox.yaml"),
      path.join(projectDir, "Pulumi.sandbox.yaml"),
    );
    paths = {
      projectDir,
      configDir: projectDir,
      stateDir: path.join(projectDir, ".gantry"),
      toolsDir,
      sandboxDir,
    };
    aws = createAwsClients({ region: "us-east-1", endpoint });
  });

  afterAll(async () => {
    aws.destroy();
    await rm(projectDir, { recursive: true, force: true });
  });

  it("GIVEN a new stack WHEN previewed THEN the engine plans every resource as a create with a diff", async () => {
    const { stack, sandbox } = await openEnvironment({ paths, reporter: new Collect() }, "sandbox");
    expect(sandbox?.endpoint).toBe(endpoint);
    const preview = await stack.preview();
    // network, cluster, 2 repositories (api, web), log group, 2 alarms, db, 2 × (target group, task def, service), migration task def
    expect(preview.changes).toHaveLength(15);
    expect(preview.changeSummary.create).toBeGreaterThanOrEqual(14);
    const types = new Set(preview.changes.map((c) => c.type.split(":").at(-1)));
    expect([...types].sort()).toEqual(
      [
        "alarm",
        "cluster",
        "dbInstance",
        "logGroup",
        "network",
        "repository",
        "service",
        "targetGroup",
        "taskDefinition",
      ].sort(),
    );
    expect(preview.changes.every((c) => c.op === "create")).toBe(true);
    expect(preview.diffText).toMatch(/\+ .*sandbox:service/);
  });

  it("GIVEN the preview WHEN up runs THEN outputs satisfy EnvironmentOutputs and AWS shows the resources", async () => {
    const { stack } = await openEnvironment({ paths, reporter: new Collect() }, "sandbox");
    const res = await stack.up();
    outputs = res.outputs;
    expect(environmentOutputsSchema.safeParse(outputs).success).toBe(true);
    expect(outputs.services.map((s) => s.name)).toEqual(["api", "web"]);
    expect(outputs.clusterName).toBe("gantry-sandbox");

    const services = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: outputs.clusterName, services: ["api", "web"] }),
    );
    expect(services.services?.map((s) => [s.serviceName, s.status, s.desiredCount])).toEqual([
      ["api", "ACTIVE", 2],
      ["web", "ACTIVE", 1],
    ]);
    expect(services.services?.[0]?.taskDefinition).toContain("task-definition/gantry-sandbox-api:");
    // Each service's own repository (Pulumi.sandbox.yaml: api and web); the first one's URL is the output.
    const repos = await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["api", "web"] }));
    expect(repos.repositories?.map((r) => r.repositoryName).sort()).toEqual(["api", "web"]);
    expect(outputs.ecrRepositoryUrl).toBe(
      repos.repositories?.find((r) => r.repositoryName === "api")?.repositoryUri,
    );
    const db = await aws.rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: outputs.database.instanceId }),
    );
    expect(db.DBInstances?.[0]?.Engine).toBe("postgres");
    const alarms = await aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: outputs.alarmNames }));
    expect(alarms.MetricAlarms?.map((a) => a.AlarmName).sort()).toEqual(
      ["gantry-sandbox-http-5xx", "gantry-sandbox-unhealthy-hosts"].sort(),
    );

    const health = await fetch(outputs.services[0]!.healthUrl);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { version: string }).version).toBe("bootstrap");
  });

  it("GIVEN an up-to-date stack WHEN outputs and preview are read THEN they match and nothing changes", async () => {
    const { stack } = await openEnvironment({ paths, reporter: new Collect() }, "sandbox");
    expect(await stack.outputs()).toEqual(outputs);
    const preview = await stack.preview();
    expect(preview.changes.filter((c) => c.op !== "same")).toEqual([]);
  });

  it("GIVEN a changed desiredCount in Pulumi.sandbox.yaml WHEN previewed and updated THEN the diff names it and ECS follows", async () => {
    const file = path.join(projectDir, "Pulumi.sandbox.yaml");
    const text = await readFile(file, "utf8");
    await writeFile(
      file,
      text.replace(/(- name: web\n\s+image: web\n\s+containerPort: 3000\n\s+desiredCount:) 1/, "$1 3"),
    );
    const { stack } = await openEnvironment({ paths, reporter: new Collect() }, "sandbox");
    const preview = await stack.preview();
    const updates = preview.changes.filter((c) => c.op === "update");
    expect(updates.map((c) => c.urn.split("::").at(-1))).toEqual(["gantry-sandbox-web"]);
    // Top-level property that differs, then the property-level diff with its values.
    expect(updates[0]!.diffs).toEqual(["props"]);
    expect(updates[0]!.properties).toEqual([{ path: "props.desiredCount", kind: "update", old: 1, new: 3 }]);
    expect(preview.diffText).toMatch(/desiredCount\s*:\s*1\s*=>\s*3/);
    await stack.up();
    const web = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: outputs.clusterName, services: ["web"] }),
    );
    expect(web.services?.[0]?.desiredCount).toBe(3);
  });

  it("GIVEN an up stack WHEN the sandbox is reset THEN the next up re-creates every resource (new epoch)", async () => {
    await new SandboxControl(endpoint).reset();
    await expect(
      aws.ecs.send(new DescribeServicesCommand({ cluster: outputs.clusterName, services: ["api"] })),
    ).rejects.toThrow(/ClusterNotFound|not found/i);
    const { stack } = await openEnvironment({ paths, reporter: new Collect() }, "sandbox");
    const preview = await stack.preview();
    expect(preview.changes.filter((c) => c.op === "update")).toHaveLength(15);
    expect(preview.changes.find((c) => c.type.endsWith(":cluster"))?.diffs).toEqual(["epoch"]);
    const res = await stack.up();
    const back = await aws.ecs.send(
      new DescribeServicesCommand({ cluster: res.outputs.clusterName, services: ["api"] }),
    );
    expect(back.services?.[0]?.status).toBe("ACTIVE");
    outputs = res.outputs;
  });

  it("GIVEN the stack WHEN destroyed THEN the emulated cluster is gone", async () => {
    const { stack } = await openEnvironment({ paths, reporter: new Collect() }, "sandbox");
    await stack.destroy();
    const clusters = await aws.ecs.send(new DescribeClustersCommand({ clusters: [outputs.clusterName] }));
    const active = (clusters.clusters ?? []).filter((c) => c.status === "ACTIVE");
    expect(active).toEqual([]);
  });
});
