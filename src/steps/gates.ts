/**
 * gates: watch the released deployments until ECS reports them COMPLETED with healthy new targets
 * and no new alarm, then for the bake window with the HTTP health gate (200 and the deployed
 * version) added, while the smoke gate (src/steps/smoke.ts) runs alongside. Any failure fails the
 * step (and stops the other watch), which unwinds into the verified rollback.
 */
import type { Step } from "../orchestrator/runner.ts";
import { type DeployContext, outputsOf, StepError } from "./context.ts";
import { runSmoke } from "./smoke.ts";
import { watch, type Watched } from "./watch.ts";

export const gatesStep: Step<DeployContext, void> = {
  name: "gates",
  async run(ctx, signal) {
    const outputs = outputsOf(ctx);
    const watched: Watched[] = ctx.facts.releases.flatMap((r) => {
      const service = outputs.services.find((s) => s.serviceName === r.serviceName);
      return service && r.deploymentId
        ? [{ service, deploymentId: r.deploymentId, version: ctx.request.tag, desiredCount: r.desiredCount }]
        : [];
    });
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
    );
    if (!rollout.ok) throw gateError(rollout);
    const bakeMs = ctx.config.gantry.bakeSeconds * 1000;
    // The bake and the smoke gate run together.
    const both = new AbortController();
    const stopBoth = (): void => {
      both.abort(signal.reason);
    };
    signal.addEventListener("abort", stopBoth, { once: true });
    // A failure — or an error thrown — in either stops the other (no smoke command left running).
    const stopOnFailure = <T extends { ok: boolean }>(p: Promise<T>): Promise<T> =>
      p.then(
        (r) => {
          if (!r.ok) both.abort();
          return r;
        },
        (err: unknown) => {
          both.abort();
          throw err;
        },
      );
    const [bake, smoke] = await Promise.all([
      stopOnFailure(
        watch(
          ctx,
          outputs,
          watched,
          { name: "bake", untilPass: false, durationMs: bakeMs, health: true, alarmsFatal: true },
          both.signal,
        ),
      ),
      stopOnFailure(runSmoke(ctx, outputs, Date.now() + bakeMs, both.signal)),
    ]).finally(() => {
      signal.removeEventListener("abort", stopBoth);
    });
    if (!bake.ok && (!bake.aborted || signal.aborted)) throw gateError(bake);
    if (!smoke.ok) throw smoke.error;
    if (!bake.ok) throw gateError(bake);
    ctx.reporter.emit({ type: "info", message: `gates passed: ${bake.detail}` });
  },
};

function gateError(result: Extract<Awaited<ReturnType<typeof watch>>, { ok: false }>): StepError {
  if (result.aborted) return new StepError("interrupted while watching the rollout", { code: "ABORTED" });
  const code = result.verdict.state === "fail" ? result.verdict.code : "GATE_TIMEOUT";
  return new StepError(
    `gate failed: ${result.verdict.detail}${result.timedOut ? " (deadline reached)" : ""}`,
    {
      code,
      hint: "the release is rolled back automatically; see gantry status",
    },
  );
}
