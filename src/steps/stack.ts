/** stack: create or update the environment's Pulumi stack and read its EnvironmentOutputs. */
import { oneLine } from "../errors.ts";
import type { Step } from "../orchestrator/runner.ts";
import type { DeployContext } from "./context.ts";
import { snapshotWanted, startSnapshot } from "./snapshot.ts";

/**
 * When the engine leaves the database as it is, start the deploy's snapshot now, alongside the
 * rest of the update, instead of after it: the snapshot step then only waits for it. Only for an
 * existing stack (its outputs name the instance) and only on `same`: a database the update
 * changes is snapshotted after the update, as before (RDS refuses a snapshot of an instance that
 * is being modified, and the restore point must be the state the migration starts from).
 */
function snapshotAlongside(ctx: DeployContext): ((op: string) => void) | undefined {
  const instance = ctx.facts.outputs?.database.instanceId;
  if (instance === undefined || !snapshotWanted(ctx)) return undefined;
  return (op) => {
    if (op !== "same" || ctx.facts.snapshotStart) return;
    ctx.reporter.emit({
      type: "info",
      message: `snapshot started alongside the stack update (database ${instance} unchanged)`,
    });
    const started = startSnapshot(ctx, instance);
    // Handled here (a warning now); the snapshot step awaits it and fails with its error.
    started.catch((err: unknown) => {
      ctx.reporter.emit({ type: "warn", message: `could not start the snapshot early: ${oneLine(err)}` });
    });
    ctx.facts.snapshotStart = started;
  };
}

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
    const onDatabaseStep = snapshotAlongside(ctx);
    const res = await ctx.stack.up({
      onOutput: (line) => {
        ctx.reporter.emit({ type: "engine", line });
      },
      signal,
      plan: planFile,
      ...(onDatabaseStep ? { onDatabaseStep } : {}),
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
