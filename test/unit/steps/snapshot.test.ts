import { describe, expect, it } from "vitest";
import { AwsError } from "../../../src/errors.ts";
import { PRE_DEPLOY_TAG, snapshotId, snapshotStep } from "../../../src/steps/snapshot.ts";
import { fakeDeployContext } from "../../fakes/context.ts";

const signal = new AbortController().signal;
const OURS = "gantry-sandbox-20261122t100000z-a1b2c3";
const DB = "gantry-sandbox-db";

const preDeploy = (env: string, deployment: string): Record<string, string> => ({
  [PRE_DEPLOY_TAG]: "true",
  "gantry:env": env,
  "gantry:tag": "v0",
  "gantry:deployment": deployment,
});

describe("snapshotId", () => {
  it.each([
    ["sandbox", "20261122T100000Z-a1b2c3", OURS],
    ["prod", "20261122T101500Z-3f9a1c", "gantry-prod-20261122t101500z-3f9a1c"],
    ["dev", "Weird__id..x", "gantry-dev-weird-id-x"],
  ])("GIVEN env %s and deployment %s THEN the id is %s (RDS's alphabet)", (env, deployment, id) => {
    expect(snapshotId(env, deployment)).toBe(id);
  });
});

describe("snapshot step", () => {
  it("GIVEN a deploy WHEN run THEN a snapshot named from the deployment id and tagged as pre-deploy is taken, awaited, and its restore command noted", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.rds.settleAfter = 3;

    const taken = await snapshotStep.run(ctx, signal);

    expect(ctx.fake.log.argsOf("rds.createSnapshot")).toEqual([
      [
        DB,
        OURS,
        {
          [PRE_DEPLOY_TAG]: "true",
          "gantry:env": "sandbox",
          "gantry:tag": "v2.0.0",
          "gantry:deployment": "20261122T100000Z-a1b2c3",
        },
      ],
    ]);
    // creating, creating, creating, then available on the 4th look
    expect(ctx.fake.log.count("rds.describeSnapshot")).toBe(4);
    expect(ctx.reporter.messages("progress").at(0)).toMatch(new RegExp(`^snapshot ${OURS} creating \\d+%$`));
    expect(taken).toEqual({
      snapshotId: OURS,
      restoreCommand: `aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier ${OURS} --db-instance-identifier ${DB}-restored`,
    });
  });

  it("GIVEN the step ran before for this deployment WHEN rerun THEN it finds that snapshot instead of taking another", async () => {
    const ctx = fakeDeployContext({ established: true });
    await snapshotStep.run(ctx, signal);

    const again = await snapshotStep.run(ctx, signal);

    expect(ctx.ports.rds.ids(DB)).toEqual([OURS]);
    expect(again.snapshotId).toBe(OURS);
  });

  it("GIVEN a snapshot that stays creating WHEN the deadline passes THEN SNAPSHOT_TIMEOUT, and nothing is recorded or pruned", async () => {
    const ctx = fakeDeployContext({ established: true, timing: { snapshotTimeoutMs: 40 } });
    ctx.ports.rds.outcome = "hold";
    ctx.ports.rds.seed("gantry-sandbox-old", DB, preDeploy("sandbox", "old"));

    const err = await snapshotStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "StepError", code: "SNAPSHOT_TIMEOUT" });
    expect((err as Error).message).toMatch(
      new RegExp(`^snapshot ${OURS} not available after \\d+ s \\(timeout\\)$`),
    );
    expect(ctx.fake.log.count("rds.deleteSnapshot")).toBe(0);
  });

  it("GIVEN RDS fails the snapshot WHEN awaited THEN SNAPSHOT_FAILED", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.rds.outcome = "failed";

    await expect(snapshotStep.run(ctx, signal)).rejects.toMatchObject({
      code: "SNAPSHOT_FAILED",
      message: `snapshot ${OURS} is failed`,
    });
  });

  it("GIVEN a snapshot being created WHEN the deploy is interrupted THEN the wait ends as ABORTED", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.rds.outcome = "hold";
    const controller = new AbortController();

    const running = snapshotStep.run(ctx, controller.signal);
    await ctx.fake.log.next("rds.describeSnapshot");
    controller.abort(new Error("SIGINT"));

    await expect(running).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("GIVEN older snapshots of this env, another env and by hand WHEN the snapshot is taken THEN only this env's pre-deploy snapshots beyond the retention are deleted", async () => {
    const ctx = fakeDeployContext({
      established: true,
      gantry: { snapshot: { enabled: true, retention: 3 } },
    });
    const rds = ctx.ports.rds;
    rds.seed("gantry-sandbox-d1", DB, preDeploy("sandbox", "d1")); // oldest
    rds.seed("manual-before-upgrade", DB, {});
    rds.seed("gantry-sandbox-d2", DB, preDeploy("sandbox", "d2"));
    rds.seed("gantry-staging-s1", DB, preDeploy("staging", "s1"));
    rds.seed("gantry-sandbox-d3", DB, preDeploy("sandbox", "d3"));
    rds.seed("gantry-sandbox-d4", DB, preDeploy("sandbox", "d4")); // newest before ours

    await snapshotStep.run(ctx, signal);

    expect(ctx.fake.log.argsOf("rds.deleteSnapshot")).toEqual([["gantry-sandbox-d2"], ["gantry-sandbox-d1"]]);
    expect(rds.ids(DB)).toEqual([
      OURS,
      "gantry-sandbox-d4",
      "gantry-sandbox-d3",
      "gantry-staging-s1",
      "manual-before-upgrade",
    ]);
    expect(ctx.reporter.messages("info")).toContain(
      "pruned pre-deploy snapshot gantry-sandbox-d1 (retention 3)",
    );
  });

  it("GIVEN older snapshots that cannot be pruned WHEN the snapshot is taken THEN a warning, and the step still hands over its restore point", async () => {
    const ctx = fakeDeployContext({
      established: true,
      gantry: { snapshot: { enabled: true, retention: 1 } },
    });
    ctx.ports.rds.seed("gantry-sandbox-d1", DB, preDeploy("sandbox", "d1"));
    ctx.ports.rds.deleteSnapshot = () =>
      Promise.reject(new AwsError("not authorized to delete", { code: "AWS_ACCESS_DENIED" }));

    const taken = await snapshotStep.run(ctx, signal);

    expect(taken.snapshotId).toBe(OURS);
    expect(ctx.ports.rds.ids(DB)).toEqual([OURS, "gantry-sandbox-d1"]);
    expect(ctx.reporter.messages("warn")).toEqual([
      "could not prune older pre-deploy snapshots: not authorized to delete",
    ]);
  });

  it("GIVEN retention 0 WHEN the snapshot is taken THEN this deploy's own snapshot is kept (it is the restore point)", async () => {
    const ctx = fakeDeployContext({
      established: true,
      gantry: { snapshot: { enabled: true, retention: 0 } },
    });
    ctx.ports.rds.seed("gantry-sandbox-d1", DB, preDeploy("sandbox", "d1"));

    await snapshotStep.run(ctx, signal);

    expect(ctx.ports.rds.ids(DB)).toEqual([OURS]);
  });

  it("GIVEN the stack step has not run WHEN run THEN NO_OUTPUTS and no snapshot is taken", async () => {
    const ctx = fakeDeployContext();

    await expect(snapshotStep.run(ctx, signal)).rejects.toMatchObject({ code: "NO_OUTPUTS" });
    expect(ctx.fake.log.count("rds.createSnapshot")).toBe(0);
  });
});
