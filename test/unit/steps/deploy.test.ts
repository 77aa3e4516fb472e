import { describe, expect, it } from "vitest";
import { AwsError, EXIT, PulumiError } from "../../../src/errors.ts";
import { DeployLock } from "../../../src/orchestrator/lock.ts";
import type { DeploymentRecord } from "../../../src/steps/record.ts";
import type { DeployResult } from "../../../src/steps/deploy.ts";
import { runDeploy } from "../../../src/steps/deploy.ts";
import { planDeploy, type PlannedStep } from "../../../src/steps/plan.ts";
import { releaseStep } from "../../../src/steps/release.ts";
import type { ReportEvent } from "../../../src/reporting/reporter.ts";
import {
  type FakeContextOverrides,
  type FakeDeployContext,
  fakeDeployContext,
  fakeSiblingContext,
  RecordingReporter,
} from "../../fakes/context.ts";
import { MemoryStore } from "../../fakes/memory-store.ts";
import { digestOf } from "../../fakes/ports.ts";

const LOCK_KEY = "locks/sandbox.json";
const SERVICES = ["gantry-sandbox-web", "gantry-sandbox-api"];
const NEW_DIGEST = digestOf("v2.0.0");

function deploy(ctx: FakeDeployContext, signal = new AbortController().signal): Promise<DeployResult> {
  return runDeploy(ctx, { signal });
}

/** The release's deployments fail in ECS's circuit breaker (with its automatic rollback). */
function releaseCrashes(ctx: FakeDeployContext): void {
  ctx.ports.ecs.rolloutFor = ({ taskDefinition }) =>
    taskDefinition.containerDefinitions?.some((c) => c.image?.endsWith(NEW_DIGEST))
      ? { kind: "fail", reason: "ECS deployment circuit breaker: tasks failed to start.", rollback: true }
      : { kind: "complete" };
}

/** The release's deployments never complete. */
function releaseHangs(ctx: FakeDeployContext): void {
  ctx.ports.ecs.rolloutFor = ({ taskDefinition }) =>
    taskDefinition.containerDefinitions?.some((c) => c.image?.endsWith(NEW_DIGEST))
      ? { kind: "hold" }
      : { kind: "complete" };
}

/**
 * Which version every service runs as the fakes say at the end: one COMPLETED deployment on one
 * task definition, its tag; "mixed" when a service is anything else.
 */
function runningEverywhere(ctx: FakeDeployContext): string {
  const versions = SERVICES.map((s) => {
    const state = ctx.ports.ecs.peek(s);
    const only = state?.deployments.length === 1 ? state.deployments[0] : undefined;
    if (!state || only?.rolloutState !== "COMPLETED" || only.taskDefinition !== state.taskDefinition)
      return "mixed";
    return ctx.ports.ecs.versionOf(state.taskDefinition, s.replace("gantry-sandbox-", ""));
  });
  return new Set(versions).size === 1 ? (versions[0] ?? "mixed") : "mixed";
}

/** begin, step-start:x, step-end:x:status, checkpoint…, finish:status */
async function journal(ctx: FakeDeployContext): Promise<string[]> {
  return (await ctx.journal.read())
    .filter((e) => e.event !== "checkpoint")
    .map((e) => [e.event, e.step, e.status].filter(Boolean).join(":"));
}

async function ledger(ctx: FakeDeployContext): Promise<DeploymentRecord[]> {
  return ctx.ledger.list("sandbox", 10);
}

const stepsOf = (r: DeployResult): string[] => r.record.steps.map((s) => `${s.name}:${s.status}`);

describe("runDeploy", () => {
  it("GIVEN a healthy release WHEN deployed THEN exit 0, succeeded, every service runs it, and the record, ledger and journal say so", async () => {
    const ctx = fakeDeployContext();

    const res = await deploy(ctx);

    expect(res.exitCode).toBe(EXIT.ok);
    expect(runningEverywhere(ctx)).toBe("v2.0.0");
    expect(res.record).toMatchObject({
      id: "20261122T100000Z-a1b2c3",
      env: "sandbox",
      tag: "v2.0.0",
      imageDigest: NEW_DIGEST,
      status: "succeeded",
      actor: "ana",
      previous: { tag: "v1.0.0", taskDefinitionArn: ctx.fake.initialTaskDefinitions.web },
      current: {
        tag: "v2.0.0",
        taskDefinitionArn: ctx.ports.ecs.peek("gantry-sandbox-web")?.taskDefinition,
      },
      snapshotId: "gantry-sandbox-20261122t100000z-a1b2c3",
    });
    expect(stepsOf(res)).toEqual(
      ["preflight", "stack", "snapshot", "migrate", "release", "gates"].map((s) => `${s}:succeeded`),
    );
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(await ledger(ctx)).toEqual([res.record]);
    expect(await journal(ctx)).toEqual([
      "begin",
      ...["preflight", "stack", "snapshot", "migrate", "release", "gates"].flatMap((s) => [
        `step-start:${s}`,
        `step-end:${s}:succeeded`,
      ]),
      "finish:succeeded",
    ]);
  });

  describe.each<{
    given: string;
    overrides?: FakeContextOverrides;
    arrange?: (ctx: FakeDeployContext) => void;
    failed: string;
    code: string;
  }>([
    {
      given: "a tag that is not in ECR",
      overrides: { pushTag: false },
      failed: "preflight",
      code: "IMAGE_NOT_FOUND",
    },
    {
      given: "a stack update that fails",
      arrange: (ctx) => {
        ctx.stack.upFailure = new PulumiError("pulumi up of stack sandbox failed: boom", {
          code: "STACK_UP_FAILED",
        });
      },
      failed: "stack",
      code: "STACK_UP_FAILED",
    },
    {
      given: "a snapshot that never becomes available",
      overrides: { timing: { snapshotTimeoutMs: 40 } },
      arrange: (ctx) => {
        ctx.ports.rds.outcome = "hold";
      },
      failed: "snapshot",
      code: "SNAPSHOT_TIMEOUT",
    },
    {
      given: "a migration that exits 1",
      arrange: (ctx) => {
        ctx.ports.ecs.taskExitFor = () => ({ kind: "exit", exitCode: 1 });
      },
      failed: "migrate",
      code: "MIGRATION_FAILED",
    },
  ])("GIVEN $given", ({ overrides, arrange, failed, code }) => {
    it("WHEN deployed THEN exit 1, failed, nothing released, lock released, ledger appended", async () => {
      const ctx = fakeDeployContext(overrides);
      arrange?.(ctx);

      const res = await deploy(ctx);

      expect(res.exitCode).toBe(EXIT.failed);
      expect(res.error).toMatchObject({ code });
      expect(res.record).toMatchObject({ status: "failed", previous: null, current: null });
      expect(res.record.steps.find((s) => s.status === "failed")?.name).toBe(failed);
      expect(ctx.fake.log.count("ecs.updateService")).toBe(0);
      expect(runningEverywhere(ctx)).toBe("v1.0.0");
      expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
      expect(await ledger(ctx)).toEqual([res.record]);
      const events = await journal(ctx);
      expect(events[0]).toBe("begin");
      expect(events).toContain(`step-end:${failed}:failed`);
      expect(events.at(-1)).toBe("finish:failed");
    });
  });

  describe.each<{ given: string; arrange: (ctx: FakeDeployContext) => void }>([
    {
      given: "a release whose health endpoint answers 500",
      arrange: (ctx) => {
        ctx.fake.healthFaults.set("v2.0.0", { status: 500 });
      },
    },
    { given: "a release ECS's circuit breaker fails and rolls back", arrange: releaseCrashes },
    {
      given: "a release whose targets turn unhealthy",
      arrange: (ctx) => {
        ctx.ports.ecs.rolloutFor = ({ taskDefinition }) =>
          taskDefinition.containerDefinitions?.some((c) => c.image?.endsWith(NEW_DIGEST))
            ? { kind: "unhealthy", description: "Health checks failed with these codes: [500]" }
            : { kind: "complete" };
      },
    },
  ])("GIVEN $given", ({ arrange }) => {
    it("WHEN deployed THEN exit 3, rolled_back, every service verified back on v1.0.0, lock released, ledger appended", async () => {
      const ctx = fakeDeployContext();
      arrange(ctx);

      const res = await deploy(ctx);

      expect(res.exitCode).toBe(EXIT.rolledBack);
      expect(res.record.status).toBe("rolled_back");
      expect(runningEverywhere(ctx)).toBe("v1.0.0");
      expect(ctx.ports.ecs.peek("gantry-sandbox-web")?.taskDefinition).toBe(
        ctx.fake.initialTaskDefinitions.web,
      );
      expect(res.record.current).toEqual({
        tag: "v1.0.0",
        taskDefinitionArn: ctx.fake.initialTaskDefinitions.web,
        digest: digestOf("v1.0.0"),
      });
      expect(stepsOf(res).slice(-2)).toEqual(["gates:failed", "release:undone"]);
      expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
      expect(await ledger(ctx)).toEqual([res.record]);
      expect((await journal(ctx)).slice(-3)).toEqual([
        "step-end:gates:failed",
        "step-end:release:undone",
        "finish:rolled_back",
      ]);
    });
  });

  describe("GIVEN services with their own images (web and api repositories)", () => {
    const images = { web: "web", api: "ghcr.io/acme/api" };

    it("WHEN web's new tag answers 500 THEN both released services are rolled back and verified: exit 3, each record entry rolled_back", async () => {
      const ctx = fakeDeployContext({
        serviceImages: images,
        request: {
          tag: "v2.0.0",
          targets: [
            { name: "web", tag: "v2.0.0" },
            { name: "api", tag: "v2.0.1" },
          ],
        },
      });
      ctx.fake.images.push("v2.0.1", "v2.0.1", images.api);
      ctx.fake.healthFaults.set("v2.0.0", { status: 500 });

      const res = await deploy(ctx);

      expect(res.exitCode).toBe(EXIT.rolledBack);
      expect(runningEverywhere(ctx)).toBe("v1.0.0");
      expect(res.record.services?.map((s) => [s.name, s.image, s.tag, s.outcome, s.current?.tag])).toEqual([
        ["web", "web", "v2.0.0", "rolled_back", "v1.0.0"],
        ["api", "ghcr.io/acme/api", "v2.0.1", "rolled_back", "v1.0.0"],
      ]);
      expect(res.record.services?.[1]?.digest).toBe(
        ctx.fake.images.image("v2.0.1", undefined, images.api).digest,
      );
      expect(await ledger(ctx)).toEqual([res.record]);
    });

    it("WHEN only api is released THEN web is untouched and recorded unchanged, api runs its own image: exit 0", async () => {
      const ctx = fakeDeployContext({
        serviceImages: images,
        request: { tag: "v2.0.1", targets: [{ name: "api", tag: "v2.0.1" }] },
      });
      const api = ctx.fake.images.push("v2.0.1", "v2.0.1", images.api);

      const res = await deploy(ctx);

      expect(res.exitCode).toBe(EXIT.ok);
      expect(ctx.fake.log.argsOf("ecs.updateService").map((a) => a[1])).toEqual(["gantry-sandbox-api"]);
      expect(ctx.ports.ecs.peek("gantry-sandbox-web")?.taskDefinition).toBe(
        ctx.fake.initialTaskDefinitions.web,
      );
      expect(res.record.services).toEqual([
        {
          name: "web",
          image: "web",
          tag: null,
          digest: null,
          previous: {
            tag: "v1.0.0",
            taskDefinitionArn: ctx.fake.initialTaskDefinitions.web,
            digest: digestOf("v1.0.0"),
          },
          current: {
            tag: "v1.0.0",
            taskDefinitionArn: ctx.fake.initialTaskDefinitions.web,
            digest: digestOf("v1.0.0"),
          },
          outcome: "unchanged",
        },
        {
          name: "api",
          image: images.api,
          tag: "v2.0.1",
          digest: api.digest,
          previous: {
            tag: "v1.0.0",
            taskDefinitionArn: ctx.fake.initialTaskDefinitions.api,
            digest: digestOf("v1.0.0"),
          },
          current: {
            tag: "v2.0.1",
            taskDefinitionArn: ctx.ports.ecs.peek("gantry-sandbox-api")?.taskDefinition,
            digest: api.digest,
          },
          outcome: "released",
        },
      ]);
      expect(res.record.imageDigest).toBe(api.digest);
      const revision = ctx.ports.ecs.definition(
        ctx.ports.ecs.peek("gantry-sandbox-api")?.taskDefinition ?? "",
      );
      expect(revision?.containerDefinitions?.[0]?.image).toBe(api.imageUri);
    });
  });

  it("GIVEN UpdateService fails for one service after another was updated WHEN deployed THEN the updated one is rolled back: exit 3, every service on v1.0.0", async () => {
    const ctx = fakeDeployContext();
    ctx.ports.ecs.updateServiceFailures.set(
      "gantry-sandbox-api",
      new AwsError("update ECS service gantry-sandbox-api: Rate exceeded", {
        code: "AWS_ThrottlingException",
      }),
    );

    const res = await deploy(ctx);
    await new Promise((resolve) => setTimeout(resolve, 50)); // anything still in flight lands

    expect(ctx.fake.log.argsOf("ecs.updateService").map((a) => a[1])).toContain("gantry-sandbox-web");
    expect(runningEverywhere(ctx)).toBe("v1.0.0");
    expect(res.exitCode).toBe(EXIT.rolledBack);
    expect(res.record.status).toBe("rolled_back");
  });

  it("GIVEN a release that fails and a rollback that cannot verify (the old version fails its health check too) WHEN deployed THEN exit 4, failed, lock released, ledger appended", async () => {
    const ctx = fakeDeployContext({ timing: { rolloutTimeoutMs: 100 } });
    ctx.fake.healthFaults.set("v2.0.0", { status: 500 });
    ctx.fake.healthFaults.set("v1.0.0", { status: 500 });

    const res = await deploy(ctx);

    expect(res.exitCode).toBe(EXIT.rollbackUnverified);
    expect(res.record.status).toBe("failed");
    expect(stepsOf(res)).toContain("release:undo_failed");
    expect(res.record.steps.find((s) => s.status === "undo_failed")?.detail).toMatch(
      /^rollback not verified: /,
    );
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(await ledger(ctx)).toEqual([res.record]);
    expect((await journal(ctx)).at(-1)).toBe("finish:failed");
  });

  it("GIVEN gates that passed but ECS runs something else at the finish WHEN deployed THEN exit 4, failed: the outcome is checked, not assumed", async () => {
    const ctx = fakeDeployContext();
    const meanwhile: PlannedStep = {
      step: {
        name: "someone-else-deploys",
        run: async () => {
          const web = ctx.fake.initialTaskDefinitions.web ?? "";
          await ctx.ports.ecs.updateService("gantry-sandbox", "gantry-sandbox-web", web);
        },
      },
      included: true,
      why: "test: another tool changes the service after the gates",
    };

    const res = await runDeploy(ctx, {
      signal: new AbortController().signal,
      plan: [...planDeploy(ctx), meanwhile],
    });

    expect(res.exitCode).toBe(EXIT.rollbackUnverified);
    expect(res.record.status).toBe("failed");
    expect(runningEverywhere(ctx)).toBe("mixed");
    expect(ctx.reporter.messages("warn")).toContain("the gates passed but ECS no longer runs the release");
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(await ledger(ctx)).toEqual([res.record]);
  });

  it("GIVEN another live deploy holds the lock WHEN deployed THEN exit 5, nothing called, its lock kept, no ledger entry", async () => {
    const ctx = fakeDeployContext();
    ctx.alivePids.add(777);
    const theirs = new DeployLock(ctx.store, "sandbox", {
      now: () => Date.now(),
      host: "runner-1",
      isAlive: () => true,
    });
    await theirs.acquire({
      deploymentId: "20261122T094500Z-0f0f0f",
      env: "sandbox",
      actor: "bob",
      host: "runner-1",
      pid: 777,
      startedAt: "2026-11-22T09:45:00.000Z",
    });

    const res = await deploy(ctx);

    expect(res.exitCode).toBe(EXIT.locked);
    expect(res.record.status).toBe("failed");
    expect(res.error).toMatchObject({ code: "LOCKED" });
    expect(ctx.fake.log.names()).toEqual([]);
    expect(runningEverywhere(ctx)).toBe("v1.0.0");
    expect((await theirs.holder())?.holder.deploymentId).toBe("20261122T094500Z-0f0f0f");
    expect(await ledger(ctx)).toEqual([]);
    expect(await journal(ctx)).toEqual([
      "begin",
      "step-start:preflight",
      "step-end:preflight:failed",
      "finish:failed",
    ]);
  });

  it("GIVEN a rollout in progress WHEN the deploy is interrupted THEN exit 130, aborted, the release rolled back and verified, lock released, ledger appended", async () => {
    const ctx = fakeDeployContext();
    releaseHangs(ctx);
    const controller = new AbortController();
    // The gates' first look (preflight's DescribeServices comes before the release).
    void ctx.fake.log
      .next("ecs.updateService")
      .then(() => ctx.fake.log.next("ecs.describeServices"))
      .then(() => {
        controller.abort(new Error("SIGINT"));
      });

    const res = await deploy(ctx, controller.signal);

    expect(res.exitCode).toBe(EXIT.interrupted);
    expect(res.record.status).toBe("aborted");
    expect(runningEverywhere(ctx)).toBe("v1.0.0");
    expect(stepsOf(res).slice(-2)).toEqual(["gates:failed", "release:undone"]);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(await ledger(ctx)).toEqual([res.record]);
    expect((await journal(ctx)).at(-1)).toBe("finish:aborted");
  });

  it("GIVEN a migration running WHEN the deploy is interrupted THEN exit 130, aborted, its task stopped, nothing released, lock released", async () => {
    const ctx = fakeDeployContext();
    ctx.ports.ecs.taskExitFor = () => ({ kind: "hold" });
    const controller = new AbortController();
    void ctx.fake.log.next("ecs.describeTask").then(() => {
      controller.abort(new Error("SIGINT"));
    });

    const res = await deploy(ctx, controller.signal);

    expect(res.exitCode).toBe(EXIT.interrupted);
    expect(res.record.status).toBe("aborted");
    expect(ctx.fake.log.count("ecs.stopTask")).toBe(1);
    expect(ctx.fake.log.count("ecs.updateService")).toBe(0);
    expect(runningEverywhere(ctx)).toBe("v1.0.0");
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(await ledger(ctx)).toEqual([res.record]);
  });

  it("GIVEN the deploy is interrupted before it starts WHEN deployed THEN exit 130, nothing called, no lock taken", async () => {
    const ctx = fakeDeployContext();
    const controller = new AbortController();
    controller.abort(new Error("SIGTERM"));

    const res = await deploy(ctx, controller.signal);

    expect(res.exitCode).toBe(EXIT.interrupted);
    expect(res.record.status).toBe("aborted");
    expect(ctx.fake.log.names()).toEqual([]);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
  });

  it("GIVEN a rollout in progress and a previous version that no longer starts WHEN the deploy is interrupted THEN exit 4, failed (the rollback did not verify)", async () => {
    const ctx = fakeDeployContext({ timing: { rolloutTimeoutMs: 100 } });
    ctx.ports.ecs.rolloutFor = () => ({ kind: "hold" });
    const controller = new AbortController();
    // The gates' first look (preflight's DescribeServices comes before the release).
    void ctx.fake.log
      .next("ecs.updateService")
      .then(() => ctx.fake.log.next("ecs.describeServices"))
      .then(() => {
        controller.abort(new Error("SIGINT"));
      });

    const res = await deploy(ctx, controller.signal);

    expect(stepsOf(res)).toContain("release:undo_failed");
    expect(res.exitCode).toBe(EXIT.rollbackUnverified);
    expect(res.record.status).toBe("failed");
  });

  it("GIVEN a lease renewal in flight when the deploy finishes WHEN it ends THEN the lock is still released", async () => {
    const store = new LaggingLockStore();
    const ctx = fakeDeployContext({ store });

    const res = await runDeploy(ctx, { signal: new AbortController().signal, leaseRenewMs: 1 });
    const lockLeft = ctx.store.objects.has(LOCK_KEY);
    store.deliver();

    expect(res.exitCode).toBe(EXIT.ok);
    expect(store.renewals).toBeGreaterThan(0);
    expect(lockLeft).toBe(false);
  });
});

/**
 * The store as seen over a slow network: a conditional write of the lock takes effect at once, but
 * its answer arrives only when the test delivers it (as an S3 PUT applied before its response).
 */
class LaggingLockStore extends MemoryStore {
  renewals = 0;
  private readonly pending: (() => void)[] = [];

  override putIfMatch(key: string, body: string, etag: string): Promise<{ etag: string } | "changed"> {
    const applied = super.putIfMatch(key, body, etag);
    if (!key.startsWith("locks/")) return applied;
    this.renewals += 1;
    return new Promise((resolve) => this.pending.push(() => void applied.then(resolve)));
  }

  deliver(): void {
    for (const answer of this.pending.splice(0)) answer();
  }
}

describe("runDeploy's finish", () => {
  it("GIVEN ECS cannot be asked any more once the gates passed WHEN the deploy finishes THEN exit 4, failed, a warning that the final state could not be verified, the lock released and the record in the ledger", async () => {
    const ctx = fakeDeployContext();
    const ecsGone: PlannedStep = {
      step: {
        name: "ecs-unreachable",
        run: () => {
          ctx.ports.ecs.describeService = () =>
            Promise.reject(
              new AwsError("describe ECS service: connect ETIMEDOUT", { code: "AWS_NetworkingError" }),
            );
          return Promise.resolve();
        },
      },
      included: true,
      why: "test: the network to ECS goes down after the gates",
    };

    const res = await runDeploy(ctx, {
      signal: new AbortController().signal,
      plan: [...planDeploy(ctx), ecsGone],
    });

    expect(stepsOf(res).at(-2)).toBe("gates:succeeded");
    expect(res.exitCode).toBe(EXIT.rollbackUnverified);
    expect(res.record.status).toBe("failed");
    expect(ctx.reporter.messages("warn")).toContain(
      "could not verify the final state: describe ECS service: connect ETIMEDOUT",
    );
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(await ledger(ctx)).toEqual([res.record]);
  });

  it("GIVEN the journal's finish cannot be written WHEN a healthy release finishes THEN the exit code is still 0, with a warning", async () => {
    const store = new FinishRefusingStore();
    const ctx = fakeDeployContext({ store });

    const res = await deploy(ctx);

    expect(store.refused).toBe(1);
    expect(res.exitCode).toBe(EXIT.ok);
    expect(res.record.status).toBe("succeeded");
    expect(
      ctx.reporter.messages("warn").filter((m) => m.startsWith("could not journal the finish: ")),
    ).toEqual(["could not journal the finish: put journal: Service Unavailable"]);
    expect((await journal(ctx)).at(-1)).toBe("step-end:gates:succeeded");
    expect(await ledger(ctx)).toEqual([res.record]);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
  });

  describe.each<{ given: string; lost: string[] }>([
    { given: "one service's UpdateService takes effect but its answer is lost", lost: ["api"] },
    { given: "every service's UpdateService takes effect but its answer is lost", lost: ["web", "api"] },
  ])("GIVEN $given", ({ lost }) => {
    it("WHEN deployed THEN the release step rolls back what it started: every service verified on its previous task definition, exit 3 (not exit 1)", async () => {
      const ctx = fakeDeployContext();
      for (const name of lost) {
        ctx.ports.ecs.updateServiceAnswersLost.set(
          `gantry-sandbox-${name}`,
          new AwsError(`update ECS service gantry-sandbox-${name}: socket hang up`, {
            code: "AWS_NetworkingError",
          }),
        );
      }

      const res = await deploy(ctx);

      for (const name of ["web", "api"]) {
        const updates = ctx.fake.log
          .argsOf("ecs.updateService")
          .filter((a) => a[1] === `gantry-sandbox-${name}`)
          .map((a) => a[2]);
        expect(updates).toHaveLength(2);
        expect(updates[0]).not.toBe(ctx.fake.initialTaskDefinitions[name]);
        expect(updates[1]).toBe(ctx.fake.initialTaskDefinitions[name]);
        expect(ctx.ports.ecs.peek(`gantry-sandbox-${name}`)?.taskDefinition).toBe(
          ctx.fake.initialTaskDefinitions[name],
        );
      }
      expect(runningEverywhere(ctx)).toBe("v1.0.0");
      expect(res.exitCode).toBe(EXIT.rolledBack);
      expect(res.record.status).toBe("rolled_back");
      expect(res.error).toMatchObject({ code: "AWS_NetworkingError" });
    });
  });

  it("GIVEN a dead deployment whose release cannot be rolled back (its previous version no longer starts) WHEN the next deploy's preflight recovers it THEN exit 4 (RECOVERY_FAILED), nothing of its own released, both records in the ledger, the lock free", async () => {
    const ctx = fakeDeployContext({ timing: { rolloutTimeoutMs: 300 } });
    const dead = fakeSiblingContext(
      ctx,
      { deploymentId: "20261122T094500Z-dead01", pid: 1111, startedAt: "2026-11-22T09:45:00.000Z" },
      { established: true },
    );
    const { deploymentId, env, actor, host, pid, startedAt } = dead.request;
    expect(await ctx.lock.acquire({ deploymentId, env, actor, host, pid, startedAt })).toMatchObject({
      acquired: true,
    });
    await dead.journal.append({ event: "begin", data: { request: dead.request } });
    await dead.journal.append({ event: "step-start", step: "release" });
    await releaseStep.run(dead, new AbortController().signal);
    // It dies here. From now on every new ECS deployment fails: the recovery's rollback too.
    ctx.ports.ecs.rolloutFor = () => ({
      kind: "fail",
      reason: "ECS deployment circuit breaker: tasks failed to start.",
      rollback: false,
    });
    const registered = ctx.fake.log.count("ecs.registerTaskDefinition");

    const res = await deploy(ctx);

    expect(res.error).toMatchObject({ code: "RECOVERY_FAILED" });
    expect(res.exitCode).toBe(EXIT.rollbackUnverified);
    expect(res.record.status).toBe("failed");
    expect(stepsOf(res)).toEqual(["preflight:failed"]);
    expect(ctx.fake.log.count("ecs.registerTaskDefinition")).toBe(registered);
    expect((await ledger(ctx)).map((r) => [r.id, r.status]).sort()).toEqual([
      ["20261122T094500Z-dead01", "failed"],
      [res.record.id, "failed"],
    ]);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
  });

  it("GIVEN a healthy release WHEN the deploy finishes THEN its record goes to the ledger before the lock is released", async () => {
    const store = new WitnessStore();
    const ctx = fakeDeployContext({ store });

    const res = await deploy(ctx);

    expect(res.exitCode).toBe(EXIT.ok);
    expect(store.moments).toEqual(["ledger", "unlock"]);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
  });

  it("GIVEN a deploy that fails (its migration exits 1) and an onFailure hook WHEN it finishes THEN the hook runs with the lock still held, and the lock is released after the ledger record", async () => {
    const store = new WitnessStore();
    const base = fakeDeployContext({
      store,
      gantry: { hooks: { onFailure: { command: "echo hook-ran", timeoutSeconds: 10 } } },
    });
    const ctx: FakeDeployContext = { ...base, reporter: new HookWitness(store, "onFailure") };
    ctx.ports.ecs.taskExitFor = () => ({ kind: "exit", exitCode: 1 });

    const res = await deploy(ctx);

    expect(res.exitCode).toBe(EXIT.failed);
    expect(res.record.hooks?.map((h) => [h.name, h.status])).toEqual([["onFailure", "succeeded"]]);
    expect(store.moments).toEqual(["onFailure hook (lock held)", "ledger", "unlock"]);
  });
});

/** The shared store, refusing (once) to write a journal whose last line is a finish. */
class FinishRefusingStore extends MemoryStore {
  refused = 0;

  override putIfMatch(key: string, body: string, etag: string): Promise<{ etag: string } | "changed"> {
    const last = body.trimEnd().split("\n").at(-1) ?? "";
    if (key.startsWith("journal/") && this.refused === 0 && last.includes('"event":"finish"')) {
      this.refused += 1;
      return Promise.reject(
        new AwsError("put journal: Service Unavailable", { code: "AWS_ServiceUnavailable" }),
      );
    }
    return super.putIfMatch(key, body, etag);
  }
}

/** The shared store, noting in order when a ledger record is written and the lock deleted. */
class WitnessStore extends MemoryStore {
  /** `ledger`, `unlock`, and what others note (e.g. a hook's output). */
  readonly moments: string[] = [];

  override putIfAbsent(key: string, body: string): Promise<{ etag: string } | "exists"> {
    if (key.startsWith("ledger/")) this.moments.push("ledger");
    return super.putIfAbsent(key, body);
  }

  override deleteIfMatch(key: string, etag: string): Promise<boolean> {
    if (key === LOCK_KEY) this.moments.push("unlock");
    return super.deleteIfMatch(key, etag);
  }
}

/** A reporter that notes in the store's moments whether the lock is held when a hook prints. */
class HookWitness extends RecordingReporter {
  private readonly store: WitnessStore;
  private readonly hook: string;

  constructor(store: WitnessStore, hook: string) {
    super();
    this.store = store;
    this.hook = hook;
  }

  override emit(event: ReportEvent): void {
    super.emit(event);
    if (event.type === "info" && event.message.startsWith(`${this.hook} | `)) {
      this.store.moments.push(
        `${this.hook} hook (lock ${this.store.objects.has(LOCK_KEY) ? "held" : "free"})`,
      );
    }
  }
}
