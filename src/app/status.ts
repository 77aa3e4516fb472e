/**
 * `gantry status`: what an environment runs, its health, the last deployment, the lock — or, without
 * `--env`, every environment × service at a glance ("which version is where").
 */
import { environmentsIn } from "../config/environments.ts";
import { EXIT, oneLine } from "../errors.ts";
import { Ledger } from "../orchestrator/ledger.ts";
import { DeployLock, hostClock, type LockHolder } from "../orchestrator/lock.ts";
import type { DeploymentRecord } from "../steps/record.ts";
import { type AppContext, type Outcome, environmentNamed } from "./context.ts";

/** Options of {@link status}. */
export interface StatusOptions {
  /** One environment; undefined: every environment of the project. */
  readonly env?: string | undefined;
}

/** One service as ECS and its health endpoint show it now. */
export interface ServiceStatus {
  readonly service: string;
  readonly tag: string | null;
  readonly image: string | null;
  readonly taskDefinition: string | null;
  /** `STATUS ROLLOUT_STATE id` per ECS deployment. */
  readonly deployments: readonly string[];
  readonly health: string;
}

/** What {@link status} found. */
export interface StatusResult extends Outcome {
  readonly env: string;
  readonly stack: "up" | "not created";
  readonly services: readonly ServiceStatus[];
  readonly lastDeployment: Pick<
    DeploymentRecord,
    "id" | "tag" | "status" | "startedAt" | "actor" | "trigger" | "commit" | "pr" | "reason"
  > | null;
  readonly lock: LockHolder | null;
}

/** One environment of `gantry status` without `--env`: its state, or why it could not be read. */
export type EnvironmentStatus =
  Omit<StatusResult, "exitCode"> | { readonly env: string; readonly error: string };

/** What `gantry status` without `--env` found. */
export interface StatusAllResult extends Outcome {
  readonly environments: readonly EnvironmentStatus[];
}

/** Read the state of `options.env` (every environment without it); reported as a `result` event. */
export async function status(
  app: AppContext,
  options: StatusOptions,
): Promise<StatusResult | StatusAllResult> {
  if (options.env === undefined) return statusAll(app);
  const { exitCode: _, ...data } = await readStatus(app, environmentNamed(app, options.env));
  app.reporter.emit({
    type: "result",
    title: `status of ${data.env}`,
    data,
    view: { kind: "status", status: data },
  });
  return { exitCode: EXIT.ok, ...data };
}

/** Every environment of the project, one after another; one that cannot be read says why (exit 1). */
async function statusAll(app: AppContext): Promise<StatusAllResult> {
  const environments: EnvironmentStatus[] = [];
  for (const env of environmentsIn(app.paths.configDir)) {
    const read = await readStatus(app, env).then(
      ({ exitCode: _, ...data }) => data,
      (err: unknown) => ({ env, error: oneLine(err) }),
    );
    environments.push(read);
  }
  app.reporter.emit({
    type: "result",
    title: "status of every environment",
    data: environments,
    view: { kind: "status-all", environments },
  });
  return { exitCode: environments.some((e) => "error" in e) ? EXIT.failed : EXIT.ok, environments };
}

/** The state of one environment. */
async function readStatus(app: AppContext, env: string): Promise<StatusResult> {
  const { wireEnvironment } = await import("./environment.ts");
  const { runningVersion } = await import("../steps/running.ts");
  const wired = await wireEnvironment(app, env);
  const { ecs, http } = wired.ports;
  const outputs = await wired.stack.outputs().catch(() => undefined);
  const services: ServiceStatus[] = [];
  for (const svc of outputs?.services ?? []) {
    const running = await runningVersion(ecs, outputs?.clusterName ?? "", svc);
    const health = await http.get(svc.healthUrl, 3000);
    services.push({
      service: svc.serviceName,
      tag: running?.tag ?? null,
      image: running?.image ?? null,
      taskDefinition: running?.taskDefinitionArn ?? null,
      deployments: running?.service.deployments.map((d) => `${d.status} ${d.rolloutState} ${d.id}`) ?? [],
      health:
        health.status === undefined ? `unreachable (${health.error ?? ""})` : `HTTP ${String(health.status)}`,
    });
  }
  const last = (await new Ledger<DeploymentRecord>(wired.store).list(env, 1))[0];
  const holder = await new DeployLock(wired.store, env, hostClock()).holder();
  const result: StatusResult = {
    exitCode: EXIT.ok,
    env,
    stack: outputs ? "up" : "not created",
    services,
    lastDeployment: last
      ? {
          id: last.id,
          tag: last.tag,
          status: last.status,
          startedAt: last.startedAt,
          actor: last.actor,
          ...(last.trigger ? { trigger: last.trigger } : {}),
          ...(last.commit ? { commit: last.commit } : {}),
          ...(last.pr !== undefined ? { pr: last.pr } : {}),
          ...(last.reason ? { reason: last.reason } : {}),
        }
      : null,
    lock: holder?.holder ?? null,
  };
  return result;
}
