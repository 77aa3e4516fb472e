/**
 * Composition root: builds the long-lived collaborators once — the folders and who runs gantry,
 * the secret masker, the reporter the global flags ask for, the one AWS client factory — and
 * starts the CLI with the application they make.
 */
import type { AppContext } from "./app/context.ts";
import { AwsClientFactory } from "./aws/factory.ts";
import { runCli } from "./cli/index.ts";
import { hostSettings } from "./config/hosts.ts";
import { loadRemoteHosts } from "./reporting/hosts.ts";
import { actionsMaskCommand, maskingReporter, registerTokenSecrets, SecretMasker } from "./reporting/mask.ts";
import { fanOut, JsonReporter, type Reporter, TerminalReporter } from "./reporting/reporter.ts";
import { environmentsIn } from "./config/environments.ts";
import { processRuntime, runtimePaths } from "./config/runtime.ts";

// Pulumi's closure serializer loads every Node builtin, node:sqlite included, which makes Node warn
// that SQLite is experimental. gantry does not use SQLite; every other warning is still shown.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name === "ExperimentalWarning" && warning.message.startsWith("SQLite")) return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

// In GitHub Actions every secret is also registered with the runner, which masks it in the job log
// (on stderr: the runner reads workflow commands from both streams, and stdout may be --json).
const hosts = hostSettings();
const masker = new SecretMasker(
  hosts.inActions ? { onAdd: actionsMaskCommand((line) => process.stderr.write(line)) } : {},
);
// GITHUB_TOKEN and the Slack webhook URL: masked in everything any command prints, from the start.
registerTokenSecrets(masker, hosts);
// A live step list with spinners on an interactive terminal; plain timestamped lines in CI and pipes.
// A terminal that reports no width (a pty without a size, e.g. `script` in a job) gets the plain
// lines too: the spinner's redraw counts rows by width, and at width 0 it never ends.
const interactive = process.stderr.isTTY && !hosts.ci && process.stderr.columns > 0;
const tty = interactive ? await import("./reporting/tty.ts") : undefined;
// GitHub inside Actions, Slack with a webhook: beside the terminal host, fed the same events.
const remoteHosts = await loadRemoteHosts(hosts);
const redact = (text: string): string => masker.redact(text);
const withRemoteHosts = (local: Reporter): Reporter => {
  const remote = remoteHosts({ log: local, redact, annotate: (line) => process.stderr.write(redact(line)) });
  return remote.length ? fanOut([local, ...remote]) : local;
};
// Approvals typed at a terminal (src/app/approval.ts): only when a person can answer.
const ask =
  process.stdin.isTTY && process.stderr.isTTY && !hosts.inActions
    ? async (question: string): Promise<string> => {
        const { createInterface } = await import("node:readline/promises");
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      }
    : undefined;
const paths = runtimePaths();
const aws = new AwsClientFactory();
let app: AppContext | undefined;
const code = await runCli(process.argv.slice(2), {
  masker,
  environments: environmentsIn(paths.configDir),
  app: ({ json, verbose }) =>
    (app ??= {
      paths,
      runtime: processRuntime(),
      masker,
      aws,
      actions: hosts.actions,
      ...(ask ? { ask } : {}),
      reporter: withRemoteHosts(
        maskingReporter(
          json
            ? new JsonReporter()
            : tty
              ? new tty.TtyReporter({ verbose, streams: { out: process.stdout, err: process.stderr } })
              : new TerminalReporter({ verbose }),
          masker,
        ),
      ),
    }),
}).finally(() => {
  aws.destroy();
});
process.exitCode = code;
