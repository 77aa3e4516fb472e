/** `gantry stack ...` and `gantry demo`: the environment's Pulumi stack through the Automation API. */
import type { Argv } from "yargs";
import { parseEnvironmentName } from "../config/load.ts";
import { ENVIRONMENTS } from "../config/schema.ts";
import type { Reporter } from "../reporting/reporter.ts";
import type { OpenedEnvironment } from "../steps/environment.ts";
import type { CliContext } from "./context.ts";
import type { GlobalArgs } from "./index.ts";

/** Loaded on use: Pulumi's SDK is heavy and `--help` must stay fast. */
async function openEnvironment(
  ...args: Parameters<typeof import("../steps/environment.ts").openEnvironment>
): Promise<OpenedEnvironment> {
  return (await import("../steps/environment.ts")).openEnvironment(...args);
}

const engineLines =
  (reporter: Reporter) =>
  (text: string): void => {
    for (const line of text.split("\n")) if (line.trim()) reporter.emit({ type: "engine", line });
  };

/** Register the `stack` command group. */
export function stackCommand(ctx: CliContext) {
  const envOption = (b: Argv<GlobalArgs>) =>
    b.option("env", {
      type: "string",
      choices: ENVIRONMENTS,
      demandOption: true,
      describe: "environment (Pulumi.<env>.yaml)",
    });
  return {
    command: "stack <command>",
    describe: "Preview, update, read or destroy an environment's Pulumi stack",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(
          "preview",
          "Show what `up` would change, with the property diff",
          envOption,
          async (argv) => {
            const reporter = ctx.reporter(argv);
            const { stack } = await openEnvironment(parseEnvironmentName(argv.env), ctx.paths, reporter);
            reporter.emit({ type: "progress", message: `previewing stack ${stack.name}` });
            const preview = await stack.preview(engineLines(reporter));
            if (!argv.json) process.stderr.write(preview.diffText.replace(/\n?$/, "\n"));
            reporter.emit({
              type: "result",
              title: "preview",
              data: {
                changeSummary: preview.changeSummary,
                changes: preview.changes.filter((c) => c.op !== "same"),
              },
            });
          },
        )
        .command("up", "Create or update the stack and print its outputs", envOption, async (argv) => {
          const reporter = ctx.reporter(argv);
          const { stack } = await openEnvironment(parseEnvironmentName(argv.env), ctx.paths, reporter);
          reporter.emit({ type: "progress", message: `updating stack ${stack.name}` });
          const res = await stack.up(engineLines(reporter));
          reporter.emit({ type: "result", title: "stack outputs (EnvironmentOutputs)", data: res.outputs });
        })
        .command("outputs", "Print the stack's EnvironmentOutputs", envOption, async (argv) => {
          const reporter = ctx.reporter(argv);
          const { stack } = await openEnvironment(parseEnvironmentName(argv.env), ctx.paths, reporter);
          reporter.emit({
            type: "result",
            title: "stack outputs (EnvironmentOutputs)",
            data: await stack.outputs(),
          });
        })
        .command("destroy", "Delete every resource of the stack", envOption, async (argv) => {
          const reporter = ctx.reporter(argv);
          const { stack } = await openEnvironment(parseEnvironmentName(argv.env), ctx.paths, reporter);
          reporter.emit({ type: "progress", message: `destroying stack ${stack.name}` });
          await stack.destroy(engineLines(reporter));
          reporter.emit({
            type: "result",
            title: "stack destroyed",
            data: { stack: stack.name, destroyed: true },
          });
        })
        .demandCommand(1, "name a stack command: preview, up, outputs, destroy")
        .strict(),
    handler: () => undefined,
  };
}
