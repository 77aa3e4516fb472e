/**
 * The Pulumi error classifier (src/pulumi/classify.ts): engine failures as the Automation API
 * reports them (CommandErrors built by the SDK's own constructor) become typed PulumiErrors.
 */
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation/index.js";
import { describe, expect, it } from "vitest";
import { classify, planViolation } from "../../../src/pulumi/classify.ts";
import { PulumiError } from "../../../src/errors.ts";
import { CANCELLED_UP, failedCommand, LOCKED } from "./engine-failures.ts";

describe("classify", () => {
  it("GIVEN an update gantry itself cancelled (its signal fired) WHEN classified THEN it reads as cancelled, not as someone else's pending operations", () => {
    const err = failedCommand(CANCELLED_UP);

    const own = classify(err, { action: "up", stackName: "sandbox", cancelled: true });

    expect(own).toBeInstanceOf(PulumiError);
    expect(own).toMatchObject({
      code: "STACK_UP_CANCELLED",
      message: "pulumi up of stack sandbox was cancelled: gantry was interrupted",
      cause: err,
    });
    expect(own.hint).not.toContain("pulumi refresh");
  });

  it("GIVEN the same engine text from an update gantry did not cancel WHEN classified THEN it is the pending operations of an interrupted update", () => {
    const foreign = classify(failedCommand(CANCELLED_UP), { action: "up", stackName: "sandbox" });

    expect(foreign).toMatchObject({
      code: "STACK_PENDING_OPERATIONS",
      hint: "pulumi refresh --clear-pending-creates -s sandbox",
    });
  });

  it("GIVEN another process holds the stack's lock WHEN classified THEN STACK_LOCKED, unless gantry had cancelled the run itself", () => {
    const err = failedCommand("", LOCKED);
    expect(err).toBeInstanceOf(ConcurrentUpdateError);

    expect(classify(err, { action: "up", stackName: "prod" }).code).toBe("STACK_LOCKED");
    expect(classify(err, { action: "up", stackName: "prod", cancelled: true }).code).toBe(
      "STACK_UP_CANCELLED",
    );
  });

  it("GIVEN a cancelled preview or destroy WHEN classified THEN the code names that action", () => {
    const err = failedCommand("error: preview canceled");

    expect(classify(err, { action: "preview", stackName: "dev", cancelled: true }).code).toBe(
      "STACK_PREVIEW_CANCELLED",
    );
    expect(classify(err, { action: "destroy", stackName: "dev", cancelled: true }).code).toBe(
      "STACK_DESTROY_CANCELLED",
    );
  });

  it("GIVEN a typed error from inside the adapter WHEN classified THEN it passes through unchanged, cancelled or not", () => {
    const invalid = new PulumiError(
      "stack dev outputs do not satisfy EnvironmentOutputs: services: Required",
      {
        code: "STACK_OUTPUTS_INVALID",
      },
    );

    expect(classify(invalid, { action: "up", stackName: "dev", cancelled: true })).toBe(invalid);
  });

  it("GIVEN an engine error with no known cause WHEN classified THEN STACK_<ACTION>_FAILED with the engine's first error", () => {
    const failed = classify(failedCommand("error: sandbox refused service api: HTTP 500"), {
      action: "up",
      stackName: "dev",
    });

    expect(failed).toMatchObject({
      code: "STACK_UP_FAILED",
      message: "pulumi up of stack dev failed: sandbox refused service api: HTTP 500",
    });
  });
});

describe("planViolation", () => {
  it("GIVEN the engine's plan violation (real v3.259 text) WHEN summarized THEN the resource and property names, no values", () => {
    const text = [
      '    pulumi:providers:pulumi-nodejs default  error: resource urn:pulumi:sandbox::platform::pulumi:providers:pulumi-nodejs::default violates plan: properties changed: ~=platform:services[{[{"name":"api","desiredCount":3}]}!={[{"name":"api","desiredCount":2}]}], ~=platform:repositoryName[{app}!={web}]',
      "    pulumi:providers:pulumi-nodejs default **failed** 1 error",
    ].join("\n");
    const line = planViolation(text);
    expect(line).toBe("default: properties changed: platform:services, platform:repositoryName");
    expect(line).not.toContain("desiredCount");
  });

  it("GIVEN an operation the plan does not allow WHEN summarized THEN it says which", () => {
    expect(
      planViolation("error: delete is not allowed by the plan: no steps were expected for this resource"),
    ).toBe("a resource: delete is not allowed by the plan: no steps were expected for this resource");
  });

  it("GIVEN an unrelated failure WHEN summarized THEN undefined", () => {
    expect(planViolation("error: sandbox refused service api: HTTP 500")).toBeUndefined();
  });
});
