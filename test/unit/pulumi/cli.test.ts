import { describe, expect, it } from "vitest";
import { nonLocalReplaces, pseudoVersion } from "../../../src/pulumi/cli.ts";

describe("nonLocalReplaces", () => {
  it("GIVEN pkg/go.mod WHEN parsed THEN keeps only replaces that point at modules, not folders", () => {
    const goMod = [
      "module github.com/pulumi/pulumi/pkg/v3",
      "replace github.com/pulumi/pulumi/sdk/v3 => ../sdk",
      "replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",
      "replace (",
      "  example.com/a => ./a",
      "  example.com/b v1.0.0 => example.com/c v1.2.0",
      "  // a comment",
      ")",
    ].join("\n");
    expect(nonLocalReplaces(goMod)).toEqual([
      "github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",
      "example.com/b v1.0.0 => example.com/c v1.2.0",
    ]);
  });
});

describe("pseudoVersion", () => {
  it("GIVEN a commit time and hash WHEN formatted THEN matches Go's untagged pseudo-version", () => {
    expect(pseudoVersion(3, "2026-08-20T08:44:10Z", "a05d88f24d05726fa3beae771bfdedb0c0c6a94a")).toBe(
      "v3.0.0-20260820084410-a05d88f24d05",
    );
  });
});
