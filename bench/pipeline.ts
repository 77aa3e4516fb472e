/**
 * Pipeline benchmarks on a sandbox of their own, with deploys run in-process through the same
 * code as `gantry deploy` (wireEnvironment → deployContext → runDeploy), ECS's UpdateService
 * wrapped only to note when it is called:
 *
 * (a) failure detection: from the moment the sandbox flips state — the health endpoint to 500
 *     (a `health` fault posted when the new deployment completes), an alarm to ALARM (an
 *     `alarm`-faulty image: the alarm fires when its deployment completes, SPEC R24), a deployment
 *     to FAILED (a `rollout`-faulty image: FAILED at c+R, SPEC R16b) — to gantry's rollback
 *     UpdateService call. For FAILED rollouts ECS's circuit breaker rolls back by itself and gantry
 *     only verifies it, so the end point there is the moment the gates step fails.
 * (b) gantry's own overhead in a successful deploy: the time gantry's event loop was busy
 *     (performance.eventLoopUtilization: wall time minus the time it sat waiting on AWS calls,
 *     the Pulumi engine and poll intervals), without the stack step (the engine and the inline
 *     Pulumi program it runs). bench/run.ts adds the cold import of the deploy modules
 *     (bench/load.ts) to it.
 */
import { runtimePaths } from "../src/config/runtime.ts";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { AwsClientFactory } from "../src/aws/factory.ts";
import type { EcsPort } from "../src/aws/ports.ts";
import { SecretMasker } from "../src/reporting/mask.ts";
import type { ReportEvent, Reporter } from "../src/reporting/reporter.ts";
import { SandboxControl } from "../src/sandbox/control.ts";
import { stopSandbox } from "../src/sandbox/process.ts";
import type { DeployContext } from "../src/steps/context.ts";
import { runDeploy } from "../src/steps/deploy.ts";
import { requestFor } from "../src/app/request.ts";
import { deployContext, wireEnvironment } from "../src/app/environment.ts";

/** Who the bench's deploys are by (the lock and the ledger). */
const BENCH_RUNTIME = { actor: "bench", host: os.hostname(), pid: process.pid };

/** Rollout time of the bench's sandbox (seconds). */
const ROLLOUT_S = 2;

/** Failure kinds measured in (a). */
export type FailureKind = "health 500" | "alarm ALARM" | "rollout FAILED";

/** What the pipeline benchmarks measured (milliseconds). */
export interface PipelineResults {
  readonly detection: Record<FailureKind, number[]>;
  /** Rollback duration (the release's undo), next to ECS's own rollout time. */
  readonly rollbackMs: number[];
  readonly overhead: {
    readonly wallMs: number[];
    /** Event loop busy time outside the stack step. */
    readonly busyMs: number[];
    /** Event loop busy time during the stack step (inline Pulumi program + engine events). */
    readonly stackBusyMs: number[];
  };
  readonly notes: string[];
}

interface Timeline {
  steps: { name: string; phase: "start" | "end"; status?: string; at: number; elu: EventLoopUtilization }[];
}

function recorder(timeline: Timeline): Reporter {
  return {
    emit(e: ReportEvent): void {
      if (e.type === "step-start")
        timeline.steps.push({
          name: e.name,
          phase: "start",
          at: performance.now(),
          elu: performance.eventLoopUtilization(),
        });
      if (e.type === "step-end")
        timeline.steps.push({
          name: e.name,
          phase: "end",
          status: e.status,
          at: performance.now(),
          elu: performance.eventLoopUtilization(),
        });
    },
  };
}

/** ECS with UpdateService calls noted (start and return times, task definition). */
function noteUpdates(
  ecs: EcsPort,
  calls: { start: number; end: number; td: string }[],
  onCall: () => void,
): EcsPort {
  return new Proxy(ecs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== "updateService" || typeof value !== "function") {
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return async (cluster: string, service: string, td: string) => {
        const start = performance.now();
        const id = await ecs.updateService(cluster, service, td);
        calls.push({ start, end: performance.now(), td });
        onCall();
        return id;
      };
    },
  });
}

/** Run (a) and (b). `runs` repetitions of each failure kind and of the successful deploy. */
export async function benchPipeline(runs: number): Promise<PipelineResults> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-bench-pipeline-"));
  const paths = runtimePaths({ GANTRY_SANDBOX_DIR: dir });
  const timeline: Timeline = { steps: [] };
  const reporter = recorder(timeline);
  const clients = new AwsClientFactory();
  const wired = await wireEnvironment(
    { paths, reporter, aws: clients, masker: new SecretMasker() },
    "sandbox",
  );
  const endpoint = wired.sandbox?.endpoint ?? "";
  const control = new SandboxControl(endpoint);
  const detection: PipelineResults["detection"] = {
    "health 500": [],
    "alarm ALARM": [],
    "rollout FAILED": [],
  };
  const rollbackMs: number[] = [];
  const overhead = { wallMs: [] as number[], busyMs: [] as number[], stackBusyMs: [] as number[] };
  let n = 0;

  async function deploy(tag: string, onReleased?: (call: { end: number }) => void) {
    n += 1;
    const request = requestFor(BENCH_RUNTIME, {
      env: "sandbox",
      tag,
      deploymentId: `bench-${String(n).padStart(3, "0")}-${tag}`,
      skipSnapshot: true,
      skipMigrations: true,
      skipSmoke: true,
    });
    const calls: { start: number; end: number; td: string }[] = [];
    const base = deployContext(wired, request, { paths, reporter });
    let released = false;
    const ecs = noteUpdates(base.ports.ecs, calls, () => {
      // The release is out once every service got its UpdateService.
      if (!released && calls.length === wired.config.stack.services.length) {
        released = true;
        onReleased?.(calls.at(-1) ?? { end: performance.now() });
      }
    });
    const ctx: DeployContext = { ...base, ports: { ...base.ports, ecs } };
    timeline.steps = [];
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const result = await runDeploy(ctx, { signal: new AbortController().signal });
    const wall = performance.now() - t0;
    const elu = performance.eventLoopUtilization(elu0);
    return { result, calls, wall, elu };
  }

  function stepAt(name: string, phase: "start" | "end", status?: string) {
    return timeline.steps.find(
      (s) => s.name === name && s.phase === phase && (!status || s.status === status),
    );
  }

  try {
    await control.setSpeeds({ rolloutSeconds: ROLLOUT_S, snapshotSeconds: 1, taskSeconds: 1 });
    const tags = Array.from({ length: 4 * runs + 1 }, (_, i) => `p${String(i)}`);
    // Pulumi.sandbox.yaml's services take their images from the repositories api and web.
    for (const repository of ["api", "web"]) await control.publishImages(repository, tags);
    const first = await deploy(tags[0] ?? "p0"); // creates the stack: not measured
    if (first.result.exitCode !== 0)
      throw new Error(`bench: first deploy exited ${String(first.result.exitCode)}`);
    let next = 1;
    const take = (): string => tags[next++] ?? "";

    for (let i = 0; i < runs; i++) {
      // (b) a successful deploy.
      const ok = await deploy(take());
      if (ok.result.exitCode !== 0) throw new Error(`bench: deploy exited ${String(ok.result.exitCode)}`);
      const s0 = stepAt("stack", "start");
      const s1 = stepAt("stack", "end");
      const stackBusy = s0 && s1 ? performance.eventLoopUtilization(s1.elu, s0.elu).active : 0;
      overhead.wallMs.push(ok.wall);
      overhead.busyMs.push(ok.elu.active - stackBusy);
      overhead.stackBusyMs.push(stackBusy);

      // (a1) health turns 500 when the new deployment completes (c+R).
      const healthTag = take();
      let flipped = NaN;
      const health = await deploy(healthTag, (call) => {
        const wait = Math.max(0, call.end + ROLLOUT_S * 1000 - performance.now());
        setTimeout(() => {
          void control.addFault({ tag: healthTag, kind: "health" }).then(() => (flipped = performance.now()));
        }, wait);
      });
      const healthRollback = health.calls.find((c) => c.start > flipped);
      if (health.result.exitCode === 3 && healthRollback)
        detection["health 500"].push(healthRollback.start - flipped);
      const undo = stepAt("release", "end", "undone");
      const undoStart = stepAt("gates", "end", "failed");
      if (undo && undoStart) rollbackMs.push(undo.at - undoStart.at);

      // (a2) an alarm-faulty image: the alarm fires as its deployment completes.
      const alarmTag = take();
      await control.addFault({ tag: alarmTag, kind: "alarm" });
      let releasedAt = NaN;
      const alarm = await deploy(alarmTag, (call) => (releasedAt = call.end));
      const alarmRollback = alarm.calls.find((c) => c.start > releasedAt);
      if (alarm.result.exitCode === 3 && alarmRollback)
        detection["alarm ALARM"].push(alarmRollback.start - (releasedAt + ROLLOUT_S * 1000));

      // (a3) a rollout-faulty image: FAILED at c+R; ECS rolls back, gantry's gates fail on it.
      const rolloutTag = take();
      await control.addFault({ tag: rolloutTag, kind: "rollout" });
      let rolloutReleased = NaN;
      const rollout = await deploy(rolloutTag, (call) => (rolloutReleased = call.end));
      const gatesFailed = stepAt("gates", "end", "failed");
      if (rollout.result.exitCode === 3 && gatesFailed)
        detection["rollout FAILED"].push(gatesFailed.at - (rolloutReleased + ROLLOUT_S * 1000));
    }
  } finally {
    clients.destroy();
    await stopSandbox(dir);
    await rm(dir, { recursive: true, force: true });
  }
  return {
    detection,
    rollbackMs,
    overhead,
    notes: [
      `sandbox rollout ${String(ROLLOUT_S)} s, bake from Pulumi.sandbox.yaml, 1 s polling; snapshot and migration skipped`,
    ],
  };
}
