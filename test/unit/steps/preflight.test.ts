import { describe, expect, it } from "vitest";
import { DeployLock, type LockHolder } from "../../../src/orchestrator/lock.ts";
import { LockHeldError, preflight } from "../../../src/steps/preflight.ts";
import { StepError } from "../../../src/steps/context.ts";
import { type FakeDeployContext, fakeDeployContext } from "../../fakes/context.ts";
import { digestOf } from "../../fakes/ports.ts";

const LOCK_KEY = "locks/sandbox.json";
const signal = new AbortController().signal;

/** Another deploy takes the lock of the environment first. */
async function otherDeployHolds(ctx: FakeDeployContext, who: Partial<LockHolder> = {}): Promise<void> {
  const lock = new DeployLock(ctx.store, ctx.request.env, {
    now: () => Date.now(),
    host: who.host ?? "runner-1",
    isAlive: () => true,
  });
  const res = await lock.acquire({
    deploymentId: "20261122T094500Z-0f0f0f",
    env: ctx.request.env,
    actor: "bob",
    host: "runner-1",
    pid: 777,
    startedAt: "2026-11-22T09:45:00.000Z",
    ...who,
  });
  expect(res.acquired).toBe(true);
}

function holderOf(ctx: FakeDeployContext): LockHolder | undefined {
  const body = ctx.store.objects.get(LOCK_KEY)?.body;
  return body ? (JSON.parse(body) as LockHolder) : undefined;
}

describe("preflight", () => {
  it("GIVEN a free lock, the tag in ECR, idle services and quiet alarms WHEN run THEN the lock is ours and the image and outputs are known", async () => {
    const ctx = fakeDeployContext();

    await preflight.run(ctx, signal);

    expect(holderOf(ctx)).toMatchObject({ deploymentId: ctx.request.deploymentId, actor: "ana", pid: 4242 });
    expect(ctx.facts.lock?.holder.deploymentId).toBe(ctx.request.deploymentId);
    expect(ctx.facts.images).toEqual(
      new Map([
        ["web", ctx.fake.images.image("v2.0.0")],
        ["api", ctx.fake.images.image("v2.0.0")],
      ]),
    );
    expect(ctx.facts.outputs).toEqual(ctx.fake.outputs);
    // Both services in one DescribeServices.
    expect(ctx.fake.log.count("ecs.describeServices")).toBe(1);
    expect(ctx.fake.log.count("ecs.describeService")).toBe(0);
    expect(ctx.reporter.messages("warn")).toEqual([]);
  });

  it("GIVEN a live deploy holds the lock WHEN run THEN refused with LockHeldError naming the holder, and nothing else is called", async () => {
    const ctx = fakeDeployContext();
    ctx.alivePids.add(777);
    await otherDeployHolds(ctx);

    const err = await preflight.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(LockHeldError);
    expect(err).toMatchObject({ code: "LOCKED", source: "user" });
    expect((err as Error).message).toContain("20261122T094500Z-0f0f0f of bob on runner-1 (pid 777)");
    expect((err as LockHeldError).hint).toContain("gantry unlock --env sandbox");
    expect(ctx.fake.log.names()).toEqual([]);
    expect(holderOf(ctx)?.deploymentId).toBe("20261122T094500Z-0f0f0f");
    expect(ctx.facts.lock).toBeUndefined();
  });

  it("GIVEN a lock whose holder died on this host WHEN run THEN it is taken over with a warning naming the old deployment", async () => {
    const ctx = fakeDeployContext();
    await otherDeployHolds(ctx, { pid: 999 }); // 999 is not alive here

    await preflight.run(ctx, signal);

    expect(holderOf(ctx)?.deploymentId).toBe(ctx.request.deploymentId);
    expect(ctx.reporter.messages("warn")).toContainEqual(
      expect.stringMatching(
        /took over the lock of deployment 20261122T094500Z-0f0f0f: process 999 on runner-1 is gone/,
      ),
    );
  });

  it("GIVEN the tag is not in the registry WHEN run THEN IMAGE_NOT_FOUND, only the registry and the stack's outputs were read (once per image:tag), and the lock is released", async () => {
    const ctx = fakeDeployContext({ pushTag: false });

    const err = await preflight.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "IMAGE_NOT_FOUND", source: "user" });
    expect((err as Error).message).toBe("image not found: app:v2.0.0 (web, api)");
    // The outputs are read alongside the images; nothing else was asked.
    expect(ctx.fake.log.names()).toEqual(["images.resolve", "stack.outputs"]);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(ctx.facts.lock).toBeUndefined();
  });

  it("GIVEN a rollback whose tag now points at another digest WHEN run THEN IMAGE_MOVED and the lock is released", async () => {
    const ctx = fakeDeployContext({
      request: {
        tag: "v1.0.0",
        targets: [{ name: "web", tag: "v1.0.0", expectedDigest: "sha256:feedface" }],
      },
    });

    const err = await preflight.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "IMAGE_MOVED", source: "user" });
    expect((err as Error).message).toContain("not sha256:feedface");
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(ctx.fake.log.count("ecs.describeService")).toBe(0);
  });

  it("GIVEN a rollback whose tag still points at the recorded digest WHEN run THEN it passes", async () => {
    const ctx = fakeDeployContext({
      request: {
        tag: "v1.0.0",
        targets: [{ name: "web", tag: "v1.0.0", expectedDigest: digestOf("v1.0.0") }],
      },
    });

    await preflight.run(ctx, signal);

    expect(ctx.facts.images?.get("web")?.digest).toBe(digestOf("v1.0.0"));
    expect(holderOf(ctx)?.deploymentId).toBe(ctx.request.deploymentId);
  });

  it("GIVEN two services with their own images and one missing tag in each WHEN run THEN IMAGE_NOT_FOUND lists every missing service:image:tag and nothing changed", async () => {
    const ctx = fakeDeployContext({
      serviceImages: { web: "web", api: "ghcr.io/acme/api" },
      pushTag: false,
      request: {
        targets: [
          { name: "web", tag: "v2.0.0" },
          { name: "api", tag: "v2.0.1" },
        ],
      },
    });
    ctx.fake.images.push("v2.0.0", "v2.0.0", "ghcr.io/acme/api");

    const err = await preflight.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "IMAGE_NOT_FOUND", source: "user" });
    expect((err as Error).message).toBe(
      "2 images not found: web:v2.0.0 (web), ghcr.io/acme/api:v2.0.1 (api)",
    );
    expect(ctx.fake.log.names().filter((n) => n !== "stack.outputs")).toEqual([
      "images.resolve",
      "images.resolve",
    ]);
    expect(ctx.fake.log.count("stack.outputs")).toBe(1);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
  });

  it("GIVEN two services with their own images and tags WHEN run THEN each service gets its own image's digest", async () => {
    const ctx = fakeDeployContext({
      serviceImages: { web: "web", api: "ghcr.io/acme/api" },
      request: {
        targets: [
          { name: "web", tag: "v2.0.0" },
          { name: "api", tag: "v2.0.1" },
        ],
      },
    });
    const api = ctx.fake.images.push("v2.0.1", "v2.0.1", "ghcr.io/acme/api");

    await preflight.run(ctx, signal);

    expect(ctx.facts.images?.get("api")).toEqual(api);
    expect(api.imageUri).toMatch(/^ghcr\.io\/acme\/api@sha256:/);
    expect(ctx.facts.images?.get("web")).toEqual(ctx.fake.images.image("v2.0.0", undefined, "web"));
    expect(ctx.facts.images?.get("web")?.digest).not.toBe(api.digest);
  });

  it("GIVEN a registry that refuses the credentials WHEN run THEN its error is the step's and the lock is released", async () => {
    const ctx = fakeDeployContext({ serviceImages: { api: "ghcr.io/acme/api" } });
    const refused = new StepError("ghcr.io refused the credentials", {
      code: "REGISTRY_AUTH",
      source: "user",
    });
    ctx.fake.images.failures.set("ghcr.io/acme/api", refused);

    const err = await preflight.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toBe(refused);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(ctx.fake.log.count("ecs.describeService")).toBe(0);
  });

  it("GIVEN a service with a deployment in progress WHEN run THEN DEPLOYMENT_IN_PROGRESS names it and the lock is released", async () => {
    const ctx = fakeDeployContext();
    ctx.ports.ecs.rolloutFor = () => ({ kind: "hold" });
    const busy = await ctx.ports.ecs.updateService(
      ctx.fake.outputs.clusterName,
      "gantry-sandbox-api",
      ctx.fake.initialTaskDefinitions.api ?? "",
    );

    const err = await preflight.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "DEPLOYMENT_IN_PROGRESS" });
    expect((err as Error).message).toBe(
      `service gantry-sandbox-api already has a deployment in progress (${busy})`,
    );
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(false);
    expect(ctx.fake.log.count("ecs.updateService")).toBe(1); // only the set-up's
  });

  it("GIVEN an alarm already in ALARM WHEN run THEN it is recorded as baseline and warned about, not fatal", async () => {
    const ctx = fakeDeployContext({ gantry: { alarms: ["gantry-sandbox-db-cpu"] } });
    ctx.ports.alarms.set("gantry-sandbox-web-5xx", "ALARM", "5 errors in 1 minute");
    ctx.ports.alarms.set("gantry-sandbox-db-cpu", "OK");

    await preflight.run(ctx, signal);

    expect([...ctx.facts.baselineAlarms]).toEqual(["gantry-sandbox-web-5xx"]);
    expect(ctx.reporter.messages("warn")).toEqual([
      "alarm gantry-sandbox-web-5xx is already in ALARM before the deploy: 5 errors in 1 minute",
    ]);
    expect(ctx.fake.log.argsOf("alarms.states")).toEqual([
      [["gantry-sandbox-web-5xx", "gantry-sandbox-db-cpu"]],
    ]);
    expect(ctx.facts.lock).toBeDefined();
  });

  it("GIVEN a configured alarm that does not exist WHEN run THEN it is warned about and the check passes", async () => {
    const ctx = fakeDeployContext({ gantry: { alarms: ["no-such-alarm"] } });

    await preflight.run(ctx, signal);

    expect(ctx.reporter.messages("warn")).toEqual(["alarm no-such-alarm does not exist"]);
  });

  it("GIVEN a first deploy (the stack does not exist yet) WHEN run THEN the lock and image are checked and no service is", async () => {
    const ctx = fakeDeployContext({ environment: { stackDeployed: false } });

    await preflight.run(ctx, signal);

    expect(ctx.facts.outputs).toBeUndefined();
    expect(ctx.facts.images?.get("web")?.tag).toBe("v2.0.0");
    expect(ctx.fake.log.count("ecs.describeService")).toBe(0);
    expect(ctx.facts.lock).toBeDefined();
  });

  it("GIVEN preflight succeeded WHEN a later step fails THEN preflight has nothing to undo: the lock stays held for the deploy's finish", async () => {
    const ctx = fakeDeployContext();
    await preflight.run(ctx, signal);

    expect("undo" in preflight).toBe(false);
    expect(ctx.store.objects.has(LOCK_KEY)).toBe(true);
    expect(ctx.facts.lock).toBeDefined();
  });
});
