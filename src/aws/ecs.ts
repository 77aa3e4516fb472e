/** ECS adapter of {@link EcsPort}. */
import {
  type Deployment,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  type Service,
  StopTaskCommand,
  type Task,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { AwsError } from "../errors.ts";
import type { DeploymentState, EcsPort, ServiceState, TaskDefinitionDocument, TaskState } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** Most services one DescribeServices call takes. */
const DESCRIBE_SERVICES_MAX = 10;
/** Most tasks one DescribeTasks call takes, and one ListTasks page returns. */
const DESCRIBE_TASKS_MAX = 100;

/** `items` in slices of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function deploymentState(d: Deployment): DeploymentState {
  return {
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
    updatedAt: d.updatedAt,
  };
}

function serviceState(s: Service): ServiceState {
  return {
    serviceName: s.serviceName ?? "",
    status: s.status ?? "",
    taskDefinition: s.taskDefinition ?? "",
    desiredCount: s.desiredCount ?? 0,
    deployments: (s.deployments ?? []).map(deploymentState),
    events: (s.events ?? []).map((e) => ({ createdAt: e.createdAt, message: e.message ?? "" })),
  };
}

/** Private IPv4 addresses of a task's network attachments. */
function taskIps(t: Task): string[] {
  return (t.attachments ?? []).flatMap((a) =>
    (a.details ?? []).filter((d) => d.name === "privateIPv4Address" && d.value).map((d) => d.value ?? ""),
  );
}

/** ECS through the AWS SDK v3. */
export class EcsAdapter implements EcsPort {
  private readonly ecs: ECSClient;
  /** Running tasks seen with an IP (by ARN), as the last {@link deploymentTaskIps} listed them. */
  private readonly runningTasks = new Map<string, { startedBy: string; ips: string[] }>();

  constructor(ecs: ECSClient) {
    this.ecs = ecs;
  }

  async describeService(cluster: string, service: string): Promise<ServiceState | undefined> {
    return (await this.describeServices(cluster, [service]))[0];
  }

  async describeServices(
    cluster: string,
    services: readonly string[],
  ): Promise<(ServiceState | undefined)[]> {
    const found = new Map<string, ServiceState>();
    for (const batch of chunks(services, DESCRIBE_SERVICES_MAX)) {
      const what = batch.length === 1 ? `service ${batch.join("")}` : `services ${batch.join(", ")}`;
      const res = await withRetry(`describe ECS ${what}`, () =>
        this.ecs.send(new DescribeServicesCommand({ cluster, services: batch })),
      ).catch((err: unknown) => {
        // No cluster, no service: the stack step creates both.
        if (err instanceof AwsError && err.code === "AWS_ClusterNotFoundException") return undefined;
        throw err;
      });
      if (!res) return services.map(() => undefined);
      // ECS answers in no promised order, and lists a missing service under `failures`.
      for (const s of res.services ?? []) {
        if (s.status !== "INACTIVE" && s.serviceName) found.set(s.serviceName, serviceState(s));
      }
    }
    return services.map((name) => found.get(name.split("/").at(-1) ?? name));
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

  async deploymentTaskIps(cluster: string, deploymentIds: readonly string[]): Promise<Map<string, string[]>> {
    const ips = new Map(deploymentIds.map((id) => [id, [] as string[]]));
    if (!deploymentIds.length) return ips;
    // One listing of the cluster serves every deployment (ListTasks filters by one startedBy only).
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await withRetry(`list running tasks of ${cluster}`, () =>
        this.ecs.send(
          new ListTasksCommand({
            cluster,
            desiredStatus: "RUNNING",
            maxResults: DESCRIBE_TASKS_MAX,
            nextToken,
          }),
        ),
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    // A task's deployment and private IP never change: only tasks not seen with an IP are described.
    const unseen = arns.filter((arn) => !this.runningTasks.has(arn));
    for (const batch of chunks(unseen, DESCRIBE_TASKS_MAX)) {
      const res = await withRetry(`describe running tasks of ${cluster}`, () =>
        this.ecs.send(new DescribeTasksCommand({ cluster, tasks: batch })),
      );
      for (const t of res.tasks ?? []) {
        const found = taskIps(t);
        if (t.taskArn && found.length)
          this.runningTasks.set(t.taskArn, { startedBy: t.startedBy ?? "", ips: found });
      }
    }
    const listed = new Set(arns);
    for (const arn of this.runningTasks.keys()) if (!listed.has(arn)) this.runningTasks.delete(arn);
    for (const task of this.runningTasks.values()) ips.get(task.startedBy)?.push(...task.ips);
    return ips;
  }

  async stoppedTaskReasons(cluster: string, service: string, deploymentId: string): Promise<string[]> {
    const list = await withRetry(`list stopped tasks of ${service}`, () =>
      this.ecs.send(
        new ListTasksCommand({
          cluster,
          serviceName: service,
          desiredStatus: "STOPPED",
          maxResults: DESCRIBE_TASKS_MAX,
        }),
      ),
    );
    if (!list.taskArns?.length) return [];
    const res = await withRetry(`describe stopped tasks of ${service}`, () =>
      this.ecs.send(
        new DescribeTasksCommand({ cluster, tasks: list.taskArns?.slice(0, DESCRIBE_TASKS_MAX) }),
      ),
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
