/**
 * The sandbox program with Pulumi mocks: what each emulated resource is asked for (kind, name,
 * props), for the committed Pulumi.sandbox.yaml, for services with their own images, and for
 * several environments on the one sandbox account, whose names must not collide. Plus which
 * program an environment gets from its account (src/stacks/index.ts).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadEnvironmentConfig, validateConfig } from "../../../src/config/load.ts";
import type { EnvironmentConfig } from "../../../src/config/schema.ts";
import { environmentProgram } from "../../../src/stacks/index.ts";
import { environmentOutputsSchema, type EnvironmentOutputs } from "../../../src/stacks/outputs.ts";
import { sandboxElbName, sandboxProgram } from "../../../src/stacks/sandbox/program.ts";
import { projectRoot } from "../../../src/tools/paths.ts";
import { ACCOUNT, type Registered, type Run, runProgram, SANDBOX_TYPE } from "./mocks.ts";

const TARGET = { endpoint: "http://127.0.0.1:1", epoch: "epoch-1" };
const ECR = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;

type Raw = Record<string, unknown>;

/** Pulumi.sandbox.yaml's keys as committed. */
async function sandboxRaw(): Promise<Raw> {
  const text = await readFile(path.join(projectRoot, "Pulumi.sandbox.yaml"), "utf8");
  return (parse(text) as { config: Raw }).config;
}

/** One emulated resource as the program asks the sandbox for it. */
interface Emulated {
  readonly kind: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly retainOnDelete: boolean;
}
const emulated = (run: Run<unknown>): Emulated[] =>
  run.resources
    .filter((r: Registered) => r.type.startsWith(SANDBOX_TYPE))
    .map((r) => ({
      kind: String(r.inputs.kind),
      name: String(r.inputs.name),
      props: r.inputs.props as Record<string, unknown>,
      retainOnDelete: r.retainOnDelete,
    }));
const ofKind = (run: Run<unknown>, kind: string): Emulated[] => emulated(run).filter((r) => r.kind === kind);
const taskImage = (run: Run<unknown>, family: string): unknown =>
  ofKind(run, "taskDefinition").find((t) => t.name === family)?.props.image;

const runSandbox = (config: EnvironmentConfig): Promise<Run<EnvironmentOutputs>> =>
  runProgram(config.env, sandboxProgram(config, TARGET) as () => Promise<EnvironmentOutputs>);

describe("the sandbox program (mocks)", () => {
  let raw: Raw;
  beforeAll(async () => {
    raw = await sandboxRaw();
  });

  it("GIVEN the committed Pulumi.sandbox.yaml (api and web with their own images) WHEN run THEN the names are those the existing sandbox state holds and each service starts from its own repository", async () => {
    const run = await runSandbox(await loadEnvironmentConfig(projectRoot, "sandbox"));
    expect(
      emulated(run)
        .map((r) => `${r.kind}/${r.name}`)
        .sort(),
    ).toEqual(
      [
        "network/gantry-sandbox",
        "cluster/gantry-sandbox",
        "repository/api",
        "repository/web",
        "logGroup/gantry-sandbox",
        "alarm/gantry-sandbox-http-5xx",
        "alarm/gantry-sandbox-unhealthy-hosts",
        "dbInstance/gantry-sandbox-db",
        "targetGroup/gantry-sandbox-api",
        "targetGroup/gantry-sandbox-web",
        "taskDefinition/gantry-sandbox-api",
        "taskDefinition/gantry-sandbox-web",
        "taskDefinition/gantry-sandbox-migrate",
        "service/gantry-sandbox-api",
        "service/gantry-sandbox-web",
      ].sort(),
    );
    expect(ofKind(run, "targetGroup").map((t) => t.props.name)).toEqual([
      "gantry-sandbox-api",
      "gantry-sandbox-web",
    ]);
    expect(taskImage(run, "gantry-sandbox-api")).toBe(`${ECR}/api:bootstrap`);
    expect(taskImage(run, "gantry-sandbox-web")).toBe(`${ECR}/web:bootstrap`);
    expect(taskImage(run, "gantry-sandbox-migrate")).toBe(`${ECR}/api:bootstrap`);
    expect(environmentOutputsSchema.strict().safeParse(run.outputs).error).toBeUndefined();
    expect(run.outputs.ecrRepositoryUrl).toBe(`${ECR}/api`);
    expect(run.outputs.deployRoleArn).toBe("arn:aws:iam::123456789012:role/gantry-sandbox-deploy");
  });

  it("GIVEN services with their own images WHEN run THEN one retained repository per distinct ECR name and OCI images as given", async () => {
    const services = (raw["platform:services"] as Raw[]).map((svc) =>
      svc.name === "api" ? { ...svc, image: "api" } : { ...svc, image: "127.0.0.1:5000/org/web" },
    );
    const run = await runSandbox(
      validateConfig("sandbox", "Pulumi.sandbox.yaml", {
        ...raw,
        "platform:services": [...services, { name: "worker", containerPort: 9000, image: "api" }],
        "gantry:migration": { command: ["migrate"], service: "web" },
      }),
    );
    expect(ofKind(run, "repository").map((r) => [r.name, r.props, r.retainOnDelete])).toEqual([
      ["api", { repositoryName: "api" }, true],
    ]);
    expect(taskImage(run, "gantry-sandbox-api")).toBe(`${ECR}/api:bootstrap`);
    expect(taskImage(run, "gantry-sandbox-worker")).toBe(`${ECR}/api:bootstrap`);
    expect(taskImage(run, "gantry-sandbox-web")).toBe("127.0.0.1:5000/org/web:bootstrap");
    expect(taskImage(run, "gantry-sandbox-migrate")).toBe("127.0.0.1:5000/org/web:bootstrap");
    expect(run.outputs.services.map((s) => s.image)).toEqual(["api", "127.0.0.1:5000/org/web", "api"]);
    expect(run.outputs.migration.service).toBe("web");
    expect(run.outputs.ecrRepositoryUrl).toBe(`${ECR}/api`);
  });

  it("GIVEN sandbox and qa on the one sandbox account WHEN both run THEN they share only the ECR repositories", async () => {
    const sandbox = await runSandbox(validateConfig("sandbox", "Pulumi.sandbox.yaml", raw));
    const qa = await runSandbox(
      validateConfig("qa", "Pulumi.qa.yaml", { ...raw, "gantry:account": "sandbox" }),
    );
    const keys = (run: Run<unknown>): Set<string> => new Set(emulated(run).map((r) => `${r.kind}/${r.name}`));
    const shared = [...keys(sandbox)].filter((k) => keys(qa).has(k));
    expect(shared).toEqual(["repository/api", "repository/web"]);
    // Physical names in the emulated account: cluster, log group, alarms, DB, ELB names, families.
    const physical = (run: Run<unknown>): string[] =>
      emulated(run).flatMap((r) =>
        ["clusterName", "logGroupName", "alarmName", "dbInstanceIdentifier", "family", "name"].flatMap(
          (key) => (typeof r.props[key] === "string" ? [`${r.kind}:${r.props[key]}`] : []),
        ),
      );
    expect(physical(qa).length).toBeGreaterThan(10);
    expect(physical(qa).filter((name) => physical(sandbox).includes(name))).toEqual([]);
    expect(qa.outputs.clusterName).toBe("gantry-qa");
    expect(qa.outputs.deployRoleArn).toBe("arn:aws:iam::123456789012:role/gantry-qa-deploy");
  });

  it.each([
    ["gantry-sandbox-api", "gantry-sandbox-api"],
    ["gantry-quality-assurance-east-frontend", "gantry-quality-assu-71ced483"],
  ])(
    "GIVEN family %s WHEN named for the emulated ELB THEN it is %s (at most 28 characters)",
    (family, expected) => {
      expect(sandboxElbName(family)).toBe(expected);
    },
  );

  it("GIVEN two long families with the same start WHEN named for the emulated ELB THEN the names differ", () => {
    const a = sandboxElbName("gantry-quality-assurance-east-frontend");
    const b = sandboxElbName("gantry-quality-assurance-east-backend");
    expect(a).not.toBe(b);
    expect([a.length, b.length]).toEqual([28, 28]);
  });
});

describe("environmentProgram by account", () => {
  let raw: Raw;
  beforeAll(async () => {
    raw = await sandboxRaw();
  });

  it("GIVEN qa with gantry:account sandbox and no running sandbox WHEN its program is asked for THEN SANDBOX_NOT_RUNNING", () => {
    const qa = validateConfig("qa", "Pulumi.qa.yaml", { ...raw, "gantry:account": "sandbox" });
    expect(() => environmentProgram(qa)).toThrow(/^the qa stack needs a running sandbox$/);
    expect(environmentProgram(qa, TARGET)).toBeTypeOf("function");
  });

  it("GIVEN the sandbox file moved to an AWS account WHEN its program is asked for THEN the AWS program's own keys are required", () => {
    const onAws = validateConfig("sandbox", "Pulumi.sandbox.yaml", { ...raw, "gantry:account": "aws" });
    expect(() => environmentProgram(onAws, TARGET)).toThrow(
      /^Pulumi\.sandbox\.yaml: platform:domain: required for the AWS environments/,
    );
  });
});
