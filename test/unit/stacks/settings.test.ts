/**
 * What the AWS stack requires beyond the shared schema, checked before the engine starts: the
 * error names the file and the key, like the loader's. Plus the guard that the AWS program never
 * branches on an environment's name.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadEnvironmentConfig, validateConfig } from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/errors.ts";
import { awsSettings, pathPatternMatches } from "../../../src/stacks/aws/settings.ts";
import { environmentProgram } from "../../../src/stacks/index.ts";
import { projectRoot } from "../../../src/tools/paths.ts";

const complete = {
  "aws:region": "us-east-1",
  "platform:services": [
    { name: "api", pathPatterns: ["/api/*"], healthCheckPath: "/api/health" },
    { name: "web", healthCheckPath: "/health" },
  ],
  "platform:domain": { name: "dev.example.com", hostedZone: "example.com" },
  "platform:github": { repository: "example-org/app" },
  "platform:stateBucket": { name: "example-org-gantry-state" },
};
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
};
const without = (key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(complete).filter(([k]) => k !== key));

describe("awsSettings", () => {
  it.each(["platform:domain", "platform:github", "platform:stateBucket"])(
    "GIVEN a dev file without %s WHEN the AWS program is requested THEN a ConfigError names the file and the key before any engine runs",
    (key) => {
      const config = validateConfig("dev", "/repo/Pulumi.dev.yaml", without(key));
      expect(() => environmentProgram(config)).toThrow(
        new RegExp(`^Pulumi\\.dev\\.yaml: ${key}: required for the AWS environments, e\\.g\\. `),
      );
      const error = thrown(() => awsSettings(config));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).hint).toBe(
        `set ${key} in /repo/Pulumi.dev.yaml (see README "AWS environments")`,
      );
    },
  );

  it("GIVEN two services without path patterns WHEN checked THEN the second one's pathPatterns is named", () => {
    const config = validateConfig("dev", "Pulumi.dev.yaml", {
      ...complete,
      "platform:services": [{ name: "api" }, { name: "web" }],
    });
    expect(() => awsSettings(config)).toThrow(
      /^Pulumi\.dev\.yaml: platform:services\.1\.pathPatterns: required: services\.0 already takes the default route/,
    );
  });

  it("GIVEN a health path that another service's pattern catches WHEN checked THEN that healthCheckPath is named", () => {
    const config = validateConfig("dev", "Pulumi.dev.yaml", {
      ...complete,
      "platform:services": [
        { name: "api", pathPatterns: ["/api/*"], healthCheckPath: "/health" },
        { name: "web", healthCheckPath: "/api/health" },
      ],
    });
    expect(() => awsSettings(config)).toThrow(
      /^Pulumi\.dev\.yaml: platform:services\.0\.healthCheckPath: \/health is routed to the default service/,
    );
  });

  it("GIVEN a secret named like a variable the stack sets WHEN checked THEN that secret's key is named", () => {
    const config = validateConfig("dev", "Pulumi.dev.yaml", {
      ...complete,
      "platform:secrets": { DATABASE_PASSWORD: "arn:aws:ssm:us-east-1:123456789012:parameter/x" },
    });
    expect(() => awsSettings(config)).toThrow(
      /^Pulumi\.dev\.yaml: platform:secrets\.DATABASE_PASSWORD: set by the stack itself; reserved: ENVIRONMENT, /,
    );
  });

  it("GIVEN no github.environment WHEN checked THEN the GitHub environment is the gantry environment's name", () => {
    const settings = awsSettings(validateConfig("staging", "Pulumi.staging.yaml", complete));
    expect(settings.github).toEqual({ repository: "example-org/app", environment: "staging" });
    expect(settings.services.map((s) => s.healthUrl)).toEqual([
      "https://dev.example.com/api/health",
      "https://dev.example.com/health",
    ]);
  });

  it.each([
    ["/api/*", "/api/health", true],
    ["/api/*", "/apix", false],
    ["/v?/x", "/v1/x", true],
    ["/a.b", "/aXb", false],
  ])(
    "GIVEN pattern %s WHEN matched against %s THEN %s (ALB path-pattern semantics)",
    (pattern, p, expected) => {
      expect(pathPatternMatches(pattern, p)).toBe(expected);
    },
  );

  it("GIVEN the committed dev, staging and prod files WHEN checked THEN each has what the AWS stack needs", async () => {
    for (const env of ["dev", "staging", "prod"] as const) {
      const settings = awsSettings(await loadEnvironmentConfig(projectRoot, env));
      expect(settings.prefix).toBe(`gantry-${env}`);
    }
  });
});

describe("the AWS program's sources", () => {
  it("GIVEN every file of src/stacks/aws WHEN scanned THEN none compares a value with an environment's name", async () => {
    const dir = path.join(projectRoot, "src/stacks/aws");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(5);
    const branching =
      /(===|!==|==|!=|case)\s*["'`](sandbox|dev|staging|prod)["'`]|["'`](sandbox|dev|staging|prod)["'`]\s*(===|!==|==|!=)/;
    for (const file of files) {
      const text = await readFile(path.join(dir, file), "utf8");
      expect({ file, branches: branching.test(text) }).toEqual({ file, branches: false });
    }
  });
});
