/**
 * gates: watch the released deployments until ECS reports them COMPLETED with healthy new targets
 * and no new alarm, then for the bake window with the HTTP health gate (200 and the deployed
 * version) added. Any failure fails the step, which unwinds into the verified rollback.
 */
import type { Step } from "../orchestrator/runner.ts";
import { type DeployContext, outputsOf, StepError } from "./context.ts";
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
    const bake = await watch(
      ctx,
      outputs,
      watched,
      { name: "bake", untilPass: false, durationMs: bakeMs, health: true, alarmsFatal: true },
      signal,
    );
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
