import { afterEach, describe, expect, it, vi } from "vitest";
import { containerVersion } from "../../../src/aws/taskDefinition.ts";
import { AwsError } from "../../../src/errors.ts";
import { migrateStep } from "../../../src/steps/migrate.ts";
import { fakeDeployContext } from "../../fakes/context.ts";

const signal = new AbortController().signal;

afterEach(() => {
  vi.useRealTimers();
});

describe("migrate step", () => {
  it("GIVEN a migration that exits 0 WHEN run THEN one task of a new migration revision with the release's digest runs the configured command in the stack's network", async () => {
    const ctx = fakeDeployContext({ established: true });

    await migrateStep.run(ctx, signal);

    const [task] = ctx.ports.ecs.taskList();
    expect(ctx.ports.ecs.taskList()).toHaveLength(1);
    expect(task).toMatchObject({
      taskDefinition: expect.stringMatching(/task-definition\/gantry-sandbox-migrate:2$/) as unknown,
      command: ["npm", "run", "migrate"],
      startedBy: "gantry/20261122T100000Z-a1b2c3",
      lastStatus: "STOPPED",
      exitCode: 0,
    });
    const revision = ctx.ports.ecs.definition(task?.taskDefinition ?? "");
    expect(revision?.containerDefinitions?.[0]?.image).toBe(ctx.fake.images.image("v2.0.0").imageUri);
    expect(containerVersion(revision ?? {}, "migrate")).toBe("v2.0.0");
    expect(ctx.fake.log.argsOf("ecs.runTask")[0]?.[0]).toMatchObject({
      cluster: "gantry-sandbox",
      containerName: "migrate",
      subnets: ["subnet-0a", "subnet-0b"],
      securityGroups: ["sg-0migrate"],
    });
    expect(ctx.reporter.messages("info").at(-1)).toBe("migration exited 0");
    expect(ctx.fake.log.count("ecs.stopTask")).toBe(0);
    const checkpoints = (await ctx.journal.read()).filter((e) => e.event === "checkpoint");
    expect(checkpoints).toContainEqual(
      expect.objectContaining({
        step: "migrate",
        data: { cluster: "gantry-sandbox", taskArn: task?.taskArn },
      }),
    );
  });

  it("GIVEN a migration that exits 1 WHEN run THEN MIGRATION_FAILED with the stop reason and the last log line, and the log tail is shown", async () => {
    const ctx = fakeDeployContext({ established: true });
    const logs = [
      ...Array.from({ length: 24 }, (_, i) => `step ${String(i + 1)}`),
      'ERROR: relation "users" already exists',
    ];
    ctx.ports.ecs.taskExitFor = () => ({
      kind: "exit",
      exitCode: 1,
      stoppedReason: "Essential container in task exited",
      logs,
    });

    const err = await migrateStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "StepError", code: "MIGRATION_FAILED", source: "user" });
    expect((err as Error).message).toBe(
      'migration failed: exit code 1 (Essential container in task exited); last log line: ERROR: relation "users" already exists',
    );
    const taskId = ctx.ports.ecs.taskList()[0]?.taskArn.split("/").at(-1) ?? "";
    expect(ctx.fake.log.argsOf("logs.tail")).toEqual([
      ["/gantry/sandbox/migrate", `gantry/migrate/${taskId}`, 20],
    ]);
    const shown = ctx.reporter.messages("info").filter((m) => m.startsWith("  migration log: "));
    expect(shown).toEqual(logs.slice(-20).map((l) => `  migration log: ${l}`));
  });

  it("GIVEN a migration container that never ran (its image could not be pulled) WHEN run THEN MIGRATION_FAILED with no exit code and ECS's reason", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.ecs.taskExitFor = () => ({
      kind: "exit",
      exitCode: undefined,
      stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
    });

    await expect(migrateStep.run(ctx, signal)).rejects.toMatchObject({
      code: "MIGRATION_FAILED",
      message:
        "migration failed: exit code none (CannotPullContainerError: pull image manifest has been retried 5 time(s))",
    });
  });

  it("GIVEN ECS cannot start the task WHEN run THEN RunTask's typed error propagates and nothing is awaited or stopped", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.ecs.runTaskFailure = "RESOURCE:ENI";

    await expect(migrateStep.run(ctx, signal)).rejects.toMatchObject({
      code: "ECS_RUN_TASK_FAILED",
      message: "RunTask started no task: RESOURCE:ENI",
    });
    expect(ctx.fake.log.count("ecs.describeTask")).toBe(0);
    expect(ctx.fake.log.count("ecs.stopTask")).toBe(0);
  });

  it("GIVEN a migration that never ends WHEN its timeout passes (fake time) THEN its task is stopped and the step fails with MIGRATION_TIMEOUT", async () => {
    const ctx = fakeDeployContext({
      established: true,
      gantry: { migration: { command: ["sleep"], timeoutSeconds: 1 } },
    });
    ctx.ports.ecs.taskExitFor = () => ({ kind: "hold" });
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });

    const running = migrateStep.run(ctx, signal).catch((e: unknown) => e);
    await ctx.fake.log.next("ecs.describeTask"); // the wait and its deadline have started
    await vi.advanceTimersByTimeAsync(1000);
    const err = await running;

    expect(err).toMatchObject({ code: "MIGRATION_TIMEOUT" });
    expect((err as Error).message).toBe("migration did not finish within 1 s: its task was stopped");
    const [task] = ctx.ports.ecs.taskList();
    expect(ctx.fake.log.argsOf("ecs.stopTask")).toEqual([
      ["gantry-sandbox", task?.taskArn, "gantry: migration timed out"],
    ]);
    expect(task?.lastStatus).toBe("STOPPED");
  });

  it("GIVEN a migration running WHEN the deploy is interrupted THEN its task is stopped and the step fails as ABORTED", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.ecs.taskExitFor = () => ({ kind: "hold" });
    const controller = new AbortController();

    const running = migrateStep.run(ctx, controller.signal);
    await ctx.fake.log.next("ecs.describeTask");
    controller.abort(new Error("SIGINT"));

    await expect(running).rejects.toMatchObject({
      code: "ABORTED",
      message: "migration interrupted: its task was stopped",
    });
    expect(ctx.fake.log.argsOf("ecs.stopTask").map((a) => a[2])).toEqual(["gantry: deploy interrupted"]);
    expect(ctx.ports.ecs.taskList()[0]?.stopCode).toBe("UserInitiated");
  });

  it("GIVEN a migration running WHEN describing its task fails THEN that error fails the step and the task is stopped", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.ecs.taskExitFor = () => ({ kind: "hold" });
    const failure = new AwsError("DescribeTasks failed: Rate exceeded", { code: "AWS_ThrottlingException" });
    vi.spyOn(ctx.ports.ecs, "describeTask").mockRejectedValue(failure);

    const err = await migrateStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toBe(failure);
    const [task] = ctx.ports.ecs.taskList();
    expect(ctx.fake.log.argsOf("ecs.stopTask")).toEqual([
      ["gantry-sandbox", task?.taskArn, "gantry: migration step failed"],
    ]);
    expect(task).toMatchObject({ lastStatus: "STOPPED", stopCode: "UserInitiated" });
  });

  it("GIVEN a migration running WHEN describing its task fails and stopping it fails too THEN the first error fails the step and a warning names the task left running", async () => {
    const ctx = fakeDeployContext({ established: true });
    ctx.ports.ecs.taskExitFor = () => ({ kind: "hold" });
    const failure = new AwsError("DescribeTasks failed: Rate exceeded", { code: "AWS_ThrottlingException" });
    vi.spyOn(ctx.ports.ecs, "describeTask").mockRejectedValue(failure);
    vi.spyOn(ctx.ports.ecs, "stopTask").mockRejectedValue(
      new AwsError("StopTask failed: Access denied", { code: "AWS_AccessDeniedException" }),
    );

    const err = await migrateStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toBe(failure);
    const taskArn = ctx.ports.ecs.taskList()[0]?.taskArn ?? "";
    expect(ctx.reporter.messages("warn")).toEqual([
      `could not stop migration task ${taskArn.split("/").at(-1) ?? ""} (StopTask failed: Access denied): stop it with aws ecs stop-task --cluster gantry-sandbox --task ${taskArn}`,
    ]);
  });

  it.each([
    { given: "the stack step has not run", established: [] as const, code: "NO_OUTPUTS" },
    { given: "preflight has not resolved the image", established: ["outputs"] as const, code: "NO_IMAGE" },
  ])("GIVEN $given WHEN run THEN $code and no task runs", async ({ established, code }) => {
    const ctx = fakeDeployContext();
    if (established.length) ctx.facts.outputs = ctx.fake.outputs;

    await expect(migrateStep.run(ctx, signal)).rejects.toMatchObject({ code });
    expect(ctx.fake.log.count("ecs.runTask")).toBe(0);
  });
});
