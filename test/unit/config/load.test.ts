import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnvironmentConfig, parseEnvironmentName, validateConfig } from "../../../src/config/load.ts";
import { ENVIRONMENTS } from "../../../src/config/schema.ts";
import { parseTag } from "../../../src/config/tag.ts";
import { ConfigError, UsageError } from "../../../src/errors.ts";
import { projectRoot } from "../../../src/tools/paths.ts";

describe.each(ENVIRONMENTS)("Pulumi.%s.yaml in the repository", (env) => {
  it("GIVEN the committed file WHEN loaded THEN it validates into a frozen config", async () => {
    const config = await loadEnvironmentConfig(projectRoot, env);
    expect(config.env).toBe(env);
    expect(config.region).toBe("us-east-1");
    expect(config.stack.services.map((s) => s.name)).toEqual(["api", "web"]);
    expect(Object.isFrozen(config)).toBe(true);
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
    });
    expect(config.gantry.snapshot).toEqual({ enabled: false, retention: 5 });
  });

  it.each([
    [{ "platform:services": [{ name: "api", desiredCount: 0 }] }, /platform:services\.0\.desiredCount/],
    [{ "platform:services": [{ name: "Bad_Name" }] }, /platform:services\.0\.name: lowercase/],
    [{ "gantry:bakeSeconds": "soon" }, /gantry:bakeSeconds: .*number/],
    [{ "gantry:snapshot": { enabled: true, keep: 3 } }, /gantry:snapshot: .*keep/],
    [{ "aws:region": "mars" }, /aws:region: required/],
    [{ "other:key": 1 }, /other:key: unknown namespace/],
  ])("GIVEN a broken key %j WHEN validated THEN the error names it", (patch, message) => {
    expect(() => validateConfig("dev", "Pulumi.dev.yaml", { ...base, ...patch })).toThrow(message);
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
    expect(() => parseEnvironmentName("qa")).toThrow(/unknown environment "qa"/);
  });
});
