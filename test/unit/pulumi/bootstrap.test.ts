/**
 * The bootstrap's failure paths with real processes: a missing Go toolchain, a failing Go build
 * and a missing Python each fail with one clear error and leave nothing half-installed.
 */
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ToolchainError } from "../../../src/errors.ts";
import { cacheRoot, ensurePulumiCli, sdkVersion } from "../../../src/pulumi/cli.ts";
import { ensureSandboxVenv } from "../../../src/sandbox/venv.ts";
import { which } from "../../../src/tools/exec.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gantry-boot-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ensurePulumiCli failure paths", () => {
  it("GIVEN no pulumi, no cache, no install and no Go WHEN bootstrapping THEN one error lists every reason", async () => {
    const logs: string[] = [];
    const err = await ensurePulumiCli({
      toolsDir: dir,
      log: (l) => logs.push(l),
      allowInstall: false,
      env: { PATH: path.join(dir, "empty-bin") },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolchainError);
    const e = err as ToolchainError;
    expect(e.code).toBe("PULUMI_CLI_UNAVAILABLE");
    expect(e.message).toMatch(
      /PATH: no `pulumi` on PATH; cache: nothing at .*; install: disabled; go build: Go is not installed/,
    );
    expect(e.hint).toMatch(/install Pulumi CLI v3\.\d+\.\d+ on PATH, or install Go/);
    expect(logs.every((l) => !l.includes("\n"))).toBe(true);
    expect(await readdir(path.join(dir, "pulumi"))).toEqual([]);
  });

  it("GIVEN a cached CLI of another version WHEN bootstrapping THEN it is removed and the reason names what it is", async () => {
    const bin = path.join(cacheRoot(dir, sdkVersion()), "bin");
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, "pulumi"), "#!/bin/sh\necho v3.1.0\n");
    await chmod(path.join(bin, "pulumi"), 0o755);
    const err = await ensurePulumiCli({
      toolsDir: dir,
      log: () => undefined,
      allowInstall: false,
      env: { PATH: path.join(dir, "empty-bin") },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolchainError);
    expect((err as Error).message).toMatch(
      /cache: .*bin\/pulumi is .*3\.1\.0.*; removed it; install: disabled/,
    );
    expect(await readdir(path.join(dir, "pulumi"))).toEqual([]);
  });

  it("GIVEN a Go build that fails WHEN bootstrapping THEN the error says why and no binary is cached", async () => {
    const go = await which("go");
    expect(go, "this test needs Go on PATH (it is how CI builds the CLI)").toBeDefined();
    const err = await ensurePulumiCli({
      toolsDir: dir,
      log: () => undefined,
      allowInstall: false,
      ignorePath: true,
      // The module proxy switched off and an empty module cache: the first download fails.
      env: { ...process.env, GOPROXY: "off", GOMODCACHE: path.join(dir, "modcache"), GOFLAGS: "-modcacherw" },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolchainError);
    expect((err as Error).message).toMatch(
      /go build: go mod download github.com\/pulumi\/pulumi\/pkg\/v3@v3\.\d+\.\d+: .*GOPROXY=off/,
    );
    const left = await readdir(path.join(dir, "pulumi"));
    expect(left).toEqual([]);
  });
});

describe("ensureSandboxVenv failure paths", () => {
  it("GIVEN no Python on PATH WHEN creating the environment THEN PYTHON_MISSING with an install hint and nothing left", async () => {
    const err = await ensureSandboxVenv(dir, () => undefined, path.join(dir, "empty-bin")).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolchainError);
    expect((err as ToolchainError).code).toBe("PYTHON_MISSING");
    expect((err as ToolchainError).hint).toContain("python3-venv");
    expect(await readdir(dir)).toEqual([]);
  });
});
