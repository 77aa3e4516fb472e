/**
 * Composition root: builds the long-lived collaborators once and starts the CLI.
 * The only module that reads process-wide paths; handlers get them through the context.
 */
import { runCli } from "./cli/index.ts";
import { actionsMaskCommand, maskingReporter, SecretMasker } from "./reporting/mask.ts";
import { registerTokenSecrets } from "./reporting/notify.ts";
import { JsonReporter, TerminalReporter } from "./reporting/reporter.ts";
import { runtimePaths } from "./config/runtime.ts";

// Pulumi's closure serializer loads every Node builtin, node:sqlite included, which makes Node warn
// that SQLite is experimental. gantry does not use SQLite; every other warning is still shown.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "ExperimentalWarning" && warning.message.startsWith("SQLite")) return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

// In GitHub Actions every secret is also registered with the runner, which masks it in the job log
// (on stderr: the runner reads workflow commands from both streams, and stdout may be --json).
const masker = new SecretMasker(
  process.env.GITHUB_ACTIONS === "true"
    ? { onAdd: actionsMaskCommand((line) => process.stderr.write(line)) }
    : {},
);
// GITHUB_TOKEN and the Slack webhook URL: masked in everything any command prints, from the start.
registerTokenSecrets(masker, process.env);
// A live step list with spinners on an interactive terminal; plain timestamped lines in CI and pipes.
const interactive = process.stderr.isTTY && !process.env.CI;
const tty = interactive ? await import("./reporting/tty.ts") : undefined;
const code = await runCli(process.argv.slice(2), {
  paths: runtimePaths(),
  masker,
  reporter: ({ json, verbose }) =>
    maskingReporter(
      json
        ? new JsonReporter()
        : tty
          ? new tty.TtyReporter({ verbose, streams: { out: process.stdout, err: process.stderr } })
          : new TerminalReporter({ verbose }),
      masker,
    ),
});
process.exitCode = code;
