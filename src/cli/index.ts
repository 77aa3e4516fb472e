/**
 * The command line: parses argv with yargs, runs the use case of the command, prints a failure
 * as one line with its hint, and returns the exit code (DESIGN.md "Contracts": src/errors.ts EXIT).
 */
import yargs, { type Argv } from "yargs";
import { EXIT, exitCodeFor, GantryError, oneLine, UsageError } from "../errors.ts";
import { commands, type Done } from "./commands.ts";
import type { CliContext, GlobalArgs } from "./context.ts";

/**
 * Print an error as one line plus its hint, on stderr, with every registered secret masked:
 * `gantry: <label>: <message>` where the label is `error`, or the status a deploy ended with.
 */
export function printError(
  err: unknown,
  options: { verbose: boolean; redact: (text: string) => string; label?: string | undefined },
): void {
  const write = (text: string): void => {
    process.stderr.write(options.redact(text));
  };
  write(`gantry: ${options.label ?? "error"}: ${oneLine(err)}\n`);
  if (err instanceof GantryError && err.hint) write(`  hint: ${err.hint}\n`);
  if (options.verbose && err instanceof Error && err.cause !== undefined)
    write(`  cause: ${oneLine(err.cause)}\n`);
  if (!(err instanceof GantryError) && options.label === undefined)
    write(`  hint: rerun with --verbose; this is a bug if it repeats\n`);
}

/** Run the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const verbose = argv.includes("--verbose");
  const redact = (text: string): string => ctx.masker.redact(text);
  let exitCode: number = EXIT.ok;
  const done: Done = (outcome) => {
    exitCode = outcome.exitCode;
    if (outcome.error !== undefined) printError(outcome.error, { verbose, redact, label: outcome.label });
  };
  const c = commands(ctx, done);
  const parser: Argv<GlobalArgs> = yargs([...argv])
    .scriptName("gantry")
    .usage("gantry <command> [options]\n\nDeploy orchestrator for AWS ECS Fargate + RDS, driven by Pulumi.")
    .option("json", {
      type: "boolean",
      default: false,
      global: true,
      describe: "machine-readable output on stdout",
    })
    .option("verbose", {
      type: "boolean",
      default: false,
      global: true,
      describe: "show engine output and causes",
    })
    .command(c.deploy)
    .command(c.preview)
    .command(c.promote)
    .command(c.rollback)
    .command(c.status)
    .command(c.history)
    .command(c.unlock)
    .command(c.stack)
    .command(c.sandbox)
    .command(c.demo)
    .demandCommand(1, "name a command; see gantry --help")
    .strict()
    .recommendCommands()
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue(
      "Exit codes: 0 ok · 1 failed, nothing changed · 2 usage error · 3 rolled back and verified · 4 rollback not verified · 5 locked · 130 interrupted. Docs: README.md",
    )
    .fail((msg, err) => {
      // yargs passes no error object for its own validation failures, whatever its typings say.
      throw (err as Error | undefined) ?? new UsageError(msg || "invalid command line", "see gantry --help");
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    printError(err, { verbose, redact });
    return exitCodeFor(err);
  }
  return exitCode;
}
