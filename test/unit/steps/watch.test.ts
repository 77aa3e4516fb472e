import { afterEach, describe, expect, it, vi } from "vitest";
import { nextRevision } from "../../../src/aws/taskDefinition.ts";
import { REFRESH_EVERY_LOOKS } from "../../../src/checks/cadence.ts";
import { watch, type Watched, watchMemory, type WatchPhase } from "../../../src/steps/watch.ts";
import { type FakeDeployContext, fakeDeployContext } from "../../fakes/context.ts";
import type { Call } from "../../fakes/ports.ts";
import { digestOf } from "../../fakes/ports.ts";

const signal = new AbortController().signal;

const ROLLOUT: WatchPhase = {
  name: "rollout",
  untilPass: true,
  durationMs: 5000,
  health: false,
  alarmsFatal: true,
};
const bake = (durationMs: number): WatchPhase => ({
  name: "bake",
  untilPass: false,
  durationMs,
  health: true,
  alarmsFatal: true,
});

/** A context whose services each have a deployment of v2.0.0 in progress, and what to watch. */
async function released(
  options: { services?: string[]; pollIntervalMs?: number } = {},
): Promise<{ ctx: FakeDeployContext; watched: Watched[] }> {
  const { services, pollIntervalMs } = options;
  const ctx = fakeDeployContext({
    established: true,
    ...(services ? { environment: { services } } : {}),
    ...(pollIntervalMs ? { timing: { pollIntervalMs } } : {}),
  });
  const { ecs } = ctx.ports;
  const image = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/app@${digestOf("v2.0.0")}`;
  const watched: Watched[] = [];
  for (const service of ctx.fake.outputs.services) {
    const previous = ctx.fake.initialTaskDefinitions[service.name] ?? "";
    const next = ecs.seedTaskDefinition(
      nextRevision(ecs.definition(previous) ?? {}, service.containerName, image, "v2.0.0"),
    );
    const deploymentId = await ecs.updateService(ctx.fake.outputs.clusterName, service.serviceName, next);
    watched.push({ service, deploymentId, version: "v2.0.0", desiredCount: 2 });
  }
  return { ctx, watched };
}

/** The port calls of each look (a look starts with its DescribeServices), from call `from` on. */
function looks(ctx: FakeDeployContext, from = 0): Call[][] {
  const out: Call[][] = [];
  for (const call of ctx.fake.log.calls.slice(from)) {
    if (call.name === "ecs.describeServices") out.push([]);
    out.at(-1)?.push(call);
  }
  return out;
}

/** The looks (numbered from 1) that made a call of `name`, once each. */
const looksWith = (all: Call[][], name: string): number[] =>
  all.flatMap((calls, i) => (calls.some((c) => c.name === name) ? [i + 1] : []));

afterEach(() => {
  vi.useRealTimers();
});

describe("watch: AWS calls of each look", () => {
  describe.each([1, 2, 5, 10])("GIVEN %i services rolling out", (count) => {
    it("WHEN watched until they pass THEN every look asks ECS about all of them in one call, and lists tasks only when a task set with running tasks changed", async () => {
      const { ctx, watched } = await released({
        services: Array.from({ length: count }, (_, i) => `svc${String(i)}`),
      });
      ctx.ports.ecs.settleAfter = 2; // IN_PROGRESS (no task running) on looks 1 and 2, COMPLETED on look 3

      const result = await watch(ctx, ctx.fake.outputs, watched, ROLLOUT, signal);

      expect(result).toMatchObject({ ok: true });
      const seen = looks(ctx);
      // The same ECS calls on every look, however many services: [DescribeServices, tasks?].
      expect(seen.map((calls) => calls.filter((c) => c.name.startsWith("ecs.")).map((c) => c.name))).toEqual([
        ["ecs.describeServices"],
        ["ecs.describeServices"],
        ["ecs.describeServices", "ecs.deploymentTaskIps"],
      ]);
      const names = watched.map((w) => w.service.serviceName);
      expect(ctx.fake.log.argsOf("ecs.describeServices")).toEqual(seen.map(() => ["gantry-sandbox", names]));
      expect(ctx.fake.log.argsOf("ecs.deploymentTaskIps")).toEqual([
        ["gantry-sandbox", watched.map((w) => w.deploymentId)],
      ]);
      expect(ctx.fake.log.count("ecs.describeService")).toBe(0);
      // No target before a task runs; then one call per target group (ELB has no batch).
      expect(looksWith(seen, "elb.targetHealth")).toEqual([3]);
      expect(ctx.fake.log.count("elb.targetHealth")).toBe(count);
      // Alarms: the look that decides (every rollout COMPLETED), which is also the 3rd.
      expect(looksWith(seen, "alarms.states")).toEqual([3]);
    });
  });

  it(`GIVEN a healthy release WHEN baked for 11 looks (fake time) THEN targets are read on the first look (new tasks), alarms on every ${String(REFRESH_EVERY_LOOKS)}rd look, both again every ${String(REFRESH_EVERY_LOOKS)}rd look and on the last; tasks once, the health URLs on every look`, async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const pollIntervalMs = 1000;
    const { ctx, watched } = await released({ pollIntervalMs });
    for (const w of watched) ctx.ports.ecs.complete(w.service.serviceName, w.deploymentId);

    const running = watch(ctx, ctx.fake.outputs, watched, bake(10 * pollIntervalMs), signal);
    await vi.advanceTimersByTimeAsync(10 * pollIntervalMs);
    const result = await running;

    expect(result).toMatchObject({ ok: true });
    const seen = looks(ctx);
    expect(seen).toHaveLength(11);
    expect(looksWith(seen, "alarms.states")).toEqual([3, 6, 9, 11]);
    expect(looksWith(seen, "elb.targetHealth")).toEqual([1, 4, 7, 10, 11]);
    expect(ctx.fake.log.count("elb.targetHealth")).toBe(5 * watched.length);
    expect(looksWith(seen, "ecs.deploymentTaskIps")).toEqual([1]);
    expect(ctx.fake.log.count("http.get")).toBe(11 * watched.length);
  });

  it("GIVEN a bake WHEN one new target turns unhealthy while ECS shows no change THEN the bake fails on it within the refresh interval", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { ctx, watched } = await released({ pollIntervalMs: 1000 });
    for (const w of watched) ctx.ports.ecs.complete(w.service.serviceName, w.deploymentId);
    const web = watched.find((w) => w.service.name === "web");
    const tg = web?.service.targetGroupArns[0] ?? "";
    const ip = (await ctx.ports.ecs.deploymentTaskIps("gantry-sandbox", [web?.deploymentId ?? ""])).get(
      web?.deploymentId ?? "",
    )?.[0];
    const from = ctx.fake.log.calls.length;
    let flippedAt = 0;
    void ctx.fake.log
      .next("ecs.describeServices")
      .then(() => ctx.fake.log.next("ecs.describeServices"))
      .then(() => ctx.fake.log.next("ecs.describeServices"))
      .then(() => {
        flippedAt = looks(ctx, from).length; // during look 3, before its targets are looked at
        ctx.ports.elb.set(tg, ip ?? "", "unhealthy", "Health checks failed with these codes: [502]");
      });

    const running = watch(ctx, ctx.fake.outputs, watched, bake(30_000), signal);
    await vi.advanceTimersByTimeAsync(30_000);
    const result = await running;

    expect(result).toMatchObject({
      ok: false,
      verdict: {
        code: "TARGETS_UNHEALTHY",
        detail: "web: 1 of 2 new targets unhealthy: Health checks failed with these codes: [502]",
      },
    });
    expect(flippedAt).toBe(3);
    expect(looks(ctx, from).length - flippedAt).toBeLessThan(REFRESH_EVERY_LOOKS);
  });

  it("GIVEN a bake WHEN an alarm goes off between two alarm reads THEN the bake fails on it within the refresh interval", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { ctx, watched } = await released({ pollIntervalMs: 1000 });
    for (const w of watched) ctx.ports.ecs.complete(w.service.serviceName, w.deploymentId);
    let flippedAt = 0;
    void ctx.fake.log.next("alarms.states").then(() => {
      flippedAt = looks(ctx).length; // look 3, just after its alarm read
      ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "9 errors in 1 minute");
    });

    const running = watch(ctx, ctx.fake.outputs, watched, bake(30_000), signal);
    await vi.advanceTimersByTimeAsync(30_000);
    const result = await running;

    expect(result).toMatchObject({ ok: false, verdict: { code: "ALARM" } });
    expect(flippedAt).toBe(REFRESH_EVERY_LOOKS);
    expect(looks(ctx).length - flippedAt).toBeLessThanOrEqual(REFRESH_EVERY_LOOKS);
  });

  it("GIVEN an alarm that went off after the last alarm read WHEN every rollout completes THEN the watch reads the alarms again instead of passing on the old reading", async () => {
    const { ctx, watched } = await released();
    ctx.ports.ecs.settleAfter = 4; // COMPLETED on look 5; the alarms are read (OK) on look 3
    void ctx.fake.log.next("alarms.states").then(() => {
      ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "12 errors in 1 minute");
    });

    const result = await watch(ctx, ctx.fake.outputs, watched, ROLLOUT, signal);

    expect(result).toMatchObject({
      ok: false,
      verdict: { code: "ALARM", detail: "gantry-sandbox-web-5xx in ALARM (12 errors in 1 minute)" },
    });
    expect(looksWith(looks(ctx), "alarms.states")).toEqual([3, 5]);
  });

  it("GIVEN a bake WHEN a deployment's task set changes (a task stopped) THEN the next look lists the tasks again, and reads targets again only where their IPs changed", async () => {
    const { ctx, watched } = await released();
    for (const w of watched) ctx.ports.ecs.complete(w.service.serviceName, w.deploymentId);
    void ctx.fake.log
      .next("ecs.describeServices")
      .then(() => ctx.fake.log.next("ecs.describeServices"))
      .then(() => {
        // look 2 has read its ECS state: the change shows on look 3
        ctx.ports.ecs.stopTaskOf("gantry-sandbox-web", "Task failed ELB health checks");
      });

    const result = await watch(ctx, ctx.fake.outputs, watched, bake(200), signal);

    expect(result).toMatchObject({ ok: true });
    const seen = looks(ctx);
    expect(looksWith(seen, "ecs.deploymentTaskIps").slice(0, 2)).toEqual([1, 3]);
    expect(looksWith(seen, "elb.targetHealth").slice(0, 2)).toEqual([1, 4]); // the same IPs on look 3
  });

  it("GIVEN the rollout's watch passed WHEN the bake goes on with its memory THEN the bake's first look asks AWS nothing (it takes the rollout's last look, a moment old) and asks the health URLs", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { ctx, watched } = await released({ pollIntervalMs: 1000 });
    ctx.ports.ecs.settleAfter = 0; // COMPLETED on the first look
    const memory = watchMemory();
    const rollout = await watch(ctx, ctx.fake.outputs, watched, ROLLOUT, signal, memory);
    const from = ctx.fake.log.calls.length;

    const baking = watch(ctx, ctx.fake.outputs, watched, bake(2000), signal, memory);
    await vi.advanceTimersByTimeAsync(2000);
    const baked = await baking;

    expect([rollout, baked]).toMatchObject([{ ok: true }, { ok: true }]);
    const bakeCalls = ctx.fake.log.calls.slice(from).map((c) => c.name);
    expect(bakeCalls.slice(0, bakeCalls.indexOf("ecs.describeServices"))).toEqual(
      watched.map(() => "http.get"),
    );
  });

  it("GIVEN new tasks running whose targets still wait for their health checks WHEN the rollout is watched THEN their health is read on every look until it passes", async () => {
    const { ctx, watched } = await released();
    ctx.ports.ecs.settleAfter = Number.POSITIVE_INFINITY;
    for (const w of watched) ctx.ports.ecs.run(w.service.serviceName, w.deploymentId);
    const describe = ctx.ports.ecs.describeServices.bind(ctx.ports.ecs);
    vi.spyOn(ctx.ports.ecs, "describeServices").mockImplementation((cluster, names) => {
      if (ctx.fake.log.count("ecs.describeServices") === 2) {
        // look 3 finds the rollouts COMPLETED, their targets healthy
        for (const w of watched) ctx.ports.ecs.complete(w.service.serviceName, w.deploymentId);
      }
      return describe(cluster, names);
    });

    const result = await watch(ctx, ctx.fake.outputs, watched, ROLLOUT, signal);

    expect(result).toMatchObject({ ok: true });
    const seen = looks(ctx);
    expect(seen).toHaveLength(3);
    expect(looksWith(seen, "elb.targetHealth")).toEqual([1, 2, 3]);
    expect(looksWith(seen, "ecs.deploymentTaskIps")).toEqual([1, 3]);
    expect(looksWith(seen, "alarms.states")).toEqual([3]);
  });
});
