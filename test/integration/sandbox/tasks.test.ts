/**
 * Standalone tasks of the sandbox (sandbox/SPEC.md).
 * Rules covered: R19 (RunTask lifecycle, timestamps, command, exit code), R19b (task logs),
 * R20 (StopTask), R14 (task-rule matching), R13 (migration fault read at task creation).
 */
import {
  GetLogEventsCommand,
  DescribeLogStreamsCommand,
  CloudWatchLogsClient,
} from "@aws-sdk/client-cloudwatch-logs";
import { RegisterTaskDefinitionCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { SandboxControl } from "../../../src/sandbox/control.ts";
import {
  describeService,
  describeTask,
  gantry,
  observe,
  possibleValues,
  provisionService,
  provisionTaskDefinition,
  provisionTaskEnv,
  record,
  restoreSpeeds,
  runTask,
  serviceTasks,
  sleepUntil,
  uid,
  waitFor,
  type TaskEnv,
} from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const control = new SandboxControl(endpoint);
const TOL = 15;
let aws: AwsClients;
let env: TaskEnv;
let tag: string;

beforeAll(async () => {
  aws = createAwsClients({ region: "us-east-1", endpoint });
  await restoreSpeeds(endpoint);
  tag = uid("t");
  env = await provisionTaskEnv(endpoint, "tasks", [tag]);
});

afterAll(async () => {
  await gantry(endpoint, "DELETE", "task-rules");
  await restoreSpeeds(endpoint);
  aws.destroy();
});

function expectInstant(actual: Date | undefined, expected: number, what: string): void {
  expect(actual, what).toBeDefined();
  const diff = actual!.getTime() - expected;
  expect(Math.abs(diff), `${what}: off by ${diff} ms`).toBeLessThanOrEqual(TOL);
}

async function waitStopped(cluster: string, taskArn: string, timeoutMs = 15_000): Promise<Task> {
  return waitFor(
    async () => {
      const t = await describeTask(aws, cluster, taskArn);
      return t.lastStatus === "STOPPED" ? t : undefined;
    },
    { timeoutMs, what: `task ${taskArn} STOPPED` },
  );
}

async function logEvents(
  group: string,
  stream: string,
  client = aws.logs,
): Promise<{ message?: string; timestamp?: number }[]> {
  const res = await client.send(
    new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true }),
  );
  return res.events ?? [];
}

function taskIdOf(task: Task): string {
  return task.taskArn!.split("/").at(-1)!;
}

// ---------------------------------------------------------------------------------------------
describe("R19 RunTask lifecycle (T = 1 s)", () => {
  it("GIVEN RunTask at c WHEN observed until after c+T THEN PROVISIONING → PENDING → RUNNING → STOPPED at 0.1T, 0.25T, T with R19's timestamps", async () => {
    const T = 1000;
    const td = await provisionTaskDefinition(endpoint, env, uid("life"), {
      image: env.images[tag]!.imageUri,
      command: ["./job.sh", "--once"],
    });
    const run = await runTask(aws, env, td);
    const c = run.value.createdAt!.getTime();
    expect(c).toBeGreaterThanOrEqual(run.t0 - TOL);
    expect(c).toBeLessThanOrEqual(run.t1 + TOL);
    const state = (task: Task) => ({
      last: task.lastStatus,
      desired: task.desiredStatus,
      container: task.containers?.[0]?.lastStatus,
      exitCode: task.containers?.[0]?.exitCode,
      stopCode: task.stopCode,
    });
    const model = (t: number) => {
      const last =
        t < c + 0.1 * T ? "PROVISIONING" : t < c + 0.25 * T ? "PENDING" : t < c + T ? "RUNNING" : "STOPPED";
      const stopped = last === "STOPPED";
      return {
        last,
        desired: stopped ? "STOPPED" : "RUNNING",
        container: last === "PROVISIONING" ? "PENDING" : last,
        exitCode: stopped ? 0 : undefined,
        stopCode: stopped ? "EssentialContainerExited" : undefined,
      };
    };
    expect(possibleValues(run, model)).toContainEqual(state(run.value));
    const polls = await record(() => describeTask(aws, env.cluster, run.value.taskArn!), c + 1.3 * T, 40);
    expect(polls.length).toBeGreaterThan(5);
    for (const obs of polls)
      expect(possibleValues(obs, model), `at c+${obs.t0 - c}`).toContainEqual(state(obs.value));
    const seen = polls.map((p) => p.value.lastStatus);
    expect(seen).toContain("RUNNING");
    expect(seen.at(-1)).toBe("STOPPED");

    const final = await describeTask(aws, env.cluster, run.value.taskArn!);
    expectInstant(final.createdAt, c, "createdAt");
    expectInstant(final.pullStartedAt, c + 0.1 * T, "pullStartedAt");
    expectInstant(final.pullStoppedAt, c + 0.2 * T, "pullStoppedAt");
    expectInstant(final.startedAt, c + 0.25 * T, "startedAt");
    expectInstant(final.stoppingAt, c + T, "stoppingAt");
    expectInstant(final.executionStoppedAt, c + T, "executionStoppedAt");
    expectInstant(final.stoppedAt, c + T, "stoppedAt");
    expect(final).toMatchObject({
      lastStatus: "STOPPED",
      desiredStatus: "STOPPED",
      stopCode: "EssentialContainerExited",
      stoppedReason: "Essential container in task exited",
    });
    expect(final.containers?.[0]?.exitCode).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R19/R14 exit code: first matching task rule, else 1 with a migration fault, else 0 (T = 0.2 s)", () => {
  beforeAll(async () => {
    await control.setSpeeds({ taskSeconds: 0.2 });
  });
  afterEach(async () => {
    await gantry(endpoint, "DELETE", "task-rules");
  });
  afterAll(async () => {
    await restoreSpeeds(endpoint);
  });

  interface ExitCase {
    name: string;
    rules: (t: { tag: string; repo: string }) => Record<string, unknown>[];
    migration?: boolean;
    command?: (tag: string) => string[];
    expected: number;
  }
  const cases: ExitCase[] = [
    { name: "no rule and no fault", rules: () => [], expected: 0 },
    { name: "a migration fault on the tag", rules: () => [], migration: true, expected: 1 },
    {
      name: "a rule whose glob matches the tag",
      rules: ({ tag }) => [{ image: `${tag.slice(0, -2)}*`, exitCode: 42 }],
      expected: 42,
    },
    {
      name: "a rule whose glob matches the full image string",
      rules: ({ repo }) => [{ image: `*/${repo}@sha256:*`, exitCode: 7 }],
      expected: 7,
    },
    {
      name: "a rule on a substring of the space-joined override command",
      rules: ({ tag }) => [{ commandContains: `run migrate-${tag}`, exitCode: 9 }],
      command: (tag) => ["npm", "run", `migrate-${tag}`],
      expected: 9,
    },
    {
      name: "two matching rules (the first wins)",
      rules: ({ tag }) => [
        { image: tag, exitCode: 5 },
        { commandContains: "migrate", exitCode: 6 },
      ],
      command: () => ["migrate"],
      expected: 5,
    },
    {
      name: "a matching rule and a migration fault (the rule wins)",
      rules: ({ tag }) => [{ image: tag, exitCode: 0 }],
      migration: true,
      expected: 0,
    },
    {
      name: "a rule with one criterion not matching",
      rules: ({ tag }) => [{ image: tag, commandContains: "no-such-text", exitCode: 3 }],
      expected: 0,
    },
    {
      name: "a rule matching another tag",
      rules: ({ tag }) => [{ image: `${tag}-other`, exitCode: 3 }],
      migration: true,
      expected: 1,
    },
    { name: "a rule without criteria (matches anything)", rules: () => [{ exitCode: 11 }], expected: 11 },
  ];

  describe.each(cases)("$name", ({ rules, migration, command, expected }) => {
    it(`GIVEN it WHEN a task runs to its end THEN containers[0].exitCode is ${expected}`, async () => {
      const t = uid("x");
      const [img] = await control.publishImages(env.name, [t]);
      const td = await provisionTaskDefinition(endpoint, env, uid("ex"), {
        image: img!.imageUri,
        command: ["./serve.sh"],
      });
      for (const rule of rules({ tag: t, repo: env.name })) {
        expect((await gantry(endpoint, "POST", "task-rules", rule)).status).toBe(200);
      }
      if (migration) await control.addFault({ tag: t, kind: "migration" });
      const cmd = command?.(t);
      const run = await runTask(
        aws,
        env,
        td,
        cmd ? { containerOverrides: [{ name: "app", command: cmd }] } : undefined,
      );
      const stopped = await waitStopped(env.cluster, run.value.taskArn!);
      expect(stopped.containers?.[0]?.exitCode).toBe(expected);
      expect(stopped.stopCode).toBe("EssentialContainerExited");
      if (migration) await control.clearFaults(t);
    });
  });

  it("GIVEN a migration fault added after RunTask THEN the task exits 0; removed after RunTask THEN it still exits 1 (R13)", async () => {
    const late = uid("late");
    const early = uid("early");
    const [lateImg, earlyImg] = await control.publishImages(env.name, [late, early]);
    const tdLate = await provisionTaskDefinition(endpoint, env, uid("late"), { image: lateImg!.imageUri });
    const tdEarly = await provisionTaskDefinition(endpoint, env, uid("early"), { image: earlyImg!.imageUri });
    await control.addFault({ tag: early, kind: "migration" });
    const a = await runTask(aws, env, tdLate);
    const b = await runTask(aws, env, tdEarly);
    await control.addFault({ tag: late, kind: "migration" });
    await control.clearFaults(early);
    const [sa, sb] = await Promise.all([
      waitStopped(env.cluster, a.value.taskArn!),
      waitStopped(env.cluster, b.value.taskArn!),
    ]);
    expect(sa.containers?.[0]?.exitCode).toBe(0);
    expect(sb.containers?.[0]?.exitCode).toBe(1);
    await control.clearFaults(late);
  });
});

// ---------------------------------------------------------------------------------------------
describe.concurrent("R19/R19b command and logs (T = 1 s, run concurrently)", () => {
  describe.each([
    { name: "no overrides: the task definition's command", overrides: undefined, expected: "echo from-td" },
    {
      name: "an override for the container",
      overrides: [{ name: "app", command: ["python", "manage.py", "migrate"] }],
      expected: "python manage.py migrate",
    },
    {
      name: "overrides where the second names the container",
      overrides: [
        { name: "sidecar", command: ["ignored"] },
        { name: "app", command: ["run", "this"] },
      ],
      expected: "run this",
    },
    {
      name: "an override naming no container of the task: the first override",
      overrides: [{ name: "other", command: ["first", "override"] }],
      expected: "first override",
    },
  ])("$name", ({ overrides, expected }) => {
    it(`GIVEN an awslogs task WHEN it runs THEN its stream <prefix>/<container>/<taskId> gets "running: ${expected}" at c+0.25T and the exit line at c+T`, async () => {
      const T = 1000;
      const group = `/gantry/${uid("lg")}`;
      const td = await provisionTaskDefinition(endpoint, env, uid("cmd"), {
        image: env.images[tag]!.imageUri,
        command: ["echo", "from-td"],
        logGroupName: group,
        logStreamPrefix: "jobs",
      });
      const run = await runTask(aws, env, td, overrides ? { containerOverrides: overrides } : undefined);
      const c = run.value.createdAt!.getTime();
      const stream = `jobs/app/${taskIdOf(run.value)}`;
      await waitStopped(env.cluster, run.value.taskArn!);
      const events = await waitFor(
        async () => {
          const ev = await logEvents(group, stream).catch(() => []);
          return ev.length >= 2 ? ev : undefined;
        },
        { what: "two log events" },
      );
      expect(events.map((e) => e.message)).toEqual([`running: ${expected}`, "exited: exit code 0"]);
      expect(Math.abs(events[0]!.timestamp! - (c + 0.25 * T))).toBeLessThanOrEqual(TOL);
      expect(Math.abs(events[1]!.timestamp! - (c + T))).toBeLessThanOrEqual(TOL);
    });
  });

  it("GIVEN a failing task WHEN it stops THEN the stream gets 'ERROR: command failed with exit code N'", async () => {
    const t = uid("fail");
    const [img] = await control.publishImages(env.name, [t]);
    await control.addFault({ tag: t, kind: "migration" });
    const group = `/gantry/${uid("lg")}`;
    const td = await provisionTaskDefinition(endpoint, env, uid("fail"), {
      image: img!.imageUri,
      command: ["migrate"],
      logGroupName: group,
    });
    const run = await runTask(aws, env, td);
    await waitStopped(env.cluster, run.value.taskArn!);
    await control.clearFaults(t);
    // logStreamPrefix defaults to the family, which is the task definition resource's name.
    const streams = await aws.logs.send(new DescribeLogStreamsCommand({ logGroupName: group }));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toHaveLength(1);
    const stream = streams.logStreams![0]!.logStreamName!;
    expect(stream).toMatch(new RegExp(`^${env.name}-fail-[0-9a-f]+/app/${taskIdOf(run.value)}$`));
    const events = await logEvents(group, stream);
    expect(events.map((e) => e.message)).toEqual([
      "running: migrate",
      "ERROR: command failed with exit code 1",
    ]);
  });

  it("GIVEN awslogs without prefix, another region and a missing group WHEN the task runs THEN the group is created there and the stream is the task id", async () => {
    const group = `/gantry/${uid("eu")}`;
    const family = uid("nopfx");
    const td = await aws.ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "256",
        memory: "512",
        containerDefinitions: [
          {
            name: "job",
            image: env.images[tag]!.imageUri,
            essential: true,
            command: ["true"],
            logConfiguration: {
              logDriver: "awslogs",
              options: { "awslogs-group": group, "awslogs-region": "eu-west-1" },
            },
          },
        ],
      }),
    );
    const run = await runTask(aws, env, td.taskDefinition!.taskDefinitionArn!);
    await waitStopped(env.cluster, run.value.taskArn!);
    const eu = new CloudWatchLogsClient({
      region: "eu-west-1",
      endpoint,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    try {
      const events = await waitFor(
        async () => {
          const ev = await logEvents(group, taskIdOf(run.value), eu).catch(() => []);
          return ev.length >= 2 ? ev : undefined;
        },
        { what: "log events in eu-west-1" },
      );
      expect(events.map((e) => e.message)).toEqual(["running: true", "exited: exit code 0"]);
    } finally {
      eu.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("R20 StopTask (T = 1 s)", () => {
  it("GIVEN a RUNNING task WHEN StopTask with a reason THEN STOPPED at once, UserInitiated, the reason, exit code 137 and a 'stopped:' log line", async () => {
    const group = `/gantry/${uid("lg")}`;
    const td = await provisionTaskDefinition(endpoint, env, uid("stop"), {
      image: env.images[tag]!.imageUri,
      command: ["sleep", "forever"],
      logGroupName: group,
      logStreamPrefix: "p",
    });
    const run = await runTask(aws, env, td);
    const c = run.value.createdAt!.getTime();
    await sleepUntil(c + 400); // RUNNING from c + 0.25T, stops by itself at c + T
    const stop = await observe(() =>
      aws.ecs.send(
        new StopTaskCommand({ cluster: env.cluster, task: run.value.taskArn!, reason: "operator abort" }),
      ),
    );
    expect(stop.t1).toBeLessThan(c + 950);
    const task = await describeTask(aws, env.cluster, run.value.taskArn!);
    expect(task).toMatchObject({
      lastStatus: "STOPPED",
      desiredStatus: "STOPPED",
      stopCode: "UserInitiated",
      stoppedReason: "operator abort",
    });
    expect(task.containers?.[0]?.exitCode).toBe(137);
    expect(task.stoppedAt!.getTime()).toBeGreaterThanOrEqual(stop.t0 - TOL);
    expect(task.stoppedAt!.getTime()).toBeLessThanOrEqual(stop.t1 + TOL);
    const events = await waitFor(
      async () => {
        const ev = await logEvents(group, `p/app/${taskIdOf(run.value)}`);
        return ev.length >= 2 ? ev : undefined;
      },
      { what: "two log events" },
    );
    expect(events.map((e) => e.message)).toEqual(["running: sleep forever", "stopped: operator abort"]);
    // Past c + T nothing changes: it stays user-stopped.
    await sleepUntil(c + 1200);
    const later = await describeTask(aws, env.cluster, run.value.taskArn!);
    expect([later.stopCode, later.containers?.[0]?.exitCode, later.stoppedAt]).toEqual([
      "UserInitiated",
      137,
      task.stoppedAt,
    ]);
  });

  it("GIVEN a task not yet RUNNING WHEN StopTask without a reason THEN STOPPED with 'Task stopped by user' and no exit code", async () => {
    const td = await provisionTaskDefinition(endpoint, env, uid("early"), {
      image: env.images[tag]!.imageUri,
    });
    const run = await runTask(aws, env, td);
    const res = await observe(() =>
      aws.ecs.send(new StopTaskCommand({ cluster: env.cluster, task: run.value.taskArn! })),
    );
    expect(res.t1 - run.value.createdAt!.getTime(), "StopTask must land before c + 0.25T").toBeLessThan(240);
    const task = await describeTask(aws, env.cluster, run.value.taskArn!);
    expect(task).toMatchObject({
      lastStatus: "STOPPED",
      desiredStatus: "STOPPED",
      stopCode: "UserInitiated",
      stoppedReason: "Task stopped by user",
    });
    expect(task.containers?.[0]?.exitCode).toBeUndefined();
  });

  it("GIVEN an already STOPPED task WHEN StopTask THEN nothing changes", async () => {
    await control.setSpeeds({ taskSeconds: 0.3 });
    try {
      const td = await provisionTaskDefinition(endpoint, env, uid("done"), {
        image: env.images[tag]!.imageUri,
      });
      const run = await runTask(aws, env, td);
      const before = await waitStopped(env.cluster, run.value.taskArn!);
      await aws.ecs.send(
        new StopTaskCommand({ cluster: env.cluster, task: run.value.taskArn!, reason: "too late" }),
      );
      const after = await describeTask(aws, env.cluster, run.value.taskArn!);
      const pick = (t: Task) => [
        t.lastStatus,
        t.stopCode,
        t.stoppedReason,
        t.stoppedAt,
        t.containers?.[0]?.exitCode,
      ];
      expect(pick(after)).toEqual(pick(before));
      expect(pick(after)).toEqual([
        "STOPPED",
        "EssentialContainerExited",
        "Essential container in task exited",
        before.stoppedAt,
        0,
      ]);
    } finally {
      await restoreSpeeds(endpoint);
    }
  });

  it("GIVEN a service task WHEN StopTask THEN it stops as UserInitiated with 137 and is not replaced", async () => {
    const fx = await provisionService(endpoint, "r20svc", { tags: [uid("v1")], desiredCount: 2 });
    const [victim] = await serviceTasks(aws, fx);
    const stop = await observe(() =>
      aws.ecs.send(new StopTaskCommand({ cluster: fx.cluster, task: victim!.taskArn!, reason: "chaos" })),
    );
    const task = await describeTask(aws, fx.cluster, victim!.taskArn!);
    expect(task).toMatchObject({ lastStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "chaos" });
    expect(task.containers?.[0]?.exitCode).toBe(137);
    // Give a replacement every chance to appear (a service task would be RUNNING after 0.2R).
    await sleepUntil(stop.t1 + 1000);
    const tasks = await serviceTasks(aws, fx);
    expect(tasks).toHaveLength(2);
    expect(tasks.filter((t) => t.lastStatus === "RUNNING")).toHaveLength(1);
    const svc = await describeService(aws, fx);
    expect([svc.runningCount, svc.deployments?.[0]?.runningCount]).toEqual([1, 1]);
  });
});
