/**
 * The Pulumi error classifier: a failure of the engine or the Automation API becomes a typed
 * PulumiError (its code, the next command to run). The only place that reads Pulumi's messages.
 */
import { CommandError, ConcurrentUpdateError, StackNotFoundError } from "@pulumi/pulumi/automation/index.js";
import { oneLine, PulumiError } from "../errors.ts";
import { urnName } from "./diff.ts";

/** Engine messages of an update that deviates from its plan (pkg/resource/deploy step_generator.go, plan.go). */
const PLAN_VIOLATION =
  /violates plan|is not allowed by the plan|Expected a new resource plan|no plan for resource/;

/**
 * The first plan violation in the engine output as one reviewer-readable line: the resource's
 * name and which properties or options differ (never their values, which may be secret).
 */
export function planViolation(text: string): string | undefined {
  const line = text.split("\n").find((l) => PLAN_VIOLATION.test(l));
  if (line === undefined) return undefined;
  const urn = /urn:pulumi:\S+/.exec(line)?.[0];
  const name = urn ? urnName(urn) : undefined;
  const props = /properties changed: (.*)$/.exec(line)?.[1];
  const why = props
    ? `properties changed: ${[...props.matchAll(/(?:^|, )[~+-]=?([^[\s,]+)\[/g)].map((m) => m[1]).join(", ")}`
    : (/(?:violates plan: |error: )(.*)$/.exec(line)?.[1] ?? line).replace(/urn:pulumi:\S+/g, "").trim();
  return `${name ?? "a resource"}: ${why.slice(0, 200)}`;
}

/** The run that failed, as {@link classify} needs it. */
export interface FailedRun {
  /** What gantry asked the engine: select, preview, up, outputs, destroy, cancel. */
  readonly action: string;
  readonly stackName: string;
  /** The saved plan an update was held to (`up({ plan })`): a deviation reads PLAN_MISMATCH. */
  readonly planFile?: string;
  /**
   * gantry itself stopped the run (its AbortSignal fired). Whatever the engine printed on the
   * way out, the failure is then that cancellation: never another update's lock or pending
   * operations left by someone else.
   */
  readonly cancelled?: boolean;
}

/** `err`, a failure of `run`, as a typed PulumiError (a PulumiError passes through unchanged). */
export function classify(err: unknown, run: FailedRun): PulumiError {
  const { action, stackName, planFile } = run;
  if (err instanceof PulumiError) return err;
  if (run.cancelled === true) {
    return new PulumiError(`pulumi ${action} of stack ${stackName} was cancelled: gantry was interrupted`, {
      code: `STACK_${action.toUpperCase()}_CANCELLED`,
      hint: `the engine stopped after its in-flight operations; run the command again to finish the ${action}`,
      cause: err,
    });
  }
  if (err instanceof ConcurrentUpdateError) {
    return new PulumiError(`stack ${stackName} is locked by another update`, {
      code: "STACK_LOCKED",
      hint: `wait for it to finish, or if it was interrupted: pulumi cancel -s ${stackName}`,
      cause: err,
    });
  }
  if (err instanceof StackNotFoundError) {
    return new PulumiError(`stack ${stackName} does not exist`, {
      code: "STACK_NOT_FOUND",
      cause: err,
      source: "user",
    });
  }
  const text = err instanceof CommandError ? err.toString() : oneLine(err);
  const violation = planFile !== undefined ? planViolation(text) : undefined;
  if (violation !== undefined) {
    return new PulumiError(
      `the saved plan ${planFile ?? ""} no longer matches stack ${stackName} (the program, its config or the stack changed since it was saved): ${violation}`,
      {
        code: "PLAN_MISMATCH",
        source: "user",
        hint: `re-run gantry preview --env ${stackName} --save-plan ${planFile ?? "<file>"}, review it, and deploy with the new plan`,
        cause: err,
      },
    );
  }
  if (/PULUMI_ACCESS_TOKEN must be set|not logged in|pulumi login/i.test(text)) {
    return new PulumiError(`no Pulumi backend is configured for stack ${stackName}`, {
      code: "PULUMI_NOT_LOGGED_IN",
      source: "user",
      hint: "pulumi login <your backend> (e.g. s3://bucket, file://path), or set PULUMI_BACKEND_URL; gantry never picks Pulumi Cloud for you",
      cause: err,
    });
  }
  if (/pending operations|interrupted/i.test(text)) {
    return new PulumiError(`stack ${stackName} has pending operations from an interrupted update`, {
      code: "STACK_PENDING_OPERATIONS",
      hint: `pulumi refresh --clear-pending-creates -s ${stackName}`,
      cause: err,
    });
  }
  const firstError = /error: (.+)/.exec(text)?.[1] ?? oneLine(err);
  return new PulumiError(`pulumi ${action} of stack ${stackName} failed: ${firstError.slice(0, 300)}`, {
    code: `STACK_${action.toUpperCase()}_FAILED`,
    hint: `rerun with --verbose for the engine log`,
    cause: err,
  });
}
