/**
 * buildOnce, the cache of every tool folder under .tools/ (sandbox venv, workflow linters): built at
 * most once, never left half-built.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ToolchainError } from "../../../src/errors.ts";
import { buildOnce, isBuilt, READY_MARKER } from "../../../src/tools/build.ts";

let tools: string;
beforeEach(async () => {
  tools = await mkdtemp(path.join(os.tmpdir(), "gantry-build-"));
});
afterEach(async () => {
  await rm(tools, { recursive: true, force: true });
});

describe("buildOnce", () => {
  it("GIVEN two callers at once WHEN the folder is missing THEN it is built once, and then found in the cache", async () => {
    const dir = path.join(tools, "tool-1.0");
    let builds = 0;
    const build = async (staging: string): Promise<void> => {
      builds += 1;
      await new Promise((r) => setTimeout(r, 50));
      await writeFile(path.join(staging, "tool"), "binary");
    };
    const sources = await Promise.all([
      buildOnce(dir, `${dir}.lock`, build),
      buildOnce(dir, `${dir}.lock`, build),
    ]);
    expect(sources.sort()).toEqual(["built", "cache"]);
    expect(builds).toBe(1);
    expect(await readFile(path.join(dir, "tool"), "utf8")).toBe("binary");
    expect(await isBuilt(dir)).toBe(true);
    expect(await buildOnce(dir, `${dir}.lock`, build)).toBe("cache");
    expect((await readdir(tools)).sort()).toEqual(["tool-1.0"]);
  });

  it("GIVEN a build that fails WHEN building THEN its error passes through and nothing is left", async () => {
    const dir = path.join(tools, "tool-1.0");
    const failure = new ToolchainError("compiler exploded", { code: "TEST_BUILD_FAILED" });
    const err = await buildOnce(dir, `${dir}.lock`, async (staging) => {
      await writeFile(path.join(staging, "half"), "x");
      throw failure;
    }).catch((e: unknown) => e);
    expect(err).toBe(failure);
    expect(await readdir(tools)).toEqual([]);
  });

  it("GIVEN a killed build's staging folder and an unmarked folder WHEN building THEN both are replaced by a complete one", async () => {
    const dir = path.join(tools, "tool-1.0");
    await mkdir(`${dir}.staging-999999`);
    await mkdir(dir);
    await writeFile(path.join(dir, "stale"), "from an interrupted layout");
    const source = await buildOnce(dir, `${dir}.lock`, async (staging) => {
      await writeFile(path.join(staging, "tool"), "binary");
    });
    expect(source).toBe("built");
    expect((await readdir(tools)).sort()).toEqual(["tool-1.0"]);
    expect((await readdir(dir)).sort()).toEqual([READY_MARKER, "tool"]);
  });
});
