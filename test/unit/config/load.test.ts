import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { environmentsIn, parseEnvironmentName } from "../../../src/config/environments.ts";
import { loadEnvironmentConfig, validateConfig } from "../../../src/config/load.ts";
import { parseTag } from "../../../src/config/tag.ts";
import { ConfigError, UsageError } from "../../../src/errors.ts";
import { projectRoot } from "../../../src/tools/paths.ts";

describe.each(environmentsIn(projectRoot))("Pulumi.%s.yaml in the repository", (env) => {
  it("GIVEN the committed file WHEN loaded THEN it validates into a frozen config", async () => {
    const config = await loadEnvironmentConfig(projectRoot, env);
    expect(config.env).toBe(env);
    expect(config.region).toBe("us-east-1");
    expect(config.stack.services.map((s) => s.name)).toEqual(["api", "web"]);
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe("the loaded config is deeply frozen", () => {
  /** Paths of every object or array in `value` that is not frozen. */
  const unfrozen = (value: unknown, at = "config"): string[] =>
    typeof value !== "object" || value === null
      ? []
      : [
          ...(Object.isFrozen(value) ? [] : [at]),
          ...Object.entries(value).flatMap(([k, v]) => unfrozen(v, `${at}.${k}`)),
        ];

  it("GIVEN the committed prod file WHEN loaded THEN every object and array in it is frozen, down to the leaves", async () => {
    const config = await loadEnvironmentConfig(projectRoot, "prod");

    expect(unfrozen(config)).toEqual([]);
    // The walk saw nested values: services, their path patterns, the gantry namespace's commands.
    expect(config.stack.services.length).toBeGreaterThan(0);
  });

  it("GIVEN a loaded config WHEN a step writes into it at any depth THEN the write throws and the value stays", async () => {
    const config = await loadEnvironmentConfig(projectRoot, "prod");
    const service = config.stack.services[0] as { desiredCount: number };
    const before = service.desiredCount;
    const writes: [string, () => void][] = [
      ["a service's field", () => (service.desiredCount = before + 1)],
      ["the services list", () => (config.stack.services as unknown[]).push({ name: "extra" })],
      ["a gantry setting", () => ((config.gantry.snapshot as { retention: number }).retention = 0)],
      ["the gantry alarms", () => (config.gantry.alarms as string[]).push("extra-alarm")],
      [
        "the Pulumi config",
        () => ((config.pulumiConfig as Record<string, string>)["aws:region"] = "eu-west-1"),
      ],
      ["a new top-level key", () => ((config as unknown as Record<string, unknown>).extra = 1)],
    ];

    for (const [what, write] of writes) expect(write, what).toThrow(TypeError);
    expect(service.desiredCount).toBe(before);
    expect(config.pulumiConfig["aws:region"]).toBe("us-east-1");
  });

  it("GIVEN a config validated from a document WHEN its migration command is changed THEN it throws", () => {
    const config = validateConfig("dev", "Pulumi.dev.yaml", {
      "aws:region": "us-east-1",
      "platform:services": [{ name: "api" }],
      "gantry:migration": { command: ["npm", "run", "migrate"] },
    });

    expect(() => ((config.gantry.migration.command as string[])[0] = "rm")).toThrow(TypeError);
    expect(config.gantry.migration.command).toEqual(["npm", "run", "migrate"]);
  });
});

describe("validateConfig", () => {
  const base = {
    "aws:region": "us-east-1",
    "platform:services": [{ name: "api" }],
  };

  it("GIVEN minimal keys WHEN validated THEN defaults are filled in", () => {
    const config = validateConfig("dev", "Pulumi.dev.yaml", base);
    expect(config.stack.services[0]).toEqual({
      name: "api",
      containerPort: 8080,
      desiredCount: 1,
      cpu: 256,
      memory: 512,
      healthCheckPath: "/health",
      pathPatterns: [],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriodSeconds: 30,
    });
    expect(config.gantry.snapshot).toEqual({ enabled: false, retention: 5, timeoutSeconds: 3600 });
  });

  it("GIVEN minimal keys WHEN validated THEN the AWS stack's keys get their documented defaults", () => {
    const stack = validateConfig("dev", "Pulumi.dev.yaml", base).stack;
    expect(stack.network).toEqual({ availabilityZones: 2, natGateways: "single", cidrBlock: "10.0.0.0/16" });
    expect(stack.cluster).toEqual({ containerInsights: "disabled" });
    expect(stack.loadBalancer).toEqual({
      healthCheckIntervalSeconds: 10,
      healthCheckTimeoutSeconds: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      deregistrationDelaySeconds: 30,
      idleTimeoutSeconds: 60,
    });
    expect(stack.database).toEqual({
      instanceClass: "db.t4g.micro",
      allocatedStorage: 20,
      engineVersion: "16",
      multiAz: false,
      dbName: "app",
      masterUsername: "postgres",
      backupRetentionDays: 7,
      backupWindow: "03:00-03:30",
      maintenanceWindow: "sun:04:00-sun:04:30",
      deletionProtection: true,
      finalSnapshot: true,
    });
    expect(stack.images).toEqual({ keepLast: 10, initialTag: "bootstrap" });
    expect(stack.migration).toEqual({ cpu: 256, memory: 512 });
    expect(stack.logRetentionDays).toBe(14);
    expect(stack.secrets).toEqual({});
    expect(stack.alarms).toEqual([]);
    expect(stack.alarmThresholds).toEqual({
      http5xxPerMinute: 5,
      unhealthyHosts: 1,
      cpuPercent: 80,
      memoryPercent: 80,
      dbCpuPercent: 80,
      dbFreeStoragePercent: 10,
    });
    expect([stack.domain, stack.github, stack.stateBucket]).toEqual([undefined, undefined, undefined]);
  });

  it.each([
    [{ "platform:services": [{ name: "api", desiredCount: 0 }] }, /platform:services\.0\.desiredCount/],
    [{ "platform:services": [{ name: "Bad_Name" }] }, /platform:services\.0\.name: lowercase/],
    [{ "gantry:bakeSeconds": "soon" }, /gantry:bakeSeconds: .*number/],
    [{ "gantry:snapshot": { enabled: true, keep: 3 } }, /gantry:snapshot: .*keep/],
    [{ "aws:region": "mars" }, /aws:region: required/],
    [{ "other:key": 1 }, /other:key: unknown namespace/],
    [
      { "platform:services": [{ name: "api", cpu: 256, memory: 4096 }] },
      /platform:services\.0\.memory: with cpu 256 Fargate allows memory 512, 1024, 2048/,
    ],
    [{ "platform:services": [{ name: "api", cpu: 300 }] }, /platform:services\.0\.cpu: .*256\|512\|1024/],
    [
      { "platform:services": [{ name: "api" }, { name: "api" }] },
      /platform:services\.1\.name: must be unique/,
    ],
    [
      { "platform:services": [{ name: "migrate" }] },
      /platform:services\.0\.name: must be unique and not "migrate"/,
    ],
    [
      { "platform:services": [{ name: "api", desiredCount: 1, autoscaling: { minCount: 2, maxCount: 4 } }] },
      /platform:services\.0\.autoscaling: minCount <= desiredCount \(1\) <= maxCount/,
    ],
    [{ "platform:network": { natGateways: "two" } }, /platform:network\.natGateways: .*"single"\|"onePerAz"/],
    [{ "platform:network": { availabilityZones: 1 } }, /platform:network\.availabilityZones: Too small/],
    [{ "platform:cluster": { containerInsights: true } }, /platform:cluster\.containerInsights: .*"enabled"/],
    [{ "platform:logRetentionDays": 10 }, /platform:logRetentionDays: .*7\|14\|30/],
    [{ "platform:alarms": ["latency"] }, /platform:alarms\.0: .*"http-5xx"/],
    [
      { "platform:loadBalancer": { healthCheckIntervalSeconds: 5 } },
      /platform:loadBalancer\.healthCheckTimeoutSeconds: must be less than healthCheckIntervalSeconds/,
    ],
    [
      { "platform:domain": { name: "app.example.org", hostedZone: "example.com" } },
      /platform:domain\.name: must be the hosted zone's apex or a name inside it/,
    ],
    [{ "platform:database": { backupWindow: "3am" } }, /platform:database\.backupWindow: hh:mm-hh:mm in UTC/],
    [{ "platform:database": { backupRetentionDays: 40 } }, /platform:database\.backupRetentionDays: Too big/],
    [
      { "platform:secrets": { API_KEY: "plain-text" } },
      /platform:secrets\.API_KEY: the ARN of a Secrets Manager/,
    ],
    [{ "platform:github": { repository: "no-slash" } }, /platform:github\.repository: owner\/name/],
    [{ "platform:stateBucket": { name: "Bad_Bucket" } }, /platform:stateBucket\.name: an S3 bucket name/],
    [
      { "platform:services": [{ name: "api", image: "ghcr.io/acme/api:v1" }] },
      /platform:services\.0\.image: an ECR repository name .* or an image reference without tag or digest/,
    ],
    [
      { "gantry:migration": { service: "web" } },
      /gantry:migration\.service: "web" is not one of platform:services \(api\)/,
    ],
    [
      {
        "platform:registries": {
          "ghcr.io": { credentialsArn: "arn:aws:ssm:us-east-1:123456789012:parameter/x" },
        },
      },
      /platform:registries\.ghcr\.io\.credentialsArn: the ARN of a Secrets Manager secret/,
    ],
    [
      { "gantry:registries": { "ghcr.io": { password: "plain-text" } } },
      /gantry:registries\.ghcr\.io\.password/,
    ],
    [{ "gantry:account": "azure" }, /gantry:account: .*"aws"\|"sandbox"/],
  ])("GIVEN a broken key %j WHEN validated THEN the error names it", (patch, message) => {
    expect(() => validateConfig("dev", "Pulumi.dev.yaml", { ...base, ...patch })).toThrow(message);
  });

  it("GIVEN services with their own images, a private registry and a migration service WHEN validated THEN each is kept as written", () => {
    const config = validateConfig("dev", "Pulumi.dev.yaml", {
      ...base,
      "platform:services": [
        { name: "api", image: "ghcr.io/acme/api" },
        { name: "web", image: "web" },
        { name: "mcp" },
      ],
      "platform:registries": {
        "ghcr.io": { credentialsArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ghcr-AbCdEf" },
      },
      "gantry:registries": { "ghcr.io": { username: "bot", password: { fromEnv: "GHCR_TOKEN" } } },
      "gantry:migration": { command: ["migrate"], service: "web" },
    });
    expect(config.stack.services.map((s) => s.image)).toEqual(["ghcr.io/acme/api", "web", undefined]);
    expect(config.gantry.registries["ghcr.io"]).toEqual({
      username: "bot",
      password: { fromEnv: "GHCR_TOKEN", prefix: "" },
    });
    expect(config.gantry.migration.service).toBe("web");
  });

  it("GIVEN a broken key WHEN validated THEN the error is a ConfigError whose hint names the file", () => {
    try {
      validateConfig("prod", "/x/Pulumi.prod.yaml", { ...base, "gantry:bakeSeconds": -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).hint).toContain("/x/Pulumi.prod.yaml");
    }
  });
});

describe("loadEnvironmentConfig on files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gantry-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("GIVEN no file WHEN loaded THEN CONFIG_MISSING", async () => {
    await expect(loadEnvironmentConfig(dir, "staging")).rejects.toMatchObject({ code: "CONFIG_MISSING" });
  });

  it("GIVEN invalid YAML WHEN loaded THEN the message says so and names the file", async () => {
    await writeFile(path.join(dir, "Pulumi.dev.yaml"), "config:\n  aws:region: [unclosed\n");
    await expect(loadEnvironmentConfig(dir, "dev")).rejects.toThrow(/Pulumi\.dev\.yaml is not valid YAML/);
  });

  it.each([
    [
      "prod",
      "natGateways: onePerAz",
      "natGateways: perAz",
      /^Pulumi\.prod\.yaml: platform:network\.natGateways: .*"single"\|"onePerAz"/,
    ],
    [
      "staging",
      "memory: 1024",
      "memory: 999",
      /^Pulumi\.staging\.yaml: platform:services\.0\.memory: with cpu 512 Fargate allows/,
    ],
    [
      "dev",
      "backupRetentionDays: 1",
      "backupRetentionDays: -1",
      /^Pulumi\.dev\.yaml: platform:database\.backupRetentionDays: Too small/,
    ],
  ] as const)(
    "GIVEN the committed Pulumi.%s.yaml with %s broken WHEN loaded THEN the error names the file, the key and what is allowed",
    async (env, good, bad, message) => {
      const text = await readFile(path.join(projectRoot, `Pulumi.${env}.yaml`), "utf8");
      expect(text).toContain(good);
      await writeFile(path.join(dir, `Pulumi.${env}.yaml`), text.replace(good, bad));
      await expect(loadEnvironmentConfig(dir, env)).rejects.toThrow(message);
    },
  );

  it("GIVEN a file without config: WHEN loaded THEN the message says what is missing", async () => {
    await writeFile(path.join(dir, "Pulumi.prod.yaml"), "encryptionsalt: x\n");
    await expect(loadEnvironmentConfig(dir, "prod")).rejects.toThrow(/no top-level "config:" map/);
  });
});

describe("command-line values", () => {
  it.each(["v1.2.3", "sha-0123abc", "2026_11_22", "latest"])(
    "GIVEN tag %s WHEN parsed THEN accepted",
    (tag) => {
      expect(parseTag(tag)).toBe(tag);
    },
  );
  it.each(["", "-v1", ".x", "has space", "a:b", "x".repeat(129)])(
    "GIVEN tag %j WHEN parsed THEN UsageError",
    (tag) => {
      expect(() => parseTag(tag)).toThrow(UsageError);
    },
  );
  it("GIVEN an unknown environment WHEN parsed THEN the hint lists the known ones", () => {
    expect(() => parseEnvironmentName("qa", ["dev", "prod"])).toThrow(/unknown environment "qa"/);
    expect(() => parseEnvironmentName("qa", ["dev", "prod"])).toThrow(
      expect.objectContaining({
        code: "UNKNOWN_ENV",
        hint: "use one of: dev, prod (one per Pulumi.<env>.yaml)",
      }),
    );
    expect(parseEnvironmentName("prod", ["dev", "prod"])).toBe("prod");
  });

  it("GIVEN a config folder WHEN its environments are listed THEN one per valid Pulumi.<name>.yaml, sorted", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gantry-envs-"));
    try {
      for (const file of [
        "Pulumi.yaml",
        "Pulumi.qa.yaml",
        "Pulumi.eu-west-prod.yaml",
        "Pulumi.Bad.yaml",
        "Pulumi.-x.yaml",
        `Pulumi.${"a".repeat(33)}.yaml`,
        `Pulumi.${"b".repeat(32)}.yaml`,
        "Pulumi.dev.yml",
        "notes.txt",
      ]) {
        writeFileSync(path.join(dir, file), "");
      }
      expect(environmentsIn(dir)).toEqual(["b".repeat(32), "eu-west-prod", "qa"]);
      expect(environmentsIn(path.join(dir, "missing"))).toEqual([]);
      expect(environmentsIn(projectRoot)).toEqual(["dev", "prod", "sandbox", "staging"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
