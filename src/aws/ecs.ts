/** ECS adapter of {@link EcsPort}. */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { AwsError } from "../errors.ts";
import type { EcsPort, ServiceState, TaskDefinitionDocument, TaskState } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** ECS through the AWS SDK v3. */
export class EcsAdapter implements EcsPort {
  private readonly ecs: ECSClient;

  constructor(ecs: ECSClient) {
    this.ecs = ecs;
  }

  async describeService(cluster: string, service: string): Promise<ServiceState | undefined> {
    const res = await withRetry(`describe ECS service ${service}`, () =>
      this.ecs.send(new DescribeServicesCommand({ cluster, services: [service] })),
    ).catch((err: unknown) => {
      // No cluster, no service: the stack step creates both.
      if (err instanceof AwsError && err.code === "AWS_ClusterNotFoundException") return undefined;
      throw err;
    });
    if (!res) return undefined;
    const s = res.services?.[0];
    if (!s || s.status === "INACTIVE") return undefined;
    return {
      serviceName: s.serviceName ?? service,
      status: s.status ?? "",
      taskDefinition: s.taskDefinition ?? "",
      desiredCount: s.desiredCount ?? 0,
      deployments: (s.deployments ?? []).map((d) => ({
        id: d.id ?? "",
        status: d.status ?? "",
        rolloutState: d.rolloutState ?? "",
        rolloutStateReason: d.rolloutStateReason ?? "",
        taskDefinition: d.taskDefinition ?? "",
        desiredCount: d.desiredCount ?? 0,
        runningCount: d.runningCount ?? 0,
        pendingCount: d.pendingCount ?? 0,
        failedTasks: d.failedTasks ?? 0,
        createdAt: d.createdAt,
      })),
      events: (s.events ?? []).map((e) => ({ createdAt: e.createdAt, message: e.message ?? "" })),
    };
  }

  async describeTaskDefinition(arn: string): Promise<TaskDefinitionDocument> {
    const res = await withRetry(`describe task definition ${arn}`, () =>
      this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })),
    );
    if (!res.taskDefinition) {
      throw new AwsError(`task definition ${arn} not found`, { code: "ECS_TASK_DEFINITION_NOT_FOUND" });
    }
    return res.taskDefinition as TaskDefinitionDocument;
  }

  async registerTaskDefinition(definition: TaskDefinitionDocument): Promise<string> {
    const res = await withRetry(`register a revision of ${definition.family ?? "?"}`, () =>
      this.ecs.send(
        new RegisterTaskDefinitionCommand(definition as unknown as RegisterTaskDefinitionCommandInput),
      ),
    );
    const arn = res.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new AwsError("RegisterTaskDefinition returned no ARN", { code: "ECS_REGISTER_NO_ARN" });
    return arn;
  }

  async updateService(cluster: string, service: string, taskDefinitionArn: string): Promise<string> {
    const res = await withRetry(`update ECS service ${service}`, () =>
      this.ecs.send(new UpdateServiceCommand({ cluster, service, taskDefinition: taskDefinitionArn })),
    );
    const primary = res.service?.deployments?.find(
      (d) => d.status === "PRIMARY" && d.taskDefinition === taskDefinitionArn,
    );
    if (!primary?.id) {
      throw new AwsError(`UpdateService of ${service} started no deployment of ${taskDefinitionArn}`, {
        code: "ECS_NO_DEPLOYMENT",
        hint: `gantry status --env <env>; the service may already run this task definition`,
      });
    }
    return primary.id;
  }

  async runTask(input: Parameters<EcsPort["runTask"]>[0]): Promise<string> {
    const res = await withRetry(`run a task of ${input.taskDefinition}`, () =>
      this.ecs.send(
        new RunTaskCommand({
          cluster: input.cluster,
          taskDefinition: input.taskDefinition,
          launchType: "FARGATE",
          startedBy: input.startedBy.slice(0, 128),
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: [...input.subnets],
              securityGroups: [...input.securityGroups],
              assignPublicIp: "DISABLED",
            },
          },
          overrides: { containerOverrides: [{ name: input.containerName, command: [...input.command] }] },
        }),
      ),
    );
    const arn = res.tasks?.[0]?.taskArn;
    if (!arn) {
      const failure = res.failures?.[0];
      throw new AwsError(
        `RunTask started no task: ${failure?.reason ?? "no reason given"} ${failure?.detail ?? ""}`.trim(),
        {
          code: "ECS_RUN_TASK_FAILED",
          hint: "check the cluster's capacity and the migration's subnets and security groups (stack outputs)",
        },
      );
    }
    return arn;
  }

  async describeTask(
    cluster: string,
    taskArn: string,
    containerName: string,
  ): Promise<TaskState | undefined> {
    const res = await withRetry(`describe task ${taskArn}`, () =>
      this.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] })),
    );
    const t = res.tasks?.[0];
    if (!t) return undefined;
    const container = t.containers?.find((c) => c.name === containerName) ?? t.containers?.[0];
    return {
      taskArn,
      lastStatus: t.lastStatus ?? "",
      stopCode: t.stopCode,
      stoppedReason: t.stoppedReason,
      exitCode: container?.exitCode,
    };
  }

  async stopTask(cluster: string, taskArn: string, reason: string): Promise<void> {
    await withRetry(`stop task ${taskArn}`, () =>
      this.ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: reason.slice(0, 255) })),
    );
  }

  async deploymentTaskIps(cluster: string, deploymentId: string): Promise<string[]> {
    const list = await withRetry(`list tasks of deployment ${deploymentId}`, () =>
      this.ecs.send(
        new ListTasksCommand({ cluster, startedBy: deploymentId, desiredStatus: "RUNNING", maxResults: 100 }),
      ),
    );
    if (!list.taskArns?.length) return [];
    const res = await withRetry(`describe tasks of deployment ${deploymentId}`, () =>
      this.ecs.send(new DescribeTasksCommand({ cluster, tasks: list.taskArns })),
    );
    return (res.tasks ?? []).flatMap((t) =>
      (t.attachments ?? []).flatMap((a) =>
        (a.details ?? []).filter((d) => d.name === "privateIPv4Address" && d.value).map((d) => d.value ?? ""),
      ),
    );
  }

  async stoppedTaskReasons(cluster: string, service: string, deploymentId: string): Promise<string[]> {
    const list = await withRetry(`list stopped tasks of ${service}`, () =>
      this.ecs.send(
        new ListTasksCommand({ cluster, serviceName: service, desiredStatus: "STOPPED", maxResults: 100 }),
      ),
    );
    if (!list.taskArns?.length) return [];
    const res = await withRetry(`describe stopped tasks of ${service}`, () =>
      this.ecs.send(new DescribeTasksCommand({ cluster, tasks: list.taskArns?.slice(0, 100) })),
    );
    const reasons = (res.tasks ?? [])
      .filter((t) => t.startedBy === deploymentId)
      .map((t) => {
        const exit = t.containers?.find((c) => c.exitCode !== undefined)?.exitCode;
        return `${t.stoppedReason ?? t.stopCode ?? "stopped"}${exit === undefined ? "" : ` (exit code ${String(exit)})`}`;
      });
    return [...new Set(reasons)];
  }
}
