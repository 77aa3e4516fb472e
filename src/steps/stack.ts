/** stack: create or update the environment's Pulumi stack and read its EnvironmentOutputs. */
import type { Step } from "../orchestrator/runner.ts";
import type { DeployContext } from "./context.ts";

/**
 * The stack step: `pulumi up` of the environment's stack (constrained to a saved plan with
 * `--plan`), whose outputs every later step works from.
 */
export const stackStep: Step<DeployContext, void> = {
  name: "stack",
  async run(ctx, signal) {
    const planFile = ctx.request.planFile;
    if (planFile !== undefined) {
      ctx.reporter.emit({
        type: "info",
        message: `stack ${ctx.stack.name}: applying the saved plan ${planFile}`,
      });
    }
    const res = await ctx.stack.up({
      onOutput: (line) => {
        ctx.reporter.emit({ type: "engine", line });
      },
      signal,
      plan: planFile,
    });
    ctx.facts.outputs = res.outputs;
    const changed = Object.entries(res.changeSummary)
      .filter(([op]) => op !== "same")
      .map(([op, n]) => `${String(n)} ${op}`);
    ctx.reporter.emit({
      type: "info",
      message: `stack ${ctx.stack.name}: ${changed.join(", ") || "no changes"}`,
    });
  },
};
