/** Requests made by this process: who, where, when, and a new deployment id. */
import { randomBytes } from "node:crypto";
import type { Runtime } from "../config/runtime.ts";
import type { DeployRequest } from "../steps/context.ts";

/** A sortable, unique deployment id: UTC time plus randomness, e.g. 20261122T101500Z-3f9a1c. */
export function newDeploymentId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * A request made by this process (deploy, rollback, preview, unlock): who and where from
 * `runtime`, started now, with every step wanted unless `fields` says otherwise.
 */
export function requestFor<T extends Pick<DeployRequest, "env" | "deploymentId">>(
  runtime: Runtime,
  fields: T,
) {
  const now: Omit<DeployRequest, "env" | "tag" | "deploymentId"> = {
    actor: runtime.actor,
    host: runtime.host,
    pid: runtime.pid,
    startedAt: new Date().toISOString(),
    skipSnapshot: false,
    skipMigrations: false,
  };
  return { ...now, ...fields };
}
