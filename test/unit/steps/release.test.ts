import { describe, expect, it } from "vitest";
import { containerVersion } from "../../../src/aws/taskDefinition.ts";
import { releaseStep } from "../../../src/steps/release.ts";
import { type FakeDeployContext, fakeDeployContext } from "../../fakes/context.ts";
import { digestOf } from "../../fakes/ports.ts";

const signal = new AbortController().signal;
const SERVICES = ["gantry-sandbox-web", "gantry-sandbox-api"];
const NEW_DIGEST = digestOf("v2.0.0");

/** The release ran: every service has a deployment of v2.0.0 in progress. */
async function released(ctx: FakeDeployContext): Promise<void> {
  await releaseStep.run(ctx, signal);
  expect(ctx.facts.releases.every((r) => r.deploymentId !== undefined)).toBe(true);
}

/** Deployments of `service` as ECS lists them now: [taskDefinition, status, rolloutState]. */
function deploymentsOf(ctx: FakeDeployContext, service: string): string[][] {
  return (ctx.ports.ecs.peek(service)?.deployments ?? []).map((d) => [
    d.taskDefinition.split("/").at(-1) ?? "",
    d.status,
    d.rolloutState,
  ]);
}

describe("release step", () => {
  it("GIVEN services running v1.0.0 WHEN released THEN each one's task definition and tag are recorded, a new revision with the digest is registered and UpdateService called once", async () => {
    const ctx = fakeDeployContext({ established: true });

    await releaseStep.run(ctx, signal);

    expect(ctx.facts.releases).toEqual(
      ["web", "api"].map((name) => ({
        name,
        serviceName: `gantry-sandbox-${name}`,
        containerName: name,
        image: "app",
        tag: "v2.0.0",
        digest: NEW_DIGEST,
        previousTaskDefinition: ctx.fake.initialTaskDefinitions[name],
        previousTag: "v1.0.0",
        previousDigest: digestOf("v1.0.0"),
        desiredCount: 2,
        newTaskDefinition: expect.stringMatching(
          new RegExp(`task-definition/gantry-sandbox-${name}:2$`),
        ) as unknown,
        deploymentId: ctx.ports.ecs.peek(`gantry-sandbox-${name}`)?.deployments[0]?.id,
      })),
    );
    for (const r of ctx.facts.releases) {
      const revision = ctx.ports.ecs.definition(r.newTaskDefinition ?? "");
      expect(revision?.containerDefinitions?.[0]?.image).toBe(
        `${ctx.fake.images.registry}/app@${NEW_DIGEST}`,
      );
      expect(containerVersion(revision ?? {}, r.containerName)).toBe("v2.0.0");
    }
    expect(ctx.fake.log.argsOf("ecs.updateService")).toEqual(
      ctx.facts.releases.map((r) => ["gantry-sandbox", r.serviceName, r.newTaskDefinition]),
    );
    for (const s of SERVICES) {
      expect(deploymentsOf(ctx, s)).toEqual([
        [`${s}:2`, "PRIMARY", "IN_PROGRESS"],
        [`${s}:1`, "ACTIVE", "COMPLETED"],
      ]);
    }
  });

  it("GIVEN the stack step registered a newer revision (cpu changed) WHEN released THEN the release is built on it, not on the running one", async () => {
    const ctx = fakeDeployContext({ established: true });
    const latest = ctx.ports.ecs.definition("gantry-sandbox-web");
    ctx.ports.ecs.seedTaskDefinition({ ...latest, cpu: "512", memory: "1024" });

    await releaseStep.run(ctx, signal);

    const web = ctx.facts.releases.find((r) => r.name === "web");
    expect(web?.previousTaskDefinition).toMatch(/gantry-sandbox-web:1$/);
    expect(web?.newTaskDefinition).toMatch(/gantry-sandbox-web:3$/);
    expect(ctx.ports.ecs.definition(web?.newTaskDefinition ?? "")).toMatchObject({
      cpu: "512",
      memory: "1024",
    });
  });

  it("GIVEN a release WHEN it changes a service THEN the journal has its checkpoint before the UpdateService", async () => {
    const ctx = fakeDeployContext({ established: true });

    await releaseStep.run(ctx, signal);

    const checkpoints = (await ctx.journal.read()).filter(
      (e) => e.event === "checkpoint" && e.step === "release",
    );
    const first = (
      checkpoints[0]?.data as { releases: { newTaskDefinition?: string; deploymentId?: string }[] }
    ).releases[0];
    expect(first?.newTaskDefinition).toBeDefined();
    expect(first?.deploymentId).toBeUndefined();
  });

  it("GIVEN a service missing from the cluster WHEN released THEN SERVICE_NOT_FOUND", async () => {
    const ctx = fakeDeployContext({ established: true });
    const outputs = ctx.fake.outputs;
    ctx.facts.outputs = {
      ...outputs,
      services: outputs.services.map((s) =>
        s.name === "api" ? { ...s, serviceName: "gantry-sandbox-jobs" } : s,
      ),
    };

    await expect(releaseStep.run(ctx, signal)).rejects.toMatchObject({
      code: "SERVICE_NOT_FOUND",
      message: "service gantry-sandbox-jobs does not exist in gantry-sandbox",
    });
  });

  describe("undo (the verified rollback)", () => {
    it("GIVEN a failed release WHEN undone THEN every service is put back on its recorded task definition and verified healthy on the previous version", async () => {
      const ctx = fakeDeployContext({ established: true });
      await released(ctx);

      await releaseStep.undo?.(ctx, ctx.facts.releases, signal);

      const reverts = ctx.fake.log.argsOf("ecs.updateService").slice(2);
      expect(reverts).toEqual(
        ctx.facts.releases.map((r) => ["gantry-sandbox", r.serviceName, r.previousTaskDefinition]),
      );
      for (const s of SERVICES) expect(deploymentsOf(ctx, s)).toEqual([[`${s}:1`, "PRIMARY", "COMPLETED"]]);
      expect(ctx.fake.log.argsOf("http.get").at(-1)?.[0]).toBe("http://127.0.0.1:9/api/health");
      expect(ctx.reporter.messages("info").at(-1)).toMatch(
        /^rollback verified: gantry-sandbox-web=v1\.0\.0, gantry-sandbox-api=v1\.0\.0 \(/,
      );
    });

    it("GIVEN ECS's circuit breaker already rolled the services back WHEN undone THEN no second UpdateService, and ECS's own rollback is verified", async () => {
      const ctx = fakeDeployContext({ established: true });
      await released(ctx);
      for (const s of SERVICES) {
        ctx.ports.ecs.fail(s, "ECS deployment circuit breaker: tasks failed to start.", { rollback: true });
      }

      await releaseStep.undo?.(ctx, ctx.facts.releases, signal);

      expect(ctx.fake.log.count("ecs.updateService")).toBe(2); // the release's only
      for (const s of SERVICES) expect(deploymentsOf(ctx, s)).toEqual([[`${s}:1`, "PRIMARY", "COMPLETED"]]);
      expect(ctx.reporter.messages("info")).toContainEqual(
        expect.stringMatching(
          /^gantry-sandbox-web: ECS is already rolling back \(deployment ecs-svc\/\d+\)$/,
        ),
      );
      expect(ctx.reporter.messages("info").at(-1)).toMatch(/^rollback verified: /);
    });

    it("GIVEN ECS rolled back one service and not the other WHEN undone THEN only the other gets an UpdateService", async () => {
      const ctx = fakeDeployContext({ established: true });
      await released(ctx);
      ctx.ports.ecs.fail("gantry-sandbox-web", "ECS deployment circuit breaker: tasks failed to start.", {
        rollback: true,
      });

      await releaseStep.undo?.(ctx, ctx.facts.releases, signal);

      expect(
        ctx.fake.log
          .argsOf("ecs.updateService")
          .slice(2)
          .map((a) => a[1]),
      ).toEqual(["gantry-sandbox-api"]);
      for (const s of SERVICES) expect(deploymentsOf(ctx, s)).toEqual([[`${s}:1`, "PRIMARY", "COMPLETED"]]);
    });

    it("GIVEN an alarm the bad release set off WHEN undone THEN the rollback waits for it to clear instead of failing", async () => {
      const ctx = fakeDeployContext({ established: true });
      await released(ctx);
      ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "12 errors in 1 minute");
      void ctx.fake.log
        .next("alarms.states")
        .then(() => ctx.fake.log.next("alarms.states"))
        .then(() => {
          ctx.ports.alarms.set("gantry-sandbox-web-5xx", "OK");
        });

      await releaseStep.undo?.(ctx, ctx.facts.releases, signal);

      expect(ctx.fake.log.count("alarms.states")).toBeGreaterThanOrEqual(3);
      expect(ctx.reporter.messages("progress")).toContainEqual(
        expect.stringContaining(
          "waiting for gantry-sandbox-web-5xx in ALARM (12 errors in 1 minute) to clear",
        ),
      );
      expect(ctx.reporter.messages("info").at(-1)).toMatch(/^rollback verified: /);
    });

    describe.each([
      {
        given: "the rollback deployment fails too",
        arrange: (ctx: FakeDeployContext) => {
          ctx.ports.ecs.rolloutFor = () => ({
            kind: "fail",
            reason: "tasks failed to start",
            rollback: false,
          });
        },
        message: "rollback not verified: tasks failed to start",
      },
      {
        given: "the previous version's health endpoint answers 500",
        arrange: (ctx: FakeDeployContext) => {
          ctx.fake.healthFaults.set("v1.0.0", { status: 500 });
        },
        message: "rollback not verified: http://127.0.0.1:9/web/health answered HTTP 500",
      },
      {
        given: "the rollback never completes",
        arrange: (ctx: FakeDeployContext) => {
          ctx.ports.ecs.rolloutFor = () => ({ kind: "hold" });
        },
        message: /^rollback not verified: rollout IN_PROGRESS .*\(deadline reached\)$/,
      },
    ])("GIVEN $given", ({ arrange, message }) => {
      it("WHEN undone THEN ROLLBACK_UNVERIFIED says why and a human is asked for", async () => {
        const ctx = fakeDeployContext({ established: true, timing: { rolloutTimeoutMs: 60 } });
        await released(ctx);
        arrange(ctx);

        const err = await Promise.resolve(releaseStep.undo?.(ctx, ctx.facts.releases, signal)).catch(
          (e: unknown) => e,
        );

        expect(err).toMatchObject({ name: "StepError", code: "ROLLBACK_UNVERIFIED" });
        expect((err as Error).message).toMatch(message);
        expect((err as { hint?: string }).hint).toBe("a human is needed: gantry status --env sandbox");
      });
    });

    it("GIVEN a release that failed before any UpdateService WHEN undone THEN nothing is called", async () => {
      const ctx = fakeDeployContext({ established: true });
      ctx.facts.releases.push({
        name: "web",
        serviceName: "gantry-sandbox-web",
        containerName: "web",
        image: "app",
        tag: "v2.0.0",
        digest: ctx.fake.images.image("v2.0.0").digest,
        previousTaskDefinition: ctx.fake.initialTaskDefinitions.web ?? "",
        previousTag: "v1.0.0",
        desiredCount: 2,
      });
      const before = ctx.fake.log.calls.length;

      await releaseStep.undo?.(ctx, ctx.facts.releases, signal);

      expect(ctx.fake.log.calls.length).toBe(before);
    });
  });
});
