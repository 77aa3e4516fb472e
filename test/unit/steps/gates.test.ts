import { afterEach, describe, expect, it, vi } from "vitest";
import { nextRevision } from "../../../src/aws/taskDefinition.ts";
import { MAX_POLL_INTERVAL_MS } from "../../../src/checks/poll.ts";
import { AwsError } from "../../../src/errors.ts";
import { gatesStep } from "../../../src/steps/gates.ts";
import { type FakeContextOverrides, type FakeDeployContext, fakeDeployContext } from "../../fakes/context.ts";

const signal = new AbortController().signal;

/**
 * What the release step leaves behind, made through the fake's own API (not the release step):
 * every service has a deployment of v2.0.0 in progress, recorded in the facts.
 */
async function releasedContext(overrides: FakeContextOverrides = {}): Promise<FakeDeployContext> {
  const ctx = fakeDeployContext({ established: true, ...overrides });
  const { ecs } = ctx.ports;
  for (const svc of ctx.fake.outputs.services) {
    const previous = ctx.fake.initialTaskDefinitions[svc.name] ?? "";
    const next = ecs.seedTaskDefinition(
      nextRevision(
        ecs.definition(previous) ?? {},
        svc.containerName,
        ctx.fake.images.image("v2.0.0").imageUri,
        "v2.0.0",
      ),
    );
    const deploymentId = await ecs.updateService(ctx.fake.outputs.clusterName, svc.serviceName, next);
    ctx.facts.releases.push({
      name: svc.name,
      serviceName: svc.serviceName,
      containerName: svc.containerName,
      image: "app",
      tag: "v2.0.0",
      digest: ctx.fake.images.image("v2.0.0").digest,
      previousTaskDefinition: previous,
      previousTag: "v1.0.0",
      desiredCount: 2,
      newTaskDefinition: next,
      deploymentId,
    });
  }
  return ctx;
}

const webDeployment = (ctx: FakeDeployContext): string =>
  ctx.facts.releases.find((r) => r.name === "web")?.deploymentId ?? "";

afterEach(() => {
  vi.useRealTimers();
});

describe("gates step", () => {
  it("GIVEN rollouts that complete with healthy targets, the new version served and quiet alarms WHEN run THEN the gates pass", async () => {
    const ctx = await releasedContext();

    await gatesStep.run(ctx, signal);

    expect(ctx.reporter.messages("info").at(-1)).toMatch(
      /^gates passed: rollout COMPLETED .*2\/2 new targets healthy.*http:\/\/127\.0\.0\.1:9\/web\/health 200, version=v2\.0\.0.*1 alarms OK$/,
    );
    // Progress: one short line per service (each shown again only when it changes), then alarms.
    const progress = ctx.reporter.messages("progress");
    for (const service of ["api", "web"]) {
      expect(progress).toContainEqual(
        expect.stringMatching(new RegExp(`^rollout: ${service}: rollout IN_PROGRESS`)),
      );
    }
    expect(
      progress.every(
        (line) => !line.includes("\n") && (line.match(/rollout (IN_PROGRESS|COMPLETED)/g) ?? []).length <= 1,
      ),
    ).toBe(true);
    expect(new Set(progress).size).toBe(progress.length);
    // health is checked in the bake window only, once the rollout completed
    expect(ctx.fake.log.argsOf("http.get").map((a) => a[0])).toEqual([
      "http://127.0.0.1:9/web/health",
      "http://127.0.0.1:9/api/health",
    ]);
  });

  describe.each([
    {
      given: "a rollout the circuit breaker fails",
      arrange: (ctx: FakeDeployContext) => {
        ctx.ports.ecs.fail("gantry-sandbox-web", "ECS deployment circuit breaker: tasks failed to start.", {
          rollback: false,
        });
      },
      code: "ROLLOUT_FAILED",
      message: "gate failed: ECS deployment circuit breaker: tasks failed to start.",
    },
    {
      given: "a rollout ECS failed and is rolling back",
      arrange: (ctx: FakeDeployContext) => {
        ctx.ports.ecs.fail("gantry-sandbox-web", "ECS deployment circuit breaker: tasks failed to start.", {
          rollback: true,
        });
      },
      code: "ROLLOUT_FAILED",
      message: "gate failed: ECS deployment circuit breaker: tasks failed to start.",
    },
    {
      given: "the released deployment disappeared",
      arrange: (ctx: FakeDeployContext) => {
        ctx.ports.ecs.forget("gantry-sandbox-web", webDeployment(ctx));
      },
      code: "ECS_ROLLED_BACK",
      message: /^gate failed: deployment ecs-svc\/\d+ is no longer listed: ECS rolled it back/,
    },
    {
      given: "new targets that turn unhealthy",
      arrange: (ctx: FakeDeployContext) => {
        ctx.ports.ecs.setTargets(
          "gantry-sandbox-api",
          "unhealthy",
          "Health checks failed with these codes: [502]",
        );
      },
      code: "TARGETS_UNHEALTHY",
      message: "gate failed: api: 2 of 2 new targets unhealthy: Health checks failed with these codes: [502]",
    },
    {
      given: "a health endpoint answering 500",
      arrange: (ctx: FakeDeployContext) => {
        ctx.fake.healthFaults.set("v2.0.0", { status: 500 });
      },
      code: "HEALTH_HTTP",
      message: "gate failed: http://127.0.0.1:9/web/health answered HTTP 500",
    },
    {
      given: "a health endpoint serving the wrong version",
      arrange: (ctx: FakeDeployContext) => {
        ctx.fake.healthFaults.set("v2.0.0", { status: 200, body: { version: "v1.9.9" } });
      },
      code: "HEALTH_VERSION",
      message: 'gate failed: http://127.0.0.1:9/web/health serves version="v1.9.9", expected "v2.0.0"',
    },
    {
      given: "an alarm that goes off during the rollout",
      arrange: (ctx: FakeDeployContext) => {
        ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "7 errors in 1 minute");
      },
      code: "ALARM",
      message: "gate failed: gantry-sandbox-web-5xx in ALARM (7 errors in 1 minute)",
    },
    {
      given: "a rollout that never completes",
      arrange: (ctx: FakeDeployContext) => {
        ctx.ports.ecs.settleAfter = Number.POSITIVE_INFINITY;
      },
      code: "GATE_TIMEOUT",
      message: /^gate failed: rollout IN_PROGRESS .* \(deadline reached\)$/,
    },
  ])("GIVEN $given", ({ arrange, code, message }) => {
    it(`WHEN the gates run THEN they fail with ${code}, saying why`, async () => {
      const ctx = await releasedContext({ timing: { rolloutTimeoutMs: 80 } });
      arrange(ctx);

      const err = await gatesStep.run(ctx, signal).catch((e: unknown) => e);

      expect(err).toMatchObject({ name: "StepError", code });
      expect((err as Error).message).toMatch(message);
      expect((err as { hint?: string }).hint).toBe(
        "the release is rolled back automatically; see gantry status",
      );
    });
  });

  it("GIVEN a rollout the circuit breaker fails, its tasks stopped for two reasons WHEN the gates run THEN the failure names ECS's reason, why the tasks stopped and the service's last events, on one line", async () => {
    const ctx = await releasedContext();
    const { ecs } = ctx.ports;
    ecs.say("gantry-sandbox-web", "has started 2 tasks: (task a) (task b).");
    ecs.stopTaskOf("gantry-sandbox-web", "Essential container in task exited (exit code 1)");
    ecs.fail("gantry-sandbox-web", "ECS deployment circuit breaker: tasks failed to start.", {
      rollback: true,
    });
    const failed = webDeployment(ctx);
    const rollback = ecs.peek("gantry-sandbox-web")?.deployments[0]?.id ?? "";

    const err = await gatesStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({
      code: "ROLLOUT_FAILED",
      message:
        "gate failed: ECS deployment circuit breaker: tasks failed to start." +
        " — stopped tasks: Essential container in task exited (exit code 1) | Task failed ELB health checks in (target-group app)" +
        ` — last events: (service gantry-sandbox-web) (deployment ${failed}) deployment failed: tasks failed to start.` +
        ` | (service gantry-sandbox-web) rolling back to deployment ${rollback}.`,
    });
    // One more ECS read, once the rollout failed, for the service that failed.
    expect(ctx.fake.log.argsOf("ecs.stoppedTaskReasons")).toEqual([
      ["gantry-sandbox", "gantry-sandbox-web", failed],
    ]);
  });

  it("GIVEN a FAILED rollout whose stopped tasks cannot be read WHEN the gates run THEN they still fail with ROLLOUT_FAILED, the stop reasons unknown", async () => {
    const ctx = await releasedContext();
    vi.spyOn(ctx.ports.ecs, "stoppedTaskReasons").mockRejectedValue(
      new AwsError("ListTasks failed: Rate exceeded", { code: "AWS_ThrottlingException" }),
    );
    ctx.ports.ecs.fail("gantry-sandbox-web", "ECS deployment circuit breaker: tasks failed to start.", {
      rollback: false,
    });

    const err = await gatesStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: "StepError", code: "ROLLOUT_FAILED" });
    expect((err as Error).message).toMatch(
      /^gate failed: ECS deployment circuit breaker: tasks failed to start\. — stopped tasks: unknown \(ListTasks failed: Rate exceeded\) — last events: .*deployment failed: tasks failed to start\.$/,
    );
  });

  it("GIVEN an alarm that goes off during the bake window WHEN the gates run THEN they fail with ALARM", async () => {
    const ctx = await releasedContext({ gantry: { bakeSeconds: 5 } });
    void ctx.fake.log.next("http.get").then(() => {
      ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "9 errors in 1 minute");
    });

    const err = await gatesStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({
      code: "ALARM",
      message: "gate failed: gantry-sandbox-web-5xx in ALARM (9 errors in 1 minute)",
    });
    // the rollout gate had passed: health is only asked in the bake window
    expect(ctx.fake.log.count("http.get")).toBeGreaterThan(0);
    expect(ctx.ports.ecs.peek("gantry-sandbox-web")?.deployments[0]?.rolloutState).toBe("COMPLETED");
  });

  it("GIVEN an alarm already in ALARM before the deploy (baseline) WHEN the gates run THEN it does not fail them", async () => {
    const ctx = await releasedContext();
    ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "noisy since Monday");
    ctx.facts.baselineAlarms.add("gantry-sandbox-web-5xx");

    await gatesStep.run(ctx, signal);

    expect(ctx.reporter.messages("info").at(-1)).toMatch(/^gates passed: /);
  });

  it("GIVEN a rollout in progress WHEN the deploy is interrupted THEN the gates stop watching with ABORTED", async () => {
    const ctx = await releasedContext();
    ctx.ports.ecs.settleAfter = Number.POSITIVE_INFINITY;
    const controller = new AbortController();

    const running = gatesStep.run(ctx, controller.signal);
    await ctx.fake.log.next("ecs.describeServices");
    controller.abort(new Error("SIGINT"));

    await expect(running).rejects.toMatchObject({
      code: "ABORTED",
      message: "interrupted while watching the rollout",
    });
  });

  it("GIVEN the deploy interrupted during the rollout's last look WHEN the bake would start THEN the step fails at once as interrupted, with no bake and no smoke", async () => {
    const ctx = await releasedContext({
      gantry: { bakeSeconds: 2, smoke: { command: { command: "exit 0" } } },
    });
    ctx.ports.ecs.settleAfter = 0; // the first look at the rollout sees it COMPLETED: it is the last
    const controller = new AbortController();
    void ctx.fake.log.next("alarms.states").then(() => {
      controller.abort(new Error("SIGINT")); // before that look ends
    });
    const started = Date.now();

    const err = await gatesStep.run(ctx, controller.signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "ABORTED", message: "interrupted while watching the rollout" });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ctx.fake.log.count("alarms.states")).toBe(1); // the rollout passed on its one look…
    expect(ctx.fake.log.count("http.get")).toBe(0); // …and the bake never looked
    expect(ctx.facts.smoke).toBeUndefined();
  });

  it("GIVEN a bake look in flight when the smoke command fails WHEN that look then fails too THEN the gate fails with the smoke failure and the bake stops", async () => {
    const ctx = await releasedContext({
      gantry: { bakeSeconds: 30, smoke: { command: { command: "echo 'checkout: FAIL'; exit 3" } } },
    });
    // The bake's look at the alarms (the last of each look) waits until the smoke command has
    // failed, then finds an alarm that the broken release set off.
    const states = ctx.ports.alarms.states.bind(ctx.ports.alarms);
    vi.spyOn(ctx.ports.alarms, "states").mockImplementation(async (names) => {
      if (ctx.fake.log.count("http.get") > 0) {
        await vi.waitFor(() => {
          expect(ctx.facts.smoke?.command?.status).toBe("failed");
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
        ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "12 errors in 1 minute");
      }
      return states(names);
    });
    const started = Date.now();

    const err = await gatesStep.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({
      code: "SMOKE_COMMAND",
      message: `smoke failed: smoke "echo 'checkout: FAIL'; exit 3" exited with code 3: checkout: FAIL`,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const looks = ctx.fake.log.count("http.get");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ctx.fake.log.count("http.get")).toBe(looks); // the bake looks no more
  });

  describe.each([
    {
      given: "a health endpoint answering 500",
      arrange: (ctx: FakeDeployContext) => {
        ctx.fake.healthFaults.set("v2.0.0", { status: 500 });
      },
      error: {
        code: "HEALTH_HTTP",
        message: expect.stringMatching(
          /^gate failed: http:\/\/127\.0\.0\.1:9\/(web|api)\/health answered HTTP 500$/,
        ) as unknown,
      },
    },
    {
      given: "ECS failing to answer (an error thrown)",
      arrange: (ctx: FakeDeployContext) => {
        vi.spyOn(ctx.ports.ecs, "describeServices").mockRejectedValue(
          new AwsError("DescribeServices failed: Rate exceeded", { code: "AWS_ThrottlingException" }),
        );
      },
      error: { code: "AWS_ThrottlingException", message: "DescribeServices failed: Rate exceeded" },
    },
  ])("GIVEN the smoke command running during the bake and $given", ({ arrange, error }) => {
    it("WHEN the bake fails THEN the gate fails with the bake's error once the smoke command was stopped", async () => {
      const ctx = await releasedContext({
        gantry: { bakeSeconds: 30, smoke: { command: { command: "echo started; sleep 30" } } },
      });
      void ctx.fake.log.next("http.get").then(() => {
        arrange(ctx); // the bake has started, and with it the smoke command
      });
      const started = Date.now();

      const err = await gatesStep.run(ctx, signal).catch((e: unknown) => e);

      expect(err).toMatchObject(error);
      expect(Date.now() - started).toBeLessThan(10_000);
      // the smoke command had ended (stopped, not failed by itself) when the step did
      expect(ctx.facts.smoke?.command).toMatchObject({ status: "failed", exitCode: null, timedOut: false });
    });
  });

  it("GIVEN a configured poll interval of a minute WHEN a rollout is watched for 10 s (fake time) THEN it is observed at least every 2 s", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const ctx = await releasedContext({ timing: { pollIntervalMs: 60_000, rolloutTimeoutMs: 10_000 } });
    ctx.ports.ecs.settleAfter = Number.POSITIVE_INFINITY;

    const running = gatesStep.run(ctx, signal).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10_000);
    const err = await running;

    expect(err).toMatchObject({ code: "GATE_TIMEOUT" });
    const looks = ctx.fake.log.timesOf("ecs.describeServices"); // one call a look, for both services
    const gaps = looks.slice(1).map((t, i) => t - (looks[i] ?? t));
    expect(looks.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(MAX_POLL_INTERVAL_MS);
  });

  it("GIVEN the stack step has not run WHEN the gates run THEN NO_OUTPUTS", async () => {
    const ctx = fakeDeployContext();

    await expect(gatesStep.run(ctx, signal)).rejects.toMatchObject({ code: "NO_OUTPUTS" });
  });
});
