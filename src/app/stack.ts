/** `gantry stack preview|up|outputs|destroy`: the environment's Pulumi stack through the Automation API. */
import { EXIT } from "../errors.ts";
import type { Reporter } from "../reporting/reporter.ts";
import type { EnvironmentOutputs } from "../stacks/outputs.ts";
import { type AppContext, type Outcome, environmentNamed } from "./context.ts";

/** What to do with the stack. */
export type StackAction = "preview" | "up" | "outputs" | "destroy";

/** Options of {@link stack}. */
export interface StackOptions {
  readonly env: string;
  readonly action: StackAction;
}

/** What {@link stack} did. */
export type StackResult = Outcome &
  (
    | {
        readonly action: "preview";
        readonly changeSummary: Record<string, number>;
        readonly diffText: string;
      }
    | { readonly action: "up" | "outputs"; readonly outputs: EnvironmentOutputs }
    | { readonly action: "destroy"; readonly stack: string }
  );

/** The engine's output lines (split by the stack adapter, src/pulumi/output.ts) as `engine` events. */
export function engineOutput(reporter: Reporter): (line: string) => void {
  return (line) => {
    reporter.emit({ type: "engine", line });
  };
}

/** Run `options.action` on the stack of `options.env`; reported as a `result` event. */
export async function stack(app: AppContext, options: StackOptions): Promise<StackResult> {
  const { reporter } = app;
  const env = environmentNamed(app, options.env);
  const { openEnvironment } = await import("./environment.ts");
  const { stack: s } = await openEnvironment(app, env);
  switch (options.action) {
    case "preview": {
      reporter.emit({ type: "progress", message: `previewing stack ${s.name}` });
      const preview = await s.preview({ onOutput: engineOutput(reporter) });
      if (preview.diffText.trim()) reporter.emit({ type: "info", message: preview.diffText.trimEnd() });
      reporter.emit({
        type: "result",
        title: "preview",
        data: {
          changeSummary: preview.changeSummary,
          changes: preview.changes.filter((c) => c.op !== "same"),
        },
      });
      return {
        exitCode: EXIT.ok,
        action: "preview",
        changeSummary: preview.changeSummary,
        diffText: preview.diffText,
      };
    }
    case "up": {
      reporter.emit({ type: "progress", message: `updating stack ${s.name}` });
      const res = await s.up({ onOutput: engineOutput(reporter) });
      reporter.emit({ type: "result", title: "stack outputs (EnvironmentOutputs)", data: res.outputs });
      return { exitCode: EXIT.ok, action: "up", outputs: res.outputs };
    }
    case "outputs": {
      const outputs = await s.outputs();
      reporter.emit({ type: "result", title: "stack outputs (EnvironmentOutputs)", data: outputs });
      return { exitCode: EXIT.ok, action: "outputs", outputs };
    }
    case "destroy": {
      reporter.emit({ type: "progress", message: `destroying stack ${s.name}` });
      await s.destroy({ onOutput: engineOutput(reporter) });
      reporter.emit({ type: "result", title: "stack destroyed", data: { stack: s.name, destroyed: true } });
      return { exitCode: EXIT.ok, action: "destroy", stack: s.name };
    }
  }
}
