/**
 * Wiring of one environment for the pipeline and the operate commands: its config and stack
 * (src/steps/environment.ts), SDK clients built once (the sandbox's endpoint for --env sandbox,
 * the default credential chain otherwise), the adapters, and the shared store of lock and ledger.
 */
import path from "node:path";
import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { createAwsClients, type AwsClients } from "../aws/clients.ts";
import { AlarmAdapter } from "../aws/cloudwatch.ts";
import { EcrAdapter } from "../aws/ecr.ts";
import { EcsAdapter } from "../aws/ecs.ts";
import { ElbAdapter } from "../aws/elb.ts";
import { classifyAwsError } from "../aws/errors.ts";
import { FetchHttp } from "../aws/http.ts";
import { LogsAdapter } from "../aws/logs.ts";
import type { StorePort } from "../aws/ports.ts";
import { RdsAdapter } from "../aws/rds.ts";
import { S3Store } from "../aws/store.ts";
import { loadEnvironmentConfig } from "../config/load.ts";
import type { EnvironmentPaths } from "../config/runtime.ts";
import type { EnvironmentName } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";
import { Journal } from "../orchestrator/journal.ts";
import { Ledger } from "../orchestrator/ledger.ts";
import { DeployLock, hostClock } from "../orchestrator/lock.ts";
import type { Reporter } from "../reporting/reporter.ts";
import type { DeployContext, DeployPorts, DeployRequest } from "./context.ts";
import { openEnvironment, type OpenedEnvironment } from "./environment.ts";

/** The sandbox's state bucket (created on first use; real environments use the bootstrap stack's). */
export const SANDBOX_STATE_BUCKET = "gantry-sandbox-state";

/** An environment ready for the pipeline. */
export interface WiredEnvironment extends OpenedEnvironment {
  readonly clients: AwsClients;
  readonly ports: DeployPorts;
  readonly store: StorePort;
}

/** Open `env` and wire its ports and store. Call `clients.destroy()` when done. */
export async function wireEnvironment(
  env: EnvironmentName,
  paths: EnvironmentPaths,
  reporter: Reporter,
): Promise<WiredEnvironment> {
  const config = await loadEnvironmentConfig(paths.configDir, env);
  if (env !== "sandbox") {
    const bucket = config.stack.stateBucket;
    if (!bucket) {
      throw new ConfigError(`${config.file}: platform:stateBucket.name: required for ${env}`, {
        code: "STATE_BUCKET_MISSING",
        hint: "create the state bucket with the bootstrap stack (README: AWS environments) and name it here",
      });
    }
    // Fail fast, before the engine starts or anything is created: credentials, then the endpoint
    // and the state bucket (one read of the lock object, which the deploy role may read).
    const probe = createAwsClients({ region: config.region });
    try {
      await probe.ecs.config.credentials().catch((err: unknown) => {
        throw classifyAwsError(err, `deploy to ${env} (${config.region})`);
      });
      await new DeployLock(new S3Store(probe.s3, bucket.name, bucket.prefix), env, hostClock()).holder();
    } finally {
      probe.destroy();
    }
  }
  const opened = await openEnvironment(env, paths, reporter, config);
  const clients = createAwsClients({
    region: opened.config.region,
    ...(opened.sandbox ? { endpoint: opened.sandbox.endpoint } : {}),
  });
  const ports: DeployPorts = {
    ecs: new EcsAdapter(clients.ecs),
    ecr: new EcrAdapter(clients.ecr),
    rds: new RdsAdapter(clients.rds),
    elb: new ElbAdapter(clients.elb),
    alarms: new AlarmAdapter(clients.cloudwatch),
    http: new FetchHttp(),
    logs: new LogsAdapter(clients.logs),
  };
  // Real environments name their state bucket (checked above); the sandbox creates its own.
  const configured = opened.config.stack.stateBucket;
  let store: StorePort;
  if (configured) {
    store = new S3Store(clients.s3, configured.name, configured.prefix);
  } else {
    try {
      await clients.s3
        .send(new HeadBucketCommand({ Bucket: SANDBOX_STATE_BUCKET }))
        .catch(() => clients.s3.send(new CreateBucketCommand({ Bucket: SANDBOX_STATE_BUCKET })));
    } catch (err) {
      clients.destroy();
      throw classifyAwsError(err, `create the sandbox state bucket ${SANDBOX_STATE_BUCKET}`);
    }
    store = new S3Store(clients.s3, SANDBOX_STATE_BUCKET, "gantry");
  }
  return { ...opened, clients, ports, store };
}

/** Where an environment's local journal copies live (the store has the authoritative copy). */
export function journalDir(env: EnvironmentName, paths: EnvironmentPaths): string {
  return env === "sandbox" ? path.join(paths.sandboxDir, "journal") : path.join(paths.stateDir, "journal");
}

/** The context of one deploy (or rollback, or recovery) of a wired environment. */
export function deployContext(
  wired: WiredEnvironment,
  request: DeployRequest,
  reporter: Reporter,
  paths: EnvironmentPaths,
): DeployContext {
  const env = request.env as EnvironmentName;
  return {
    request,
    config: wired.config,
    ports: wired.ports,
    stack: wired.stack,
    lock: new DeployLock(wired.store, env, hostClock()),
    journal: new Journal(journalDir(env, paths), env, request.deploymentId, wired.store),
    ledger: new Ledger(wired.store),
    reporter,
    timing: {
      pollIntervalMs: 1000,
      snapshotTimeoutMs: wired.config.gantry.snapshot.timeoutSeconds * 1000,
      rolloutTimeoutMs: wired.config.gantry.deployTimeoutSeconds * 1000,
      httpTimeoutMs: 5000,
    },
    facts: { baselineAlarms: new Set<string>(), releases: [], notes: [] },
  };
}
