/**
 * The batching of the ECS and CloudWatch adapters, over a stand-in SDK client that answers as the
 * APIs do (at most 10 services a DescribeServices, 100 tasks a DescribeTasks or ListTasks page,
 * 100 alarms a DescribeAlarms page). The adapters against the sandbox: test/integration.
 */
import type { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  type Service,
  type Task,
} from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { AlarmAdapter } from "../../../src/aws/cloudwatch.ts";
import { EcsAdapter } from "../../../src/aws/ecs.ts";

/** An SDK client whose `send` answers with `answer(command)` and keeps every command sent. */
function client(answer: (command: object) => unknown): { client: never; sent: object[] } {
  const sent: object[] = [];
  const fake = {
    send: (command: object) => {
      sent.push(command);
      return Promise.resolve(answer(command));
    },
  };
  return { client: fake as never, sent };
}

const service = (name: string, status = "ACTIVE"): Service => ({
  serviceName: name,
  status,
  taskDefinition: `td-${name}:1`,
  desiredCount: 2,
  deployments: [
    {
      id: `ecs-svc/${name}`,
      status: "PRIMARY",
      rolloutState: "IN_PROGRESS",
      runningCount: 1,
      pendingCount: 1,
      failedTasks: 0,
      desiredCount: 2,
      updatedAt: new Date("2026-11-22T10:00:05Z"),
    },
  ],
  events: [],
});

describe("EcsAdapter.describeServices", () => {
  it("GIVEN 23 services WHEN described THEN 3 DescribeServices calls of at most 10, the answers in the order asked, missing and INACTIVE ones undefined", async () => {
    const names = Array.from({ length: 23 }, (_, i) => `svc${String(i)}`);
    const { client: ecs, sent } = client((command) => {
      const asked = (command as DescribeServicesCommand).input.services ?? [];
      // ECS answers in its own order; svc3 does not exist, svc5 was deleted.
      const found = asked.filter((n) => n !== "svc3").reverse();
      return {
        services: found.map((n) => service(n, n === "svc5" ? "INACTIVE" : "ACTIVE")),
        failures: asked.includes("svc3") ? [{ arn: "arn:aws:ecs:…:service/c/svc3", reason: "MISSING" }] : [],
      };
    });

    const states = await new EcsAdapter(ecs).describeServices("c", names);

    expect(sent.map((c) => (c as DescribeServicesCommand).input.services?.length)).toEqual([10, 10, 3]);
    expect(sent.every((c) => c instanceof DescribeServicesCommand)).toBe(true);
    expect(states.map((s) => s?.serviceName)).toEqual(
      names.map((n) => (n === "svc3" || n === "svc5" ? undefined : n)),
    );
    expect(states[0]?.deployments[0]).toMatchObject({
      id: "ecs-svc/svc0",
      updatedAt: new Date("2026-11-22T10:00:05Z"),
    });
  });

  it("GIVEN no cluster WHEN a service is described THEN undefined, as for one service", async () => {
    const { client: ecs } = client(() => {
      throw Object.assign(new Error("Cluster not found."), { name: "ClusterNotFoundException" });
    });

    expect(await new EcsAdapter(ecs).describeServices("c", ["a", "b"])).toEqual([undefined, undefined]);
    expect(await new EcsAdapter(ecs).describeService("c", "a")).toBeUndefined();
  });
});

describe("EcsAdapter.deploymentTaskIps", () => {
  const task = (i: number, startedBy: string): Task => ({
    taskArn: `arn:task/${String(i)}`,
    startedBy,
    attachments: [
      {
        type: "ElasticNetworkInterface",
        details: [
          { name: "subnetId", value: "subnet-1" },
          { name: "privateIPv4Address", value: `10.0.${String(Math.floor(i / 200))}.${String(i % 200)}` },
        ],
      },
    ],
  });
  // 150 running tasks in the cluster: d1 runs the even ones, d2 the odd ones below 10, others the rest.
  const tasks = Array.from({ length: 150 }, (_, i) =>
    task(i, i % 2 === 0 ? "d1" : i < 10 ? "d2" : "ecs-svc/other"),
  );

  it("GIVEN 150 running tasks WHEN the IPs of two deployments are asked for THEN one listing of the cluster (2 pages) and 2 DescribeTasks of at most 100, grouped by deployment", async () => {
    const { client: ecs, sent } = client((command) => {
      if (command instanceof ListTasksCommand) {
        const from = command.input.nextToken ? Number(command.input.nextToken) : 0;
        const page = tasks.slice(from, from + (command.input.maxResults ?? 100));
        const next = from + page.length < tasks.length ? String(from + page.length) : undefined;
        return { taskArns: page.map((t) => t.taskArn), nextToken: next };
      }
      const arns = new Set((command as DescribeTasksCommand).input.tasks);
      return { tasks: tasks.filter((t) => arns.has(t.taskArn ?? "")) };
    });

    const ips = await new EcsAdapter(ecs).deploymentTaskIps("c", ["d1", "d2", "d3"]);

    expect(sent.map((c) => c.constructor.name)).toEqual([
      "ListTasksCommand",
      "ListTasksCommand",
      "DescribeTasksCommand",
      "DescribeTasksCommand",
    ]);
    expect(sent.slice(0, 2).map((c) => (c as ListTasksCommand).input)).toEqual([
      { cluster: "c", desiredStatus: "RUNNING", maxResults: 100, nextToken: undefined },
      { cluster: "c", desiredStatus: "RUNNING", maxResults: 100, nextToken: "100" },
    ]);
    expect(sent.slice(2).map((c) => (c as DescribeTasksCommand).input.tasks?.length)).toEqual([100, 50]);
    expect(ips.get("d1")).toHaveLength(75);
    expect(ips.get("d2")).toEqual(["10.0.0.1", "10.0.0.3", "10.0.0.5", "10.0.0.7", "10.0.0.9"]);
    expect(ips.get("d3")).toEqual([]);
    expect([...ips.keys()]).toEqual(["d1", "d2", "d3"]);
  });

  it("GIVEN the tasks were described once WHEN asked again THEN only the listing, and only new tasks are described; stopped ones are gone", async () => {
    let running = tasks.slice(0, 4); // d1: 0 and 2, d2: 1 and 3
    const { client: ecs, sent } = client((command) =>
      command instanceof ListTasksCommand
        ? { taskArns: running.map((t) => t.taskArn) }
        : {
            tasks: running.filter((t) =>
              (command as DescribeTasksCommand).input.tasks?.includes(t.taskArn ?? ""),
            ),
          },
    );
    const adapter = new EcsAdapter(ecs);
    await adapter.deploymentTaskIps("c", ["d1", "d2"]);
    sent.length = 0;

    const again = await adapter.deploymentTaskIps("c", ["d1", "d2"]);
    running = [...tasks.slice(1, 4), task(200, "d1")]; // task 0 stopped, a new one of d1 started
    const later = await adapter.deploymentTaskIps("c", ["d1", "d2"]);

    expect(again).toEqual(
      new Map([
        ["d1", ["10.0.0.0", "10.0.0.2"]],
        ["d2", ["10.0.0.1", "10.0.0.3"]],
      ]),
    );
    expect(sent.map((c) => c.constructor.name)).toEqual([
      "ListTasksCommand",
      "ListTasksCommand",
      "DescribeTasksCommand",
    ]);
    expect((sent[2] as DescribeTasksCommand).input.tasks).toEqual(["arn:task/200"]);
    expect(later.get("d1")?.sort()).toEqual(["10.0.0.2", "10.0.1.0"]);
    expect(later.get("d2")).toEqual(["10.0.0.1", "10.0.0.3"]);
  });

  it("GIVEN no deployment WHEN asked THEN no call", async () => {
    const { client: ecs, sent } = client(() => ({}));

    expect(await new EcsAdapter(ecs).deploymentTaskIps("c", [])).toEqual(new Map());
    expect(sent).toEqual([]);
  });
});

describe("AlarmAdapter.states", () => {
  it("GIVEN 150 alarm names, CloudWatch answering 60 a page WHEN read THEN 100 names a call, every page followed, the missing ones named", async () => {
    const names = Array.from({ length: 150 }, (_, i) => `alarm-${String(i)}`);
    const { client: cloudwatch, sent } = client((command) => {
      const { AlarmNames = [], NextToken } = (command as DescribeAlarmsCommand).input;
      const existing = AlarmNames.filter((n) => n !== "alarm-7");
      const from = NextToken ? Number(NextToken) : 0;
      const page = existing.slice(from, from + 60);
      return {
        MetricAlarms: page.map((n) => ({ AlarmName: n, StateValue: "OK", StateReason: "fine" })),
        NextToken: from + 60 < existing.length ? String(from + 60) : undefined,
      };
    });

    const { alarms, missing } = await new AlarmAdapter(cloudwatch).states(names);

    expect(
      sent.map((c) => {
        const input = (c as DescribeAlarmsCommand).input;
        return [input.AlarmNames?.length, input.MaxRecords, input.NextToken];
      }),
    ).toEqual([
      [100, 100, undefined],
      [100, 100, "60"],
      [50, 100, undefined],
    ]);
    expect(alarms).toHaveLength(149);
    expect(missing).toEqual(["alarm-7"]);
  });
});
