/**
 * The generic step engine (DESIGN.md house style 1): steps are values `{ name, run, undo? }`,
 * run in order; after a step succeeds its undo is recorded; on a failure the recorded undos run in
 * reverse. A failing undo is reported and never hides the original error. The engine knows no
 * step by name and imports no AWS, Pulumi or steps/.
 */

/** One step of a plan. `O` is what `run` returns and `undo` receives. */
export interface Step<C, O = unknown> {
  readonly name: string;
  run(ctx: C, signal: AbortSignal): Promise<O>;
  undo?(ctx: C, output: O, signal: AbortSignal): Promise<void>;
}

/** What happened to one step. */
export interface StepRecord {
  readonly name: string;
  readonly status: "succeeded" | "failed" | "skipped" | "undone" | "undo_failed";
  readonly startedAt: string;
  readonly durationMs: number;
  readonly error?: unknown;
}

/** Hooks for the journal and the reporter. */
export interface RunnerObserver {
  /** Awaited before the step runs (so a journal can make "started" durable first); a throw fails the step. */
  onStepStart?(name: string): void | Promise<void>;
  onStepEnd?(record: StepRecord): void;
}

/** What the steps that succeeded returned, read back typed by the step itself ({@link outputOf}). */
export type StepOutputs = ReadonlyMap<Step<never>, unknown>;

/** The outcome of a plan. */
export type RunOutcome =
  | { readonly ok: true; readonly steps: readonly StepRecord[]; readonly outputs: StepOutputs }
  | {
      readonly ok: false;
      readonly failedStep: string;
      readonly error: unknown;
      /** True when every recorded undo succeeded. */
      readonly undone: boolean;
      readonly steps: readonly StepRecord[];
      readonly outputs: StepOutputs;
    };

/**
 * What `step` returned in the run of `outcome` when its run succeeded (also if it was undone
 * afterwards); undefined when it did not run or its run failed.
 */
export function outputOf<C, O>(outcome: Pick<RunOutcome, "outputs">, step: Step<C, O>): O | undefined {
  // Sound: runSteps stores under each step exactly what that step's run returned.
  return outcome.outputs.get(step) as O | undefined;
}

/**
 * Run `steps` in order against `ctx`. Never throws for a step's failure: the outcome says which
 * step failed, with its original error, and whether unwinding verified.
 */
export async function runSteps<C>(
  steps: readonly Step<C>[],
  ctx: C,
  options: { signal?: AbortSignal; observer?: RunnerObserver } = {},
): Promise<RunOutcome> {
  const signal = options.signal ?? new AbortController().signal;
  const records: StepRecord[] = [];
  const undos: { step: Step<C>; output: unknown }[] = [];
  const outputs = new Map<Step<never>, unknown>();
  const record = (r: StepRecord): void => {
    records.push(r);
    options.observer?.onStepEnd?.(r);
  };

  for (const step of steps) {
    const startedAt = new Date();
    try {
      await options.observer?.onStepStart?.(step.name);
      if (signal.aborted) throw signal.reason;
      const output = await step.run(ctx, signal);
      outputs.set(step, output);
      record({
        name: step.name,
        status: "succeeded",
        startedAt: startedAt.toISOString(),
        durationMs: Date.now() - startedAt.getTime(),
      });
      if (step.undo) undos.push({ step, output });
    } catch (error) {
      record({
        name: step.name,
        status: "failed",
        startedAt: startedAt.toISOString(),
        durationMs: Date.now() - startedAt.getTime(),
        error,
      });
      const undone = await unwind(undos, ctx, record);
      return { ok: false, failedStep: step.name, error, undone, steps: records, outputs };
    }
  }
  return { ok: true, steps: records, outputs };
}

async function unwind<C>(
  undos: { step: Step<C>; output: unknown }[],
  ctx: C,
  record: (r: StepRecord) => void,
): Promise<boolean> {
  let allUndone = true;
  // Undo runs even after an abort: it is what makes an interrupted run safe.
  const signal = new AbortController().signal;
  for (const { step, output } of [...undos].reverse()) {
    const startedAt = new Date();
    try {
      await step.undo?.(ctx, output, signal);
      record({
        name: step.name,
        status: "undone",
        startedAt: startedAt.toISOString(),
        durationMs: Date.now() - startedAt.getTime(),
      });
    } catch (error) {
      allUndone = false;
      record({
        name: step.name,
        status: "undo_failed",
        startedAt: startedAt.toISOString(),
        durationMs: Date.now() - startedAt.getTime(),
        error,
      });
    }
  }
  return allUndone;
}
