/**
 * Shared helpers of the sandbox integration tests (sandbox/SPEC.md): unique names, raw control
 * API calls, provisioning, polling, a provisioned ECS service fixture with releases through the
 * ECS API, time-window checks, spawning private sandbox processes and raw SigV4 requests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import path from "node:path";
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
  type TaskOverride,
  type Deployment,
  type Service,
  type Task,
} from "@aws-sdk/client-ecs";
import { SignatureV4 } from "@smithy/signature-v4";
import type { SourceData } from "@smithy/types";
import type { AwsClients } from "../../../src/aws/clients.ts";
import { SandboxControl, type PublishedImage } from "../../../src/sandbox/control.ts";
import { ensureSandboxVenv } from "../../../src/sandbox/venv.ts";
import { projectRoot, toolsDir } from "../../../src/tools/paths.ts";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
/** The speeds the shared sandbox was started with (test/integration/global-setup.ts). */
export const SHARED_SPEEDS = { rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 } as const;

/** A lowercase name unique to this run: `<prefix>-<6 hex>`. */
export function uid(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -- control API -------------------------------------------------------------------------------

export interface HttpResult<T> {
  status: number;
  body: T;
  text: string;
}

/**
 * A raw call of the control API. `body` is sent as JSON unless it is a string (sent as is, to
 * test invalid JSON). The response body is parsed as JSON when possible.
 */
export async function gantry<T = unknown>(
  endpoint: string,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<HttpResult<T>> {
  const res = await fetch(`${endpoint}/_gantry/${urlPath}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed as T, text };
}

export interface Provisioned<O> {
  id: string;
  outputs: O;
}

/** PUT /_gantry/resources/<kind>/<name>; fails the test with the sandbox's error unless 200. */
export async function provision<O = Record<string, unknown>>(
  endpoint: string,
  kind: string,
  name: string,
  inputs: Record<string, unknown>,
): Promise<Provisioned<O>> {
  const res = await gantry<Provisioned<O>>(endpoint, "PUT", `resources/${kind}/${name}`, inputs);
  if (res.status !== 200) {
    throw new Error(`PUT resources/${kind}/${name} answered ${res.status}: ${res.text}`);
  }
  return res.body;
}

/** DELETE /_gantry/resources/<kind>/<name>. */
export async function unprovision(endpoint: string, kind: string, name: string): Promise<number> {
  return (await gantry(endpoint, "DELETE", `resources/${kind}/${name}`)).status;
}

export interface ListedResource {
  kind: string;
  name: string;
  id: string;
  outputs: Record<string, unknown>;
}

/**
 * GET /_gantry/resources. SPEC R15 shows the answer as a list `[{kind, name, id, outputs}]`
 * while other endpoints wrap lists (`{"faults": [...]}`); both envelopes are accepted here.
 */
export async function listResources(endpoint: string): Promise<ListedResource[]> {
  const res = await gantry<ListedResource[] | { resources: ListedResource[] }>(endpoint, "GET", "resources");
  if (res.status !== 200) throw new Error(`GET resources answered ${res.status}: ${res.text}`);
  return Array.isArray(res.body) ? res.body : res.body.resources;
}

// -- polling and time windows ------------------------------------------------------------------

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
}

/** Call `fn` every `intervalMs` until it returns something other than undefined/null/false. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"}`);
    }
    await sleep(intervalMs);
  }
}

/** A value read from the sandbox together with the wall-clock window (epoch ms) of the request. */
export interface Observation<T> {
  t0: number;
  t1: number;
  value: T;
}

export async function observe<T>(fn: () => Promise<T>): Promise<Observation<T>> {
  const t0 = Date.now();
  const value = await fn();
  return { t0, t1: Date.now(), value };
}

/**
 * Every value `expected(t)` takes for t in [t0 − slackMs, t1 + slackMs], sampled every 5 ms.
 * The sandbox evaluates a request at one instant inside its window, so an observation must be
 * one of these (slack covers timestamps truncated to milliseconds).
 */
export function possibleValues<T>(
  window: { t0: number; t1: number },
  expected: (t: number) => T,
  slackMs = 30,
): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  for (let t = window.t0 - slackMs; ; t += 5) {
    const at = Math.min(t, window.t1 + slackMs);
    const value = expected(at);
    const key = JSON.stringify(value);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(value);
    }
    if (at >= window.t1 + slackMs) break;
  }
  return out;
}

/** Observe `read` every `intervalMs` until the wall clock passes `untilMs` (epoch ms). */
export async function record<T>(
  read: () => Promise<T>,
  untilMs: number,
  intervalMs = 100,
): Promise<Observation<T>[]> {
  const out: Observation<T>[] = [];
  while (Date.now() < untilMs) {
    out.push(await observe(read));
    await sleep(intervalMs);
  }
  return out;
}

/** Sleep until the wall clock reaches `atMs` (epoch ms). */
export async function sleepUntil(atMs: number): Promise<void> {
  const wait = atMs - Date.now();
  if (wait > 0) await sleep(wait);
}

/** True when `later` keeps the relative order of `sequence`'s values (dedup'd, a subsequence). */
export function isOrderedSubsequence<T>(observed: readonly T[], order: readonly T[]): boolean {
  let i = 0;
  for (const value of observed) {
    const at = order.indexOf(value, i);
    if (at < 0) return false;
    i = at;
  }
  return true;
}

/** Consecutive duplicates removed. */
export function dedupe<T>(values: readonly T[]): T[] {
  return values.filter((v, i) => i === 0 || JSON.stringify(v) !== JSON.stringify(values[i - 1]));
}

/** Seconds between two SDK dates (b − a). */
export function secondsBetween(a: Date | undefined, b: Date | undefined): number {
  if (!a || !b) throw new Error(`missing timestamp (${String(a)} → ${String(b)})`);
  return (b.getTime() - a.getTime()) / 1000;
}

// -- ECS service fixture -------------------------------------------------------------------------

export interface NetworkOutputs {
  vpcId: string;
  subnetIds: string[];
  securityGroupIds: string[];
}

export interface ServiceFixture {
  /** Prefix of every resource name. */
  name: string;
  tags: string[];
  images: Record<string, PublishedImage>;
  repositoryName: string;
  repositoryUrl: string;
  cluster: string;
  clusterArn: string;
  network: NetworkOutputs;
  targetGroupArn: string | undefined;
  loadBalancerArn: string | undefined;
  family: string;
  initialTaskDefinitionArn: string;
  serviceName: string;
  serviceArn: string;
  healthUrl: string;
  containerPort: number;
}

export interface ServiceOptions {
  /** Tags to publish; unique per test (faults are keyed by tag only). */
  tags: string[];
  /** Tag of the initial task definition; default the first. */
  initialTag?: string;
  /** How the initial task definition names its image; default the published digest URI. */
  imageForm?: "digest" | "tag";
  desiredCount?: number;
  rollback?: boolean;
  targetGroup?: boolean;
  alarmNames?: string[];
  command?: string[];
  logGroupName?: string;
  /** Image of the initial task definition (overrides initialTag/imageForm). */
  image?: (published: { repositoryUrl: string; images: Record<string, PublishedImage> }) => string;
}

/**
 * network → cluster → repository (+ images) → targetGroup → taskDefinition → service, all
 * through the control API, with names unique to this call.
 */
export async function provisionService(
  endpoint: string,
  prefix: string,
  options: ServiceOptions,
): Promise<ServiceFixture> {
  const name = uid(prefix);
  const control = new SandboxControl(endpoint);
  const network = await provision<NetworkOutputs>(endpoint, "network", `${name}-net`, {});
  const cluster = await provision<{ clusterName: string; clusterArn: string }>(endpoint, "cluster", name, {});
  const repo = await provision<{ repositoryName: string; repositoryUrl: string }>(
    endpoint,
    "repository",
    name,
    {},
  );
  const published = await control.publishImages(repo.outputs.repositoryName, options.tags);
  const images = Object.fromEntries(published.map((img) => [img.tag, img]));
  let targetGroupArn: string | undefined;
  let loadBalancerArn: string | undefined;
  if (options.targetGroup ?? true) {
    const tg = await provision<{ targetGroupArn: string; loadBalancerArn: string }>(
      endpoint,
      "targetGroup",
      name,
      {
        vpcId: network.outputs.vpcId,
        subnetIds: network.outputs.subnetIds,
        securityGroupIds: network.outputs.securityGroupIds,
        port: 8080,
      },
    );
    targetGroupArn = tg.outputs.targetGroupArn;
    loadBalancerArn = tg.outputs.loadBalancerArn;
  }
  const initialTag = options.initialTag ?? options.tags[0]!;
  const image =
    options.image?.({ repositoryUrl: repo.outputs.repositoryUrl, images }) ??
    (options.imageForm === "tag"
      ? `${repo.outputs.repositoryUrl}:${initialTag}`
      : images[initialTag]!.imageUri);
  const td = await provision<{ taskDefinitionArn: string; family: string }>(
    endpoint,
    "taskDefinition",
    name,
    {
      family: name,
      containerName: "app",
      image,
      cpu: 256,
      memory: 512,
      containerPort: 8080,
      ...(options.command ? { command: options.command } : {}),
      ...(options.logGroupName ? { logGroupName: options.logGroupName } : {}),
    },
  );
  const svc = await provision<{ serviceName: string; serviceArn: string; healthUrl: string }>(
    endpoint,
    "service",
    name,
    {
      cluster: cluster.outputs.clusterName,
      serviceName: name,
      taskDefinitionArn: td.outputs.taskDefinitionArn,
      desiredCount: options.desiredCount ?? 2,
      ...(targetGroupArn ? { targetGroupArn } : {}),
      containerName: "app",
      containerPort: 8080,
      subnets: network.outputs.subnetIds,
      securityGroups: network.outputs.securityGroupIds,
      circuitBreakerRollback: options.rollback ?? true,
      ...(options.alarmNames ? { alarmNames: options.alarmNames } : {}),
    },
  );
  return {
    name,
    tags: options.tags,
    images,
    repositoryName: repo.outputs.repositoryName,
    repositoryUrl: repo.outputs.repositoryUrl,
    cluster: cluster.outputs.clusterName,
    clusterArn: cluster.outputs.clusterArn,
    network: network.outputs,
    targetGroupArn,
    loadBalancerArn,
    family: td.outputs.family,
    initialTaskDefinitionArn: td.outputs.taskDefinitionArn,
    serviceName: svc.outputs.serviceName,
    serviceArn: svc.outputs.serviceArn,
    healthUrl: svc.outputs.healthUrl,
    containerPort: 8080,
  };
}

/** Register a new revision of the fixture's family whose first container runs `image`. */
export async function registerRevision(
  aws: AwsClients,
  fixture: ServiceFixture,
  image: string,
): Promise<string> {
  const current = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: fixture.family }));
  const td = current.taskDefinition!;
  const containers = td.containerDefinitions!.map((c, i) => (i === 0 ? { ...c, image } : c));
  const res = await aws.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: fixture.family,
      containerDefinitions: containers,
      networkMode: td.networkMode,
      requiresCompatibilities: td.requiresCompatibilities,
      cpu: td.cpu,
      memory: td.memory,
    }),
  );
  return res.taskDefinition!.taskDefinitionArn!;
}

export interface Release {
  taskDefinitionArn: string;
  /** Wall-clock window (epoch ms) of the UpdateService call; the deployment's c lies inside. */
  t0: number;
  t1: number;
  deployment: Deployment;
  /** c, epoch ms (the deployment's createdAt). */
  c: number;
}

/** Release `tag` (its published digest URI): new revision + UpdateService. */
export async function release(
  aws: AwsClients,
  fixture: ServiceFixture,
  tag: string,
  /** A revision of `tag` registered beforehand ({@link registerTag}): only UpdateService is timed. */
  registered?: string,
): Promise<Release> {
  const taskDefinitionArn = registered ?? (await registerTag(aws, fixture, tag));
  const t0 = Date.now();
  const res = await aws.ecs.send(
    new UpdateServiceCommand({
      cluster: fixture.cluster,
      service: fixture.serviceName,
      taskDefinition: taskDefinitionArn,
    }),
  );
  const t1 = Date.now();
  const deployment = res.service?.deployments?.find((d) => d.taskDefinition === taskDefinitionArn);
  if (!deployment?.createdAt)
    throw new Error(`UpdateService did not start a deployment of ${taskDefinitionArn}`);
  return { taskDefinitionArn, t0, t1, deployment, c: deployment.createdAt.getTime() };
}

/** Register a revision of the fixture's task definition with the image of `tag`. */
export async function registerTag(aws: AwsClients, fixture: ServiceFixture, tag: string): Promise<string> {
  return registerRevision(aws, fixture, fixture.images[tag]?.imageUri ?? `${fixture.repositoryUrl}:${tag}`);
}

export async function describeService(aws: AwsClients, fixture: ServiceFixture): Promise<Service> {
  const res = await aws.ecs.send(
    new DescribeServicesCommand({ cluster: fixture.cluster, services: [fixture.serviceName] }),
  );
  return res.services![0]!;
}

/** Every task of the fixture's service (RUNNING-desired and STOPPED-desired), described. */
export async function serviceTasks(aws: AwsClients, fixture: ServiceFixture): Promise<Task[]> {
  const arns: string[] = [];
  for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
    const res = await aws.ecs.send(
      new ListTasksCommand({ cluster: fixture.cluster, serviceName: fixture.serviceName, desiredStatus }),
    );
    arns.push(...(res.taskArns ?? []));
  }
  return describeTasks(aws, fixture.cluster, arns);
}

export async function describeTasks(aws: AwsClients, cluster: string, arns: string[]): Promise<Task[]> {
  const out: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const res = await aws.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100) }));
    out.push(...(res.tasks ?? []));
  }
  return out;
}

/** The private IPv4 of a task's ENI (its target id). */
export function taskIp(task: Task): string | undefined {
  return task.attachments?.[0]?.details?.find((d) => d.name === "privateIPv4Address")?.value;
}

export interface HealthReply {
  status: number;
  body: {
    status: string;
    version: string | null;
    environment: string;
    database: string;
    service: string;
  };
}

export async function getHealth(url: string): Promise<HealthReply> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as HealthReply["body"] };
}

// -- standalone tasks ---------------------------------------------------------------------------

export interface TaskEnv {
  name: string;
  cluster: string;
  network: NetworkOutputs;
  repositoryUrl: string;
  images: Record<string, PublishedImage>;
}

/** A network, cluster and repository (+ published tags) for RunTask. */
export async function provisionTaskEnv(endpoint: string, prefix: string, tags: string[]): Promise<TaskEnv> {
  const name = uid(prefix);
  const network = await provision<NetworkOutputs>(endpoint, "network", `${name}-net`, {});
  const cluster = await provision<{ clusterName: string }>(endpoint, "cluster", name, {});
  const repo = await provision<{ repositoryName: string; repositoryUrl: string }>(
    endpoint,
    "repository",
    name,
    {},
  );
  const published = tags.length ? await new SandboxControl(endpoint).publishImages(name, tags) : [];
  return {
    name,
    cluster: cluster.outputs.clusterName,
    network: network.outputs,
    repositoryUrl: repo.outputs.repositoryUrl,
    images: Object.fromEntries(published.map((img) => [img.tag, img])),
  };
}

/** Provision a taskDefinition resource named `<env.name>-<suffix>`; returns its ARN. */
export async function provisionTaskDefinition(
  endpoint: string,
  env: TaskEnv,
  suffix: string,
  inputs: {
    image: string;
    command?: string[];
    logGroupName?: string;
    logStreamPrefix?: string;
    containerName?: string;
  },
): Promise<string> {
  const family = `${env.name}-${suffix}`;
  const td = await provision<{ taskDefinitionArn: string }>(endpoint, "taskDefinition", family, {
    family,
    containerName: inputs.containerName ?? "app",
    cpu: 256,
    memory: 512,
    ...inputs,
  });
  return td.outputs.taskDefinitionArn;
}

/** RunTask (FARGATE, awsvpc in the env's first subnet); returns the task as RunTask answered it. */
export async function runTask(
  aws: AwsClients,
  env: TaskEnv,
  taskDefinition: string,
  overrides?: { containerOverrides: TaskOverride["containerOverrides"] },
): Promise<Observation<Task>> {
  return observe(async () => {
    const res = await aws.ecs.send(
      new RunTaskCommand({
        cluster: env.cluster,
        taskDefinition,
        launchType: "FARGATE",
        count: 1,
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: env.network.subnetIds,
            securityGroups: env.network.securityGroupIds,
          },
        },
        ...(overrides ? { overrides } : {}),
      }),
    );
    const task = res.tasks?.[0];
    if (!task) throw new Error(`RunTask started no task: ${JSON.stringify(res.failures)}`);
    return task;
  });
}

/** DescribeTasks of one task. */
export async function describeTask(aws: AwsClients, cluster: string, taskArn: string): Promise<Task> {
  const [task] = await describeTasks(aws, cluster, [taskArn]);
  if (!task) throw new Error(`task ${taskArn} is not describable`);
  return task;
}

// -- speeds ------------------------------------------------------------------------------------------

/** Set the shared sandbox back to the speeds of global-setup. */
export async function restoreSpeeds(endpoint: string): Promise<void> {
  await new SandboxControl(endpoint).setSpeeds(SHARED_SPEEDS);
}

// -- private sandbox processes ------------------------------------------------------------------------

export const serverScript = path.join(projectRoot, "sandbox", "server.py");

export async function venvPython(): Promise<string> {
  return (await ensureSandboxVenv(toolsDir, () => undefined)).python;
}

export interface SpawnedSandbox {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the code/signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** True once the process has exited. */
  hasExited: () => boolean;
  /** SIGKILL unless already gone; always safe to call. */
  kill: () => Promise<void>;
}

/** Start `server.py args…` under the sandbox venv, collecting stdout and stderr. */
export async function spawnSandbox(args: string[]): Promise<SpawnedSandbox> {
  const python = await venvPython();
  const child = spawn(python, [serverScript, ...args], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.on("exit", (code, signal) => {
        done = true;
        resolve({ code, signal, at: Date.now() });
      });
    },
  );
  if (child.pid === undefined) throw new Error("could not spawn the sandbox");
  return {
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => done,
    kill: async () => {
      if (done) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

export const READY_LINE = /^GANTRY_SANDBOX_READY port=(\d+) pid=(\d+)\n$/;

/** Wait for the READY line; returns the port it announces. */
export async function waitReady(sandbox: SpawnedSandbox, timeoutMs = 60_000): Promise<number> {
  const match = await waitFor(
    () => {
      if (sandbox.hasExited()) {
        throw new Error(`sandbox exited before READY; stderr: ${sandbox.stderr().slice(-2000)}`);
      }
      return READY_LINE.exec(sandbox.stdout()) ?? undefined;
    },
    { timeoutMs, intervalMs: 50, what: "the READY line" },
  );
  return Number(match[1]);
}

// -- raw SigV4 requests (services without an SDK client in this project) ------------------------------

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class NodeSha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  private readonly secret: string | Uint8Array | undefined;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.fresh();
  }
  private fresh(): ReturnType<typeof createHash> | ReturnType<typeof createHmac> {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", this.secret);
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

/**
 * A SigV4-signed AWS Query request (form-encoded POST to `/`) for `service` in `region`, with
 * any credentials. Returns status and body text.
 */
export async function signedQuery(
  endpoint: string,
  service: string,
  region: string,
  params: Record<string, string>,
  credentials = { accessKeyId: "AKIDANYTHING", secretAccessKey: "anything" },
): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const body = new URLSearchParams(params).toString();
  const signer = new SignatureV4({ service, region, credentials, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: {
      host: url.host,
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    },
    body,
  });
  const res = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: signed.headers,
    body,
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, text: await res.text() };
}

/** Inner texts of every `<tag>…</tag>` element of an XML document (no nesting of the same tag). */
export function xmlValues(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}>([^<]*)</${tag}>`, "g");
  return [...xml.matchAll(re)].map((m) => m[1]!);
}
