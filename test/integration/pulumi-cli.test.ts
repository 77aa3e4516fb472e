/** The Pulumi CLI that gantry provides: right version, accepted by the Automation API, shim beside it. */
import { access, constants, readFile } from "node:fs/promises";
import path from "node:path";
import { PulumiCommand } from "@pulumi/pulumi/automation/index.js";
import { SemVer } from "semver";
import { describe, expect, it } from "vitest";
import { ensurePulumiCli, sdkVersion } from "../../src/pulumi/cli.ts";
import { run } from "../../src/tools/exec.ts";
import { toolsDir } from "../../src/tools/paths.ts";

describe("the provided Pulumi CLI", () => {
  it("GIVEN the bootstrap WHEN `pulumi version` runs THEN it prints @pulumi/pulumi's version", async () => {
    const cli = await ensurePulumiCli({ toolsDir, log: () => undefined });
    const res = await run(path.join(cli.root, "bin", "pulumi"), ["version"], { timeoutMs: 30_000 });
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(`v${sdkVersion()}`);
  });

  it("GIVEN the CLI WHEN the Automation API checks it against the SDK's version THEN it accepts it", async () => {
    const cli = await ensurePulumiCli({ toolsDir, log: () => undefined });
    const command = await PulumiCommand.get({ root: cli.root, version: new SemVer(sdkVersion()) });
    expect(command.version?.toString()).toBe(sdkVersion());
  });

  it("GIVEN the CLI WHEN its folder is listed THEN the dynamic-provider shim is executable and pins this project's provider", async () => {
    const cli = await ensurePulumiCli({ toolsDir, log: () => undefined });
    const shim = path.join(cli.binDir, "pulumi-resource-pulumi-nodejs");
    await access(shim, constants.X_OK);
    expect(await readFile(shim, "utf8")).toContain(path.join("@pulumi", "pulumi", "cmd", "dynamic-provider"));
  });
});
