import { describe, expect, it } from "vitest";
import { pickTarget } from "../../../src/app/rollback.ts";
import { UsageError } from "../../../src/errors.ts";
import type { DeploymentRecord } from "../../../src/steps/record.ts";

const r = (id: string, tag: string, status: DeploymentRecord["status"]): DeploymentRecord => ({
  id,
  env: "prod",
  tag,
  imageDigest: `sha256:${tag}`,
  status,
  startedAt: "2026-11-22T00:00:00Z",
  durationMs: 1,
  actor: "a",
  previous: null,
  current: null,
  snapshotId: null,
  steps: [],
});

// Newest first, as the ledger lists them.
const history = [
  r("d5", "v3", "rolled_back"),
  r("d4", "v2", "succeeded"),
  r("d3", "v2", "succeeded"),
  r("d2", "v1", "succeeded"),
  r("d1", "v0", "failed"),
];

describe("pickTarget", () => {
  it("GIVEN no --to WHEN picked THEN the last succeeded deployment of another tag before the current one", () => {
    expect(pickTarget(history, undefined)).toMatchObject({ tag: "v1", expectedDigest: "sha256:v1" });
  });
  it("GIVEN --to a deployment id WHEN picked THEN that deployment's tag and digest", () => {
    expect(pickTarget(history, "d3")).toMatchObject({ tag: "v2", why: "deployment d3" });
  });
  it("GIVEN --to a tag WHEN picked THEN its newest succeeded deployment", () => {
    expect(pickTarget(history, "v1").why).toContain("d2");
  });
  it.each([
    ["d5", /ended rolled_back/],
    ["d1", /ended failed/],
    ["v9", /no succeeded deployment of tag or id "v9"/],
  ])("GIVEN --to %s WHEN picked THEN a UsageError says why", (to, message) => {
    expect(() => pickTarget(history, to)).toThrow(UsageError);
    expect(() => pickTarget(history, to)).toThrow(message);
  });
  it("GIVEN only one succeeded version WHEN picked without --to THEN refused with a hint", () => {
    expect(() => pickTarget([r("d1", "v1", "succeeded")], undefined)).toThrow(
      /no earlier succeeded deployment/,
    );
  });
});
