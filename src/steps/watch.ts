/**
 * Watching released services: one poll loop over every service, combining the gates of
 * src/checks (rollout of *this* deployment, its targets, the health URL and version, alarms).
 * Each look asks ECS about every service at once and reads again only what may have changed
 * (src/checks/cadence.ts), so its AWS calls do not grow with the number of services.
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
import { mustRead, type Reading, taskSetKey } from "../checks/cadence.ts";
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

/**
 * What a watch remembers from look to look (src/checks/cadence.ts): the task set and task IPs of
 * each deployment, and the last target health and alarm verdicts with their look. Watches of the
 * same deployments one after the other (the gates' rollout, then its bake) may share one, so the
 * second goes on from what the first read last instead of reading it all again.
 */
export interface WatchMemory {
  look: number;
  /** The last DescribeServices answer: the services asked for, when, and what ECS said. */
  services:
    | { readonly names: string; readonly at: number; readonly states: readonly (ServiceState | undefined)[] }
    | undefined;
  /** By deployment id. */
  readonly taskSets: Map<string, string>;
  /** By deployment id. */
  readonly ips: Map<string, readonly string[]>;
  /** By `<deployment id> <target group ARN>`. */
  readonly targets: Map<string, Reading>;
  alarms: Reading | undefined;
}

/** A watch memory with nothing read yet. */
export function watchMemory(): WatchMemory {
  return {
    look: 0,
    services: undefined,
    taskSets: new Map(),
    ips: new Map(),
    targets: new Map(),
    alarms: undefined,
  };
}

/**
 * One look: the rollouts of every watched service in one DescribeServices, their tasks when their
 * task sets changed, target health and alarms when due (src/checks/cadence.ts), the health URLs
 * when asked for. A look that may decide the watch — every rollout passed (untilPass), or the
 * bake's `last` — reads everything afresh rather than pass on an older reading. `first`: the
 * watch's first look.
 */
async function observe(
  ctx: DeployContext,
  outputs: EnvironmentOutputs,
  watched: readonly Watched[],
  phase: WatchPhase,
  memory: WatchMemory,
  when: { readonly first: boolean; readonly last: boolean },
): Promise<Observation> {
  const { ports, config } = ctx;
  const cluster = outputs.clusterName;
  const health = phase.health || !phase.untilPass;
  const look = ++memory.look;
  const names = watched.map((w) => w.service.serviceName);
  // A watch going on from another (the bake after the rollout) starts from that one's last look,
  // made a moment ago, rather than asking ECS the same again.
  const previous = memory.services;
  const fresh =
    when.first && previous?.names === names.join() && Date.now() - previous.at < ctx.timing.pollIntervalMs;
  const services = fresh ? previous.states : await ports.ecs.describeServices(cluster, names);
  if (!fresh) memory.services = { names: names.join(), at: Date.now(), states: services };
  const rollouts = watched.map((w, i) => evaluateRollout(services[i], w.deploymentId));
  for (const [i, rollout] of rollouts.entries()) {
    const w = watched[i];
    const service = services[i];
    if (rollout.state !== "fail" || !w) continue;
    const verdict =
      service && rollout.code === "ROLLOUT_FAILED"
        ? await explained(ctx, outputs, w, service, rollout)
        : rollout;
    return { verdict, lines: [serviceLine(w, [verdict])] };
  }

  // Tasks (their IPs are the new targets) only when a deployment's task set changed, and only
  // once some of them run: ECS registers a task with the load balancer as it starts running.
  const deployments = watched.map((w, i) => services[i]?.deployments.find((d) => d.id === w.deploymentId));
  const changed = watched.flatMap((w, i) => {
    const key = taskSetKey(deployments[i]);
    if (memory.taskSets.get(w.deploymentId) === key) return [];
    memory.taskSets.set(w.deploymentId, key);
    return [{ id: w.deploymentId, running: (deployments[i]?.runningCount ?? 0) > 0 }];
  });
  const running = changed.filter((d) => d.running).map((d) => d.id);
  const listed = running.length
    ? await ports.ecs.deploymentTaskIps(cluster, running)
    : new Map<string, string[]>();
  const ipsChanged = new Set<string>();
  for (const { id } of changed) {
    const now = [...(listed.get(id) ?? [])].sort();
    if (now.join() !== memory.ips.get(id)?.join()) ipsChanged.add(id);
    memory.ips.set(id, now);
  }

  // A look that may end the watch reads target health and alarms afresh.
  const decisive = when.last || (phase.untilPass && rollouts.every((r) => r.state === "pass"));
  const readTargets = (w: Watched): Promise<Verdict[]> =>
    Promise.all(
      w.service.targetGroupArns.map(async (tg) => {
        const key = `${w.deploymentId} ${tg}`;
        const last = memory.targets.get(key);
        if (last && !mustRead(last, look, decisive || ipsChanged.has(w.deploymentId))) return last.verdict;
        const ips = memory.ips.get(w.deploymentId) ?? [];
        // No task has an IP yet: none can be a target, nothing to ask the load balancer.
        const verdict = evaluateTargets(
          ips.length ? await ports.elb.targetHealth(tg) : [],
          ips,
          w.desiredCount,
        );
        memory.targets.set(key, { verdict, look });
        return verdict;
      }),
    );
  const alarmNames = [...outputs.alarmNames, ...config.gantry.alarms];
  const readAlarms = async (): Promise<Reading | undefined> => {
    if (!alarmNames.length) return undefined;
    // Alarms keep their own cadence from the watch's start: what set the release or the rollback
    // going read them just before (preflight; the gates).
    if (!mustRead(memory.alarms, look, decisive)) return memory.alarms;
    const verdict = evaluateAlarms((await ports.alarms.states(alarmNames)).alarms, ctx.facts.baselineAlarms);
    memory.alarms = { verdict, look };
    return memory.alarms;
  };
  // The health URL (no AWS call): every look, once the service's rollout passed.
  const readHealth = async (w: Watched, i: number): Promise<Verdict | undefined> =>
    health && rollouts[i]?.state === "pass"
      ? evaluateHealth(
          await ports.http.get(w.service.healthUrl, ctx.timing.httpTimeoutMs),
          w.version,
          config.gantry.health.versionField,
        )
      : undefined;
  const [targets, healths, alarmReading] = await Promise.all([
    Promise.all(watched.map(readTargets)),
    Promise.all(watched.map(readHealth)),
    readAlarms(),
  ]);

  const verdicts: Verdict[] = [];
  const lines: ProgressLine[] = [];
  watched.forEach((w, i) => {
    const own = [rollouts[i], ...(targets[i] ?? []), healths[i]].filter((v): v is Verdict => v !== undefined);
    // With several services, a failure names its service (unless it already does, as a health
    // URL does): the gate's error says which one failed.
    verdicts.push(
      ...own.map((v) =>
        watched.length > 1 && v.state === "fail" && !v.detail.includes(w.service.name)
          ? { ...v, detail: `${w.service.name}: ${v.detail}` }
          : v,
      ),
    );
    lines.push(serviceLine(w, own));
  });
  if (alarmReading) {
    const v = alarmReading.verdict;
    const alarms: Verdict =
      v.state === "fail" && !phase.alarmsFatal
        ? { state: "wait", detail: `waiting for ${v.detail} to clear` }
        : v;
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
 * The deadline is `durationMs`; polling at the context's interval (≤ 2 s). `memory`: what an
 * earlier watch of the same deployments read (see {@link WatchMemory}).
 */
export async function watch(
  ctx: DeployContext,
  outputs: EnvironmentOutputs,
  watched: readonly Watched[],
  phase: WatchPhase,
  signal: AbortSignal,
  memory: WatchMemory = watchMemory(),
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
  const deadline = Date.now() + phase.durationMs;
  let looks = 0;
  const out = await poll<Verdict>(
    async () => {
      // A bake ends on its deadline with the verdict of its last look: that one reads everything.
      const lastLook = !phase.untilPass && Date.now() >= deadline - ctx.timing.pollIntervalMs / 2;
      const when = { first: looks === 0, last: lastLook };
      const seen = await observe(ctx, outputs, watched, phase, memory, when);
      looks += 1;
      last = seen.verdict;
      if (last.state === "fail") return { done: true, value: last };
      if (phase.untilPass && last.state === "pass") return { done: true, value: last };
      showChanged(seen.lines);
      return { done: false };
    },
    {
      deadline,
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
