/**
 * Watching released services: one poll loop over every service, combining the gates of
 * src/checks (rollout of *this* deployment, its targets, the health URL and version, alarms).
 * Used by the gates step and, with the previous version, by the verified rollback.
 */
import type { ServiceState } from "../aws/ports.ts";
import {
  combine,
  evaluateAlarms,
  evaluateHealth,
  evaluateRollout,
  evaluateTargets,
  explainFailedRollout,
  type Verdict,
} from "../checks/gates.ts";
import { poll } from "../checks/poll.ts";
import { oneLine } from "../errors.ts";
import type { EnvironmentOutputs, ServiceOutputs } from "../stacks/outputs.ts";
import type { DeployContext } from "./context.ts";

/** One service to watch: its deployment and the version it must serve. */
export interface Watched {
  readonly service: ServiceOutputs;
  readonly deploymentId: string;
  readonly version: string;
  readonly desiredCount: number;
}

/** Which gates apply in a phase. */
export interface WatchPhase {
  /** "until the rollout completes" or "bake". */
  readonly name: string;
  /** true: wait until everything passes; false: watch for `durationMs` and fail on any failure. */
  readonly untilPass: boolean;
  readonly durationMs: number;
  readonly health: boolean;
  /**
   * true: an alarm in ALARM fails at once (the release's gates). false: it must clear before the
   * deadline (a rollback: alarms the bad release set off take a moment to return to OK).
   */
  readonly alarmsFatal: boolean;
}

/** The result of watching. */
export type WatchResult =
  | { readonly ok: true; readonly detail: string }
  | {
      readonly ok: false;
      readonly verdict: Verdict & { state: "fail" | "wait" };
      readonly timedOut: boolean;
      readonly aborted: boolean;
    };

/** One look at every watched service: the combined verdict, and one short line per service for progress. */
interface Observation {
  readonly verdict: Verdict;
  /** `api: rollout IN_PROGRESS (1/2 running) · 0/2 new targets healthy`, one per service, then alarms. */
  readonly lines: readonly ProgressLine[];
}

async function observe(
  ctx: DeployContext,
  outputs: EnvironmentOutputs,
  watched: readonly Watched[],
  health: boolean,
  alarmsFatal: boolean,
): Promise<Observation> {
  const { ports, config } = ctx;
  const verdicts: Verdict[] = [];
  const lines: ProgressLine[] = [];
  for (const w of watched) {
    const first = verdicts.length;
    const service = await ports.ecs.describeService(outputs.clusterName, w.service.serviceName);
    const rollout = evaluateRollout(service, w.deploymentId);
    if (rollout.state === "fail") {
      verdicts.push(
        service && rollout.code === "ROLLOUT_FAILED"
          ? await explained(ctx, outputs, w, service, rollout)
          : rollout,
      );
      lines.push(serviceLine(w, verdicts.slice(first)));
      break;
    }
    verdicts.push(rollout);
    const ips = await ports.ecs.deploymentTaskIps(outputs.clusterName, w.deploymentId);
    for (const tg of w.service.targetGroupArns) {
      verdicts.push(evaluateTargets(await ports.elb.targetHealth(tg), ips, w.desiredCount));
    }
    if (health && rollout.state === "pass") {
      verdicts.push(
        evaluateHealth(
          await ports.http.get(w.service.healthUrl, ctx.timing.httpTimeoutMs),
          w.version,
          config.gantry.health.versionField,
        ),
      );
    }
    lines.push(serviceLine(w, verdicts.slice(first)));
  }
  const alarmNames = [...outputs.alarmNames, ...config.gantry.alarms];
  if (alarmNames.length) {
    const v = evaluateAlarms((await ports.alarms.states(alarmNames)).alarms, ctx.facts.baselineAlarms);
    const alarms: Verdict =
      v.state === "fail" && !alarmsFatal ? { state: "wait", detail: `waiting for ${v.detail} to clear` } : v;
    verdicts.push(alarms);
    lines.push({ about: { alarms: true }, text: `alarms: ${alarms.detail}` });
  }
  return { verdict: combine(verdicts), lines };
}

/** One line of progress and what it is about (a service, or the alarms): a newer line replaces it. */
interface ProgressLine {
  readonly about: { readonly service: string } | { readonly alarms: true };
  readonly text: string;
}

function serviceLine(w: Watched, verdicts: readonly Verdict[]): ProgressLine {
  return {
    about: { service: w.service.name },
    text: `${w.service.name}: ${verdicts.map((v) => v.detail).join(" · ")}`,
  };
}

/**
 * A FAILED rollout, with why its tasks stopped and the service's last events (read from the
 * DescribeServices answer already in hand: one more ECS read, ListTasks + DescribeTasks, only once
 * the rollout failed). Failing to read the stopped tasks never hides the failure itself.
 */
async function explained(
  ctx: DeployContext,
  outputs: EnvironmentOutputs,
  w: Watched,
  service: ServiceState,
  rollout: Extract<Verdict, { state: "fail" }>,
): Promise<Verdict> {
  const stopped = await ctx.ports.ecs
    .stoppedTaskReasons(outputs.clusterName, w.service.serviceName, w.deploymentId)
    .catch((err: unknown) => [`unknown (${oneLine(err)})`]);
  const since = service.deployments.find((d) => d.id === w.deploymentId)?.createdAt;
  return { ...rollout, detail: explainFailedRollout(rollout.detail, stopped, service.events, since) };
}

/**
 * Watch until every gate passes (untilPass), or for a bake window during which any failure fails.
 * The deadline is `durationMs`; polling at the context's interval (≤ 2 s).
 */
export async function watch(
  ctx: DeployContext,
  outputs: EnvironmentOutputs,
  watched: readonly Watched[],
  phase: WatchPhase,
  signal: AbortSignal,
): Promise<WatchResult> {
  let last = { state: "wait", detail: "not observed yet" } as Verdict;
  // Progress: one short line per service (and one for the alarms), each shown again only when it changed.
  const shown = new Map<string, string>();
  const showChanged = (lines: readonly ProgressLine[]): void => {
    for (const line of lines) {
      const key = JSON.stringify(line.about);
      const message = `${phase.name}: ${line.text}`;
      if (shown.get(key) === message) continue;
      shown.set(key, message);
      ctx.reporter.emit({ type: "progress", message });
    }
  };
  const out = await poll<Verdict>(
    async () => {
      const seen = await observe(ctx, outputs, watched, phase.health || !phase.untilPass, phase.alarmsFatal);
      last = seen.verdict;
      if (last.state === "fail") return { done: true, value: last };
      if (phase.untilPass && last.state === "pass") return { done: true, value: last };
      showChanged(seen.lines);
      return { done: false };
    },
    {
      deadline: Date.now() + phase.durationMs,
      intervalMs: ctx.timing.pollIntervalMs,
      signal,
    },
  );
  if (out.status === "done") {
    return out.value.state === "fail"
      ? { ok: false, verdict: out.value, timedOut: false, aborted: false }
      : { ok: true, detail: out.value.detail };
  }
  if (out.status === "aborted")
    return { ok: false, verdict: { state: "wait", detail: last.detail }, timedOut: false, aborted: true };
  // Deadline: for a bake window that is success if the last look passed; for untilPass it is a timeout.
  if (!phase.untilPass && last.state !== "fail") return { ok: true, detail: last.detail };
  return {
    ok: false,
    verdict: last.state === "pass" ? { state: "wait", detail: last.detail } : last,
    timedOut: true,
    aborted: false,
  };
}
