/** The CLI's contract on bad input: exit 2, one-line error with a hint, nothing started. */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../src/tools/paths.ts";
import { cliEnvironment } from "../../helpers/cli.ts";

function gantry(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return gantryWith({}, ...args);
}

function gantryWith(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): { code: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [path.join(projectRoot, "bin", "gantry.js"), ...args], {
    encoding: "utf8",
    env: cliEnvironment({ NO_COLOR: "1", ...env }),
    timeout: 20_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe("gantry CLI usage errors", () => {
  it.each([
    [["sandbox", "frobnicate"], /Unknown argument|name a sandbox command/],
    [["sandbox", "image", "bad tag!"], /invalid image tag "bad tag!"/],
    [
      ["sandbox", "fault", "v1", "--kind", "meteor"],
      /--kind must be one of migration, rollout, health, wrong-version, alarm/,
    ],
    [["deploy", "--env", "qa", "--tag", "v1"], /Invalid values|Choices/],
    [["deploy", "--env", "prod"], /--tag is required\n {2}hint: give --tag TAG, or --image SERVICE=TAG/],
    [["deploy", "--env", "prod", "--tag", "v1", "--image", "nope=v2"], /--image: "nope" is not a service/],
    [
      ["deploy", "--env", "prod", "--services", "api,nope", "--tag", "v1"],
      /--services: "nope" is not a service/,
    ],
    [["nonsense"], /Unknown argument|Did you mean/],
    [
      ["sandbox", "speed", "--rollout-seconds", "0"],
      /--rollout-seconds must be a number of seconds, more than 0/,
    ],
    [["sandbox", "start", "--port", "70000"], /--port must be an integer between 1 and 65535/],
  ])("GIVEN %j WHEN run THEN exit 2 and a one-line error with a hint", (args, message) => {
    const res = gantry(...args);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(res.stderr).toMatch(/^gantry: error: .+\n {2}hint: .+\n$/);
    expect(res.stdout).toBe("");
  });

  it("GIVEN --help WHEN run THEN it lists every command group and exits 0", () => {
    const res = gantry("--help");
    expect(res.code).toBe(0);
    for (const cmd of ["deploy", "stack <command>", "sandbox <command>", "demo"])
      expect(res.stdout).toContain(cmd);
  });

  it("GIVEN deploy --help WHEN run THEN it documents every flag and the exit codes", () => {
    const res = gantry("deploy", "--help");
    expect(res.code).toBe(0);
    for (const flag of ["--env", "--tag", "--dry-run", "--skip-snapshot", "--skip-migrations", "--json"]) {
      expect(res.stdout).toContain(flag);
    }
    const text = res.stdout.replace(/\s+/g, " ");
    expect(text).toContain("3 rolled back and verified");
    expect(text).toContain("5 locked");
  });

  it("GIVEN no AWS credentials WHEN deploy --env dev --dry-run THEN exit 1 with a one-line hint, before any engine work", () => {
    const env: NodeJS.ProcessEnv = {
      HOME: "/nonexistent-gantry-home",
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_SESSION_TOKEN: "",
      AWS_PROFILE: "",
      // Never ask an instance metadata service from a test.
      AWS_EC2_METADATA_DISABLED: "true",
    };
    const res = gantryWith(env, "deploy", "--env", "dev", "--tag", "v1.0.0", "--dry-run");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^gantry: error: no valid AWS credentials to deploy to dev \(us-east-1\): .+\n {2}hint: .*aws sso login.*\n$/,
    );
  });

  it("GIVEN a config folder with only Pulumi.qa.yaml WHEN deploying THEN qa is an environment (it gets as far as the account) and dev is refused, listing qa", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "gantry-qa-"));
    try {
      copyFileSync(path.join(projectRoot, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.qa.yaml"));
      const env: NodeJS.ProcessEnv = {
        GANTRY_CONFIG_DIR: dir,
        GANTRY_STATE_DIR: path.join(dir, "gantry"),
        GANTRY_SANDBOX_DIR: path.join(dir, "sandbox"),
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_ACCESS_KEY_ID: "AKIAGANTRYTEST",
        AWS_SECRET_ACCESS_KEY: "not-a-secret",
        AWS_ENDPOINT_URL: "http://127.0.0.1:9", // discard port: nothing listens there
      };

      const qa = gantryWith(env, "deploy", "--env", "qa", "--tag", "v1.0.0");
      expect(qa.code).toBe(1);
      expect(qa.stderr).toMatch(/^gantry: error: cannot reach the AWS endpoint .+\n {2}hint: .+\n$/);

      const dev = gantryWith(env, "deploy", "--env", "dev", "--tag", "v1.0.0");
      expect(dev.code).toBe(2);
      expect(dev.stderr).toMatch(/Invalid values:[\s\S]*Given: "dev", Choices: "qa"/);
      expect(dev.stdout).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("GIVEN an unreachable AWS endpoint WHEN deploy --env dev THEN exit 1 with one line and a hint, no lock and no stack created", () => {
    const backend = mkdtempSync(path.join(os.tmpdir(), "gantry-unreachable-"));
    try {
      const env: NodeJS.ProcessEnv = {
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_ACCESS_KEY_ID: "AKIAGANTRYTEST",
        AWS_SECRET_ACCESS_KEY: "not-a-secret",
        AWS_ENDPOINT_URL: "http://127.0.0.1:9", // discard port: nothing listens there
        PULUMI_BACKEND_URL: `file://${backend}`,
        PULUMI_CONFIG_PASSPHRASE: "test-only",
        DEV_TEST_API_TOKEN: "unused-here",
        GANTRY_SANDBOX_DIR: path.join(backend, "sandbox"),
        GANTRY_STATE_DIR: path.join(backend, "gantry"), // workspaces and journals of real envs
      };
      const res = gantryWith(env, "deploy", "--env", "dev", "--tag", "v1.0.0");
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(
        /^gantry: error: cannot reach the AWS endpoint .+ECONNREFUSED.*\n {2}hint: .+\n$/,
      );
      // Nothing was created in the Pulumi backend: no stack, no engine lock.
      expect(existsSync(path.join(backend, ".pulumi", "stacks"))).toBe(false);
      expect(existsSync(path.join(backend, ".pulumi", "locks"))).toBe(false);
    } finally {
      rmSync(backend, { recursive: true, force: true });
    }
  });
});
