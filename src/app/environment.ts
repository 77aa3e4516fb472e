/**
 * Opening and wiring one environment for the use cases: its config (Pulumi.<env>.yaml), its
 * stack (the Pulumi CLI found or built; for an environment on the sandbox account the emulated
 * account started and the local file backend), the AWS adapters over the run's one client
 * factory, and the store of lock, journal and ledger.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { AwsClientFactory } from "../aws/factory.ts";
import { AlarmAdapter } from "../aws/cloudwatch.ts";
import { EcrAdapter } from "../aws/ecr.ts";
import { EcsAdapter } from "../aws/ecs.ts";
import { ElbAdapter } from "../aws/elb.ts";
import { classifyAwsError } from "../aws/errors.ts";
import { FetchHttp } from "../aws/http.ts";
import { LogsAdapter } from "../aws/logs.ts";
import { RdsAdapter } from "../aws/rds.ts";
import { S3Store } from "../aws/store.ts";
import { loadEnvironmentConfig } from "../config/load.ts";
import { registryCredentials } from "../config/secrets.ts";
import type { EnvironmentPaths } from "../config/runtime.ts";
import { type EnvironmentName, SANDBOX } from "../config/environments.ts";
import { accountOf, type EnvironmentConfig, PROJECT_NAME } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";
import { Journal } from "../orchestrator/journal.ts";
import { Ledger } from "../orchestrator/ledger.ts";
import { DeployLock, hostClock } from "../orchestrator/lock.ts";
import type { ObjectStore } from "../orchestrator/store.ts";
import { ensurePulumiCli } from "../pulumi/cli.ts";
import { AutomationStack } from "../pulumi/automation.ts";
import type { SecretMasker } from "../reporting/mask.ts";
import type { Reporter } from "../reporting/reporter.ts";
import { ImageResolver } from "../registry/resolver.ts";
import { SandboxControl } from "../sandbox/control.ts";
import { startSandbox } from "../sandbox/process.ts";
import { environmentProgram } from "../stacks/index.ts";
import type { SandboxTarget } from "../stacks/sandbox/program.ts";
import type { DeployContext, DeployPorts, DeployRequest } from "../steps/context.ts";

/** The documented, sandbox-only passphrase of the sandbox stack's local state. */
export const SANDBOX_PASSPHRASE = "gantry-sandbox-only";

/** The sandbox's state bucket (created on first use; real environments use the bootstrap stack's). */
export const SANDBOX_STATE_BUCKET = "gantry-sandbox-state";

/** What opening an environment needs from the app. */
export interface EnvironmentDeps {
  readonly paths: EnvironmentPaths;
  readonly reporter: Reporter;
  readonly aws: AwsClientFactory;
  /** Registry credentials read from the environment are registered here. */
  readonly masker: SecretMasker;
}

/** An opened environment: its config, its stack, and (sandbox only) the running account. */
export interface OpenedEnvironment {
  readonly env: EnvironmentName;
  readonly config: EnvironmentConfig;
  readonly stack: AutomationStack;
  readonly sandbox?: SandboxTarget;
}

/** An environment ready for the pipeline and the operate use cases. */
export interface WiredEnvironment extends OpenedEnvironment {
  readonly ports: DeployPorts;
  readonly store: ObjectStore;
}

/**
 * Where the Automation API workspace of an environment lives (Pulumi.yaml and the stack settings
 * Pulumi writes, with the encryption salt of a passphrase-protected state): one folder per
 * environment, with its state — under the sandbox's folder for the sandbox account, under .gantry/
 * (git-ignored) otherwise. The environment named sandbox keeps the folder it had before the sandbox
 * account hosted several environments, so that its existing state stays readable.
 */
function workspaceDir(config: EnvironmentConfig, paths: EnvironmentPaths): string {
  if (accountOf(config) === "aws") return path.join(paths.stateDir, "workspaces", config.env);
  return config.env === SANDBOX
    ? path.join(paths.sandboxDir, "workspace")
    : path.join(paths.sandboxDir, "workspaces", config.env);
}

/** Open the stack of `env`, starting the sandbox first when `env` is on the sandbox account. */
export async function openEnvironment(
  deps: Pick<EnvironmentDeps, "paths" | "reporter">,
  env: EnvironmentName,
  /** Already loaded by the caller; read from Pulumi.<env>.yaml otherwise. */
  loaded?: EnvironmentConfig,
): Promise<OpenedEnvironment> {
  const { paths, reporter } = deps;
  const config = loaded ?? (await loadEnvironmentConfig(paths.configDir, env));
  const log = (message: string): void => {
    reporter.emit({ type: "progress", message });
  };
  const cli = await ensurePulumiCli({ toolsDir: paths.toolsDir, log });
  const onSandbox = accountOf(config) === "sandbox";
  let sandbox: SandboxTarget | undefined;
  if (onSandbox) {
    const started = await startSandbox({ stateDir: paths.sandboxDir, toolsDir: paths.toolsDir, log });
    if (!started.reused) reporter.emit({ type: "info", message: `sandbox started on ${started.endpoint}` });
    const health = await new SandboxControl(started.endpoint).health();
    sandbox = { endpoint: started.endpoint, epoch: health.epoch };
    await mkdir(path.join(paths.sandboxDir, "pulumi"), { recursive: true });
  }
  const stack = await AutomationStack.open({
    stackName: env,
    workDir: workspaceDir(config, paths),
    projectName: PROJECT_NAME,
    config: config.pulumiConfig,
    program: environmentProgram(config, sandbox),
    cli,
    ...(onSandbox
      ? { backendUrl: `file://${path.join(paths.sandboxDir, "pulumi")}`, passphrase: SANDBOX_PASSPHRASE }
      : {}),
  });
  return { env, config, stack, ...(sandbox ? { sandbox } : {}) };
}

/**
 * The image port of an environment: ECR through `defaultEcr` (other regions through their own
 * client), any other registry with the credentials of `gantry:registries`, read from gantry's
 * environment when a registry asks for them and registered with the run's masker then.
 */
function imageResolver(
  deps: EnvironmentDeps,
  config: EnvironmentConfig,
  defaultEcr: EcrAdapter,
  endpoint: string | undefined,
): ImageResolver {
  return new ImageResolver({
    ecr: async (region) =>
      region === undefined || region === config.region
        ? defaultEcr
        : new EcrAdapter((await deps.aws.clients({ region, ...(endpoint ? { endpoint } : {}) })).ecr),
    credentials: (registry) => {
      const found = registryCredentials(config, registry);
      for (const secret of found?.secrets ?? []) deps.masker.add(secret);
      return found;
    },
  });
}

/** Open `env` and wire its ports and store. */
export async function wireEnvironment(
  deps: EnvironmentDeps,
  env: EnvironmentName,
): Promise<WiredEnvironment> {
  const config = await loadEnvironmentConfig(deps.paths.configDir, env);
  if (accountOf(config) === "aws") await checkAccount(deps.aws, env, config);
  const opened = await openEnvironment(deps, env, config);
  const clients = await deps.aws.clients({
    region: opened.config.region,
    ...(opened.sandbox ? { endpoint: opened.sandbox.endpoint } : {}),
  });
  const ports: DeployPorts = {
    ecs: new EcsAdapter(clients.ecs),
    images: imageResolver(deps, opened.config, new EcrAdapter(clients.ecr), opened.sandbox?.endpoint),
    rds: new RdsAdapter(clients.rds),
    elb: new ElbAdapter(clients.elb),
    alarms: new AlarmAdapter(clients.cloudwatch),
    http: new FetchHttp(),
    logs: new LogsAdapter(clients.logs),
  };
  // Real environments name their state bucket (checked above); the environments on the sandbox
  // account share the one it creates (lock, ledger and journal keys carry the environment).
  const configured = opened.config.stack.stateBucket;
  let store: ObjectStore;
  if (configured && !opened.sandbox) {
    store = new S3Store(clients.s3, configured.name, configured.prefix);
  } else {
    const own = new S3Store(clients.s3, SANDBOX_STATE_BUCKET, "gantry");
    await own.ensureBucket();
    store = own;
  }
  return { ...opened, ports, store };
}

/**
 * A real environment fails fast, before the engine starts or anything is created: its state
 * bucket must be configured, the credentials must resolve, and the endpoint and the bucket must
 * answer (one read of the lock object, which the deploy role may read).
 */
async function checkAccount(
  aws: AwsClientFactory,
  env: EnvironmentName,
  config: EnvironmentConfig,
): Promise<void> {
  const bucket = config.stack.stateBucket;
  if (!bucket) {
    throw new ConfigError(`${config.file}: platform:stateBucket.name: required for ${env}`, {
      code: "STATE_BUCKET_MISSING",
      hint: "create the state bucket with the bootstrap stack (README: AWS environments) and name it here",
    });
  }
  const clients = await aws.clients({ region: config.region });
  await clients.ecs.config.credentials().catch((err: unknown) => {
    throw classifyAwsError(err, `deploy to ${env} (${config.region})`);
  });
  await new DeployLock(new S3Store(clients.s3, bucket.name, bucket.prefix), env, hostClock()).holder();
}

/**
 * Where an environment's local journal copies live (the store has the authoritative copy): with
 * the sandbox for the sandbox account, else under .gantry/; each environment in its own subfolder
 * (src/orchestrator/journal.ts).
 */
export function journalDir(config: EnvironmentConfig, paths: EnvironmentPaths): string {
  return accountOf(config) === "sandbox"
    ? path.join(paths.sandboxDir, "journal")
    : path.join(paths.stateDir, "journal");
}

/** The context of one deploy (or rollback, or recovery) of a wired environment. */
export function deployContext(
  wired: WiredEnvironment,
  request: DeployRequest,
  deps: Pick<EnvironmentDeps, "paths" | "reporter">,
): DeployContext {
  const env = wired.env;
  return {
    request,
    config: wired.config,
    ports: wired.ports,
    stack: wired.stack,
    lock: new DeployLock(wired.store, env, hostClock()),
    journal: new Journal(journalDir(wired.config, deps.paths), env, request.deploymentId, wired.store),
    ledger: new Ledger(wired.store),
    reporter: deps.reporter,
    timing: {
      pollIntervalMs: 1000,
      snapshotTimeoutMs: wired.config.gantry.snapshot.timeoutSeconds * 1000,
      rolloutTimeoutMs: wired.config.gantry.deployTimeoutSeconds * 1000,
      httpTimeoutMs: 5000,
    },
    facts: { baselineAlarms: new Set<string>(), releases: [] },
  };
}
