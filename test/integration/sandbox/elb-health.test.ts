/**
 * Target health and the per-service health endpoint of the sandbox (sandbox/SPEC.md), R = 2 s.
 * Rules covered: R21 (DescribeTargetHealth of service target groups, Targets filter, plain moto
 * for other target groups), R22 (health endpoint: serving deployment, version flip, health and
 * wrong-version faults, 503 without a serving deployment, 404 elsewhere), R13 (health and
 * wrong-version faults read live), R12 (faults keyed on the tag of a digest image).
 *
 * Observations made during a rollout are checked against the rule's model at some instant of
 * the request's wall-clock window. Also R25 (no target-group events without a target group).
 */
import { DeleteServiceCommand, ListTasksCommand, UpdateServiceCommand, type Task } from "@aws-sdk/client-ecs";
import {
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { SandboxControl } from "../../../src/sandbox/control.ts";
import {
  describeService,
  describeTasks,
  getHealth,
  observe,
  possibleValues,
  provision,
  provisionService,
  record,
  release,
  serviceTasks,
  sleepUntil,
  taskIp,
  uid,
  waitFor,
  type Observation,
  type ServiceFixture,
  restoreSpeeds,
} from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const control = new SandboxControl(endpoint);
const R = 2_000;
let aws: AwsClients;

beforeAll(async () => {
  aws = createAwsClients({ region: "us-east-1", endpoint });
  await control.setSpeeds({ rolloutSeconds: R / 1000, snapshotSeconds: 1, taskSeconds: 1 });
});

afterAll(async () => {
  await restoreSpeeds(endpoint);
  aws.destroy();
});

// -- target model ------------------------------------------------------------------------------

type Row = [string, string, string | undefined, string | undefined];

const INITIAL = ["initial", "Elb.RegistrationInProgress", "Target registration is in progress"] as const;
const HEALTHY = ["healthy", undefined, undefined] as const;
const UNHEALTHY = [
  "unhealthy",
  "Target.ResponseCodeMismatch",
  "Health checks failed with these codes: [500]",
] as const;
const DRAINING = [
  "draining",
  "Target.DeregistrationInProgress",
  "Target deregistration is in progress",
] as const;

/** A task's target timeline (epoch ms); `healthy` undefined = never leaves initial. */
interface Timeline {
  ip: string;
  running: number;
  healthy?: number;
  drain?: number;
  stop?: number;
  unhealthy?: boolean;
}

function targetsAt(t: number, timelines: Timeline[]): Row[] {
  const rows: Row[] = [];
  for (const x of timelines) {
    if (t < x.running || (x.stop !== undefined && t >= x.stop)) continue;
    const state =
      x.drain !== undefined && t >= x.drain
        ? DRAINING
        : x.healthy === undefined || t < x.healthy
          ? INITIAL
          : x.unhealthy
            ? UNHEALTHY
            : HEALTHY;
    rows.push([x.ip, ...state]);
  }
  return rows.sort((a, b) => a[0].localeCompare(b[0]));
}

function rowsOf(descriptions: TargetHealthDescription[] | undefined): Row[] {
  for (const d of descriptions ?? []) {
    expect(d.Target?.Port).toBe(8080);
    expect(d.HealthCheckPort).toBe("8080");
  }
  return (descriptions ?? [])
    .map((d): Row => [
      d.Target!.Id!,
      d.TargetHealth!.State!,
      d.TargetHealth?.Reason,
      d.TargetHealth?.Description,
    ])
    .sort((a, b) => a[0].localeCompare(b[0]));
}

async function targetHealth(fx: ServiceFixture, ids?: string[]): Promise<TargetHealthDescription[]> {
  const res = await aws.elb.send(
    new DescribeTargetHealthCommand({
      TargetGroupArn: fx.targetGroupArn,
      ...(ids ? { Targets: ids.map((Id) => ({ Id })) } : {}),
    }),
  );
  return res.TargetHealthDescriptions ?? [];
}

function expectTargets(observations: Observation<TargetHealthDescription[]>[], timelines: Timeline[]): void {
  expect(observations.length).toBeGreaterThan(3);
  for (const obs of observations) {
    expect(possibleValues(obs, (t) => targetsAt(t, timelines))).toContainEqual(rowsOf(obs.value));
  }
}

interface HealthView {
  status: number;
  body: { status: string; version: string | null };
}

function expectHealth(observations: Observation<HealthView>[], model: (t: number) => HealthView): void {
  expect(observations.length).toBeGreaterThan(3);
  for (const obs of observations) {
    const actual = {
      status: obs.value.status,
      body: { status: obs.value.body.status, version: obs.value.body.version },
    };
    expect(possibleValues(obs, model)).toContainEqual(actual);
  }
}

const ok = (version: string): HealthView => ({ status: 200, body: { status: "healthy", version } });
const bad = (version: string): HealthView => ({ status: 500, body: { status: "unhealthy", version } });

async function tasksOf(fx: ServiceFixture, deploymentId: string): Promise<Task[]> {
  const arns: string[] = [];
  for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
    const res = await aws.ecs.send(
      new ListTasksCommand({ cluster: fx.cluster, startedBy: deploymentId, desiredStatus }),
    );
    arns.push(...(res.taskArns ?? []));
  }
  return describeTasks(aws, fx.cluster, arns);
}

// ---------------------------------------------------------------------------------------------
describe("R21 targets of a COMPLETED service", () => {
  it("GIVEN a service with 3 tasks WHEN DescribeTargetHealth THEN one healthy ip target per task with the container port; the Targets filter is honoured", async () => {
    const fx = await provisionService(endpoint, "r21", { tags: [uid("v1")], desiredCount: 3 });
    const tasks = await serviceTasks(aws, fx);
    const ips = tasks.map((t) => taskIp(t)!);
    expect(rowsOf(await targetHealth(fx))).toEqual([...ips].sort().map((ip): Row => [ip, ...HEALTHY]));
    expect(rowsOf(await targetHealth(fx, [ips[1]!]))).toEqual([[ips[1]!, ...HEALTHY]]);
    expect(rowsOf(await targetHealth(fx, ["10.254.254.254"]))).toEqual([]);
  });

  it("GIVEN a target group no sandbox service uses WHEN targets are registered THEN DescribeTargetHealth is plain moto (only those targets)", async () => {
    const name = uid("plain");
    const net = await provision<{ vpcId: string }>(endpoint, "network", `${name}-net`, {});
    const tg = await provision<{ targetGroupArn: string }>(endpoint, "targetGroup", name, {
      vpcId: net.outputs.vpcId,
    });
    await aws.elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: tg.outputs.targetGroupArn,
        Targets: [
          { Id: "10.0.1.10", Port: 8080 },
          { Id: "10.0.1.11", Port: 8081 },
        ],
      }),
    );
    const res = await aws.elb.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tg.outputs.targetGroupArn }),
    );
    expect(res.TargetHealthDescriptions?.map((d) => [d.Target?.Id, d.Target?.Port]).sort()).toEqual([
      ["10.0.1.10", 8080],
      ["10.0.1.11", 8081],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R21/R13 health fault read live", () => {
  it("GIVEN a COMPLETED service WHEN its tag gets a health fault THEN targets are unhealthy and the endpoint 500 at once; cleared THEN healthy/200 again", async () => {
    const fx = await provisionService(endpoint, "r21h", { tags: [uid("v1")], desiredCount: 2 });
    const v1 = fx.tags[0]!;
    const ips = (await serviceTasks(aws, fx)).map((t) => taskIp(t)!).sort();
    expect(await getHealth(fx.healthUrl)).toMatchObject({
      status: 200,
      body: { status: "healthy", version: v1 },
    });

    await control.addFault({ tag: v1, kind: "health" });
    expect(rowsOf(await targetHealth(fx))).toEqual(ips.map((ip): Row => [ip, ...UNHEALTHY]));
    expect(await getHealth(fx.healthUrl)).toEqual({
      status: 500,
      body: {
        status: "unhealthy",
        version: v1,
        environment: "sandbox",
        database: "healthy",
        service: fx.serviceName,
      },
    });

    await control.clearFaults(v1);
    expect(rowsOf(await targetHealth(fx))).toEqual(ips.map((ip): Row => [ip, ...HEALTHY]));
    expect(await getHealth(fx.healthUrl)).toMatchObject({
      status: 200,
      body: { status: "healthy", version: v1 },
    });
  });
  it("GIVEN two services on the same tag from two repositories WHEN a health fault names one repository THEN only that service answers 500 (R13 repository)", async () => {
    const tag = uid("v1");
    const faulty = await provisionService(endpoint, "r13a", { tags: [tag], desiredCount: 1 });
    const healthy = await provisionService(endpoint, "r13b", { tags: [tag], desiredCount: 1 });
    const repository = (faulty.images[tag]?.imageUri ?? "").replace(/^[^/]+\//, "").replace(/@.*$/, "");
    expect(repository).not.toBe("");

    await control.addFault({ tag, kind: "health", repository });
    try {
      expect(await control.faults()).toContainEqual({ tag, kind: "health", repository });
      expect((await getHealth(faulty.healthUrl)).status).toBe(500);
      expect(await getHealth(healthy.healthUrl)).toMatchObject({ status: 200, body: { version: tag } });
    } finally {
      await control.clearFaults(tag);
    }
    expect((await getHealth(faulty.healthUrl)).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R22 health endpoint basics", () => {
  it("GIVEN a service WHEN GET /health and GET / THEN the same JSON document; other paths 404", async () => {
    const fx = await provisionService(endpoint, "r22b", {
      tags: [uid("v1")],
      desiredCount: 1,
      targetGroup: false,
    });
    const expected = {
      status: 200,
      body: {
        status: "healthy",
        version: fx.tags[0],
        environment: "sandbox",
        database: "healthy",
        service: fx.serviceName,
      },
    };
    expect(fx.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
    expect(await getHealth(fx.healthUrl)).toEqual(expected);
    expect(await getHealth(fx.healthUrl.replace(/\/health$/, "/"))).toEqual(expected);
    const other = await fetch(fx.healthUrl.replace(/\/health$/, "/metrics"));
    expect(other.status).toBe(404);
    await other.body?.cancel();
  });

  it("GIVEN desiredCount 0 THEN 503 unavailable with version null; GIVEN the service deleted through ECS THEN 503 too", async () => {
    const fx = await provisionService(endpoint, "r22u", { tags: [uid("v1")], desiredCount: 1 });
    await aws.ecs.send(
      new UpdateServiceCommand({ cluster: fx.cluster, service: fx.serviceName, desiredCount: 0 }),
    );
    const unavailable = {
      status: 503,
      body: {
        status: "unavailable",
        version: null,
        environment: "sandbox",
        database: "healthy",
        service: fx.serviceName,
      },
    };
    expect(await getHealth(fx.healthUrl)).toEqual(unavailable);
    expect(await targetHealth(fx)).toEqual([]);

    await aws.ecs.send(
      new UpdateServiceCommand({ cluster: fx.cluster, service: fx.serviceName, desiredCount: 1 }),
    );
    await waitFor(async () => (await getHealth(fx.healthUrl)).status === 200, { what: "serving again" });
    await aws.ecs.send(
      new DeleteServiceCommand({ cluster: fx.cluster, service: fx.serviceName, force: true }),
    );
    expect(await getHealth(fx.healthUrl)).toEqual(unavailable);
  });

  it("GIVEN a single deployment whose tag has a wrong-version fault THEN version is '<tag>-stale' (read live)", async () => {
    const fx = await provisionService(endpoint, "r22s", {
      tags: [uid("v1")],
      desiredCount: 1,
      targetGroup: false,
    });
    const v1 = fx.tags[0]!;
    await control.addFault({ tag: v1, kind: "wrong-version" });
    expect(await getHealth(fx.healthUrl)).toMatchObject({
      status: 200,
      body: { status: "healthy", version: `${v1}-stale` },
    });
    await control.clearFaults(v1);
    expect(await getHealth(fx.healthUrl)).toMatchObject({ status: 200, body: { version: v1 } });
  });
});

// ---------------------------------------------------------------------------------------------
describe.concurrent("R21/R22 during deployments (run concurrently)", () => {
  it("GIVEN a healthy rollout (N = 2, M = 2) THEN targets go initial → healthy, old ones draining → gone, and version flips at c + 0.4R", async () => {
    const fx = await provisionService(endpoint, "r21r", { tags: [uid("v1"), uid("v2")], desiredCount: 2 });
    const [v1, v2] = [fx.tags[0]!, fx.tags[1]!];
    const P = (await describeService(aws, fx)).deployments![0]!;
    const rel = await release(aws, fx, v2);
    const c = rel.c;
    const polls = await record(
      async () => ({
        targets: await observe(() => targetHealth(fx)),
        health: await observe(() => getHealth(fx.healthUrl)),
      }),
      c + 1.15 * R,
    );
    const old = (await tasksOf(fx, P.id!)).sort((a, b) => +a.stoppedAt! - +b.stoppedAt!);
    const fresh = (await tasksOf(fx, rel.deployment.id!)).sort((a, b) => +a.startedAt! - +b.startedAt!);
    expect([old.length, fresh.length]).toEqual([2, 2]);
    const timelines: Timeline[] = [
      ...old.map((t, j) => ({
        ip: taskIp(t)!,
        running: 0,
        healthy: 0,
        drain: c + 0.5 * R,
        stop: c + R * (0.5 + (0.3 * (j + 1)) / 2),
      })),
      ...fresh.map((t, i) => {
        const running = c + R * (0.1 + (0.2 * (i + 1)) / 2);
        return { ip: taskIp(t)!, running, healthy: running + 0.2 * R };
      }),
    ];
    expectTargets(
      polls.map((p) => p.value.targets),
      timelines,
    );
    expectHealth(
      polls.map((p) => p.value.health),
      (t) => (t < c + R * (0.3 + 0.2 / 2) ? ok(v1) : ok(v2)),
    );
    expect(polls.at(-1)!.value.health.value.body.version).toBe(v2);
  });

  it("GIVEN a rollout to a tag with a health fault THEN its targets go initial → unhealthy and the endpoint answers 500 with the new version once they leave initial", async () => {
    const fx = await provisionService(endpoint, "r22h", { tags: [uid("v1"), uid("sick")], desiredCount: 1 });
    const [v1, sick] = [fx.tags[0]!, fx.tags[1]!];
    await control.addFault({ tag: sick, kind: "health" });
    const P = (await describeService(aws, fx)).deployments![0]!;
    const rel = await release(aws, fx, sick);
    const c = rel.c;
    const polls = await record(
      async () => ({
        targets: await observe(() => targetHealth(fx)),
        health: await observe(() => getHealth(fx.healthUrl)),
      }),
      c + 1.1 * R,
    );
    const [old] = await tasksOf(fx, P.id!);
    const [fresh] = await tasksOf(fx, rel.deployment.id!);
    const running = c + 0.3 * R;
    expectTargets(
      polls.map((p) => p.value.targets),
      [
        { ip: taskIp(old!)!, running: 0, healthy: 0, drain: c + 0.5 * R, stop: c + 0.8 * R },
        { ip: taskIp(fresh!)!, running, healthy: running + 0.2 * R, unhealthy: true },
      ],
    );
    expectHealth(
      polls.map((p) => p.value.health),
      (t) => (t < c + 0.5 * R ? ok(v1) : bad(sick)),
    );
    expect((await describeService(aws, fx)).deployments?.[0]?.rolloutState).toBe("COMPLETED");
    await control.clearFaults(sick);
  });

  it("GIVEN a rollout-faulty release with rollback THEN the failing tasks' targets stay initial and the endpoint keeps the old version throughout", async () => {
    const fx = await provisionService(endpoint, "r21f", { tags: [uid("v1"), uid("bad")], desiredCount: 1 });
    const [v1, badTag] = [fx.tags[0]!, fx.tags[1]!];
    await control.addFault({ tag: badTag, kind: "rollout" });
    const P = (await describeService(aws, fx)).deployments![0]!;
    const rel = await release(aws, fx, badTag);
    const c = rel.c;
    const polls = await record(
      async () => ({
        targets: await observe(() => targetHealth(fx)),
        health: await observe(() => getHealth(fx.healthUrl)),
      }),
      c + 2.15 * R,
    );
    const svc = await describeService(aws, fx);
    const rb = svc.deployments![0]!;
    expect(rb.id).not.toBe(rel.deployment.id);
    const attempts = await tasksOf(fx, rel.deployment.id!);
    expect(attempts).toHaveLength(3);
    const [old] = await tasksOf(fx, P.id!);
    const [rbTask] = await tasksOf(fx, rb.id!);
    const rbRunning = c + R + 0.3 * R;
    const timelines: Timeline[] = [
      { ip: taskIp(old!)!, running: 0, healthy: 0, drain: c + 1.5 * R, stop: c + 1.8 * R },
      ...attempts.map((t) => {
        const launch = t.createdAt!.getTime();
        return { ip: taskIp(t)!, running: launch + 0.1 * R, stop: launch + 0.2 * R };
      }),
      { ip: taskIp(rbTask!)!, running: rbRunning, healthy: rbRunning + 0.2 * R },
    ];
    expectTargets(
      polls.map((p) => p.value.targets),
      timelines,
    );
    expectHealth(
      polls.map((p) => p.value.health),
      () => ok(v1),
    );
  });

  it("GIVEN v1 → v3 → v2 completed (no target group) WHEN v2 gets a wrong-version fault THEN version is v3 (latest earlier deployment with another tag), read live", async () => {
    const fx = await provisionService(endpoint, "r22w", {
      tags: [uid("v1"), uid("v2"), uid("v3")],
      desiredCount: 1,
      targetGroup: false,
    });
    const [, v2, v3] = [fx.tags[0]!, fx.tags[1]!, fx.tags[2]!];
    const first = await release(aws, fx, v3);
    await sleepUntil(first.c + 1.05 * R);
    const second = await release(aws, fx, v2);
    await sleepUntil(second.c + 1.05 * R);
    expect(await getHealth(fx.healthUrl)).toMatchObject({ status: 200, body: { version: v2 } });
    await control.addFault({ tag: v2, kind: "wrong-version" });
    expect(await getHealth(fx.healthUrl)).toMatchObject({
      status: 200,
      body: { status: "healthy", version: v3 },
    });
    await control.clearFaults(v2);
    expect(await getHealth(fx.healthUrl)).toMatchObject({ status: 200, body: { version: v2 } });
    // R25: without a target group there are no (de)registration events, only the draining ones.
    const messages = ((await describeService(aws, fx)).events ?? []).map((e) => e.message!);
    expect(messages.filter((m) => /registered \d+ targets/.test(m))).toEqual([]);
    expect(messages.filter((m) => m.endsWith("has begun draining connections on 1 tasks."))).toHaveLength(2);
  });
});
