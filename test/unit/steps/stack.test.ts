import { describe, expect, it } from "vitest";
import { AwsError, PulumiError } from "../../../src/errors.ts";
import { snapshotStep } from "../../../src/steps/snapshot.ts";
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

  describe("the snapshot alongside the update", () => {
    const signal = new AbortController().signal;

    it("GIVEN an existing stack whose update leaves the database as it is WHEN run THEN the snapshot is started during the update, and the snapshot step only waits for it", async () => {
      const ctx = fakeDeployContext({ established: true });
      ctx.stack.databaseOp = "same";

      await stackStep.run(ctx, signal);

      // The stack step does not wait for RDS: the snapshot step does.
      await ctx.facts.snapshotStart;
      expect(ctx.fake.log.names()).toEqual(["stack.up", "rds.createSnapshot"]);
      expect(ctx.reporter.messages("info")).toContain(
        "snapshot started alongside the stack update (database gantry-sandbox-db unchanged)",
      );
      const taken = await snapshotStep.run(ctx, signal);
      expect(ctx.fake.log.count("rds.createSnapshot")).toBe(1);
      expect(taken.snapshotId).toBe("gantry-sandbox-20261122t100000z-a1b2c3");
      expect(
        (await ctx.journal.read()).filter((e) => e.event === "checkpoint" && e.step === "snapshot"),
      ).toHaveLength(1);
    });

    it.each(["update", "replace"])(
      "GIVEN an update that does %s the database WHEN run THEN no snapshot is started before the update ends",
      async (op) => {
        const ctx = fakeDeployContext({ established: true });
        ctx.stack.databaseOp = op;

        await stackStep.run(ctx, signal);

        expect(ctx.fake.log.count("rds.createSnapshot")).toBe(0);
        expect(ctx.facts.snapshotStart).toBeUndefined();
      },
    );

    it("GIVEN --skip-snapshot, or a first deploy (no stack yet) WHEN the database is left as it is THEN no snapshot is started", async () => {
      const skipped = fakeDeployContext({ established: true, request: { skipSnapshot: true } });
      skipped.stack.databaseOp = "same";
      const first = fakeDeployContext({ environment: { stackDeployed: false } });
      first.stack.databaseOp = "same";

      await stackStep.run(skipped, signal);
      await stackStep.run(first, signal);

      expect(skipped.fake.log.count("rds.createSnapshot") + first.fake.log.count("rds.createSnapshot")).toBe(
        0,
      );
    });

    it("GIVEN the early CreateDBSnapshot fails WHEN the snapshot step runs THEN it fails with that error", async () => {
      const ctx = fakeDeployContext({ established: true });
      ctx.stack.databaseOp = "same";
      const refused = new AwsError("snapshot quota exceeded", { code: "AWS_SnapshotQuotaExceeded" });
      ctx.ports.rds.createSnapshot = () => Promise.reject(refused);

      await stackStep.run(ctx, signal);

      await expect(snapshotStep.run(ctx, signal)).rejects.toBe(refused);
      expect(ctx.reporter.messages("warn")).toEqual([
        "could not start the snapshot early: snapshot quota exceeded",
      ]);
    });
  });
});
