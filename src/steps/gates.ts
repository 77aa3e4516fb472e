/**
 * gates: watch the released deployments until ECS reports them COMPLETED with healthy new targets
 * and no new alarm, then for the bake window with the HTTP health gate (200 and the deployed
 * version) added, while the smoke gate (src/steps/smoke.ts) runs alongside. Any failure fails the
 * step (and stops the other watch), which unwinds into the verified rollback.
 */
import type { Step } from "../orchestrator/runner.ts";
import { type DeployContext, outputsOf, StepError } from "./context.ts";
import { runSmoke } from "./smoke.ts";
import { watch, type Watched, watchMemory } from "./watch.ts";

/**
 * The gates: every released service's rollout COMPLETED on its own deployment, its new targets
 * healthy, then a bake window (health URL answering the new version, alarms quiet) together with
 * the smoke gate. Any failure fails the step; the release's undo then rolls back, verified.
 */
export const gatesStep: Step<DeployContext, void> = {
  name: "gates",
  async run(ctx, signal) {
    const outputs = outputsOf(ctx);
    const watched: Watched[] = ctx.facts.releases.flatMap((r) => {
      const service = outputs.services.find((s) => s.serviceName === r.serviceName);
      return service && r.deploymentId
        ? [{ service, deploymentId: r.deploymentId, version: r.tag, desiredCount: r.desiredCount }]
        : [];
    });
    // The bake goes on from what the rollout's watch read last (its tasks, targets and alarms).
    const memory = watchMemory();
    const rollout = await watch(
      ctx,
      outputs,
      watched,
      {
        name: "rollout",
        untilPass: true,
        durationMs: ctx.timing.rolloutTimeoutMs,
        health: false,
        alarmsFatal: true,
      },
      signal,
      memory,
    );
    if (!rollout.ok) throw gateError(rollout);
    // Interrupted during the rollout's last look: neither the bake nor the smoke gate starts.
    if (signal.aborted) throw interrupted();
    const bakeMs = ctx.config.gantry.bakeSeconds * 1000;
    // The bake and the smoke gate run together, on a signal the deploy's interruption aborts too.
    // The first real failure (or error thrown) in either stops the other, and is the gate's error:
    // what the stopped half reports next (interrupted, or a failure seen after the stop) is not.
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const failures: unknown[] = [];
    const stopOnFailure = <T>(
      run: Promise<T>,
      failureOf: (result: T) => StepError | undefined,
    ): Promise<T | undefined> =>
      run.then(
        (result) => {
          const failure = failureOf(result);
          if (failure) {
            failures.push(failure);
            stop.abort();
          }
          return result;
        },
        (err: unknown) => {
          failures.push(err);
          stop.abort();
          return undefined;
        },
      );
    const [bake, smoke] = await Promise.all([
      stopOnFailure(
        watch(
          ctx,
          outputs,
          watched,
          { name: "bake", untilPass: false, durationMs: bakeMs, health: true, alarmsFatal: true },
          both,
          memory,
        ),
        (r) => (r.ok || r.aborted ? undefined : gateError(r)),
      ),
      stopOnFailure(runSmoke(ctx, outputs, Date.now() + bakeMs, both), (r) =>
        r.ok || r.aborted ? undefined : r.error,
      ),
    ]);
    if (failures.length) throw failures[0];
    // Either stopped with no failure: the deploy was interrupted.
    if (!bake?.ok || !smoke?.ok) throw interrupted();
    ctx.reporter.emit({ type: "info", message: `gates passed: ${bake.detail}` });
  },
};

function interrupted(): StepError {
  return new StepError("interrupted while watching the rollout", { code: "ABORTED" });
}

function gateError(result: Extract<Awaited<ReturnType<typeof watch>>, { ok: false }>): StepError {
  if (result.aborted) return interrupted();
  const code = result.verdict.state === "fail" ? result.verdict.code : "GATE_TIMEOUT";
  return new StepError(
    `gate failed: ${result.verdict.detail}${result.timedOut ? " (deadline reached)" : ""}`,
    {
      code,
      hint: "the release is rolled back automatically; see gantry status",
    },
  );
}
