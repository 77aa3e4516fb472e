/**
 * Small, stateful, honest in-memory fakes of gantry's own ports (src/aws/ports.ts and StackPort)
 * for unit tests of the steps. They keep the state the real services keep — services and their
 * deployments, task definitions and their revisions, one-off tasks, snapshots, target health,
 * alarms, log streams — and let a test move that state on: advance a deployment to COMPLETED or
 * FAILED (with or without ECS's circuit-breaker rollback), stop a task with an exit code, make a
 * snapshot available. By default they also move on by themselves, a few observations after a
 * change, the way the sandbox does over time; a test that wants the wheel sets the policy to
 * "hold". Every port call is logged in order ({@link CallLog}), so a test can say what was (not)
 * called. Nothing here does I/O.
 */
import { createHash } from "node:crypto";
import type {
  AlarmPort,
  AlarmState,
  DeploymentState,
  EcsPort,
  ElbPort,
  HealthResponse,
  HttpPort,
  HttpRequest,
  ImagePort,
  LogsPort,
  RdsPort,
  ResolvedImage,
  ServiceEvent,
  ServiceState,
  SnapshotState,
  TargetHealthState,
  TaskDefinitionDocument,
  TaskState,
} from "../../src/aws/ports.ts";
import { containerVersion, VERSION_ENV } from "../../src/aws/taskDefinition.ts";
import { AwsError, PulumiError } from "../../src/errors.ts";
import { engineLines } from "../../src/pulumi/output.ts";
import type {
  EngineRunOptions,
  PreviewOptions,
  PreviewResult,
  StackPort,
  UpOptions,
  UpResult,
} from "../../src/pulumi/port.ts";
import type { EnvironmentOutputs } from "../../src/stacks/outputs.ts";

const ACCOUNT = "111122223333";
const REGION = "eu-west-1";

/** One call a fake received. */
export interface Call {
  /** `port.method`, e.g. `ecs.updateService`. */
  readonly name: string;
  readonly args: readonly unknown[];
  /** Date.now() when it was made (fake time under vi.useFakeTimers). */
  readonly at: number;
}

/** The ordered log of every call made to the fakes of one world. */
export class CallLog {
  readonly calls: Call[] = [];
  private waiters: { name: string; resolve: () => void }[] = [];

  record(name: string, args: readonly unknown[]): void {
    this.calls.push({ name, args, at: Date.now() });
    const ready = this.waiters.filter((w) => w.name === name);
    this.waiters = this.waiters.filter((w) => w.name !== name);
    for (const w of ready) w.resolve();
  }

  /** Names of the calls so far, in order. */
  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  /** How many calls of `name` were made. */
  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  /** The arguments of every call of `name`, in order. */
  argsOf(name: string): (readonly unknown[])[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }

  /** When each call of `name` was made. */
  timesOf(name: string): number[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.at);
  }

  /** Resolves at the next call of `name` (made after this one). */
  next(name: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ name, resolve }));
  }
}

/** A deterministic clock for the fakes' timestamps: every reading is one second later. */
export class FakeClock {
  private t = Date.parse("2026-11-22T10:00:00Z");

  now(): Date {
    this.t += 1000;
    return new Date(this.t);
  }
}

function notFound(what: string, code: string): AwsError {
  return new AwsError(`${what} not found`, { code });
}

/** A 64-hex sha256 digest of a text, `sha256:…`. */
export function digestOf(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

// ---------------------------------------------------------------------------------------------
// ECR

/**
 * The registries: image name → tag → digest. ECR names (`app`) get the account's ECR registry,
 * full names (`ghcr.io/org/api`) their own; an image never pushed to has no tags.
 */
export class FakeImages implements ImagePort {
  readonly registry = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
  private readonly tags = new Map<string, Map<string, string>>();
  private readonly log: CallLog;
  /** The image `push` and `image` use when none is named. */
  readonly repository: string;
  /** Errors `resolve` throws for an image name (a registry that refuses, say). */
  readonly failures = new Map<string, Error>();

  constructor(log: CallLog, repository: string) {
    this.log = log;
    this.repository = repository;
  }

  /** Push an image under `tag` (its digest derived from the image and `content`, default the tag); returns it. */
  push(tag: string, content = tag, imageName = this.repository): ResolvedImage {
    const digest = digestOf(imageName === this.repository ? content : `${imageName}:${content}`);
    const tags = this.tags.get(imageName) ?? new Map<string, string>();
    tags.set(tag, digest);
    this.tags.set(imageName, tags);
    return this.image(tag, digest, imageName);
  }

  /** The image reference ECS would run for `tag` of `imageName` (test-side, not a port call). */
  image(tag: string, digest?: string, imageName = this.repository): ResolvedImage {
    const d = digest ?? this.tags.get(imageName)?.get(tag) ?? digestOf(tag);
    const base =
      imageName.includes("/") && imageName.split("/")[0]?.includes(".")
        ? imageName
        : `${this.registry}/${imageName}`;
    return { tag, digest: d, imageUri: `${base}@${d}` };
  }

  resolve(imageName: string, tag: string): Promise<ResolvedImage | undefined> {
    this.log.record("images.resolve", [imageName, tag]);
    const failure = this.failures.get(imageName);
    if (failure) return Promise.reject(failure);
    const digest = this.tags.get(imageName)?.get(tag);
    return Promise.resolve(digest ? this.image(tag, digest, imageName) : undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// ELB

interface Target {
  state: string;
  reason: string | undefined;
  description: string | undefined;
}

/** ELBv2: target groups and their targets' health (moved by FakeEcs as deployments change). */
export class FakeElb implements ElbPort {
  private readonly groups = new Map<string, Map<string, Target>>();
  private readonly log: CallLog;

  constructor(log: CallLog) {
    this.log = log;
  }

  addGroup(arn: string): void {
    if (!this.groups.has(arn)) this.groups.set(arn, new Map());
  }

  /** Register (or update) a target. */
  set(arn: string, ip: string, state: string, description?: string): void {
    const group = this.groups.get(arn);
    if (!group) throw notFound(`target group ${arn}`, "AWS_TargetGroupNotFoundException");
    group.set(ip, {
      state,
      reason:
        state === "healthy"
          ? undefined
          : `Target.${state === "unhealthy" ? "ResponseCodeMismatch" : "Other"}`,
      description,
    });
  }

  deregister(arn: string, ip: string): void {
    this.groups.get(arn)?.delete(ip);
  }

  /** State of a target now (test-side). */
  stateOf(arn: string, ip: string): string | undefined {
    return this.groups.get(arn)?.get(ip)?.state;
  }

  targetHealth(targetGroupArn: string): Promise<TargetHealthState[]> {
    this.log.record("elb.targetHealth", [targetGroupArn]);
    const group = this.groups.get(targetGroupArn);
    if (!group) {
      return Promise.reject(notFound(`target group ${targetGroupArn}`, "AWS_TargetGroupNotFoundException"));
    }
    return Promise.resolve(
      [...group].map(([id, t]) => ({
        id,
        port: 8080,
        state: t.state,
        reason: t.reason,
        description: t.description,
      })),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// CloudWatch Logs

/** CloudWatch Logs: streams of lines. */
export class FakeLogs implements LogsPort {
  private readonly streams = new Map<string, string[]>();
  private readonly log: CallLog;

  constructor(log: CallLog) {
    this.log = log;
  }

  write(group: string, stream: string, lines: readonly string[]): void {
    const key = `${group}\n${stream}`;
    this.streams.set(key, [...(this.streams.get(key) ?? []), ...lines]);
  }

  tail(group: string, stream: string, lines: number): Promise<string[]> {
    this.log.record("logs.tail", [group, stream, lines]);
    // A missing stream is no lines, as the adapter maps ResourceNotFound.
    return Promise.resolve((this.streams.get(`${group}\n${stream}`) ?? []).slice(-lines));
  }
}

// ---------------------------------------------------------------------------------------------
// ECS

/** How a new deployment's rollout ends (decided when it starts, from its task definition). */
export type RolloutOutcome =
  | { readonly kind: "complete" }
  /** The circuit breaker fails it; with `rollback` ECS starts a deployment of the last COMPLETED one. */
  | { readonly kind: "fail"; readonly reason: string; readonly rollback: boolean }
  /** Its tasks run but their ALB targets turn unhealthy; the rollout stays IN_PROGRESS. */
  | { readonly kind: "unhealthy"; readonly description: string }
  /** Stays IN_PROGRESS until the test moves it. */
  | { readonly kind: "hold" };

/** How a one-off task ends (decided when it is run). */
export type TaskExit =
  | {
      readonly kind: "exit";
      /** undefined: the container never ran (e.g. its image could not be pulled). */
      readonly exitCode: number | undefined;
      readonly stoppedReason?: string;
      /** Lines the container writes to its awslogs stream. */
      readonly logs?: readonly string[];
    }
  | { readonly kind: "hold" };

interface FakeDeployment {
  id: string;
  status: "PRIMARY" | "ACTIVE";
  rolloutState: "IN_PROGRESS" | "COMPLETED" | "FAILED";
  rolloutStateReason: string;
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  failedTasks: number;
  createdAt: Date;
  /** Changed whenever the deployment's tasks are: started, stopped, failed (as ECS does). */
  updatedAt: Date;
  ips: string[];
  observed: number;
  outcome: RolloutOutcome;
}

interface FakeService {
  serviceName: string;
  containerName: string;
  taskDefinition: string;
  desiredCount: number;
  targetGroupArns: string[];
  /** Newest first, as ECS lists them. */
  deployments: FakeDeployment[];
  lastCompleted: string | undefined;
  stopped: { deploymentId: string; reason: string }[];
  /** Newest first, at most 100, as DescribeServices lists them. */
  events: ServiceEvent[];
}

interface FakeTask {
  taskArn: string;
  taskDefinition: string;
  containerName: string;
  command: readonly string[];
  startedBy: string;
  lastStatus: string;
  stopCode: string | undefined;
  stoppedReason: string | undefined;
  exitCode: number | undefined;
  observed: number;
  exit: TaskExit;
}

/** The awslogs stream of a container of a task, as ECS names it. */
function awslogsOf(
  definition: TaskDefinitionDocument,
  container: string,
  taskArn: string,
): { group: string; stream: string } | undefined {
  const c = definition.containerDefinitions?.find((x) => x.name === container) as
    { logConfiguration?: { options?: Record<string, string> } } | undefined;
  const options = c?.logConfiguration?.options;
  const group = options?.["awslogs-group"];
  if (!group) return undefined;
  const prefix = options["awslogs-stream-prefix"];
  const taskId = taskArn.split("/").at(-1) ?? "";
  return { group, stream: prefix ? `${prefix}/${container}/${taskId}` : taskId };
}

/**
 * ECS: one cluster; services whose UpdateService starts a new PRIMARY deployment IN_PROGRESS
 * (the previous one turns ACTIVE and keeps serving); task definitions registered as new revisions;
 * one-off tasks. Deployments and tasks settle by the policies below after `settleAfter`
 * observations (describeService(s) / describeTask), or when the test moves them.
 */
export class FakeEcs implements EcsPort {
  readonly cluster: string;
  /** How a deployment's rollout ends; default: it completes. */
  rolloutFor: (start: { serviceName: string; taskDefinition: TaskDefinitionDocument }) => RolloutOutcome =
    () => ({ kind: "complete" });
  /** How a one-off task ends; default: exit code 0. */
  taskExitFor: (start: { command: readonly string[]; image: string }) => TaskExit = () => ({
    kind: "exit",
    exitCode: 0,
  });
  /** Observations of an unsettled deployment or task before it settles (0: the first one sees it settled). */
  settleAfter = 1;
  /** UpdateService of these services fails with the given error (e.g. a throttling or permission error). */
  readonly updateServiceFailures = new Map<string, Error>();
  /**
   * The next UpdateService of these services takes effect, then fails with the given error (as a
   * request applied whose response was lost); each entry is used once.
   */
  readonly updateServiceAnswersLost = new Map<string, Error>();
  /** When set, RunTask starts no task and fails with this reason (as ECS's `failures[]`). */
  runTaskFailure: string | undefined;
  private readonly services = new Map<string, FakeService>();
  private readonly definitions = new Map<string, TaskDefinitionDocument>();
  private readonly latest = new Map<string, number>();
  private readonly tasks = new Map<string, FakeTask>();
  private seq = 0;
  private readonly log: CallLog;
  private readonly elb: FakeElb;
  private readonly logs: FakeLogs;
  private readonly clock: FakeClock;

  constructor(deps: { log: CallLog; elb: FakeElb; logs: FakeLogs; clock: FakeClock; cluster: string }) {
    this.log = deps.log;
    this.elb = deps.elb;
    this.logs = deps.logs;
    this.clock = deps.clock;
    this.cluster = deps.cluster;
  }

  // --- test-side set-up and control (not port calls) ---

  /** Register a task definition revision without logging a call (set-up). */
  seedTaskDefinition(definition: TaskDefinitionDocument): string {
    return this.register(definition);
  }

  /**
   * A service already running `taskDefinition`: one PRIMARY deployment, COMPLETED, its targets
   * healthy (as ECS lists a service that has been stable for a while).
   */
  seedService(input: {
    serviceName: string;
    containerName: string;
    taskDefinition: string;
    desiredCount: number;
    targetGroupArns: string[];
  }): string {
    const service: FakeService = {
      ...input,
      deployments: [],
      lastCompleted: undefined,
      stopped: [],
      events: [],
    };
    for (const tg of input.targetGroupArns) this.elb.addGroup(tg);
    this.services.set(input.serviceName, service);
    const d = this.startDeployment(service, input.taskDefinition, { kind: "complete" });
    this.complete(input.serviceName, d.id);
    return d.id;
  }

  /** The current state of a service, without logging a call (test-side). */
  peek(serviceName: string): ServiceState | undefined {
    const s = this.services.get(serviceName);
    return s ? this.stateOf(s) : undefined;
  }

  /** A registered task definition (test-side). */
  definition(ref: string): TaskDefinitionDocument | undefined {
    const d = this.definitions.get(this.resolve(ref) ?? "");
    return d ? structuredClone(d) : undefined;
  }

  /** Every task definition ARN registered, in order. */
  definitionArns(): string[] {
    return [...this.definitions.keys()];
  }

  /** The tag (APP_VERSION) the given task definition runs in `containerName`. */
  versionOf(ref: string, containerName: string): string {
    const d = this.definitions.get(this.resolve(ref) ?? "");
    return d ? containerVersion(d, containerName) : "";
  }

  /** The tag a service serves: its newest deployment with a healthy target (or undefined). */
  servingVersion(serviceName: string): string | undefined {
    const s = this.services.get(serviceName);
    if (!s) return undefined;
    const serving = s.deployments.find((d) =>
      d.ips.some((ip) => s.targetGroupArns.some((tg) => this.elb.stateOf(tg, ip) === "healthy")),
    );
    return serving ? this.versionOf(serving.taskDefinition, s.containerName) : undefined;
  }

  /** Move a deployment (default: the PRIMARY one) to COMPLETED; every other deployment goes away. */
  complete(serviceName: string, deploymentId?: string): void {
    const s = this.must(serviceName);
    const d = this.deployment(s, deploymentId);
    d.rolloutState = "COMPLETED";
    d.rolloutStateReason = `ECS deployment ${d.id} completed.`;
    d.runningCount = d.desiredCount;
    d.pendingCount = 0;
    d.updatedAt = this.clock.now();
    for (const ip of d.ips) for (const tg of s.targetGroupArns) this.elb.set(tg, ip, "healthy");
    for (const other of s.deployments.filter((x) => x !== d)) this.drop(s, other);
    s.deployments = [d];
    s.lastCompleted = d.taskDefinition;
    this.note(s, `(deployment ${d.id}) deployment completed.`);
    this.note(s, "has reached a steady state.");
  }

  /**
   * The circuit breaker fails a deployment (default: the PRIMARY one): FAILED with `reason`, its
   * tasks stopped. With `rollback`, ECS starts a deployment of the last COMPLETED task definition
   * (PRIMARY, IN_PROGRESS) and the failed one stays listed, ACTIVE, until that one completes.
   */
  fail(serviceName: string, reason: string, options: { rollback: boolean; deploymentId?: string }): void {
    const s = this.must(serviceName);
    const d = this.deployment(s, options.deploymentId);
    d.rolloutState = "FAILED";
    d.rolloutStateReason = reason;
    d.failedTasks = d.desiredCount;
    d.runningCount = 0;
    d.pendingCount = 0;
    d.updatedAt = this.clock.now();
    for (const ip of d.ips) for (const tg of s.targetGroupArns) this.elb.deregister(tg, ip);
    d.ips = [];
    s.stopped.push({
      deploymentId: d.id,
      reason: "Task failed ELB health checks in (target-group app)",
    });
    this.note(s, `(deployment ${d.id}) deployment failed: tasks failed to start.`);
    if (options.rollback && s.lastCompleted) {
      const previous = s.lastCompleted;
      const definition = this.definitions.get(previous);
      const rb = this.startDeployment(
        s,
        previous,
        definition ? this.rolloutFor({ serviceName, taskDefinition: definition }) : { kind: "complete" },
      );
      rb.rolloutStateReason = `ECS deployment circuit breaker: rolling back to the last completed deployment (${rb.id}).`;
      d.status = "ACTIVE";
      this.note(s, `rolling back to deployment ${rb.id}.`);
    }
  }

  /**
   * The tasks of a deployment (default: the PRIMARY one) run: their targets, registered, wait for
   * their first health checks (initial); the rollout goes on (IN_PROGRESS).
   */
  run(serviceName: string, deploymentId?: string): void {
    const d = this.deployment(this.must(serviceName), deploymentId);
    d.runningCount = d.desiredCount;
    d.pendingCount = 0;
    d.updatedAt = this.clock.now();
  }

  /** A task of a deployment (default: the PRIMARY one) stopped with `reason`, as ECS lists it. */
  stopTaskOf(serviceName: string, reason: string, deploymentId?: string): void {
    const s = this.must(serviceName);
    const d = this.deployment(s, deploymentId);
    d.updatedAt = this.clock.now();
    s.stopped.push({ deploymentId: d.id, reason });
  }

  /** The service writes `message` to its event log, "(service <name>) " first, as ECS does. */
  say(serviceName: string, message: string): void {
    this.note(this.must(serviceName), message);
  }

  /**
   * Targets of a deployment (default: the PRIMARY one) turn `state`. Only running tasks are
   * targets: a deployment whose tasks did not run yet runs them first ({@link run}).
   */
  setTargets(serviceName: string, state: string, description?: string, deploymentId?: string): void {
    const s = this.must(serviceName);
    const d = this.deployment(s, deploymentId);
    if (d.runningCount === 0 && d.rolloutState === "IN_PROGRESS") this.run(serviceName, d.id);
    for (const ip of d.ips) for (const tg of s.targetGroupArns) this.elb.set(tg, ip, state, description);
  }

  /** A deployment stops being listed (as when ECS replaced it). */
  forget(serviceName: string, deploymentId: string): void {
    const s = this.must(serviceName);
    const d = this.deployment(s, deploymentId);
    this.drop(s, d);
    s.deployments = s.deployments.filter((x) => x !== d);
  }

  /** Every one-off task run, in order (test-side). */
  taskList(): FakeTask[] {
    return [...this.tasks.values()];
  }

  /** A running one-off task stops with `exitCode` (as its container exiting). */
  stop(
    taskArn: string,
    exitCode: number | undefined,
    stoppedReason = "Essential container in task exited",
  ): void {
    const t = this.tasks.get(taskArn);
    if (!t) throw notFound(`task ${taskArn}`, "AWS_InvalidParameterException");
    t.lastStatus = "STOPPED";
    t.stopCode = exitCode === undefined ? "TaskFailedToStart" : "EssentialContainerExited";
    t.stoppedReason = stoppedReason;
    t.exitCode = exitCode;
  }

  // --- the port ---

  describeService(cluster: string, service: string): Promise<ServiceState | undefined> {
    this.log.record("ecs.describeService", [cluster, service]);
    return Promise.resolve(this.observe(cluster, service));
  }

  describeServices(cluster: string, services: readonly string[]): Promise<(ServiceState | undefined)[]> {
    this.log.record("ecs.describeServices", [cluster, [...services]]);
    return Promise.resolve(services.map((service) => this.observe(cluster, service)));
  }

  describeTaskDefinition(arn: string): Promise<TaskDefinitionDocument> {
    this.log.record("ecs.describeTaskDefinition", [arn]);
    const d = this.definitions.get(this.resolve(arn) ?? "");
    return d
      ? Promise.resolve(structuredClone(d))
      : Promise.reject(notFound(`task definition ${arn}`, "ECS_TASK_DEFINITION_NOT_FOUND"));
  }

  registerTaskDefinition(definition: TaskDefinitionDocument): Promise<string> {
    this.log.record("ecs.registerTaskDefinition", [structuredClone(definition)]);
    return new Promise((resolve) => {
      resolve(this.register(definition)); // a throw rejects, as the adapter's classified error would
    });
  }

  updateService(cluster: string, service: string, taskDefinitionArn: string): Promise<string> {
    this.log.record("ecs.updateService", [cluster, service, taskDefinitionArn]);
    const s = cluster === this.cluster ? this.services.get(service) : undefined;
    if (!s) return Promise.reject(notFound(`service ${service}`, "AWS_ServiceNotFoundException"));
    const refused = this.updateServiceFailures.get(service);
    if (refused) return Promise.reject(refused);
    const arn = this.resolve(taskDefinitionArn);
    const definition = arn ? this.definitions.get(arn) : undefined;
    if (!arn || !definition) {
      return Promise.reject(
        notFound(`task definition ${taskDefinitionArn}`, "AWS_InvalidParameterException"),
      );
    }
    const d = this.startDeployment(
      s,
      arn,
      this.rolloutFor({ serviceName: service, taskDefinition: definition }),
    );
    const lost = this.updateServiceAnswersLost.get(service);
    if (lost) {
      this.updateServiceAnswersLost.delete(service);
      return Promise.reject(lost);
    }
    return Promise.resolve(d.id);
  }

  runTask(input: Parameters<EcsPort["runTask"]>[0]): Promise<string> {
    this.log.record("ecs.runTask", [structuredClone(input)]);
    const arn = this.resolve(input.taskDefinition);
    const definition = arn ? this.definitions.get(arn) : undefined;
    if (input.cluster !== this.cluster || !arn || !definition) {
      return Promise.reject(
        notFound(`task definition ${input.taskDefinition}`, "AWS_InvalidParameterException"),
      );
    }
    if (this.runTaskFailure !== undefined) {
      return Promise.reject(
        new AwsError(`RunTask started no task: ${this.runTaskFailure}`, { code: "ECS_RUN_TASK_FAILED" }),
      );
    }
    this.seq += 1;
    const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${this.cluster}/${this.seq.toString(16).padStart(32, "0")}`;
    const image = definition.containerDefinitions?.find((c) => c.name === input.containerName)?.image ?? "";
    this.tasks.set(taskArn, {
      taskArn,
      taskDefinition: arn,
      containerName: input.containerName,
      command: [...input.command],
      startedBy: input.startedBy,
      lastStatus: "PROVISIONING",
      stopCode: undefined,
      stoppedReason: undefined,
      exitCode: undefined,
      observed: 0,
      exit: this.taskExitFor({ command: input.command, image }),
    });
    return Promise.resolve(taskArn);
  }

  describeTask(cluster: string, taskArn: string, containerName: string): Promise<TaskState | undefined> {
    this.log.record("ecs.describeTask", [cluster, taskArn, containerName]);
    const t = cluster === this.cluster ? this.tasks.get(taskArn) : undefined;
    if (!t) return Promise.resolve(undefined);
    if (t.lastStatus !== "STOPPED") {
      t.observed += 1;
      if (t.lastStatus === "PROVISIONING") t.lastStatus = "RUNNING";
      if (t.exit.kind === "exit" && t.observed > this.settleAfter) {
        const definition = this.definitions.get(t.taskDefinition);
        const stream = definition ? awslogsOf(definition, t.containerName, t.taskArn) : undefined;
        if (stream && t.exit.logs) this.logs.write(stream.group, stream.stream, t.exit.logs);
        this.stop(t.taskArn, t.exit.exitCode, t.exit.stoppedReason);
      }
    }
    return Promise.resolve({
      taskArn: t.taskArn,
      lastStatus: t.lastStatus,
      stopCode: t.stopCode,
      stoppedReason: t.stoppedReason,
      exitCode: t.exitCode,
    });
  }

  stopTask(cluster: string, taskArn: string, reason: string): Promise<void> {
    this.log.record("ecs.stopTask", [cluster, taskArn, reason]);
    const t = cluster === this.cluster ? this.tasks.get(taskArn) : undefined;
    if (!t) return Promise.reject(notFound(`task ${taskArn}`, "AWS_InvalidParameterException"));
    if (t.lastStatus !== "STOPPED") {
      t.lastStatus = "STOPPED";
      t.stopCode = "UserInitiated";
      t.stoppedReason = reason;
      t.exitCode = 143; // SIGTERM
    }
    return Promise.resolve();
  }

  stoppedTaskReasons(cluster: string, service: string, deploymentId: string): Promise<string[]> {
    this.log.record("ecs.stoppedTaskReasons", [cluster, service, deploymentId]);
    const s = cluster === this.cluster ? this.services.get(service) : undefined;
    return Promise.resolve([
      ...new Set((s?.stopped ?? []).filter((x) => x.deploymentId === deploymentId).map((x) => x.reason)),
    ]);
  }

  deploymentTaskIps(cluster: string, deploymentIds: readonly string[]): Promise<Map<string, string[]>> {
    this.log.record("ecs.deploymentTaskIps", [cluster, [...deploymentIds]]);
    const running = new Map<string, string[]>();
    if (cluster === this.cluster) {
      for (const s of this.services.values()) for (const d of s.deployments) running.set(d.id, [...d.ips]);
    }
    return Promise.resolve(new Map(deploymentIds.map((id) => [id, running.get(id) ?? []])));
  }

  // --- internals ---

  /** A service as DescribeServices shows it; each look moves its PRIMARY deployment on (settleAfter). */
  private observe(cluster: string, service: string): ServiceState | undefined {
    const s = cluster === this.cluster ? this.services.get(service) : undefined;
    if (!s) return undefined;
    // Only the PRIMARY deployment rolls forward; a replaced one is drained, never completed.
    const primary = s.deployments.find((d) => d.status === "PRIMARY" && d.rolloutState === "IN_PROGRESS");
    if (primary) {
      primary.observed += 1;
      if (primary.observed > this.settleAfter) this.settle(s, primary);
    }
    return this.stateOf(s);
  }

  private must(serviceName: string): FakeService {
    const s = this.services.get(serviceName);
    if (!s) throw notFound(`service ${serviceName}`, "AWS_ServiceNotFoundException");
    return s;
  }

  private deployment(s: FakeService, id: string | undefined): FakeDeployment {
    const d = id ? s.deployments.find((x) => x.id === id) : s.deployments.find((x) => x.status === "PRIMARY");
    if (!d) throw notFound(`deployment ${id ?? "PRIMARY"} of ${s.serviceName}`, "FAKE_NO_DEPLOYMENT");
    return d;
  }

  /** `family`, `family:rev` or an ARN → the ARN of a registered revision. */
  private resolve(ref: string): string | undefined {
    if (this.definitions.has(ref)) return ref;
    const short = ref.split("/").at(-1) ?? ref;
    const [family = "", rev] = short.split(":");
    const revision = rev === undefined ? this.latest.get(family) : Number(rev);
    if (revision === undefined) return undefined;
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${String(revision)}`;
    return this.definitions.has(arn) ? arn : undefined;
  }

  private register(definition: TaskDefinitionDocument): string {
    const family = definition.family;
    if (!family || !definition.containerDefinitions?.length) {
      throw new AwsError("RegisterTaskDefinition needs a family and containerDefinitions", {
        code: "AWS_ClientException",
      });
    }
    const revision = (this.latest.get(family) ?? 0) + 1;
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${String(revision)}`;
    this.latest.set(family, revision);
    this.definitions.set(arn, {
      ...structuredClone(definition),
      taskDefinitionArn: arn,
      revision,
      status: "ACTIVE",
    });
    return arn;
  }

  private startDeployment(s: FakeService, taskDefinition: string, outcome: RolloutOutcome): FakeDeployment {
    this.seq += 1;
    const id = `ecs-svc/${String(1_000_000_000 + this.seq)}`;
    const ips = Array.from(
      { length: s.desiredCount },
      (_, i) => `10.0.${String(this.seq % 250)}.${String(10 + i)}`,
    );
    for (const old of s.deployments) if (old.status === "PRIMARY") old.status = "ACTIVE";
    const createdAt = this.clock.now();
    const d: FakeDeployment = {
      id,
      status: "PRIMARY",
      rolloutState: "IN_PROGRESS",
      rolloutStateReason: `ECS deployment ${id} in progress.`,
      taskDefinition,
      desiredCount: s.desiredCount,
      runningCount: 0,
      pendingCount: s.desiredCount,
      failedTasks: 0,
      createdAt,
      updatedAt: createdAt,
      ips,
      observed: 0,
      outcome,
    };
    for (const ip of ips) for (const tg of s.targetGroupArns) this.elb.set(tg, ip, "initial");
    s.deployments.unshift(d);
    s.taskDefinition = taskDefinition;
    return d;
  }

  private settle(s: FakeService, d: FakeDeployment): void {
    switch (d.outcome.kind) {
      case "complete":
        this.complete(s.serviceName, d.id);
        break;
      case "fail":
        this.fail(s.serviceName, d.outcome.reason, { rollback: d.outcome.rollback, deploymentId: d.id });
        break;
      case "unhealthy":
        d.runningCount = d.desiredCount;
        d.pendingCount = 0;
        d.updatedAt = this.clock.now();
        for (const ip of d.ips) {
          for (const tg of s.targetGroupArns) this.elb.set(tg, ip, "unhealthy", d.outcome.description);
        }
        break;
      case "hold":
        break;
    }
  }

  private note(s: FakeService, message: string): void {
    s.events.unshift({ createdAt: this.clock.now(), message: `(service ${s.serviceName}) ${message}` });
    s.events.length = Math.min(s.events.length, 100);
  }

  private drop(s: FakeService, d: FakeDeployment): void {
    for (const ip of d.ips) for (const tg of s.targetGroupArns) this.elb.deregister(tg, ip);
  }

  private stateOf(s: FakeService): ServiceState {
    return {
      serviceName: s.serviceName,
      status: "ACTIVE",
      taskDefinition: s.taskDefinition,
      desiredCount: s.desiredCount,
      deployments: s.deployments.map((d): DeploymentState => ({
        id: d.id,
        status: d.status,
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
        taskDefinition: d.taskDefinition,
        desiredCount: d.desiredCount,
        runningCount: d.runningCount,
        pendingCount: d.pendingCount,
        failedTasks: d.failedTasks,
        createdAt: d.createdAt,
        updatedAt: d.updatedAt,
      })),
      events: s.events.map((e) => ({ ...e })),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// RDS

interface FakeSnapshot {
  id: string;
  instanceId: string;
  status: string;
  percentProgress: number;
  createdAt: Date;
  tags: Record<string, string>;
  observed: number;
}

/** RDS: manual snapshots that go creating → available after `settleAfter` observations. */
export class FakeRds implements RdsPort {
  /** How a new snapshot ends: available, failed, or creating until the test moves it. */
  outcome: "available" | "failed" | "hold" = "available";
  settleAfter = 1;
  private readonly snapshots = new Map<string, FakeSnapshot>();
  private readonly instances: Set<string>;
  private readonly log: CallLog;
  private readonly clock: FakeClock;

  constructor(deps: { log: CallLog; clock: FakeClock; instances: readonly string[] }) {
    this.log = deps.log;
    this.clock = deps.clock;
    this.instances = new Set(deps.instances);
  }

  /** A snapshot that already exists (older ones first, so the clock orders them). */
  seed(id: string, instanceId: string, tags: Record<string, string>, status = "available"): void {
    this.snapshots.set(id, {
      id,
      instanceId,
      status,
      percentProgress: status === "available" ? 100 : 0,
      createdAt: this.clock.now(),
      tags: { ...tags },
      observed: 0,
    });
  }

  /** Snapshot ids, newest first (test-side). */
  ids(instanceId?: string): string[] {
    return this.sorted(instanceId).map((s) => s.id);
  }

  /** Move a snapshot to `status` (e.g. available). */
  set(id: string, status: string): void {
    const s = this.snapshots.get(id);
    if (!s) throw notFound(`snapshot ${id}`, "AWS_DBSnapshotNotFound");
    s.status = status;
    s.percentProgress = status === "available" ? 100 : s.percentProgress;
  }

  createSnapshot(
    instanceId: string,
    snapshotId: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<SnapshotState> {
    this.log.record("rds.createSnapshot", [instanceId, snapshotId, { ...tags }]);
    const existing = this.snapshots.get(snapshotId);
    if (existing) return Promise.resolve(this.view(existing));
    if (!this.instances.has(instanceId)) {
      return Promise.reject(notFound(`DB instance ${instanceId}`, "AWS_DBInstanceNotFound"));
    }
    const s: FakeSnapshot = {
      id: snapshotId,
      instanceId,
      status: "creating",
      percentProgress: 0,
      createdAt: this.clock.now(),
      tags: { ...tags },
      observed: 0,
    };
    this.snapshots.set(snapshotId, s);
    return Promise.resolve(this.view(s));
  }

  describeSnapshot(snapshotId: string): Promise<SnapshotState | undefined> {
    this.log.record("rds.describeSnapshot", [snapshotId]);
    const s = this.snapshots.get(snapshotId);
    if (!s) return Promise.resolve(undefined);
    if (s.status === "creating") {
      s.observed += 1;
      s.percentProgress = Math.min(90, s.percentProgress + 30);
      if (this.outcome !== "hold" && s.observed > this.settleAfter) this.set(s.id, this.outcome);
    }
    return Promise.resolve(this.view(s));
  }

  listSnapshots(instanceId: string): Promise<SnapshotState[]> {
    this.log.record("rds.listSnapshots", [instanceId]);
    return Promise.resolve(this.sorted(instanceId).map((s) => this.view(s)));
  }

  deleteSnapshot(snapshotId: string): Promise<void> {
    this.log.record("rds.deleteSnapshot", [snapshotId]);
    if (!this.snapshots.delete(snapshotId)) {
      return Promise.reject(notFound(`snapshot ${snapshotId}`, "AWS_DBSnapshotNotFound"));
    }
    return Promise.resolve();
  }

  private sorted(instanceId?: string): FakeSnapshot[] {
    return [...this.snapshots.values()]
      .filter((s) => instanceId === undefined || s.instanceId === instanceId)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  private view(s: FakeSnapshot): SnapshotState {
    return {
      id: s.id,
      status: s.status,
      percentProgress: s.percentProgress,
      createdAt: s.createdAt,
      tags: { ...s.tags },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// CloudWatch alarms, HTTP

/** CloudWatch: named alarms and their states. */
export class FakeAlarms implements AlarmPort {
  private readonly alarms = new Map<string, AlarmState>();
  private readonly log: CallLog;

  constructor(log: CallLog) {
    this.log = log;
  }

  set(
    name: string,
    state: "OK" | "ALARM" | "INSUFFICIENT_DATA",
    reason = `Threshold crossed (${state})`,
  ): void {
    this.alarms.set(name, { name, state, reason });
  }

  states(names: readonly string[]): Promise<{ alarms: AlarmState[]; missing: string[] }> {
    this.log.record("alarms.states", [[...names]]);
    const unique = [...new Set(names)];
    return Promise.resolve({
      alarms: unique.flatMap((n) => {
        const a = this.alarms.get(n);
        return a ? [{ ...a }] : [];
      }),
      missing: unique.filter((n) => !this.alarms.has(n)),
    });
  }
}

/** What a fake endpoint answers. */
export interface FakeAnswer {
  readonly status: number;
  readonly body?: unknown;
  /** How long the answer is reported to have taken (default 1 ms). */
  readonly latencyMs?: number;
}

/** HTTP: answers per URL; an unknown URL is a refused connection. */
export class FakeHttp implements HttpPort {
  private readonly routes = new Map<string, () => FakeAnswer>();
  private readonly log: CallLog;

  constructor(log: CallLog) {
    this.log = log;
  }

  /** `url` answers `answer` (or what the function returns at the time of the request). */
  route(url: string, answer: FakeAnswer | (() => FakeAnswer)): void {
    this.routes.set(url, typeof answer === "function" ? answer : () => answer);
  }

  get(url: string, timeoutMs: number): Promise<HealthResponse> {
    this.log.record("http.get", [url, timeoutMs]);
    return Promise.resolve(this.answer(url));
  }

  /** Smoke-check requests: answered by the same routes; the log keeps method and header names. */
  request(url: string, request: HttpRequest): Promise<HealthResponse> {
    this.log.record("http.request", [request.method, url, Object.keys(request.headers).sort()]);
    return Promise.resolve(this.answer(url));
  }

  /** The route's answer, or a refused connection where there is no route. */
  private answer(url: string): HealthResponse {
    const route = this.routes.get(url);
    if (!route) {
      return { url, status: undefined, body: undefined, error: "connect ECONNREFUSED", latencyMs: 1 };
    }
    const a = route();
    return { url, status: a.status, body: a.body, error: undefined, latencyMs: a.latencyMs ?? 1 };
  }
}

// ---------------------------------------------------------------------------------------------
// Pulumi stack

/** The environment's Pulumi stack: `up` makes `next` the outputs; before any `up` the stack may not exist. */
export class FakeStack implements StackPort {
  readonly name: string;
  /** The outputs the stack has now (undefined: it was never deployed). */
  current: EnvironmentOutputs | undefined;
  /** What the next `up` makes the outputs. */
  next: EnvironmentOutputs;
  changeSummary: Record<string, number> = { same: 12 };
  engineLines = ["Updating (sandbox):", "", "Resources:", "    12 unchanged"];
  /** When set, `up` fails with it. */
  upFailure: Error | undefined;
  /** What `up` reports doing to the database (`onDatabaseStep`), halfway through; undefined: nothing. */
  databaseOp: string | undefined;
  /** true: `up` runs until its signal aborts (then fails as the adapter does: STACK_UP_CANCELLED). */
  upHangs = false;
  /** The signal each `up` received. */
  readonly upSignals: (AbortSignal | undefined)[] = [];
  private readonly log: CallLog;

  constructor(log: CallLog, name: string, outputs: EnvironmentOutputs, deployed: boolean) {
    this.log = log;
    this.name = name;
    this.next = outputs;
    this.current = deployed ? outputs : undefined;
  }

  preview(options: PreviewOptions = {}): Promise<PreviewResult> {
    this.log.record("stack.preview", []);
    this.print(options);
    return Promise.resolve({ changeSummary: { ...this.changeSummary }, changes: [], diffText: "" });
  }

  async up(options: UpOptions = {}): Promise<UpResult> {
    const { onOutput: _onOutput, onDatabaseStep, signal, ...rest } = options;
    this.log.record("stack.up", [signal, rest]);
    this.upSignals.push(signal);
    this.print(options);
    if (this.databaseOp !== undefined) onDatabaseStep?.(this.databaseOp);
    // The engine goes on with the other resources after the database's step.
    await Promise.resolve();
    if (this.upHangs) {
      await new Promise<void>((resolve) => {
        if (signal?.aborted) resolve();
        signal?.addEventListener("abort", () => {
          resolve();
        });
      });
      // What the adapter makes of an update its own signal stopped.
      throw new PulumiError(`pulumi up of stack ${this.name} was cancelled: gantry was interrupted`, {
        code: "STACK_UP_CANCELLED",
      });
    }
    if (this.upFailure !== undefined) throw this.upFailure;
    this.current = this.next;
    return { changeSummary: { ...this.changeSummary }, outputs: this.next };
  }

  outputs(): Promise<EnvironmentOutputs> {
    this.log.record("stack.outputs", []);
    return this.current
      ? Promise.resolve(this.current)
      : Promise.reject(
          new PulumiError(`stack ${this.name} does not exist`, { code: "STACK_NOT_FOUND", source: "user" }),
        );
  }

  destroy(options: EngineRunOptions = {}): Promise<void> {
    this.log.record("stack.destroy", []);
    this.print(options);
    this.current = undefined;
    return Promise.resolve();
  }

  cancel(): Promise<void> {
    this.log.record("stack.cancel", []);
    return Promise.resolve();
  }

  /** The engine's output, line by line as the adapter passes it on. */
  private print(options: EngineRunOptions): void {
    if (!options.onOutput) return;
    const out = engineLines(options.onOutput);
    out.write(this.engineLines.join("\n"));
    out.end();
  }
}

// ---------------------------------------------------------------------------------------------
// A whole environment

/** Options of {@link fakeEnvironment}. */
export interface FakeEnvironmentOptions {
  readonly env?: string;
  /** Services of the stack (default: web and api). */
  readonly services?: readonly string[];
  /** Tasks each service runs (default 2). */
  readonly desiredCount?: number;
  /** The tag the services run at the start (pushed to ECR too). */
  readonly runningTag?: string;
  /** Repository of the images (the config's `repositoryName`). */
  readonly repository?: string;
  /** Alarm names the stack exports. */
  readonly alarmNames?: readonly string[];
  /** false: the stack has never been deployed (outputs() fails until the first up). */
  readonly stackDeployed?: boolean;
}

/** Every fake of one emulated environment, sharing one call log. */
export interface FakeEnvironment {
  readonly log: CallLog;
  readonly clock: FakeClock;
  readonly ecs: FakeEcs;
  readonly images: FakeImages;
  readonly rds: FakeRds;
  readonly elb: FakeElb;
  readonly alarms: FakeAlarms;
  readonly http: FakeHttp;
  readonly logs: FakeLogs;
  readonly stack: FakeStack;
  readonly outputs: EnvironmentOutputs;
  /** Task definition ARN each service runs at the start. */
  readonly initialTaskDefinitions: Readonly<Record<string, string>>;
  /**
   * Health answers by the version being served (instead of 200 `{version}`), e.g. a release whose
   * health endpoint answers 500, or one that reports the wrong version.
   */
  readonly healthFaults: Map<string, FakeAnswer>;
}

/** Name of the container of a service (its task definition's only container). */
export const containerOf = (service: string): string => service;

/**
 * An environment that has been deployed before: a cluster with `services` running `runningTag`
 * behind target groups, each with a health URL answering the version it serves, a migration task
 * family (awslogs configured), a database, the stack's alarms (OK), and the running tag in ECR.
 */
export function fakeEnvironment(options: FakeEnvironmentOptions = {}): FakeEnvironment {
  const env = options.env ?? "sandbox";
  const names = options.services ?? ["web", "api"];
  const runningTag = options.runningTag ?? "v1.0.0";
  const repository = options.repository ?? "app";
  const log = new CallLog();
  const clock = new FakeClock();
  const elb = new FakeElb(log);
  const logs = new FakeLogs(log);
  const cluster = `gantry-${env}`;
  const ecs = new FakeEcs({ log, elb, logs, clock, cluster });
  const images = new FakeImages(log, repository);
  const instanceId = `gantry-${env}-db`;
  const rds = new FakeRds({ log, clock, instances: [instanceId] });
  const alarms = new FakeAlarms(log);
  const http = new FakeHttp(log);
  const healthFaults = new Map<string, FakeAnswer>();
  const image = images.push(runningTag);
  const alarmNames = options.alarmNames ?? [`gantry-${env}-web-5xx`];
  for (const a of alarmNames) alarms.set(a, "OK");

  const initialTaskDefinitions: Record<string, string> = {};
  const services = names.map((name) => {
    const family = `gantry-${env}-${name}`;
    const serviceName = `gantry-${env}-${name}`;
    const targetGroupArn = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${name}/${digestOf(name).slice(7, 23)}`;
    const td = ecs.seedTaskDefinition({
      family,
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: containerOf(name),
          image: image.imageUri,
          essential: true,
          environment: [{ name: VERSION_ENV, value: runningTag }],
        },
      ],
    });
    initialTaskDefinitions[name] = td;
    ecs.seedService({
      serviceName,
      containerName: containerOf(name),
      taskDefinition: td,
      desiredCount: options.desiredCount ?? 2,
      targetGroupArns: [targetGroupArn],
    });
    const healthUrl = `http://127.0.0.1:9/${name}/health`;
    http.route(healthUrl, () => {
      const version = ecs.servingVersion(serviceName);
      if (version === undefined) return { status: 503, body: { error: "no healthy task" } };
      return healthFaults.get(version) ?? { status: 200, body: { status: "ok", version } };
    });
    return {
      name,
      serviceName,
      taskDefinitionFamily: family,
      containerName: containerOf(name),
      targetGroupArns: [targetGroupArn],
      healthUrl,
    };
  });
  const migrationFamily = `gantry-${env}-migrate`;
  ecs.seedTaskDefinition({
    family: migrationFamily,
    networkMode: "awsvpc",
    requiresCompatibilities: ["FARGATE"],
    cpu: "256",
    memory: "512",
    containerDefinitions: [
      {
        name: "migrate",
        image: image.imageUri,
        essential: true,
        logConfiguration: {
          logDriver: "awslogs",
          options: { "awslogs-group": `/gantry/${env}/migrate`, "awslogs-stream-prefix": "gantry" },
        },
      },
    ],
  });
  const outputs: EnvironmentOutputs = {
    clusterName: cluster,
    services,
    migration: {
      taskDefinitionFamily: migrationFamily,
      containerName: "migrate",
      subnets: ["subnet-0a", "subnet-0b"],
      securityGroups: ["sg-0migrate"],
    },
    database: { instanceId },
    alarmNames: [...alarmNames],
    ecrRepositoryUrl: `${images.registry}/${repository}`,
    deployRoleArn: `arn:aws:iam::${ACCOUNT}:role/gantry-${env}-deploy`,
  };
  const stack = new FakeStack(log, env, outputs, options.stackDeployed ?? true);
  return {
    log,
    clock,
    ecs,
    images,
    rds,
    elb,
    alarms,
    http,
    logs,
    stack,
    outputs,
    initialTaskDefinitions,
    healthFaults,
  };
}
