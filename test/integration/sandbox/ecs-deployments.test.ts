/**
 * ECS services and deployments of the sandbox (sandbox/SPEC.md), on rollout R = 2 s.
 * Rules covered: R16 (healthy rolling deployment, draining, removal of other deployments),
 * R16a (lazy deterministic time model), R16b (rollout fault, circuit-breaker rollback, no
 * rollback, supersede), R16c (counts, order, updatedAt), R17 (service creation), R17b (service
 * tasks, ListTasks filters), R18 (UpdateService), R25 (service events), R13 (rollout fault read
 * at deployment creation).
 *
 * Every observation is checked against the rule's model at some instant inside the request's
 * wall-clock window (the sandbox evaluates a request at one instant inside it); instants that
 * the sandbox reports itself (createdAt, startedAt, stoppedAt, event createdAt) are checked
 * exactly (± a few ms of timestamp truncation).
 */
import {
  CreateServiceCommand,
  DescribeServicesCommand,
  ListTasksCommand,
  UpdateServiceCommand,
  type Deployment,
  type Service,
  type ServiceEvent,
  type Task,
} from "@aws-sdk/client-ecs";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { SandboxControl } from "../../../src/sandbox/control.ts";
import {
  describeService,
  describeTasks,
  observe,
  possibleValues,
  provision,
  provisionService,
  provisionTaskDefinition,
  provisionTaskEnv,
  record,
  release,
  registerTag,
  restoreSpeeds,
  runTask,
  serviceTasks,
  sleepUntil,
  taskIp,
  uid,
  waitFor,
  type NetworkOutputs,
  type Observation,
} from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const control = new SandboxControl(endpoint);
const R = 2_000; // rollout seconds of this file, in ms
const TOL = 15; // ms: timestamps are truncated to milliseconds
let aws: AwsClients;

beforeAll(async () => {
  aws = createAwsClients({ region: "us-east-1", endpoint });
  await control.setSpeeds({ rolloutSeconds: R / 1000, snapshotSeconds: 1, taskSeconds: 1 });
});

afterAll(async () => {
  await restoreSpeeds(endpoint);
  aws.destroy();
});

/** Assert `actual` (epoch ms) equals `expected` within timestamp truncation. */
function expectInstant(actual: Date | undefined, expected: number, what: string): void {
  expect(actual, what).toBeDefined();
  const diff = actual!.getTime() - expected;
  expect(Math.abs(diff), `${what}: off by ${diff} ms`).toBeLessThanOrEqual(TOL);
}

function runningAt(c: number, n: number, i: number): number {
  return c + R * (0.1 + (0.2 * (i + 1)) / n);
}

function drainStopAt(c: number, m: number, j: number): number {
  return c + R * (0.5 + (0.3 * (j + 1)) / m);
}

// -- a normalized view of DescribeServices, comparable with the model ---------------------------

interface DeploymentView {
  label: string;
  status: string | undefined;
  rolloutState: string | undefined;
  reason: string | undefined;
  taskDefinition: string | undefined;
  running: number | undefined;
  pending: number | undefined;
  failed: number | undefined;
  /** updatedAt − createdAt, in 10 ms steps. */
  updatedAfter: number;
}

interface ServiceView {
  taskDefinition: string | undefined;
  running: number | undefined;
  pending: number | undefined;
  deployments: DeploymentView[];
}

/** Labels known deployment ids (e.g. D, P) and replaces them inside reasons too; others are "new". */
function view(svc: Service, labels: Map<string, string>): ServiceView {
  const label = (id: string | undefined): string => labels.get(id ?? "") ?? "new";
  const replaceIds = (text: string | undefined): string | undefined => {
    let out = text;
    for (const [id, l] of labels) out = out?.split(id).join(`<${l}>`);
    return out;
  };
  return {
    taskDefinition: svc.taskDefinition,
    running: svc.runningCount,
    pending: svc.pendingCount,
    deployments: (svc.deployments ?? []).map((d: Deployment) => ({
      label: label(d.id),
      status: d.status,
      rolloutState: d.rolloutState,
      reason: replaceIds(d.rolloutStateReason),
      taskDefinition: d.taskDefinition,
      running: d.runningCount,
      pending: d.pendingCount,
      failed: d.failedTasks,
      updatedAfter: Math.round((d.updatedAt!.getTime() - d.createdAt!.getTime()) / 10) * 10,
    })),
  };
}

function summed(deployments: DeploymentView[], td: string): ServiceView {
  return {
    taskDefinition: td,
    running: deployments.reduce((a, d) => a + (d.running ?? 0), 0),
    pending: deployments.reduce((a, d) => a + (d.pending ?? 0), 0),
    deployments,
  };
}

/** Check every observation against `model` at some instant of its window. */
function expectMatchesModel(
  observations: Observation<Service>[],
  labels: Map<string, string>,
  model: (t: number) => ServiceView,
): void {
  expect(observations.length).toBeGreaterThan(3);
  for (const obs of observations) {
    const actual = view(obs.value, labels);
    const possible = possibleValues(obs, model);
    const at = `observation ${obs.t0 % 100_000}–${obs.t1 % 100_000}`;
    expect(possible, at).toContainEqual(actual);
  }
}

function count(instants: number[], t: number): number {
  return instants.filter((x) => x <= t).length;
}

/** "(service S) <text>" events of a service, oldest first, with createdAt. */
function events(svc: Service): ServiceEvent[] {
  return [...(svc.events ?? [])].reverse();
}

const taskList = /\(task ([0-9a-f-]+)\)/g;
function taskIdsOf(message: string): string[] {
  return [...message.matchAll(taskList)].map((m) => m[1]!);
}
function taskId(task: Task): string {
  return task.taskArn!.split("/").at(-1)!;
}

// ---------------------------------------------------------------------------------------------
describe("R17 service creation", () => {
  interface Created {
    cluster: string;
    serviceName: string;
    targetGroupArn: string;
    firstSubnet: string;
    expectedConfiguration: unknown;
    created: Service;
  }

  async function base(prefix: string): Promise<{
    name: string;
    network: NetworkOutputs;
    cluster: string;
    targetGroupArn: string;
    taskDefinitionArn: string;
  }> {
    const name = uid(prefix);
    const network = await provision<NetworkOutputs>(endpoint, "network", `${name}-net`, {});
    const cluster = await provision<{ clusterName: string }>(endpoint, "cluster", name, {});
    const [img] = await control.publishImages(name, [uid("v1")]);
    const tg = await provision<{ targetGroupArn: string }>(endpoint, "targetGroup", name, {
      vpcId: network.outputs.vpcId,
    });
    const td = await provision<{ taskDefinitionArn: string }>(endpoint, "taskDefinition", name, {
      family: name,
      containerName: "app",
      image: img!.imageUri,
      cpu: 256,
      memory: 512,
    });
    return {
      name,
      network: network.outputs,
      cluster: cluster.outputs.clusterName,
      targetGroupArn: tg.outputs.targetGroupArn,
      taskDefinitionArn: td.outputs.taskDefinitionArn,
    };
  }

  describe.each([
    {
      via: "ECS CreateService",
      create: async (): Promise<Created> => {
        const b = await base("r17api");
        const deploymentConfiguration = {
          deploymentCircuitBreaker: { enable: true, rollback: true },
          maximumPercent: 150,
          minimumHealthyPercent: 50,
        };
        const res = await aws.ecs.send(
          new CreateServiceCommand({
            cluster: b.cluster,
            serviceName: b.name,
            taskDefinition: b.taskDefinitionArn,
            desiredCount: 3,
            launchType: "FARGATE",
            loadBalancers: [{ targetGroupArn: b.targetGroupArn, containerName: "app", containerPort: 8080 }],
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets: b.network.subnetIds,
                securityGroups: b.network.securityGroupIds,
              },
            },
            deploymentConfiguration,
          }),
        );
        return {
          cluster: b.cluster,
          serviceName: b.name,
          targetGroupArn: b.targetGroupArn,
          firstSubnet: b.network.subnetIds[0]!,
          expectedConfiguration: deploymentConfiguration,
          created: res.service!,
        };
      },
    },
    {
      via: "the service resource",
      create: async (): Promise<Created> => {
        const b = await base("r17res");
        await provision(endpoint, "service", b.name, {
          cluster: b.cluster,
          serviceName: b.name,
          taskDefinitionArn: b.taskDefinitionArn,
          desiredCount: 3,
          targetGroupArn: b.targetGroupArn,
          containerName: "app",
          containerPort: 8080,
          subnets: b.network.subnetIds,
          securityGroups: b.network.securityGroupIds,
          circuitBreakerRollback: true,
        });
        const res = await aws.ecs.send(
          new DescribeServicesCommand({ cluster: b.cluster, services: [b.name] }),
        );
        return {
          cluster: b.cluster,
          serviceName: b.name,
          targetGroupArn: b.targetGroupArn,
          firstSubnet: b.network.subnetIds[0]!,
          expectedConfiguration: {
            deploymentCircuitBreaker: { enable: true, rollback: true },
            maximumPercent: 200,
            minimumHealthyPercent: 100,
            alarms: {
              alarmNames: [],
              enable: expect.any(Boolean) as unknown,
              rollback: expect.any(Boolean) as unknown,
            },
          },
          created: res.services![0]!,
        };
      },
    },
  ])("via $via", ({ create }) => {
    it("GIVEN a new service THEN one PRIMARY COMPLETED deployment, N RUNNING tasks, healthy targets and the creation events at once", async () => {
      const t0 = Date.now();
      const s = await create();
      const svc = s.created;
      expect(svc.desiredCount).toBe(3);
      expect(svc.runningCount).toBe(3);
      expect(svc.pendingCount).toBe(0);
      expect(svc.deploymentConfiguration).toEqual(s.expectedConfiguration);
      expect(svc.deployments).toHaveLength(1);
      const d = svc.deployments![0]!;
      expect(d.id).toMatch(/^ecs-svc\/\d+$/);
      expect(d).toMatchObject({
        status: "PRIMARY",
        rolloutState: "COMPLETED",
        rolloutStateReason: `ECS deployment ${d.id} completed.`,
        runningCount: 3,
        pendingCount: 0,
        desiredCount: 3,
        taskDefinition: svc.taskDefinition,
      });

      const listed = await aws.ecs.send(
        new ListTasksCommand({ cluster: s.cluster, serviceName: s.serviceName }),
      );
      const tasks = await describeTasks(aws, s.cluster, listed.taskArns ?? []);
      expect(tasks).toHaveLength(3);
      for (const task of tasks) {
        expect(task).toMatchObject({
          lastStatus: "RUNNING",
          desiredStatus: "RUNNING",
          group: `service:${s.serviceName}`,
          startedBy: d.id,
          launchType: "FARGATE",
        });
        expect(task.attachments?.[0]?.details?.find((x) => x.name === "subnetId")?.value).toBe(s.firstSubnet);
        expect(taskIp(task)).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      }

      const health = await aws.elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: s.targetGroupArn }),
      );
      expect(health.TargetHealthDescriptions?.map((h) => h.TargetHealth?.State)).toEqual([
        "healthy",
        "healthy",
        "healthy",
      ]);
      expect(new Set(health.TargetHealthDescriptions?.map((h) => h.Target?.Id))).toEqual(
        new Set(tasks.map(taskIp)),
      );

      const ev = svc.events ?? [];
      expect(ev.map((e) => e.message)).toEqual([
        `(service ${s.serviceName}) has reached a steady state.`,
        expect.stringMatching(
          new RegExp(
            `^\\(service ${s.serviceName}\\) has started 3 tasks: (\\(task [0-9a-f-]+\\) ?){3}\\.?$`,
          ),
        ) as unknown,
      ]);
      expect(new Set(taskIdsOf(ev[1]!.message!))).toEqual(new Set(tasks.map(taskId)));
      for (const e of ev) {
        expect(e.createdAt!.getTime()).toBeGreaterThanOrEqual(t0 - TOL);
        expect(e.createdAt!.getTime()).toBeLessThanOrEqual(Date.now() + TOL);
      }
    });
  });

  it("GIVEN two services and a standalone task in one cluster WHEN ListTasks THEN serviceName filters and STOPPED tasks need desiredStatus", async () => {
    const env = await provisionTaskEnv(endpoint, "r17b", [uid("v1")]);
    const image = Object.values(env.images)[0]!.imageUri;
    const td = await provisionTaskDefinition(endpoint, env, "td", { image });
    const names = [uid("svc-a"), uid("svc-b")];
    for (const [i, serviceName] of names.entries()) {
      await aws.ecs.send(
        new CreateServiceCommand({
          cluster: env.cluster,
          serviceName,
          taskDefinition: td,
          desiredCount: i + 1,
          launchType: "FARGATE",
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: env.network.subnetIds,
              securityGroups: env.network.securityGroupIds,
            },
          },
        }),
      );
    }
    const standalone = await runTask(aws, env, td);
    const list = async (serviceName?: string, desiredStatus?: "RUNNING" | "STOPPED"): Promise<Task[]> => {
      const res = await aws.ecs.send(
        new ListTasksCommand({
          cluster: env.cluster,
          ...(serviceName ? { serviceName } : {}),
          ...(desiredStatus ? { desiredStatus } : {}),
        }),
      );
      return describeTasks(aws, env.cluster, res.taskArns ?? []);
    };
    expect((await list(names[0])).map((t) => t.group)).toEqual([`service:${names[0]}`]);
    expect((await list(names[1])).map((t) => t.group)).toEqual([
      `service:${names[1]}`,
      `service:${names[1]}`,
    ]);
    expect((await list()).map((t) => t.taskArn)).toContain(standalone.value.taskArn);
    expect(await list()).toHaveLength(4);

    // Scale B to 0: its tasks stop and leave the default listing, but stay describable.
    await aws.ecs.send(
      new UpdateServiceCommand({ cluster: env.cluster, service: names[1], desiredCount: 0 }),
    );
    expect(await list(names[1])).toEqual([]);
    const stopped = await list(names[1], "STOPPED");
    expect(stopped.map((t) => [t.lastStatus, t.desiredStatus, t.stopCode])).toEqual([
      ["STOPPED", "STOPPED", "ServiceSchedulerInitiated"],
      ["STOPPED", "STOPPED", "ServiceSchedulerInitiated"],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
describe.concurrent("R16 deployments (run concurrently)", () => {
  describe("R16 healthy rolling deployment (N = 2, M = 2)", () => {
    it("GIVEN a COMPLETED service WHEN UpdateService releases a new revision THEN tasks, counts, states and events follow R16/R16c/R17b/R25", async () => {
      const fx = await provisionService(endpoint, "r16", { tags: [uid("v1"), uid("v2")], desiredCount: 2 });
      const before = await describeService(aws, fx);
      const P = before.deployments![0]!;
      const oldTasks = await serviceTasks(aws, fx);
      expect(oldTasks).toHaveLength(2);

      const rel = await release(aws, fx, fx.tags[1]!);
      const c = rel.c;
      expect(c).toBeGreaterThanOrEqual(rel.t0 - TOL);
      expect(c).toBeLessThanOrEqual(rel.t1 + TOL);
      const D = rel.deployment;
      expect(D.id).toMatch(/^ecs-svc\/\d+$/);
      expect(D.id).not.toBe(P.id);
      // UpdateService's own answer: D is PRIMARY/IN_PROGRESS, the service already on D's task definition.
      const first = await describeService(aws, fx);
      expect(first.taskDefinition).toBe(rel.taskDefinitionArn);

      const newArns = (
        await aws.ecs.send(
          new ListTasksCommand({ cluster: fx.cluster, serviceName: fx.serviceName, startedBy: D.id }),
        )
      ).taskArns!;
      expect(newArns).toHaveLength(2);
      const allArns = [...oldTasks.map((t) => t.taskArn!), ...newArns];

      const polls = await record(
        async () => ({
          service: await observe(() => describeService(aws, fx)),
          tasks: await observe(() => describeTasks(aws, fx.cluster, allArns)),
        }),
        c + 1.25 * R,
      );
      const final = await describeService(aws, fx);
      const tasks = await describeTasks(aws, fx.cluster, allArns);
      const newTasks = tasks
        .filter((t) => t.startedBy === D.id)
        .sort((a, b) => +a.startedAt! - +b.startedAt!);
      const drained = tasks.filter((t) => t.startedBy === P.id).sort((a, b) => +a.stoppedAt! - +b.stoppedAt!);

      // Instants reported by the sandbox itself.
      expect(newTasks).toHaveLength(2);
      newTasks.forEach((task, i) => {
        expectInstant(task.createdAt, c, `new task ${i} createdAt`);
        expectInstant(task.startedAt, runningAt(c, 2, i), `new task ${i} startedAt`);
        expect(task).toMatchObject({
          lastStatus: "RUNNING",
          desiredStatus: "RUNNING",
          group: `service:${fx.serviceName}`,
          launchType: "FARGATE",
          taskDefinitionArn: rel.taskDefinitionArn,
        });
        expect(task.attachments?.[0]?.details?.find((x) => x.name === "subnetId")?.value).toBe(
          fx.network.subnetIds[0],
        );
      });
      expect(drained).toHaveLength(2);
      drained.forEach((task, j) => {
        expectInstant(task.stoppedAt, drainStopAt(c, 2, j), `old task ${j} stoppedAt`);
        expect(task).toMatchObject({
          lastStatus: "STOPPED",
          desiredStatus: "STOPPED",
          stopCode: "ServiceSchedulerInitiated",
          stoppedReason: `Scaling activity initiated by (deployment ${D.id})`,
        });
        expect(task.containers?.[0]?.exitCode).toBe(0);
      });

      // The model of R16/R16c, checked at every observation.
      const labels = new Map([
        [D.id!, "D"],
        [P.id!, "P"],
      ]);
      const tdOld = fx.initialTaskDefinitionArn;
      const tdNew = rel.taskDefinitionArn;
      const runAt = [0, 1].map((i) => runningAt(c, 2, i));
      const stopAt = [0, 1].map((j) => drainStopAt(c, 2, j));
      const model = (t: number): ServiceView => {
        const done = t >= c + R;
        const d: DeploymentView = {
          label: "D",
          status: "PRIMARY",
          rolloutState: done ? "COMPLETED" : "IN_PROGRESS",
          reason: done ? "ECS deployment <D> completed." : "ECS deployment <D> in progress.",
          taskDefinition: tdNew,
          running: count(runAt, t),
          pending: 2 - count(runAt, t),
          failed: 0,
          updatedAfter: done ? R : 0,
        };
        if (done) return summed([d], tdNew);
        const p: DeploymentView = {
          label: "P",
          status: "ACTIVE",
          rolloutState: "COMPLETED",
          reason: "ECS deployment <P> completed.",
          taskDefinition: tdOld,
          running: 2 - count(stopAt, t),
          pending: 0,
          failed: 0,
          updatedAfter: 0,
        };
        return summed([d, p], tdNew);
      };
      expectMatchesModel(
        polls.map((p) => p.value.service),
        labels,
        model,
      );

      // Task states per observation: new tasks PENDING → RUNNING; old ones RUNNING → draining → STOPPED.
      const taskModel = (task: Task) => {
        if (task.startedBy === D.id) {
          const at = runningAt(
            c,
            2,
            newTasks.findIndex((x) => x.taskArn === task.taskArn),
          );
          return (t: number) => (t < at ? ["PENDING", "RUNNING"] : ["RUNNING", "RUNNING"]);
        }
        const stop = drainStopAt(
          c,
          2,
          drained.findIndex((x) => x.taskArn === task.taskArn),
        );
        return (t: number) =>
          t < c + 0.5 * R
            ? ["RUNNING", "RUNNING"]
            : t < stop
              ? ["RUNNING", "STOPPED"]
              : ["STOPPED", "STOPPED"];
      };
      for (const { value: poll } of polls) {
        expect(poll.tasks.value).toHaveLength(4);
        for (const task of poll.tasks.value) {
          const actual = [task.lastStatus, task.desiredStatus];
          expect(possibleValues(poll.tasks, taskModel(task)), `task ${taskId(task)}`).toContainEqual(actual);
        }
      }
      // The default ListTasks hides draining and stopped tasks (desiredStatus STOPPED).
      const running = await aws.ecs.send(
        new ListTasksCommand({ cluster: fx.cluster, serviceName: fx.serviceName }),
      );
      expect(new Set(running.taskArns)).toEqual(new Set(newArns));

      // Final state.
      expect(view(final, labels)).toEqual(model(Date.now() + 1000));

      // R25 events of D, oldest first, at their instants.
      const tg = fx.targetGroupArn!;
      const s = `(service ${fx.serviceName})`;
      const dEvents = events(final).filter((e) => e.createdAt!.getTime() >= c - TOL);
      const expected: [string | RegExp, number][] = [
        [/has started 2 tasks: /, c],
        [`${s} registered 2 targets in (target-group ${tg})`, c + 0.3 * R],
        [`${s} has begun draining connections on 2 tasks.`, c + 0.5 * R],
        [`${s} deregistered 2 targets in (target-group ${tg})`, c + 0.5 * R],
        [/has stopped 2 running tasks: /, c + 0.8 * R],
        [`${s} (deployment ${D.id}) deployment completed.`, c + R],
        [`${s} has reached a steady state.`, c + R],
      ];
      expect(dEvents).toHaveLength(expected.length);
      for (const [message, at] of expected) {
        const match = dEvents.find((e) =>
          typeof message === "string" ? e.message === message : message.test(e.message!),
        );
        expect(match, String(message)).toBeDefined();
        expectInstant(match!.createdAt, at, String(message));
        expect(match!.message!.startsWith(s)).toBe(true);
      }
      const started = dEvents.find((e) => e.message!.includes("has started"))!;
      expect(new Set(taskIdsOf(started.message!))).toEqual(new Set(newTasks.map(taskId)));
      const stoppedEv = dEvents.find((e) => e.message!.includes("has stopped"))!;
      expect(new Set(taskIdsOf(stoppedEv.message!))).toEqual(new Set(drained.map(taskId)));
      // Newest first; "deployment completed." comes before "steady state." (so after it in the list).
      const times = (final.events ?? []).map((e) => e.createdAt!.getTime());
      expect([...times].sort((a, b) => b - a)).toEqual(times);
      const msgs = dEvents.map((e) => e.message);
      expect(msgs.indexOf(`${s} (deployment ${D.id}) deployment completed.`)).toBeLessThan(
        msgs.indexOf(`${s} has reached a steady state.`),
      );
    });

    it("GIVEN a deployment nobody asks about WHEN first described after it completed THEN its history has R16's instants (R16a)", async () => {
      const fx = await provisionService(endpoint, "r16a", { tags: [uid("v1"), uid("v2")], desiredCount: 3 });
      const P = (await describeService(aws, fx)).deployments![0]!;
      const rel = await release(aws, fx, fx.tags[1]!);
      const c = rel.c;
      // No request about anything until well after c + R.
      await sleepUntil(c + 1.3 * R);
      const svc = await describeService(aws, fx);
      const tasks = await serviceTasks(aws, fx);
      expect(svc.deployments?.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
        [rel.deployment.id, "PRIMARY", "COMPLETED"],
      ]);
      expectInstant(svc.deployments![0]!.updatedAt, c + R, "updatedAt");
      const newTasks = tasks
        .filter((t) => t.startedBy === rel.deployment.id)
        .sort((a, b) => +a.startedAt! - +b.startedAt!);
      expect(newTasks.map((t) => t.lastStatus)).toEqual(["RUNNING", "RUNNING", "RUNNING"]);
      newTasks.forEach((t, i) => {
        expectInstant(t.startedAt, runningAt(c, 3, i), `startedAt ${i}`);
      });
      const old = tasks.filter((t) => t.startedBy === P.id).sort((a, b) => +a.stoppedAt! - +b.stoppedAt!);
      expect(old.map((t) => t.lastStatus)).toEqual(["STOPPED", "STOPPED", "STOPPED"]);
      old.forEach((t, j) => {
        expectInstant(t.stoppedAt, drainStopAt(c, 3, j), `stoppedAt ${j}`);
      });
      const at = (fragment: string) => svc.events?.find((e) => e.message!.includes(fragment))?.createdAt;
      expectInstant(at(") registered 3 targets"), c + 0.3 * R, "registered event");
      expectInstant(at("has begun draining connections on 3 tasks."), c + 0.5 * R, "draining event");
      expectInstant(at("deployment completed."), c + R, "completed event");
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe("R16 a new deployment while another is in progress", () => {
    it("GIVEN D1 just started (no task RUNNING yet) WHEN D2 is released THEN P (most RUNNING) is drained and D1 is removed, its tasks stopped at c2", async () => {
      const fx = await provisionService(endpoint, "r16x", {
        tags: [uid("v1"), uid("v2"), uid("v3")],
        desiredCount: 2,
      });
      const P = (await describeService(aws, fx)).deployments![0]!;
      // D2's revision is registered first: between the two deployments, one UpdateService only.
      const d2Revision = await registerTag(aws, fx, fx.tags[2]!);
      const d1 = await release(aws, fx, fx.tags[1]!);
      const d2 = await release(aws, fx, fx.tags[2]!, d2Revision);
      const c2 = d2.c;
      expect(c2 - d1.c, "D2 must start before D1's first task runs").toBeLessThan(0.2 * R - 50);
      const svc = await describeService(aws, fx);
      expect(svc.deployments?.map((d) => [d.id, d.status])).toEqual([
        [d2.deployment.id, "PRIMARY"],
        [P.id, "ACTIVE"],
      ]);
      const d1Tasks = await describeTasks(
        aws,
        fx.cluster,
        (
          await aws.ecs.send(
            new ListTasksCommand({
              cluster: fx.cluster,
              startedBy: d1.deployment.id,
              desiredStatus: "STOPPED",
            }),
          )
        ).taskArns!,
      );
      expect(d1Tasks).toHaveLength(2);
      for (const t of d1Tasks) {
        expect(t.lastStatus).toBe("STOPPED");
        expectInstant(t.stoppedAt, c2, "D1 task stoppedAt");
        expect(t.startedAt).toBeUndefined();
      }
      // P drains on D2's schedule; D2 completes at c2 + R.
      await sleepUntil(c2 + 1.1 * R);
      const done = await describeService(aws, fx);
      expect(done.deployments?.map((d) => [d.id, d.rolloutState])).toEqual([[d2.deployment.id, "COMPLETED"]]);
      const pTasks = (await serviceTasks(aws, fx)).filter((t) => t.startedBy === P.id);
      for (const t of pTasks) {
        expect(t.stoppedReason).toBe(`Scaling activity initiated by (deployment ${d2.deployment.id})`);
      }
      const stops = pTasks.map((t) => t.stoppedAt!.getTime()).sort((a, b) => a - b);
      expectInstant(new Date(stops[0]!), drainStopAt(c2, 2, 0), "P first stop");
      expectInstant(new Date(stops[1]!), drainStopAt(c2, 2, 1), "P second stop");
      // Events scheduled for D1 were dropped: nothing after c1 except D1's start and D2's schedule.
      const allowed = [d1.c, c2, c2 + 0.3 * R, c2 + 0.5 * R, c2 + 0.8 * R, c2 + R];
      for (const e of done.events ?? []) {
        const t = e.createdAt!.getTime();
        if (t < d1.c - TOL) continue;
        expect(
          allowed.some((a) => Math.abs(a - t) <= TOL),
          `unexpected event at c1+${t - d1.c} ms: ${e.message}`,
        ).toBe(true);
      }
      // "deregistered 2 targets" contains "registered 2 targets": match the whole verb.
      expect((done.events ?? []).filter((e) => / registered 2 targets/.test(e.message!))).toHaveLength(1);
    });

    it("GIVEN D1 with all tasks RUNNING (tie with P) WHEN D2 is released THEN the newest (D1) is drained and P is removed at once", async () => {
      const fx = await provisionService(endpoint, "r16t", {
        tags: [uid("v1"), uid("v2"), uid("v3")],
        desiredCount: 2,
      });
      const P = (await describeService(aws, fx)).deployments![0]!;
      const d1 = await release(aws, fx, fx.tags[1]!);
      await waitFor(
        async () =>
          (await describeService(aws, fx)).deployments?.find((d) => d.id === d1.deployment.id)
            ?.runningCount === 2,
        { what: "D1 with 2 RUNNING tasks" },
      );
      const d2 = await release(aws, fx, fx.tags[2]!);
      const c2 = d2.c;
      expect(c2 - d1.c, "D2 must start before D1 drains P").toBeLessThan(0.5 * R - 50);
      const svc = await describeService(aws, fx);
      expect(svc.deployments?.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
        [d2.deployment.id, "PRIMARY", "IN_PROGRESS"],
        [d1.deployment.id, "ACTIVE", "IN_PROGRESS"],
      ]);
      const tasks = await serviceTasks(aws, fx);
      const pTasks = tasks.filter((t) => t.startedBy === P.id);
      expect(pTasks).toHaveLength(2);
      for (const t of pTasks) {
        expect(t.lastStatus).toBe("STOPPED");
        expectInstant(t.stoppedAt, c2, "P task stoppedAt");
      }
      await sleepUntil(c2 + 1.1 * R);
      const done = await serviceTasks(aws, fx);
      const d1Stops = done
        .filter((t) => t.startedBy === d1.deployment.id)
        .map((t) => t.stoppedAt!.getTime())
        .sort((a, b) => a - b);
      expect(d1Stops).toHaveLength(2);
      expectInstant(new Date(d1Stops[0]!), drainStopAt(c2, 2, 0), "D1 first stop");
      expectInstant(new Date(d1Stops[1]!), drainStopAt(c2, 2, 1), "D1 second stop");
      expect((await describeService(aws, fx)).deployments?.map((d) => [d.id, d.rolloutState])).toEqual([
        [d2.deployment.id, "COMPLETED"],
      ]);
    });
  });

  // ---------------------------------------------------------------------------------------------
  describe("R16b rollout fault", () => {
    /** The faulty deployment D's part of the model (t < c + R). */
    function faulty(c: number, n: number, t: number, td: string, status: string): DeploymentView {
      const launches = [0, 1, 2].map((k) => c + 0.3 * k * R);
      const runs = launches.map((l) => l + 0.1 * R);
      const stops = launches.map((l) => l + 0.2 * R);
      const failed = t >= c + R;
      return {
        label: "D",
        status,
        rolloutState: failed ? "FAILED" : "IN_PROGRESS",
        reason: failed
          ? "ECS deployment circuit breaker: tasks failed to start."
          : "ECS deployment <D> in progress.",
        taskDefinition: td,
        running: n * (count(runs, t) - count(stops, t)),
        pending: n * (count(launches, t) - count(runs, t)),
        failed: n * count(stops, t),
        updatedAfter: failed ? R : 0,
      };
    }

    function completedP(running: number, td: string): DeploymentView {
      return {
        label: "P",
        status: "ACTIVE",
        rolloutState: "COMPLETED",
        reason: "ECS deployment <P> completed.",
        taskDefinition: td,
        running,
        pending: 0,
        failed: 0,
        updatedAfter: 0,
      };
    }

    it("GIVEN rollback enabled WHEN a rollout-faulty tag is released THEN 3 failed attempts, FAILED at c+R, rollback to the last COMPLETED deployment done at c+2R", async () => {
      const fx = await provisionService(endpoint, "r16b", {
        tags: [uid("v1"), uid("bad")],
        desiredCount: 2,
        rollback: true,
      });
      await control.addFault({ tag: fx.tags[1]!, kind: "rollout" });
      const P = (await describeService(aws, fx)).deployments![0]!;
      const rel = await release(aws, fx, fx.tags[1]!);
      const c = rel.c;
      const D = rel.deployment;
      const labels = new Map([
        [D.id!, "D"],
        [P.id!, "P"],
      ]);
      const polls = await record(() => describeService(aws, fx), c + 2.2 * R);
      const final = await describeService(aws, fx);
      const tdOld = fx.initialTaskDefinitionArn;
      const tdNew = rel.taskDefinitionArn;
      const rb = (t: number): DeploymentView => {
        const runs = [0, 1].map((i) => runningAt(c + R, 2, i));
        const done = t >= c + 2 * R;
        return {
          label: "new",
          status: "PRIMARY",
          rolloutState: done ? "COMPLETED" : "IN_PROGRESS",
          reason: done ? undefined : "ECS deployment circuit breaker: rolling back to deploymentId <P>.",
          taskDefinition: tdOld,
          running: count(runs, t),
          pending: 2 - count(runs, t),
          failed: 0,
          updatedAfter: done ? R : 0,
        };
      };
      const model = (t: number): ServiceView => {
        if (t < c + R) return summed([faulty(c, 2, t, tdNew, "PRIMARY"), completedP(2, tdOld)], tdNew);
        if (t < c + 2 * R) {
          const stops = [0, 1].map((j) => drainStopAt(c + R, 2, j));
          return summed(
            [rb(t), faulty(c, 2, t, tdNew, "ACTIVE"), completedP(2 - count(stops, t), tdOld)],
            tdOld,
          );
        }
        return summed([rb(t)], tdOld);
      };
      // RB's completion reason names its own (unknown in advance) id: compare it separately.
      const strip = (obs: Observation<Service>): Observation<Service> => ({
        ...obs,
        value: {
          ...obs.value,
          deployments: obs.value.deployments?.map((d) =>
            labels.has(d.id!) || d.rolloutState !== "COMPLETED" ? d : { ...d, rolloutStateReason: undefined },
          ),
        },
      });
      expectMatchesModel(polls.map(strip), labels, model);

      const RB = final.deployments![0]!;
      expect(RB.id).not.toBe(P.id);
      expect(RB.rolloutStateReason).toBe(`ECS deployment ${RB.id} completed.`);
      expectInstant(RB.createdAt, c + R, "rollback createdAt");
      expect(final.taskDefinition).toBe(tdOld);

      // The attempts: N per attempt, each RUNNING 0.1R after launch, STOPPED 0.2R after launch, exit 1.
      const stopped = await describeTasks(
        aws,
        fx.cluster,
        (
          await aws.ecs.send(
            new ListTasksCommand({ cluster: fx.cluster, startedBy: D.id, desiredStatus: "STOPPED" }),
          )
        ).taskArns!,
      );
      expect(stopped).toHaveLength(6);
      const launches = stopped.map((t) => t.createdAt!.getTime()).sort((a, b) => a - b);
      [0, 0, 1, 1, 2, 2].forEach((k, i) => {
        expectInstant(new Date(launches[i]!), c + 0.3 * k * R, `attempt launch ${i}`);
      });
      for (const t of stopped) {
        const l = t.createdAt!.getTime();
        expectInstant(t.startedAt, l + 0.1 * R, "attempt startedAt");
        expectInstant(t.stoppedAt, l + 0.2 * R, "attempt stoppedAt");
        expect(t).toMatchObject({
          lastStatus: "STOPPED",
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
        });
        expect(t.containers?.[0]?.exitCode).toBe(1);
      }

      // R25: failure and rollback events at c + R, attempt events at their instants.
      const s = `(service ${fx.serviceName})`;
      const at = (message: string) => final.events?.find((e) => e.message === message)?.createdAt;
      expectInstant(
        at(`${s} (deployment ${D.id}) deployment failed: tasks failed to start.`),
        c + R,
        "failed event",
      );
      expectInstant(at(`${s} rolling back to deployment ${P.id}.`), c + R, "rollback event");
      const startedEvents = (final.events ?? [])
        .filter((e) => /has started 2 tasks/.test(e.message!) && e.createdAt!.getTime() >= c - TOL)
        .map((e) => e.createdAt!.getTime() - c)
        .sort((a, b) => a - b);
      // three attempts, then RB's launch at c + R
      expect(startedEvents.map((x) => Math.round(x / 100) * 100)).toEqual([0, 0.3 * R, 0.6 * R, R]);
      const stoppedEvents = (final.events ?? [])
        .filter((e) => /has stopped 2 running tasks/.test(e.message!) && e.createdAt!.getTime() >= c - TOL)
        .map((e) => Math.round((e.createdAt!.getTime() - c) / 100) * 100)
        .sort((a, b) => a - b);
      // attempts stop at 0.2R, 0.5R, 0.8R; P's tasks at c + R + 0.8R
      expect(stoppedEvents).toEqual([0.2 * R, 0.5 * R, 0.8 * R, 1.8 * R]);
    });

    it("GIVEN rollback disabled WHEN a rollout-faulty tag is released THEN D stays PRIMARY/FAILED and P ACTIVE with its tasks RUNNING", async () => {
      const fx = await provisionService(endpoint, "r16n", {
        tags: [uid("v1"), uid("bad")],
        desiredCount: 2,
        rollback: false,
      });
      await control.addFault({ tag: fx.tags[1]!, kind: "rollout" });
      const P = (await describeService(aws, fx)).deployments![0]!;
      const rel = await release(aws, fx, fx.tags[1]!);
      const c = rel.c;
      const labels = new Map([
        [rel.deployment.id!, "D"],
        [P.id!, "P"],
      ]);
      const tdOld = fx.initialTaskDefinitionArn;
      const tdNew = rel.taskDefinitionArn;
      const polls = await record(() => describeService(aws, fx), c + 1.4 * R);
      expectMatchesModel(polls, labels, (t) =>
        summed([faulty(c, 2, t, tdNew, "PRIMARY"), completedP(2, tdOld)], tdNew),
      );
      const tasks = await serviceTasks(aws, fx);
      expect(tasks.filter((t) => t.startedBy === P.id).map((t) => t.lastStatus)).toEqual([
        "RUNNING",
        "RUNNING",
      ]);
      const health = await aws.elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: fx.targetGroupArn }),
      );
      expect(health.TargetHealthDescriptions?.map((h) => h.TargetHealth?.State)).toEqual([
        "healthy",
        "healthy",
      ]);
    });

    it("GIVEN a FAILED deployment without rollback WHEN a healthy tag is released THEN it supersedes everything: P drained, D removed, new one COMPLETED", async () => {
      const fx = await provisionService(endpoint, "r16s", {
        tags: [uid("v1"), uid("bad"), uid("v3")],
        desiredCount: 2,
        rollback: false,
      });
      await control.addFault({ tag: fx.tags[1]!, kind: "rollout" });
      const P = (await describeService(aws, fx)).deployments![0]!;
      const bad = await release(aws, fx, fx.tags[1]!);
      await waitFor(
        async () =>
          (await describeService(aws, fx)).deployments?.find((d) => d.id === bad.deployment.id)
            ?.rolloutState === "FAILED",
        { what: "the faulty deployment FAILED" },
      );
      const good = await release(aws, fx, fx.tags[2]!);
      const c = good.c;
      const svc = await describeService(aws, fx);
      expect(svc.deployments?.map((d) => [d.id, d.status])).toEqual([
        [good.deployment.id, "PRIMARY"],
        [P.id, "ACTIVE"],
      ]);
      await sleepUntil(c + 1.1 * R);
      const done = await describeService(aws, fx);
      expect(done.deployments?.map((d) => [d.id, d.status, d.rolloutState])).toEqual([
        [good.deployment.id, "PRIMARY", "COMPLETED"],
      ]);
      expect(done.taskDefinition).toBe(good.taskDefinitionArn);
      const pStops = (await serviceTasks(aws, fx))
        .filter((t) => t.startedBy === P.id)
        .map((t) => t.stoppedAt!.getTime())
        .sort((a, b) => a - b);
      expectInstant(new Date(pStops[0]!), drainStopAt(c, 2, 0), "P first stop");
      expectInstant(new Date(pStops[1]!), drainStopAt(c, 2, 1), "P second stop");
    });

    it("GIVEN a rollout fault added just after the deployment was created THEN the deployment completes (R13: read at creation)", async () => {
      const fx = await provisionService(endpoint, "r13r", {
        tags: [uid("v1"), uid("late")],
        desiredCount: 1,
      });
      const rel = await release(aws, fx, fx.tags[1]!);
      await control.addFault({ tag: fx.tags[1]!, kind: "rollout" });
      await sleepUntil(rel.c + 1.1 * R);
      const svc = await describeService(aws, fx);
      expect(svc.deployments?.map((d) => [d.id, d.rolloutState, d.failedTasks])).toEqual([
        [rel.deployment.id, "COMPLETED", 0],
      ]);
      await control.clearFaults(fx.tags[1]!);
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe("R18 UpdateService without a new deployment", () => {
  it("GIVEN a COMPLETED service WHEN UpdateService passes no change or the same task definition THEN no deployment starts", async () => {
    const fx = await provisionService(endpoint, "r18n", { tags: [uid("v1")], desiredCount: 2 });
    const before = await describeService(aws, fx);
    for (const input of [
      {},
      { taskDefinition: fx.initialTaskDefinitionArn },
      { taskDefinition: fx.family.concat(":1") },
      { forceNewDeployment: false },
    ]) {
      const res = await aws.ecs.send(
        new UpdateServiceCommand({ cluster: fx.cluster, service: fx.serviceName, ...input }),
      );
      expect(
        res.service?.deployments?.map((d) => [d.id, d.rolloutState]),
        JSON.stringify(input),
      ).toEqual(before.deployments?.map((d) => [d.id, d.rolloutState]));
    }
    const tasks = await serviceTasks(aws, fx);
    expect(tasks.map((t) => t.lastStatus)).toEqual(["RUNNING", "RUNNING"]);
  });

  it("GIVEN a COMPLETED service WHEN desiredCount goes up THEN extra tasks RUNNING after 0.2R and healthy 0.2R later; WHEN down THEN the newest stop at once", async () => {
    const fx = await provisionService(endpoint, "r18s", { tags: [uid("v1")], desiredCount: 2 });
    const before = await describeService(aws, fx);
    const dId = before.deployments![0]!.id!;
    const initial = new Set((await serviceTasks(aws, fx)).map((t) => t.taskArn!));
    expect(initial.size).toBe(2);
    const up = await observe(() =>
      aws.ecs.send(
        new UpdateServiceCommand({ cluster: fx.cluster, service: fx.serviceName, desiredCount: 3 }),
      ),
    );
    expect(up.value.service?.deployments?.map((d) => [d.id, d.desiredCount, d.rolloutState])).toEqual([
      [dId, 3, "COMPLETED"],
    ]);
    const added = await waitFor(
      async () => (await serviceTasks(aws, fx)).find((t) => !initial.has(t.taskArn!)),
      { what: "the added task" },
    );
    const created = added.createdAt!.getTime();
    expect(created).toBeLessThanOrEqual(up.t1 + TOL);
    expect(added.startedBy).toBe(dId);
    const ip = taskIp(added)!;
    const targetState = (t: number): string | undefined =>
      t < created + 0.2 * R ? undefined : t < created + 0.4 * R ? "initial" : "healthy";
    const polls = await record(
      async () =>
        (
          await aws.elb.send(
            new DescribeTargetHealthCommand({ TargetGroupArn: fx.targetGroupArn, Targets: [{ Id: ip }] }),
          )
        ).TargetHealthDescriptions?.[0]?.TargetHealth?.State,
      created + 0.55 * R,
    );
    for (const obs of polls) expect(possibleValues(obs, targetState)).toContain(obs.value);
    const runningTask = (await describeTasks(aws, fx.cluster, [added.taskArn!]))[0]!;
    expectInstant(runningTask.startedAt, created + 0.2 * R, "added task startedAt");
    const scaled = await describeService(aws, fx);
    expect([scaled.runningCount, scaled.desiredCount, scaled.deployments?.length]).toEqual([3, 3, 1]);
    expect(scaled.events?.[0]?.message).toMatch(/has started 1 tasks: \(task [0-9a-f-]+\)/);

    const down = await observe(() =>
      aws.ecs.send(
        new UpdateServiceCommand({ cluster: fx.cluster, service: fx.serviceName, desiredCount: 1 }),
      ),
    );
    expect(down.value.service?.deployments?.map((d) => [d.id, d.desiredCount])).toEqual([[dId, 1]]);
    const after = await serviceTasks(aws, fx);
    const stopped = after.filter((t) => t.lastStatus === "STOPPED");
    expect(stopped).toHaveLength(2);
    // The newest task (the added one) is among the stopped ones.
    expect(stopped.map((t) => t.taskArn)).toContain(added.taskArn);
    for (const t of stopped) {
      expect(t.stopCode).toBe("ServiceSchedulerInitiated");
      expect(t.stoppedAt!.getTime()).toBeGreaterThanOrEqual(down.t0 - TOL);
      expect(t.stoppedAt!.getTime()).toBeLessThanOrEqual(down.t1 + TOL);
    }
    const survivor = after.filter((t) => t.lastStatus === "RUNNING");
    expect(survivor).toHaveLength(1);
    expect(survivor[0]!.createdAt!.getTime()).toBeLessThan(created);
    const final = await describeService(aws, fx);
    expect([final.runningCount, final.deployments?.[0]?.runningCount, final.deployments?.[0]?.id]).toEqual([
      1,
      1,
      dId,
    ]);
  });

  it("GIVEN a COMPLETED service WHEN UpdateService forces a new deployment THEN a new deployment of the same task definition starts", async () => {
    const fx = await provisionService(endpoint, "r18f", { tags: [uid("v1")], desiredCount: 1 });
    const P = (await describeService(aws, fx)).deployments![0]!;
    const res = await aws.ecs.send(
      new UpdateServiceCommand({ cluster: fx.cluster, service: fx.serviceName, forceNewDeployment: true }),
    );
    const deployments = res.service?.deployments ?? [];
    expect(deployments.map((d) => [d.status, d.rolloutState, d.taskDefinition])).toEqual([
      ["PRIMARY", "IN_PROGRESS", fx.initialTaskDefinitionArn],
      ["ACTIVE", "COMPLETED", fx.initialTaskDefinitionArn],
    ]);
    expect(deployments[0]!.id).not.toBe(P.id);
    expect(deployments[1]!.id).toBe(P.id);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R25 event list bounds", () => {
  it("GIVEN more than 100 events WHEN DescribeServices THEN the newest 100, newest first", async () => {
    const fx = await provisionService(endpoint, "r25cap", {
      tags: [uid("v1")],
      desiredCount: 1,
      targetGroup: false,
    });
    // Creation: 2 events; each desiredCount change: 1 event ("has started" / "has stopped").
    for (let i = 0; i < 110; i++) {
      await aws.ecs.send(
        new UpdateServiceCommand({
          cluster: fx.cluster,
          service: fx.serviceName,
          desiredCount: i % 2 === 0 ? 2 : 1,
        }),
      );
    }
    const svc = await describeService(aws, fx);
    const ev = svc.events ?? [];
    expect(ev).toHaveLength(100);
    const times = ev.map((e) => e.createdAt!.getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // The newest is the last change (110th: back to 1 → a task stopped); the creation events are gone.
    expect(ev[0]!.message).toMatch(/has stopped 1 running tasks/);
    expect(ev.some((e) => e.message!.includes("has reached a steady state."))).toBe(false);
  });
});
