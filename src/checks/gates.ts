/**
 * Health gates as pure functions of what was observed (DESIGN.md: checks/ = evaluate(observation)
 * plus one poller). Each returns pass, wait (with progress) or fail (with the reason a person needs).
 * The gates step polls them; nothing here does I/O.
 */
import type {
  AlarmState,
  DeploymentState,
  HealthResponse,
  ServiceEvent,
  ServiceState,
  TargetHealthState,
} from "../aws/ports.ts";

/** The outcome of one evaluation. */
export type Verdict =
  | { readonly state: "pass"; readonly detail: string }
  | { readonly state: "wait"; readonly detail: string }
  | { readonly state: "fail"; readonly code: GateFailure; readonly detail: string };

/** Why a gate failed; stable for the journal and tests. */
export type GateFailure =
  | "SERVICE_GONE"
  | "ECS_ROLLED_BACK"
  | "ROLLOUT_FAILED"
  | "TARGETS_UNHEALTHY"
  | "HEALTH_HTTP"
  | "HEALTH_VERSION"
  | "ALARM";

const pass = (detail: string): Verdict => ({ state: "pass", detail });
const wait = (detail: string): Verdict => ({ state: "wait", detail });
const fail = (code: GateFailure, detail: string): Verdict => ({ state: "fail", code, detail });

/** ECS rollout of *this* deployment (by id, never just "the service is stable"). */
export function evaluateRollout(service: ServiceState | undefined, deploymentId: string): Verdict {
  if (!service) return fail("SERVICE_GONE", "the service no longer exists");
  const d: DeploymentState | undefined = service.deployments.find((x) => x.id === deploymentId);
  if (!d) {
    return fail(
      "ECS_ROLLED_BACK",
      `deployment ${deploymentId} is no longer listed: ECS rolled it back (service runs ${service.taskDefinition})`,
    );
  }
  if (d.rolloutState === "FAILED") return fail("ROLLOUT_FAILED", d.rolloutStateReason || "rollout FAILED");
  if (d.status !== "PRIMARY") {
    return fail(
      "ECS_ROLLED_BACK",
      `deployment ${deploymentId} is ${d.status}, no longer PRIMARY: ECS is rolling it back`,
    );
  }
  const progress = `${String(d.runningCount)}/${String(d.desiredCount)} running, ${String(d.pendingCount)} pending, ${String(d.failedTasks)} failed`;
  return d.rolloutState === "COMPLETED"
    ? pass(`rollout COMPLETED (${progress})`)
    : wait(`rollout ${d.rolloutState} (${progress})`);
}

/**
 * Bounds of {@link explainFailedRollout}: it must stay one readable line in the record, whole
 * inside the 500 characters a step's detail keeps (with "gate failed: " around it). Each part is
 * cut to `chars` at most, less when that is what it takes to keep every part in `total`.
 */
export const FAILED_ROLLOUT_LIMITS = { reasons: 3, events: 2, chars: 120, total: 460 } as const;

/** Foreign text on one line, whitespace collapsed. */
const flat = (text: string): string => text.replace(/\s+/g, " ").trim();

/** At most `chars` characters, cut with an ellipsis. */
const clip = (line: string, chars: number): string =>
  line.length <= chars ? line : `${line.slice(0, chars - 1)}…`;

/**
 * The one line a FAILED rollout is reported with: ECS's reason, why the deployment's tasks stopped
 * (at most 3 distinct reasons) and the service's last events since the deployment started (at most
 * 2, oldest first), within {@link FAILED_ROLLOUT_LIMITS}.
 */
export function explainFailedRollout(
  reason: string,
  stoppedReasons: readonly string[],
  events: readonly ServiceEvent[],
  since?: Date,
): string {
  const { reasons: maxReasons, events: maxEvents, chars, total } = FAILED_ROLLOUT_LIMITS;
  const distinct = [...new Set(stoppedReasons.map(flat).filter(Boolean))];
  const more = distinct.length > maxReasons ? ` (+${String(distinct.length - maxReasons)} more)` : "";
  // ECS lists events newest first; an event without a time is kept (it cannot be placed).
  const recent = events
    .map((e) => ({ at: e.createdAt, message: flat(e.message) }))
    .filter((e) => e.message && (!since || !e.at || e.at.getTime() >= since.getTime()))
    .slice(0, maxEvents)
    .reverse();
  const line = (cap: number): string =>
    [
      clip(flat(reason), cap * 2),
      distinct.length
        ? `stopped tasks: ${distinct
            .slice(0, maxReasons)
            .map((r) => clip(r, cap))
            .join(" | ")}${more}`
        : "",
      recent.length ? `last events: ${recent.map((e) => clip(e.message, cap)).join(" | ")}` : "",
    ]
      .filter(Boolean)
      .join(" — ");
  let cap: number = chars;
  while (cap > 30 && line(cap).length > total) cap -= 10;
  return clip(line(cap), total);
}

/** ALB target health of the new deployment's tasks (by their IPs). */
export function evaluateTargets(
  targets: readonly TargetHealthState[],
  taskIps: readonly string[],
  desired: number,
): Verdict {
  const ips = new Set(taskIps);
  const mine = targets.filter((t) => ips.has(t.id));
  const unhealthy = mine.filter((t) => t.state === "unhealthy");
  if (unhealthy.length) {
    const why = unhealthy[0]?.description ?? unhealthy[0]?.reason ?? "health checks failed";
    return fail(
      "TARGETS_UNHEALTHY",
      `${String(unhealthy.length)} of ${String(mine.length)} new targets unhealthy: ${why}`,
    );
  }
  const healthy = mine.filter((t) => t.state === "healthy").length;
  const need = Math.max(1, desired);
  return healthy >= need
    ? pass(`${String(healthy)}/${String(need)} new targets healthy`)
    : wait(`${String(healthy)}/${String(need)} new targets healthy`);
}

/** Read `field` (dotted path) of a JSON body; undefined when absent. */
export function field(body: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (v, k) => (typeof v === "object" && v !== null ? (v as Record<string, unknown>)[k] : undefined),
      body,
    );
}

/** One HTTP health answer: 200 and the deployed version in `versionField`. */
export function evaluateHealth(res: HealthResponse, expectedVersion: string, versionField: string): Verdict {
  if (res.status === undefined)
    return fail("HEALTH_HTTP", `${res.url} did not answer: ${res.error ?? "no response"}`);
  if (res.status !== 200) return fail("HEALTH_HTTP", `${res.url} answered HTTP ${String(res.status)}`);
  const version = field(res.body, versionField);
  if (version !== expectedVersion) {
    return fail(
      "HEALTH_VERSION",
      `${res.url} serves ${versionField}=${version === undefined ? "nothing" : JSON.stringify(version)}, expected ${JSON.stringify(expectedVersion)}`,
    );
  }
  return pass(`${res.url} 200, ${versionField}=${expectedVersion}`);
}

/**
 * Alarms: any alarm in ALARM that was not already in ALARM before the deploy fails the gate.
 * Alarms already in ALARM at the start are reported up front by the caller (`baseline`).
 */
export function evaluateAlarms(alarms: readonly AlarmState[], baselineInAlarm: ReadonlySet<string>): Verdict {
  const fired = alarms.filter((a) => a.state === "ALARM" && !baselineInAlarm.has(a.name));
  if (fired.length) return fail("ALARM", fired.map((a) => `${a.name} in ALARM (${a.reason})`).join("; "));
  return pass(`${String(alarms.length)} alarms OK`);
}

/** Combine verdicts: the first failure wins, then any wait, else pass. */
export function combine(verdicts: readonly Verdict[]): Verdict {
  const failed = verdicts.find((v) => v.state === "fail");
  if (failed) return failed;
  const waiting = verdicts.filter((v) => v.state === "wait");
  if (waiting.length) return wait(waiting.map((v) => v.detail).join("; "));
  return pass(verdicts.map((v) => v.detail).join("; "));
}
