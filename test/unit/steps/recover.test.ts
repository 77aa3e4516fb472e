/**
 * Crash recovery (src/steps/recover.ts): a deployment that died holding the lock is recovered from
 * its journal by the next one. The dead deployment is real up to its death — its journal written
 * as runDeploy writes it, its lock taken and its release made by the real preflight and release
 * steps in the same fake world — and then simply abandoned, as after a SIGKILL.
 */
import { describe, expect, it } from "vitest";
import { AwsError, PulumiError } from "../../../src/errors.ts";
import { journalKey } from "../../../src/orchestrator/journal.ts";
import type { DeploymentRecord } from "../../../src/steps/record.ts";
import type { LockHolder } from "../../../src/orchestrator/lock.ts";
import { checkpoint, StepError } from "../../../src/steps/context.ts";
import { preflight } from "../../../src/steps/preflight.ts";
import { recoverAbandoned, takeOverFrom } from "../../../src/steps/recover.ts";
import { releaseStep } from "../../../src/steps/release.ts";
import { type FakeDeployContext, fakeDeployContext, fakeSiblingContext } from "../../fakes/context.ts";
import { MemoryStore } from "../../fakes/memory-store.ts";
import { digestOf } from "../../fakes/ports.ts";

const signal = new AbortController().signal;
const SERVICES = ["web", "api"];
const NEW_DIGEST = digestOf("v2.0.0");
/** The deployment that dies (pid 1111 on this host, not alive). */
const DEAD_ID = "20261122T094500Z-dead01";
const DEAD_PID = 1111;
/** The one recovering it: the context built by fakeDeployContext. */
const RECOVERER_ID = "20261122T100000Z-a1b2c3";

/** Who a context's deployment is, as the lock names it. */
function who(ctx: FakeDeployContext): Omit<LockHolder, "leaseUntil"> {
  const { deploymentId, env, actor, host, pid, startedAt } = ctx.request;
  return { deploymentId, env, actor, host, pid, startedAt };
}

/** Journal a step as runDeploy does around it; `dies`: the process dies inside it (no step-end). */
async function journaled(
  dead: FakeDeployContext,
  name: string,
  run?: () => Promise<unknown>,
  dies = false,
): Promise<void> {
  await dead.journal.append({ event: "step-start", step: name });
  await run?.();
  if (!dies) await dead.journal.append({ event: "step-end", step: name, status: "succeeded" });
}

/**
 * Deployment DEAD_ID of v2.0.0 starts in the world of `ctx` — begin, the real preflight (it takes
 * the lock), the stack step — and dies in step `diesIn`:
 * - stack: during the stack update;
 * - migrate: with its migration task running (started and checkpointed as the migrate step does);
 * - release: right after the real release step changed every service (rollouts in progress).
 * Returns the dead deployment and its lock holder, as the store has it.
 */
async function abandoned(
  ctx: FakeDeployContext,
  diesIn: "stack" | "migrate" | "release" = "release",
): Promise<{ dead: FakeDeployContext; holder: LockHolder }> {
  const dead = fakeSiblingContext(ctx, {
    deploymentId: DEAD_ID,
    pid: DEAD_PID,
    actor: "bob",
    startedAt: "2026-11-22T09:45:00.000Z",
  });
  await dead.journal.append({ event: "begin", data: { request: dead.request } });
  await journaled(dead, "preflight", () => preflight.run(dead, signal));
  await journaled(dead, "stack", undefined, diesIn === "stack");
  if (diesIn === "migrate") {
    await journaled(
      dead,
      "migrate",
      async () => {
        const outputs = dead.fake.outputs;
        const taskArn = await dead.ports.ecs.runTask({
          cluster: outputs.clusterName,
          taskDefinition: outputs.migration.taskDefinitionFamily,
          containerName: outputs.migration.containerName,
          command: ["npm", "run", "migrate"],
          subnets: outputs.migration.subnets,
          securityGroups: outputs.migration.securityGroups,
          startedBy: `gantry/${DEAD_ID}`,
        });
        await checkpoint(dead, "migrate", { cluster: outputs.clusterName, taskArn });
      },
      true,
    );
  }
  if (diesIn === "release") await journaled(dead, "release", () => releaseStep.run(dead, signal), true);
  const held = await ctx.lock.holder();
  if (held?.holder.deploymentId !== DEAD_ID) throw new Error("the dead deployment did not take the lock");
  return { dead, holder: held.holder };
}

/** Task definition of every service now, by name. */
function taskDefinitions(ctx: FakeDeployContext): Record<string, string | undefined> {
  return Object.fromEntries(
    SERVICES.map((s) => [s, ctx.ports.ecs.peek(`gantry-sandbox-${s}`)?.taskDefinition]),
  );
}

/** True when every service runs one COMPLETED deployment of its initial task definition, serving v1.0.0. */
function allBackOnV1(ctx: FakeDeployContext): boolean {
  return SERVICES.every((s) => {
    const state = ctx.ports.ecs.peek(`gantry-sandbox-${s}`);
    return (
      state !== undefined &&
      state.taskDefinition === ctx.fake.initialTaskDefinitions[s] &&
      state.deployments.length === 1 &&
      state.deployments[0]?.rolloutState === "COMPLETED" &&
      ctx.ports.ecs.servingVersion(`gantry-sandbox-${s}`) === "v1.0.0"
    );
  });
}

/** Names of the calls to the fakes made since `mark` (a length of the call log). */
function callsSince(ctx: FakeDeployContext, mark: number): string[] {
  return ctx.fake.log.names().slice(mark);
}

/** Arguments of the UpdateService calls made since `mark`: [service, task definition]. */
function updatesSince(ctx: FakeDeployContext, mark: number): string[][] {
  return ctx.fake.log.calls
    .slice(mark)
    .filter((c) => c.name === "ecs.updateService")
    .map((c) => [String(c.args[1]), String(c.args[2])]);
}

const ledger = (ctx: FakeDeployContext): Promise<DeploymentRecord[]> => ctx.ledger.list("sandbox", 10);
const stepsOf = (r: DeploymentRecord | undefined): string[] =>
  (r?.steps ?? []).map((s) => `${s.name}:${s.status}`);

describe("recoverAbandoned", () => {
  it("GIVEN a deployment that died after releasing v2.0.0 everywhere WHEN recovered THEN every service is rolled back to its previous task definition and verified, the ledger records it rolled_back, its journal ends with finish, and a second recovery does nothing", async () => {
    const ctx = fakeDeployContext();
    const { dead, holder } = await abandoned(ctx);
    for (const s of SERVICES) ctx.ports.ecs.complete(`gantry-sandbox-${s}`);
    const newDefinitions = dead.facts.releases.map((r) => r.newTaskDefinition);
    expect(Object.values(taskDefinitions(ctx))).toEqual(newDefinitions);
    expect(SERVICES.map((s) => ctx.ports.ecs.servingVersion(`gantry-sandbox-${s}`))).toEqual([
      "v2.0.0",
      "v2.0.0",
    ]);
    const mark = ctx.fake.log.calls.length;

    const recovery = await recoverAbandoned(ctx, holder, signal);

    expect(recovery).toEqual({
      deploymentId: DEAD_ID,
      status: "rolled_back",
      actions: ["rolled back gantry-sandbox-web to v1.0.0, gantry-sandbox-api to v1.0.0"],
    });
    expect(updatesSince(ctx, mark)).toEqual(
      SERVICES.map((s) => [`gantry-sandbox-${s}`, ctx.fake.initialTaskDefinitions[s] ?? "?"]),
    );
    expect(allBackOnV1(ctx)).toBe(true);
    const records = await ledger(ctx);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      id: DEAD_ID,
      env: "sandbox",
      tag: "v2.0.0",
      imageDigest: NEW_DIGEST,
      status: "rolled_back",
      actor: "bob",
      startedAt: "2026-11-22T09:45:00.000Z",
      previous: { tag: "v1.0.0", taskDefinitionArn: ctx.fake.initialTaskDefinitions.web },
      current: { tag: "v1.0.0", taskDefinitionArn: ctx.fake.initialTaskDefinitions.web },
    });
    expect(stepsOf(records[0])).toEqual([
      "preflight:succeeded",
      "stack:succeeded",
      "release:abandoned",
      "recovery:succeeded",
    ]);
    expect(records[0]?.steps.find((s) => s.name === "release")?.detail).toBe(
      `the process died (runner-1 pid ${String(DEAD_PID)})`,
    );
    expect(records[0]?.steps.at(-1)?.detail).toMatch(
      new RegExp(`^by deployment ${RECOVERER_ID}: rolled back`),
    );
    expect((await dead.journal.read()).at(-1)).toMatchObject({
      event: "finish",
      status: "rolled_back",
      detail: `recovered by ${RECOVERER_ID}`,
    });

    const again = fakeSiblingContext(ctx, { deploymentId: "20261122T101500Z-0a0a0a" });
    const markAgain = ctx.fake.log.calls.length;
    const second = await recoverAbandoned(again, holder, signal);

    expect(second).toEqual({ deploymentId: DEAD_ID, status: undefined, actions: [] });
    expect(callsSince(ctx, markAgain)).toEqual([]);
    expect(await ledger(ctx)).toEqual(records);
  });

  it("GIVEN a deployment whose journal already has its finish WHEN recovered THEN nothing is done: no call, no record, no journal line", async () => {
    const ctx = fakeDeployContext();
    const { dead, holder } = await abandoned(ctx);
    await dead.journal.append({ event: "finish", status: "failed", data: { exitCode: 4 } });
    const lines = (await dead.journal.read()).length;
    const mark = ctx.fake.log.calls.length;

    const recovery = await recoverAbandoned(ctx, holder, signal);

    expect(recovery).toEqual({ deploymentId: DEAD_ID, status: undefined, actions: [] });
    expect(callsSince(ctx, mark)).toEqual([]);
    expect(await ledger(ctx)).toEqual([]);
    expect(await dead.journal.read()).toHaveLength(lines);
  });

  it("GIVEN a deployment that died with its migration task running WHEN recovered THEN the task is stopped (reason: recovering), nothing is released, and the ledger records it aborted", async () => {
    const ctx = fakeDeployContext();
    ctx.ports.ecs.taskExitFor = () => ({ kind: "hold" });
    const { holder } = await abandoned(ctx, "migrate");
    const task = ctx.ports.ecs.taskList().at(-1);
    expect(task?.lastStatus).not.toBe("STOPPED");
    const mark = ctx.fake.log.calls.length;

    const recovery = await recoverAbandoned(ctx, holder, signal);

    expect(ctx.fake.log.argsOf("ecs.stopTask")).toEqual([
      ["gantry-sandbox", task?.taskArn, expect.stringContaining("recovering") as unknown],
    ]);
    expect(ctx.ports.ecs.taskList().at(-1)?.lastStatus).toBe("STOPPED");
    expect(updatesSince(ctx, mark)).toEqual([]);
    expect(recovery.status).toBe("aborted");
    const records = await ledger(ctx);
    expect(records.map((r) => [r.id, r.status])).toEqual([[DEAD_ID, "aborted"]]);
    expect(stepsOf(records[0])).toEqual([
      "preflight:succeeded",
      "stack:succeeded",
      "migrate:abandoned",
      "recovery:succeeded",
    ]);
  });

  it("GIVEN a deployment that died during its stack update WHEN recovered THEN the stack's stale update is cancelled and the ledger records it aborted", async () => {
    const ctx = fakeDeployContext();
    const { holder } = await abandoned(ctx, "stack");
    const mark = ctx.fake.log.calls.length;

    const recovery = await recoverAbandoned(ctx, holder, signal);

    expect(callsSince(ctx, mark).filter((n) => n === "stack.cancel")).toHaveLength(1);
    expect(updatesSince(ctx, mark)).toEqual([]);
    expect(recovery).toEqual({
      deploymentId: DEAD_ID,
      status: "aborted",
      actions: ["cancelled the interrupted stack update's lock"],
    });
    const records = await ledger(ctx);
    expect(stepsOf(records[0])).toEqual(["preflight:succeeded", "stack:abandoned", "recovery:succeeded"]);
  });

  it("GIVEN a recoverer that died too (its journal has no begin, only a recovering checkpoint naming the first dead holder) WHEN it is recovered THEN the first dead deployment is recovered: rolled back, and its record in the ledger", async () => {
    const ctx = fakeDeployContext();
    const { dead, holder: first } = await abandoned(ctx);
    const recoverer = fakeSiblingContext(ctx, { deploymentId: "20261122T095000Z-dead02", pid: 2222 });
    const taken = await ctx.lock.acquire(who(recoverer));
    expect(taken).toMatchObject({ acquired: true, tookOverFrom: { deploymentId: DEAD_ID } });
    await checkpoint(recoverer, "recovering", { holder: first });
    const second = (await ctx.lock.holder())?.holder;
    expect(second?.deploymentId).toBe("20261122T095000Z-dead02");
    const mark = ctx.fake.log.calls.length;

    const recovery = await recoverAbandoned(ctx, second ?? first, signal);

    expect(recovery).toEqual({ deploymentId: "20261122T095000Z-dead02", status: undefined, actions: [] });
    expect(updatesSince(ctx, mark).map(([, td]) => td)).toEqual(
      dead.facts.releases.map((r) => r.previousTaskDefinition),
    );
    expect(allBackOnV1(ctx)).toBe(true);
    expect((await ledger(ctx)).map((r) => [r.id, r.status])).toEqual([[DEAD_ID, "rolled_back"]]);
    expect((await dead.journal.read()).at(-1)).toMatchObject({ event: "finish", status: "rolled_back" });
  });

  it("GIVEN a dead deployment whose previous version no longer starts WHEN recovered THEN RECOVERY_FAILED, and the ledger records it failed with the recovery step failed", async () => {
    const ctx = fakeDeployContext({ timing: { rolloutTimeoutMs: 300 } });
    const { dead, holder } = await abandoned(ctx);
    // From now on every new deployment fails in ECS's circuit breaker: the rollback's too.
    ctx.ports.ecs.rolloutFor = () => ({
      kind: "fail",
      reason: "ECS deployment circuit breaker: tasks failed to start.",
      rollback: false,
    });

    const recovering = recoverAbandoned(ctx, holder, signal);

    await expect(recovering).rejects.toBeInstanceOf(StepError);
    await expect(recovering).rejects.toMatchObject({ code: "RECOVERY_FAILED" });
    const records = await ledger(ctx);
    expect(records.map((r) => [r.id, r.status])).toEqual([[DEAD_ID, "failed"]]);
    expect(records[0]?.current).toBeNull();
    expect(stepsOf(records[0]).at(-1)).toBe("recovery:failed");
    expect(records[0]?.steps.at(-1)?.detail).toMatch(/rollback not verified/);
    expect((await dead.journal.read()).at(-1)).toMatchObject({ event: "finish", status: "failed" });
  });
});

/** A store that fails the next read of some keys, as S3 over a flaky network. */
class FlakyStore extends MemoryStore {
  readonly failNextGet = new Set<string>();

  override get(key: string): ReturnType<MemoryStore["get"]> {
    if (this.failNextGet.delete(key)) {
      return Promise.reject(new AwsError(`read ${key}: socket hang up`, { code: "AWS_NetworkingError" }));
    }
    return super.get(key);
  }
}

describe("takeOverFrom", () => {
  describe.each<{
    given: string;
    breaks: (ctx: FakeDeployContext, store: FlakyStore) => void;
    message: RegExp;
  }>([
    {
      given: "the abandoned journal cannot be read (once)",
      breaks: (_ctx, store) => {
        store.failNextGet.add(journalKey("sandbox", DEAD_ID));
      },
      message: /socket hang up/,
    },
    {
      given: "the stack's outputs cannot be read (once)",
      breaks: (ctx) => {
        const outputs = ctx.stack.outputs.bind(ctx.stack);
        let failed = false;
        ctx.stack.outputs = () => {
          if (failed) return outputs();
          failed = true;
          return Promise.reject(
            new PulumiError("could not read the outputs of stack sandbox: backend unavailable", {
              code: "STACK_OUTPUTS_FAILED",
            }),
          );
        };
      },
      message: /backend unavailable/,
    },
  ])("GIVEN $given", ({ breaks, message }) => {
    it("WHEN the lock of a dead deployment is taken over THEN the error is rethrown, the lock is back in the dead holder's name, and the next deployment takes it over again and recovers", async () => {
      const store = new FlakyStore();
      const ctx = fakeDeployContext({ store });
      const { holder } = await abandoned(ctx);
      breaks(ctx, store);
      const acquired = await ctx.lock.acquire(who(ctx));
      if (!acquired.acquired || !acquired.tookOverFrom) throw new Error("the dead lock was not taken over");
      ctx.facts.lock = acquired.lock;

      await expect(takeOverFrom(ctx, acquired.lock, acquired.tookOverFrom, signal)).rejects.toThrow(message);

      expect((await ctx.lock.holder())?.holder).toEqual(holder);
      expect(ctx.facts.lock).toBeUndefined();
      expect(await ledger(ctx)).toEqual([]);

      const next = fakeSiblingContext(ctx, { deploymentId: "20261122T101500Z-0a0a0a" });
      await preflight.run(next, signal);

      expect(next.reporter.messages("warn")).toContain(
        `took over the lock of deployment ${DEAD_ID}: process ${String(DEAD_PID)} on runner-1 is gone`,
      );
      expect((await ledger(ctx)).map((r) => [r.id, r.status])).toEqual([[DEAD_ID, "rolled_back"]]);
      expect(allBackOnV1(ctx)).toBe(true);
      expect((await ctx.lock.holder())?.holder.deploymentId).toBe(next.request.deploymentId);
    });
  });
});

describe("preflight with a dead holder", () => {
  it("GIVEN the lock held by a dead process on this host that left a release in progress WHEN preflight runs THEN it takes the lock over with a warning and rolls the release back before its checks (which would refuse a deployment in progress)", async () => {
    const ctx = fakeDeployContext();
    // The dead deployment's rollouts never complete by themselves.
    ctx.ports.ecs.rolloutFor = ({ taskDefinition }) =>
      taskDefinition.containerDefinitions?.some((c) => c.image?.endsWith(NEW_DIGEST))
        ? { kind: "hold" }
        : { kind: "complete" };
    await abandoned(ctx);
    expect(ctx.alivePids.has(DEAD_PID)).toBe(false);
    for (const s of SERVICES) {
      expect(ctx.ports.ecs.peek(`gantry-sandbox-${s}`)?.deployments[0]?.rolloutState).toBe("IN_PROGRESS");
    }
    const mark = ctx.fake.log.calls.length;

    await preflight.run(ctx, signal);

    expect(ctx.reporter.messages("warn")).toContain(
      `took over the lock of deployment ${DEAD_ID}: process ${String(DEAD_PID)} on runner-1 is gone`,
    );
    const calls = callsSince(ctx, mark);
    expect(calls.lastIndexOf("ecs.updateService")).toBeGreaterThanOrEqual(0);
    expect(calls.lastIndexOf("ecs.updateService")).toBeLessThan(calls.indexOf("images.resolve"));
    expect(updatesSince(ctx, mark)).toEqual(
      SERVICES.map((s) => [`gantry-sandbox-${s}`, ctx.fake.initialTaskDefinitions[s] ?? "?"]),
    );
    expect(allBackOnV1(ctx)).toBe(true);
    expect((await ledger(ctx)).map((r) => [r.id, r.status])).toEqual([[DEAD_ID, "rolled_back"]]);
    expect(ctx.facts.lock?.holder.deploymentId).toBe(RECOVERER_ID);
    expect((await ctx.lock.holder())?.etag).toBe(ctx.facts.lock?.etag);
  });
});
