/**
 * Narrow ports to AWS: each lists only the calls gantry makes. Pure types (no SDK import), so the
 * orchestrator and steps depend on them without depending on AWS; adapters live beside them.
 */

/** An object as read, with the version tag a conditional write must match. */
export interface StoredObject {
  readonly body: string;
  readonly etag: string;
}

/** The shared store of locks and ledgers. Keys are relative to the adapter's prefix. */
export interface StorePort {
  /** The object, or undefined when there is none. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Create only if absent; "exists" when someone else has it. */
  putIfAbsent(key: string, body: string): Promise<{ etag: string } | "exists">;
  /** Replace only if unchanged since `etag` was read; "changed" otherwise. */
  putIfMatch(key: string, body: string, etag: string): Promise<{ etag: string } | "changed">;
  /** Delete only if unchanged since `etag`; false when it changed or was gone. */
  deleteIfMatch(key: string, etag: string): Promise<boolean>;
  /** Keys under a prefix, in ascending order, at most `limit`. */
  list(prefix: string, limit: number): Promise<string[]>;
}

/** An image resolved from a tag: what a release deploys. */
export interface ResolvedImage {
  readonly tag: string;
  readonly digest: string;
  /** `<registry>/<repo>@sha256:…` */
  readonly imageUri: string;
}

/** ECR: only tag → digest resolution. */
export interface EcrPort {
  /** The image a tag points at, or undefined when the repository has no such tag. */
  resolveTag(repositoryName: string, tag: string): Promise<ResolvedImage | undefined>;
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
}

/** A service, as gantry reads it. */
export interface ServiceState {
  readonly serviceName: string;
  readonly status: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly deployments: readonly DeploymentState[];
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
  describeService(cluster: string, service: string): Promise<ServiceState | undefined>;
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
  /** Private IPs of a deployment's running tasks: its ALB targets. */
  deploymentTaskIps(cluster: string, deploymentId: string): Promise<string[]>;
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
