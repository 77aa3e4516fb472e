/** `gantry status`: what an environment runs, its health, the last deployment, the lock. */
import { EXIT } from "../errors.ts";
import { Ledger } from "../orchestrator/ledger.ts";
import { DeployLock, hostClock, type LockHolder } from "../orchestrator/lock.ts";
import type { DeploymentRecord } from "../steps/record.ts";
import { type AppContext, type Outcome, environmentNamed } from "./context.ts";

/** Options of {@link status}. */
export interface StatusOptions {
  readonly env: string;
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
    "id" | "tag" | "status" | "startedAt" | "trigger" | "commit" | "pr" | "reason"
  > | null;
  readonly lock: LockHolder | null;
}

/** Read the state of `options.env`; reported as a `result` event. */
export async function status(app: AppContext, options: StatusOptions): Promise<StatusResult> {
  const env = environmentNamed(app, options.env);
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
          ...(last.trigger ? { trigger: last.trigger } : {}),
          ...(last.commit ? { commit: last.commit } : {}),
          ...(last.pr !== undefined ? { pr: last.pr } : {}),
          ...(last.reason ? { reason: last.reason } : {}),
        }
      : null,
    lock: holder?.holder ?? null,
  };
  const { exitCode: _, ...data } = result;
  app.reporter.emit({
    type: "result",
    title: `status of ${env}`,
    data,
    view: { kind: "status", status: data },
  });
  return result;
}
