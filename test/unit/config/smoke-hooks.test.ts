/**
 * `gantry:smoke` and `gantry:hooks` in Pulumi.<env>.yaml: defaults, the errors that name the key
 * at fault, the committed dev (full suite) and prod (smoke subset) examples, and the secrets a
 * deploy reads from its environment.
 */
import { describe, expect, it } from "vitest";
import { loadEnvironmentConfig, validateConfig } from "../../../src/config/load.ts";
import { resolveDeploySecrets, valueOf } from "../../../src/config/secrets.ts";
import { MIN_SECRET_LENGTH, SecretMasker } from "../../../src/reporting/mask.ts";
import { projectRoot } from "../../../src/tools/paths.ts";

const base = {
  "aws:region": "eu-west-1",
  "platform:services": [{ name: "web" }, { name: "api" }],
};
const load = (gantry: Record<string, unknown>) =>
  validateConfig("dev", "/x/Pulumi.dev.yaml", { ...base, ...gantry });

describe("gantry:smoke and gantry:hooks", () => {
  it("GIVEN neither THEN no smoke gate and no hooks", () => {
    const config = load({});
    expect(config.gantry.smoke).toBeUndefined();
    expect(config.gantry.hooks).toEqual({});
  });

  it("GIVEN a check and hooks with few keys THEN the documented defaults apply", () => {
    const config = load({
      "gantry:smoke": { checks: [{ path: "/health" }], command: { command: "npm run test:smoke" } },
      "gantry:hooks": { preDeploy: { command: ["./check.sh"] }, postDeploy: { command: "./notify.sh" } },
    });
    expect(config.gantry.smoke).toEqual({
      checks: [
        { path: "/health", method: "GET", headers: {}, expectStatus: 200, expectJson: {}, retries: 0 },
      ],
      command: { command: "npm run test:smoke", timeoutSeconds: 300, env: {} },
    });
    expect(config.gantry.hooks).toEqual({
      preDeploy: { command: ["./check.sh"], timeoutSeconds: 300, env: {} },
      postDeploy: { command: "./notify.sh", timeoutSeconds: 300, env: {}, onError: "fail" },
    });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      "both path and url",
      { "gantry:smoke": { checks: [{ path: "/health", url: "https://x.example.com/health" }] } },
      /^Pulumi\.dev\.yaml: gantry:smoke\.checks\.0\.path: give exactly one of path .* or url$/,
    ],
    [
      "neither path nor url",
      { "gantry:smoke": { checks: [{ name: "x" }] } },
      /gantry:smoke\.checks\.0\.path: give exactly one of path/,
    ],
    [
      "a url that is not http(s)",
      { "gantry:smoke": { checks: [{ url: "ftp://x.example.com/" }] } },
      /gantry:smoke\.checks\.0\.url: an absolute http\(s\) URL/,
    ],
    ["an empty smoke section", { "gantry:smoke": {} }, /gantry:smoke: give checks, a command, or both/],
    [
      "a header that is neither a string nor a secret",
      { "gantry:smoke": { checks: [{ path: "/", headers: { Authorization: { env: "X" } } }] } },
      /gantry:smoke\.checks\.0\.headers\.Authorization: a string, or \{ fromEnv: VAR_NAME \}/,
    ],
    [
      "an expected JSON value that is an object",
      { "gantry:smoke": { checks: [{ path: "/", expectJson: { deps: { db: "up" } } }] } },
      /gantry:smoke\.checks\.0\.expectJson\.deps: a string, number, boolean or null/,
    ],
    [
      "an env variable gantry sets itself",
      { "gantry:hooks": { preDeploy: { command: "x", env: { GANTRY_TAG: "v1" } } } },
      /gantry:hooks\.preDeploy\.env\.GANTRY_TAG: GANTRY_\* and BASE_URL are set by gantry/,
    ],
    [
      "onError on a hook other than postDeploy",
      { "gantry:hooks": { preDeploy: { command: "x", onError: "warn" } } },
      /gantry:hooks\.preDeploy: Unrecognized key: "onError"/,
    ],
    [
      "an unknown hook",
      { "gantry:hooks": { afterDeploy: { command: "x" } } },
      /gantry:hooks: Unrecognized key: "afterDeploy"/,
    ],
    [
      "a check naming a service the stack does not have",
      { "gantry:smoke": { checks: [{ service: "admin", path: "/" }] } },
      /^Pulumi\.dev\.yaml: gantry:smoke\.checks\.0\.service: "admin" is not one of platform:services \(web, api\)$/,
    ],
    [
      "a smoke service the stack does not have",
      { "gantry:smoke": { service: "admin", checks: [{ path: "/" }] } },
      /gantry:smoke\.service: "admin" is not one of platform:services/,
    ],
  ])("GIVEN %s THEN the error names the key", (_given, gantry, message) => {
    expect(() => load(gantry)).toThrow(message);
  });

  it.each(["dev", "prod"] as const)(
    "GIVEN the committed Pulumi.%s.yaml THEN its smoke gate and hooks are valid",
    async (env) => {
      const config = await loadEnvironmentConfig(projectRoot, env);
      expect(config.gantry.smoke?.checks.length).toBeGreaterThan(0);
      expect(config.gantry.smoke?.command).toBeDefined();
    },
  );

  it("GIVEN the committed examples THEN dev runs the full integration suite and prod a smoke subset with a latency ceiling", async () => {
    const dev = await loadEnvironmentConfig(projectRoot, "dev");
    const prod = await loadEnvironmentConfig(projectRoot, "prod");
    expect(dev.gantry.smoke?.command?.command).toBe("npm run test:integration");
    expect(prod.gantry.smoke?.command?.command).toMatch(/^npm run test:smoke/);
    expect(prod.gantry.smoke?.checks.every((c) => c.maxLatencyMs !== undefined)).toBe(true);
  });
});

describe("resolveDeploySecrets", () => {
  const config = load({
    "gantry:smoke": {
      checks: [
        { path: "/", headers: { Authorization: { fromEnv: "SMOKE_TOKEN", prefix: "Bearer " }, "X-A": "b" } },
      ],
      command: { command: "x", env: { API_KEY: { fromEnv: "SMOKE_API_KEY" }, MODE: "smoke" } },
    },
    "gantry:hooks": { onFailure: { command: "x", env: { WEBHOOK: { fromEnv: "HOOK_URL" } } } },
  });
  const env = {
    SMOKE_TOKEN: "tok-1234",
    SMOKE_API_KEY: "key-5678",
    HOOK_URL: "https://hooks.example/1",
    OTHER: "x",
  };

  it("GIVEN every variable set THEN exactly the referenced ones are read", () => {
    expect(resolveDeploySecrets(config, { skipSmoke: false }, env)).toEqual({
      SMOKE_TOKEN: "tok-1234",
      SMOKE_API_KEY: "key-5678",
      HOOK_URL: "https://hooks.example/1",
    });
  });

  it("GIVEN --skip-smoke THEN the smoke gate's secrets are not needed, the hooks' still are", () => {
    expect(
      resolveDeploySecrets(config, { skipSmoke: true }, { HOOK_URL: "https://hooks.example/1" }),
    ).toEqual({
      HOOK_URL: "https://hooks.example/1",
    });
  });

  it.each([
    ["unset", undefined],
    ["empty (a missing CI secret)", ""],
  ])("GIVEN the variable %s THEN the error names the key and the variable, with a hint", (_given, value) => {
    let caught: unknown;
    try {
      resolveDeploySecrets(config, { skipSmoke: false }, { ...env, SMOKE_TOKEN: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({
      message:
        "Pulumi.dev.yaml: gantry:smoke.checks.0.headers.Authorization: environment variable SMOKE_TOKEN is not set",
      code: "SECRET_MISSING",
      hint: expect.stringContaining("--skip-smoke") as string,
    });
  });

  it.each(["abc", "  ab \n"])(
    "GIVEN a variable holding %j (too short to be masked) THEN the error names the key and the variable, asking for a real secret",
    (value) => {
      let caught: unknown;
      try {
        resolveDeploySecrets(config, { skipSmoke: false }, { ...env, HOOK_URL: value });
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({
        name: "ConfigError",
        message: `Pulumi.dev.yaml: gantry:hooks.onFailure.env.WEBHOOK: environment variable HOOK_URL holds fewer than ${String(MIN_SECRET_LENGTH)} characters, too short to be masked in gantry's output`,
        code: "SECRET_TOO_SHORT",
        hint: "set HOOK_URL to the real secret (at least 4 characters), not a placeholder",
      });
    },
  );

  it("GIVEN a variable exactly as long as the masker's minimum THEN it is accepted, and the masker hides it", () => {
    const value = "k".repeat(MIN_SECRET_LENGTH);
    const secrets = resolveDeploySecrets(config, { skipSmoke: true }, { HOOK_URL: value });
    const masker = new SecretMasker();
    for (const v of Object.values(secrets)) masker.add(v);
    expect(masker.redact(`hook called ${value}`)).toBe("hook called ***");
  });

  it("GIVEN resolved secrets THEN a value is the prefix plus the secret; a plain string is itself", () => {
    expect(valueOf({ fromEnv: "SMOKE_TOKEN", prefix: "Bearer " }, { SMOKE_TOKEN: "tok" })).toBe("Bearer tok");
    expect(valueOf("plain", {})).toBe("plain");
    expect(() => valueOf({ fromEnv: "NOPE", prefix: "" }, {})).toThrow(/secret NOPE was not resolved/);
  });
});
