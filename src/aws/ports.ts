/**
 * Narrow ports to AWS: each lists only the calls gantry makes. Pure types (no SDK import), so the
 * steps depend on them without depending on AWS; adapters live beside them. (The object store of
 * lock, journal and ledger is the orchestrator's own port: src/orchestrator/store.ts.)
 */

/** An image resolved from a tag: what a release deploys. */
export interface ResolvedImage {
  readonly tag: string;
  readonly digest: string;
  /** `<registry>/<repo>@sha256:…` */
  readonly imageUri: string;
}

/**
 * Tag → digest resolution of a service's image (src/registry/): ECR through the SDK, any other
 * registry through the OCI distribution API.
 */
export interface ImagePort {
  /**
   * What `tag` of `image` (an image name of src/config/image.ts: an ECR repository or
   * `registry/name`) points at, or undefined when the registry has no such tag. Throws a
   * user-sourced GantryError, naming the image and the fix, when the registry cannot say:
   * unreachable, credentials missing or refused, no manifest for the platform Fargate runs.
   */
  resolve(image: string, tag: string): Promise<ResolvedImage | undefined>;
}

/** One ECS deployment of a service, as gantry reads it. */
export interface DeploymentState {
  readonly id: string;
  readonly status: string;
  readonly rolloutState: string;
  readonly rolloutStateReason: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  readonly failedTasks: number;
  readonly createdAt: Date | undefined;
  /** When ECS last changed the deployment (its tasks started, stopped or failed). */
  readonly updatedAt: Date | undefined;
}

/** One entry of a service's event log, as ECS writes it ("(service api) has reached a steady state."). */
export interface ServiceEvent {
  readonly createdAt: Date | undefined;
  readonly message: string;
}

/** A service, as gantry reads it. */
export interface ServiceState {
  readonly serviceName: string;
  readonly status: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly deployments: readonly DeploymentState[];
  /** The service's recent events, newest first (DescribeServices returns them with the service). */
  readonly events: readonly ServiceEvent[];
}

/** A one-off task, as gantry reads it. */
export interface TaskState {
  readonly taskArn: string;
  readonly lastStatus: string;
  readonly stopCode: string | undefined;
  readonly stoppedReason: string | undefined;
  /** Exit code of the named container once it stopped. */
  readonly exitCode: number | undefined;
}

/** A task definition: the raw ECS shape, passed through untouched except for the image. */
export type TaskDefinitionDocument = Record<string, unknown> & {
  readonly taskDefinitionArn?: string;
  readonly family?: string;
  readonly containerDefinitions?: readonly (Record<string, unknown> & { name?: string; image?: string })[];
};

/** ECS: the calls a release, a migration and the gates make. */
export interface EcsPort {
  /** One service; undefined when ECS has no such (active) service or cluster. */
  describeService(cluster: string, service: string): Promise<ServiceState | undefined>;
  /**
   * Several services of one cluster, in the order asked (undefined where ECS has none): one
   * DescribeServices call per 10 services (the most it takes).
   */
  describeServices(cluster: string, services: readonly string[]): Promise<(ServiceState | undefined)[]>;
  describeTaskDefinition(arn: string): Promise<TaskDefinitionDocument>;
  /** Register a revision; returns its ARN. */
  registerTaskDefinition(definition: TaskDefinitionDocument): Promise<string>;
  /** Point the service at a task definition; returns the id of the deployment ECS started. */
  updateService(cluster: string, service: string, taskDefinitionArn: string): Promise<string>;
  runTask(input: {
    cluster: string;
    taskDefinition: string;
    containerName: string;
    command: readonly string[];
    subnets: readonly string[];
    securityGroups: readonly string[];
    startedBy: string;
  }): Promise<string>;
  describeTask(cluster: string, taskArn: string, containerName: string): Promise<TaskState | undefined>;
  stopTask(cluster: string, taskArn: string, reason: string): Promise<void>;
  /** Reasons of the service's recently stopped tasks of one deployment (for a FAILED rollout). */
  stoppedTaskReasons(cluster: string, service: string, deploymentId: string): Promise<string[]>;
  /**
   * Private IPs of the running tasks of each of `deploymentIds` (their ALB targets), by deployment
   * id: one ListTasks of the cluster per 100 running tasks, however many deployments are asked
   * for, and one DescribeTasks per 100 of those not seen before (the most each takes).
   */
  deploymentTaskIps(cluster: string, deploymentIds: readonly string[]): Promise<Map<string, string[]>>;
}

/** One ALB target as the load balancer sees it. */
export interface TargetHealthState {
  readonly id: string;
  readonly port: number | undefined;
  /** initial | healthy | unhealthy | draining | unused | unavailable */
  readonly state: string;
  readonly reason: string | undefined;
  readonly description: string | undefined;
}

/** ELBv2: target health only. */
export interface ElbPort {
  targetHealth(targetGroupArn: string): Promise<TargetHealthState[]>;
}

/** A CloudWatch alarm's state. */
export interface AlarmState {
  readonly name: string;
  /** OK | ALARM | INSUFFICIENT_DATA */
  readonly state: string;
  readonly reason: string;
}

/** CloudWatch: alarm states only. */
export interface AlarmPort {
  /** States of the named alarms; a name with no alarm is reported as missing. */
  states(names: readonly string[]): Promise<{ alarms: AlarmState[]; missing: string[] }>;
}

/** What an HTTP health endpoint answered. */
export interface HealthResponse {
  readonly url: string;
  /** HTTP status, or undefined when the request failed (then `error` says why). */
  readonly status: number | undefined;
  readonly body: unknown;
  readonly error: string | undefined;
  readonly latencyMs: number;
}

/** One HTTP request of a smoke check. */
export interface HttpRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Sent as JSON (content-type application/json) when defined. */
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Plain HTTP: GET of health endpoints, and the requests of smoke checks. */
export interface HttpPort {
  get(url: string, timeoutMs: number): Promise<HealthResponse>;
  /** Never throws: a request that fails resolves with `status` undefined and `error`. */
  request(url: string, request: HttpRequest): Promise<HealthResponse>;
}

/** A manual RDS snapshot. */
export interface SnapshotState {
  readonly id: string;
  /** creating | available | … */
  readonly status: string;
  readonly percentProgress: number;
  readonly createdAt: Date | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** RDS: pre-deploy snapshots only. */
export interface RdsPort {
  /** Create (idempotent: an existing snapshot of that id is returned as is). */
  createSnapshot(
    instanceId: string,
    snapshotId: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<SnapshotState>;
  describeSnapshot(snapshotId: string): Promise<SnapshotState | undefined>;
  /** Manual snapshots of an instance, newest first. */
  listSnapshots(instanceId: string): Promise<SnapshotState[]>;
  deleteSnapshot(snapshotId: string): Promise<void>;
}

/** CloudWatch Logs: the tail of a task's log stream. */
export interface LogsPort {
  tail(group: string, stream: string, lines: number): Promise<string[]>;
}
