/**
 * Composition root: builds the long-lived collaborators once and starts the CLI.
 * The only module that reads process-wide paths; handlers get them through the context.
 */
import { runCli } from "./cli/index.ts";
import { JsonReporter, TerminalReporter } from "./reporting/reporter.ts";
import { runtimePaths } from "./config/runtime.ts";

// Pulumi's closure serializer loads every Node builtin, node:sqlite included, which makes Node warn
// that SQLite is experimental. gantry does not use SQLite; every other warning is still shown.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "ExperimentalWarning" && warning.message.startsWith("SQLite")) return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

const code = await runCli(process.argv.slice(2), {
  paths: runtimePaths(),
  reporter: ({ json, verbose }) => (json ? new JsonReporter() : new TerminalReporter({ verbose })),
});
process.exitCode = code;
