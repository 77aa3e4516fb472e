import { describe, expect, it } from "vitest";
import { changedPaths, parseOutputs } from "../../../src/pulumi/stack.ts";

describe("changedPaths", () => {
  it.each([
    [{ a: 1 }, { a: 1 }, []],
    [{ a: 1 }, { a: 2 }, ["a"]],
    [{ props: { n: 1, s: "x" } }, { props: { n: 3, s: "x" } }, ["props.n"]],
    [{ a: [1, 2] }, { a: [1, 3] }, ["a"]],
    [{ a: 1 }, { b: 1 }, ["a", "b"]],
    [undefined, { a: 1 }, ["(root)"]],
  ])("GIVEN %j and %j WHEN compared THEN %j", (a, b, expected) => {
    expect(changedPaths(a, b)).toEqual(expected);
  });
});

describe("parseOutputs", () => {
  it("GIVEN outputs missing a key WHEN parsed THEN STACK_OUTPUTS_INVALID names the path", () => {
    expect(() => parseOutputs("dev", { clusterName: "c" })).toThrow(
      /outputs do not satisfy EnvironmentOutputs: services/,
    );
  });
});
