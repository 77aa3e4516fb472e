/**
 * The ECR and ECS adapters against the sandbox (real SDK, real HTTP): what a release, a migration
 * and the gates will rely on, including a failed rollout and a failing migration.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { poll, type PollDecision } from "../../src/checks/poll.ts";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { EcrAdapter } from "../../src/aws/ecr.ts";
import { AlarmAdapter } from "../../src/aws/cloudwatch.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { nextRevision } from "../../src/aws/taskDefinition.ts";
import { ElbAdapter } from "../../src/aws/elb.ts";
import { FetchHttp } from "../../src/aws/http.ts";
import { evaluateAlarms, evaluateHealth, evaluateTargets } from "../../src/checks/gates.ts";
import type { DeploymentState, TaskState } from "../../src/aws/ports.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import { freePort } from "../../src/sandbox/process.ts";
import {
  provision,
  provisionService,
  provisionTaskDefinition,
  provisionTaskEnv,
  uid,
} from "./sandbox/helpers.ts";

const endpoint = workerSandbox().endpoint;

describe("ECR and ECS adapters on the sandbox", () => {
  let aws: AwsClients;
  let ecr: EcrAdapter;
  let ecs: EcsAdapter;

  beforeAll(async () => {
    aws = createAwsClients({ region: "us-east-1", endpoint });
    ecr = new EcrAdapter(aws.ecr);
    ecs = new EcsAdapter(aws.ecs);
    await new SandboxControl(endpoint).setSpeeds({ rolloutSeconds: 2, taskSeconds: 1 });
  });
  afterAll(() => {
    aws.destroy();
  });

  async function waitDeployment(
    cluster: string,
    service: string,
    id: string,
    until: (d: DeploymentState) => boolean,
  ) {
    const out = await poll<DeploymentState>(
      async (): Promise<PollDecision<DeploymentState>> => {
        const d = (await ecs.describeService(cluster, service))?.deployments.find((x) => x.id === id);
        return d && until(d) ? { done: true, value: d } : { done: false };
      },
      { deadline: Date.now() + 20_000, intervalMs: 200 },
    );
    if (out.status !== "done") throw new Error(`deployment ${id} did not reach the state: ${out.status}`);
    return out.value;
  }

  it("GIVEN published tags WHEN resolved THEN the digest ECR holds; an unknown tag or repository is undefined", async () => {
    const env = await provisionTaskEnv(endpoint, "ecr", [uid("v1")]);
    const tag = Object.keys(env.images)[0]!;
    const resolved = await ecr.resolveTag(env.name, tag);
    expect(resolved).toEqual({ tag, digest: env.images[tag]!.digest, imageUri: env.images[tag]!.imageUri });
    expect(await ecr.resolveTag(env.name, "not-published")).toBeUndefined();
    // A missing repository is a missing image too: listed with the others by preflight.
    expect(await ecr.resolveTag("no-such-repo-gantry", "v1")).toBeUndefined();
  });

  it("GIVEN a service WHEN the next revision (image = digest) is released THEN ECS runs it and the deployment completes", async () => {
    const fx = await provisionService(endpoint, "rel", { tags: [uid("v1"), uid("v2")], desiredCount: 2 });
    const before = await ecs.describeService(fx.cluster, fx.serviceName);
    expect(before?.deployments.map((d) => [d.status, d.rolloutState])).toEqual([["PRIMARY", "COMPLETED"]]);
    const current = await ecs.describeTaskDefinition(before!.taskDefinition);
    const image = (await ecr.resolveTag(fx.repositoryName, fx.tags[1]!))!.imageUri;
    const arn = await ecs.registerTaskDefinition(nextRevision(current, "app", image));
    expect(arn).not.toBe(before!.taskDefinition);
    expect((await ecs.describeTaskDefinition(arn)).containerDefinitions?.[0]?.image).toBe(image);

    const id = await ecs.updateService(fx.cluster, fx.serviceName, arn);
    const started = (await ecs.describeService(fx.cluster, fx.serviceName))!;
    expect(started.taskDefinition).toBe(arn);
    expect(started.deployments.find((d) => d.id === id)).toMatchObject({
      status: "PRIMARY",
      rolloutState: "IN_PROGRESS",
    });
    const done = await waitDeployment(fx.cluster, fx.serviceName, id, (d) => d.rolloutState === "COMPLETED");
    expect(done).toMatchObject({ taskDefinition: arn, runningCount: 2, failedTasks: 0 });

    // What the gates observe once it completed: the new tasks' targets, the health endpoint, alarms.
    const ips = (await ecs.deploymentTaskIps(fx.cluster, [id])).get(id) ?? [];
    expect(ips).toHaveLength(2);
    const targets = await new ElbAdapter(aws.elb).targetHealth(fx.targetGroupArn!);
    expect(evaluateTargets(targets, ips, 2)).toEqual({ state: "pass", detail: "2/2 new targets healthy" });
    const health = await new FetchHttp().get(fx.healthUrl, 2000);
    expect(evaluateHealth(health, fx.tags[1]!, "version").state).toBe("pass");
  });

  it("GIVEN alarms WHEN one is missing and one fires for a faulty image THEN the adapter reports both truthfully", async () => {
    const name = uid("alarm");
    await provision(endpoint, "alarm", name, {
      metricName: "HTTPCode_Target_5XX_Count",
      namespace: "AWS/ApplicationELB",
      threshold: 5,
    });
    const alarms = new AlarmAdapter(aws.cloudwatch);
    expect(await alarms.states([name, "no-such-alarm"])).toEqual({
      alarms: [{ name, state: "OK", reason: expect.any(String) as string }],
      missing: ["no-such-alarm"],
    });
    const fx = await provisionService(endpoint, "alarm", { tags: [uid("v1"), uid("v2")], desiredCount: 1 });
    await new SandboxControl(endpoint).addFault({ tag: fx.tags[1]!, kind: "alarm", alarmName: name });
    const current = await ecs.describeTaskDefinition(fx.initialTaskDefinitionArn);
    const arn = await ecs.registerTaskDefinition(
      nextRevision(current, "app", fx.images[fx.tags[1]!]!.imageUri),
    );
    const id = await ecs.updateService(fx.cluster, fx.serviceName, arn);
    await waitDeployment(fx.cluster, fx.serviceName, id, (d) => d.rolloutState === "COMPLETED");
    const after = await alarms.states([name]);
    expect(evaluateAlarms(after.alarms, new Set())).toMatchObject({ state: "fail", code: "ALARM" });
  });

  it("GIVEN an endpoint that is down WHEN checked THEN the HTTP port reports the error instead of throwing", async () => {
    // A port that was free a moment ago (fetch refuses "bad ports" such as 1 outright).
    const res = await new FetchHttp().get(`http://127.0.0.1:${String(await freePort())}/health`, 1000);
    expect(res.status).toBeUndefined();
    expect(res.error).toBe("ECONNREFUSED");
  });

  it("GIVEN a rollout-faulty image WHEN released THEN the deployment FAILS and the stopped tasks say why", async () => {
    const fx = await provisionService(endpoint, "fail", {
      tags: [uid("v1"), uid("v2")],
      desiredCount: 1,
      rollback: false,
    });
    await new SandboxControl(endpoint).addFault({ tag: fx.tags[1]!, kind: "rollout" });
    const current = await ecs.describeTaskDefinition(fx.initialTaskDefinitionArn);
    const arn = await ecs.registerTaskDefinition(
      nextRevision(current, "app", fx.images[fx.tags[1]!]!.imageUri),
    );
    const id = await ecs.updateService(fx.cluster, fx.serviceName, arn);
    const failed = await waitDeployment(fx.cluster, fx.serviceName, id, (d) => d.rolloutState === "FAILED");
    expect(failed.rolloutStateReason).toContain("circuit breaker");
    expect(failed.failedTasks).toBeGreaterThan(0);
    expect(await ecs.stoppedTaskReasons(fx.cluster, fx.serviceName, id)).toEqual([
      "Essential container in task exited (exit code 1)",
    ]);
    // The service's events come with DescribeServices, newest first: the failure is the last one.
    const events = (await ecs.describeService(fx.cluster, fx.serviceName))?.events ?? [];
    expect(events[0]).toEqual({
      createdAt: expect.any(Date) as Date,
      message: `(service ${fx.serviceName}) (deployment ${id}) deployment failed: tasks failed to start.`,
    });
    const times = events.map((e) => e.createdAt?.getTime() ?? 0);
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  describe("one-off tasks", () => {
    async function until(cluster: string, arn: string): Promise<TaskState> {
      const out = await poll<TaskState>(
        async () => {
          const t = await ecs.describeTask(cluster, arn, "app");
          return t?.lastStatus === "STOPPED" ? { done: true, value: t } : { done: false };
        },
        { deadline: Date.now() + 15_000, intervalMs: 100 },
      );
      if (out.status !== "done") throw new Error(`task did not stop: ${out.status}`);
      return out.value;
    }

    it.each([
      ["a healthy image", 0, false],
      ["an image with a migration fault", 1, true],
    ])("GIVEN %s WHEN run THEN it stops with exit code %i", async (_what, exitCode, faulty) => {
      const env = await provisionTaskEnv(endpoint, "mig", [uid("v1")]);
      const tag = Object.keys(env.images)[0]!;
      if (faulty) await new SandboxControl(endpoint).addFault({ tag, kind: "migration" });
      const td = await provisionTaskDefinition(endpoint, env, "migrate", {
        image: env.images[tag]!.imageUri,
      });
      const arn = await ecs.runTask({
        cluster: env.cluster,
        taskDefinition: td,
        containerName: "app",
        command: ["npm", "run", "migrate"],
        subnets: env.network.subnetIds,
        securityGroups: env.network.securityGroupIds,
        startedBy: "gantry/test",
      });
      const stopped = await until(env.cluster, arn);
      expect(stopped).toMatchObject({ stopCode: "EssentialContainerExited", exitCode });
    });

    it("GIVEN a running task WHEN stopped THEN UserInitiated with the reason", async () => {
      await new SandboxControl(endpoint).setSpeeds({ taskSeconds: 30 });
      try {
        const env = await provisionTaskEnv(endpoint, "stop", [uid("v1")]);
        const td = await provisionTaskDefinition(endpoint, env, "migrate", {
          image: Object.values(env.images)[0]!.imageUri,
        });
        const arn = await ecs.runTask({
          cluster: env.cluster,
          taskDefinition: td,
          containerName: "app",
          command: ["sleep"],
          subnets: env.network.subnetIds,
          securityGroups: env.network.securityGroupIds,
          startedBy: "gantry/test",
        });
        await ecs.stopTask(env.cluster, arn, "gantry: migration timed out");
        expect(await ecs.describeTask(env.cluster, arn, "app")).toMatchObject({
          lastStatus: "STOPPED",
          stopCode: "UserInitiated",
          stoppedReason: "gantry: migration timed out",
        });
      } finally {
        await new SandboxControl(endpoint).setSpeeds({ taskSeconds: 1 });
      }
    });
  });
});
