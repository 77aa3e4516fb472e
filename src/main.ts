/**
 * Composition root: builds the long-lived collaborators once and starts the CLI.
 * The only module that reads process-wide paths; handlers get them through the context.
 */
import { runCli } from "./cli/index.ts";
import { JsonReporter, TerminalReporter } from "./reporting/reporter.ts";
import { defaultSandboxDir, projectRoot, toolsDir } from "./tools/paths.ts";

const code = await runCli(process.argv.slice(2), {
  paths: { projectDir: projectRoot, toolsDir, sandboxDir: defaultSandboxDir },
  reporter: ({ json, verbose }) => (json ? new JsonReporter() : new TerminalReporter({ verbose })),
});
process.exitCode = code;
