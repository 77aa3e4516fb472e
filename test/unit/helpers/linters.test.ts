/**
 * The workflow linters' helper (test/helpers/linters.ts): its failure path when Go is missing.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ToolchainError } from "../../../src/errors.ts";
import { ensureActionlint } from "../../helpers/linters.ts";

let tools: string;
beforeEach(async () => {
  tools = await mkdtemp(path.join(os.tmpdir(), "gantry-linters-"));
});
afterEach(async () => {
  await rm(tools, { recursive: true, force: true });
});

describe("ensureActionlint", () => {
  it("GIVEN no Go on PATH and no cached build WHEN asked for actionlint THEN GO_MISSING with an install hint and nothing cached", async () => {
    const err = await ensureActionlint({
      toolsDir: tools,
      log: () => undefined,
      env: { PATH: path.join(tools, "empty-bin") },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolchainError);
    expect((err as ToolchainError).code).toBe("GO_MISSING");
    expect((err as ToolchainError).hint).toMatch(/install Go >= 1\.25/);
    // The lock's parent folder stays, empty: no build, staging folder or lock is left in it.
    expect(await readdir(path.join(tools, "actionlint"))).toEqual([]);
  });
});
