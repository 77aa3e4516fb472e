import { describe, expect, it } from "vitest";
import { PulumiError } from "../../../src/errors.ts";
import { stackStep } from "../../../src/steps/stack.ts";
import { fakeDeployContext } from "../../fakes/context.ts";

describe("stack step", () => {
  it("GIVEN an update that changes resources WHEN run THEN the new outputs are stored and the change summary reported", async () => {
    const ctx = fakeDeployContext({ environment: { stackDeployed: false } });
    ctx.stack.next = {
      ...ctx.fake.outputs,
      alarmNames: ["gantry-sandbox-web-5xx", "gantry-sandbox-web-cpu"],
    };
    ctx.stack.changeSummary = { create: 2, update: 1, same: 9 };

    await stackStep.run(ctx, new AbortController().signal);

    expect(ctx.facts.outputs).toEqual(ctx.stack.next);
    expect(ctx.reporter.messages("info")).toEqual(["stack sandbox: 2 create, 1 update"]);
    expect(ctx.reporter.events).toContainEqual({ type: "engine", line: "Updating (sandbox):" });
    expect(ctx.reporter.events).not.toContainEqual({ type: "engine", line: "" });
  });

  it("GIVEN an update with nothing to change WHEN run THEN it says so", async () => {
    const ctx = fakeDeployContext();

    await stackStep.run(ctx, new AbortController().signal);

    expect(ctx.reporter.messages("info")).toEqual(["stack sandbox: no changes"]);
    expect(ctx.facts.outputs).toEqual(ctx.fake.outputs);
  });

  it("GIVEN --plan FILE WHEN run THEN the update is constrained to that saved plan", async () => {
    const ctx = fakeDeployContext({ request: { planFile: "/tmp/sandbox.plan.json" } });

    await stackStep.run(ctx, new AbortController().signal);

    expect(ctx.fake.log.argsOf("stack.up")[0]?.[1]).toEqual({ plan: "/tmp/sandbox.plan.json" });
    expect(ctx.reporter.messages("info")[0]).toBe(
      "stack sandbox: applying the saved plan /tmp/sandbox.plan.json",
    );
  });

  it("GIVEN no --plan WHEN run THEN the update is unconstrained", async () => {
    const ctx = fakeDeployContext();

    await stackStep.run(ctx, new AbortController().signal);

    expect(ctx.fake.log.argsOf("stack.up")[0]?.[1]).toEqual({});
  });

  it("GIVEN the engine fails WHEN run THEN its typed error propagates unchanged and no outputs are stored", async () => {
    const ctx = fakeDeployContext();
    const failure = new PulumiError("stack sandbox is locked by another update", {
      code: "STACK_LOCKED",
      hint: "pulumi cancel -s sandbox",
    });
    ctx.stack.upFailure = failure;

    await expect(stackStep.run(ctx, new AbortController().signal)).rejects.toBe(failure);
    expect(ctx.facts.outputs).toBeUndefined();
  });

  it("GIVEN an update in flight WHEN the deploy is interrupted THEN the step's signal reaches the engine and the update stops", async () => {
    const ctx = fakeDeployContext();
    ctx.stack.upHangs = true;
    const controller = new AbortController();

    const running = stackStep.run(ctx, controller.signal);
    controller.abort(new Error("SIGINT"));

    await expect(running).rejects.toMatchObject({ code: "STACK_UP_CANCELLED" });
    expect(ctx.stack.upSignals).toEqual([controller.signal]);
    expect(ctx.facts.outputs).toBeUndefined();
  });
});
